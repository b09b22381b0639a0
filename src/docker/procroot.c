/*
 * procroot.c — a running container's files, seen from the host through
 * /proc/<pid>/root, for the shortcut that reaches a dedicated server's own
 * Unix socket without an exec (pg.h: pgx_query_rows_many).
 *
 * The engine says which pid is the container's main process (inspect:
 * State.Pid), but that number means something only in the engine's pid
 * namespace: pgfold may run in another one (its own container), where the
 * same number is a different process, or talk to an engine on another
 * machine. So the pid is proven first: its /proc directory is opened once
 * (the fd stays bound to that process, even if the number is reused), and
 * its cgroup file must name the container's full 64-hex id, which no other
 * process's can. Everything after goes through that fd.
 *
 * A path inside the container is resolved with openat2(RESOLVE_IN_ROOT):
 * images link /var/run to /run, and an absolute link followed from the
 * host would land on the host's /run, where another server may listen.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pgfold/log.h"

/* A cgroup file lists one line per hierarchy; a few KiB at most. */
#define CGROUP_MAX (64u * 1024u)
#define CONTAINER_ID_LEN 64

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool
full_id_ok(const char *id)
{
	size_t n = 0;

	while (id[n] != '\0' && is_hex(id[n]))
		n++;
	return n == CONTAINER_ID_LEN && id[n] == '\0';
}

/* True when text names id as a whole word: not a piece of a longer hex run
 * (another container's id that merely contains ours is not ours). */
bool
docker_cgroup_names(const char *text, size_t len, const char *id)
{
	if (!full_id_ok(id))
		return false;
	for (size_t i = 0; i + CONTAINER_ID_LEN <= len; i++)
	{
		bool before = i == 0 || !is_hex(text[i - 1]);
		bool after = i + CONTAINER_ID_LEN == len || !is_hex(text[i + CONTAINER_ID_LEN]);

		if (before && after && memcmp(text + i, id, CONTAINER_ID_LEN) == 0)
			return true;
	}
	return false;
}

bool
docker_proc_read(int dirfd, const char *name, char *buf, size_t size, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return false;
	while (n < size)
	{
		ssize_t r = read(fd, buf + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t) r;
	}
	close(fd);
	*len = n;
	return n < size;    /* a full buffer: more than any cgroup file holds */
}

int
docker_proc_open(const char *proc_root, long pid, const char *id)
{
	char path[DOCKER_PATH_MAX];
	static char text[CGROUP_MAX];
	size_t len = 0;
	int fd;

	if (pid <= 0 || id == NULL || !full_id_ok(id)
		|| !str_format(path, sizeof(path), "%s/%ld", proc_root, pid))
	{
		log_debug("container %.12s: no pid (%ld) or no full id to prove it by",
				  id ? id : "?", pid);
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
	{
		log_debug("container %.12s: pid %ld not visible here (%s)", id, pid, strerror(errno));
		return -1;
	}
	if (!docker_proc_read(fd, "cgroup", text, sizeof(text), &len) || !docker_cgroup_names(text, len, id))
	{
		log_debug("container %.12s: pid %ld here is not its process (cgroup)", id, pid);
		close(fd);
		return -1;
	}
	return fd;
}

int
docker_proc_open_in_root(int procfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT,
	};
	int root = openat(procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	long fd;

	if (root < 0)
	{
		log_debug("the container's root is not reachable here (%s)", strerror(errno));
		return -1;
	}
	while (*path == '/')
		path++;
	fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0)
		log_debug("no directory %s in the container (%s)", path, strerror(errno));
	close(root);
	return fd < 0 ? -1 : (int) fd;
}

bool
docker_is_local(const DockerClient *client)
{
	return client != NULL && client->ep.kind == DOCKER_ENDPOINT_UNIX;
}
