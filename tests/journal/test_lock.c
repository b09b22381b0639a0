/*
 * test_lock.c — the stack lock: exclusive across processes, fails fast
 * naming the holder, released whenever the holder goes away.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "lab.h"
#include "pgfold/exitcodes.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/proc.h"
#include "pgfold/signals.h"
#include "pgfold/str.h"

static char dir[PATH_MAX];

static void
setup(void)
{
	fst_mkdtemp(dir);
	exit_hint_reset();
}

static void
teardown(void)
{
	log_close_file();
	fst_rm_rf(dir);
}

TestSuite(journal_lock, .init = setup, .fini = teardown);

typedef struct Holder
{
	pid_t pid;
	int   release_fd;   /* close it to let a waiting holder release and exit */
} Holder;

/*
 * A child that takes the lock, says so on a pipe, then waits: until the
 * release pipe closes (then releases and exits 0), or forever when
 * `forever` (to be killed).
 */
static Holder
start_holder(const char *what, bool forever)
{
	int ready[2], release[2];
	Holder h;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	h.pid = fork();
	cr_assert_neq(h.pid, -1);
	if (h.pid == 0)
	{
		Lock lock = LOCK_INIT;
		char c;

		close(ready[0]);
		close(release[1]);
		if (!lock_acquire(dir, what, &lock))
			_exit(2);
		if (write(ready[1], "L", 1) != 1)
			_exit(3);
		if (forever)
			for (;;)
				pause();
		while (read(release[0], &c, 1) > 0)
			;
		lock_release(&lock);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);

	char c = 0;

	cr_assert_eq(read(ready[0], &c, 1), 1, "the holder did not get the lock");
	cr_assert_eq(c, 'L');
	close(ready[0]);
	h.release_fd = release[1];
	return h;
}

static void
stop_holder(Holder *h, bool kill_it)
{
	int status;

	if (kill_it)
		cr_assert_eq(kill(h->pid, SIGKILL), 0);
	close(h->release_fd);
	cr_assert_eq(waitpid(h->pid, &status, 0), h->pid);
	if (kill_it)
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	else
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "holder status %d", status);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

Test(journal_lock, acquire_writes_holder_and_releases)
{
	Lock lock = LOCK_INIT;
	LockHolder h;

	cr_assert(lock_acquire(dir, "migrate docmost", &lock));
	cr_assert(lock_read_holder(dir, &h));
	cr_assert_eq(h.pid, (long) getpid());
	cr_assert_str_eq(h.command, "migrate docmost");
	cr_assert_eq(strlen(h.started), 20, "started: %s", h.started);
	cr_assert_eq(h.started[19], 'Z');
	lock_release(&lock);
	lock_release(&lock);   /* twice: harmless */
	cr_assert_not(lock_read_holder(dir, &h), "a released lock names nobody");

	/* And it can be taken again. */
	cr_assert(lock_acquire(dir, "status", &lock));
	lock_release(&lock);
}

Test(journal_lock, busy_fails_fast_naming_the_holder, .timeout = 30)
{
	char logpath[PATH_MAX], pidtext[64];
	Holder h = start_holder("migrate docmost", false);
	Lock lock = LOCK_INIT;
	LockHolder who;

	fst_join(logpath, dir, "lock.log");
	cr_assert(log_open_file(logpath));

	double t0 = now_s();

	cr_assert_not(lock_acquire(dir, "rollback docmost", &lock));
	cr_assert_lt(now_s() - t0, 2.0, "must not wait for the holder");
	cr_assert_eq(exit_hint_get(), EXIT_LOCKED);
	cr_assert_eq(lock.fd, -1);
	log_close_file();

	char *log = fst_slurp(logpath, NULL);

	str_format(pidtext, sizeof(pidtext), "another pgfold (pid %ld, `migrate docmost`, started ",
			   (long) h.pid);
	cr_assert_not_null(strstr(log, pidtext), "%s", log);
	cr_assert_not_null(strstr(log, dir), "the message names the root: %s", log);
	cr_assert_not_null(strstr(log, "wait for it or check that process"), "%s", log);
	free(log);

	cr_assert(lock_read_holder(dir, &who));
	cr_assert_eq(who.pid, (long) h.pid);

	/* A clean release by the holder frees it. */
	stop_holder(&h, false);
	exit_hint_reset();
	cr_assert(lock_acquire(dir, "rollback docmost", &lock));
	lock_release(&lock);
}

Test(journal_lock, sigkilled_holder_releases_the_lock, .timeout = 30)
{
	Holder h = start_holder("migrate joplin", true);
	Lock lock = LOCK_INIT;
	LockHolder who;

	cr_assert_not(lock_acquire(dir, "migrate odoo", &lock));
	stop_holder(&h, true);

	/* The file still names the dead process; that does not block. */
	cr_assert(lock_read_holder(dir, &who));
	cr_assert_eq(who.pid, (long) h.pid);
	exit_hint_reset();
	cr_assert(lock_acquire(dir, "migrate odoo", &lock));
	cr_assert(lock_read_holder(dir, &who));
	cr_assert_eq(who.pid, (long) getpid());
	cr_assert_str_eq(who.command, "migrate odoo");
	lock_release(&lock);
}

Test(journal_lock, stale_file_does_not_block)
{
	char path[PATH_MAX];
	const char stale[] = "{\"pid\":999999,\"command\":\"migrate x\",\"started\":\"2020-01-01T00:00:00Z\"}\n";
	Lock lock = LOCK_INIT;

	fst_join(path, dir, LOCK_FILE_NAME);
	fst_put(path, stale, sizeof(stale) - 1);
	cr_assert(lock_acquire(dir, "plan", &lock));
	lock_release(&lock);
}

