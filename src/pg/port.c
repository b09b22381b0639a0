/*
 * port.c — the port a postgres in a container listens on, for the clients
 * pgfold runs inside it (psql, pg_isready, pg_dump): they find the server
 * by its socket, whose name holds the port.
 *
 * PGPORT in the container's environment reaches an exec'd client by
 * itself. A port set on the server's command line (`command: postgres -c
 * port=5433`, `-p 5433`, `--port=5433`) does not: it is read here from the
 * container's process arguments (inspect: Args) and handed to the clients
 * as PGPORT. Once a client connects, `SHOW port` says what the server
 * really uses (the pre-flight shows that one).
 */
#include "pgfold/pg.h"

#include <stdio.h>
#include <string.h>

#define PORT_CACHE 32

/* per process: a container is inspected once */
static struct
{
	char id[72];
	char name[256];
	int  port;
} cache[PORT_CACHE];
static size_t cached;

static int
parse_port(const char *s)
{
	long v = -1;

	return s != NULL && str_to_long(s, 1, 65535, &v) ? (int) v : -1;
}

int
pgx_port_from_args(const char *const *args, size_t n)
{
	int port = -1;

	/* the last setting wins, as it does for postgres */
	for (size_t i = 0; i < n; i++)
	{
		const char *a = args[i], *next = i + 1 < n ? args[i + 1] : NULL;
		int p = -1;

		if (strcmp(a, "-c") == 0 && next != NULL && strncmp(next, "port=", 5) == 0)
			p = parse_port(next + 5);
		else if (strncmp(a, "-cport=", 7) == 0)
			p = parse_port(a + 7);
		else if (strncmp(a, "--port=", 7) == 0)
			p = parse_port(a + 7);
		else if (strcmp(a, "-p") == 0)
			p = parse_port(next);
		else if (strncmp(a, "-p", 2) == 0 && a[2] >= '0' && a[2] <= '9')
			p = parse_port(a + 2);
		if (p > 0)
			port = p;
	}
	return port;
}

static int
lookup(const char *container)
{
	for (size_t i = 0; i < cached; i++)
	{
		if (strcmp(cache[i].id, container) == 0 || strcmp(cache[i].name, container) == 0
			|| (strlen(container) >= 12 && strncmp(cache[i].id, container, strlen(container)) == 0))
			return (int) i;
	}
	return -1;
}

int
pgx_container_port(DockerClient *docker, const char *container)
{
	json_t *inspect = NULL, *args;
	bool found = false;
	const char *argv[64];
	size_t n = 0, i;
	json_t *item;
	int slot = lookup(container), port;

	if (slot >= 0)
		return cache[slot].port;
	if (docker == NULL || !docker_inspect_container(docker, container, &inspect, &found) || !found)
	{
		json_decref(inspect);
		return -1;
	}
	args = json_object_get(inspect, "Args");
	json_array_foreach(args, i, item)
	{
		if (n < sizeof(argv) / sizeof(argv[0]) && json_is_string(item))
			argv[n++] = json_string_value(item);
	}
	port = pgx_port_from_args(argv, n);
	if (cached < PORT_CACHE)
	{
		const char *id = json_string_value(json_object_get(inspect, "Id"));
		const char *name = json_string_value(json_object_get(inspect, "Name"));

		str_copy(cache[cached].id, sizeof(cache[cached].id), id ? id : container);
		str_copy(cache[cached].name, sizeof(cache[cached].name),
				 name ? (name[0] == '/' ? name + 1 : name) : container);
		cache[cached++].port = port;
	}
	json_decref(inspect);
	return port;
}

bool
pgx_port_env(DockerClient *docker, const char *container, char *out, size_t size)
{
	int port = pgx_container_port(docker, container);

	return port > 0 && str_format(out, size, "PGPORT=%d", port);
}
