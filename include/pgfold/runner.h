/*
 * runner.h — one step runner for every journaled run (migrate, rollback,
 * retire, rename, schema): a run is a table of steps {name, run, undo}.
 *
 * The runner runs the rows in order and stops at the first that fails or
 * when Ctrl-C/SIGTERM arrived between two (exit hint EXIT_INTERRUPTED);
 * each step journals itself through runner_record, which is also where
 * tests inject a crash (PGFOLD_FAULT_AFTER=<step>: the process ends on the
 * spot right after that step's "done" record is durable, as kill -9 would).
 * Undo walks the table backwards and calls every row's undo, including rows
 * a crashed earlier process ran: an undo must therefore be idempotent and
 * decide from the journal and the world, not from this process's memory
 * alone. The journal then gets the run's "abort" record, so it is never
 * resumed.
 *
 * One confirmation question for every command that changes things.
 */
#ifndef PGFOLD_RUNNER_H
#define PGFOLD_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pgfold/journal.h"

typedef struct RunnerStep
{
	const char *name;               /* the journal step name (journal.h) */
	bool      (*run)(void *ctx);    /* false: failed, error logged, exit hint set */
	void      (*undo)(void *ctx);   /* NULL: the step changes nothing to put back */
} RunnerStep;

typedef struct Runner
{
	Journal    *journal;
	JournalOp   op;
	const char *run_id;
	void       *ctx;                /* handed to every step */
	/* optional: after each step that succeeded, with its monotonic times
	 * (clock_now); migrate and rollback time the apps' downtime here */
	void      (*timed)(void *ctx, const char *step, double began, double ended);
} Runner;

/* Every row in order; false at the first failure or interruption. */
bool runner_run(const Runner *rn, const RunnerStep *steps, size_t n);

/* Every row's undo, last row first, then the run's "abort" record with
 * fields (may be NULL; "exit" is added from the exit hint). */
void runner_undo(const Runner *rn, const RunnerStep *steps, size_t n, json_t *fields);

/* Append a record of this run; a "done" record is a fault point. */
bool runner_record(const Runner *rn, const char *step, JournalStatus status, json_t *fields);

/* The step's "done" record in this run, or NULL (borrowed). */
json_t *runner_done(const Runner *rn, const char *step);

/* PGFOLD_FAULT_AFTER=<step>: end the process now, with no clean-up. */
void runner_fault_point(const char *step);

/*
 * Ask question ("... [y/N]" is added) on the terminal unless yes. Without a
 * terminal, or on any answer but y/Y: "<refusal>: ..." logged once, exit
 * hint EXIT_USAGE, false. dry_run: the command has --dry-run (said in the
 * hint).
 */
bool runner_confirm(bool yes, bool dry_run, const char *question, const char *refusal);

#endif
