/*
 * run.c — `pgfold schema up|down|goto`: one run on the step runner
 * (runner.h), journal op "schema":
 *
 *   schema-backup    `db backup` of the database (dump + sidecar), unless
 *                    --no-backup
 *   schema-rehearse  that dump restored into a scratch database, the files
 *                    applied there and the .check.sql files run, the scratch
 *                    database dropped; only then the real one (by default
 *                    when a file is medium or high risk)
 *   schema-apply     each file in its own transaction with its state row
 *
 * Before the steps: the advisory lock of the database (a second runner
 * waits, then EXIT_LOCKED), the plan made under that lock, the checks (sum
 * file, applied files unchanged, no half-done file), --dry-run, the
 * confirmation of a down. The stack lock is taken for the journal only
 * after the advisory lock, and released before it, so a runner that waited
 * proceeds.
 */
#include "pgfold/schema.h"

#include "pgfold/app.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/runner.h"
#include "pgfold/signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct Ctx
{
	App                    *app;
	const SchemaTarget     *t;
	const SchemaRunOptions *o;
	PGconn                 *conn;
	SchemaDir               dir;
	SchemaState             st;
	SchemaPlan              plan;
	SchemaLog               log;
	InstanceDumpResult      backup;
	Runner                  rn;
	bool                    rehearse;
	char                    scratch[64];
	json_t                 *done;       /* file names applied */
} Ctx;

