/*
 * ifix.c — see ifix.h.
 */
#include "instance/ifix.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "pgfold/pg.h"

#define OUT_MAX (8 * 1024 * 1024)

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st; (void) flag; (void) ftw;
	return remove(path);
}

void
ifx_path(const Ifx *x, const char *rel, char *out, size_t size)
{
	cr_assert(str_format(out, size, "%s/%s", x->root, rel), "path too long");
}

bool
ifx_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
write_env(Ifx *x, const char *container)
{
	char env[PATH_MAX];
	FILE *f;

	ifx_path(x, ".env", env, sizeof(env));
	f = fopen(env, "w");
	cr_assert_not_null(f);
	fprintf(f, "PG_USER=admin\nPG_PASS=%s\nPG_HOST=127.0.0.1\nPG_PORT=%d\n"
			"PGFOLD_SHARED_CONTAINER=%s\n", x->shared.admin_pw, x->shared.port, container);
	fclose(f);
	chmod(env, 0600);
}

void
ifx_init(Ifx *x, const char *image)
{
	char tmpl[] = "/tmp/pgfold-inst-XXXXXX";

	memset(x, 0, sizeof(*x));
	pgtest_shared_start(&x->shared, image);
	cr_assert_not_null(mkdtemp(tmpl));
	str_copy(x->dir, sizeof(x->dir), tmpl);
	str_format(x->root, sizeof(x->root), "%s/root", x->dir);
	cr_assert_eq(lab_sh("mkdir -p %s/services %s/backups", x->root, x->root), 0);
	write_env(x, x->shared.name);
}

void
ifx_local_clients(Ifx *x)
{
	write_env(x, "");
}

void
ifx_destroy(Ifx *x)
{
	for (int i = 0; i < 2; i++)
		if (x->extra[i][0])
			lab_remove(x->extra[i]);
	pgtest_shared_stop(&x->shared);
	if (x->dir[0])
		nftw(x->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	sb_free(&x->out);
	sb_free(&x->err);
	x->dir[0] = '\0';
}

static void
slurp(const char *path, StrBuf *out)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	sb_reset(out);
	sb_appends(out, "");
	cr_assert(fd >= 0, "cannot read %s", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
	{
		sb_append(out, buf, (size_t) n);
		cr_assert(out->len < OUT_MAX, "%s: too much output", path);
	}
	close(fd);
}

static int
vrun(Ifx *x, const char *input, va_list ap)
{
	const char *bin = getenv("PGFOLD_TEST_BIN");
	char path[PATH_MAX];
	StrBuf cmd = STRBUF_INIT;

	sb_appendf(&cmd, "cd %s && ", x->dir);
	if (input != NULL)
	{
		sb_appends(&cmd, "printf '%s' ");
		lab_quote(&cmd, input);
		sb_appends(&cmd, " | ");
	}
	lab_quote(&cmd, bin && *bin ? bin : "build/pgfold");
	sb_appends(&cmd, " --root ");
	lab_quote(&cmd, x->root);
	sb_appends(&cmd, " --no-color");
	for (const char *arg; (arg = va_arg(ap, const char *)) != NULL;)
	{
		sb_appendc(&cmd, ' ');
		lab_quote(&cmd, arg);
	}
	sb_appendf(&cmd, " >%s/out 2>%s/err%s", x->dir, x->dir, input ? "" : " </dev/null");
	x->status = lab_sh("%s", cmd.data);
	sb_free(&cmd);
	str_format(path, sizeof(path), "%s/out", x->dir);
	slurp(path, &x->out);
	str_format(path, sizeof(path), "%s/err", x->dir);
	slurp(path, &x->err);
	return x->status;
}

int
ifx_run_input(Ifx *x, const char *input, ...)
{
	va_list ap;
	int rc;

	va_start(ap, input);
	rc = vrun(x, input, ap);
	va_end(ap);
	return rc;
}

void
ifx_expect(Ifx *x, int status, const char *what)
{
	cr_assert_eq(x->status, status, "%s: exit %d, expected %d\n--- stdout:\n%s--- stderr:\n%s",
				 what, x->status, status, sb_str(&x->out), sb_str(&x->err));
}

json_t *
ifx_json(Ifx *x)
{
	json_error_t e;
	json_t *doc = json_loads(sb_str(&x->out), 0, &e);

	cr_assert_not_null(doc, "stdout is not JSON (%s):\n%s\n--- stderr:\n%s", e.text,
					   sb_str(&x->out), sb_str(&x->err));
	return doc;
}

json_t *
ifx_find(json_t *array, const char *key, const char *value, bool suffix)
{
	size_t i;
	json_t *e;

	json_array_foreach(array, i, e)
	{
		const char *v = json_string_value(json_object_get(e, key));

		if (v && (suffix ? str_has_suffix(v, value) : strcmp(v, value) == 0))
			return e;
	}
	cr_assert_fail("no element with %s \"%s\"", key, value);
	return NULL;
}

void
ifx_backup(Ifx *x, const char *db, char *file, size_t size)
{
	json_t *doc;

	ifx_run(x, "db", "backup", db, "--json", NULL);
	ifx_expect(x, 0, "db backup");
	doc = ifx_json(x);
	str_copy(file, size, json_string_value(json_object_get(json_object_get(doc, "backup"), "file")));
	json_decref(doc);
}

PGconn *
ifx_connect(Ifx *x, const char *db)
{
	return pgtest_shared_connect(&x->shared, db);
}

void
ifx_exec(Ifx *x, const char *db, const char *sql)
{
	PGconn *c = ifx_connect(x, db);
	PGresult *r = PQexec(c, sql);

	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
			  "SQL failed in %s: %s\n%s", db, PQerrorMessage(c), sql);
	PQclear(r);
	PQfinish(c);
}

