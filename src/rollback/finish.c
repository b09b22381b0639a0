/*
 * finish.c — the rollback's last steps: the original service file back
 * (byte for byte, from the copy migrate saved) with the override moved to
 * the backups, the apps recreated, the old database set aside dropped and,
 * with --drop-shared, the shared database, role, password file and .env
 * variable removed once everything else has succeeded.
 */
#include "rb_internal.h"

#include "pgfold/composecmd.h"
#include "pgfold/dotenv.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/rewrite.h"
#include "pgfold/secrets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* rename, or copy + unlink across filesystems; both directories fsync'ed. */
static bool
move_file(const char *from, const char *to)
{
	if (rename(from, to) != 0)
	{
		if (errno != EXDEV)
		{
			log_error("cannot move %s to %s: %s", from, to, strerror(errno));
			return false;
		}
		if (!fs_copy_file_atomic(from, to))
			return false;
		if (unlink(from) != 0)
		{
			log_error("cannot remove %s: %s", from, strerror(errno));
			return false;
		}
	}
	return fs_fsync_parent(from) && fs_fsync_parent(to);
}

/* `diff -u` from the service file as it is (cur) to the original. */
bool
rb_service_diff(Rb *r, const StrBuf *cur, StrBuf *out)
{
	return rewrite_file_diff(r->app->cfg.root, r->svc->path, cur->data, cur->len,
							 r->orig_bytes.data, r->orig_bytes.len, out);
}

/* When the service file was edited since the migration: the diff the
 * rollback would apply to it, so the operator sees what --yes accepts. */
void
rb_print_edits(Rb *r, FILE *out)
{
	StrBuf cur = STRBUF_INIT, diff = STRBUF_INIT;
	bool edited = false, restored = false;

	/* a later fold of the same file is not an edit: the check says so */
	if (rb_folded_later(r) == NULL && rb_service_state(r, &cur, &edited, &restored) && edited
		&& rb_service_diff(r, &cur, &diff))
		fprintf(out, "%s was edited since the migration; the rollback would make it the "
				"original again:\n%s", r->service_rel, sb_str(&diff));
	sb_free_secret(&cur);
	sb_free(&diff);
}

static bool
show_edit_refusal(Rb *r)
{
	rb_print_edits(r, stderr);
	log_error("%s was edited since the migration (it is neither what migrate wrote nor the "
			  "original); the rollback would replace it with the original (diff above): "
			  "re-run with --yes to accept that", r->service_rel);
	exit_hint_set(EXIT_BLOCKED);
	return false;
}

bool
rb_step_files(Rb *r)
{
	StrBuf cur = STRBUF_INIT;
	bool edited = false, restored = false, ok;

	if (rb_step_done(r, RB_STEP_FILES))
	{
		r->past_files = true;
		return true;
	}
	if (!rb_service_state(r, &cur, &edited, &restored))
		return false;
	if (edited && !r->opts->yes)
	{
		show_edit_refusal(r);
		sb_free_secret(&cur);
		return false;
	}
	if (!restored)
	{
		sb_reset(&r->found_bytes);
		sb_append(&r->found_bytes, cur.data, cur.len);
		r->files_written = true;
		ok = fs_write_like(r->svc->path, r->svc->path, r->orig_bytes.data, r->orig_bytes.len,
						   false);
		if (!ok)
		{
			sb_free_secret(&cur);
			return false;
		}
		log_notice("restored %s from %s", r->service_rel, r->mig.original_copy);
	}
	sb_free_secret(&cur);
	if (!rb_app_files_restore(r))
		return false;
	if (access(r->mig.override_path, F_OK) == 0)
	{
		if (!move_file(r->mig.override_path, r->override_saved))
			return false;
		log_notice("moved %s to %s", r->override_rel, r->override_saved);
	}
	else if (access(r->override_saved, F_OK) != 0)
		log_warn("%s is gone and was not moved by this rollback", r->mig.override_path);

	json_t *f = json_pack("{s:s, s:s, s:s}", "service_file", r->svc->path,
						  "sha256", r->mig.original_sha, "override_saved", r->override_saved);

	ok = rb_record(r, RB_STEP_FILES, f);
	json_decref(f);
	r->past_files = ok;
	return ok;
}

/* A failure inside the files step: the stack goes back to the migrated
 * file and its override, consistent with the data the undo puts back. */
void
rb_undo_files(Rb *r)
{
	if (r->files_written && fs_write_like(r->svc->path, r->svc->path, r->found_bytes.data,
										  r->found_bytes.len, false))
		log_notice("put %s back as migrate wrote it", r->service_rel);
	rb_app_files_undo(r);
	if (access(r->mig.override_path, F_OK) != 0 && access(r->override_saved, F_OK) == 0
		&& move_file(r->override_saved, r->mig.override_path))
		log_notice("put %s back", r->override_rel);
}

bool
rb_step_apply(Rb *r)
{
	char **up, **argv, **others;
	StrBuf line = STRBUF_INIT;
	bool ok = true;

	if (rb_step_done(r, RB_STEP_APPLY))
		return true;
	others = stack_others_services(&r->app->stack, r->index);
	up = composecmd_up_args(app_invocation(r->app, r->index), &r->orig, -1, others);
	stack_others_free(others);
	argv = rb_compose_argv(r, false, (const char *const *) up);
	if (r->opts->no_apply)
	{
		composecmd_line(argv, &line);
		printf("start the apps on the dedicated database with:\n  %s\n", sb_str(&line));
		sb_free(&line);
	}
	else
		ok = composecmd_run(argv, "compose up");
	composecmd_argv_free(argv);
	composecmd_argv_free(up);
	if (ok && !r->opts->no_apply)
		rb_app_files_start_apps(r);
	if (!ok)
	{
		log_error("the data is back in %s and %s points at it, but the apps could not be "
				  "started; fix the cause above and re-run `pgfold rollback %s` (it resumes "
				  "here)", r->mig.container, r->service_rel, r->svc->name);
		return false;
	}

	json_t *f = json_pack("{s:b}", "applied", !r->opts->no_apply);

	ok = rb_record(r, RB_STEP_APPLY, f);
	json_decref(f);
	return ok;
}

