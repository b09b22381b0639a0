/*
 * rtt.h — helpers of the `pgfold retire` lab tests, on top of the rollback
 * tests' migrated stack (tests/rollback/rbt.h): the dedicated container's
 * data volume, its size as the engine reports it, and a live session of the
 * service role on the shared instance (what an app's pool looks like).
 */
#ifndef PGFOLD_TESTS_RTT_H
#define PGFOLD_TESTS_RTT_H

#include <sys/types.h>

#include "rollback/rbt.h"

/* The name of the volume mounted at the db container's data directory
 * (caller frees); "" when none. */
char *rtt_data_volume(RbtStack *t);
/* The engine's own figure for a volume's disk (GET /system/df, through
 * curl, not pgfold): UsageData.Size, -1 when absent. */
long long rtt_engine_volume_size(const char *volume);
/* Does the engine know this container / volume? */
bool rtt_container_exists(const char *name);
bool rtt_volume_exists(const char *name);
/* A session of the service role on its shared database (psql, sleeping)
 * that pg_stat_activity shows; returns the child to rtt_session_end. */
pid_t rtt_session_start(RbtStack *t);
void rtt_session_end(pid_t pid);
/* `pgfold retire <svc> ARGS...` (NULL-terminated), env as mig_pgfold. */
#define RTT_RETIRE(t, r, status, env, ...) do { \
		mig_pgfold(&(t)->s, (r), (env), "retire", (t)->svc, __VA_ARGS__); \
		mig_expect_exit((r), (status), "retire"); \
	} while (0)

#endif
