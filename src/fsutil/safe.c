/*
 * safe.c — files where someone else could have planted a link: appends
 * to the journal and run logs, private files in shared directories (the
 * admin's passfile), and the check that a stack file pgfold is about to
 * replace does not lead out of the stack; see fsutil.h.
 *
 * pgfold usually runs as root (sudo): a write that follows a link a user
 * planted, or that keeps the owner of a file the link points at, hands
 * that user a secret or a root-owned file.
 */
#include "pgfold/fsutil.h"
#include "pgfold/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
open_existing_for_append(const char *path, const char *what)
{
	/* O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of
	 * blocking the open; it is cleared once the file is known regular. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
	{
		if (errno == ELOOP)
			log_error("cannot open %s \"%s\": it is a symbolic link, which pgfold does not "
					  "write through; remove it", what, path);
		else if (errno == ENXIO)
			log_error("cannot open %s \"%s\": not a regular file (a FIFO or socket); remove it",
					  what, path);
		else
			log_error("cannot open %s \"%s\": %m", what, path);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		log_error("cannot open %s \"%s\": not a regular file; remove it", what, path);
		close(fd);
		return -1;
	}
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

int
fs_open_append(const char *path, mode_t mode, const char *what)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0 && errno == EEXIST)
		return open_existing_for_append(path, what);
	if (fd < 0)
	{
		log_error("cannot create %s \"%s\": %m", what, path);
		return -1;
	}
	/* New file: exact mode (the umask may have narrowed it, or be 0), and
	 * the directory entry made durable. */
	if (fchmod(fd, mode) != 0)
	{
		log_error("cannot set mode %04o on \"%s\": %m", (unsigned) mode, path);
		close(fd);
		return -1;
	}
	if (!fs_fsync_parent(path))
	{
		close(fd);
		return -1;
	}
	return fd;
}

static bool
private_create(FsPrivateFile *pf, const char *name, const void *bytes, size_t len)
{
	if (!str_format(pf->path, sizeof(pf->path), "%s/%s", pf->dir, name))
	{
		log_error("path too long: \"%s/%s\"", pf->dir, name);
		return false;
	}

	/* The directory is ours and new; O_EXCL|O_NOFOLLOW still refuse
	 * anything that is not the file we create now. */
	int fd = open(pf->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
	{
		log_error("cannot create \"%s\": %m", pf->path);
		pf->path[0] = '\0';
		return false;
	}

	bool ok = fchmod(fd, 0600) == 0 && fs_write_full(fd, bytes, len, pf->path);

	if (close(fd) != 0 && ok)
	{
		log_error("cannot write \"%s\": %m", pf->path);
		ok = false;
	}
	return ok;
}

bool
fs_private_write(FsPrivateFile *pf, const char *base, const char *name,
				 const void *bytes, size_t len)
{
	pf->dir[0] = pf->path[0] = '\0';
	if (name[0] == '\0' || strchr(name, '/') != NULL
		|| !str_format(pf->dir, sizeof(pf->dir), "%s/pgfold-XXXXXX", base))
	{
		log_error("internal error: cannot name a private file \"%s\" under \"%s\"", name, base);
		pf->dir[0] = '\0';
		return false;
	}
	/* mkdtemp: a random name, created 0700 by us or not at all (a link or
	 * anything else already there makes it try another name). */
	if (mkdtemp(pf->dir) == NULL)
	{
		log_error("cannot create a private directory under \"%s\": %m", base);
		pf->dir[0] = '\0';
		return false;
	}
	if (!private_create(pf, name, bytes, len))
	{
		fs_private_remove(pf);
		return false;
	}
	return true;
}

void
fs_private_remove(FsPrivateFile *pf)
{
	if (pf->path[0] != '\0' && unlink(pf->path) != 0 && errno != ENOENT)
		log_warn("could not remove \"%s\": %m", pf->path);
	if (pf->dir[0] != '\0' && rmdir(pf->dir) != 0 && errno != ENOENT)
		log_warn("could not remove \"%s\": %m", pf->dir);
	pf->dir[0] = pf->path[0] = '\0';
}

/* realpath of path, or of its directory when path does not exist yet
 * (then + "/" + its name): where a write to path would land. */
static bool
landing(const char *path, char *out, size_t size, char *why, size_t whysize)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	struct stat st;
	char *real;

	if (lstat(path, &st) == 0)
	{
		if ((real = realpath(path, NULL)) == NULL)
		{
			str_format(why, whysize, "%s is a symlink whose target cannot be resolved (%s)",
					   path, strerror(errno));
			return false;
		}
		bool ok = str_copy(out, size, real);

		free(real);
		if (!ok)
			str_format(why, whysize, "%s: path too long", path);
		return ok;
	}
	if (errno != ENOENT || !fs_path_split(path, dir, sizeof(dir), base, sizeof(base)))
	{
		str_format(why, whysize, "cannot inspect %s (%s)", path, strerror(errno));
		return false;
	}
	if ((real = realpath(dir, NULL)) == NULL)
	{
		/* nothing there yet at all: nothing to follow */
		bool ok = errno == ENOENT && str_copy(out, size, path);

		if (!ok)
			str_format(why, whysize, "cannot resolve %s (%s)", dir, strerror(errno));
		return ok;
	}
	bool ok = str_format(out, size, "%s/%s", real, base);

	free(real);
	if (!ok)
		str_format(why, whysize, "%s: path too long", path);
	return ok;
}

/* Owner of real, or of the directory it would be created in. */
static bool
owner_of(const char *real, struct stat *st, char *why, size_t whysize)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];

	if (stat(real, st) == 0)
		return true;
	if (errno == ENOENT && fs_path_split(real, dir, sizeof(dir), base, sizeof(base))
		&& stat(dir, st) == 0)
		return true;
	str_format(why, whysize, "cannot inspect %s (%s)", real, strerror(errno));
	return false;
}

bool
fs_link_check(const char *root, const char *path, char *why, size_t whysize)
{
	char real[PATH_MAX];
	struct stat root_st, st;
	size_t n = strlen(root);

	why[0] = '\0';
	if (!landing(path, real, sizeof(real), why, whysize))
		return false;
	if (strcmp(real, path) == 0)
		return true;            /* no link on the way */

	const char *how = lstat(path, &st) == 0 && S_ISLNK(st.st_mode)
		? "is a symlink to" : "leads through a symlinked directory to";

	if (!(n == 1 && root[0] == '/') && (strncmp(real, root, n) != 0 || real[n] != '/'))
	{
		str_format(why, whysize, "%s %s %s, outside the stack root %s; pgfold writes only "
				   "inside the root: replace the link by the file itself", path, how, real, root);
		return false;
	}
	if (stat(root, &root_st) != 0)
	{
		str_format(why, whysize, "cannot inspect %s (%s)", root, strerror(errno));
		return false;
	}
	if (!owner_of(real, &st, why, whysize))
		return false;
	if (st.st_uid != root_st.st_uid)
	{
		str_format(why, whysize, "%s %s %s, owned by uid %ld, not by the owner of the stack "
				   "root %s (uid %ld); pgfold does not write through it", path, how, real,
				   (long) st.st_uid, root, (long) root_st.st_uid);
		return false;
	}
	return true;
}