bool
schema_big_tables(PGconn *conn, char ***out)
{
	PGresult *r = NULL;
	int n;

	*out = NULL;
	if (!pg_query(conn, "list the big tables",
				  "SELECT lower(c.relname) FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p') "
				  "AND (c.reltuples >= 1000000 OR pg_catalog.pg_total_relation_size(c.oid) >= "
				  "1073741824) ORDER BY 1", 0, NULL, &r))
		return false;
	n = PQntuples(r);
	*out = xcalloc((size_t) n + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
		(*out)[i] = xstrdup(PQgetvalue(r, i, 0));
	PQclear(r);
	return true;
}

static void
big_free(char **big)
{
	for (size_t i = 0; big != NULL && big[i] != NULL; i++)
		free(big[i]);
	free(big);
}

bool
schema_lint_file(const SchemaDir *d, const SchemaFile *f, SchemaKind kind,
				 const char *const *big, SchemaLint *out, SchemaStmts *stmts)
{
	char path[PATH_MAX];
	StrBuf sql = STRBUF_INIT;

	memset(out, 0, sizeof(*out));
	if (!schema_file_path(d, f, kind, path, sizeof(path)) || !schema_read(path, &sql)
		|| !schema_split(sb_str(&sql), path, stmts))
	{
		sb_free(&sql);
		return false;
	}
	schema_lint(sb_str(&sql), stmts, big, out);
	sb_free(&sql);
	return true;
}

/* ---- the steps ---------------------------------------------------------------- */

static bool
step_backup(void *arg)
{
	Ctx *c = arg;
	char path[PATH_MAX];

	if (c->o->no_backup)
		return true;
	if (!runner_record(&c->rn, SCHEMA_STEP_BACKUP, JOURNAL_STARTED, NULL))
		return false;
	/* two runs within a second: the next free stamp, as run ids do */
	for (time_t when = time(NULL), end = when + 60; when < end; when++)
		if (!instance_backup_default_path(&c->app->cfg, c->t->db, when, path, sizeof(path))
			|| access(path, F_OK) != 0)
			break;
	if (!fs_mkdir_p(c->app->cfg.backups_dir, 0750)
		|| !instance_backup(c->app, c->t->db, path, &c->backup))
		return false;
	schema_log(&c->log, "backup %s (sha256 %s)", c->backup.path, c->backup.sha256);
	json_t *f = json_pack("{s:s, s:s, s:s, s:I}", "db", c->t->db, "dump", c->backup.path,
						  "sha256", c->backup.sha256, "bytes", (json_int_t) c->backup.bytes);
	bool ok = runner_record(&c->rn, SCHEMA_STEP_BACKUP, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}

static void
drop_scratch(Ctx *c)
{
	bool exists = false;

	if (c->scratch[0] && pg_database_exists(c->app->shared, c->scratch, &exists) && exists)
		pg_drop_database(c->app->shared, c->scratch, true);
}

static void
undo_rehearse(void *arg)
{
	drop_scratch(arg);
}

static bool
rehearse_files(Ctx *c, PGconn *scratch)
{
	if (!schema_session(scratch, c->scratch) || !schema_state_ensure(scratch))
		return false;
	for (size_t i = 0; i < c->plan.count; i++)
	{
		const SchemaStep *s = &c->plan.items[i];

		if (!schema_apply_file(scratch, &c->dir, s->file, s->kind, &c->log)
			|| (s->kind == SCHEMA_UP && !schema_run_check(scratch, &c->dir, s->file, &c->log)))
			return false;
	}
	return true;
}

static bool
step_rehearse(void *arg)
{
	Ctx *c = arg;
	char hex[FS_SHA256_HEX_LEN + 1];
	InstanceRestore req = { .file = c->backup.path, .owner = c->t->owner };
	InstanceRestoreResult res;
	PGconn *scratch = NULL;
	bool ok;

	if (!c->rehearse)
		return true;
	fs_sha256_bytes(c->t->db, strlen(c->t->db), hex);
	str_format(c->scratch, sizeof(c->scratch), "pgfold_rehearse_%.12s", hex);
	req.db = c->scratch;
	drop_scratch(c);    /* a leftover of a crashed run */
	json_t *started = json_pack("{s:s}", "scratch", c->scratch);

	ok = runner_record(&c->rn, SCHEMA_STEP_REHEARSE, JOURNAL_STARTED, started);
	json_decref(started);
	if (!ok)
		return false;
	log_info("rehearsing in the scratch database %s", c->scratch);
	schema_log(&c->log, "== rehearsal in %s (restored from %s)", c->scratch, c->backup.path);
	ok = instance_restore(c->app, &req, &res)
		&& pg_connect_shared(&c->app->cfg, c->scratch, &scratch)
		&& rehearse_files(c, scratch);
	pg_disconnect(scratch);
	drop_scratch(c);
	schema_log(&c->log, "== rehearsal %s", ok ? "passed" : "FAILED");
	if (!ok)
	{
		log_error("the rehearsal failed (details above, log %s); database %s was not touched",
				  c->log.path, c->t->db);
		return false;
	}
	log_info("rehearsal passed; applying to %s", c->t->db);
	json_t *f = json_pack("{s:s, s:I}", "scratch", c->scratch, "files",
						  (json_int_t) c->plan.count);

	ok = runner_record(&c->rn, SCHEMA_STEP_REHEARSE, JOURNAL_DONE, f);
	json_decref(f);
	return ok;
}

static bool
step_apply(void *arg)
{
	Ctx *c = arg;
	char base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];
	bool ok = runner_record(&c->rn, SCHEMA_STEP_APPLY, JOURNAL_STARTED, NULL)
		&& schema_session(c->conn, c->t->db) && schema_state_ensure(c->conn);

	for (size_t i = 0; ok && i < c->plan.count; i++)
	{
		const SchemaStep *s = &c->plan.items[i];

		/* Ctrl-C stops between two files, never inside one */
		if (i > 0 && signals_interrupted())
		{
			log_error("interrupted: %zu of %zu file(s) applied, each committed; `pgfold schema "
					  "status` shows where it stands, `schema up` goes on", i, c->plan.count);
			exit_hint_set(EXIT_INTERRUPTED);
			ok = false;
			break;
		}
		ok = schema_apply_file(c->conn, &c->dir, s->file, s->kind, &c->log);
		if (ok && schema_file_name(s->file, s->kind, base, sizeof(base)))
			json_array_append_new(c->done, json_string(base));
	}
	json_t *f = json_pack("{s:s, s:O, s:s}", "db", c->t->db, "files", c->done, "log",
						  c->log.path);

	ok = runner_record(&c->rn, SCHEMA_STEP_APPLY, ok ? JOURNAL_DONE : JOURNAL_FAILED, f) && ok;
	json_decref(f);
	return ok;
}

static const RunnerStep schema_steps[] = {
	{ SCHEMA_STEP_BACKUP, step_backup, NULL },
	{ SCHEMA_STEP_REHEARSE, step_rehearse, undo_rehearse },
	{ SCHEMA_STEP_APPLY, step_apply, NULL },
};

/* ---- before the steps ------------------------------------------------------------ */

/* Lint the plan (and print it for --dry-run); false when a down file has
 * no statement (it would mark a version reverted without reverting it). */
static bool
print_plan(const Ctx *c, SchemaRisk *worst, bool print)
{
	bool ok = true;
	char **big = NULL;
	char base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];

	*worst = SCHEMA_RISK_LOW;
	schema_big_tables(c->conn, &big);
	for (size_t i = 0; i < c->plan.count; i++)
	{
		const SchemaStep *s = &c->plan.items[i];
		SchemaLint l;
		SchemaStmts stmts = { 0 };

		if (!schema_lint_file(&c->dir, s->file, s->kind, (const char *const *) big, &l,
							  &stmts))
		{
			*worst = SCHEMA_RISK_HIGH;
			continue;
		}
		if (l.risk > *worst)
			*worst = l.risk;
		schema_file_name(s->file, s->kind, base, sizeof(base));
		if (s->kind == SCHEMA_DOWN && stmts.count == 0)
		{
			log_error("%s/%s has no statement: it would mark version %s reverted without "
					  "changing anything; write the statements that undo it", c->dir.path, base,
					  s->file->version);
			exit_hint_set(EXIT_USAGE);
			ok = false;
		}
		if (print)
		{
			printf("would %s %s (risk %s, %s)\n", s->kind == SCHEMA_DOWN ? "revert with" : "apply",
				   base, schema_risk_name(l.risk),
				   l.no_transaction ? "no transaction" : "one transaction");
			for (size_t k = 0; k < stmts.count; k++)
			{
				StrBuf one = STRBUF_INIT, red = STRBUF_INIT;

				schema_redact(stmts.items[k].text, &red);
				for (const char *p = sb_str(&red); *p && one.len < 160; p++)
					sb_appendc(&one, *p == '\n' || *p == '\t' ? ' ' : *p);
				sb_free(&red);
				printf("  %-6s line %-4zu %s%s\n", schema_risk_name(l.items[k].risk),
					   stmts.items[k].line, sb_str(&one), one.len >= 160 ? " ..." : "");
				sb_free(&one);
			}
		}
		schema_lint_free(&l);
		schema_stmts_free(&stmts);
	}
	big_free(big);
	return ok;
}

