/*
 * mig.h — a whole homelab stack for the `pgfold migrate` lab tests.
 *
 * Each test builds its own stack in a temporary directory:
 *
 *   <dir>/root/           the stack root pgfold and compose see
 *         services/x.yml  from tests/migrate/fixtures/<fixture>.yml, @ID@
 *                         replaced by the stack's unique id
 *         .env            shared-instance settings + the fixture's .dotenv
 *   <dir>/orig/x.yml      a pristine copy (byte comparisons, teardown)
 *   <dir>/run-N.out|err   what each pgfold run printed
 *
 * plus one shared instance (`<id>-shared`, host network, a free loopback
 * port, log_statement=all) and one compose project (`<id>`) per stack, run
 * as an operator runs it: `docker-compose --project-directory <root> -p <id>`
 * (or `docker compose`: PGFOLD_TEST_COMPOSE, see lab.h; pgfold gets the same
 * as PGFOLD_COMPOSE).
 * pgfold runs as a child process (PGFOLD_TEST_BIN, else build/pgfold) with
 * stdin from /dev/null (no TTY), in s->cwd (the root, as an operator would;
 * migrate_shapes/run_from_another_directory uses another).
 *
 * Everything is removed by mig_stack_destroy (call it from the suite's
 * .fini: a failed assertion ends the test at once).
 */
#ifndef PGFOLD_TESTS_MIG_H
#define PGFOLD_TESTS_MIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "pgfold/str.h"

#define MIG_MAX_SERVICES 4
#define MIG_PG15    "pgfold-lab/postgres:15"
#define MIG_POSTGIS "pgfold-lab/postgis:15"

/* What fingerprint.sql prints for seed.sql's data, without the md5 part. */
#define MIG_SEED_COUNTS "_prisma_migrations=25 Mixed-Case=1500 items=2000 app.notes=500 " \
	"counter_seq=4242 recent_items=500 item_count=2000 jsonb=777"

typedef struct MigStack
{
	char   id[48];                 /* unique: container prefix and compose project */
	char   dir[PATH_MAX];
	char   root[PATH_MAX];
	char   shared[64];             /* shared container; "" until started */
	int    port;
	char   admin_pw[40];
	char   cwd[PATH_MAX];          /* where pgfold runs: root unless a test changes it */
	char   services[MIG_MAX_SERVICES][96];
	size_t service_count;
	int    runs;
	bool   plain_names;            /* mig_svc: the fixture's own name */
} MigStack;

typedef struct MigRun
{
	int    status;                 /* exit code; 128+N when killed by signal N */
	StrBuf out, err;
} MigRun;

typedef struct MigProc
{
	pid_t  pid;
	char   out_path[PATH_MAX], err_path[PATH_MAX];
} MigProc;

/* ---- the stack (mig.c) --------------------------------------------------- */

/* lab_require(), a unique id, the directories and the base .env. */
void mig_stack_init(MigStack *s);
/* Start the shared instance from image and wait until TCP logins work. */
void mig_shared_start(MigStack *s, const char *image);
/* The same with more `docker run` arguments (a bind mount: "-v HOST:DIR"). */
void mig_shared_start_with(MigStack *s, const char *image, const char *run_args);
/* Add services/<svc>.yml from fixtures/<fixture>.yml (@ID@, @DB_IMAGE@,
 * @APP_IMAGE@ substituted), append fixtures/<fixture>.dotenv to .env, copy
 * fixtures/<fixture>.env to services/<fixture>.env when it exists. */
void mig_service_add(MigStack *s, const char *fixture, const char *svc, const char *db_image);
/* compose up -d the service file; wait until db_container answers. */
void mig_service_up(MigStack *s, const char *svc, const char *db_container);
/* Everything down and removed; safe to call twice or on a zeroed stack. */
void mig_stack_destroy(MigStack *s);

