/*
 * test_schema_lab.c — `pgfold schema` against a real shared instance:
 * up/down/goto/status/validate on a fixture directory, a failing middle
 * file, a changed applied file, two runners at once, a rehearsal that
 * catches a failing check, --exit-code and --dry-run.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"

IFX_SUITE(schema_lab);

static char dir[PATH_MAX];

static void
put(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	cr_assert(str_format(path, sizeof(path), "%s/%s", dir, name));
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* A stack, database "app" and an empty migration directory. */
static void
setup(void)
{
	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_run(&x, "db", "create", "app", NULL);
	ifx_expect(&x, EXIT_OK, "db create app");
	ifx_path(&x, "migrations", dir, sizeof(dir));
	cr_assert_eq(mkdir(dir, 0755), 0);
}

#define SCHEMA(...) ifx_run(&x, "schema", __VA_ARGS__, "--db", "app", "--dir", dir, NULL)

static void
three_files(void)
{
	put("000001_users.up.sql", "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
		"INSERT INTO users VALUES (1, 'a;b'), (2, $$x;y$$);\n");
	put("000001_users.down.sql", "DROP TABLE users;\n");
	put("000002_email.up.sql", "\xEF\xBB\xBF-- a BOM and CRLF\r\nALTER TABLE users ADD COLUMN email text;\r\n");
	put("000002_email.down.sql", "ALTER TABLE users DROP COLUMN email;\n");
	put("000003_idx.up.sql", "CREATE INDEX users_email ON users (email);\n");
	put("000003_idx.down.sql", "DROP INDEX users_email;\n");
	SCHEMA("hash");
	ifx_expect(&x, EXIT_OK, "hash");
}

static char *
q(const char *sql)
{
	return ifx_value(&x, "app", sql);
}

static void
expect_value(const char *sql, const char *want)
{
	char *v = q(sql);

	cr_assert_str_eq(v, want, "%s", sql);
	free(v);
}

Test(schema_lab, up_down_goto_status_validate)
{
	json_t *doc;

	setup();
	three_files();
	SCHEMA("status", "--exit-code");
	ifx_expect(&x, EXIT_FAIL, "status --exit-code with pending files");
	cr_assert(strstr(sb_str(&x.out), "000001           users") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "pending") != NULL);
	SCHEMA("status");
	ifx_expect(&x, EXIT_OK, "status without --exit-code");

	SCHEMA("up", "--dry-run");
	ifx_expect(&x, EXIT_OK, "up --dry-run");
	cr_assert(strstr(sb_str(&x.out), "would apply 000001_users.up.sql (risk low, one "
					 "transaction)") != NULL, "%s", sb_str(&x.out));
	expect_value("SELECT coalesce(to_regclass('public.users')::text, 'none')", "none");

	SCHEMA("up");
	ifx_expect(&x, EXIT_OK, "up");
	cr_assert(strstr(sb_str(&x.out), "now at version 000003 (3 file(s))") != NULL, "%s",
			  sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "backup: ") != NULL, "no backup taken: %s", sb_str(&x.out));
	expect_value("SELECT string_agg(name, ',' ORDER BY id) FROM users", "a;b,x;y");
	expect_value("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email'", "1");
	/* objects belong to the database's owner; the history has who and the checksum */
	expect_value("SELECT tableowner FROM pg_tables WHERE tablename = 'users'", "admin");
	expect_value("SELECT count(*) FROM pgfold_schema_migrations WHERE success AND kind = 'up' "
				 "AND length(checksum) = 64 AND applied_by <> ''", "3");
	SCHEMA("status", "--exit-code", "--json");
	ifx_expect(&x, EXIT_OK, "status --exit-code, all applied");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "version")), "000003");
	cr_assert_eq(json_integer_value(json_object_get(doc, "pending")), 0);
	json_decref(doc);

	SCHEMA("down");
	ifx_expect(&x, EXIT_USAGE, "down without --yes and no terminal");
	expect_value("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email'", "1");
	SCHEMA("down", "--yes", "--no-backup");
	ifx_expect(&x, EXIT_OK, "down --yes");
	expect_value("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email'", "0");
	SCHEMA("goto", "000001", "--yes", "--no-backup");
	ifx_expect(&x, EXIT_OK, "goto 000001");
	expect_value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
				 "AND column_name = 'email'", "0");
	SCHEMA("goto", "0", "--yes", "--no-backup");
	ifx_expect(&x, EXIT_OK, "goto 0");
	expect_value("SELECT coalesce(to_regclass('public.users')::text, 'none')", "none");
	SCHEMA("up", "2", "--no-backup");
	ifx_expect(&x, EXIT_OK, "up 2");
	SCHEMA("status", "--exit-code");
	ifx_expect(&x, EXIT_FAIL, "status --exit-code: 000003 pending");
	cr_assert(strstr(sb_str(&x.out), "at version 000002; 1 pending") != NULL, "%s",
			  sb_str(&x.out));
	SCHEMA("validate");
	ifx_expect(&x, EXIT_OK, "validate");
	cr_assert(strstr(sb_str(&x.out), "3 migration(s)") != NULL, "%s", sb_str(&x.out));
	/* the run log has every statement and its result */
	cr_assert_eq(lab_sh("grep -q 'INSERT INTO users VALUES' %s/backups/schema/app_*.log && "
						"grep -q -- '-> ok INSERT 0 2' %s/backups/schema/app_*.log", x.root,
						x.root), 0, "the run log lacks the statements");
}

