/*
 * test_retire_crash.c — a crash right after each step of a retire
 * (PGFOLD_FAULT_AFTER=<step>: _exit(99) once the step is journaled, as
 * kill -9 would), each followed by a re-run: from the operator's view
 * nothing is removed (before remove-container: `status` says migrated, the
 * container and volume are there) or it is retired (from remove-container
 * on: `status` says retired and the next run finishes); a plain re-run
 * converges to one completed retire that gives back what the engine said
 * the volume held.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "retire/rtt.h"

#include "pgfold/journal.h"

static RbtStack stack;
static pid_t session = -1;

static void
cleanup(void)
{
	rtt_session_end(session);
	rbt_destroy(&stack);
}

TestSuite(retire_crash, .fini = cleanup, .timeout = 1200);

static void
expect_state(const char *state)
{
	MigRun r;
	char want[160];

	mig_pgfold(&stack.s, &r, NULL, "status", stack.svc, NULL);
	mig_expect_exit(&r, 0, "status");
	str_format(want, sizeof(want), "%s %s", stack.svc, state);
	cr_assert(strstr(sb_str(&r.out), state) != NULL, "status is not %s:\n%s", state,
			  sb_str(&r.out));
	mig_run_free(&r);
}

Test(retire_crash, after_each_step_then_rerun)
{
	static const char *const steps[] = { RT_STEP_INVENTORY, RT_STEP_REMOVE_CONTAINER,
										 RT_STEP_REMOVE_VOLUMES };
	char dbc[160], fault[64], want[96];
	char *volume;
	long long size;
	MigRun r;

	rbt_migrated(&stack, &mig_docmost);
	str_copy(dbc, sizeof(dbc), mig_name(&stack.s, mig_docmost.db_container));
	volume = rtt_data_volume(&stack);
	size = rtt_engine_volume_size(volume);
	session = rtt_session_start(&stack);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
	{
		const char *env[] = { fault, NULL };

		str_format(fault, sizeof(fault), "PGFOLD_FAULT_AFTER=%s", steps[i]);
		mig_pgfold(&stack.s, &r, env, "retire", stack.svc, "--min-age", "0", "--yes", NULL);
		mig_expect_exit(&r, 99, steps[i]);
		mig_run_free(&r);
		if (i == 0)
		{
			/* nothing removed yet */
			expect_state("migrated");
			cr_assert(rtt_container_exists(dbc) && rtt_volume_exists(volume),
					  "removed before remove-container");
		}
		else
		{
			expect_state("retired");
			cr_assert(!rtt_container_exists(dbc), "%s is there after %s", dbc, steps[i]);
		}
	}
	cr_assert(!rtt_volume_exists(volume), "%s is there after remove-volumes", volume);

	RTT_RETIRE(&stack, &r, 0, NULL, "--min-age", "0", "--yes", NULL);
	str_format(want, sizeof(want), "given back (%lld bytes)", size);
	cr_assert(strstr(sb_str(&r.out), want) != NULL, "want \"%s\":\n%s%s", want, sb_str(&r.out),
			  sb_str(&r.err));
	mig_run_free(&r);
	cr_assert_eq(mig_journal_count(&stack.s, stack.svc, "complete", "done"), 2,
				 "one migrate and one retire completed");
	cr_assert_eq(mig_journal_count(&stack.s, stack.svc, "inventory", "done"), 1,
				 "the re-runs started new retire runs");
	expect_state("retired");
	RTT_RETIRE(&stack, &r, 0, NULL, "--min-age", "0", "--yes", NULL);
	cr_assert(strstr(sb_str(&r.out), "already retired") != NULL, "%s", sb_str(&r.out));
	mig_run_free(&r);
	free(volume);
}

/* A rollback interrupted (here right after it stopped the apps) is
 * finished first: retire refuses and removes nothing. */
Test(retire_crash, refused_while_a_rollback_is_unfinished)
{
	const char *env[] = { "PGFOLD_FAULT_AFTER=" RB_STEP_STOP, NULL };
	char dbc[160];
	char *volume;
	MigRun r;

	rbt_migrated(&stack, &mig_docmost);
	str_copy(dbc, sizeof(dbc), mig_name(&stack.s, mig_docmost.db_container));
	volume = rtt_data_volume(&stack);
	session = rtt_session_start(&stack);
	mig_pgfold(&stack.s, &r, env, "rollback", stack.svc, "--yes", NULL);
	mig_expect_exit(&r, 99, "rollback");
	mig_run_free(&r);
	RTT_RETIRE(&stack, &r, 3, NULL, "--min-age", "0", "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), "is unfinished: finish it first") != NULL, "%s",
			  sb_str(&r.err));
	mig_run_free(&r);
	cr_assert(rtt_container_exists(dbc) && rtt_volume_exists(volume));
	free(volume);
}
