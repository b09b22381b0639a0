/*
 * test_proc.c — what a program pgfold starts inherits: the three streams
 * it is given and nothing else (no descriptor, no ignored or blocked
 * signal), our environment with the caller's entries in place of ours.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgfold/log.h"
#include "pgfold/proc.h"
#include "pgfold/str.h"

/* Run argv with stdout into *out; its exit code. */
static int
run_capture(const char *const *argv, const char *const *env, StrBuf *out)
{
	int fds[2];
	char buf[4096];
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);

	ProcSpec spec = { .argv = argv, .env = env, .stdin_fd = PROC_DEVNULL,
					  .stdout_fd = fds[1], .stderr_fd = STDERR_FILENO };

	cr_assert(proc_spawn(&spec, &pid));
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		sb_append(out, buf, (size_t) n);
	close(fds[0]);
	return proc_wait(pid);
}

/* An inheritable descriptor (as libcurl's engine socket is) and a pipe
 * without O_CLOEXEC stay out: `ls` sees 0-2 and the directory it reads. */
Test(proc, child_gets_only_the_standard_descriptors)
{
	const char *argv[] = { "ls", "/proc/self/fd", NULL };
	StrBuf out = STRBUF_INIT;
	int leak[2];
	int fd = open("/dev/null", O_RDONLY);

	cr_assert_geq(fd, 3);
	cr_assert_eq(pipe(leak), 0);
	cr_assert_eq(dup2(leak[0], 200), 200);
	cr_assert_eq(run_capture(argv, NULL, &out), 0);
	cr_assert_str_eq(sb_str(&out), "0\n1\n2\n3\n");
	sb_free(&out);
}

/* pgfold ignores SIGPIPE, `db console` SIGINT, and a mask may be set:
 * the child starts with none of it. */
/* The signals a child of pgfold starts with ignored, from SigIgn's hex
 * mask: bit n-1 is signal n. Signals 32 .. SIGRTMIN-1 are glibc's own (its
 * sigaction refuses them), so an ignore inherited from whoever started the
 * test runner cannot be undone there and is not pgfold's doing. */
static unsigned long long
ignored_but_glibc_own(const char *status_line)
{
	unsigned long long mask = strtoull(status_line, NULL, 16);

	for (int sig = 32; sig < SIGRTMIN; sig++)
		mask &= ~(1ULL << (sig - 1));
	return mask;
}

Test(proc, child_gets_default_signals_and_an_empty_mask)
{
	const char *argv[] = { "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL };
	StrBuf out = STRBUF_INIT;
	sigset_t block;
	const char *ign;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	cr_assert_eq(run_capture(argv, NULL, &out), 0);
	cr_assert(str_has_prefix(sb_str(&out), "SigBlk:\t0000000000000000\nSigIgn:\t"),
			  "the child's mask: %s", sb_str(&out));
	ign = strstr(sb_str(&out), "SigIgn:\t") + strlen("SigIgn:\t");
	cr_assert_eq(ignored_but_glibc_own(ign), 0ULL, "the child ignores signals: %s", sb_str(&out));
	sb_free(&out);
}

/* An entry of the caller replaces ours of the same name (appended after
 * ours, the child would read ours first). */
Test(proc, caller_env_replaces_ours)
{
	const char *argv[] = { "env", NULL };     /* a shell would de-duplicate */
	const char *env[] = { "PGFOLD_T_A=inner", NULL };
	StrBuf out = STRBUF_INIT;
	size_t a = 0;

	setenv("PGFOLD_T_A", "outer", 1);
	setenv("PGFOLD_T_AB", "kept", 1);
	sb_appendc(&out, '\n');       /* every entry then starts after a newline */
	cr_assert_eq(run_capture(argv, env, &out), 0);
	for (const char *p = sb_str(&out); (p = strstr(p, "\nPGFOLD_T_A=")) != NULL; p++)
		a++;
	cr_assert_eq(a, 1, "PGFOLD_T_A set %zu times:\n%s", a, sb_str(&out));
	cr_assert_not_null(strstr(sb_str(&out), "\nPGFOLD_T_A=inner\n"));
	cr_assert_not_null(strstr(sb_str(&out), "\nPGFOLD_T_AB=kept\n"));
	sb_free(&out);
}

/* A program that cannot be run is one error line from pgfold, not a
 * message from a half-started child. */
Test(proc, exec_failure_is_reported_by_the_parent)
{
	const char *argv[] = { "/nonexistent/pgfold-test-prog", NULL };
	ProcSpec spec = { .argv = argv, .stdin_fd = PROC_DEVNULL, .stdout_fd = PROC_DEVNULL,
					  .stderr_fd = PROC_DEVNULL };
	pid_t pid = 0;

	log_set_color(false);
	log_set_level(LOG_ERROR);
	cr_redirect_stderr();
	cr_assert_not(proc_spawn(&spec, &pid));
	cr_assert_eq(pid, -1);
	fflush(stderr);
	cr_assert_stderr_eq_str("pgfold: error: cannot run /nonexistent/pgfold-test-prog: "
							"No such file or directory\n");
}

/* After proc_harden no child may dump core (RLIMIT_CORE 0 is inherited). */
Test(proc, harden_disables_core_dumps_for_children)
{
	const char *argv[] = { "grep", "^Max core file size", "/proc/self/limits", NULL };
	StrBuf out = STRBUF_INIT;
	char soft[32], hard[32];

	proc_harden();
	cr_assert_eq(run_capture(argv, NULL, &out), 0);
	cr_assert_eq(sscanf(sb_str(&out), "Max core file size %31s %31s", soft, hard), 2);
	cr_assert_str_eq(soft, "0");
	cr_assert_str_eq(hard, "0");
	sb_free(&out);
}
