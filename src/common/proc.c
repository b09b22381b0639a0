/*
 * proc.c — process hygiene and spawning local programs; see proc.h.
 */
#include "pgfold/proc.h"

#include "pgfold/log.h"
#include "pgfold/str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The stack lock, while held: see proc_stack_lock_set. */
static int stack_lock_fd = -1;

void
proc_stack_lock_set(int fd)
{
	stack_lock_fd = fd;
}

void
proc_harden(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (int fd = 0; fd <= STDERR_FILENO; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
}

/* Is entry ("K=V") a setting of a name that one of extra sets too? */
static bool
overridden(const char *entry, const char *const *extra)
{
	size_t klen = strcspn(entry, "=");

	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		if (strncmp(extra[i], entry, klen) == 0 && extra[i][klen] == '=')
			return true;
	return false;
}

/* Our environment with extra's entries in place of any of the same name
 * (appended after ours, a name would be read from our copy first). Built
 * before fork: the child must not allocate. */
static char **
child_env(const char *const *extra)
{
	size_t n = str_vec_len((const char *const *) environ), k = 0;
	size_t nextra = str_vec_len(extra);
	char **envp = xcalloc(n + nextra + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		if (!overridden(environ[i], extra))
			envp[k++] = environ[i];
	for (size_t i = 0; i < nextra; i++)
		envp[k++] = (char *) extra[i];
	envp[k] = NULL;
	return envp;
}

/* Close every fd from 3 on but those in keep (ascending, -1 for none);
 * a loop where close_range is missing (kernels before 5.9). */
static void
close_all_but(const int keep[2])
{
	struct rlimit rl;
	unsigned from = STDERR_FILENO + 1;
	int last = 65535;
	bool ok = true;

	for (int i = 0; i < 2 && ok; i++)
		if (keep[i] >= (int) from)
		{
			ok = keep[i] == (int) from || close_range(from, (unsigned) keep[i] - 1, 0) == 0;
			from = (unsigned) keep[i] + 1;
		}
	if (ok && close_range(from, ~0U, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
		last = (int) rl.rlim_cur - 1;
	for (int fd = STDERR_FILENO + 1; fd <= last; fd++)
		if (fd != keep[0] && fd != keep[1])
			close(fd);
}

/* Child side of fork: only async-signal-safe calls until exec. A failure
 * is reported to the parent as the errno through errpipe. */
static void
exec_child(const ProcSpec *spec, char *const *envp, int errpipe)
{
	const int wanted[3] = { spec->stdin_fd, spec->stdout_fd, spec->stderr_fd };
	int lock_fd = spec->holds_stack_lock ? stack_lock_fd : -1;
	int keep[2] = { errpipe, lock_fd };
	struct sigaction dfl;
	sigset_t none;
	int err;

	/* pgfold ignores SIGPIPE (and `db console` SIGINT): an ignored
	 * disposition survives exec, so every one is reset; the mask last,
	 * so a signal that arrived meanwhile now takes its default action */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	for (int i = 0; i < 3; i++)
	{
		int fd = wanted[i] == PROC_DEVNULL ? open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY)
			: wanted[i];

		if (fd < 0 || (fd != i && dup2(fd, i) < 0))
			goto fail;
	}
	/* the lock survives exec: its flock is the open file's, shared */
	if (lock_fd > STDERR_FILENO && fcntl(lock_fd, F_SETFD, 0) != 0)
		goto fail;
	if (lock_fd < errpipe)
	{
		keep[0] = lock_fd;
		keep[1] = errpipe;
	}
	close_all_but(keep);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(spec->argv[0], (char *const *) spec->argv, envp);
fail:
	err = errno;
	if (write(errpipe, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(127);
}

bool
proc_spawn(const ProcSpec *spec, pid_t *pid_out)
{
	int errpipe[2], err = 0;
	sigset_t all, saved;
	ssize_t n;

	*pid_out = -1;
	if (pipe2(errpipe, O_CLOEXEC) != 0)
	{
		log_error("cannot run %s: %s", spec->argv[0], strerror(errno));
		return false;
	}

	char **envp = child_env(spec->env);

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);

	pid_t pid = fork();

	if (pid == 0)
	{
		close(errpipe[0]);
		exec_child(spec, envp, errpipe[1]);
	}
	err = errno;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	free(envp);
	close(errpipe[1]);
	if (pid < 0)
	{
		close(errpipe[0]);
		log_error("cannot run %s: cannot fork: %s", spec->argv[0], strerror(err));
		return false;
	}
	/* The pipe closes on exec: no bytes means it runs. */
	while ((n = read(errpipe[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(errpipe[0]);
	if (n > 0)
	{
		proc_wait(pid);
		log_error("cannot run %s: %s", spec->argv[0], strerror(err));
		return false;
	}
	*pid_out = pid;
	return true;
}

int
proc_wait(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
		{
			log_error("waiting for process %ld failed: %s", (long) pid, strerror(errno));
			return -1;
		}
	return WIFEXITED(status) ? WEXITSTATUS(status)
		: 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool
proc_on_path(const char *program)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX], full[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;)
	{
		size_t n = strcspn(p, ":");

		if (n > 0 && str_format(dir, sizeof(dir), "%.*s", (int) n, p)
			&& str_format(full, sizeof(full), "%s/%s", dir, program) && access(full, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}