char *
ifx_value(Ifx *x, const char *db, const char *sql)
{
	PGconn *c = ifx_connect(x, db);
	PGresult *r = PQexec(c, sql);
	char *v;

	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "query failed in %s: %s\n%s", db,
				 PQerrorMessage(c), sql);
	cr_assert(PQntuples(r) >= 1, "no row: %s", sql);
	v = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

bool
ifx_db_exists(Ifx *x, const char *db)
{
	PGconn *c = ifx_connect(x, NULL);
	const char *p[1] = { db };
	PGresult *r = PQexecParams(c, "SELECT count(*) FROM pg_database WHERE datname = $1", 1,
							   NULL, p, NULL, NULL, 0);
	bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "1") == 0;

	PQclear(r);
	PQfinish(c);
	return exists;
}

const char *
ifx_dedicated(Ifx *x, int slot, const char *image, const char *user, const char *db)
{
	char u[80], d[80];
	const char *env[] = { u, d, "POSTGRES_PASSWORD=dedicated-test-pw", NULL };

	lab_unique_name("pgf_ded", x->extra[slot], sizeof(x->extra[slot]));
	str_format(u, sizeof(u), "POSTGRES_USER=%s", user);
	str_format(d, sizeof(d), "POSTGRES_DB=%s", db);
	cr_assert(lab_start_postgres(image, x->extra[slot], env, "none"));
	cr_assert(lab_wait_ready(x->extra[slot], 90));
	/* the entrypoint restarts the server once after initdb */
	for (int i = 0; i < 100; i++)
	{
		if (lab_sh("docker exec %s psql -XAtq -U %s -d %s -c 'SELECT 1' >/dev/null 2>&1",
				   x->extra[slot], user, db) == 0)
			return x->extra[slot];
		usleep(200 * 1000);
	}
	cr_assert_fail("%s does not answer queries", x->extra[slot]);
	return NULL;
}

void
ifx_container_sql(const char *container, const char *user, const char *db, const char *sql)
{
	StrBuf q = STRBUF_INIT;

	lab_quote(&q, sql);
	cr_assert_eq(lab_sh("docker exec %s psql -XAtq -v ON_ERROR_STOP=1 -U %s -d %s -c %s "
						">/dev/null", container, user, db, q.data), 0, "SQL in %s: %s",
				 container, sql);
	sb_free(&q);
}

void
ifx_seed(Ifx *x, const char *db, int big_rows)
{
	char sql[1024];

	ifx_exec(x, db,
			 "CREATE TABLE \"_prisma_migrations\" (id int PRIMARY KEY, name text);"
			 "INSERT INTO \"_prisma_migrations\" SELECT g, E'mig\\nline \\\\. ' || g "
			 "  FROM generate_series(1, 25) g;"
			 "CREATE TABLE \"__EFMigrationsHistory\" (id text PRIMARY KEY);"
			 "INSERT INTO \"__EFMigrationsHistory\" SELECT 'm' || g FROM generate_series(1, 3) g;"
			 "CREATE TABLE \"Mixed-Case\" (id serial PRIMARY KEY, v text);"
			 "INSERT INTO \"Mixed-Case\" (v) SELECT md5(g::text) FROM generate_series(1, 1500) g;"
			 "CREATE SCHEMA \"we-ird \"\"s\"\"\";"
			 "CREATE TABLE \"we-ird \"\"s\"\"\".\":x. y\" (v text);"
			 "INSERT INTO \"we-ird \"\"s\"\"\".\":x. y\" VALUES ('\\.'), (E'\\\\.'), ('COPY x');"
			 "CREATE TABLE \"new\nline\" (a int); INSERT INTO \"new\nline\" VALUES (1), (2);"
			 "CREATE TABLE empty_t (a int);");
	str_format(sql, sizeof(sql), "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h "
			   "FROM generate_series(1, %d) g; CREATE INDEX big_h ON big (h); ANALYZE;", big_rows);
	ifx_exec(x, db, sql);
}

void
ifx_seeded_db(Ifx *x, const char *db, int big_rows)
{
	ifx_run(x, "db", "create", db, NULL);
	ifx_expect(x, 0, "db create");
	ifx_seed(x, db, big_rows);
}

void
ifx_truncate(const char *path, long n)
{
	cr_assert_eq(truncate(path, n), 0, "truncate %s", path);
}