Test(schema_lab, failing_middle_file_leaves_the_earlier_ones)
{
	json_t *doc;

	setup();
	put("000001_t.up.sql", "CREATE TABLE t (id int PRIMARY KEY, v text);\n"
		"INSERT INTO t VALUES (1, 'one'), (2, 'two');\n");
	put("000002_bad.up.sql", "ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = 1;\n"
		"INSERT INTO t (id, v, c) VALUES (3, 'three', 'not a number');\n");
	put("000003_z.up.sql", "CREATE TABLE z (id int);\n");
	SCHEMA("hash");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_FAIL, "up with a failing middle file");
	cr_assert(strstr(sb_str(&x.err), "000002_bad.up.sql failed at line 3") != NULL, "%s",
			  sb_str(&x.err));
	cr_assert(strstr(sb_str(&x.err), "22P02") != NULL, "%s", sb_str(&x.err));
	/* as after 000001 exactly: no column c, the rows untouched, no z */
	expect_value("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
				 "information_schema.columns WHERE table_name = 't'", "id,v");
	expect_value("SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM t", "1=one,2=two");
	expect_value("SELECT coalesce(to_regclass('public.z')::text, 'none')", "none");
	expect_value("SELECT version || ':' || success || ':' || (failing_statement LIKE "
				 "'INSERT INTO t (id, v, c)%') || ':' || (error LIKE '[22P02]%') FROM "
				 "pgfold_schema_migrations WHERE NOT success", "000002:false:true:true");
	SCHEMA("status", "--json");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "version")), "000001");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "last_failure"),
													   "version")), "000002");
	json_decref(doc);
}

Test(schema_lab, deferred_constraint_fails_at_commit)
{
	setup();
	put("000001_fk.up.sql", "CREATE TABLE p (id int PRIMARY KEY);\n"
		"CREATE TABLE c (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n"
		"INSERT INTO c VALUES (7);\n");
	SCHEMA("hash");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_FAIL, "up with a deferred foreign key violation");
	cr_assert(strstr(sb_str(&x.err), "000001_fk.up.sql failed at COMMIT (a deferred constraint)")
			  != NULL, "%s", sb_str(&x.err));
	cr_assert(strstr(sb_str(&x.err), "23503") != NULL, "%s", sb_str(&x.err));
	expect_value("SELECT coalesce(to_regclass('public.p')::text, 'none')", "none");
	expect_value("SELECT count(*) FROM pgfold_schema_migrations WHERE success", "0");
	expect_value("SELECT failing_statement FROM pgfold_schema_migrations WHERE NOT success",
				 "COMMIT");
}

Test(schema_lab, changed_applied_file_is_refused_by_name)
{
	setup();
	three_files();
	SCHEMA("up", "1", "--no-backup");
	ifx_expect(&x, EXIT_OK, "up 1");
	/* a pending file edited without `schema hash`: the sum is stale */
	put("000003_idx.up.sql", "CREATE INDEX users_name ON users (name);\n");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_VERIFY, "up with a stale sum");
	cr_assert(strstr(sb_str(&x.err), "000003_idx.up.sql changed since `pgfold schema hash`")
			  != NULL, "%s", sb_str(&x.err));
	/* an applied file edited, even with the sum rewritten */
	put("000001_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n");
	SCHEMA("hash");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_VERIFY, "up with a changed applied file");
	cr_assert(strstr(sb_str(&x.err), "000001_users.up.sql changed after it was applied") != NULL,
			  "%s", sb_str(&x.err));
	expect_value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
				 "AND column_name = 'email'", "0");
	SCHEMA("status");
	ifx_expect(&x, EXIT_VERIFY, "status with a changed applied file");
	cr_assert(strstr(sb_str(&x.out), "changed") != NULL, "%s", sb_str(&x.out));
}