/* The checks every run makes, under the advisory lock. */
static bool
prepare(Ctx *c)
{
	if (!schema_dir_load(c->t->dir, &c->dir) || !schema_sum_check(&c->dir, NULL)
		|| !schema_state_load(c->conn, &c->st) || !schema_applied_unchanged(&c->dir, &c->st, NULL))
		return false;
	if (c->st.failure.present && c->st.failure.half_done)
	{
		log_error("version %s (%s) stopped half-way at %s (no transaction): %s; finish or undo "
				  "its statements by hand, then `pgfold schema force VERSION --yes`",
				  c->st.failure.version, c->st.failure.name ? c->st.failure.name : "",
				  c->st.failure.at ? c->st.failure.at : "", c->st.failure.error
				  ? c->st.failure.error : "");
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	return schema_plan(&c->dir, &c->st, c->o->go, c->o->count, c->o->version, &c->plan);
}

static bool
confirm(Ctx *c)
{
	StrBuf q = STRBUF_INIT, d = STRBUF_INIT;
	size_t downs = 0;
	bool ok;

	for (size_t i = 0; i < c->plan.count; i++)
		downs += c->plan.items[i].kind == SCHEMA_DOWN;
	if (downs == 0)
		return true;
	sb_appendf(&q, "Revert %zu migration(s) of database %s (newest first: %s_%s)%s? ", downs,
			   pg_display(&d, c->t->db), c->plan.items[0].file->version,
			   c->plan.items[0].file->name, c->o->no_backup ? " WITHOUT a backup" : "");
	ok = runner_confirm(c->o->yes, true, sb_str(&q), "not reverting");
	sb_free(&q);
	sb_free(&d);
	return ok;
}

static int
run_steps(Ctx *c, Lock *lock)
{
	Journal j = JOURNAL_INIT;
	char run[JOURNAL_STAMP_LEN + 1], what[160];
	int rc = EXIT_OK;

	str_format(what, sizeof(what), "schema %s", c->t->db);
	if (!lock_acquire(c->app->cfg.root, what, lock)
		|| !journal_open(c->app->cfg.backups_dir, c->t->journal, &j)
		|| !journal_new_run_id(&j, NULL, run)
		|| !schema_log_open(c->app->cfg.backups_dir, c->t->db, &c->log))
	{
		journal_close(&j);
		return exit_hint_get();
	}
	c->rn = (Runner) { .journal = &j, .op = JOURNAL_SCHEMA, .run_id = run, .ctx = c };
	schema_log(&c->log, "pgfold schema run %s on database %s, directory %s, %zu file(s)", run,
			   c->t->db, c->dir.path, c->plan.count);
	if (runner_run(&c->rn, schema_steps, sizeof(schema_steps) / sizeof(schema_steps[0])))
	{
		SchemaState now;
		json_t *f;

		memset(&now, 0, sizeof(now));
		schema_state_load(c->conn, &now);
		f = json_pack("{s:s, s:s, s:s}", "db", c->t->db, "version", schema_state_current(&now),
					  "log", c->log.path);
		journal_complete(&j, JOURNAL_SCHEMA, run, f);
		json_decref(f);
		if (c->o->json)
			cli_print_json(json_pack("{s:s, s:O, s:s, s:s?, s:s, s:b}", "database", c->t->db,
									 "files", c->done, "version", schema_state_current(&now),
									 "backup", c->backup.path[0] ? c->backup.path : NULL,
									 "log", c->log.path, "rehearsed", c->rehearse));
		else
			printf("database %s now at version %s (%zu file(s)); %s%s%slog: %s\n", c->t->db,
				   schema_state_current(&now)[0] ? schema_state_current(&now) : "none",
				   json_array_size(c->done), c->backup.path[0] ? "backup: " : "",
				   c->backup.path, c->backup.path[0] ? "; " : "", c->log.path);
		schema_state_free(&now);
	}
	else
	{
		rc = exit_hint_get();
		runner_undo(&c->rn, schema_steps, sizeof(schema_steps) / sizeof(schema_steps[0]),
					NULL);
		if (c->backup.path[0])
			log_notice("the backup taken before this run: %s (restore with `pgfold db restore "
					   "%s %s`)", c->backup.path, c->t->db, c->backup.path);
	}
	schema_log_close(&c->log);
	journal_close(&j);
	return rc;
}

int
schema_run(App *app, const SchemaTarget *t, const SchemaRunOptions *o, Lock *lock)
{
	Ctx c = { .app = app, .t = t, .o = o, .log = SCHEMA_LOG_INIT };
	SchemaRisk worst = SCHEMA_RISK_LOW;
	int rc = EXIT_OK;

	c.done = json_array();
	if (!pg_connect_shared(&app->cfg, t->db, &c.conn)
		|| (!o->dry_run && !schema_lock(c.conn, t->db, o->lock_timeout)) || !prepare(&c))
		rc = exit_hint_get();
	else if (c.plan.count == 0)
	{
		if (o->json)
			cli_print_json(json_pack("{s:s, s:[], s:s, s:b}", "database", t->db, "files",
									 "version", schema_state_current(&c.st), "dry_run", o->dry_run));
		else
			printf("database %s is at version %s: nothing to do\n", t->db,
				   schema_state_current(&c.st)[0] ? schema_state_current(&c.st) : "none");
	}
	else
	{
		if (!print_plan(&c, &worst, o->dry_run && !o->json))
			rc = exit_hint_get();
		c.rehearse = o->rehearse || (!o->no_rehearse && worst >= SCHEMA_RISK_MEDIUM);
		if (rc != EXIT_OK)
			;
		else if (c.rehearse && o->no_backup && o->rehearse)
			rc = cli_usage_error("schema", "--rehearse restores the backup that --no-backup "
								 "skips; drop one of them");
		else if (c.rehearse && o->no_backup)
		{
			log_warn("no rehearsal of these %s-risk files: --no-backup leaves nothing to "
					 "rehearse on", schema_risk_name(worst));
			c.rehearse = false;
		}
		if (rc != EXIT_OK)
			;
		else if (o->dry_run)
		{
			if (!o->json)
				printf("%s%s(risk %s)\n", o->no_backup ? "" : "after a backup, ",
					   c.rehearse ? "after a rehearsal in a scratch database " : "",
					   schema_risk_name(worst));
			else
			{
				json_t *files = json_array();
				char base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];

				for (size_t i = 0; i < c.plan.count; i++)
					if (schema_file_name(c.plan.items[i].file, c.plan.items[i].kind, base,
										 sizeof(base)))
						json_array_append_new(files, json_string(base));
				cli_print_json(json_pack("{s:s, s:o, s:s, s:b, s:b, s:b}", "database", t->db,
										 "files", files, "risk", schema_risk_name(worst),
										 "backup", !o->no_backup, "rehearse", c.rehearse,
										 "dry_run", true));
			}
		}
		else if (!confirm(&c))
			rc = exit_hint_get();
		else
			rc = run_steps(&c, lock);
	}
	/* the stack lock before the advisory lock: a runner waiting on the
	 * latter then finds the former free */
	lock_release(lock);
	pg_disconnect(c.conn);
	schema_plan_free(&c.plan);
	schema_state_free(&c.st);
	schema_dir_free(&c.dir);
	json_decref(c.done);
	return rc;
}
