/*
 * find.c — where refs.h looks: the user's crontab, cron's files, systemd
 * units, the stack's .env and compose files, and the PATHs given. Every
 * byte is hostile: no symlink is followed, files are read with a size
 * bound, binary files are skipped, depth and counts are bounded.
 */
#include "pgfold/refs.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/proc.h"
#include "pgfold/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum WalkMode
{
	WALK_ALL,          /* every text file */
	WALK_STACK_ONLY,   /* .env files and compose files */
} WalkMode;

typedef struct Walk
{
	const RefsOptions *o;
	RefsResult        *out;
	size_t             files;
	size_t             visited;   /* directory entries looked at */
} Walk;

static void
unreadable(RefsResult *out, const char *path, int err)
{
	if (out->unreadable++ == 0)
		str_format(out->first_unreadable, sizeof(out->first_unreadable), "%s (%s)", path,
				   strerror(err));
	log_debug("refs: cannot read %s: %s", path, strerror(err));
}

/* Read path (no symlink, regular, bounded) into b; false when skipped. */
static bool
read_bounded(Walk *w, const char *path, StrBuf *b)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char buf[65536];
	ssize_t n;

	if (fd < 0)
	{
		if (errno != ELOOP && errno != ENOENT)
			unreadable(w->out, path, errno);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > REFS_MAX_FILE_BYTES)
	{
		if (S_ISREG(st.st_mode))
			w->out->skipped++;
		close(fd);
		return false;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 && b->len <= REFS_MAX_FILE_BYTES)
		sb_append(b, buf, (size_t) n);
	if (n < 0)
		unreadable(w->out, path, errno);
	close(fd);
	if (n < 0 || b->len > REFS_MAX_FILE_BYTES)
		return false;
	return true;
}

static void
scan_file(Walk *w, const char *path, RefKind kind)
{
	StrBuf b = STRBUF_INIT;

	if (++w->files > REFS_MAX_FILES)
	{
		w->out->truncated = true;
		return;
	}
	if (read_bounded(w, path, &b))
	{
		w->out->scanned++;
		refs_scan_bytes(sb_str(&b), b.len, w->o->names, w->o->name_count, kind, path, w->out);
	}
	sb_free_secret(&b);
}

static bool
is_stack_file(const char *base)
{
	size_t n = strlen(base);

	if (strcmp(base, ".env") == 0 || strncmp(base, ".env.", 5) == 0
		|| (n > 4 && strcmp(base + n - 4, ".env") == 0))
		return true;
	return (n > 4 && strcmp(base + n - 4, ".yml") == 0)
		|| (n > 5 && strcmp(base + n - 5, ".yaml") == 0);
}

static bool
skipped_dir(const Walk *w, const char *path, const char *base)
{
	if (strcmp(base, ".git") == 0)
		return true;
	for (size_t i = 0; w->o->skip_dirs != NULL && w->o->skip_dirs[i] != NULL; i++)
		if (strcmp(path, w->o->skip_dirs[i]) == 0)
			return true;
	return false;
}

