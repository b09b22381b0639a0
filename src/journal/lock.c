/*
 * lock.c — one pgfold at a time per stack root; see journal.h.
 *
 * flock, not a pid file: the kernel drops the lock when its holder exits,
 * even on SIGKILL or a power loss, so there is never a stale lock to clear
 * by hand. The file's content is only a courtesy that names the holder.
 *
 * The children that act on the stack (compose, a local pg_restore) share
 * the lock (proc.h): a pgfold killed with -9 in the middle of `compose up`
 * leaves that compose running, still holding it. The next run finds the
 * named holder gone and the lock held, and waits for those programs to end
 * rather than recreate the same containers beside them.
 */
#include "pgfold/journal.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/proc.h"
#include "pgfold/signals.h"
#include "pgfold/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The holder writes its details right after flock: give it a moment. */
#define HOLDER_READ_TRIES 20
#define HOLDER_READ_PAUSE_NS (10 * 1000 * 1000L)

/* How long a run waits for what an interrupted run left running: compose
 * recreating a stack's containers takes seconds, rarely a minute. */
#define ORPHANS_WAIT_SECONDS 300
#define ORPHANS_POLL_NS (100 * 1000 * 1000L)

static int orphans_wait_s = ORPHANS_WAIT_SECONDS;

void
lock_orphans_wait_set(int seconds)
{
	orphans_wait_s = seconds > 0 ? seconds : ORPHANS_WAIT_SECONDS;
}

static bool
lock_path(const char *root, char *out, size_t outsize)
{
	if (!str_format(out, outsize, "%s/" LOCK_FILE_NAME, root))
	{
		log_error("path too long: \"%s\"", root);
		return false;
	}
	return true;
}

static bool
parse_holder(const char *text, size_t len, LockHolder *out)
{
	json_t *obj = json_loadb(text, len, 0, NULL);
	json_int_t pid = 0;
	const char *command = NULL, *started = "", *host = "";

	memset(out, 0, sizeof(*out));
	if (obj == NULL || json_unpack(obj, "{s:I, s:s, s?s, s?s}", "pid", &pid, "command", &command,
								   "started", &started, "host", &host) != 0 || pid <= 0)
	{
		json_decref(obj);
		return false;
	}
	out->pid = (long) pid;
	/* Display only: truncation is harmless. */
	str_copy(out->command, sizeof(out->command), command);
	str_copy(out->started, sizeof(out->started), started);
	str_copy(out->host, sizeof(out->host), host);
	json_decref(obj);
	return true;
}

bool
lock_read_holder(const char *root, LockHolder *out)
{
	char path[PATH_MAX];
	char buf[2048];

	if (!lock_path(root, path, sizeof(path)))
		return false;

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return false;

	ssize_t n = read(fd, buf, sizeof(buf));

	close(fd);
	return n > 0 && parse_holder(buf, (size_t) n, out);
}

/* Say who holds the lock; the run exits EXIT_LOCKED. */
static void
report_busy(const char *root)
{
	LockHolder h;
	struct timespec pause = { 0, HOLDER_READ_PAUSE_NS };
	char myhost[256] = "", where[300] = "";

	exit_hint_set(EXIT_LOCKED);
	for (int i = 0; i < HOLDER_READ_TRIES; i++)
	{
		if (lock_read_holder(root, &h))
		{
			gethostname(myhost, sizeof(myhost) - 1);
			if (h.host[0] != '\0' && strcmp(h.host, myhost) != 0)
				str_format(where, sizeof(where), " on host %s", h.host);
			log_error("another pgfold (pid %ld%s, `%s`, started %s) holds the lock on %s; "
					  "wait for it or check that process", h.pid, where, h.command,
					  h.started[0] ? h.started : "at an unknown time", root);
			return;
		}
		nanosleep(&pause, NULL);
	}
	log_error("another pgfold holds the lock on %s (it has not said who it is); "
			  "wait for it or check for running pgfold processes", root);
}