/* `schema up` in the background; its exit status lands in <x.dir>/bg.rc. */
static void
background_up(const char *timeout)
{
	const char *bin = getenv("PGFOLD_TEST_BIN");

	cr_assert_eq(lab_sh("cd %s && rm -f bg.rc && (%s --root %s --no-color schema up --db app "
						"--dir %s --no-backup --lock-timeout %s >bg.out 2>bg.err </dev/null; "
						"echo $? >bg.rc) &", x.dir, bin && *bin ? bin : "build/pgfold", x.root,
						dir, timeout), 0);
}

static int
background_wait(void)
{
	char path[PATH_MAX];
	int rc = -1;

	cr_assert(str_format(path, sizeof(path), "%s/bg.rc", x.dir));
	for (int i = 0; i < 600; i++)
	{
		FILE *f = fopen(path, "r");

		if (f != NULL && fscanf(f, "%d", &rc) == 1)
		{
			fclose(f);
			return rc;
		}
		if (f != NULL)
			fclose(f);
		usleep(100 * 1000);
	}
	cr_assert_fail("the background `schema up` did not end");
	return rc;
}

Test(schema_lab, two_runners_one_waits)
{
	setup();
	put("000001_slow.up.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(4);\n");
	SCHEMA("hash");
	/* the second gives up after 1 s: exit 7, the first goes on */
	background_up("60");
	sleep(1);
	SCHEMA("up", "--no-backup", "--lock-timeout", "1");
	ifx_expect(&x, EXIT_LOCKED, "second runner with a short timeout");
	cr_assert(strstr(sb_str(&x.err), "another `pgfold schema` still runs on database \"app\"")
			  != NULL, "%s", sb_str(&x.err));
	cr_assert_eq(background_wait(), 0, "the first runner failed");
	expect_value("SELECT count(*) FROM pgfold_schema_migrations WHERE success", "1");

	/* the second waits long enough: it proceeds after the first, finds nothing to do */
	put("000002_slow2.up.sql", "CREATE TABLE slow2 (id int);\nSELECT pg_sleep(3);\n");
	SCHEMA("hash");
	background_up("60");
	sleep(1);
	SCHEMA("up", "--no-backup", "--lock-timeout", "30");
	ifx_expect(&x, EXIT_OK, "second runner that waits");
	cr_assert(strstr(sb_str(&x.out), "nothing to do") != NULL, "%s\n%s", sb_str(&x.out),
			  sb_str(&x.err));
	cr_assert_eq(background_wait(), 0);
	expect_value("SELECT count(*) FROM pgfold_schema_migrations WHERE success AND kind = 'up'",
				 "2");
}

Test(schema_lab, rehearsal_catches_a_failing_check)
{
	setup();
	put("000001_t.up.sql", "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1), (2);\n");
	put("000002_purge.up.sql", "DELETE FROM t WHERE id = 1;\n");
	put("000002_purge.down.sql", "INSERT INTO t VALUES (1);\n");
	put("000002_purge.check.sql", "SELECT count(*) = 2 FROM t;\n");
	SCHEMA("hash");
	SCHEMA("up", "1");
	ifx_expect(&x, EXIT_OK, "up 1");
	/* 000002 is high risk: rehearsed by default; its check fails there */
	SCHEMA("up");
	ifx_expect(&x, EXIT_VERIFY, "up with a failing check");
	cr_assert(strstr(sb_str(&x.err), "check 000002_purge.check.sql:1 is false") != NULL, "%s",
			  sb_str(&x.err));
	cr_assert(strstr(sb_str(&x.err), "was not touched") != NULL, "%s", sb_str(&x.err));
	expect_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM t", "1,2");
	expect_value("SELECT max(version) FROM pgfold_schema_migrations WHERE success", "000001");
	{
		char *n = ifx_value(&x, NULL, "SELECT count(*) FROM pg_database WHERE datname LIKE "
							"'pgfold\\_rehearse\\_%'");

		cr_assert_str_eq(n, "0", "the scratch database was left behind");
		free(n);
	}
	/* with the check fixed, the rehearsal passes and the real database follows */
	put("000002_purge.check.sql", "SELECT count(*) = 1 FROM t;\n");
	SCHEMA("hash");
	SCHEMA("up", "--dry-run");
	ifx_expect(&x, EXIT_OK, "dry run");
	cr_assert(strstr(sb_str(&x.out), "risk high") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "rehearsal") != NULL, "%s", sb_str(&x.out));
	SCHEMA("up");
	ifx_expect(&x, EXIT_OK, "up after the check was fixed");
	expect_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM t", "2");
}

