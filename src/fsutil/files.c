/*
 * files.c — atomic replacement, bounded reads, directories; see fsutil.h.
 *
 * The rule everywhere: a file an operator relies on (a rewritten service
 * file, a password file, a sidecar) is either its old self or its new self
 * after a crash. That needs the temporary file in the same directory (rename
 * is only atomic within a filesystem), an fsync of the data before the
 * rename, and an fsync of the directory after it.
 */
#include "pgfold/fsutil.h"
#include "pgfold/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Room left for the marker and a pid inside NAME_MAX. */
#define TMP_BASE_MAX 200

typedef struct TmpFile
{
	int     fd;
	char    target[PATH_MAX];   /* what the rename replaces */
	char    dir[PATH_MAX];
	char    path[PATH_MAX];     /* the temporary file */
} TmpFile;

bool
fs_path_split(const char *path, char *dir, size_t dirsize, char *base, size_t basesize)
{
	size_t len = strlen(path);

	if (len == 0 || path[len - 1] == '/')
	{
		log_error("\"%s\" is not a file path", path);
		return false;
	}

	const char *slash = strrchr(path, '/');
	bool ok;

	if (slash == NULL)
		ok = str_copy(dir, dirsize, ".") && str_copy(base, basesize, path);
	else if (slash == path)
		ok = str_copy(dir, dirsize, "/") && str_copy(base, basesize, slash + 1);
	else
	{
		size_t dlen = (size_t) (slash - path);

		ok = dlen < dirsize && str_copy(base, basesize, slash + 1);
		if (ok)
		{
			memcpy(dir, path, dlen);
			dir[dlen] = '\0';
		}
	}
	if (!ok)
		log_error("path too long: \"%s\"", path);
	return ok;
}

bool
fs_write_full(int fd, const void *buf, size_t len, const char *what)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t n = write(fd, p, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC || errno == EDQUOT)
				log_error("cannot write \"%s\": %m; free some space and run the command again", what);
			else
				log_error("cannot write \"%s\": %m", what);
			return false;
		}
		if (n == 0)
		{
			log_error("cannot write \"%s\": write returned 0", what);
			return false;
		}
		p += n;
		len -= (size_t) n;
	}
	return true;
}

bool
fs_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
	{
		log_error("cannot open directory \"%s\" to sync it: %m", dir);
		return false;
	}
	/* Some filesystems cannot fsync a directory (EINVAL): nothing to do. */
	if (fsync(fd) != 0 && errno != EINVAL)
	{
		log_error("cannot sync directory \"%s\": %m", dir);
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

bool
fs_fsync_parent(const char *path)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];

	return fs_path_split(path, dir, sizeof(dir), base, sizeof(base)) && fs_fsync_dir(dir);
}

/* A symlink at path is followed, so its target is what gets replaced. */
static bool
resolve_target(const char *path, char *out, size_t outsize)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
	{
		char *real = realpath(path, NULL);

		if (real == NULL)
		{
			log_error("\"%s\" is a symlink whose target cannot be resolved: %m", path);
			return false;
		}
		bool ok = str_copy(out, outsize, real);

		free(real);
		if (!ok)
			log_error("path too long: \"%s\"", path);
		return ok;
	}
	if (!str_copy(out, outsize, path))
	{
		log_error("path too long: \"%s\"", path);
		return false;
	}
	return true;
}

/* Keep an existing file's owner when root replaces it: the target's own,
 * or `like`'s when given (a new file that must belong to the same user). */
static void
keep_owner(int fd, const char *target, const struct stat *like)
{
	struct stat st;

	if (geteuid() != 0)
		return;
	if (like == NULL)
	{
		if (stat(target, &st) != 0)
			return;
		like = &st;
	}
	if (like->st_uid == 0 && like->st_gid == 0)
		return;
	if (fchown(fd, like->st_uid, like->st_gid) != 0)
		log_warn("cannot keep the owner of \"%s\" (%d:%d): %m", target,
				 (int) like->st_uid, (int) like->st_gid);
}

