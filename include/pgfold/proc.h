/*
 * proc.h — pgfold's own process hygiene and the one way it starts a local
 * program (compose, pg_restore, psql, ...).
 *
 * A child gets exactly what is meant for it: the three standard streams
 * the caller names, no other descriptor of ours (the engine's keep-alive
 * socket, the run log), default signal dispositions and an empty signal
 * mask, and our environment with the caller's additions. The one
 * exception is the stack lock, for a child that acts on the stack (compose,
 * a local pg_restore): it holds the lock with us, so a pgfold killed with
 * -9 leaves its stack locked until what it started has ended too, and a
 * re-run cannot race an orphaned `compose up` (see lock_acquire).
 * Signals stay blocked from fork until the child has reset its handlers,
 * so a Ctrl-C in between cannot run pgfold's handler in the child.
 */
#ifndef PGFOLD_PROC_H
#define PGFOLD_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* At the start of main: no core dump may carry a password (RLIMIT_CORE 0,
 * not dumpable: /proc/<pid>/ of pgfold becomes root's), and fds 0-2 are
 * open (on /dev/null if they were closed) so no file or pipe opened later
 * takes a standard stream's number. Children inherit RLIMIT_CORE 0. */
void proc_harden(void);

#define PROC_DEVNULL (-1)   /* the stream is /dev/null in the child */

typedef struct ProcSpec
{
	const char *const *argv;    /* argv[0] is looked up in PATH */
	const char *const *env;     /* "K=V" added to ours (replacing K), NULL-terminated, may be NULL */
	int stdin_fd;               /* an fd of ours, PROC_DEVNULL, or STDIN_FILENO to share ours */
	int stdout_fd;
	int stderr_fd;
	bool holds_stack_lock;      /* inherits the stack lock, when we hold one */
} ProcSpec;

/* The stack lock's descriptor while we hold it, -1 once released: what a
 * child with holds_stack_lock inherits (journal's lock_acquire/release). */
void proc_stack_lock_set(int fd);

/* Start it; false (logged: "cannot run <argv[0]>: <why>") when it could
 * not be forked or exec'd. The caller reaps *pid with proc_wait. */
bool proc_spawn(const ProcSpec *spec, pid_t *pid);

/* Wait for pid (through EINTR): its exit code, 128+N when killed by
 * signal N, -1 when waitpid fails (logged). */
int proc_wait(pid_t pid);

/* Is program an executable file in one of $PATH's directories? */
bool proc_on_path(const char *program);

#endif