Test(schema_lab, no_transaction_failure_needs_force)
{
	setup();
	put("000001_t.up.sql", "CREATE TABLE t (id int, v int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n");
	put("000002_idx.up.sql", "-- pgfold:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n"
		"CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v);\n");
	SCHEMA("hash");
	SCHEMA("validate");
	ifx_expect(&x, EXIT_OK, "validate: the directive makes CONCURRENTLY fine");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_FAIL, "up: the unique index fails");
	cr_assert(strstr(sb_str(&x.err), "000002_idx.up.sql (no transaction) failed at line 3")
			  != NULL, "%s", sb_str(&x.err));
	/* the first statement stays; a new run is blocked until force */
	expect_value("SELECT count(*) FROM pg_indexes WHERE indexname = 't_id'", "1");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_BLOCKED, "up after a half-done file");
	cr_assert(strstr(sb_str(&x.err), "stopped half-way") != NULL, "%s", sb_str(&x.err));
	SCHEMA("force", "000002");
	ifx_expect(&x, EXIT_USAGE, "force without --yes");
	SCHEMA("force", "000002", "--yes", "--reason", "unique index dropped from the plan");
	ifx_expect(&x, EXIT_OK, "force 000002");
	expect_value("SELECT kind || ':' || applied || ':' || note FROM pgfold_schema_migrations "
				 "ORDER BY id DESC LIMIT 1",
				 "force:true:forced to 000002: unique index dropped from the plan (after a failure)");
	SCHEMA("status", "--exit-code");
	ifx_expect(&x, EXIT_OK, "status after force");
	cr_assert(strstr(sb_str(&x.out), "at version 000002; 0 pending") != NULL, "%s",
			  sb_str(&x.out));
}