/* Truncate, write, fsync: who we are, for the next one who finds it busy. */
static bool
write_holder(Lock *lock, const char *what)
{
	char started[32], host[256] = "";
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gethostname(host, sizeof(host) - 1);

	json_t *obj = json_pack("{s:I, s:s, s:s, s:s}", "pid", (json_int_t) getpid(),
							"command", what, "started", started, "host", host);

	/* Not UTF-8 (a hostile argument): name ourselves generically. */
	if (obj == NULL)
		obj = json_pack("{s:I, s:s, s:s}", "pid", (json_int_t) getpid(),
						"command", "pgfold", "started", started);
	char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	bool ok = text != NULL;

	json_decref(obj);
	if (!ok)
	{
		log_error("internal error: cannot describe the lock holder");
		return false;
	}
	ok = ftruncate(lock->fd, 0) == 0 && lseek(lock->fd, 0, SEEK_SET) == 0;
	if (!ok)
		log_error("cannot write lock file \"%s\": %m", lock->path);
	else
		ok = fs_write_full(lock->fd, text, strlen(text), lock->path) &&
			fs_write_full(lock->fd, "\n", 1, lock->path);
	free(text);
	if (ok && fsync(lock->fd) != 0)
		log_warn("cannot sync lock file \"%s\": %m", lock->path);
	return ok;
}

/* The named holder was a process of this host that no longer exists. */
static bool
holder_is_gone(const LockHolder *h)
{
	char myhost[256] = "";

	gethostname(myhost, sizeof(myhost) - 1);
	if (h->host[0] != '\0' && strcmp(h->host, myhost) != 0)
		return false;
	return kill((pid_t) h->pid, 0) != 0 && errno == ESRCH;
}

/* Whether process pid has the file lock_st describes open. */
static bool
process_has_open(long pid, const struct stat *lock_st)
{
	char dir[64], link[320];
	struct stat st;
	struct dirent *f;
	DIR *fds;
	bool uses = false;

	if (!str_format(dir, sizeof(dir), "/proc/%ld/fd", pid) || (fds = opendir(dir)) == NULL)
		return false;
	while (!uses && (f = readdir(fds)) != NULL)
		uses = f->d_name[0] != '.' && str_format(link, sizeof(link), "%s/%s", dir, f->d_name)
			&& stat(link, &st) == 0 && st.st_dev == lock_st->st_dev
			&& st.st_ino == lock_st->st_ino;
	closedir(fds);
	return uses;
}

/* "pid 4711 (docker-compose), ..." (the first four) for the processes
 * other than us with the lock file open, into out: root sees them all,
 * others their own. */
static void
name_lock_users(int fd, StrBuf *out)
{
	struct stat lock_st;
	DIR *procs;
	struct dirent *p;
	size_t named = 0;

	sb_reset(out);
	if (fstat(fd, &lock_st) != 0 || (procs = opendir("/proc")) == NULL)
		return;
	while ((p = readdir(procs)) != NULL && named < 4)
	{
		long pid = 0;
		char path[64], comm[64] = "?";
		FILE *f;

		if (!str_to_long(p->d_name, 1, INT32_MAX, &pid) || pid == (long) getpid()
			|| !process_has_open(pid, &lock_st))
			continue;
		if (str_format(path, sizeof(path), "/proc/%ld/comm", pid) && (f = fopen(path, "re")))
		{
			if (fgets(comm, sizeof(comm), f) == NULL)
				str_copy(comm, sizeof(comm), "?");
			fclose(f);
		}
		sb_appendf(out, "%spid %ld (%.*s)", named++ ? ", " : "", pid,
				   (int) strcspn(comm, "\n"), comm);
	}
	closedir(procs);
}

/*
 * The lock is held, but the pgfold the file names is gone: programs it
 * started (an orphaned `compose up`) hold it and still act on the stack.
 * Wait for them, interruptibly, up to orphans_wait_s; true with the
 * lock taken.
 */
