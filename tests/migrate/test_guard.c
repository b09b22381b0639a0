/*
 * test_guard.c — what a fold must not carry silently (issue 9, guard.h):
 *
 *  - a migration runner's state table that shows a half-done migration
 *    (golang-migrate dirty, Liquibase locked, Flyway failed, Prisma
 *    unfinished, Knex locked) blocks plan and migrate with exit 3, the
 *    table (schema-qualified, quoted), the row and what to do, before
 *    anything is stopped or written; clean tables (the seed's 25 finished
 *    _prisma_migrations rows among them) do not block, and their last
 *    applied versions are shown before and after the fold;
 *    --ignore-migration-state goes on and the summary warns;
 *  - roles other than the app's own that own objects or hold grants: plan
 *    lists them, migrate refuses, --drop-grants goes on and says so,
 *    --with-roles carries them (ownership, grants, default privileges) as
 *    NOLOGIN roles "<db>_<role>", and rollback still works.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_guard, .fini = teardown, .timeout = 900);

/* Every runner's table, clean: none blocks. The golang-migrate one lives in
 * a schema with a quote, a space and a non-ASCII letter; Liquibase's was
 * created with upper-case quoted names. */
static const char runners_clean_sql[] =
	"CREATE SCHEMA \"Go \"\"Mig\"\" é\";\n"
	"CREATE TABLE \"Go \"\"Mig\"\" é\".schema_migrations (version bigint PRIMARY KEY, "
	"dirty boolean NOT NULL);\n"
	"INSERT INTO \"Go \"\"Mig\"\" é\".schema_migrations VALUES (20240105120000, false);\n"
	"CREATE TABLE public.schema_migrations (version varchar PRIMARY KEY);\n"
	"INSERT INTO public.schema_migrations VALUES ('20230101');\n"
	"CREATE TABLE \"DATABASECHANGELOGLOCK\" (\"ID\" int PRIMARY KEY, \"LOCKED\" boolean NOT NULL, "
	"\"LOCKGRANTED\" timestamp, \"LOCKEDBY\" varchar(255));\n"
	"INSERT INTO \"DATABASECHANGELOGLOCK\" VALUES (1, false, NULL, NULL);\n"
	"CREATE TABLE databasechangelog (id varchar(255), author varchar(255), filename varchar(255), "
	"dateexecuted timestamp, orderexecuted int);\n"
	"INSERT INTO databasechangelog VALUES ('1', 'me', 'db/changelog.xml', now(), 1), "
	"('2-users', 'me', 'db/changelog.xml', now(), 2);\n"
	"CREATE SCHEMA flyway;\n"
	"CREATE TABLE flyway.flyway_schema_history (installed_rank int PRIMARY KEY, version "
	"varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL, script "
	"varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL, installed_on "
	"timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);\n"
	"INSERT INTO flyway.flyway_schema_history VALUES (1, '1', 'init', 'SQL', 'V1__init.sql', 1, "
	"'u', now(), 1, true), (2, '2', 'add users', 'SQL', 'V2__users.sql', 1, 'u', now(), 1, true);\n"
	"CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch int, "
	"migration_time timestamptz);\n"
	"INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('20240101_a.js', 1, now()), "
	"('20240102_b.js', 2, now());\n"
	"CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked int);\n"
	"INSERT INTO knex_migrations_lock (is_locked) VALUES (0);\n";

typedef struct DirtyCase
{
	const char *name;
	const char *dirty;     /* SQL that leaves the half-done state */
	const char *clean;     /* SQL that undoes it */
	const char *reason;    /* plan's and migrate's reason, exactly */
} DirtyCase;

#define AGAIN "; then re-run, or fold it as it is with --ignore-migration-state"