Test(schema_lab, other_runners_baseline_lint_create_seed)
{
	json_t *doc, *other;
	char up[PATH_MAX];

	setup();
	/* a database golang-migrate managed */
	ifx_exec(&x, "app", "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean "
			 "NOT NULL); INSERT INTO schema_migrations VALUES (2, false); "
			 "CREATE TABLE items (id serial PRIMARY KEY, v text); "
			 "INSERT INTO items (v) SELECT 'x' FROM generate_series(1, 3)");
	put("000001_items.up.sql", "CREATE TABLE items (id serial PRIMARY KEY, v text);\n");
	put("000002_more.up.sql", "ALTER TABLE items ADD COLUMN w text;\n");
	SCHEMA("hash");
	SCHEMA("status", "--json");
	ifx_expect(&x, EXIT_OK, "status");
	doc = ifx_json(&x);
	other = json_array_get(json_object_get(doc, "other_runners"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(other, "tool")), "golang-migrate");
	cr_assert_str_eq(json_string_value(json_object_get(other, "latest")), "version 2");
	cr_assert(json_is_false(json_object_get(other, "failed_or_dirty")));
	json_decref(doc);
	ifx_exec(&x, "app", "UPDATE schema_migrations SET dirty = true");
	SCHEMA("status");
	ifx_expect(&x, EXIT_OK, "status shows, never changes, another runner's dirty state");
	cr_assert(strstr(sb_str(&x.out), "other runner: golang-migrate") != NULL, "%s",
			  sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "migrate force") != NULL, "%s", sb_str(&x.out));
	ifx_exec(&x, "app", "UPDATE schema_migrations SET dirty = false");
	SCHEMA("baseline", "000001", "--yes", "--reason", "built by golang-migrate");
	ifx_expect(&x, EXIT_OK, "baseline");
	expect_value("SELECT count(*) FROM schema_migrations", "1");

	/* lint: a pending high-risk file, statement by statement */
	ifx_run(&x, "schema", "create", "--db", "app", "--dir", dir, "drop_v", NULL);
	ifx_expect(&x, EXIT_OK, "create");
	cr_assert(strstr(sb_str(&x.out), "/000003_drop_v.up.sql\n") != NULL, "%s", sb_str(&x.out));
	cr_assert(str_format(up, sizeof(up), "%s/000003_drop_v.up.sql", dir));
	put("000003_drop_v.up.sql", "ALTER TABLE items DROP COLUMN v;\n");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_VERIFY, "up with the edited new file before hash");
	SCHEMA("hash");
	SCHEMA("lint");
	ifx_expect(&x, EXIT_OK, "lint");
	cr_assert(strstr(sb_str(&x.out), "000002_more.up.sql") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "000003_drop_v.up.sql                             high")
			  != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "DROP COLUMN") != NULL, "%s", sb_str(&x.out));
	SCHEMA("validate");
	ifx_expect(&x, EXIT_VERIFY, "validate: a high-risk file without a real down");
	SCHEMA("up");
	ifx_expect(&x, EXIT_OK, "up (rehearsed: high risk)");
	expect_value("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
				 "information_schema.columns WHERE table_name = 'items'", "id,w");
	/* the down file `create` wrote has no statement yet: refused before anything runs */
	SCHEMA("down", "--yes", "--no-backup");
	ifx_expect(&x, EXIT_USAGE, "down with an empty down file");
	cr_assert(strstr(sb_str(&x.err), "000003_drop_v.down.sql has no statement") != NULL, "%s",
			  sb_str(&x.err));
	expect_value("SELECT max(version) FROM pgfold_schema_migrations WHERE success AND applied",
				 "000003");

	/* seeds: in one transaction, --clean empties the tables but the state ones */
	cr_assert(str_format(up, sizeof(up), "%s/seeds", dir));
	cr_assert_eq(mkdir(up, 0755), 0);
	put("seeds/01_items.sql", "INSERT INTO items (w) VALUES ('seed1'), ('seed2');\n");
	SCHEMA("seed", "--clean");
	ifx_expect(&x, EXIT_USAGE, "seed --clean without --yes");
	SCHEMA("seed", "--clean", "--yes");
	ifx_expect(&x, EXIT_OK, "seed --clean");
	expect_value("SELECT string_agg(id || '=' || w, ',' ORDER BY id) FROM items", "1=seed1,2=seed2");
	expect_value("SELECT count(*) > 0 FROM pgfold_schema_migrations", "t");
	expect_value("SELECT count(*) FROM schema_migrations", "1");
	put("seeds/02_bad.sql", "INSERT INTO items (w) VALUES ('seed3');\nINSERT INTO nope VALUES (1);\n");
	SCHEMA("seed");
	ifx_expect(&x, EXIT_FAIL, "a failing seed");
	expect_value("SELECT count(*) FROM items", "2");
	ifx_exec(&x, "postgres", "ALTER DATABASE app SET pgfold.environment = 'production'");
	put("seeds/02_bad.sql", "SELECT 1;\n");
	SCHEMA("seed");
	ifx_expect(&x, EXIT_BLOCKED, "seed on production");
	cr_assert(strstr(sb_str(&x.err), "marked production") != NULL, "%s", sb_str(&x.err));
}

/* A migrated service: its file names the database; DIR from `# migrations:`
 * (relative to the services directory) or services/<service>.migrations. */
static void
write_service(const char *name, const char *extra)
{
	char path[PATH_MAX];
	FILE *f;

	cr_assert(str_format(path, sizeof(path), "%s/services/%s.yml", x.root, name));
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "# database: postgres\n# database_name: app\n%sservices:\n  %s:\n"
			"    image: busybox\n    network_mode: none\n", extra, name);
	fclose(f);
}

