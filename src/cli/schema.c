/*
 * schema.c — `pgfold schema COMMAND SERVICE|--db NAME [--dir DIR]`: versioned
 * schema migrations of one database of the shared instance.
 *
 * Option parsing, the target (service → database, directory) and output
 * live here; the files, sums, state table, lint and the run are the schema
 * module's (schema.h; up/down/goto: src/schema/run.c on the step runner).
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/compose.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/options.h"
#include "pgfold/pg.h"
#include "pgfold/runner.h"
#include "pgfold/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char cli_schema_usage[] =
	"usage: pgfold schema status   SERVICE|--db NAME [--dir DIR] [--exit-code]\n"
	"                              [--json]\n"
	"       pgfold schema up       SERVICE|--db NAME [N] [--dir DIR] [--no-backup]\n"
	"                              [--rehearse | --no-rehearse] [--lock-timeout S]\n"
	"                              [--dry-run] [--json]\n"
	"       pgfold schema down     SERVICE|--db NAME [N] [...as up] [--yes]\n"
	"       pgfold schema goto     SERVICE|--db NAME VERSION [...as up] [--yes]\n"
	"       pgfold schema validate SERVICE|--db NAME [--dir DIR] [--json]\n"
	"       pgfold schema lint     SERVICE|--db NAME [--dir DIR] [--json]\n"
	"       pgfold schema create   [SERVICE|--db NAME] NAME [--dir DIR]\n"
	"       pgfold schema hash     [SERVICE|--db NAME] [--dir DIR]\n"
	"       pgfold schema force    SERVICE|--db NAME VERSION --yes [--reason TEXT]\n"
	"       pgfold schema baseline SERVICE|--db NAME VERSION [--yes] [--reason TEXT]\n"
	"       pgfold schema seed     SERVICE|--db NAME [--clean] [--yes] [--dir DIR]\n"
	"\n"
	"Versioned schema migrations of a service's database on the shared instance.\n"
	"Files: DIR/<version>_<name>.up.sql, optional .down.sql and .check.sql\n"
	"(version: digits, e.g. 000001 or YYYYmmddHHMMSS); DIR defaults to\n"
	"services/<service>.migrations (or `# migrations: PATH` in the service file).\n"
	"DIR/pgfold.sum holds the SHA-256 of every file (CRLF and a BOM normalised);\n"
	"every command refuses when it is stale or an applied file changed, naming\n"
	"the file. State: table public.pgfold_schema_migrations in the database (every\n"
	"event with checksum, time, duration, who, success, error and statement).\n"
	"\n"
	"  status    each file: applied, pending, changed (after apply), missing-file;\n"
	"            the version, the last failure, other runners' tables\n"
	"            (golang-migrate, Flyway, Liquibase, Prisma), read only\n"
	"  up        apply pending files (N: only the first N), oldest first\n"
	"  down      revert the newest N applied versions (default 1); asks first\n"
	"  goto      down to VERSION (0: everything), then up to it\n"
	"  validate  sums, order, every file splits into statements, no BEGIN/COMMIT\n"
	"            of its own, a .down.sql for every medium or high risk file\n"
	"  lint      the risk class of every pending file, statement by statement:\n"
	"            low (new tables, nullable columns, indexes, views), medium (type\n"
	"            changes, NOT NULL, renames, CREATE INDEX without CONCURRENTLY on a\n"
	"            big table, statements that cannot run in a transaction), high\n"
	"            (DROP TABLE/COLUMN, UPDATE/DELETE/TRUNCATE, key changes)\n"
	"  create    write DIR/<utc stamp>_NAME.up.sql and .down.sql (or the next\n"
	"            number when the versions are short numbers), then pgfold.sum\n"
	"  hash      rewrite DIR/pgfold.sum from the files\n"
	"  force     after a failed run: mark versions up to VERSION applied and the\n"
	"            later ones not, without running anything; needs --yes\n"
	"  baseline  mark versions up to VERSION applied without running them (a\n"
	"            database another runner built); asks first\n"
	"  seed      run DIR/seeds/*.sql in name order (development data), all in one\n"
	"            transaction; --clean first empties every table (but the state\n"
	"            tables) and asks. Refused on a database marked production: the\n"
	"            service file says `# environment: production`, or the database\n"
	"            has `pgfold.environment = 'production'` (ALTER DATABASE ... SET)\n"
	"\n"
	"up, down and goto: an advisory lock per database (a second runner waits\n"
	"--lock-timeout seconds, default 60, then exits 7); a `db backup` of the\n"
	"database first (with its sidecar) unless --no-backup; a rehearsal when\n"
	"--rehearse or when a file is medium or high risk (unless --no-rehearse):\n"
	"the backup restored into a scratch database, the files and their\n"
	".check.sql assertions run there (a check fails on an error or a first\n"
	"column false), the scratch database dropped, and the real database touched\n"
	"only when all passed; then each file in its own transaction with its state\n"
	"row (a file declaring `-- pgfold:no-transaction` runs statement by\n"
	"statement). A failed file leaves the database as before it and a row with\n"
	"success=false, the error and the statement. Every statement and its result\n"
	"go to backups/schema/<db>_<stamp>.log. --dry-run prints the files and\n"
	"statements with their risk class. Files run as the database's owner.\n"
	"\n"
	"Options:\n"
	"  --db NAME         the database (instead of SERVICE)\n"
	"  --dir DIR         the migration directory\n"
	"  --exit-code       status: exit 1 when a file is pending\n"
	"  --no-backup       no backup first (and so no rehearsal)\n"
	"  --rehearse        rehearse even low-risk files; --no-rehearse: never\n"
	"  --lock-timeout S  wait for another runner this long (default 60)\n"
	"  --reason TEXT     force, baseline: recorded with who ran it\n"
	"  --clean           seed: empty every table first\n"
	"  --yes             do not ask (needed without a terminal for down, goto\n"
	"                    down, baseline, seed --clean; always for force)\n"
	"  --dry-run         say what would run, change nothing\n"
	"  --json            machine-readable output on stdout\n"
	"\n"
	"Exit: 0 done (status: nothing wrong); 1 failure, or (status --exit-code) a\n"
	"file is pending; 2 usage or confirmation needed; 3 a file stopped half-way\n"
	"(force needed) or seed on a production database; 5 shared instance\n"
	"unreachable; 6 stale pgfold.sum, a changed applied file, a failed check or\n"
	"validation problems; 7 another runner holds the database's lock (or the\n"
	"stack lock); 130 interrupted (between two files).\n";

typedef struct SchemaOpts
{
	const char *db, *dir, *reason;
	bool        exit_code, no_backup, rehearse, no_rehearse, json, yes, dry_run, clean;
	long        lock_timeout;
	char      **args;
	int         nargs;
} SchemaOpts;

typedef struct SchemaCmd
{
	const char *name;
	int         min, max;       /* arguments after SERVICE */
	bool        needs_db;       /* connects to the database */
	int       (*run)(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock);
} SchemaCmd;

