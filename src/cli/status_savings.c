/*
 * status_savings.c — the footer of `pgfold status` and `status --all`:
 * what folding saves. The dedicated postgres containers running, stopped
 * and retired, the memory the running ones use now (docker_memory_many:
 * their cgroups, else one stats request each, all at once) and the disk
 * their volumes hold (docker_volume_sizes_of: measured on the host, else
 * GET /system/df), next to the shared instance's own memory
 * and the size of its databases.
 *
 * `status` counts the stack's services (a migrated service's dedicated
 * container is the one its journal names); `status --all` every dedicated
 * postgres on the engine and every journal under the backups directory.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/retire.h"
#include "pgfold/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Savings
{
	json_t   *entries;          /* dedicated containers: entries of the container list */
	size_t    running, stopped, retired;
	long long memory;           /* of the running ones; -1 unknown */
	long long disk;             /* their volumes */
	long long shared_memory;    /* -1 unknown */
	long long shared_size;      /* -1 unknown */
} Savings;

static json_t *
entry_named(json_t *list, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(list, i, c)
	{
		const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

		if (n != NULL && strcmp(n[0] == '/' ? n + 1 : n, name) == 0)
			return c;
	}
	return NULL;
}

static bool
entry_running(json_t *c)
{
	const char *state = json_string_value(json_object_get(c, "State"));

	return state != NULL && strcmp(state, "running") == 0;
}

/* The migrated service's fold: retired, or the container it stopped. */
static void
from_journal(const Config *cfg, const char *service, json_t *list, Savings *s)
{
	Journal j = JOURNAL_INIT;
	bool exists = false;
	const char *run = NULL;
	RetireState st;
	MigrationRecord *m = xcalloc(1, sizeof(*m));
	json_t *c;

	if (journal_load(cfg->backups_dir, service, &j, &exists) && exists
		&& journal_is_migrated(&j, &run))
	{
		if (retire_state(&j, run, &st))
			s->retired++;
		else if (list != NULL && journal_read_migration(&j, run, m)
				 && (c = entry_named(list, m->role.source_container)) != NULL)
			json_array_append(s->entries, c);
	}
	free(m);
	journal_close(&j);
}

static void
collect_stack(App *app, Savings *s)
{
	for (size_t i = 0; i < app->stack.count; i++)
	{
		const ContainerInfo *ci = app_db_container(app, i);
		json_t *c;

		if (ci != NULL && ci->name != NULL
			&& (c = entry_named(app->container_list, ci->name)) != NULL)
			json_array_append(s->entries, c);
		else
			from_journal(&app->cfg, service_fsname(&app->stack.services[i]),
						 app->container_list, s);
	}
}

static void
collect_host(const Config *cfg, json_t *list, Savings *s)
{
	HostPostgres *found = NULL;
	size_t count = 0, n = 0;
	char **names = NULL;
	json_t *c;

	service_discover_postgres(list, &found, &count);
	for (size_t i = 0; i < count; i++)
		if (strcmp(found[i].container, cfg->shared_container) != 0
			&& (c = entry_named(list, found[i].container)) != NULL)
			json_array_append(s->entries, c);
	host_postgres_free(found, count);
	/* retired ones are in the journals only */
	if (journal_services(cfg->backups_dir, &names, &n))
	{
		for (size_t i = 0; i < n; i++)
		{
			Journal j = JOURNAL_INIT;
			bool exists = false;
			const char *run = NULL;
			RetireState st;

			if (journal_load(cfg->backups_dir, names[i], &j, &exists) && exists
				&& journal_is_migrated(&j, &run) && retire_state(&j, run, &st))
				s->retired++;
			journal_close(&j);
		}
		instance_names_free(names, n);
	}
}

/* Memory of the running ones and of the shared container, all at once;
 * the disk of their volumes. */
