/*
 * test_pgx_lab.c — psql through exec into a `--network none` container.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"
#include "pg/pg_fixture.h"
#include "pgfold/docker.h"
#include "pgfold/pg.h"

static char container[64];
static DockerClient *docker;

static void
cleanup(void)
{
	pgtest_source_stop(container, docker);
}

/* A dedicated-style source: no network, user "src", database "app". */
static void
start_source(const char *image)
{
	pgtest_source_start(image, "pgf_pgx", container, sizeof(container), &docker);
}

TestSuite(pg_pgx_lab, .fini = cleanup, .timeout = 240);

static bool
has_database(const PgxDatabaseList *l, const char *name, int64_t *size)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].name, name) == 0)
		{
			if (size)
				*size = l->items[i].size_bytes;
			return true;
		}
	return false;
}

Test(pg_pgx_lab, source_questions)
{
	start_source("pgfold-lab/postgres:15");

	int version = 0;
	PgxDatabaseList dbs = { 0 };
	PgxRoleList roles = { 0 };
	PgxExtensionList exts = { 0 };
	int64_t size = 0, size2 = 0;

	cr_assert(pgx_ping(docker, container, "src", "app"));
	cr_assert(pgx_server_version_num(docker, container, "src", &version));
	cr_assert(version >= 150000 && version < 160000, "version %d", version);

	cr_assert(pgx_list_databases(docker, container, "src", &dbs));
	cr_assert(has_database(&dbs, "app", &size));
	cr_assert(has_database(&dbs, "postgres", NULL));
	cr_assert_not(has_database(&dbs, "template0", NULL));
	cr_assert(size > 1000000);
	cr_assert_str_eq(dbs.items[0].owner, "src");
	cr_assert_str_neq(dbs.items[0].encoding, "");
	pgx_database_list_free(&dbs);

	cr_assert(pgx_database_size(docker, container, "src", "app", &size2));
	cr_assert(size2 > 1000000);

	cr_assert(pgx_list_roles(docker, container, "src", &roles));
	cr_assert_eq(roles.count, 1);
	cr_assert_str_eq(roles.items[0].name, "src");
	cr_assert(roles.items[0].superuser);
	cr_assert(roles.items[0].can_login);
	pgx_role_list_free(&roles);

	/* a non-superuser that may not connect to a database: size -1 */
	cr_assert(pgx_query(docker, container, "src", "app",
						"CREATE ROLE lister LOGIN; CREATE DATABASE private;\n"
						"REVOKE CONNECT ON DATABASE private FROM PUBLIC;\n", NULL, NULL));
	cr_assert(pgx_list_databases(docker, container, "lister", &dbs));
	cr_assert(has_database(&dbs, "private", &size));
	cr_assert_eq(size, -1);
	cr_assert(has_database(&dbs, "app", &size));
	cr_assert(size > 1000000);
	pgx_database_list_free(&dbs);

	cr_assert(pgx_list_extensions(docker, container, "src", "app", &exts));
	cr_assert_eq(exts.count, 1);
	cr_assert_str_eq(exts.items[0].name, "plpgsql");
	cr_assert_str_eq(exts.items[0].version, "1.0");
	pgx_extension_list_free(&exts);
}

/* Names with quotes, dashes, '=', a newline and a backslash go through psql
 * variables and -d untouched. */
Test(pg_pgx_lab, hostile_names_as_variables)
{
	start_source("pgfold-lab/postgres:13");

	const char *name = "we'ird-\"db\" x=y\n\\ --";
	char var[128];
	PgRows rows = PGROWS_INIT;
	PgxDatabaseList dbs = { 0 };
	PgxExtensionList exts = { 0 };
	StrBuf out = STRBUF_INIT;

	str_format(var, sizeof(var), "dbname=%s", name);
	const char *vars[] = { var, "role=ro-le'\"", NULL };

	cr_assert(pgx_query(docker, container, "src", "app",
						"CREATE DATABASE :\"dbname\";\n"
						"CREATE ROLE :\"role\";\n", vars, &out));
	cr_assert_eq(out.len, 0);
	cr_assert(pgx_list_databases(docker, container, "src", &dbs));
	cr_assert(has_database(&dbs, name, NULL), "database with a hostile name not listed");
	pgx_database_list_free(&dbs);

	/* -d with '=' in the name: a conninfo-quoted name, not a conninfo */
	cr_assert(pgx_ping(docker, container, "src", name));
	cr_assert(pgx_list_extensions(docker, container, "src", name, &exts));
	cr_assert_eq(exts.count, 1);
	pgx_extension_list_free(&exts);

	/* :'lit' round trip, several rows, fields with newlines */
	cr_assert(pgx_query_rows(docker, container, "src", name,
							 "SELECT current_database(), :'role' "
							 "UNION ALL SELECT 'a' || chr(10) || 'b', '' "
							 "UNION ALL SELECT rolname, 'x' FROM pg_roles WHERE rolname = :'role';\n",
							 vars, 2, &rows));
	cr_assert_eq(rows.nrows, 3);
	cr_assert_str_eq(pg_rows_get(&rows, 0, 0), name);
	cr_assert_str_eq(pg_rows_get(&rows, 0, 1), "ro-le'\"");
	cr_assert_str_eq(pg_rows_get(&rows, 1, 0), "a\nb");
	cr_assert_str_eq(pg_rows_get(&rows, 1, 1), "");
	cr_assert_str_eq(pg_rows_get(&rows, 2, 0), "ro-le'\"");
	pg_rows_free(&rows);

	/* clean up the hostile objects through the same path */
	cr_assert(pgx_query(docker, container, "src", "app",
						"DROP DATABASE :\"dbname\";\nDROP ROLE :\"role\";\n", vars, &out));
	cr_assert(pgx_list_databases(docker, container, "src", &dbs));
	cr_assert_not(has_database(&dbs, name, NULL));
	pgx_database_list_free(&dbs);
	sb_free(&out);
}