/* ---- the target ---------------------------------------------------------------- */

static bool
db_of_service(App *app, const char *service, char *db, size_t size)
{
	InstanceServiceMap map;
	StackService *svc = stack_find(&app->stack, service);
	bool found = false;

	if (svc != NULL && svc->meta_database != NULL && strcmp(svc->meta_database, "postgres") == 0
		&& svc->meta_database_name != NULL)
		found = str_copy(db, size, svc->meta_database_name);
	if (!found)
	{
		instance_service_map_build(app, &map);
		for (size_t i = 0; i < map.count && !found; i++)
			if (strcmp(map.service[i], service) == 0)
				found = str_copy(db, size, map.db[i]);
		instance_service_map_free(&map);
	}
	if (!found)
	{
		log_error("service %s has no database on the shared instance (it is not migrated: "
				  "no `# database_name:` in its file); give --db NAME", service);
		exit_hint_set(EXIT_USAGE);
	}
	return found;
}

static bool
resolve(App *app, SchemaOpts *o, const char *service, bool needs_db, SchemaTarget *t)
{
	StackService *svc = NULL;
	InstanceServiceMap map;
	StrBuf safe = STRBUF_INIT;

	memset(t, 0, sizeof(*t));
	if (service != NULL && (svc = app_service(app, service, NULL)) == NULL)
	{
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (o->db != NULL)
	{
		if (!str_copy(t->db, sizeof(t->db), o->db))
		{
			cli_usage_error("schema", "--db: a database name has at most 63 bytes");
			return false;
		}
		if (svc == NULL && o->dir == NULL)
		{
			const char *s;

			instance_service_map_build(app, &map);
			s = instance_service_map_find(&map, o->db);
			if (s != NULL)
				svc = stack_find(&app->stack, s);
			instance_service_map_free(&map);
		}
	}
	else if (svc != NULL && needs_db && !db_of_service(app, svc->name, t->db, sizeof(t->db)))
		return false;
	t->service = svc ? svc->name : NULL;
	if (svc != NULL)
	{
		const char *env = compose_meta_get(&svc->file, "environment");

		t->production = env != NULL && strcasecmp(env, "production") == 0;
	}
	/* the directory: --dir, `# migrations:`, services/<service>.migrations */
	if (o->dir != NULL)
		str_copy(t->dir, sizeof(t->dir), o->dir);
	else if (svc != NULL)
	{
		const char *meta = compose_meta_get(&svc->file, "migrations");

		if (meta != NULL && meta[0] == '/')
			str_copy(t->dir, sizeof(t->dir), meta);
		else if (meta != NULL)
			str_format(t->dir, sizeof(t->dir), "%s/%s", app->cfg.services_dir, meta);
		else
			str_format(t->dir, sizeof(t->dir), "%s/%s.migrations", app->cfg.services_dir,
					   service_fsname(svc));
	}
	else
	{
		log_error("no service uses database %s: give the migration directory with --dir",
				  t->db);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	/* the journal: the service's, else one named after the database */
	if (svc != NULL)
		str_copy(t->journal, sizeof(t->journal), service_fsname(svc));
	else
	{
		instance_file_safe(t->db, &safe);
		str_format(t->journal, sizeof(t->journal), "%.64s", sb_str(&safe));
		sb_free(&safe);
	}
	if (needs_db)
	{
		InstanceDb db;

		if (!instance_db_require(app, t->db, &db))
			return false;
		str_copy(t->owner, sizeof(t->owner), db.owner);
		instance_db_free(&db);
	}
	return true;
}

/* ---- status ------------------------------------------------------------------ */

static int
cmd_status(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	SchemaDir d;
	SchemaState st;
	PGconn *conn = NULL;
	json_t *problems = json_array(), *files = json_array(), *others = NULL;
	size_t pending = 0;
	int rc = EXIT_OK;

	if (!schema_dir_load(t->dir, &d))
	{
		json_decref(problems);
		json_decref(files);
		return exit_hint_get();
	}
	if (!pg_connect_shared(&app->cfg, t->db, &conn) || !schema_state_load(conn, &st)
		|| !schema_interop_read(conn, &others))
	{
		pg_disconnect(conn);
		schema_dir_free(&d);
		json_decref(problems);
		json_decref(files);
		return exit_hint_get();
	}
	schema_sum_check(&d, problems);
	schema_applied_unchanged(&d, &st, problems);
	if (!o->json)
		printf("%-16s %-32s %-14s %-20s %s\n", "VERSION", "NAME", "STATUS", "APPLIED", "BY");
	for (size_t i = 0; i < d.count; i++)
	{
		const SchemaFile *f = &d.files[i];
		const char *status = schema_file_status(f, &st);
		const SchemaApplied *a = schema_state_applied(&st, f->version);

		pending += strcmp(status, "pending") == 0;
		json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:b}", "version",
											   f->version, "name", f->name, "status", status,
											   "applied_at", a ? a->applied_at : NULL,
											   "applied_by", a ? a->applied_by : NULL,
											   "down", f->has[SCHEMA_DOWN]));
		if (!o->json)
			printf("%-16s %-32s %-14s %-20.19s %s\n", f->version, f->name, status,
				   a ? a->applied_at : "-", a ? a->applied_by : "-");
	}
	for (size_t i = 0; i < st.count; i++)
		if (st.items[i].applied && schema_dir_find(&d, st.items[i].version) == NULL)
		{
			json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:s, s:s}", "version",
												   st.items[i].version, "name", st.items[i].name,
												   "status", "missing-file", "applied_at",
												   st.items[i].applied_at, "applied_by",
												   st.items[i].applied_by));
			if (!o->json)
				printf("%-16s %-32s %-14s %-20.19s %s\n", st.items[i].version, st.items[i].name,
					   "missing-file", st.items[i].applied_at, st.items[i].applied_by);
		}
	if (o->json)
		cli_print_json(json_pack("{s:s, s:s, s:s, s:O, s:I, s:O, s:o, s:o}", "database", t->db,
								 "dir", t->dir, "version", schema_state_current(&st),
								 "files", files, "pending", (json_int_t) pending,
								 "problems", problems, "last_failure", st.failure.present
								 ? json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:b}", "version",
											 st.failure.version, "name", st.failure.name, "at",
											 st.failure.at, "error", st.failure.error,
											 "statement", st.failure.statement, "half_done",
											 st.failure.half_done) : json_null(),
								 "other_runners", others));
	else
	{
		printf("database %s at version %s; %zu pending\n", t->db,
			   schema_state_current(&st)[0] ? schema_state_current(&st) : "none", pending);
		if (st.failure.present)
			printf("last failure: %s_%s at %s: %s (statement: %.200s)%s\n", st.failure.version,
				   st.failure.name ? st.failure.name : "", st.failure.at ? st.failure.at : "",
				   st.failure.error ? st.failure.error : "",
				   st.failure.statement ? st.failure.statement : "",
				   st.failure.half_done ? "; stopped half-way: `schema force` after fixing" : "");
		for (size_t i = 0; i < json_array_size(others); i++)
		{
			json_t *x = json_array_get(others, i);

			printf("other runner: %s%s%s\n",
				   json_string_value(json_object_get(x, "summary")),
				   json_object_get(x, "problem") ? "; " : "",
				   json_object_get(x, "problem")
				   ? json_string_value(json_object_get(x, "problem")) : "");
		}
		json_decref(others);
	}
	if (json_array_size(problems) > 0)
		rc = EXIT_VERIFY;
	else if (o->exit_code && pending > 0)
		rc = EXIT_FAIL;
	json_decref(problems);
	json_decref(files);
	schema_state_free(&st);
	schema_dir_free(&d);
	pg_disconnect(conn);
	return rc;
}

