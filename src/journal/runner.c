/*
 * runner.c — the one step runner of journaled runs. See runner.h.
 */
#include "pgfold/runner.h"

#include "pgfold/downtime.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
runner_fault_point(const char *step)
{
	const char *fault = getenv("PGFOLD_FAULT_AFTER");

	if (fault != NULL && step != NULL && strcmp(fault, step) == 0)
	{
		fprintf(stderr, "pgfold: fault injected after step %s\n", step);
		_exit(99);
	}
}

bool
runner_record(const Runner *rn, const char *step, JournalStatus status, json_t *fields)
{
	if (!journal_append(rn->journal, rn->op, rn->run_id, step, status, fields))
		return false;
	if (status == JOURNAL_DONE)
		runner_fault_point(step);
	return true;
}

json_t *
runner_done(const Runner *rn, const char *step)
{
	return journal_step_done(rn->journal, rn->run_id, step);
}

bool
runner_run(const Runner *rn, const RunnerStep *steps, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		double began = clock_now();

		/* between two steps only: a step is never cut in half by Ctrl-C */
		if (signals_interrupted())
		{
			log_error("interrupted before step %s (%zu of %zu); undoing what this run changed",
					  steps[i].name, i + 1, n);
			exit_hint_set(EXIT_INTERRUPTED);
			return false;
		}
		if (!steps[i].run(rn->ctx))
			return false;
		if (rn->timed != NULL)
			rn->timed(rn->ctx, steps[i].name, began, clock_now());
	}
	return true;
}

void
runner_undo(const Runner *rn, const RunnerStep *steps, size_t n, json_t *fields)
{
	json_t *f = fields != NULL ? json_deep_copy(fields) : json_object();

	/* the undo itself must not be cut short by the signal that began it */
	if (signals_interrupted())
		signals_clear();
	for (size_t i = n; i-- > 0;)
		if (steps[i].undo != NULL)
			steps[i].undo(rn->ctx);
	json_object_set_new(f, "exit", json_integer(exit_hint_get()));
	journal_append(rn->journal, rn->op, rn->run_id, JOURNAL_STEP_ABORT, JOURNAL_FAILED, f);
	json_decref(f);
}

bool
runner_confirm(bool yes, bool dry_run, const char *question, const char *refusal)
{
	char answer[16];

	if (yes)
		return true;
	if (!isatty(STDIN_FILENO))
	{
		log_error("%s: no terminal to ask on; re-run with --yes%s", refusal,
				  dry_run ? " (or --dry-run to see what would happen)" : "");
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (fgets(answer, sizeof(answer), stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
	{
		log_notice("%s: not confirmed", refusal);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	return true;
}