/* The pre-migration database, set aside by the swap: dropped only now
 * that the restored one is verified, in place and in use. */
bool
rb_step_drop_stale(Rb *r)
{
	if (r->data == RB_DATA_ORIGINAL || rb_step_done(r, RB_STEP_DROP_STALE))
		return true;
	if (!rb_db_drop(r, r->aside_db))
		return false;
	log_info("dropped \"%s\" in %s", r->aside_db, r->mig.container);

	json_t *f = json_pack("{s:s}", "db", r->aside_db);
	bool ok = rb_record(r, RB_STEP_DROP_STALE, f);

	json_decref(f);
	return ok;
}

/* .env without the variables the migration added (old_env as it is). */
bool
rb_env_without(Rb *r, StrBuf *old_env, StrBuf *new_env, bool *changed)
{
	bool exists = false, removed;
	size_t i;
	json_t *key;

	*changed = false;
	if (!fs_read_file_if_exists(r->mig.env_path, DOTENV_MAX_BYTES, old_env, &exists))
		return false;
	sb_reset(new_env);
	sb_append(new_env, sb_str(old_env), old_env->len);
	json_array_foreach(r->mig.env_keys, i, key)
	{
		StrBuf next = STRBUF_INIT;

		if (!rewrite_env_file_unset(sb_str(new_env), new_env->len, json_string_value(key), &next,
									&removed))
		{
			sb_free_secret(&next);
			return false;
		}
		*changed = *changed || removed;
		sb_free_secret(new_env);
		*new_env = next;
	}
	return true;
}

/* Where else the role owns or is granted something (pg_shdepend covers
 * every database of the cluster); "" when nowhere. */
static bool
role_elsewhere(Rb *r, StrBuf *where)
{
	static const char sql[] =
		"SELECT coalesce(string_agg(DISTINCT coalesce(d.datname, '(cluster-wide)'), ', '), '') "
		"FROM pg_shdepend s LEFT JOIN pg_database d ON d.oid = s.dbid "
		"WHERE s.refclassid = 'pg_authid'::regclass "
		"AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)";
	const char *params[] = { r->mig.role };

	return pg_query_scalar(r->app->shared, "look for the role's objects", sql, 1, params, where,
						   NULL);
}

static bool
drop_role(Rb *r, bool *dropped)
{
	StrBuf where = STRBUF_INIT, q = STRBUF_INIT;
	char path[PATH_MAX];
	bool ok;

	*dropped = false;
	if (!role_elsewhere(r, &where))
		return false;
	if (where.len > 0)
	{
		log_warn("role \"%s\" still owns or is granted objects in %s: kept, with its password "
				 "file", r->mig.role, sb_str(&where));
		sb_free(&where);
		return true;
	}
	sb_free(&where);
	ok = sb_appends(&q, "DROP ROLE IF EXISTS ") && pg_quote_ident(r->app->shared, r->mig.role, &q)
		&& pg_exec(r->app->shared, "drop the service role", sb_str(&q));
	sb_free(&q);
	if (!ok || !secrets_password_path(r->app->cfg.root, r->mig.role, path, sizeof(path)))
		return false;
	if (unlink(path) != 0 && errno != ENOENT)
	{
		log_error("cannot remove %s: %s", path, strerror(errno));
		return false;
	}
	*dropped = true;
	return true;
}

static bool
drop_env_keys(Rb *r, bool *changed)
{
	StrBuf old_env = STRBUF_INIT, new_env = STRBUF_INIT;
	bool ok = rb_env_without(r, &old_env, &new_env, changed);

	if (ok && *changed)
		ok = fs_write_atomic(r->mig.env_path, new_env.data, new_env.len, 0600);
	sb_free_secret(&old_env);
	sb_free_secret(&new_env);
	return ok;
}

bool
rb_step_drop_shared(Rb *r)
{
	char sha[FS_SHA256_HEX_LEN + 1];
	bool role_dropped = false, env_changed = false;

	if (!r->opts->drop_shared || rb_step_done(r, RB_STEP_DROP_SHARED))
		return true;
	/* the pre-rollback dump is the last copy of what the shared database
	 * held: it must be intact before that database goes */
	if (!fs_sha256_sidecar_verify(r->dump) || !fs_sha256_sidecar_read(r->dump, sha)
		|| strcmp(sha, r->dump_sha) != 0)
	{
		log_error("the pre-rollback dump %s does not verify: \"%s\" is kept on the shared "
				  "instance", r->dump, r->mig.shared_db);
		return false;
	}
	if (!app_shared(r->app) || !pg_drop_database(r->app->shared, r->mig.shared_db, true)
		|| !drop_role(r, &role_dropped) || !drop_env_keys(r, &env_changed))
		return false;
	log_notice("dropped \"%s\"%s from the shared instance; its data is in %s", r->mig.shared_db,
			   role_dropped ? " and its role" : "", r->dump);

	json_t *keys = r->mig.env_keys ? json_incref(r->mig.env_keys) : json_array();
	json_t *f = json_pack("{s:s, s:s, s:b, s:o, s:b}", "db", r->mig.shared_db,
						  "role", r->mig.role, "role_dropped", role_dropped,
						  "env_keys", keys, "env_changed", env_changed);
	bool ok = rb_record(r, RB_STEP_DROP_SHARED, f);

	json_decref(f);
	return ok;
}
