/*
 * test_shared_lab.c — pg module against a real shared-style server (lab).
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"
#include "pg/pg_fixture.h"
#include "pgfold/exitcodes.h"
#include "pgfold/pg.h"

static SharedPg shared;

static void
stop_shared(void)
{
	pgtest_shared_stop(&shared);
}

TestSuite(pg_lab, .fini = stop_shared, .timeout = 240);

Test(pg_lab, shared_queries)
{
	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");

	PGconn *conn = pgtest_shared_connect(&shared, NULL);
	int version = 0;
	bool yes = false;
	StrBuf v = STRBUF_INIT;

	cr_assert(pg_server_version_num(conn, &version));
	cr_assert(version >= 150000 && version < 160000, "version %d", version);
	cr_assert(pg_database_exists(conn, "postgres", &yes));
	cr_assert(yes);
	cr_assert(pg_database_exists(conn, "no such db", &yes));
	cr_assert_not(yes);
	cr_assert(pg_role_exists(conn, "admin", &yes));
	cr_assert(yes);
	cr_assert(pg_role_exists(conn, "nobody'; --", &yes));
	cr_assert_not(yes);
	cr_assert(pg_extension_available(conn, "plpgsql", &yes, &v));
	cr_assert(yes);
	cr_assert_str_eq(sb_str(&v), "1.0");
	cr_assert(pg_extension_available(conn, "no_such_extension", &yes, &v));
	cr_assert_not(yes);
	cr_assert_str_eq(sb_str(&v), "");
	cr_assert(pg_extension_version_available(conn, "plpgsql", "1.0", &yes));
	cr_assert(yes);
	cr_assert(pg_extension_version_available(conn, "plpgsql", "9.9", &yes));
	cr_assert_not(yes);

	int64_t size = 0;

	cr_assert(pg_database_size(conn, "postgres", &size));
	cr_assert(size > 1000000, "size %lld", (long long) size);

	bool isnull = false;

	cr_assert(pg_query_scalar(conn, "select a NULL", "SELECT NULL::text", 0, NULL, &v, &isnull));
	cr_assert(isnull);
	cr_assert_not(pg_query_scalar(conn, "select a NULL", "SELECT NULL::text", 0, NULL, &v, NULL));
	const char *params[1] = { "it's \"q\"\n" };

	cr_assert(pg_query_scalar(conn, "echo", "SELECT $1::text", 1, params, &v, NULL));
	cr_assert_str_eq(sb_str(&v), params[0]);
	/* one statement per call: a second one is refused by the server */
	cr_assert_not(pg_exec(conn, "two statements", "SELECT 1; SELECT 2"));

	sb_free(&v);
	pg_disconnect(conn);
}

Test(pg_lab, statement_error_is_logged_with_sqlstate)
{
	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");

	PGconn *conn = pgtest_shared_connect(&shared, NULL);

	cr_redirect_stderr();
	cr_assert_not(pg_exec(conn, "create database \"postgres\"", "CREATE DATABASE postgres"));
	fflush(stderr);

	char buf[2048] = { 0 };
	FILE *f = cr_get_redirected_stderr();
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);

	buf[n] = '\0';
	cr_assert(strstr(buf, "pgfold: error: create database \"postgres\" failed in database "
					 "\"postgres\" on the shared PostgreSQL: [SQLSTATE 42P04] database "
					 "\"postgres\" already exists") != NULL, "got: %s", buf);
	pg_disconnect(conn);
}

/* A probe's refusal is its answer: said to the caller, never logged. */
Test(pg_lab, try_is_quiet_and_send_is_async)
{
	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");

	PGconn *conn = pgtest_shared_connect(&shared, NULL);
	StrBuf err = STRBUF_INIT;
	PGresult *res = NULL;
	const char *params[1] = { "x'y" };
	char buf[512] = { 0 };

	cr_redirect_stderr();
	sb_appends(&err, "stale");
	cr_assert_not(pg_try(conn, "CREATE DATABASE postgres", 0, NULL, NULL, &err));
	cr_assert_str_eq(sb_str(&err), "database \"postgres\" already exists");
	cr_assert(pg_try(conn, "SELECT $1::text", 1, params, &res, &err));
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "x'y");
	PQclear(res);
	cr_assert_not(pg_try(conn, "SELECT 1; SELECT 2", 0, NULL, &res, NULL), "one statement");
	cr_assert_null(res);
	fflush(stderr);
	cr_assert_eq(fread(buf, 1, sizeof(buf) - 1, cr_get_redirected_stderr()), 0,
				 "a refused probe was logged: %s", buf);

	cr_assert(pg_send(conn, "two numbers", "SELECT 41 + 1"));
	res = PQgetResult(conn);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "42");
	PQclear(res);
	cr_assert_null(PQgetResult(conn));
	sb_free(&err);
	pg_disconnect(conn);
}

