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
#include "pgfold/exitcodes.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
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
