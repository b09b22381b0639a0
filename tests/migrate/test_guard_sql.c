/*
 * test_guard_sql.c — the queries of guard.h on hostile names (lab): schema,
 * table, label and role names with quotes, spaces, a tab, a newline, XML's
 * special characters and non-ASCII letters; runner tables in several
 * schemas and with upper-case names. The runners' query is run both ways
 * it runs in pgfold (psql by docker exec on the source, libpq on the
 * restored copy) and must read the same.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "pg/pg_fixture.h"
#include "pgfold/docker.h"
#include "pgfold/guard.h"
#include "pgfold/pg.h"

static SharedPg shared;
static DockerClient *docker;

static void
cleanup(void)
{
	if (docker)
		docker_disconnect(docker);
	pgtest_shared_stop(&shared);
}

TestSuite(migrate_guard_sql, .fini = cleanup, .timeout = 300);

static const char hostile_sql[] =
	"CREATE SCHEMA \"Sch \"\"q\"\" ü\tx\";\n"
	"CREATE TABLE \"Sch \"\"q\"\" ü\tx\".\"Flyway_Schema_History\" (installed_rank int, "
	"version text, description text, success boolean);\n"
	"INSERT INTO \"Sch \"\"q\"\" ü\tx\".\"Flyway_Schema_History\" VALUES "
	"(1, '1', 'init <&> \"x\"', true), (2, '2', E'half\\nway ''quoted'' 😀', false), "
	"(3, '3', 'also failed', false);\n"
	"CREATE SCHEMA \"a b\";\n"
	"CREATE TABLE \"a b\".schema_migrations (version bigint, dirty boolean);\n"
	"INSERT INTO \"a b\".schema_migrations VALUES (7, false);\n"
	"CREATE TABLE public.schema_migrations (version bigint, dirty boolean);\n"
	"INSERT INTO public.schema_migrations VALUES (12, true);\n"
	/* Rails' table of the same name, in a third schema: not golang-migrate */
	"CREATE SCHEMA rails;\n"
	"CREATE TABLE rails.schema_migrations (version varchar);\n"
	"INSERT INTO rails.schema_migrations VALUES ('20200101');\n"
	/* the demo's Prisma table: no rolled_back_at column, every row finished */
	"CREATE TABLE \"_Prisma_Migrations\" (id text, finished_at timestamptz, migration_name text);\n"
	"INSERT INTO \"_Prisma_Migrations\" SELECT g::text, '2024-01-01 00:00:00+00'::timestamptz + "
	"g * interval '1 hour', 'm' || lpad(g::text, 3, '0') FROM generate_series(1, 25) g;\n"
	"CREATE ROLE \"r \"\"o\"\" ü\" NOLOGIN;\n"
	"CREATE ROLE \"weird;role\" NOLOGIN;\n"
	"GRANT USAGE ON SCHEMA \"Sch \"\"q\"\" ü\tx\" TO \"r \"\"o\"\" ü\";\n"
	"GRANT SELECT, UPDATE ON \"Sch \"\"q\"\" ü\tx\".\"Flyway_Schema_History\" TO \"r \"\"o\"\" ü\";\n"
	"ALTER TABLE \"a b\".schema_migrations OWNER TO \"weird;role\";\n"
	"ALTER TABLE \"a b\".schema_migrations ENABLE ROW LEVEL SECURITY;\n"
	"CREATE POLICY \"p ol\" ON \"a b\".schema_migrations TO \"r \"\"o\"\" ü\" USING (true);\n";

/* Several statements: the simple query protocol. */
static void
seed(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "seed: %s", PQerrorMessage(conn));
	PQclear(res);
}

static const RunnerTable *
find(const RunnerStates *s, const char *table)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->tables[i].table, table) == 0)
			return &s->tables[i];
	cr_assert_fail("no runner table %s", table);
	return NULL;
}