Test(schema_lab, service_target_default_dir_and_journal)
{
	char journal[PATH_MAX];

	setup();
	write_service("shop", "");
	ifx_path(&x, "services/shop.migrations", dir, sizeof(dir));
	cr_assert_eq(mkdir(dir, 0755), 0);
	put("000001_t.up.sql", "CREATE TABLE t (id int);\n");
	ifx_run(&x, "schema", "hash", "shop", NULL);
	ifx_expect(&x, EXIT_OK, "hash shop");
	ifx_run(&x, "schema", "up", "shop", "--no-backup", NULL);
	ifx_expect(&x, EXIT_OK, "up shop");
	cr_assert(strstr(sb_str(&x.out), "database app now at version 000001") != NULL, "%s",
			  sb_str(&x.out));
	/* the run is journaled under the service, op schema, on the step runner */
	ifx_path(&x, "backups/postgres-migrations/shop.journal", journal, sizeof(journal));
	cr_assert_eq(lab_sh("grep -q '\"op\":\"schema\".*\"step\":\"schema-apply\",\"status\":\"done\"' "
						"%s && grep -q '\"step\":\"complete\"' %s", journal, journal), 0,
				 "no schema run in the journal");

	/* `# migrations: PATH` moves the directory */
	write_service("shop", "# migrations: db/shop\n");
	ifx_run(&x, "schema", "status", "shop", NULL);
	ifx_expect(&x, EXIT_USAGE, "status with a missing directory");
	cr_assert(strstr(sb_str(&x.err), "services/db/shop") != NULL, "%s", sb_str(&x.err));
	ifx_run(&x, "schema", "status", "nope", NULL);
	ifx_expect(&x, EXIT_USAGE, "unknown service");
	ifx_run(&x, "schema", "status", NULL);
	ifx_expect(&x, EXIT_USAGE, "no target");
	cr_assert(strstr(sb_str(&x.err), "schema status needs SERVICE or --db NAME") != NULL, "%s",
			  sb_str(&x.err));
}

Test(schema_lab, passwords_stay_out_of_the_log_and_the_table)
{
	setup();
	put("000001_role.up.sql", "CREATE ROLE schema_t_reader LOGIN PASSWORD 'sekret-pw-1';\n"
		"ALTER ROLE schema_t_reader PASSWORD 'sekret-pw-2' VALID UNTIL 'x-not-a-date';\n");
	SCHEMA("hash");
	SCHEMA("up", "--no-backup");
	ifx_expect(&x, EXIT_FAIL, "up with a bad VALID UNTIL");
	cr_assert(strstr(sb_str(&x.err), "PASSWORD '***'") != NULL, "%s", sb_str(&x.err));
	cr_assert(strstr(sb_str(&x.err), "sekret") == NULL, "%s", sb_str(&x.err));
	cr_assert_eq(lab_sh("grep -q \"PASSWORD '\\*\\*\\*'\" %s/backups/schema/app_*.log && "
						"! grep -q sekret %s/backups/schema/app_*.log", x.root, x.root), 0,
				 "the run log holds a password");
	expect_value("SELECT count(*) FROM pgfold_schema_migrations WHERE failing_statement LIKE "
				 "'%PASSWORD ''***''%' AND failing_statement NOT LIKE '%sekret%'", "1");
	ifx_exec(&x, NULL, "DROP ROLE IF EXISTS schema_t_reader");
}

Test(schema_lab, ctrl_c_stops_between_files)
{
	const char *bin = getenv("PGFOLD_TEST_BIN");
	char path[PATH_MAX];
	FILE *f;
	int pid = 0;

	setup();
	put("000001_slow.up.sql", "CREATE TABLE a (id int);\nSELECT pg_sleep(3);\n");
	put("000002_next.up.sql", "CREATE TABLE b (id int);\n");
	SCHEMA("hash");
	cr_assert_eq(lab_sh("cd %s && rm -f bg.rc && { %s --root %s --no-color schema up --db app "
						"--dir %s --no-backup >bg.out 2>bg.err </dev/null & echo $! >bg.pid; "
						"wait $!; echo $? >bg.rc; } >/dev/null 2>&1 &", x.dir,
						bin && *bin ? bin : "build/pgfold", x.root, dir), 0);
	sleep(1);
	cr_assert(str_format(path, sizeof(path), "%s/bg.pid", x.dir));
	f = fopen(path, "r");
	cr_assert(f != NULL && fscanf(f, "%d", &pid) == 1 && pid > 0);
	fclose(f);
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(background_wait(), EXIT_INTERRUPTED);
	/* the file running when Ctrl-C came finished and committed; the next never began */
	expect_value("SELECT coalesce(to_regclass('public.a')::text, 'none') || ',' || "
				 "coalesce(to_regclass('public.b')::text, 'none')", "a,none");
	expect_value("SELECT string_agg(version, ',') FROM pgfold_schema_migrations WHERE success",
				 "000001");
}