static const DirtyCase dirty_cases[] = {
	{ "golang-migrate",
	  "UPDATE \"Go \"\"Mig\"\" é\".schema_migrations SET dirty = true",
	  "UPDATE \"Go \"\"Mig\"\" é\".schema_migrations SET dirty = false",
	  "golang-migrate state table \"Go \"\"Mig\"\" é\".schema_migrations: \"version "
	  "20240105120000\" has dirty = true: a golang-migrate migration stopped half-way at that "
	  "version: finish or undo it by hand, then clear the flag with `migrate force <version>`"
	  AGAIN },
	{ "Liquibase",
	  "UPDATE \"DATABASECHANGELOGLOCK\" SET \"LOCKED\" = true, \"LOCKGRANTED\" = "
	  "'2024-03-04 05:06:07', \"LOCKEDBY\" = 'web-1 (172.18.0.5)'",
	  "UPDATE \"DATABASECHANGELOGLOCK\" SET \"LOCKED\" = false, \"LOCKGRANTED\" = NULL, "
	  "\"LOCKEDBY\" = NULL",
	  "Liquibase state table public.\"DATABASECHANGELOGLOCK\": \"lock 1, held by web-1 "
	  "(172.18.0.5) since 2024-03-04T05:06:07\" has locked = true: a Liquibase update holds the "
	  "lock or died holding it: let it finish, or run `liquibase release-locks` when none runs"
	  AGAIN },
	{ "Flyway",
	  "INSERT INTO flyway.flyway_schema_history VALUES (3, '3', 'add orders', 'SQL', "
	  "'V3__orders.sql', 1, 'u', now(), 1, false)",
	  "DELETE FROM flyway.flyway_schema_history WHERE installed_rank = 3",
	  "Flyway state table flyway.flyway_schema_history: \"rank 3, version 3 (add orders)\" has "
	  "success = false: that Flyway migration failed: fix it, run `flyway repair`, and let the "
	  "app migrate" AGAIN },
	{ "Prisma",
	  "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, "
	  "applied_steps_count) VALUES ('00000000-0000-0000-0000-000000000026', 'c', NULL, "
	  "'20240026_add_orders', 0)",
	  "DELETE FROM _prisma_migrations WHERE migration_name = '20240026_add_orders'",
	  "Prisma state table public._prisma_migrations: \"20240026_add_orders\" has finished_at IS "
	  "NULL AND rolled_back_at IS NULL: that Prisma migration is running or failed half-way: let "
	  "it finish, or fix it and run `prisma migrate resolve --rolled-back <name>` (or --applied)"
	  AGAIN },
	{ "Knex",
	  "UPDATE knex_migrations_lock SET is_locked = 1",
	  "UPDATE knex_migrations_lock SET is_locked = 0",
	  "Knex state table public.knex_migrations_lock: \"is_locked = 1\" has is_locked = 1: a Knex "
	  "migration holds the lock or died holding it: let it finish, or run `knex migrate:unlock` "
	  "when none runs" AGAIN },
};

/* What plan and migrate say of the clean tables (the seed's Prisma table
 * has no rolled_back_at column: its 25 finished rows count as applied). */
static const char *const clean_versions[] = {
	"Flyway flyway.flyway_schema_history: last applied \"rank 2, version 2 (add users)\" "
	"(2 applied)",
	"golang-migrate \"Go \"\"Mig\"\" é\".schema_migrations: last applied \"version "
	"20240105120000\" (1 applied)",
	"Knex public.knex_migrations: last applied \"20240102_b.js\" (2 applied)",
	"Knex public.knex_migrations_lock: not locked",
	"Liquibase public.\"DATABASECHANGELOGLOCK\": not locked",
	"Liquibase public.databasechangelog: last applied \"changeset 2-users in db/changelog.xml\" "
	"(2 applied)",
	"Prisma public._prisma_migrations: last applied \"20240025_step\" (25 applied)",
};

static void
source_sql(const char *sql)
{
	free(mig_sql_value(mig_name(&stack, mig_docmost.db_container), mig_docmost.db_user,
					   mig_docmost.src_db, sql));
}