static bool
wait_for_orphans(Lock *lock, const char *root, const LockHolder *h)
{
	struct timespec pause = { 0, ORPHANS_POLL_NS };
	StrBuf users = STRBUF_INIT;
	long polls = orphans_wait_s * (1000000000L / ORPHANS_POLL_NS);
	bool taken = false;

	name_lock_users(lock->fd, &users);
	log_warn("the interrupted pgfold (pid %ld, `%s`) is gone, but what it started on %s "
			 "still runs%s%s%s; waiting for it to end (up to %d s)", h->pid, h->command, root,
			 users.len ? " (" : "", sb_str(&users), users.len ? ")" : "", orphans_wait_s);
	for (long i = 0; i < polls && !taken; i++)
	{
		LockHolder now;

		/* a live pgfold took it between our flock and our read of the
		 * file (which still named the dead one): that one is busy */
		if (lock_read_holder(root, &now) && now.pid != h->pid && !holder_is_gone(&now))
		{
			report_busy(root);
			break;
		}
		if (signals_interrupted())
		{
			log_error("interrupted while waiting for the lock on %s", root);
			exit_hint_set(EXIT_INTERRUPTED);
			break;
		}
		nanosleep(&pause, NULL);
		taken = flock(lock->fd, LOCK_EX | LOCK_NB) == 0;
		if (taken)
			log_info("what the interrupted pgfold started has ended; going on");
		else if (errno != EWOULDBLOCK && errno != EINTR)
		{
			log_error("cannot lock \"%s\": %m", lock->path);
			break;
		}
		else if (i + 1 == polls)
		{
			name_lock_users(lock->fd, &users);
			log_error("the lock on %s is still held after %d s by what the interrupted pgfold "
					  "(pid %ld) started%s%s; check those processes (`fuser -v %s`)", root,
					  orphans_wait_s, h->pid, users.len ? ": " : "", sb_str(&users),
					  lock->path);
			exit_hint_set(EXIT_LOCKED);
		}
	}
	sb_free(&users);
	return taken;
}

/* flock is busy: wait when only an interrupted run's programs hold it,
 * else say who holds it and give up at once. True with the lock taken. */
static bool
lock_busy(Lock *lock, const char *root)
{
	LockHolder h;

	if (lock_read_holder(root, &h) && holder_is_gone(&h))
		return wait_for_orphans(lock, root, &h);
	report_busy(root);
	return false;
}

bool
lock_acquire(const char *root, const char *what, Lock *out)
{
	out->fd = -1;
	if (!lock_path(root, out->path, sizeof(out->path)))
		return false;
	if (what == NULL)
		what = "pgfold";

	out->fd = open(out->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out->fd < 0)
	{
		log_error("cannot open lock file \"%s\": %m; is %s the stack root?", out->path, root);
		return false;
	}

	int rc;

	while ((rc = flock(out->fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
		;
	if (rc != 0)
	{
		int err = errno;
		bool taken = err == EWOULDBLOCK && lock_busy(out, root);

		if (err != EWOULDBLOCK)
			log_error("cannot lock \"%s\": %s", out->path, strerror(err));
		if (!taken)
		{
			close(out->fd);
			out->fd = -1;
			return false;
		}
	}
	if (!write_holder(out, what))
	{
		lock_release(out);
		return false;
	}
	proc_stack_lock_set(out->fd);
	log_debug("locked %s for `%s`", root, what);
	return true;
}

void
lock_release(Lock *lock)
{
	if (lock->fd < 0)
		return;
	/* Leave the file (unlinking it races with the next acquirer) but empty
	 * it, so it no longer names a process that is gone. */
	if (ftruncate(lock->fd, 0) != 0)
		log_debug("cannot empty lock file \"%s\": %m", lock->path);
	flock(lock->fd, LOCK_UN);
	close(lock->fd);
	proc_stack_lock_set(-1);
	lock->fd = -1;
}
