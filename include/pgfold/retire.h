/*
 * retire.h — `pgfold retire SERVICE`: once a fold has proved itself, remove
 * the dedicated postgres container it left stopped and the volume(s) at its
 * data directory, and give the disk back. The way back stays: the override,
 * the journal and the dumps are kept, and `rollback` of a retired service
 * recreates the dedicated container on a NEW volume (the image initialises
 * it) and restores the shared database into it.
 *
 * A journaled run (op "retire", steps RT_STEP_* in journal.h) on the step
 * runner. It refuses (exit 3, one line, nothing removed) unless: the service
 * is migrated and live; the cut-over is at least --min-age old; the service
 * role has a session on its shared database that began after the
 * cut-over (pg_stat_activity; pgfold's own sessions do not count); a
 * restore-tested backup of the shared database newer than the cut-over
 * exists (one is taken and tested when none does); the dedicated container
 * is stopped; no other container mounts its data volume; rollback's inputs
 * are intact (the saved original matches its sha256, the override passes
 * `compose config`).
 *
 * Nothing is removed before the inventory step (every check passed, the
 * container's id and volumes with their sizes journaled). Removing the
 * container is the point of no return: from its "started" record on, the
 * service reads as retired and a re-run (after a crash or a failure)
 * finishes the run from the journal; before it, a failure is undone (there
 * is nothing to put back) and the run aborted.
 */
#ifndef PGFOLD_RETIRE_H
#define PGFOLD_RETIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/app.h"
#include "pgfold/journal.h"

/* --min-age default: a week of the apps living on the shared instance. */
#define RETIRE_MIN_AGE_DEFAULT (7LL * 24 * 3600)

typedef struct RetireOptions
{
	long long min_age;      /* seconds */
	bool      yes;
	bool      dry_run;
} RetireOptions;

/* "0", or what backups_parse_age takes ("7d", "12h", "2w", "90m", "45s"). */
bool retire_parse_duration(const char *text, long long *seconds);

/* `pgfold retire SERVICE [--dry-run]`. Returns the exit code. */
int retire_main(App *app, size_t index, const RetireOptions *opts);

/* Is the fold migrate_run retired (its dedicated container removed, or its
 * removal begun: a re-run finishes it)? From the journal alone. */
typedef struct RetireState
{
	bool      retired;
	bool      finished;                     /* the run is complete */
	char      run[JOURNAL_NAME_MAX + 1];
	char      when[32];                     /* ts of its removal */
	long long bytes;                        /* given back (complete runs) */
} RetireState;

bool retire_state(const Journal *j, const char *migrate_run, RetireState *out);

/* The same for a service's live fold, its journal read-only (status, plan). */
bool retire_service_state(const Config *cfg, const StackService *svc, RetireState *out);

#endif