static bool
tmp_create(const char *path, mode_t mode, const struct stat *owner, TmpFile *t)
{
	char base[NAME_MAX + 1];

	t->fd = -1;
	if (!resolve_target(path, t->target, sizeof(t->target)) ||
		!fs_path_split(t->target, t->dir, sizeof(t->dir), base, sizeof(base)))
		return false;
	if (!str_format(t->path, sizeof(t->path), "%s/.%.*s" FS_TMP_MARKER "%ld",
					t->dir, TMP_BASE_MAX, base, (long) getpid()))
	{
		log_error("path too long: \"%s\"", path);
		return false;
	}

	mode &= 0777;
	for (int attempt = 0; attempt < 2; attempt++)
	{
		t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		/* Our pid in the name: a leftover from a dead process that had it. */
		if (t->fd < 0 && errno == EEXIST && attempt == 0 && unlink(t->path) == 0)
			continue;
		break;
	}
	if (t->fd < 0)
	{
		log_error("cannot create \"%s\" to replace \"%s\": %m", t->path, t->target);
		return false;
	}
	keep_owner(t->fd, t->target, owner);
	/* The umask may only have narrowed it; make it exactly what was asked. */
	if (fchmod(t->fd, mode) != 0)
	{
		log_error("cannot set mode %04o on \"%s\": %m", (unsigned) mode, t->path);
		close(t->fd);
		unlink(t->path);
		t->fd = -1;
		return false;
	}
	return true;
}

static void
tmp_discard(TmpFile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	unlink(t->path);
}

static bool
tmp_commit(TmpFile *t)
{
	if (fsync(t->fd) != 0)
	{
		log_error("cannot sync \"%s\": %m", t->path);
		tmp_discard(t);
		return false;
	}
	int rc = close(t->fd);

	t->fd = -1;
	if (rc != 0)
	{
		log_error("cannot close \"%s\": %m", t->path);
		tmp_discard(t);
		return false;
	}
	if (rename(t->path, t->target) != 0)
	{
		log_error("cannot rename \"%s\" to \"%s\": %m", t->path, t->target);
		tmp_discard(t);
		return false;
	}
	return fs_fsync_dir(t->dir);
}

static bool
write_atomic(const char *path, const void *bytes, size_t len, mode_t mode,
			 const struct stat *owner)
{
	TmpFile t;

	if (!tmp_create(path, mode, owner, &t))
		return false;
	if (!fs_write_full(t.fd, bytes, len, t.path))
	{
		tmp_discard(&t);
		return false;
	}
	return tmp_commit(&t);
}

bool
fs_write_atomic(const char *path, const void *bytes, size_t len, mode_t mode)
{
	return write_atomic(path, bytes, len, mode, NULL);
}

bool
fs_write_like(const char *path, const char *like, const void *bytes, size_t len, bool secret)
{
	struct stat st;

	if (stat(like, &st) != 0)
	{
		log_error("cannot read the mode and owner of \"%s\": %m", like);
		return false;
	}

	mode_t mode = st.st_mode & 0777;

	/* A password in clear: readable by the file's owner only, never
	 * wider than the original was. */
	if (secret)
		mode &= 0600;
	return write_atomic(path, bytes, len, mode, &st);
}

bool
fs_copy_file_atomic(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (in < 0)
	{
		log_error("cannot open \"%s\": %m", src);
		return false;
	}
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
	{
		log_error("cannot copy \"%s\": not a regular file", src);
		close(in);
		return false;
	}

	TmpFile t;
	char *buf = NULL;
	bool ok = tmp_create(dst, st.st_mode & 0777, NULL, &t);

	if (ok)
		buf = xcalloc(1, FS_IO_BUFSIZE);
	while (ok)
	{
		ssize_t n = read(in, buf, FS_IO_BUFSIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			log_error("cannot read \"%s\": %m", src);
			ok = false;
		}
		else if (n == 0)
			break;
		else
			ok = fs_write_full(t.fd, buf, (size_t) n, t.path);
	}
	free(buf);
	close(in);
	if (!ok)
	{
		if (t.fd >= 0)
			tmp_discard(&t);
		return false;
	}
	return tmp_commit(&t);
}