/* The fingerprint of the docmost source database (caller frees). */
static char *
source_fingerprint(void)
{
	return mig_fingerprint(mig_name(&stack, mig_docmost.db_container), mig_docmost.db_user,
						   mig_docmost.src_db);
}

static void
expect_in(const StrBuf *b, const char *needle, const char *what)
{
	cr_assert_not_null(strstr(sb_str(b), needle), "%s does not say\n  %s\nit said:\n%s", what,
					   needle, sb_str(b));
}

static void
seed_runners(char **fp, const char *image)
{
	*fp = mig_seed_service(&stack, &mig_docmost, image);
	source_sql(runners_clean_sql);
}

Test(migrate_guard, each_dirty_runner_blocks_plan_and_migrate)
{
	const char *svc;
	char want[2048], *fp;
	MigSnapshot snap;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	seed_runners(&fp, NULL);
	svc = mig_svc(&stack, &mig_docmost);

	const char *running[] = { mig_name(&stack, mig_docmost.apps[0]),
							  mig_name(&stack, mig_docmost.db_container), NULL };
	char app_c[160], db_c[160];

	str_copy(app_c, sizeof(app_c), running[0]);
	str_copy(db_c, sizeof(db_c), running[1]);
	running[0] = app_c;
	running[1] = db_c;

	/* clean: ready, every version shown */
	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 0, "plan with clean runner tables");
	for (size_t i = 0; i < sizeof(clean_versions) / sizeof(clean_versions[0]); i++)
	{
		str_format(want, sizeof(want), "  ok migration state    %s\n", clean_versions[i]);
		expect_in(&r.out, want, "plan");
	}
	mig_run_free(&r);

	mig_snapshot(&stack, svc, &snap);
	for (size_t i = 0; i < sizeof(dirty_cases) / sizeof(dirty_cases[0]); i++)
	{
		const DirtyCase *k = &dirty_cases[i];

		source_sql(k->dirty);
		mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
		mig_expect_exit(&r, 3, k->name);

		char *reason = mig_not_ready_reason(&r);

		cr_assert_str_eq(reason, k->reason, "%s: plan's reason", k->name);
		mig_run_free(&r);

		mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
		mig_expect_exit(&r, 3, k->name);
		str_format(want, sizeof(want), "pgfold: error: %s cannot be migrated: %s\n", svc, reason);
		expect_in(&r.err, want, "migrate");
		mig_run_free(&r);
		free(reason);
		/* nothing stopped, written or created */
		mig_assert_unchanged(&stack, svc, &snap, running);
		cr_assert_eq(mig_journal_count(&stack, svc, NULL, NULL), 0, "%s: journal written", k->name);
		source_sql(k->clean);
	}
	mig_snapshot_free(&snap);
	free(fp);
}

Test(migrate_guard, ignore_migration_state_goes_on_and_warns)
{
	const char *svc;
	char want[2048], *fp;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	seed_runners(&fp, NULL);
	free(fp);
	svc = mig_svc(&stack, &mig_docmost);
	source_sql(dirty_cases[2].dirty);     /* Flyway: a failed migration */
	fp = source_fingerprint();

	mig_pgfold(&stack, &r, NULL, "plan", svc, "--ignore-migration-state", NULL);
	mig_expect_exit(&r, 0, "plan --ignore-migration-state");
	str_format(want, sizeof(want), "  !! migration state    %.*s (--ignore-migration-state: "
			   "folded as it is)\n", (int) (strlen(dirty_cases[2].reason) - strlen(AGAIN)),
			   dirty_cases[2].reason);
	expect_in(&r.out, want, "plan");
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", "--ignore-migration-state", NULL);
	mig_expect_exit(&r, 0, "migrate --ignore-migration-state");
	str_format(want, sizeof(want), "  warning   folded with a half-done migration "
			   "(--ignore-migration-state): %.*s\n",
			   (int) (strlen(dirty_cases[2].reason) - strlen(AGAIN)), dirty_cases[2].reason);
	expect_in(&r.out, want, "the summary");
	/* the versions before (pre-flight) and after (the restored copy) */
	for (size_t i = 0; i < sizeof(clean_versions) / sizeof(clean_versions[0]); i++)
	{
		str_format(want, sizeof(want), "migration state before the fold: %s\n", clean_versions[i]);
		expect_in(&r.err, want, "migrate");
		str_format(want, sizeof(want), "migration state on the shared copy: %s\n",
				   clean_versions[i]);
		expect_in(&r.err, want, "migrate");
	}
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *failed = mig_shared_value(&stack, "docmost", "SELECT count(*) FROM "
									"flyway.flyway_schema_history WHERE NOT success");

	cr_assert_str_eq(failed, "1", "the failed Flyway row was not carried as it was");
	free(failed);
	free(fp);
}