/* ---- validate and lint ---------------------------------------------------------- */

static int
cmd_validate(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	SchemaDir d;
	SchemaState st;
	PGconn *conn = NULL;
	json_t *problems = json_array();
	int rc;

	if (!schema_dir_load(t->dir, &d))
	{
		json_decref(problems);
		return exit_hint_get();
	}
	schema_sum_check(&d, problems);
	schema_validate_files(&d, problems);
	if (pg_connect_shared(&app->cfg, t->db, &conn) && schema_state_load(conn, &st))
	{
		schema_applied_unchanged(&d, &st, problems);
		schema_validate_order(&d, &st, problems);
		schema_state_free(&st);
	}
	else
		json_array_append_new(problems, json_string("the state of the database could not be "
													"read"));
	pg_disconnect(conn);
	rc = json_array_size(problems) ? EXIT_VERIFY : EXIT_OK;
	if (o->json)
		cli_print_json(json_pack("{s:s, s:s, s:I, s:b, s:O}", "database", t->db, "dir", t->dir,
								 "files", (json_int_t) d.count, "ok", rc == EXIT_OK,
								 "problems", problems));
	else if (rc == EXIT_OK)
		printf("%zu migration(s) in %s are valid\n", d.count, t->dir);
	json_decref(problems);
	schema_dir_free(&d);
	return rc;
}

