/*
 * context.c — what the migration left behind, read back for a rollback:
 * the facts its journal recorded, the saved original service file (parsed,
 * so the rollback knows the db service's key and image), the names used
 * inside the dedicated cluster, and the dumps a rollback can restore.
 */
#include "rb_internal.h"

#include "pgfold/compose.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

/* The saved original is a compose file: compose's own bound applies. */
#define ORIGINAL_MAX_BYTES COMPOSE_MAX_BYTES

#define PRE_ROLLBACK "pre_rollback_"

const char *
rb_field(json_t *rec, const char *key)
{
	return rec ? json_string_value(json_object_get(rec, key)) : NULL;
}

static bool
copy_field(json_t *rec, const char *key, char *dst, size_t size)
{
	const char *v = rb_field(rec, key);

	return v != NULL && str_copy(dst, size, v);
}

/* Every fact comes from the migration run r->mig.run: the service file no
 * longer names the db service, and the stack's state may have moved on. */
bool
rb_find_migration(Rb *r, const Journal *j)
{
	RbMigration *m = &r->mig;
	json_t *save = journal_step_done(j, m->run, MIG_STEP_SAVE);
	json_t *role = journal_step_done(j, m->run, MIG_STEP_ROLE);
	json_t *files = journal_step_done(j, m->run, MIG_STEP_FILES);
	json_t *stream = journal_step_done(j, m->run, MIG_STEP_STREAM);

	if (save == NULL || role == NULL || files == NULL)
	{
		log_error("the journal of %s lacks records of migration %s (save-original, role, "
				  "files); inspect %s", r->svc->name, m->run, j->path);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	if (!copy_field(save, "copy", m->original_copy, sizeof(m->original_copy))
		|| !copy_field(save, "sha256", m->original_sha, sizeof(m->original_sha))
		|| !copy_field(role, "db", m->shared_db, sizeof(m->shared_db))
		|| !copy_field(role, "role", m->role, sizeof(m->role))
		|| !copy_field(role, "source_container", m->container, sizeof(m->container))
		|| !copy_field(role, "source_user", m->user, sizeof(m->user))
		|| !copy_field(role, "source_db", m->db, sizeof(m->db))
		|| !copy_field(role, "project", m->project, sizeof(m->project))
		|| !copy_field(files, "service_sha256", m->migrated_sha, sizeof(m->migrated_sha))
		|| !copy_field(files, "override", m->override_path, sizeof(m->override_path)))
	{
		log_error("the journal of %s lacks fields of migration %s that a rollback needs; "
				  "inspect %s", r->svc->name, m->run, j->path);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	m->env_keys = json_object_get(files, "env_keys");
	m->app_files = json_object_get(files, "app_files");
	/* migrations before the env file was journaled wrote <root>/.env */
	if (!copy_field(files, "env_file", m->env_path, sizeof(m->env_path)))
		str_copy(m->env_path, sizeof(m->env_path), r->app->cfg.env_path);
	if (stream != NULL)
	{
		copy_field(stream, "dump", m->dump, sizeof(m->dump));
		copy_field(stream, "sha256", m->dump_sha, sizeof(m->dump_sha));
	}
	return true;
}

/* The copy migrate saved must still be what it saved: it becomes the
 * service file again, byte for byte. */
bool
rb_parse_original(Rb *r)
{
	char sha[FS_SHA256_HEX_LEN + 1];
	ComposeOptions co;
	Config scratch;
	const Config *vars = service_config(&r->app->cfg, r->svc, &scratch);

	if (!fs_read_file(r->mig.original_copy, ORIGINAL_MAX_BYTES, &r->orig_bytes))
	{
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	fs_sha256_bytes(r->orig_bytes.data, r->orig_bytes.len, sha);
	if (strcmp(sha, r->mig.original_sha) != 0)
	{
		log_error("the saved original %s changed since the migration (sha256 %s, the journal "
				  "says %s); restore it from your own backups before rolling back",
				  r->mig.original_copy, sha, r->mig.original_sha);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	memset(&co, 0, sizeof(co));
	/* as stack_load: where the project's compose runs */
	co.project_dir = r->svc->project_dir ? r->svc->project_dir : r->app->cfg.root;
	memset(&r->orig, 0, sizeof(r->orig));
	service_analysis_clear(&r->orig);
	r->orig.name = r->svc->name;      /* borrowed: rb_free leaves them */
	r->orig.path = r->svc->path;
	r->orig.db_key = r->svc->db_key;  /* the original holds every db of a split file */
	if (!compose_parse_opts(r->svc->path, sb_str(&r->orig_bytes), r->orig_bytes.len,
							config_var_lookup, (void *) vars, &co, &r->orig.file))
	{
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	r->orig.loaded = r->orig_parsed = true;
	service_analyze(vars, &r->orig);
	if (r->orig.db_service < 0)
	{
		log_error("the saved original %s has no postgres service: it is not what %s was "
				  "migrated from", r->mig.original_copy, r->svc->name);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	r->db_key = r->orig.file.services[r->orig.db_service].key;
	return rb_service_rel(r, r->svc->path, r->service_rel, sizeof(r->service_rel))
		&& rb_service_rel(r, r->mig.override_path, r->override_rel, sizeof(r->override_rel));
}

/* A name for the dedicated cluster: <db><suffix> when it fits in
 * NAMEDATALEN, else a fixed one (one rollback per cluster at a time). */
static void
cluster_name(const char *db, const char *suffix, const char *fallback, char *out, size_t size)
{
	if (strlen(db) + strlen(suffix) > 63 || !str_format(out, size, "%s%s", db, suffix))
		str_copy(out, size, fallback);
}

bool
rb_names(Rb *r)
{
	cluster_name(r->mig.db, RB_TMP_SUFFIX, "pgfold_rollback_incoming", r->tmp_db,
				 sizeof(r->tmp_db));
	cluster_name(r->mig.db, RB_ASIDE_SUFFIX, "pgfold_rollback_stale", r->aside_db,
				 sizeof(r->aside_db));
	/* renaming a database needs a session in another one */
	str_copy(r->maint_db, sizeof(r->maint_db),
			 strcmp(r->mig.db, "postgres") == 0 ? "template1" : "postgres");
	return rb_run_file(r, PRE_ROLLBACK, ".dump", r->dump, sizeof(r->dump))
		&& rb_run_file(r, "rollback_", ".override.yml", r->override_saved,
					   sizeof(r->override_saved));
}

/* <backups>/postgres-migrations/<service>_<middle><run><ext> */
bool
rb_run_file(const Rb *r, const char *middle, const char *ext, char *out, size_t size)
{
	char dir[PATH_MAX];

	if (!journal_dir_path(r->app->cfg.backups_dir, dir, sizeof(dir))
		|| !str_format(out, size, "%s/%s_%s%s%s", dir, service_fsname(r->svc), middle, r->run_id, ext))
	{
		log_error("backup path too long under %s", r->app->cfg.backups_dir);
		return false;
	}
	return true;
}

bool
rb_service_rel(const Rb *r, const char *path, char *out, size_t size)
{
	if (!fs_relative_to(r->app->cfg.root, path, out, size))
	{
		log_error("path too long: %s", path);
		return false;
	}
	return true;
}

/* "YYYYmmddTHHMMSSZ": the run ids of migrate and rollback. */
static bool
stamp_valid(const char *s, size_t len)
{
	if (len != JOURNAL_STAMP_LEN || s[8] != 'T' || s[15] != 'Z')
		return false;
	for (size_t i = 0; i < len; i++)
		if (i != 8 && i != 15 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

/* The stamp of a dump of this service: <svc>_<stamp>.dump (migrate) or
 * <svc>_pre_rollback_<stamp>.dump (rollback); NULL for anything else. */
static const char *
dump_stamp(const char *name, const char *service)
{
	size_t n = strlen(service), len = strlen(name);
	const char *p;

	if (strncmp(name, service, n) != 0 || name[n] != '_' || !str_has_suffix(name, ".dump"))
		return NULL;
	p = name + n + 1;
	if (str_has_prefix(p, PRE_ROLLBACK))
		p += strlen(PRE_ROLLBACK);
	return stamp_valid(p, (size_t) (name + len - 5 - p)) ? p : NULL;
}

/* The newest dump of the service by the stamp in its name, this run's
 * pre-rollback dump excepted; "" when there is none but that one. */
bool
rb_pick_latest(Rb *r, char *out, size_t size)
{
	char dir[PATH_MAX], own[PATH_MAX], best[NAME_MAX + 1] = "";
	const char *best_stamp = NULL;
	DIR *d;

	out[0] = '\0';
	if (!journal_dir_path(r->app->cfg.backups_dir, dir, sizeof(dir)))
		return false;
	str_format(own, sizeof(own), "%s_" PRE_ROLLBACK "%s.dump", service_fsname(r->svc), r->run_id);
	if ((d = opendir(dir)) == NULL)
	{
		if (errno == ENOENT)
			return true;
		log_error("cannot read %s: %s", dir, strerror(errno));
		return false;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;)
	{
		const char *stamp = dump_stamp(e->d_name, service_fsname(r->svc));

		if (stamp == NULL || strcmp(e->d_name, own) == 0)
			continue;
		/* same stamp: the pre-rollback dump was taken after the migration's */
		if (best_stamp == NULL || strncmp(stamp, best_stamp, JOURNAL_STAMP_LEN) > 0
			|| (strncmp(stamp, best_stamp, JOURNAL_STAMP_LEN) == 0 && strlen(e->d_name) > strlen(best)))
		{
			str_copy(best, sizeof(best), e->d_name);
			best_stamp = dump_stamp(best, service_fsname(r->svc));
		}
	}
	closedir(d);
	if (best[0] != '\0' && !str_format(out, size, "%s/%s", dir, best))
	{
		log_error("path too long under %s", dir);
		return false;
	}
	return true;
}

static bool
counts_from(json_t *rec, RbCounts *out)
{
	json_t *t = json_object_get(rec, "tables"), *n = json_object_get(rec, "rows");

	if (!json_is_integer(t) || !json_is_integer(n))
		return false;
	out->known = true;
	out->tables = json_integer_value(t);
	out->rows = json_integer_value(n);
	out->server_version = (int) json_integer_value(json_object_get(rec, "server_version"));
	return true;
}

/* What pgfold counted in the source of the dump whose sha256 is sha, when
 * it made that dump: a migration's verify step, or a rollback's backup. */
bool
rb_dump_counts(const Rb *r, const char *sha, RbCounts *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = journal_count(&r->journal); i-- > 0;)
	{
		json_t *rec = journal_record(&r->journal, i);
		const char *step = rb_field(rec, "step"), *s = rb_field(rec, "sha256");

		if (s == NULL || strcmp(s, sha) != 0 || strcmp(rb_field(rec, "status"), "done") != 0)
			continue;
		if (strcmp(step, RB_STEP_BACKUP) == 0 && counts_from(rec, out))
			return true;
		if (strcmp(step, MIG_STEP_STREAM) == 0)
		{
			json_t *v = journal_step_done(&r->journal, rb_field(rec, "run"), MIG_STEP_VERIFY);

			if (v != NULL && counts_from(v, out))
				return true;
		}
	}
	return true;
}

void
rb_free(Rb *r)
{
	if (r->orig_parsed)
		compose_free(&r->orig.file);
	service_analysis_clear(&r->orig);
	sb_free(&r->orig_bytes);
	sb_free(&r->found_bytes);
	for (size_t i = 0; i < r->app_found_count; i++)
		sb_free_secret(&r->app_found[i]);
	free(r->app_found);
	r->app_found = NULL;
	r->app_found_count = 0;
	stream_result_free(&r->backup_stream);
	stream_result_free(&r->restore_stream);
	verify_report_free(&r->report);
	inventory_free(&r->src_inv);
	inventory_free(&r->dst_inv);
	dbprops_free(&r->props);
	json_decref(r->stopped);
	r->stopped = NULL;
	json_decref(r->file_apps);
	r->file_apps = NULL;
	journal_close(&r->journal);
	lock_release(&r->lock);
}
