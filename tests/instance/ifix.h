/*
 * ifix.h — a stack for the instance-tool tests (`pgfold db|user|backups`):
 *
 *   <dir>/root/          the stack root (.env names the shared instance)
 *         services/      empty unless a test adds a file
 *         backups/       where the commands put their dumps
 *   <dir>/out, err       what the last pgfold run printed
 *
 * plus one shared instance from tests/pg/pg_fixture (host network, a free
 * loopback port, admin with a random password). pgfold runs as a child
 * (PGFOLD_TEST_BIN, else build/pgfold) with stdin from /dev/null, so every
 * "no terminal" path is the one taken. ifx_destroy (the suites' .fini)
 * removes the containers and the directory.
 */
#ifndef PGFOLD_TESTS_IFIX_H
#define PGFOLD_TESTS_IFIX_H

#include <limits.h>
#include <stdbool.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "pg/pg_fixture.h"
#include "pgfold/str.h"

typedef struct Ifx
{
	char     dir[PATH_MAX];
	char     root[PATH_MAX];
	SharedPg shared;
	char     extra[2][64];      /* other containers a test started ("" = none) */
	int      status;            /* of the last run */
	StrBuf   out, err;
} Ifx;

/* One suite per test file: each test sets up its own stack in x, which the
 * suite's .fini tears down however the test ended. */
#define IFX_SUITE(suite) \
	static Ifx x; \
	static void suite##_fini(void) { ifx_destroy(&x); } \
	TestSuite(suite, .fini = suite##_fini, .timeout = 300)

/* lab_require(), the directories, the shared instance from image, .env. */
void ifx_init(Ifx *x, const char *image);
void ifx_destroy(Ifx *x);
/* Rewrite .env with PGFOLD_SHARED_CONTAINER empty: the shared instance is
 * then reached by local clients over TCP (pg_dump, pg_restore, psql). */
void ifx_local_clients(Ifx *x);

/* Run pgfold --root <root> --no-color ARGS... (NULL-terminated) with input
 * on its stdin (a pipe; NULL: /dev/null); returns the exit status, output
 * in x->out / x->err. */
int ifx_run_input(Ifx *x, const char *input, ...) __attribute__((sentinel));
#define ifx_run(x, ...) ifx_run_input(x, NULL, __VA_ARGS__)
/* The last run's stdout as JSON (asserts it parses; caller decrefs). */
json_t *ifx_json(Ifx *x);
/* Assert the last run exited with status, showing its output if not. */
void ifx_expect(Ifx *x, int status, const char *what);

/* The element of a JSON array whose string member key equals value (ends
 * with it, when suffix); asserts that there is one. */
json_t *ifx_find(json_t *array, const char *key, const char *value, bool suffix);
/* `db backup DB --json`, asserting success; the dump's path into file. */
void ifx_backup(Ifx *x, const char *db, char *file, size_t size);

/* SQL as admin on the shared instance, database db (taken literally). */
PGconn *ifx_connect(Ifx *x, const char *db);
void ifx_exec(Ifx *x, const char *db, const char *sql);
/* First column of the first row (caller frees). */
char *ifx_value(Ifx *x, const char *db, const char *sql);
bool ifx_db_exists(Ifx *x, const char *db);

/* Start a dedicated postgres (network none) as slot of x->extra, with
 * POSTGRES_USER/_DB; waits until ready. Returns its name. */
const char *ifx_dedicated(Ifx *x, int slot, const char *image, const char *user,
						  const char *db);
/* psql -c sql in a container as user on db; asserts success. */
void ifx_container_sql(const char *container, const char *user, const char *db, const char *sql);

/* `db create db`, then ifx_seed. */
void ifx_seeded_db(Ifx *x, const char *db, int big_rows);
/* The tables the tests seed: awkward names, a schema with a quote, a big
 * table for --estimate (rows), an index for amcheck. */
void ifx_seed(Ifx *x, const char *db, int big_rows);

/* <root>/<rel> */
void ifx_path(const Ifx *x, const char *rel, char *out, size_t size);
bool ifx_exists(const char *path);
/* Overwrite path with its first n bytes. */
void ifx_truncate(const char *path, long n);

#endif