/* A reporting role with SELECT grants and a second role that owns a schema
 * and its table; names with a quote, a space and a non-ASCII letter. */
static const char roles_sql[] =
	"CREATE ROLE \"report \"\"ro\"\" é\" LOGIN PASSWORD 'x';\n"
	"CREATE ROLE migrator NOLOGIN;\n"
	"CREATE SCHEMA rep AUTHORIZATION migrator;\n"
	"CREATE TABLE rep.totals (id int PRIMARY KEY, total numeric);\n"
	"INSERT INTO rep.totals VALUES (1, 42);\n"
	"ALTER TABLE rep.totals OWNER TO migrator;\n"
	"GRANT CONNECT ON DATABASE docmost TO \"report \"\"ro\"\" é\";\n"
	"GRANT USAGE ON SCHEMA rep, app TO \"report \"\"ro\"\" é\";\n"
	"GRANT SELECT ON items, app.notes, rep.totals TO \"report \"\"ro\"\" é\";\n";

/* A docmost stack on MIG_PG15 whose source has the other roles of
 * roles_sql, then extra (when not NULL); returns the source's fingerprint
 * after that (caller frees). */
static char *
seed_roles(const char *extra)
{
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	source_sql(roles_sql);
	if (extra != NULL)
		source_sql(extra);
	return source_fingerprint();
}

Test(migrate_guard, other_roles_listed_refused_then_dropped)
{
	const char *svc;
	char want[2048], *fp;
	MigSnapshot snap;
	MigRun r;

	fp = seed_roles(NULL);
	svc = mig_svc(&stack, &mig_docmost);

	static const char *const lines[] = {
		"role \"migrator\" owns schema rep, table rep.totals: the restore keeps neither other "
		"owners nor grants, so this would be lost: go on without them with --drop-grants "
		"(what it owns goes to \"docmost\"), or carry them with --with-roles (as NOLOGIN role "
		"\"docmost_migrator\")",
		"role \"report \\\"ro\\\" é\" may CONNECT on database docmost, SELECT on table "
		"app.notes, SELECT on table items, SELECT on table rep.totals and 2 more: the restore "
		"keeps neither other owners nor grants, so this would be lost: go on without them with "
		"--drop-grants (what it owns goes to \"docmost\"), or carry them with --with-roles (as "
		"NOLOGIN role \"docmost_report \\\"ro\\\" é\")",
	};

	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 3, "plan with other roles");
	for (size_t i = 0; i < 2; i++)
	{
		str_format(want, sizeof(want), "  XX other roles        %s\n", lines[i]);
		expect_in(&r.out, want, "plan");
	}
	mig_run_free(&r);

	const char *running[] = { mig_name(&stack, mig_docmost.apps[0]), NULL };
	char app_c[160];

	str_copy(app_c, sizeof(app_c), running[0]);
	running[0] = app_c;
	mig_snapshot(&stack, svc, &snap);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate with other roles");
	for (size_t i = 0; i < 2; i++)
	{
		str_format(want, sizeof(want), "  XX other roles        %s\n", lines[i]);
		expect_in(&r.err, want, "migrate");
	}
	str_format(want, sizeof(want), "pgfold: error: %s cannot be migrated: %s\n", svc, lines[0]);
	expect_in(&r.err, want, "migrate");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, running);
	mig_snapshot_free(&snap);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", "--drop-grants", NULL);
	mig_expect_exit(&r, 0, "migrate --drop-grants");
	expect_in(&r.out, "  warning   not carried (--drop-grants): role \"migrator\" owns schema rep, "
			  "table rep.totals\n", "the summary");
	expect_in(&r.out, "  warning   not carried (--drop-grants): role \"report \\\"ro\\\" é\" may "
			  "CONNECT on database docmost, SELECT on table app.notes, SELECT on table items, "
			  "SELECT on table rep.totals and 2 more\n", "the summary");
	mig_run_free(&r);
	/* the data and every object, owned by the service role (ownership.sql) */
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *roles = mig_shared_roles(&stack);

	cr_assert_str_eq(roles, "docmost", "roles on the shared instance");
	free(roles);
	free(fp);
}