static void
check_states(const RunnerStates *s, const char *how)
{
	const RunnerTable *t;
	StrBuf line = STRBUF_INIT;

	cr_assert_eq(s->count, 4, "%s: %zu tables", how, s->count);

	t = find(s, "\"Sch \"\"q\"\" ü\tx\".\"Flyway_Schema_History\"");
	cr_assert_str_eq(t->runner, "Flyway");
	cr_assert_eq(t->bad_count, 2, "%s", how);
	cr_assert_eq(t->bad_total, 2);
	cr_assert_str_eq(t->bad[0], "rank 2, version 2 (half\nway 'quoted' 😀)");
	cr_assert_str_eq(t->bad[1], "rank 3, version 3 (also failed)");
	cr_assert_str_eq(t->last, "rank 1, version 1 (init <&> \"x\")");
	guard_runner_reason(t, &line);
	cr_assert_str_eq(sb_str(&line), "Flyway state table \"Sch \"\"q\"\" ü\\x09x\"."
					 "\"Flyway_Schema_History\": \"rank 2, version 2 (half\\x0away 'quoted' 😀)\", "
					 "\"rank 3, version 3 (also failed)\" have success = false: that Flyway "
					 "migration failed: fix it, run `flyway repair`, and let the app migrate");
	sb_reset(&line);

	t = find(s, "\"a b\".schema_migrations");
	cr_assert_str_eq(t->runner, "golang-migrate");
	cr_assert_eq(t->bad_count, 0);
	cr_assert_str_eq(t->last, "version 7");
	guard_runner_version(t, &line);
	cr_assert_str_eq(sb_str(&line), "golang-migrate \"a b\".schema_migrations: last applied "
					 "\"version 7\" (1 applied)");
	sb_reset(&line);

	t = find(s, "public.schema_migrations");
	cr_assert_eq(t->bad_count, 1);
	cr_assert_str_eq(t->bad[0], "version 12");
	cr_assert_null(t->last);

	t = find(s, "public.\"_Prisma_Migrations\"");
	cr_assert_str_eq(t->runner, "Prisma");
	cr_assert_eq(t->bad_count, 0, "%s: finished rows taken for unfinished", how);
	cr_assert_str_eq(t->last, "m025");
	cr_assert_eq(t->applied, 25);
	sb_free(&line);
}

/* The lab instance with database "g ü'"d" seeded with hostile_sql; the
 * admin's connection to it. */
static PGconn *
hostile_db(void)
{
	PGconn *conn;

	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");
	cr_assert(docker_connect(&docker), "docker_connect");
	conn = pgtest_shared_connect(&shared, NULL);
	cr_assert(pg_exec(conn, "seed", "CREATE DATABASE \"g ü'\"\"d\""));
	pg_disconnect(conn);
	conn = pgtest_shared_connect(&shared, "g ü'\"d");
	seed(conn, hostile_sql);
	return conn;
}

Test(migrate_guard_sql, runners_on_hostile_names_both_ways)
{
	RunnerStates via_psql, via_libpq;
	PGconn *conn;

	conn = hostile_db();

	cr_assert(guard_runners_source(docker, shared.name, "admin", "g ü'\"d", &via_psql));
	check_states(&via_psql, "psql");
	cr_assert(pg_exec(conn, "pin", "SELECT pg_catalog.set_config('search_path', "
					  "'pg_catalog, pg_temp', false)"));
	cr_assert(guard_runners_conn(conn, &via_libpq));
	check_states(&via_libpq, "libpq");
	guard_runners_free(&via_psql);
	guard_runners_free(&via_libpq);
	pg_disconnect(conn);
}

Test(migrate_guard_sql, other_roles_on_hostile_names)
{
	OtherRoles roles;
	PGconn *conn;
	StrBuf line = STRBUF_INIT;
	const char *own[] = { "admin" };

	conn = hostile_db();
	pg_disconnect(conn);

	cr_assert(guard_roles_source(docker, shared.name, "admin", "g ü'\"d", own, 1, &roles));
	cr_assert_eq(roles.count, 2);
	cr_assert_str_eq(roles.roles[0].name, "r \"o\" ü");
	cr_assert_eq(roles.roles[0].owns_count, 0);
	cr_assert_eq(roles.roles[0].may_count, 2);
	cr_assert_str_eq(roles.roles[0].may[0], "SELECT, UPDATE on table \"Sch \"\"q\"\" ü\tx\"."
					 "\"Flyway_Schema_History\"");
	cr_assert_str_eq(roles.roles[0].may[1], "USAGE on schema Sch \"q\" ü\tx");
	cr_assert_eq(roles.roles[0].policy_count, 1);
	cr_assert_str_eq(roles.roles[0].policies[0], "policy p ol on table \"a b\".schema_migrations");
	cr_assert_str_eq(roles.roles[1].name, "weird;role");
	cr_assert_eq(roles.roles[1].owns_count, 1);
	cr_assert_str_eq(roles.roles[1].owns[0], "table \"a b\".schema_migrations");
	guard_role_describe(&roles.roles[0], &line);
	cr_assert_str_eq(sb_str(&line), "role \"r \\\"o\\\" ü\" may SELECT, UPDATE on table "
					 "\"Sch \"\"q\"\" ü\\x09x\".\"Flyway_Schema_History\", USAGE on schema "
					 "Sch \"q\" ü\\x09x; is named by policy p ol on table \"a b\".schema_migrations");
	/* the admin itself (as the app's own role) is never listed */
	for (size_t i = 0; i < roles.count; i++)
		cr_assert_str_neq(roles.roles[i].name, "admin");
	guard_roles_free(&roles);
	sb_free(&line);
}