static int
cmd_lint(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	SchemaDir d;
	SchemaState st;
	PGconn *conn = NULL;
	char **big = NULL;
	json_t *out = json_array();
	char base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];

	if (!schema_dir_load(t->dir, &d) || !pg_connect_shared(&app->cfg, t->db, &conn)
		|| !schema_state_load(conn, &st) || !schema_big_tables(conn, &big))
	{
		pg_disconnect(conn);
		json_decref(out);
		return exit_hint_get();
	}
	for (size_t i = 0; i < d.count; i++)
	{
		SchemaLint l;
		SchemaStmts s = { 0 };
		json_t *findings = json_array();

		if (schema_state_applied(&st, d.files[i].version) != NULL
			|| !schema_lint_file(&d, &d.files[i], SCHEMA_UP, (const char *const *) big, &l, &s))
		{
			json_decref(findings);
			continue;
		}
		schema_file_name(&d.files[i], SCHEMA_UP, base, sizeof(base));
		if (!o->json)
			printf("%-48s %s%s\n", base, schema_risk_name(l.risk),
				   l.no_transaction ? " (no transaction)" : "");
		for (size_t k = 0; k < l.count; k++)
		{
			json_array_append_new(findings, json_pack("{s:I, s:s, s:s}", "line",
													  (json_int_t) l.items[k].line, "risk",
													  schema_risk_name(l.items[k].risk),
													  "why", l.items[k].why));
			if (!o->json && l.items[k].risk > SCHEMA_RISK_LOW)
				printf("  line %-5zu %-6s %s\n", l.items[k].line,
					   schema_risk_name(l.items[k].risk), l.items[k].why);
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:b, s:o}", "file", base, "risk",
											 schema_risk_name(l.risk), "no_transaction",
											 l.no_transaction, "findings", findings));
		schema_lint_free(&l);
		schema_stmts_free(&s);
	}
	if (o->json)
		cli_print_json(json_pack("{s:s, s:O}", "database", t->db, "files", out));
	else if (json_array_size(out) == 0)
		printf("no pending migration in %s\n", t->dir);
	for (size_t i = 0; big && big[i]; i++)
		free(big[i]);
	free(big);
	json_decref(out);
	schema_state_free(&st);
	schema_dir_free(&d);
	pg_disconnect(conn);
	return EXIT_OK;
}