/* The same roles, plus default privileges of the second owner. */
static const char roles_defaults_sql[] =
	"ALTER DEFAULT PRIVILEGES FOR ROLE migrator IN SCHEMA rep GRANT SELECT ON TABLES TO "
	"\"report \"\"ro\"\" é\";\n";

static void
shared_is(const char *sql, const char *want)
{
	char *v = mig_shared_value(&stack, "docmost", sql);

	cr_assert_str_eq(v, want, "%s", sql);
	free(v);
}

Test(migrate_guard, with_roles_carries_them_and_rollback_works)
{
	const char *svc;
	char want[2048], pwfile[PATH_MAX], *fp;
	StrBuf out = STRBUF_INIT;
	MigRun r;

	fp = seed_roles(roles_defaults_sql);
	svc = mig_svc(&stack, &mig_docmost);

	mig_pgfold(&stack, &r, NULL, "plan", svc, "--with-roles", NULL);
	mig_expect_exit(&r, 0, "plan --with-roles");
	expect_in(&r.out, "  ok other roles        role \"migrator\" owns default privileges on new "
			  "relations belonging to role migrator in schema rep, schema rep, table rep.totals: "
			  "carried as NOLOGIN role \"docmost_migrator\" (--with-roles) with its ownership, "
			  "grants and default privileges; \"docmost\" becomes a member of it\n", "plan");
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", "--with-roles", NULL);
	mig_expect_exit(&r, 0, "migrate --with-roles");
	expect_in(&r.out, "  carried   role \"migrator\" owns default privileges on new relations "
			  "belonging to role migrator in schema rep, schema rep, table rep.totals as NOLOGIN "
			  "role \"docmost_migrator\"\n", "the summary");
	/* the carry is proven on the copy before the cut-over */
	expect_in(&r.err, " owner(s), grant(s) and default privilege(s) of the carried roles are in "
			  "\"docmost__pgfold_incoming\" as in the source\n", "the carry's verification");
	mig_run_free(&r);

	char *got = mig_fingerprint(stack.shared, "admin", "docmost");

	cr_assert_str_eq(got, fp, "data on the shared instance");
	free(got);
	/* ownership, grants and default privileges, on the carried roles */
	shared_is("SELECT string_agg(rolname || ':' || rolcanlogin, ',' ORDER BY rolname) FROM "
			  "pg_roles WHERE rolname LIKE 'docmost%'",
			  "docmost:true,docmost_migrator:false,docmost_report \"ro\" é:false");
	shared_is("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'rep.totals'::regclass",
			  "docmost_migrator");
	shared_is("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'rep'",
			  "docmost_migrator");
	shared_is("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'items'::regclass",
			  "docmost");
	shared_is("SELECT has_table_privilege('docmost_report \"ro\" é', 'items', 'SELECT') "
			  "AND has_table_privilege('docmost_report \"ro\" é', 'app.notes', 'SELECT') "
			  "AND has_table_privilege('docmost_report \"ro\" é', 'rep.totals', 'SELECT') "
			  "AND has_schema_privilege('docmost_report \"ro\" é', 'rep', 'USAGE') "
			  "AND has_schema_privilege('docmost_report \"ro\" é', 'app', 'USAGE') "
			  "AND has_database_privilege('docmost_report \"ro\" é', 'docmost', 'CONNECT')", "t");
	shared_is("SELECT has_table_privilege('docmost_report \"ro\" é', 'items', 'INSERT') OR "
			  "has_table_privilege('docmost_report \"ro\" é', 'rep.totals', 'UPDATE')", "f");
	shared_is("SELECT string_agg(pg_get_userbyid(d.defaclrole) || ' ' || n.nspname || ' ' || "
			  "pg_get_userbyid(x.grantee) || ' ' || x.privilege_type, ',') FROM pg_default_acl d "
			  "JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) x",
			  "docmost_migrator rep docmost_report \"ro\" é SELECT");
	/* the app still reaches the second owner's table, as it did as superuser */
	mig_path(&stack, pwfile, sizeof(pwfile), "etc/.db_passwords/docmost.txt");
	cr_assert(mig_sql_as(&out, &stack, "docmost", pwfile, "docmost",
						 "SELECT total FROM rep.totals"), "%s", sb_str(&out));
	cr_assert_str_eq(sb_str(&out), "42");
	sb_free(&out);

	/* and the fold rolls back with them in place */
	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback");
	mig_run_free(&r);
	got = source_fingerprint();
	cr_assert_str_eq(got, fp, "data back in the dedicated container");
	free(got);
	str_format(want, sizeof(want), "%s", "running");
	got = mig_inspect(mig_name(&stack, mig_docmost.apps[0]), "{{.State.Status}}");
	cr_assert_str_eq(got, want, "the app after the rollback");
	free(got);
	free(fp);
}

