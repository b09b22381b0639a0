/*
 * rbt.h — helpers of the `pgfold rollback` lab tests, on top of the
 * migrate tests' stack (tests/migrate/mig.h): a stack whose service was
 * migrated and then written to through the shared database, as its app
 * would, and the checks every successful rollback must pass.
 */
#ifndef PGFOLD_TESTS_RBT_H
#define PGFOLD_TESTS_RBT_H

#include "migrate/mig.h"

typedef struct RbtStack
{
	MigStack        s;
	const MigShape *sh;
	char            svc[96];
	char           *fp_seed;       /* fingerprint before the migration */
	char           *fp_written;    /* shared database after the app's writes */
} RbtStack;

/* Stack with a shared postgres 15, sh seeded on db_image (NULL: postgres
 * 15), `migrate --yes`, then rows inserted and the sequence moved by the
 * service role over TCP. */
void rbt_migrated_on(RbtStack *t, const MigShape *sh, const char *db_image);
#define rbt_migrated(t, sh) rbt_migrated_on((t), (sh), NULL)
/* Everything removed (the suite's .fini). */
void rbt_destroy(RbtStack *t);

/* `pgfold rollback <svc> ARGS...` (NULL-terminated) with extra environment
 * env (may be NULL); the exit status is asserted. */
#define RBT_ROLLBACK(t, r, status, env, ...) do { \
		mig_pgfold(&(t)->s, (r), (env), "rollback", (t)->svc, __VA_ARGS__); \
		mig_expect_exit((r), (status), "rollback"); \
	} while (0)

/* fingerprint.sql of the dedicated database (caller frees). */
char *rbt_dedicated_fp(RbtStack *t);

/* After a successful rollback: the dedicated database holds fp_expected,
 * owned by POSTGRES_USER, with no temporary/stale database left; the
 * service file is byte-identical to the original; the override moved to
 * the backups; the apps run with their original settings; the journal has
 * a completed rollback; a second rollback says "not migrated". */
void rbt_assert_rolled_back(RbtStack *t, const char *fp_expected);

/* The migration's dump (backups/postgres-migrations/<svc>_<stamp>.dump). */
void rbt_migration_dump(RbtStack *t, char *out, size_t size);

#endif
