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
 *
 * The same inspect says where a client on the host finds that socket
 * (pgx_container_where, for local.c): the main process's pid, the port,
 * and whether the environment holds anything that would make an exec'd
 * psql connect elsewhere or print differently.
 */
#include "pgfold/pg.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"

/* What the inspect said of one container, kept for the process: a
 * container is inspected once. */
typedef struct Where
{
	char id[72];
	char name[256];
	int  port;           /* from the command line, or -1 */
	PgxServerWhere where;
} Where;

static Where *cache;
static size_t cached, cache_cap;

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

static Where *
lookup(const char *container)
{
	for (size_t i = 0; i < cached; i++)
	{
		if (strcmp(cache[i].id, container) == 0 || strcmp(cache[i].name, container) == 0
			|| (strlen(container) >= 12 && strncmp(cache[i].id, container, strlen(container)) == 0))
			return &cache[i];
	}
	return NULL;
}

/* Variables that move a client elsewhere or change what its session
 * prints (encoding, time zone, options): an exec'd psql reads them from
 * the container's environment, a client on the socket from the host would
 * not. */
static const char *const session_vars[] = {
	"PGHOST", "PGHOSTADDR", "PGOPTIONS", "PGCLIENTENCODING", "PGTZ", "PGDATESTYLE",
	"PGGEQO", "PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGREQUIREAUTH",
	"PGTARGETSESSIONATTRS", NULL
};

/* The socket an exec'd psql finds (pg.h: PgxServerWhere), from the inspect. */
static void
where_from_inspect(json_t *inspect, int args_port, PgxServerWhere *w)
{
	const char *env_port = docker_inspect_env(inspect, "PGPORT");
	json_t *pid = json_object_get(json_object_get(inspect, "State"), "Pid");
	long port = 5432;

	w->pid = json_is_integer(pid) ? (long) json_integer_value(pid) : 0;
	w->plain = true;
	for (size_t i = 0; session_vars[i] != NULL; i++)
		w->plain = w->plain && docker_inspect_env(inspect, session_vars[i]) == NULL;
	if (args_port > 0)
		port = args_port;
	else if (env_port != NULL && !str_to_long(env_port, 1, 65535, &port))
		w->plain = false;   /* psql would make something of it; we don't guess */
	w->port = (int) port;
}

static Where *
inspect_once(DockerClient *docker, const char *container)
{
	json_t *inspect = NULL, *args, *item;
	bool found = false;
	const char *argv[64];
	size_t n = 0, i;
	Where *w = lookup(container);
	const char *id, *name;

	if (w != NULL || docker == NULL)
		return w;
	if (!docker_inspect_container(docker, container, &inspect, &found) || !found)
	{
		json_decref(inspect);
		return NULL;
	}
	args = json_object_get(inspect, "Args");
	json_array_foreach(args, i, item)
	{
		if (n < sizeof(argv) / sizeof(argv[0]) && json_is_string(item))
			argv[n++] = json_string_value(item);
	}
	if (cached == cache_cap)
	{
		cache_cap = cache_cap ? 2 * cache_cap : 32;
		cache = xrealloc(cache, cache_cap, sizeof(Where));
	}
	w = &cache[cached++];
	memset(w, 0, sizeof(*w));
	id = json_string_value(json_object_get(inspect, "Id"));
	name = json_string_value(json_object_get(inspect, "Name"));
	str_copy(w->id, sizeof(w->id), id ? id : container);
	str_copy(w->name, sizeof(w->name), name ? (name[0] == '/' ? name + 1 : name) : container);
	w->port = pgx_port_from_args(argv, n);
	where_from_inspect(inspect, w->port, &w->where);
	str_copy(w->where.id, sizeof(w->where.id), w->id);
	json_decref(inspect);
	return w;
}

int
pgx_container_port(DockerClient *docker, const char *container)
{
	const Where *w = inspect_once(docker, container);

	return w ? w->port : -1;
}

bool
pgx_container_where(DockerClient *docker, const char *container, PgxServerWhere *out)
{
	const Where *w = inspect_once(docker, container);

	if (w == NULL)
		return false;
	*out = w->where;
	return true;
}

bool
pgx_port_env(DockerClient *docker, const char *container, char *out, size_t size)
{
	int port = pgx_container_port(docker, container);

	return port > 0 && str_format(out, size, "PGPORT=%d", port);
}