/* A crash right after the carry (kill -9 as PGFOLD_FAULT_AFTER does it): the
 * re-run finds the carried roles as its own (their comment), reuses them
 * and finishes; a role of that name pgfold did not create blocks. */
Test(migrate_guard, with_roles_resumes_after_a_crash_and_refuses_a_foreign_role)
{
	const char *svc;
	const char *const fault[] = { "PGFOLD_FAULT_AFTER=carry-roles", NULL };
	char *fp, *v;
	MigRun r;

	fp = seed_roles(NULL);
	svc = mig_svc(&stack, &mig_docmost);

	/* someone else's role under the carried name: refused before anything */
	free(mig_shared_value(&stack, "postgres", "CREATE ROLE docmost_migrator NOLOGIN"));
	mig_pgfold(&stack, &r, NULL, "plan", svc, "--with-roles", NULL);
	mig_expect_exit(&r, 3, "plan --with-roles with a foreign role");
	expect_in(&r.out, "  XX other roles        role \"migrator\" owns schema rep, table rep.totals: "
			  "role \"docmost_migrator\" already exists on the shared instance and pgfold did not "
			  "create it: drop or rename it, or go on with --drop-grants\n", "plan");
	mig_run_free(&r);
	free(mig_shared_value(&stack, "postgres", "DROP ROLE docmost_migrator"));

	mig_pgfold(&stack, &r, fault, "migrate", svc, "--yes", "--with-roles", NULL);
	mig_expect_exit(&r, 99, "migrate --with-roles, crashed after carry-roles");
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", "--with-roles", NULL);
	mig_expect_exit(&r, 0, "migrate --with-roles, resumed");
	mig_run_free(&r);

	v = mig_fingerprint(stack.shared, "admin", "docmost");
	cr_assert_str_eq(v, fp, "data on the shared instance");
	free(v);
	shared_is("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'rep.totals'::regclass",
			  "docmost_migrator");
	shared_is("SELECT has_table_privilege('docmost_report \"ro\" é', 'rep.totals', 'SELECT')", "t");
	shared_is("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'docmost%'", "3");
	free(fp);
}