static bool
under(const char *path, const char *root)
{
	size_t n = strlen(root);

	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static void
walk(Walk *w, const char *path, RefKind kind, WalkMode mode, int depth)
{
	struct stat st;
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (w->files > REFS_MAX_FILES || lstat(path, &st) != 0)
		return;
	/* a tree of many directories and few files is bounded too */
	if (++w->visited > REFS_MAX_VISITS)
	{
		w->out->truncated = true;
		return;
	}
	if (S_ISREG(st.st_mode))
	{
		bool stack = w->o->stack_root != NULL && is_stack_file(base)
			&& under(path, w->o->stack_root);

		if (mode == WALK_ALL || stack)
			scan_file(w, path, stack && kind == REF_FILES ? REF_STACK : kind);
		return;
	}
	if (!S_ISDIR(st.st_mode) || depth >= REFS_MAX_DEPTH || skipped_dir(w, path, base))
		return;

	DIR *d = opendir(path);
	struct dirent *e;

	if (d == NULL)
	{
		if (errno != ENOENT)
			unreadable(w->out, path, errno);
		return;
	}
	while ((e = readdir(d)) != NULL && w->files <= REFS_MAX_FILES && w->visited <= REFS_MAX_VISITS)
	{
		char sub[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (str_format(sub, sizeof(sub), "%s/%s", strcmp(path, "/") == 0 ? "" : path, e->d_name))
			walk(w, sub, kind, mode, depth + 1);
	}
	closedir(d);
}

static void
sys_path(const char *sysroot, const char *rel, char *out, size_t size)
{
	size_t n = strlen(sysroot);

	while (n > 0 && sysroot[n - 1] == '/')
		n--;
	str_format(out, size, "%.*s%s", (int) n, sysroot, rel);
}

/* `crontab -l` of the running user, read through a pipe (bounded). */
static void
user_crontab(Walk *w)
{
	const char *prog = getenv("PGFOLD_REFS_CRONTAB");
	int fds[2];
	pid_t pid;
	StrBuf b = STRBUF_INIT;
	char buf[8192];
	ssize_t n;

	prog = prog != NULL ? prog : "crontab";
	if (prog[0] == '\0' || (strchr(prog, '/') == NULL && !proc_on_path(prog)))
		return;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return;

	const char *argv[] = { prog, "-l", NULL };
	ProcSpec spec = { .argv = argv, .stdin_fd = PROC_DEVNULL, .stdout_fd = fds[1],
					  .stderr_fd = PROC_DEVNULL };

	if (!proc_spawn(&spec, &pid))
	{
		close(fds[0]);
		close(fds[1]);
		return;
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) != 0)
	{
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (b.len <= REFS_MAX_FILE_BYTES)
			sb_append(&b, buf, (size_t) n);
	}
	close(fds[0]);
	/* exit 1 and "no crontab for USER" on stderr: no crontab, nothing to say */
	if (proc_wait(pid) == 0 && b.len <= REFS_MAX_FILE_BYTES)
	{
		w->out->scanned++;
		refs_scan_bytes(sb_str(&b), b.len, w->o->names, w->o->name_count, REF_CRONTAB,
						"crontab -l", w->out);
	}
	sb_free(&b);
}

static void
system_sources(Walk *w)
{
	static const char *const cron[] = {
		"/etc/crontab", "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily",
		"/etc/cron.weekly", "/etc/cron.monthly", NULL
	};
	static const char *const systemd[] = {
		"/etc/systemd/system", "/etc/systemd/user", "/usr/local/lib/systemd/system",
		"/usr/lib/systemd/system", "/usr/lib/systemd/user", NULL
	};
	const char *sysroot = getenv("PGFOLD_REFS_SYSROOT");
	const char *home = getenv("HOME");
	char p[PATH_MAX];

	sysroot = sysroot && sysroot[0] ? sysroot : "/";
	user_crontab(w);
	for (size_t i = 0; cron[i] != NULL; i++)
	{
		sys_path(sysroot, cron[i], p, sizeof(p));
		walk(w, p, REF_CRON, WALK_ALL, REFS_MAX_DEPTH - 2);
	}
	for (size_t i = 0; systemd[i] != NULL; i++)
	{
		sys_path(sysroot, systemd[i], p, sizeof(p));
		walk(w, p, REF_SYSTEMD, WALK_ALL, REFS_MAX_DEPTH - 3);
	}
	if (home != NULL && home[0] == '/'
		&& str_format(p, sizeof(p), "%s/.config/systemd/user", home))
		walk(w, p, REF_SYSTEMD, WALK_ALL, REFS_MAX_DEPTH - 3);
}

bool
refs_find(const RefsOptions *o, RefsResult *out)
{
	Walk w = { o, out, 0, 0 };
	bool any_path = o->paths != NULL && o->paths[0] != NULL;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; any_path && o->paths[i] != NULL; i++)
	{
		struct stat st;

		if (lstat(o->paths[i], &st) != 0)
		{
			log_error("refs: %s: %s; nothing was searched", o->paths[i], strerror(errno));
			exit_hint_set(EXIT_USAGE);
			return false;
		}
	}
	if (o->system)
		system_sources(&w);
	if (o->stack_root != NULL)
		walk(&w, o->stack_root, REF_FILES, any_path ? WALK_STACK_ONLY : WALK_ALL, 0);
	for (size_t i = 0; any_path && o->paths[i] != NULL; i++)
	{
		char real[PATH_MAX];
		const char *p = realpath(o->paths[i], real) != NULL ? real : o->paths[i];

		walk(&w, p, REF_FILES, WALK_ALL, 0);
	}
	return true;
}

size_t
refs_count_stack(const char *stack_root, const char *const *skip_dirs,
				 const char *const *names, size_t name_count)
{
	RefsOptions o = { names, name_count, stack_root, skip_dirs, NULL, false };
	RefsResult r;
	Walk w = { &o, &r, 0, 0 };
	size_t n;

	memset(&r, 0, sizeof(r));
	walk(&w, stack_root, REF_FILES, WALK_STACK_ONLY, 0);
	n = r.count;
	refs_free(&r);
	return n;
}
