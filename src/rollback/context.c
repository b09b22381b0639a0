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
#include <stdlib.h>
#include <string.h>

/* The saved original is a compose file: compose's own bound applies. */
#define ORIGINAL_MAX_BYTES COMPOSE_MAX_BYTES

#define PRE_ROLLBACK JOURNAL_PRE_ROLLBACK

const char *
rb_field(json_t *rec, const char *key)
{
	return rec ? json_string_value(json_object_get(rec, key)) : NULL;
}

/* Every fact comes from the migration run r->mig.run: the service file no
 * longer names the db service, and the stack's state may have moved on. */
bool
rb_find_migration(Rb *r, const Journal *j)
{
	RbMigration *m = &r->mig;
	MigrationRecord *rec = xcalloc(1, sizeof(*rec));
	bool ok = false;

	if (!journal_read_migration(j, m->run, rec))
		goto out;
	if (!rec->save.done || !rec->role.done || !rec->files.done)
	{
		log_error("the journal of %s lacks records of migration %s (save-original, role, "
				  "files); inspect %s", r->svc->name, m->run, j->path);
		exit_hint_set(EXIT_BLOCKED);
		goto out;
	}
	if (!str_copy(m->original_copy, sizeof(m->original_copy), rec->save.copy)
		|| !str_copy(m->original_sha, sizeof(m->original_sha), rec->save.sha256)
		|| !str_copy(m->shared_db, sizeof(m->shared_db), rec->role.db)
		|| !str_copy(m->role, sizeof(m->role), rec->role.role)
		|| !str_copy(m->container, sizeof(m->container), rec->role.source_container)
		|| !str_copy(m->user, sizeof(m->user), rec->role.source_user)
		|| !str_copy(m->db, sizeof(m->db), rec->role.source_db)
		|| !str_copy(m->project, sizeof(m->project), rec->role.project)
		|| !str_copy(m->migrated_sha, sizeof(m->migrated_sha), rec->files.service_sha256)
		|| !str_copy(m->override_path, sizeof(m->override_path), rec->files.override)
		|| m->original_copy[0] == '\0' || m->original_sha[0] == '\0' || m->shared_db[0] == '\0'
		|| m->role[0] == '\0' || m->container[0] == '\0' || m->user[0] == '\0'
		|| m->db[0] == '\0' || m->project[0] == '\0' || m->migrated_sha[0] == '\0'
		|| m->override_path[0] == '\0')
	{
		log_error("the journal of %s lacks fields of migration %s that a rollback needs; "
				  "inspect %s", r->svc->name, m->run, j->path);
		exit_hint_set(EXIT_BLOCKED);
		goto out;
	}
	/* `pgfold rename` runs since: the names and the file as they are now */
	journal_apply_renames(j, m->run, m->shared_db, sizeof(m->shared_db), m->role, sizeof(m->role),
						  m->migrated_sha, sizeof(m->migrated_sha));
	m->env_keys = rec->files.env_keys;
	m->app_files = rec->files.app_files;
	/* migrations before the env file was journaled wrote <root>/.env */
	str_copy(m->env_path, sizeof(m->env_path),
			 rec->files.env_file[0] ? rec->files.env_file : r->app->cfg.env_path);
	str_copy(m->dump, sizeof(m->dump), rec->stream.dump);
	str_copy(m->dump_sha, sizeof(m->dump_sha), rec->stream.sha256);
	ok = true;
out:
	free(rec);
	return ok;
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
	return journal_run_file(r->app->cfg.backups_dir, service_fsname(r->svc), JOURNAL_PRE_ROLLBACK,
							r->run_id, ".dump", r->dump, sizeof(r->dump))
		&& journal_run_file(r->app->cfg.backups_dir, service_fsname(r->svc),
							JOURNAL_ROLLBACK_FILE, r->run_id, ".override.yml", r->override_saved,
							sizeof(r->override_saved));
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
	sb_free_secret(&r->orig_bytes);
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
