/*
 * rt_internal.h — (internal to the retire module) the state of one retire
 * run, shared by checks.c (the refusals), inputs.c (rollback's inputs and
 * the backup), steps.c / steps_table.c (what each step does) and run.c
 * (which run, the gate, the summary).
 */
#ifndef PGFOLD_RETIRE_RT_INTERNAL_H
#define PGFOLD_RETIRE_RT_INTERNAL_H

#include <limits.h>
#include <time.h>

#include "pgfold/journal.h"
#include "pgfold/retire.h"
#include "pgfold/runner.h"

#define RT_DEFAULT_PGDATA "/var/lib/postgresql/data"

typedef struct Rt
{
	App                 *app;
	size_t               index;
	StackService        *svc;
	const RetireOptions *opts;
	Journal              journal;
	Runner               rn;
	Lock                 lock;
	char                 run_id[JOURNAL_NAME_MAX + 1];
	bool                 resuming;

	MigrationRecord     *mig;              /* the fold being retired */
	time_t               cutover;
	char                 container[256];   /* the dedicated container's name */
	char                 id[80];           /* its id */
	char                 data_dir[PATH_MAX];
	json_t              *volumes;          /* [{name, destination, bytes}] */
	size_t               binds;            /* host directories there (kept) */
	char                 backup[PATH_MAX]; /* verified dump newer than the cut-over */
	bool                 backup_needed;    /* none: the run takes one */
	char                 evidence[512];
	long long            bytes;            /* given back */
} Rt;

/* checks.c: every refusal, in order; false = refused (logged once, exit
 * hint set). The backup is only looked for (t->backup, t->backup_needed);
 * rt_backup takes and tests one when there is none, else refuses. */
bool rt_checks(Rt *t);
/* "<service> cannot be retired: <reason>; nothing was removed", exit 3. */
bool rt_refuse(Rt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool rt_backup(Rt *t);
/* The fold's age as "3d 4h", "12m" into out. */
void rt_format_age(long long seconds, char *out, size_t size);

/* inputs.c */
bool rt_rollback_inputs(Rt *t);
bool rt_find_backup(Rt *t);
bool rt_take_backup(Rt *t);
/* Other containers that mount volume (names, comma-separated, into out;
 * "" when none). */
bool rt_volume_users(Rt *t, const char *volume, char *out, size_t size);

/* steps.c */
bool rt_step_inventory(Rt *t);
bool rt_step_remove_container(Rt *t);
bool rt_step_remove_volumes(Rt *t);

/* steps_table.c */
const RunnerStep *rt_steps(size_t *n);

/* state.c: the ts of a record as UTC seconds; false when not one. */
bool rt_parse_ts(const char *ts, time_t *out);

#endif