/* Across majors: a PostgreSQL 13 source folded into a 17 shared instance
 * (pg_identify_object_as_address on one, pg_get_object_address on the
 * other); a dirty runner blocks there too. */
Test(migrate_guard, source_13_into_shared_17)
{
	const char *svc;
	char *fp, *v;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, "pgfold-lab/postgres:17");
	seed_runners(&fp, "pgfold-lab/postgres:13");
	free(fp);
	svc = mig_svc(&stack, &mig_docmost);
	source_sql(roles_sql);
	source_sql(roles_defaults_sql);
	fp = source_fingerprint();

	source_sql(dirty_cases[3].dirty);      /* Prisma: unfinished */
	mig_pgfold(&stack, &r, NULL, "plan", svc, "--with-roles", NULL);
	mig_expect_exit(&r, 3, "plan, Prisma unfinished");
	v = mig_not_ready_reason(&r);
	cr_assert_str_eq(v, dirty_cases[3].reason);
	free(v);
	mig_run_free(&r);
	source_sql(dirty_cases[3].clean);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", "--with-roles", NULL);
	mig_expect_exit(&r, 0, "migrate 13 -> 17 --with-roles");
	expect_in(&r.err, "migration state on the shared copy: Prisma public._prisma_migrations: last "
			  "applied \"20240025_step\" (25 applied)\n", "migrate");
	mig_run_free(&r);
	v = mig_fingerprint(stack.shared, "admin", "docmost");
	cr_assert_str_eq(v, fp, "data on the shared instance");
	free(v);
	shared_is("SELECT current_setting('server_version_num')::int / 10000", "17");
	shared_is("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'rep.totals'::regclass",
			  "docmost_migrator");
	shared_is("SELECT has_table_privilege('docmost_report \"ro\" é', 'items', 'SELECT') "
			  "AND has_table_privilege('docmost_report \"ro\" é', 'rep.totals', 'SELECT') "
			  "AND NOT has_table_privilege('docmost_report \"ro\" é', 'items', 'INSERT')", "t");
	free(fp);
}

/* A policy naming another role: pg_restore recreates it by that name even
 * with --no-acl (on the shared instance: a failed restore, or another
 * service's role of that name), so neither option lets it through. */
Test(migrate_guard, policy_naming_another_role_blocks_whatever_the_option)
{
	const char *svc;
	char want[2048], *fp, *v;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	fp = mig_seed_service(&stack, &mig_docmost, NULL);
	svc = mig_svc(&stack, &mig_docmost);
	source_sql("CREATE ROLE reporting NOLOGIN;\n"
			   "CREATE POLICY only_recent ON items FOR SELECT TO reporting USING (id > 1000);\n");

	static const char line[] =
		"role \"reporting\" is named by policy only_recent on table items: pg_restore recreates "
		"a policy by role name, so on the shared instance it would fail or name another "
		"service's role of that name: point it at the app's own role or PUBLIC (ALTER POLICY "
		"... TO ...) or drop it in the dedicated database, then re-run";

	for (int with = 0; with < 2; with++)
	{
		mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes",
				   with ? "--with-roles" : "--drop-grants", NULL);
		mig_expect_exit(&r, 3, "migrate with a policy naming another role");
		str_format(want, sizeof(want), "pgfold: error: %s cannot be migrated: %s\n", svc, line);
		expect_in(&r.err, want, "migrate");
		mig_run_free(&r);
	}
	source_sql("ALTER POLICY only_recent ON items TO PUBLIC");
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate with the policy on PUBLIC");
	mig_run_free(&r);
	v = mig_shared_value(&stack, "docmost", "SELECT polname || ' ' || polroles::regrole[]::text "
						 "FROM pg_policy");
	cr_assert_str_eq(v, "only_recent {-}", "the policy on the shared instance");
	free(v);
	free(fp);
}