/* Paths under the stack. */
void mig_path(const MigStack *s, char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* `cd root && <lab_compose()> --project-directory root -p id ARGS`; stdout
 * into *out (may be NULL); stderr printed only when it fails. Exit status. */
int mig_compose(const MigStack *s, StrBuf *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- SQL through docker exec psql (mig.c) -------------------------------- */

/* Run sql (via stdin, -v ON_ERROR_STOP=1, -XAtq, PGTZ=UTC) in container as
 * user on db over the local socket; stdout+stderr into *out (trailing
 * newlines trimmed). vars: "name=value" psql variables, NULL-terminated, may
 * be NULL. True when psql exited 0. */
bool mig_sql(StrBuf *out, const char *container, const char *user, const char *db,
			 const char *sql, const char *const *vars);
/* As mig_sql, asserting success; the output (caller frees). */
char *mig_sql_value(const char *container, const char *user, const char *db, const char *sql);
/* As admin on the shared instance. */
char *mig_shared_value(const MigStack *s, const char *db, const char *sql);
/* Log in over TCP to the shared instance as role with the password in
 * pwfile (given to psql on stdin, never in argv); stdout+stderr in *out. */
bool mig_sql_as(StrBuf *out, const MigStack *s, const char *role, const char *pwfile,
				const char *db, const char *sql);
/* Run fixtures/<name> (e.g. "seed.sql") with mig_sql; asserts success. */
void mig_sql_fixture(const char *container, const char *user, const char *db, const char *name);
/* Processes whose command line starts with prog ("pg_dump") in container
 * (-1 when it cannot be asked). */
long mig_count_procs(const char *container, const char *prog);
/* fingerprint.sql's line for db in container (caller frees). */
char *mig_fingerprint(const char *container, const char *user, const char *db);

/* ---- pgfold ---------------------------------------------------------------- */

/* Run pgfold --root <root> --no-color ARGS... (NULL-terminated) with extra
 * environment entries env ("K=V", NULL-terminated, may be NULL). */
void mig_pgfold(MigStack *s, MigRun *r, const char *const *env, ...)
	__attribute__((sentinel));
void mig_pgfold_start(MigStack *s, MigProc *p, const char *const *env, const char *const *args);
/* Wait (at most timeout_s, then SIGKILL and fail) and collect its output. */
void mig_pgfold_wait(MigProc *p, MigRun *r, int timeout_s);
void mig_run_free(MigRun *r);
/* Assert the exit status, printing what pgfold said when it differs. */
void mig_expect_exit(const MigRun *r, int status, const char *what);
/* The text after "not ready: " in plan's output, up to the line's end
 * (caller frees); asserts plan says one. */
char *mig_not_ready_reason(const MigRun *r);

/* ---- small things ---------------------------------------------------------- */

/* Whole file into *out (asserts it exists unless missing_ok; returns false
 * when it does not exist). */
bool mig_read(const char *path, StrBuf *out, bool missing_ok);
bool mig_exists(const char *path);
/* Does the file contain needle? (false when missing) */
bool mig_file_contains(const char *path, const char *needle);
/* The permission bits of path (asserts it exists). */
mode_t mig_file_mode(const char *path);
/* `docker inspect -f FORMAT name` output, trimmed ("" when it fails). */
char *mig_inspect(const char *name, const char *format);
/* The service role's password from <root>/etc/.db_passwords/<role>.txt. */
char *mig_role_password(const MigStack *s, const char *role);
/* The one path matching the glob under root (asserts exactly one). */
void mig_glob_one(const MigStack *s, const char *pattern, char *out, size_t size);
size_t mig_glob_count(const MigStack *s, const char *pattern);
/* The last (in glob's sorted order) path matching; asserts there is one. */
void mig_glob_last(const MigStack *s, const char *pattern, char *out, size_t size);

/* ---- checks (mig_check.c) -------------------------------------------------- */

/* How one service looks before and after its migration. Strings with %s
 * take the stack id. */
typedef struct MigShape
{
	const char *fixture;        /* fixtures/<fixture>.yml (service name: mig_svc) */
	const char *db;             /* database (and role) on the shared instance */
	const char *db_key;         /* the db service's key in the file */
	const char *db_container;   /* %s: its container */
	const char *db_user;        /* POSTGRES_USER of the dedicated db */
	const char *src_db;         /* POSTGRES_DB of the dedicated db */
	const char *db_volume;      /* volume key of the data (project_ prefixed) */
	const char *apps[3];        /* %s: app containers that connect, NULL-ended */
	const char *others[2];      /* %s: other containers (redis), NULL-ended */
	/* after the migration, "KEY=VALUE" in every app's environment; %PW%
	 * stands for the generated password. NULL-ended. */
	const char *env_after[6];
} MigShape;

/* The service (file) name of sh in this stack: "<fixture>-<id>", unique
 * per test (plain_names: the fixture's own name, as two stacks with the
 * same file name have it: migrate_stacks/same_file_and_key_on_one_engine). */
const char *mig_svc(const MigStack *s, const MigShape *sh);
/* A container compose names itself (no container_name) in a MigShape:
 * mig_name gives <id>_<key>_1 or <id>-<key>-1, as the compose in use does. */
#define MIG_COMPOSE_NAMED(key) "compose:" key

/* Container name from a %s pattern (or MIG_COMPOSE_NAMED) and the stack id
 * (static buffer ring). */
const char *mig_name(const MigStack *s, const char *pattern);

/* Everything item 1 of the test plan expects after a successful migration:
 * data (fingerprint equals fp_before) and ownership on the shared instance,
 * the new service file, compose config of the file and of file + rollback
 * override (= the saved original), apps running with the new env, the
 * dedicated container stopped with its volume kept. */
void mig_assert_migrated(MigStack *s, const MigShape *sh, const char *fp_before);
/* A second migrate: "already migrated", exit 0, no file changed. */
void mig_assert_rerun_noop(MigStack *s, const MigShape *sh);
/* Databases / roles on the shared instance other than the built-in ones
 * and admin's, comma-separated and sorted (caller frees). */
char *mig_shared_databases(const MigStack *s);
char *mig_shared_roles(const MigStack *s);

/* The shapes of tests/migrate/fixtures (mig_shapes.c). */
extern const MigShape mig_docmost, mig_joplin, mig_netbox, mig_nocodb, mig_geo, mig_zabbix;

/* Add sh's service file (db image db_image, NULL = postgres 15), bring it
 * up, seed seed.sql; returns the source fingerprint (caller frees). */
char *mig_seed_service(MigStack *s, const MigShape *sh, const char *db_image);
/* Test item 1 on a fresh stack: shared postgres 15, seeded service,
 * `migrate --yes` exits 0, mig_assert_migrated, mig_assert_rerun_noop. */
/* "  apps down 00:03.1 (stop-apps 0.4 s, ..., apply 1.2 s)" in a summary:
 * the window from stopping the apps to compose having started them again,
 * naming apply among its phases and no shorter than the phases it names. */
void mig_expect_downtime(const char *out);
void mig_happy_path(MigStack *s, const MigShape *sh, const char *db_image);

/* Snapshot of what a refused migration must not change. */
typedef struct MigSnapshot
{
	StrBuf service, env;
	char  *databases, *roles;
	char  *overrides, *passwords;    /* directory listings */
} MigSnapshot;

void mig_snapshot(MigStack *s, const char *svc, MigSnapshot *snap);
/* Assert nothing changed since snap, and that the containers are running. */
void mig_assert_unchanged(MigStack *s, const char *svc, const MigSnapshot *snap,
						  const char *const *running);
void mig_snapshot_free(MigSnapshot *snap);

/* Journal records (jansson objects) of a service, in order. */
size_t mig_journal_count(const MigStack *s, const char *svc, const char *step,
						 const char *status);
/* The last record of step with status (a new reference), or NULL. */
json_t *mig_journal_last(const MigStack *s, const char *svc, const char *step,
						 const char *status);
/* Distinct run ids in the journal. */
size_t mig_journal_runs(const MigStack *s, const char *svc);

#endif
