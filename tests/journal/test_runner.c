/*
 * test_runner.c — the one step runner (runner.h): order, the first failure
 * stops the run, Ctrl-C between two steps, undo last row first over every
 * row (also rows an earlier crashed process ran), the abort record, the
 * fault point, and the confirmation refused without a terminal.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/exitcodes.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/runner.h"
#include "pgfold/signals.h"
#include "pgfold/str.h"

static char dir[PATH_MAX];
static Journal journal = JOURNAL_INIT;
static char run_id[JOURNAL_STAMP_LEN + 8];

/* What the steps saw, in order: "a b !c" (! = undo). */
typedef struct Trace
{
	StrBuf      seen;
	const char *fail_at;       /* this step returns false */
	const char *interrupt_at;  /* this step raises Ctrl-C, then succeeds */
	Runner     *rn;
} Trace;

static void
setup(void)
{
	fst_mkdtemp(dir);
	cr_assert(journal_open(dir, "svc", &journal));
	cr_assert(journal_new_run_id(&journal, NULL, run_id));
	exit_hint_set(EXIT_OK);
	signals_clear();
}

static void
teardown(void)
{
	journal_close(&journal);
	fst_rm_rf(dir);
}

TestSuite(runner, .init = setup, .fini = teardown);

static bool
step(Trace *t, const char *name)
{
	sb_appendf(&t->seen, "%s%s", t->seen.len ? " " : "", name);
	if (t->interrupt_at != NULL && strcmp(name, t->interrupt_at) == 0)
		signals_raise_interrupt();
	if (t->fail_at != NULL && strcmp(name, t->fail_at) == 0)
	{
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	return runner_record(t->rn, name, JOURNAL_DONE, NULL);
}

static void
undo(Trace *t, const char *name)
{
	sb_appendf(&t->seen, " !%s", name);
}

static bool run_a(void *c) { return step(c, "a"); }
static bool run_b(void *c) { return step(c, "b"); }
static bool run_c(void *c) { return step(c, "c"); }
static void undo_a(void *c) { undo(c, "a"); }
static void undo_c(void *c) { undo(c, "c"); }

static const RunnerStep table[] = {
	{ "a", run_a, undo_a }, { "b", run_b, NULL }, { "c", run_c, undo_c },
};

static Runner
runner_for(Trace *t)
{
	Runner rn = { .journal = &journal, .op = JOURNAL_MIGRATE, .run_id = run_id, .ctx = t };

	return rn;
}

Test(runner, runs_every_row_in_order_and_journals_them)
{
	Trace t = { .seen = STRBUF_INIT };
	Runner rn = runner_for(&t);

	t.rn = &rn;
	cr_assert(runner_run(&rn, table, 3));
	cr_assert_str_eq(sb_str(&t.seen), "a b c");
	cr_assert_not_null(runner_done(&rn, "c"));
	cr_assert_null(runner_done(&rn, "d"));
	sb_free(&t.seen);
}

Test(runner, first_failure_stops_and_undo_walks_every_row_backwards)
{
	Trace t = { .seen = STRBUF_INIT, .fail_at = "b" };
	Runner rn = runner_for(&t);
	json_t *fields = json_pack("{s:s}", "after", "a"), *abort;

	t.rn = &rn;
	cr_assert_not(runner_run(&rn, table, 3));
	cr_assert_str_eq(sb_str(&t.seen), "a b");
	/* c never ran in this process; a crashed earlier one may have: its
	 * undo is called too and decides for itself */
	runner_undo(&rn, table, 3, fields);
	cr_assert_str_eq(sb_str(&t.seen), "a b !c !a");
	abort = journal_step(&journal, run_id, JOURNAL_STEP_ABORT);
	cr_assert_not_null(abort);
	cr_assert_eq(json_integer_value(json_object_get(abort, "exit")), EXIT_BLOCKED);
	cr_assert_str_eq(json_string_value(json_object_get(abort, "after")), "a");
	cr_assert_str_eq(json_string_value(json_object_get(abort, "status")), "failed");
	cr_assert_str_eq(json_string_value(json_object_get(fields, "after")), "a",
					 "the caller's fields are its own");
	json_decref(fields);
	sb_free(&t.seen);
}

Test(runner, ctrl_c_is_honoured_between_two_steps_not_inside_one)
{
	Trace t = { .seen = STRBUF_INIT, .interrupt_at = "a" };
	Runner rn = runner_for(&t);

	t.rn = &rn;
	cr_assert_not(runner_run(&rn, table, 3));
	cr_assert_str_eq(sb_str(&t.seen), "a", "b must not start after Ctrl-C");
	cr_assert_not_null(runner_done(&rn, "a"), "a finished and was journaled");
	cr_assert_eq(exit_hint_get(), EXIT_INTERRUPTED);
	runner_undo(&rn, table, 3, NULL);
	cr_assert_not(signals_interrupted(), "undo runs with the interruption cleared");
	cr_assert_str_eq(sb_str(&t.seen), "a !c !a");
	sb_free(&t.seen);
}

static void
timed(void *ctx, const char *name, double began, double ended)
{
	Trace *t = ctx;

	sb_appendf(&t->seen, " %s:%s", name, ended >= began ? "timed" : "backwards");
}

Test(runner, every_successful_step_is_timed)
{
	Trace t = { .seen = STRBUF_INIT, .fail_at = "c" };
	Runner rn = runner_for(&t);

	rn.timed = timed;
	t.rn = &rn;
	cr_assert_not(runner_run(&rn, table, 3));
	cr_assert_str_eq(sb_str(&t.seen), "a a:timed b b:timed c");
	sb_free(&t.seen);
}

Test(runner, fault_point_ends_the_process_after_the_done_record, .exit_code = 99)
{
	Trace t = { .seen = STRBUF_INIT };
	Runner rn = runner_for(&t);

	t.rn = &rn;
	setenv("PGFOLD_FAULT_AFTER", "b", 1);
	runner_run(&rn, table, 3);
	cr_assert_fail("the run went on past the fault point");
}

Test(runner, fault_point_record_is_durable_before_the_crash)
{
	Journal j = JOURNAL_INIT;
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
	{
		Trace t = { .seen = STRBUF_INIT };
		Runner rn = runner_for(&t);

		t.rn = &rn;
		setenv("PGFOLD_FAULT_AFTER", "b", 1);
		runner_run(&rn, table, 3);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 99);
	cr_assert(journal_open(dir, "svc", &j));
	cr_assert_not_null(journal_step_done(&j, run_id, "b"));
	cr_assert_null(journal_step(&j, run_id, "c"), "c must not have begun");
	journal_close(&j);
}

Test(runner, confirm_without_a_terminal_refuses_with_the_fix, .init = cr_redirect_stderr)
{
	char line[256] = "";
	FILE *err;

	int null = open("/dev/null", O_RDONLY);

	cr_assert_geq(null, 0);
	cr_assert_eq(dup2(null, STDIN_FILENO), STDIN_FILENO);
	close(null);
	cr_assert(runner_confirm(true, false, "Drop it?", "not dropping"), "--yes asks nothing");
	cr_assert_not(runner_confirm(false, true, "Drop it?", "not dropping"));
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);
	fflush(stderr);
	err = cr_get_redirected_stderr();
	cr_assert_not_null(fgets(line, sizeof(line), err));
	cr_assert_not_null(strstr(line, "not dropping: no terminal to ask on; re-run with --yes "
							  "(or --dry-run to see what would happen)"), "%s", line);
}
