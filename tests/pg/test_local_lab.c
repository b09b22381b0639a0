/*
 * test_local_lab.c — pgx_query_rows_many's shortcut (pg/local.c): a
 * dedicated server asked over its own socket from the host gives the very
 * fields psql in the container prints, for every kind of value (booleans,
 * numerics, floats, arrays, json, NULL, newlines, several statements); and
 * a server that refuses the socket (password required on local
 * connections) is asked by exec instead, with the same answer.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"
#include "pg/pg_fixture.h"
#include "pgfold/docker.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

static char container[64];
static DockerClient *docker;

static void
cleanup(void)
{
	pgtest_source_stop(container, docker);
}

TestSuite(pg_local_lab, .fini = cleanup, .timeout = 240);

#define NCOLS 8
static const char kinds_sql[] =
	"SELECT true, false, NULL::int, 1.50::numeric, 0.1::float8 + 0.2::float8, "
	"  ARRAY[1, NULL, 3], ARRAY['a b', 'c\"d', NULL, '']::text[], '{\"k\": [1, 2.0]}'::jsonb "
	"UNION ALL SELECT NULL, NULL, 42, 'NaN'::numeric, '-Infinity'::float8, '{}'::int[], "
	"  NULL, 'null'::jsonb;\n"
	"SET extra_float_digits = 0;\n"
	"SELECT E'two\\nlines\\ttab', 'x'::bytea::text, 1e-7::float8::text, "
	"  '2024-01-02 03:04:05+00'::timestamptz::text, interval '1 day 2 hours', "
	"  12345678901234567890.123::numeric, ' ', current_database() || '/' || current_user;\n"
	"SELECT name, default_version, comment, NULL, NULL, NULL, NULL, NULL "
	"  FROM pg_available_extensions ORDER BY name;\n";

/* The rows of kinds_sql, by exec (exec_only) or as pgx_query_rows_many
 * chooses; *log gets what it logged (debug level). */
static void
ask(bool exec_only, PgRows *rows, StrBuf *log)
{
	PgxRowsJob job = { .container = container, .user = "src", .db = "app",
					   .sql = kinds_sql, .ncols = NCOLS };
	char buf[8192];
	FILE *f;
	size_t n;

	if (exec_only)
		cr_assert_eq(setenv("PGFOLD_EXEC_ONLY", "1", 1), 0);
	else
		cr_assert_eq(unsetenv("PGFOLD_EXEC_ONLY"), 0);
	cr_assert(pgx_query_rows_many(docker, &job, 1));
	cr_assert(job.ok);
	*rows = job.rows;
	fflush(stderr);
	f = cr_get_redirected_stderr();
	n = fread(buf, 1, sizeof(buf) - 1, f);   /* what this call logged */
	sb_reset(log);
	sb_append(log, buf, n);
}

static void
assert_same_rows(const PgRows *a, const PgRows *b)
{
	cr_assert_eq(a->nrows, b->nrows);
	for (size_t r = 0; r < a->nrows; r++)
		for (size_t c = 0; c < NCOLS; c++)
			cr_expect_str_eq(pg_rows_get(a, r, c), pg_rows_get(b, r, c), "row %zu column %zu", r, c);
}

/* The same rows by exec and over the socket, on a server of image. */
static void
same_both_ways(const char *image, PgRows *by_exec, PgRows *by_socket)
{
	StrBuf log = STRBUF_INIT;

	pgtest_source_start(image, "pgf_local", container, sizeof(container), &docker);
	ask(true, by_exec, &log);
	cr_assert_null(strstr(sb_str(&log), "answered over its socket"), "%s", sb_str(&log));
	ask(false, by_socket, &log);
	cr_assert_not_null(strstr(sb_str(&log), "answered over its socket"),
					   "%s: the lab's dedicated server trusts local connections: %s", image,
					   sb_str(&log));
	cr_assert_null(strstr(sb_str(&log), "docker: exec"), "no exec: %s", sb_str(&log));
	assert_same_rows(by_exec, by_socket);
	sb_free(&log);
}

/* Other majors print some values differently; each path prints them as
 * the other does (and postgis: its extensions' comments). */
Test(pg_local_lab, socket_answers_as_psql_on_13_17_postgis)
{
	const char *images[] = { "pgfold-lab/postgres:13", "pgfold-lab/postgres:17",
							 "pgfold-lab/postgis:15" };

	cr_redirect_stderr();
	log_set_level(LOG_DEBUG);
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
	{
		PgRows by_exec = PGROWS_INIT, by_socket = PGROWS_INIT;

		same_both_ways(images[i], &by_exec, &by_socket);
		cr_assert_gt(by_exec.nrows, 3, "%s", images[i]);
		pg_rows_free(&by_exec);
		pg_rows_free(&by_socket);
		pgtest_source_stop(container, docker);
		docker = NULL;
		container[0] = '\0';
	}
}

