/*
 * cgroupmem.c — a running container's memory read from its cgroup on the
 * host, as `docker stats` computes it (usage minus the page cache the
 * kernel can take back), instead of the engine's stats request: Engine
 * 20.10 samples for a second per container even with one-shot=true
 * (measured), which made `status`'s footer wait one to two seconds.
 *
 * Only for a local engine and a pid proven to be the container's
 * (procroot.c); everything else goes to the stats request (stats.c).
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/log.h"

#define CGROUP_TEXT_MAX (64u * 1024u)

/* One line "ID:CONTROLLERS:PATH" of a cgroup file: is "memory" among the
 * comma-separated controllers? */
static bool
has_memory(const char *c, size_t n)
{
	for (size_t i = 0; i < n;)
	{
		size_t w = 0;

		while (i + w < n && c[i + w] != ',')
			w++;
		if (w == 6 && memcmp(c + i, "memory", 6) == 0)
			return true;
		i += w + 1;
	}
	return false;
}

static bool
path_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\0' || (p[i] == '.' && i > 0 && p[i - 1] == '/' && i + 1 < n && p[i + 1] == '.'))
			return false;   /* no ".." climbing out of the hierarchy */
	return true;
}

bool
docker_cgroup_memory_path(const char *text, size_t len, char *out, size_t size, bool *v2)
{
	const char *unified = NULL;
	size_t unified_len = 0;

	for (size_t at = 0; at < len;)
	{
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t) (nl - line) : len - at;
		const char *c1 = memchr(line, ':', n);
		const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t) (c1 + 1 - line)) : NULL;

		at += n + 1;
		if (c2 == NULL)
			continue;

		const char *path = c2 + 1;
		size_t plen = n - (size_t) (path - line);

		if (has_memory(c1 + 1, (size_t) (c2 - c1 - 1)))
		{
			*v2 = false;
			return path_ok(path, plen) && str_format(out, size, "%.*s", (int) plen, path);
		}
		if (c2 == c1 + 1 && c1 - line == 1 && line[0] == '0')
		{
			unified = path;     /* "0::PATH": the v2 hierarchy */
			unified_len = plen;
		}
	}
	*v2 = true;
	return unified != NULL && path_ok(unified, unified_len)
		&& str_format(out, size, "%.*s", (int) unified_len, unified);
}

/* A decimal number ending the line (the kernel's newline cut off). */
static bool
to_number(char *s, long long *out)
{
	long v;
	size_t n = strcspn(s, "\n");

	s[n] = '\0';
	if (!str_to_long(s, 0, LONG_MAX, &v))
		return false;
	*out = v;
	return true;
}

/* The number a one-line file holds. */
static bool
read_number(const char *file, long long *out)
{
	FILE *f = fopen(file, "re");
	char buf[64];
	bool ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, sizeof(buf), f) != NULL && to_number(buf, out);
	fclose(f);
	return ok;
}

/* "KEY VALUE" of memory.stat. */
static bool
read_stat(const char *file, const char *key, long long *out)
{
	FILE *f = fopen(file, "re");
	char line[256];
	size_t klen = strlen(key);
	bool ok = false;

	if (f == NULL)
		return false;
	while (!ok && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			ok = to_number(line + klen + 1, out);
	fclose(f);
	return ok;
}

bool
docker_cgroup_memory_read(const char *sys_root, const char *path, bool v2, long long *usage)
{
	char dir[DOCKER_PATH_MAX], file[DOCKER_PATH_MAX + 32];
	long long used = -1, cache = 0;

	*usage = -1;
	if (!str_format(dir, sizeof(dir), "%s%s%s", sys_root, v2 ? "" : "/memory", path)
		|| !str_format(file, sizeof(file), "%s/%s", dir,
					   v2 ? "memory.current" : "memory.usage_in_bytes")
		|| !read_number(file, &used)
		|| !str_format(file, sizeof(file), "%s/memory.stat", dir))
		return false;
	/* as the docker CLI: v2 inactive_file, v1 total_inactive_file */
	if (!read_stat(file, v2 ? "inactive_file" : "total_inactive_file", &cache))
		cache = 0;
	*usage = used - (cache > 0 && cache < used ? cache : 0);
	return true;
}

/* One container: its pid proven, its cgroup's memory read. */
bool
docker_cgroup_memory(const char *proc_root, const char *sys_root, long pid, const char *id,
					 long long *usage)
{
	static char text[CGROUP_TEXT_MAX];
	char path[DOCKER_PATH_MAX];
	size_t len = 0;
	bool v2 = false, ok;
	int fd = docker_proc_open(proc_root, pid, id);

	if (fd < 0)
		return false;
	ok = docker_proc_read(fd, "cgroup", text, sizeof(text), &len)
		&& docker_cgroup_memory_path(text, len, path, sizeof(path), &v2)
		&& docker_cgroup_memory_read(sys_root, path, v2, usage);
	close(fd);
	if (!ok)
		log_debug("container %.12s: its cgroup's memory is not readable here", id);
	return ok;
}