static void
measure(DockerClient *docker, const Config *cfg, json_t *list, Savings *s)
{
	size_t n = json_array_size(s->entries), k = 0, i, m;
	DockerMemory *mem = xcalloc(n + 1, sizeof(DockerMemory));
	json_t *shared = cfg->shared_container[0] ? entry_named(list, cfg->shared_container) : NULL;
	json_t *c, *v, *sizes = NULL, *names = json_object();
	LogLevel level = log_get_level();

	json_array_foreach(s->entries, i, c)
	{
		if (entry_running(c))
		{
			s->running++;
			mem[k++].id = json_string_value(json_object_get(c, "Id"));
		}
		else
			s->stopped++;
		json_array_foreach(json_object_get(c, "Mounts"), m, v)
			if (json_string_value(json_object_get(v, "Name")) != NULL
				&& strcmp(json_string_value(json_object_get(v, "Type")), "volume") == 0)
				json_object_set(names, json_string_value(json_object_get(v, "Name")), json_true());
	}
	if (shared != NULL && entry_running(shared))
		mem[k++].id = json_string_value(json_object_get(shared, "Id"));
	/* a footer: a figure the engine cannot give is "?" rather than an error */
	log_set_level(LOG_FATAL);
	docker_memory_many(docker, mem, k);
	/* a container that stopped meanwhile has no stats: it uses nothing */
	s->memory = -1;
	for (i = 0; i < s->running; i++)
		if (mem[i].ok)
			s->memory = (s->memory > 0 ? s->memory : 0) + mem[i].usage;
	s->shared_memory = shared != NULL && entry_running(shared) && mem[k - 1].ok
		? mem[k - 1].usage : -1;
	s->disk = 0;
	const char **wanted = xcalloc(json_object_size(names) + 1, sizeof(char *));
	size_t nw = 0;
	const char *vname;

	json_object_foreach(names, vname, v)
		wanted[nw++] = vname;
	if (nw > 0 && docker_volume_sizes_of(docker, wanted, nw, &sizes))
	{
		const char *name;

		json_object_foreach(names, name, v)
		{
			json_int_t b = json_integer_value(json_object_get(sizes, name));

			s->disk += b > 0 ? b : 0;
		}
	}
	else if (json_object_size(names) > 0)
		s->disk = -1;
	log_set_level(level);
	free(wanted);
	json_decref(sizes);
	json_decref(names);
	free(mem);
}

static void
shared_size(PGconn *conn, Savings *s)
{
	StrBuf out = STRBUF_INIT;
	long v = 0;
	LogLevel level = log_get_level();

	s->shared_size = -1;
	log_set_level(LOG_FATAL);
	if (conn != NULL
		&& pg_query_scalar(conn, "the shared instance's size",
						   "SELECT sum(pg_database_size(datname))::bigint FROM pg_database",
						   0, NULL, &out, NULL)
		&& str_to_long(sb_str(&out), 0, LONG_MAX, &v))
		s->shared_size = v;
	log_set_level(level);
	sb_free(&out);
}

static const char *
human(long long bytes, char *out, size_t size)
{
	if (bytes < 0)
		str_copy(out, size, "?");
	else
		stream_format_bytes((uint64_t) bytes, out, size);
	return out;
}

static void
print(const Savings *s)
{
	char mem[32], disk[32], smem[32], ssize[32];

	printf("\nwhat folding saves: dedicated postgres: %zu running (%s memory), %zu stopped, "
		   "%zu retired; their volumes hold %s\n", s->running, human(s->memory, mem, sizeof(mem)),
		   s->stopped, s->retired, human(s->disk, disk, sizeof(disk)));
	printf("                    shared instance: %s memory, %s of databases\n",
		   human(s->shared_memory, smem, sizeof(smem)),
		   human(s->shared_size, ssize, sizeof(ssize)));
}

void
cli_status_savings(App *app, const Config *cfg, DockerClient *docker, json_t *list,
				   PGconn *shared)
{
	Savings s;

	memset(&s, 0, sizeof(s));
	if (docker == NULL || list == NULL)
		return;
	s.entries = json_array();
	if (app != NULL && shared == NULL)
	{
		LogLevel level = log_get_level();

		log_set_level(LOG_FATAL);      /* a footer: an unreachable instance reads "?" */
		shared = app_shared(app) ? app->shared : NULL;
		log_set_level(level);
	}
	if (app != NULL)
		collect_stack(app, &s);
	else
		collect_host(cfg, list, &s);
	measure(docker, cfg, list, &s);
	shared_size(shared, &s);
	print(&s);
	json_decref(s.entries);
}