Test(pg_local_lab, socket_answers_as_psql_prints)
{
	PgRows by_exec = PGROWS_INIT, by_socket = PGROWS_INIT;
	StrBuf log = STRBUF_INIT;

	pgtest_source_start("pgfold-lab/postgres:15", "pgf_local", container, sizeof(container),
						&docker);
	cr_redirect_stderr();
	log_set_level(LOG_DEBUG);
	ask(true, &by_exec, &log);
	cr_assert_null(strstr(sb_str(&log), "answered over its socket"), "%s", sb_str(&log));
	ask(false, &by_socket, &log);
	cr_assert_not_null(strstr(sb_str(&log), "answered over its socket"),
					   "the lab's dedicated server trusts local connections: %s", sb_str(&log));
	cr_assert_null(strstr(sb_str(&log), "docker: exec"), "no exec: %s", sb_str(&log));
	cr_assert_gt(by_exec.nrows, 3);
	assert_same_rows(&by_exec, &by_socket);
	/* what psql prints, spelled out for a few of them */
	cr_expect_str_eq(pg_rows_get(&by_socket, 0, 0), "t");
	cr_expect_str_eq(pg_rows_get(&by_socket, 0, 2), "");
	cr_expect_str_eq(pg_rows_get(&by_socket, 0, 5), "{1,NULL,3}");
	cr_expect_str_eq(pg_rows_get(&by_socket, 0, 6), "{\"a b\",\"c\\\"d\",NULL,\"\"}");
	cr_expect_str_eq(pg_rows_get(&by_socket, 2, 0), "two\nlines\ttab");
	cr_expect_str_eq(pg_rows_get(&by_socket, 2, 7), "app/src");
	pg_rows_free(&by_exec);
	pg_rows_free(&by_socket);
	sb_free(&log);
}

/* A server that wants a password on its socket: the shortcut never sends
 * one (none is given, PGPASSWORD unset), so the exec answers, where psql
 * has PGPASSWORD from the container's environment. */
Test(pg_local_lab, refused_socket_falls_back_to_exec)
{
	PgRows by_exec = PGROWS_INIT, fallback = PGROWS_INIT;
	StrBuf log = STRBUF_INIT, out = STRBUF_INIT;
	const char *env[] = { "POSTGRES_USER=src", "POSTGRES_PASSWORD=pw", "POSTGRES_DB=app",
						  "PGPASSWORD=pw", NULL };

	lab_require();
	lab_unique_name("pgf_local_pw", container, sizeof(container));
	cr_assert(lab_start_postgres("pgfold-lab/postgres:15", container, env, "none"));
	cr_assert(lab_wait_ready(container, 120));
	/* local connections need the password from now on */
	cr_assert_eq(lab_sh("docker exec %s sh -c 'sed -i \"s/^local\\( .*\\)trust$/local\\1scram-sha-256/\" "
						"\"$PGDATA/pg_hba.conf\" && psql -XAtq -U src -d app -c \"SELECT "
						"pg_reload_conf()\"' >/dev/null", container), 0);
	lab_sh_capture(&out, "docker exec -e PGPASSWORD= %s psql -XAtq -U src -d app -c 'SELECT 1' "
				   "2>&1", container);
	cr_assert_not_null(strstr(sb_str(&out), "password"), "local trust is gone: %s", sb_str(&out));
	cr_assert(docker_connect(&docker));

	cr_redirect_stderr();
	log_set_level(LOG_DEBUG);
	ask(true, &by_exec, &log);
	ask(false, &fallback, &log);
	cr_assert_not_null(strstr(sb_str(&log), "fe_sendauth: no password supplied; asking by exec"), "%s", sb_str(&log));
	cr_assert_null(strstr(sb_str(&log), "answered over its socket"), "%s", sb_str(&log));
	assert_same_rows(&by_exec, &fallback);
	pg_rows_free(&by_exec);
	pg_rows_free(&fallback);
	sb_free(&log);
	sb_free(&out);
}

/* A socket in the container's directory served by a process outside it
 * (as a link swapped in after the check would be): the peer is not the
 * container's, so libpq never sends it the user's name; the job goes to
 * the exec (whose psql finds that listener too, which hangs up: the job
 * fails, logged). */
Test(pg_local_lab, a_socket_served_from_outside_is_refused)
{
	StrBuf log = STRBUF_INIT, pid = STRBUF_INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ready[2];
	pid_t child;
	char c;

	pgtest_source_start("pgfold-lab/postgres:15", "pgf_local_out", container, sizeof(container),
						&docker);
	cr_assert(lab_sh_capture(&pid, "docker inspect -f '{{.State.Pid}}' %s", container));
	while (pid.len > 0 && (pid.data[pid.len - 1] == '\n' || pid.data[pid.len - 1] == ' '))
		pid.data[--pid.len] = '\0';
	/* the server keeps running; its socket file is gone */
	cr_assert_eq(lab_sh("docker exec %s rm -f /run/postgresql/.s.PGSQL.5432", container), 0);
	cr_assert(str_format(sa.sun_path, sizeof(sa.sun_path),
						 "/proc/%s/root/run/postgresql/.s.PGSQL.5432", sb_str(&pid)));
	cr_assert_eq(pipe(ready), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
	{
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(fd, 16) != 0)
			_exit(1);
		(void) !write(ready[1], "x", 1);
		for (;;)
		{
			int c2 = accept(fd, NULL, NULL);

			if (c2 >= 0)
				close(c2);   /* hang up on whoever it is */
		}
	}
	cr_assert_eq(read(ready[0], &c, 1), 1, "the listener did not start");

	PgxRowsJob job = { .container = container, .user = "src", .db = "app",
					   .sql = kinds_sql, .ncols = NCOLS };
	char buf[8192];
	size_t n;

	cr_redirect_stderr();
	log_set_level(LOG_DEBUG);
	cr_assert_eq(unsetenv("PGFOLD_EXEC_ONLY"), 0);
	cr_assert(pgx_query_rows_many(docker, &job, 1));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	unlink(sa.sun_path);
	fflush(stderr);
	n = fread(buf, 1, sizeof(buf) - 1, cr_get_redirected_stderr());
	sb_append(&log, buf, n);
	cr_assert_not_null(strstr(sb_str(&log), "the server on that socket is not the container's"),
					   "%s", sb_str(&log));
	cr_assert_null(strstr(sb_str(&log), "answered over its socket"), "%s", sb_str(&log));
	cr_assert_not(job.ok, "the exec's psql met the same listener");
	pg_rows_free(&job.rows);
	sb_free(&log);
	sb_free(&pid);
}
