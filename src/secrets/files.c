/*
 * files.c — password files under <root>/etc/.db_passwords; see secrets.h.
 */
#include "pgfold/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "pgfold/log.h"
#include "internal.h"

bool
secrets_role_name_valid(const char *role)
{
	if (role == NULL)
		return false;

	size_t n = strlen(role);

	if (n == 0 || n > SECRETS_ROLE_NAME_MAX || role[0] == '.' || role[0] == '-')
		return false;
	if (strstr(role, "..") != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char c = role[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Log-safe form of a name that failed validation: control bytes and
 * non-ASCII escaped, capped, so a hostile name cannot forge a log line. */
static void
log_invalid_role(const char *role)
{
	StrBuf shown = STRBUF_INIT;
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *) (role ? role : ""); *p; p++, n++)
	{
		if (n == 80)
		{
			sb_appends(&shown, "...");
			break;
		}
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			sb_appendc(&shown, (char) *p);
		else
			sb_appendf(&shown, "\\x%02x", *p);
	}
	log_error("role name \"%s\" cannot name a password file: use 1-%d characters "
			  "of A-Z a-z 0-9 _ . -, not starting with '.' or '-', without \"..\"",
			  sb_str(&shown), SECRETS_ROLE_NAME_MAX);
	sb_free(&shown);
}

bool
secrets_password_path(const char *root, const char *role, char *out, size_t outsize)
{
	if (!secrets_role_name_valid(role))
	{
		log_invalid_role(role);
		return false;
	}
	if (!str_format(out, outsize, "%s/%s/%s.txt", root, SECRETS_DIR_REL, role))
	{
		log_error("password file path for role %s under %s is too long", role, root);
		return false;
	}
	return true;
}

void
secrets_sb_prealloc(StrBuf *sb, size_t n)
{
	if (sb->cap > n)
		return;
	/* Grow while the buffer holds nothing secret, then empty it. */
	for (size_t i = 0; i < n; i++)
		sb_appendc(sb, ' ');
	sb_reset(sb);
}

/* ---- directory ----------------------------------------------------------- */

static bool
make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0)
	{
		log_info("created directory %s", path);
		return true;
	}
	if (errno == EEXIST)
		return true;
	log_error("cannot create directory %s: %s", path, strerror(errno));
	return false;
}

bool
secrets_dir_open(const char *root, bool create, SecretsDir *dir, bool *missing)
{
	char etc[PATH_MAX];
	struct stat st;

	dir->fd = -1;
	if (missing)
		*missing = false;
	if (!str_format(etc, sizeof(etc), "%s/etc", root) ||
		!str_format(dir->path, sizeof(dir->path), "%s/%s", root, SECRETS_DIR_REL))
	{
		log_error("password directory path under %s is too long", root);
		return false;
	}
	/* <root>/etc holds service data too: ordinary mode, and it may be a
	 * symlink the operator chose. Only .db_passwords itself is ours. */
	if (create && (!make_dir(etc, 0755) || !make_dir(dir->path, 0700)))
		return false;

	dir->fd = open(dir->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir->fd < 0)
	{
		if (errno == ENOENT && !create)
		{
			if (missing)
				*missing = true;
			return false;
		}
		if (errno == ELOOP || errno == ENOTDIR)
			log_error("%s must be a real directory (not a symlink or a file); "
					  "move it away and let pgfold create it", dir->path);
		else
			log_error("cannot open directory %s: %s", dir->path, strerror(errno));
		return false;
	}
	if (fstat(dir->fd, &st) != 0)
	{
		log_error("cannot stat %s: %s", dir->path, strerror(errno));
		secrets_dir_close(dir);
		return false;
	}
	if (create && (st.st_mode & 077) != 0)
	{
		if (fchmod(dir->fd, 0700) != 0)
		{
			log_error("%s is accessible to other users (mode %04o) and cannot be "
					  "fixed: %s; run: chmod 700 %s", dir->path,
					  (unsigned) (st.st_mode & 07777), strerror(errno), dir->path);
			secrets_dir_close(dir);
			return false;
		}
		log_warn("%s was accessible to other users (mode %04o); changed to 0700",
				 dir->path, (unsigned) (st.st_mode & 07777));
	}
	return true;
}

void
secrets_dir_close(SecretsDir *dir)
{
	if (dir->fd >= 0)
		close(dir->fd);
	dir->fd = -1;
}

/* ---- files --------------------------------------------------------------- */

static bool
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t) n;
	}
	return true;
}