Test(journal_lock, missing_root_is_not_reported_as_locked)
{
	char root[PATH_MAX];
	Lock lock = LOCK_INIT;

	fst_join(root, dir, "nope");
	cr_assert_not(lock_acquire(root, "plan", &lock));
	cr_assert_neq(exit_hint_get(), EXIT_LOCKED);
}

/*
 * A pgfold that started a program acting on the stack (compose up) and was
 * then killed with -9: the program goes on, and so must the lock, or a
 * re-run recreates the same containers beside it (found by the fault
 * trials: kill -9 in `apply`, the re-run's `compose up` failed). A child
 * marked holds_stack_lock keeps it; the next acquirer waits for it, names
 * it, and gets the lock when it ends. *child gets the program's pid.
 */
static pid_t
holder_with_child(bool holds, double child_seconds, pid_t *child)
{
	int ready[2];
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
	{
		Lock lock = LOCK_INIT;
		char secs[32];
		const char *argv[] = { "sleep", secs, NULL };
		ProcSpec spec = { .argv = argv, .stdin_fd = PROC_DEVNULL, .stdout_fd = PROC_DEVNULL,
						  .stderr_fd = PROC_DEVNULL, .holds_stack_lock = holds };
		pid_t kid = -1;

		close(ready[0]);
		str_format(secs, sizeof(secs), "%.1f", child_seconds);
		if (!lock_acquire(dir, "migrate docmost", &lock) || !proc_spawn(&spec, &kid)
			|| write(ready[1], &kid, sizeof(kid)) != sizeof(kid))
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], child, sizeof(*child)), (ssize_t) sizeof(*child),
				 "the holder did not start its program");
	close(ready[0]);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

Test(journal_lock, an_orphaned_program_keeps_the_lock_and_the_next_run_waits, .timeout = 30)
{
	char logpath[PATH_MAX], says[160];
	Lock lock = LOCK_INIT;
	pid_t child, holder;
	char *log;

	fst_join(logpath, dir, "lock.log");
	cr_assert(log_open_file(logpath));
	holder = holder_with_child(true, 2.0, &child);
	cr_assert(lock_acquire(dir, "migrate docmost", &lock), "the lock once the program ended");
	cr_assert_not(lab_pid_running(child), "the program still runs though the lock was taken");
	lock_release(&lock);
	log_close_file();
	log = fst_slurp(logpath, NULL);
	str_format(says, sizeof(says), "the interrupted pgfold (pid %ld, `migrate docmost`) is gone, "
			   "but what it started on %s still runs (pid %ld (sleep))", (long) holder, dir,
			   (long) child);
	cr_assert_not_null(strstr(log, says), "%s", log);
	cr_assert_not_null(strstr(log, "has ended; going on"), "%s", log);
	free(log);
}

Test(journal_lock, a_program_not_acting_on_the_stack_does_not_hold_it, .timeout = 30)
{
	Lock lock = LOCK_INIT;
	pid_t child;
	double t0;

	holder_with_child(false, 5.0, &child);
	t0 = now_s();
	cr_assert(lock_acquire(dir, "migrate docmost", &lock));
	cr_assert_lt(now_s() - t0, 1.0, "waited %.2f s for a program that never held it",
				 now_s() - t0);
	cr_assert(lab_pid_running(child), "the program should still run");
	lock_release(&lock);
	kill(child, SIGKILL);
}

Test(journal_lock, an_orphan_that_does_not_end_is_named_after_the_wait, .timeout = 30)
{
	char logpath[PATH_MAX], says[PATH_MAX + 160];
	Lock lock = LOCK_INIT;
	pid_t child, holder;
	double t0;
	char *log;

	fst_join(logpath, dir, "lock.log");
	cr_assert(log_open_file(logpath));
	holder = holder_with_child(true, 8.0, &child);
	lock_orphans_wait_set(1);
	t0 = now_s();
	cr_assert_not(lock_acquire(dir, "migrate docmost", &lock));
	lock_orphans_wait_set(0);
	cr_assert_geq(now_s() - t0, 1.0);
	cr_assert_lt(now_s() - t0, 4.0, "waited %.2f s, past its bound", now_s() - t0);
	cr_assert_eq(exit_hint_get(), EXIT_LOCKED);
	cr_assert_eq(lock.fd, -1);
	log_close_file();
	log = fst_slurp(logpath, NULL);
	str_format(says, sizeof(says), "the lock on %s is still held after 1 s by what the "
			   "interrupted pgfold (pid %ld) started: pid %ld (sleep); check those processes "
			   "(`fuser -v %s/" LOCK_FILE_NAME "`)", dir, (long) holder, (long) child, dir);
	cr_assert_not_null(strstr(log, says), "%s", log);
	free(log);
	kill(child, SIGKILL);
}

Test(journal_lock, ctrl_c_while_waiting_for_an_orphan_is_an_interruption, .timeout = 30)
{
	Lock lock = LOCK_INIT;
	pid_t child;

	holder_with_child(true, 8.0, &child);
	signals_raise_interrupt();
	cr_assert_not(lock_acquire(dir, "migrate docmost", &lock));
	signals_clear();
	cr_assert_eq(exit_hint_get(), EXIT_INTERRUPTED, "exit %d", exit_hint_get());
	cr_assert_eq(lock.fd, -1);
	cr_assert(lab_pid_running(child), "the orphan is left alone");
	kill(child, SIGKILL);
}
