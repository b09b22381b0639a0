/*
 * test_crash.c — a crash right after each step (PGFOLD_FAULT_AFTER=<step>:
 * the process _exit(99)s as soon as the step is journaled, with no cleanup,
 * as kill -9 or a power loss would) and then a plain re-run: the re-run
 * must finish the same migration — the data verified on the shared
 * instance, the files right, one database and one role, one completed run
 * in the journal.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mig.h"

/* src/migrate/run_internal.h, in order */
static const char *const steps[] = {
	"save-original", "stop-apps", "role", "stream", "ownership", "verify", "files",
	"cutover", "apply",
};
#define STEP_COUNT (sizeof(steps) / sizeof(steps[0]))

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

ParameterizedTestParameters(migrate_crash, after_step)
{
	static int index[STEP_COUNT];

	for (size_t i = 0; i < STEP_COUNT; i++)
		index[i] = (int) i;
	return cr_make_param_array(int, index, STEP_COUNT);
}

ParameterizedTest(int *step, migrate_crash, after_step, .fini = teardown, .timeout = 600)
{
	const char *name = steps[*step];
	char fault[64], msg[128], svc[96];
	const char *env[] = { fault, NULL };
	MigRun r;

	str_format(fault, sizeof(fault), "PGFOLD_FAULT_AFTER=%s", name);
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	mig_pgfold(&stack, &r, env, "migrate", svc, "--yes", NULL);
	str_format(msg, sizeof(msg), "migrate with %s", fault);
	mig_expect_exit(&r, 99, msg);
	cr_assert_not_null(strstr(sb_str(&r.err), name), "%s:\n%s", msg, sb_str(&r.err));
	cr_assert_eq(mig_journal_count(&stack, svc, name, "done"), 1,
				 "step %s is not journaled as done before the crash", name);
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	str_format(msg, sizeof(msg), "re-run after a crash after %s", name);
	mig_expect_exit(&r, 0, msg);
	mig_run_free(&r);

	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *dbs = mig_shared_databases(&stack), *roles = mig_shared_roles(&stack);

	cr_assert_str_eq(dbs, "docmost", "after a crash after %s: databases %s", name, dbs);
	cr_assert_str_eq(roles, "docmost", "after a crash after %s: roles %s", name, roles);
	cr_assert_eq(mig_journal_count(&stack, svc, "complete", "done"), 1,
				 "after a crash after %s: no completed run in the journal", name);
	cr_expect_eq(mig_journal_runs(&stack, svc), 1,
				 "after a crash after %s: the re-run started another run instead of resuming",
				 name);
	cr_expect_eq(mig_journal_count(&stack, svc, "abort", NULL), 0,
				 "after a crash after %s: the re-run aborted something", name);
	mig_assert_rerun_noop(&stack, &mig_docmost);
	free(dbs);
	free(roles);
	free(fp);
}