bool
secrets_file_create(SecretsDir *dir, const char *name, const char *password)
{
	int fd = openat(dir->fd, name,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
	{
		log_error("cannot create %s/%s: %s", dir->path, name, strerror(errno));
		return false;
	}
	/* umask can only remove bits; make sure no other one is set either. */
	bool ok = fchmod(fd, 0600) == 0 &&
		write_all(fd, password, strlen(password)) &&
		write_all(fd, "\n", 1) &&
		fsync(fd) == 0;
	int saved = errno;

	if (close(fd) != 0 && ok)
	{
		ok = false;
		saved = errno;
	}
	if (!ok)
	{
		log_error("cannot write %s/%s: %s", dir->path, name, strerror(saved));
		unlinkat(dir->fd, name, 0);
	}
	return ok;
}

bool
secrets_file_rename(SecretsDir *dir, const char *from, const char *to)
{
	if (renameat(dir->fd, from, dir->fd, to) != 0)
	{
		log_error("cannot rename %s/%s to %s: %s", dir->path, from, to, strerror(errno));
		return false;
	}
	if (fsync(dir->fd) != 0)
	{
		log_error("cannot fsync directory %s: %s", dir->path, strerror(errno));
		return false;
	}
	return true;
}

bool
secrets_file_remove(SecretsDir *dir, const char *name)
{
	if (unlinkat(dir->fd, name, 0) != 0 && errno != ENOENT)
	{
		log_error("cannot remove %s/%s: %s", dir->path, name, strerror(errno));
		return false;
	}
	return true;
}

static bool
read_bounded(int fd, StrBuf *out, const char *path)
{
	char chunk[256];

	for (;;)
	{
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			log_error("cannot read %s: %s", path, strerror(errno));
			sodium_memzero(chunk, sizeof(chunk));
			return false;
		}
		if (n == 0)
			break;
		if (out->len + (size_t) n > SECRETS_PASSWORD_MAX)
		{
			log_error("%s is larger than %d bytes: not a password file",
					  path, SECRETS_PASSWORD_MAX);
			sodium_memzero(chunk, sizeof(chunk));
			return false;
		}
		sb_append(out, chunk, (size_t) n);
	}
	sodium_memzero(chunk, sizeof(chunk));
	return true;
}

/* One trailing "\n" or "\r\n" is the file's line end; anything else odd
 * means the file is not what we wrote. */
static bool
strip_and_check(StrBuf *out, const char *path)
{
	if (out->len > 0 && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	if (out->len > 0 && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	if (out->len == 0)
	{
		log_error("%s is empty; put the role's password in it (one line), or remove it",
				  path);
		return false;
	}
	for (size_t i = 0; i < out->len; i++)
	{
		char c = out->data[i];

		if (c == '\0' || c == '\n' || c == '\r')
		{
			log_error("%s must hold the password on a single line", path);
			return false;
		}
	}
	return true;
}

bool
secrets_file_read(SecretsDir *dir, const char *name, StrBuf *out, bool *found)
{
	char path[PATH_MAX];
	struct stat st;
	bool ok = false;

	*found = false;
	sb_free_secret(out);
	str_format(path, sizeof(path), "%s/%s", dir->path, name);

	/* O_NONBLOCK: a FIFO planted here must not hang us before fstat. */
	int fd = openat(dir->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
	{
		if (errno == ENOENT)
			return true;
		if (errno == ELOOP)
			log_error("%s is a symlink; a password file must be a regular file", path);
		else
			log_error("cannot open %s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0)
		log_error("cannot stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		log_error("%s is not a regular file", path);
	else if ((st.st_mode & 077) != 0)
		log_error("%s is readable or writable by other users (mode %04o); "
				  "fix: chmod 600 %s", path, (unsigned) (st.st_mode & 07777), path);
	else if (st.st_size > SECRETS_PASSWORD_MAX)
		log_error("%s is larger than %d bytes: not a password file",
				  path, SECRETS_PASSWORD_MAX);
	else
	{
		secrets_sb_prealloc(out, SECRETS_PASSWORD_MAX + 1);
		ok = read_bounded(fd, out, path) && strip_and_check(out, path);
	}
	close(fd);
	if (!ok)
	{
		sb_free_secret(out);
		return false;
	}
	*found = true;
	return true;
}

/* ---- public wrappers --------------------------------------------------- */

bool
secrets_ensure_dir(const char *root)
{
	SecretsDir dir;

	if (!secrets_dir_open(root, true, &dir, NULL))
		return false;
	secrets_dir_close(&dir);
	return true;
}

bool
secrets_write_password_file(const char *root, const char *role, const char *password)
{
	char final[PATH_MAX];
	char tmp[SECRETS_ROLE_NAME_MAX + 64];
	SecretsDir dir;

	if (!secrets_password_path(root, role, final, sizeof(final)))
		return false;
	if (!secrets_dir_open(root, true, &dir, NULL))
		return false;
	/* Unique temp name in the same directory: rename is then atomic. */
	str_format(tmp, sizeof(tmp), ".%s.txt.tmp.%ld.%08x", role, (long) getpid(),
			   (unsigned) randombytes_random());
	str_format(final, sizeof(final), "%s.txt", role);

	bool ok = secrets_file_create(&dir, tmp, password);

	if (ok && !secrets_file_rename(&dir, tmp, final))
	{
		secrets_file_remove(&dir, tmp);
		ok = false;
	}
	if (ok)
		log_info("wrote password file %s/%s", dir.path, final);
	secrets_dir_close(&dir);
	return ok;
}

bool
secrets_read_password_file(const char *root, const char *role, StrBuf *out,
						   bool *found)
{
	char name[PATH_MAX];
	SecretsDir dir;
	bool missing = false;

	*found = false;
	if (!secrets_password_path(root, role, name, sizeof(name)))
		return false;
	if (!secrets_dir_open(root, false, &dir, &missing))
		return missing;         /* no directory = no file, not an error */
	str_format(name, sizeof(name), "%s.txt", role);

	bool ok = secrets_file_read(&dir, name, out, found);

	secrets_dir_close(&dir);
	return ok;
}