bool
fs_read_file_if_exists(const char *path, size_t max_bytes, StrBuf *out, bool *exists)
{
	/* O_NONBLOCK: opening a FIFO planted at path must not hang us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	sb_reset(out);
	if (exists != NULL)
		*exists = fd >= 0 || errno != ENOENT;
	if (fd < 0)
	{
		if (errno == ENOENT && exists != NULL)
			return true;
		log_error("cannot open \"%s\": %m", path);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		log_error("cannot read \"%s\": not a regular file", path);
		close(fd);
		return false;
	}

	char buf[8192];

	for (;;)
	{
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			log_error("cannot read \"%s\": %m", path);
			break;
		}
		if (n == 0)
		{
			close(fd);
			return true;
		}
		if ((size_t) n > max_bytes - out->len)
		{
			log_error("\"%s\" is larger than %zu bytes; refusing to read it", path, max_bytes);
			break;
		}
		sb_append(out, buf, (size_t) n);
	}
	close(fd);
	sb_reset(out);
	return false;
}

bool
fs_read_file(const char *path, size_t max_bytes, StrBuf *out)
{
	return fs_read_file_if_exists(path, max_bytes, out, NULL);
}

static bool
mkdir_one(const char *dir, mode_t mode)
{
	struct stat st;

	if (mkdir(dir, mode) == 0)
	{
		if (chmod(dir, mode) != 0)
		{
			log_error("cannot set mode %04o on \"%s\": %m", (unsigned) mode, dir);
			return false;
		}
		/* The new entry must survive a power loss too. */
		return fs_fsync_parent(dir);
	}
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return true;
	if (errno == EEXIST)
		log_error("cannot create directory \"%s\": a file is in the way", dir);
	else
		log_error("cannot create directory \"%s\": %m", dir);
	return false;
}

bool
fs_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (!str_copy(buf, sizeof(buf), path) || buf[0] == '\0')
	{
		log_error("invalid directory path \"%s\"", path);
		return false;
	}
	mode &= 07777;
	for (char *p = buf + 1; *p != '\0'; p++)
	{
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		bool ok = mkdir_one(buf, mode);

		*p = '/';
		if (!ok)
			return false;
	}
	size_t len = strlen(buf);

	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	return mkdir_one(buf, mode);
}

bool
fs_free_space(const char *path, uint64_t *avail_bytes)
{
	char buf[PATH_MAX];
	struct statvfs sv;

	if (!str_copy(buf, sizeof(buf), path) || buf[0] == '\0')
	{
		log_error("invalid path \"%s\"", path);
		return false;
	}
	for (;;)
	{
		if (statvfs(buf, &sv) == 0)
		{
			*avail_bytes = (uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize;
			return true;
		}
		if (errno != ENOENT)
			break;

		/* Not there yet: ask its nearest existing ancestor. */
		char *slash = strrchr(buf, '/');

		if (slash == NULL)
			return fs_free_space(".", avail_bytes);
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	log_error("cannot query free space for \"%s\": %m", path);
	return false;
}

bool
fs_is_tmp_name(const char *name, pid_t *pid)
{
	const char *marker = NULL;

	if (name[0] != '.')
		return false;
	for (const char *p = strstr(name, FS_TMP_MARKER); p != NULL;
		 p = strstr(p + 1, FS_TMP_MARKER))
		marker = p;
	if (marker == NULL || marker == name)
		return false;

	long v;

	if (!str_to_long(marker + strlen(FS_TMP_MARKER), 1, INT_MAX, &v))
		return false;
	if (pid != NULL)
		*pid = (pid_t) v;
	return true;
}

int
fs_clean_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	int removed = 0;

	if (d == NULL && errno == ENOENT)
		return 0;               /* no directory, no leftovers */
	if (d == NULL)
	{
		log_error("cannot open directory \"%s\": %m", dir);
		return -1;
	}
	for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
	{
		pid_t pid;

		if (!fs_is_tmp_name(e->d_name, &pid) || pid == getpid())
			continue;
		/* A live process (maybe an unrelated one that reused the pid) keeps it. */
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
		{
			log_warn("removed \"%s/%s\", left by an interrupted pgfold (pid %ld)",
					 dir, e->d_name, (long) pid);
			removed++;
		}
		else
			log_warn("cannot remove leftover \"%s/%s\": %m", dir, e->d_name);
	}
	closedir(d);
	return removed;
}

bool
fs_relative_to(const char *root, const char *path, char *out, size_t size)
{
	size_t n = strlen(root);

	if (strncmp(path, root, n) == 0 && path[n] == '/')
		path += n + 1;
	return str_copy(out, size, path);
}
