/*
 * steps.c — the steps of `pgfold rename` on the one runner, what undoes
 * each, and the run: checks, one confirmation, steps, journal.
 */
#include "ren_internal.h"

#include "pgfold/composecmd.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/instance.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/secrets.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A "done" record of this run; fields (may be NULL) is released. */
static bool
record(Ren *r, const char *step, json_t *fields)
{
	bool ok = runner_record(&r->rn, step, JOURNAL_DONE, fields);

	json_decref(fields);
	return ok;
}

static bool
exists_db(Ren *r, const char *name)
{
	bool e = false;

	return pg_database_exists(r->app->shared, name, &e) && e;
}

static bool
exists_role(Ren *r, const char *name)
{
	bool e = false;

	return pg_role_exists(r->app->shared, name, &e) && e;
}

static bool
step_options(void *ctx)
{
	Ren *r = ctx;

	return record(r, REN_STEP_OPTIONS,
						 json_pack("{s:s, s:s, s:b, s:b, s:b}", "from", r->o->from, "to", r->o->to,
								   "role", r->o->role, "terminate", r->o->terminate,
								   "no_backup", r->o->no_backup));
}

static bool
step_backup(void *ctx)
{
	Ren *r = ctx;
	InstanceDumpResult d;

	if (r->o->no_backup)
		return true;
	if (!instance_backup_default_path(&r->app->cfg, r->o->from, time(NULL), r->backup,
									  sizeof(r->backup))
		|| !instance_backup(r->app, r->o->from, r->backup, &d))
		return false;
	return record(r, REN_STEP_BACKUP,
						 json_pack("{s:s, s:s, s:I}", "dump", d.path, "sha256", d.sha256,
								   "bytes", (json_int_t) d.bytes));
}

static bool
step_terminate(void *ctx)
{
	Ren *r = ctx;
	long n = 0;

	if (!r->o->terminate)
		return true;
	return pg_terminate_connections(r->app->shared, r->o->from, &n)
		&& record(r, REN_STEP_TERMINATE,
						 json_pack("{s:I}", "terminated", (json_int_t) n));
}

static bool
step_database(void *ctx)
{
	Ren *r = ctx;

	return pg_rename_database(r->app->shared, r->o->from, r->o->to)
		&& record(r, REN_STEP_DATABASE,
						 json_pack("{s:s, s:s}", "from", r->o->from, "to", r->o->to));
}

/* Back only when the world says this run's rename happened. */
static void
undo_database(void *ctx)
{
	Ren *r = ctx;

	if (exists_db(r, r->o->to) && !exists_db(r, r->o->from))
		pg_rename_database(r->app->shared, r->o->to, r->o->from);
}

static bool
rename_role(Ren *r, const char *from, const char *to)
{
	StrBuf sql = STRBUF_INIT;
	bool ok = sb_appends(&sql, "ALTER ROLE ") && pg_quote_ident(r->app->shared, from, &sql)
		&& sb_appends(&sql, " RENAME TO ") && pg_quote_ident(r->app->shared, to, &sql)
		&& pg_exec(r->app->shared, "rename the role", sb_str(&sql));

	sb_free(&sql);
	return ok;
}

static bool
step_role(void *ctx)
{
	Ren *r = ctx;

	if (!r->o->role)
		return true;
	return rename_role(r, r->o->from, r->o->to)
		&& record(r, REN_STEP_ROLE,
						 json_pack("{s:s, s:s}", "from", r->o->from, "to", r->o->to));
}

static void
undo_role(void *ctx)
{
	Ren *r = ctx;

	if (r->o->role && exists_role(r, r->o->to) && !exists_role(r, r->o->from))
		rename_role(r, r->o->to, r->o->from);
}

static bool
move_password_file(Ren *r, const char *from, const char *to, bool quiet_missing)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (!secrets_password_path(r->app->cfg.root, from, a, sizeof(a))
		|| !secrets_password_path(r->app->cfg.root, to, b, sizeof(b)))
		return false;
	if (access(a, F_OK) != 0)
	{
		if (!quiet_missing)
			log_warn("no password file %s to rename: the role's password is not kept by pgfold", a);
		return true;
	}
	if (access(b, F_OK) == 0)
	{
		log_error("%s exists already: move it away, then run rename again", b);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	if (rename(a, b) != 0 || !fs_fsync_parent(b))
	{
		log_error("cannot rename %s to %s: %m", a, b);
		return false;
	}
	return true;
}

