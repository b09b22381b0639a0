/*
 * lock.c — one pgfold at a time per stack root; see journal.h.
 *
 * flock, not a pid file: the kernel drops the lock when its holder exits,
 * even on SIGKILL or a power loss, so there is never a stale lock to clear
 * by hand. The file's content is only a courtesy that names the holder.
 */
#include "pgfold/journal.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* The holder writes its details right after flock: give it a moment. */
#define HOLDER_READ_TRIES 20
#define HOLDER_READ_PAUSE_NS (10 * 1000 * 1000L)

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

static void
log_busy(const char *root)
{
	LockHolder h;
	struct timespec pause = { 0, HOLDER_READ_PAUSE_NS };
	char myhost[256] = "", where[300] = "";

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

		close(out->fd);
		out->fd = -1;
		if (err == EWOULDBLOCK)
		{
			log_busy(root);
			exit_hint_set(EXIT_LOCKED);
		}
		else
			log_error("cannot lock \"%s\": %s", out->path, strerror(err));
		return false;
	}
	if (!write_holder(out, what))
	{
		lock_release(out);
		return false;
	}
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
	lock->fd = -1;
}