/* ---- create and hash ------------------------------------------------------------- */

static int
cmd_hash(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	SchemaDir d;
	bool ok = schema_dir_load(t->dir, &d) && schema_sum_write(&d);

	if (ok)
		printf("wrote %s/%s (%zu migration(s))\n", t->dir, SCHEMA_SUM_FILE, d.count);
	schema_dir_free(&d);
	return ok ? EXIT_OK : exit_hint_get();
}

static int
cmd_create(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	char up[PATH_MAX], down[PATH_MAX];

	if (!schema_create(t->dir, o->args[0], up, down))
		return exit_hint_get();
	printf("%s\n%s\n", up, down);
	return EXIT_OK;
}

/* ---- force and baseline ------------------------------------------------------------ */

static int
mark(App *app, SchemaOpts *o, SchemaTarget *t, bool force)
{
	const char *v = o->args[0];
	SchemaDir d;
	SchemaState st;
	PGconn *conn = NULL;
	char note[600];
	StrBuf q = STRBUF_INIT;
	size_t rows = 0;
	bool ok;

	if (strspn(v, "0123456789") != strlen(v) || v[0] == '\0')
		return cli_usage_error("schema", "schema %s takes a version (digits), not \"%s\"",
							   force ? "force" : "baseline", v);
	if (force && !o->yes)
		return cli_usage_error("schema", "schema force changes the recorded state without "
							   "running anything: it needs --yes");
	sb_appendf(&q, "Mark versions up to %s of database %s applied without running them? ", v,
			   t->db);
	ok = schema_dir_load(t->dir, &d);
	if (ok && !force && !runner_confirm(o->yes, false, sb_str(&q), "not marking"))
	{
		schema_dir_free(&d);
		ok = false;
	}
	sb_free(&q);
	if (!ok)
		return exit_hint_get();
	ok = pg_connect_shared(&app->cfg, t->db, &conn) && schema_lock(conn, t->db, o->lock_timeout)
		&& schema_state_load(conn, &st);
	if (ok)
	{
		str_format(note, sizeof(note), "%s to %s%s%s%s", force ? "forced" : "baseline", v,
				   o->reason ? ": " : "", o->reason ? o->reason : "",
				   force && st.failure.present ? " (after a failure)" : "");
		ok = schema_session(conn, t->db) && schema_state_ensure(conn);
		for (size_t i = 0; ok && i < d.count; i++)
		{
			const SchemaFile *f = &d.files[i];
			bool below = schema_version_cmp(f->version, v) <= 0;
			bool applied = schema_state_applied(&st, f->version) != NULL;
			SchemaRow row = { .version = f->version, .name = f->name,
							  .checksum = f->sum[SCHEMA_UP], .kind = force ? "force" : "baseline",
							  .note = note, .applied = below, .success = true };

			if (below == applied || (!force && !below))
				continue;
			ok = schema_state_insert(conn, &row);
			rows++;
		}
		if (ok)
		{
			SchemaLog log = SCHEMA_LOG_INIT;
			char by[320];

			schema_operator(by, sizeof(by));
			log_notice("%s: %zu version(s) of database %s marked; now at %s", note, rows, t->db,
					   v);
			if (schema_log_open(app->cfg.backups_dir, t->db, &log))
				schema_log(&log, "%s by %s: %zu version(s) marked, nothing run", note, by, rows);
			schema_log_close(&log);
		}
		schema_state_free(&st);
	}
	pg_disconnect(conn);
	schema_dir_free(&d);
	return ok ? EXIT_OK : exit_hint_get();
}