Test(pg_pgx_lab, errors_name_container_and_database)
{
	start_source("pgfold-lab/postgres:15");

	StrBuf out = STRBUF_INIT;
	char buf[4096] = { 0 };

	cr_redirect_stderr();
	cr_assert_not(pgx_query(docker, container, "src", "app",
							"SELECT 1;\nSELECT * FROM no_such_table;\nSELECT 2;\n", NULL, &out));
	cr_assert_not(pgx_ping(docker, container, "src", "no such db"));
	const char *bad[] = { "1bad=x", NULL };

	cr_assert_not(pgx_query(docker, container, "src", "app", "SELECT 1;", bad, &out));
	fflush(stderr);

	FILE *f = cr_get_redirected_stderr();
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);

	buf[n] = '\0';
	char expect[256];

	str_format(expect, sizeof(expect),
			   "pgfold: error: the SQL failed in container \"%s\" (database \"app\", user \"src\"), "
			   "exit 3: ", container);
	cr_assert(strstr(buf, expect) != NULL, "got: %s", buf);
	cr_assert(strstr(buf, "relation \"no_such_table\" does not exist") != NULL, "got: %s", buf);
	str_format(expect, sizeof(expect),
			   "pgfold: error: psql could not connect (or lost the connection) in container "
			   "\"%s\" (database \"no such db\", user \"src\"), exit 2: ", container);
	cr_assert(strstr(buf, expect) != NULL, "got: %s", buf);
	cr_assert(strstr(buf, "psql variable 0 is invalid") != NULL, "got: %s", buf);
	sb_free(&out);
}

/* Many questions at once: each job gets its own answer (nothing mixed up
 * between the concurrent execs), and one failing job — bad SQL, a missing
 * container — fails alone, with the others answered. */
Test(pg_pgx_lab, many_queries_at_once)
{
	enum { N = 12 };
	PgxRowsJob jobs[N];
	char sql[N][96];
	char gone[64];

	start_source("pgfold-lab/postgres:15");
	lab_unique_name("pgf_pgx_gone", gone, sizeof(gone));
	for (int i = 0; i < N; i++)
	{
		str_format(sql[i], sizeof(sql[i]),
				   "SELECT %d, repeat('x', %d * 1000), current_database();\n", i, i);
		jobs[i] = (PgxRowsJob) { .container = container, .user = "src", .db = "app",
								 .sql = sql[i], .ncols = 3 };
	}
	jobs[4].sql = "SELECT * FROM no_such_table;\n";
	jobs[9].container = gone;

	cr_assert(pgx_query_rows_many(docker, jobs, N));
	for (int i = 0; i < N; i++)
	{
		char want[16];

		if (i == 4 || i == 9)
		{
			cr_expect_not(jobs[i].ok, "job %d should have failed", i);
			continue;
		}
		cr_assert(jobs[i].ok, "job %d failed", i);
		cr_assert_eq(jobs[i].rows.nrows, 1);
		str_format(want, sizeof(want), "%d", i);
		cr_expect_str_eq(pg_rows_get(&jobs[i].rows, 0, 0), want);
		cr_expect_eq(strlen(pg_rows_get(&jobs[i].rows, 0, 1)), (size_t) i * 1000);
		cr_expect_str_eq(pg_rows_get(&jobs[i].rows, 0, 2), "app");
		pg_rows_free(&jobs[i].rows);
	}
}