Test(pg_lab, connect_failure_names_settings)
{
	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");

	PGconn *conn = NULL;
	char expect[512];

	shared.cfg.pg_pass = (char *) "wrong-password";
	exit_hint_reset();
	cr_redirect_stderr();
	cr_assert_not(pg_connect_shared(&shared.cfg, NULL, &conn));
	cr_assert_null(conn);
	cr_assert_eq(exit_hint_get(), EXIT_SHARED);
	fflush(stderr);

	char buf[4096] = { 0 };
	FILE *f = cr_get_redirected_stderr();
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);

	buf[n] = '\0';
	str_format(expect, sizeof(expect),
			   "pgfold: error: cannot connect to the shared PostgreSQL at 127.0.0.1:%d as admin: ",
			   shared.port);
	cr_assert(strncmp(buf, expect, strlen(expect)) == 0, "got: %s", buf);
	cr_assert(strstr(buf, "password authentication failed") != NULL, "got: %s", buf);
	cr_assert(strstr(buf, "; check PG_HOST/PG_PORT/PG_USER/PG_PASS in /nonexistent/.env\n")
			  != NULL, "got: %s", buf);
	cr_assert(strstr(buf, "wrong-password") == NULL);
	cr_assert_eq(strchr(buf, '\n'), buf + n - 1, "one line: %s", buf);
}

/* Names that break naive quoting: quotes, a statement terminator, a
 * comment, '=' (conninfo), a newline, a backslash, non-ASCII. */
Test(pg_lab, hostile_database_names)
{
	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");

	PGconn *conn = pgtest_shared_connect(&shared, NULL);
	const char *names[] = {
		"x\"; DROP DATABASE postgres; --",
		"it's a=b \\ \n 'db'",
		"Ünïcödé-名前",
		NULL
	};
	const char *renamed = "renamed \"again\"; --";
	bool yes = false;

	for (int i = 0; names[i]; i++)
	{
		cr_assert(pg_create_database(conn, names[i], "admin", "UTF8"), "create %s", names[i]);
		cr_assert(pg_database_exists(conn, names[i], &yes));
		cr_assert(yes, "%s", names[i]);

		/* a libpq connection to it: dbname is taken literally */
		PGconn *inner = pgtest_shared_connect(&shared, names[i]);
		StrBuf v = STRBUF_INIT;

		cr_assert(pg_query_scalar(inner, "current db", "SELECT current_database()", 0, NULL,
								  &v, NULL));
		cr_assert_str_eq(sb_str(&v), names[i]);
		sb_free(&v);

		/* rename fails while connected; terminate, then rename */
		long killed = 0;

		cr_assert(pg_terminate_connections(conn, names[i], &killed));
		cr_assert_eq(killed, 1);
		pg_disconnect(inner);
		cr_assert(pg_rename_database(conn, names[i], renamed));
		cr_assert(pg_database_exists(conn, names[i], &yes));
		cr_assert_not(yes);
		cr_assert(pg_database_exists(conn, renamed, &yes));
		cr_assert(yes);

		/* a session on it does not stop a forced drop */
		inner = pgtest_shared_connect(&shared, renamed);
		cr_assert(pg_drop_database(conn, renamed, true));
		pg_disconnect(inner);
		cr_assert(pg_database_exists(conn, renamed, &yes));
		cr_assert_not(yes);
		cr_assert(pg_drop_database(conn, renamed, false), "IF EXISTS");
	}
	cr_assert(pg_database_exists(conn, "postgres", &yes));
	cr_assert(yes, "the injection did not drop postgres");

	/* 64 bytes would be silently truncated by the server: refused */
	cr_assert_not(pg_create_database(conn,
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", NULL, NULL));
	cr_assert_not(pg_create_database(conn, "", NULL, NULL));
	pg_disconnect(conn);
}

Test(pg_lab, drop_force_before_13)
{
	pgtest_shared_start(&shared, "pgfold-lab/postgres:13");

	PGconn *conn = pgtest_shared_connect(&shared, NULL);
	bool yes = true;

	cr_assert(pg_create_database(conn, "old-server db", NULL, NULL));

	PGconn *inner = pgtest_shared_connect(&shared, "old-server db");

	cr_assert(pg_drop_database(conn, "old-server db", true));
	cr_assert(pg_database_exists(conn, "old-server db", &yes));
	cr_assert_not(yes);
	pg_disconnect(inner);
	pg_disconnect(conn);
}

/* The migration checks extensions against the shared side's catalogue. */
Test(pg_lab, postgis_available_on_postgis_image)
{
	pgtest_shared_start(&shared, "pgfold-lab/postgis:15");

	PGconn *conn = pgtest_shared_connect(&shared, NULL);
	StrBuf v = STRBUF_INIT;
	bool yes = false;

	cr_assert(pg_extension_available(conn, "postgis", &yes, &v));
	cr_assert(yes);
	cr_assert(sb_str(&v)[0] >= '2' && sb_str(&v)[0] <= '9', "version %s", sb_str(&v));
	cr_assert(pg_extension_version_available(conn, "postgis", sb_str(&v), &yes));
	cr_assert(yes);
	sb_free(&v);
	pg_disconnect(conn);
}