static int
cmd_force(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	return mark(app, o, t, true);
}

static int
cmd_baseline(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	return mark(app, o, t, false);
}

/* ---- seed ------------------------------------------------------------------------ */

static int
cmd_seed(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	PGconn *conn = NULL;
	SchemaLog log = SCHEMA_LOG_INIT;
	StrBuf q = STRBUF_INIT;
	bool prod = t->production, ok;
	size_t files = 0;

	if (!pg_connect_shared(&app->cfg, t->db, &conn) || (!prod && !schema_db_is_production(conn,
																						&prod)))
	{
		pg_disconnect(conn);
		return exit_hint_get();
	}
	if (prod)
	{
		log_error("database %s is marked production (%s); seeds are development data and "
				  "never go there", t->db, t->production ? "`# environment: production` in "
				  "the service file" : "pgfold.environment = 'production'");
		pg_disconnect(conn);
		return EXIT_BLOCKED;
	}
	if (o->dry_run)
	{
		printf("would %srun %s/seeds/*.sql in name order on %s, in one transaction\n",
			   o->clean ? "empty every table, then " : "", t->dir, t->db);
		pg_disconnect(conn);
		return EXIT_OK;
	}
	sb_appendf(&q, "Empty every table of database %s, then seed it? ", t->db);
	ok = (!o->clean || runner_confirm(o->yes, true, sb_str(&q), "not seeding"))
		&& schema_lock(conn, t->db, o->lock_timeout)
		&& schema_log_open(app->cfg.backups_dir, t->db, &log)
		&& schema_seed(conn, t->dir, o->clean, &log, &files);
	if (ok)
		printf("seeded %s from %zu file(s)%s; log: %s\n", t->db, files,
			   o->clean ? " after emptying every table" : "", log.path);
	schema_log_close(&log);
	sb_free(&q);
	pg_disconnect(conn);
	return ok ? EXIT_OK : exit_hint_get();
}

/* ---- up, down, goto ----------------------------------------------------------------- */

static int
go(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock, SchemaGo how)
{
	SchemaRunOptions r = { .go = how, .no_backup = o->no_backup, .rehearse = o->rehearse,
						   .no_rehearse = o->no_rehearse, .dry_run = o->dry_run, .yes = o->yes,
						   .json = o->json, .lock_timeout = o->lock_timeout };

	if (how == SCHEMA_GO_TO)
		r.version = o->args[0];
	else if (o->nargs == 1 && !str_to_long(o->args[0], 1, 1000000, &r.count))
		return cli_usage_error("schema", "schema %s takes a count of 1 or more, not \"%s\"",
							   how == SCHEMA_GO_UP ? "up" : "down", o->args[0]);
	return schema_run(app, t, &r, lock);
}

static int
cmd_up(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	return go(app, o, t, lock, SCHEMA_GO_UP);
}

static int
cmd_down(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	return go(app, o, t, lock, SCHEMA_GO_DOWN);
}