static bool
step_password(void *ctx)
{
	Ren *r = ctx;

	if (!r->o->role)
		return true;
	return move_password_file(r, r->o->from, r->o->to, false)
		&& record(r, REN_STEP_PASSWORD,
						 json_pack("{s:s, s:s}", "from", r->o->from, "to", r->o->to));
}

static void
undo_password(void *ctx)
{
	Ren *r = ctx;
	char b[PATH_MAX];

	if (r->o->role && runner_done(&r->rn, REN_STEP_PASSWORD) != NULL
		&& secrets_password_path(r->app->cfg.root, r->o->to, b, sizeof(b)) && access(b, F_OK) == 0)
		move_password_file(r, r->o->to, r->o->from, true);
}

static bool
step_files(void *ctx)
{
	Ren *r = ctx;
	StrBuf out = STRBUF_INIT;
	int edits = 0;
	char sha[FS_SHA256_HEX_LEN + 1];
	bool ok;

	if (r->svc == NULL)
		return true;
	ok = rename_service_bytes(r->svc, r->o->from, r->o->to, r->o->role, &out, &edits);
	if (ok)
		fs_sha256_bytes(sb_str(&out), out.len, sha);
	ok = ok
		&& journal_run_file(r->app->cfg.backups_dir, r->jname, "rename_", r->run_id, ".yml",
							r->copy, sizeof(r->copy))
		&& fs_write_like(r->copy, r->svc->path, r->svc->file.bytes, r->svc->file.len, true)
		&& fs_write_like(r->svc->path, r->svc->path, sb_str(&out), out.len, false)
		&& record(r, REN_STEP_FILES,
						 json_pack("{s:s, s:s, s:i, s:s}", "service_file", r->svc->path,
								   "copy", r->copy, "edits", edits, "service_sha256", sha));
	if (ok)
		log_info("%s: %d setting%s now name%s \"%s\"", r->svc->path, edits, edits == 1 ? "" : "s",
				 edits == 1 ? "s" : "", r->o->to);
	sb_free(&out);
	return ok;
}

static void
undo_files(void *ctx)
{
	Ren *r = ctx;
	json_t *d = runner_done(&r->rn, REN_STEP_FILES);
	const char *copy = json_string_value(json_object_get(d, "copy"));
	const char *path = json_string_value(json_object_get(d, "service_file"));

	if (copy != NULL && path != NULL)
		fs_copy_file_atomic(copy, path);
}

/* The apps recreated from the edited file (as migrate's apply does). */
static bool
step_apply(void *ctx)
{
	Ren *r = ctx;
	size_t index;
	const ComposeInvocation *inv;
	char **up, **argv, **others;
	bool ok;

	if (r->svc == NULL)
		return true;
	index = (size_t) (r->svc - r->app->stack.services);
	inv = app_invocation(r->app, index);
	others = stack_others_services(&r->app->stack, index);
	up = composecmd_up_args(inv, r->svc, r->svc->db_service, others);
	stack_others_free(others);
	argv = composecmd_argv(r->app, inv, NULL, (const char *const *) up);
	ok = composecmd_run(argv, "compose up");
	composecmd_argv_free(argv);
	composecmd_argv_free(up);
	if (!ok)
	{
		log_error("\"%s\" is renamed and %s names it, but its apps could not be recreated: "
				  "fix the cause above, then run compose up -d for it", r->o->to, r->svc->path);
		return false;
	}
	return record(r, REN_STEP_APPLY, NULL);
}

static const RunnerStep rename_table[] = {
	{ REN_STEP_OPTIONS, step_options, NULL },
	{ REN_STEP_BACKUP, step_backup, NULL },
	{ REN_STEP_TERMINATE, step_terminate, NULL },
	{ REN_STEP_DATABASE, step_database, undo_database },
	{ REN_STEP_ROLE, step_role, undo_role },
	{ REN_STEP_PASSWORD, step_password, undo_password },
	{ REN_STEP_FILES, step_files, undo_files },
	/* once the apps may have read the new file, nothing is put back */
	{ REN_STEP_APPLY, step_apply, NULL },
};

const RunnerStep *
ren_steps(size_t *n)
{
	*n = sizeof(rename_table) / sizeof(rename_table[0]);
	return rename_table;
}