static int
cmd_goto(App *app, SchemaOpts *o, SchemaTarget *t, Lock *lock)
{
	return go(app, o, t, lock, SCHEMA_GO_TO);
}

static const SchemaCmd cmds[] = {
	{ "status", 0, 0, true, cmd_status },
	{ "up", 0, 1, true, cmd_up },
	{ "down", 0, 1, true, cmd_down },
	{ "goto", 1, 1, true, cmd_goto },
	{ "validate", 0, 0, true, cmd_validate },
	{ "lint", 0, 0, true, cmd_lint },
	{ "create", 1, 1, false, cmd_create },
	{ "hash", 0, 0, false, cmd_hash },
	{ "force", 1, 1, true, cmd_force },
	{ "baseline", 1, 1, true, cmd_baseline },
	{ "seed", 0, 0, true, cmd_seed },
};

typedef struct Call
{
	const SchemaCmd *cmd;
	SchemaOpts       o;
	const char      *service;
} Call;

static int
run_call(App *app, void *ctx, Lock *lock)
{
	Call *c = ctx;
	SchemaTarget t;

	if (!resolve(app, &c->o, c->service, c->cmd->needs_db, &t))
		return exit_hint_get();
	return c->cmd->run(app, &c->o, &t, lock);
}

int
cli_schema_main(const GlobalOptions *g, int argc, char **argv)
{
	Call c = { .cmd = NULL };
	StrBuf names = STRBUF_INIT;
	OptParser p;
	int id, rc;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
	{
		sb_appendf(&names, "%s%s", i ? ", " : "", cmds[i].name);
		if (argc >= 2 && strcmp(argv[1], cmds[i].name) == 0)
			c.cmd = &cmds[i];
	}
	if (c.cmd == NULL)
	{
		rc = cli_usage_error("schema", "schema %s%s: the commands are %s",
							 argc >= 2 ? "does not know " : "needs a command",
							 argc >= 2 ? argv[1] : "", sb_str(&names));
		sb_free(&names);
		return rc;
	}
	sb_free(&names);
	c.o.json = g->json;
	c.o.yes = g->yes;
	c.o.dry_run = g->dry_run;
	c.o.lock_timeout = 60;
	opt_init(&p, "schema", argv[1], OPT_CMD_SCHEMA, ~0u, argc - 1, argv + 1);
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_DB: c.o.db = p.arg; break;
			case OPT_SCHEMA_DIR: c.o.dir = p.arg; break;
			case OPT_EXIT_CODE: c.o.exit_code = true; break;
			case OPT_NO_BACKUP: c.o.no_backup = true; break;
			case OPT_REHEARSE: c.o.rehearse = true; break;
			case OPT_NO_REHEARSE: c.o.no_rehearse = true; break;
			case OPT_LOCK_TIMEOUT: c.o.lock_timeout = p.num; break;
			case OPT_REASON: c.o.reason = p.arg; break;
			case OPT_CLEAN: c.o.clean = true; break;
		}
	}
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	if (c.o.rehearse && c.o.no_rehearse)
		return cli_usage_error("schema", "--rehearse and --no-rehearse exclude each other");
	c.o.args = p.pos;
	c.o.nargs = p.npos;
	/* SERVICE first unless --db names the database (create and hash with
	 * --dir need neither) */
	if (c.o.db == NULL && !(!c.cmd->needs_db && c.o.dir != NULL && c.o.nargs <= c.cmd->max))
	{
		if (c.o.nargs == 0)
			return cli_usage_error("schema", "schema %s needs SERVICE or --db NAME",
								   c.cmd->name);
		c.service = c.o.args[0];
		c.o.args++;
		c.o.nargs--;
	}
	if (c.o.nargs < c.cmd->min || c.o.nargs > c.cmd->max)
		return cli_usage_error("schema", "schema %s takes %s", c.cmd->name,
							   c.cmd->max == 0 ? "no argument after SERVICE|--db NAME"
							   : "other arguments (see the usage)");
	for (int i = 0; i < c.o.nargs; i++)
		if (c.o.args[i][0] == '\0')
			return cli_usage_error("schema", "schema %s: empty argument", c.cmd->name);
	return instance_main(g, c.cmd->needs_db, run_call, &c);
}
