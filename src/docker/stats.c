/*
 * stats.c — the memory of many containers at once: on a local engine from
 * their cgroups (cgroupmem.c), else one one-shot stats request each (GET
 * /containers/{id}/stats?stream=false), performed together (batch.c): the
 * engine samples for about a second per request, so a stack of twenty
 * costs one second, not twenty.
 */
#include "internal.h"

#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

static long long
number(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long long) json_integer_value(v) : -1;
}

/* As the docker CLI computes it: usage minus the page cache the kernel can
 * take back (cgroup v2: inactive_file; v1: total_inactive_file). */
static bool
memory_of(const DockerResponse *resp, long long *usage)
{
	json_error_t jerr;
	json_t *doc = json_loadb(sb_str(&resp->body), resp->body.len, 0, &jerr);
	json_t *mem = json_object_get(doc, "memory_stats");
	json_t *st = json_object_get(mem, "stats");
	long long u = number(mem, "usage"), cache = number(st, "inactive_file");

	if (cache < 0)
		cache = number(st, "total_inactive_file");
	*usage = u >= 0 ? u - (cache > 0 && cache < u ? cache : 0) : -1;
	json_decref(doc);
	return *usage >= 0;
}

/* Inspects in flight at once: each is a connection and a body of ~10 KiB;
 * they answer at once, so a window only bounds the memory. */
#define INSPECT_WINDOW 16

/* items[from, to): inspected together, each proven and read. */
static void
memory_window(DockerClient *client, DockerMemory *items, size_t from, size_t to)
{
	DockerBatchItem batch[INSPECT_WINDOW];
	size_t of[INSPECT_WINDOW], m = 0;

	memset(batch, 0, sizeof(batch));
	for (size_t i = from; i < to; i++)
	{
		const char *name;

		if (!docker_check_name(items[i].id, &name))
			continue;       /* the stats request says why */
		of[m] = i;
		batch[m].method = "GET";
		str_format(batch[m].path, sizeof(batch[m].path), "/containers/%s/json", name);
		batch[m++].timeout_s = DOCKER_REQUEST_TIMEOUT_S;
	}
	docker_request_batch(client, batch, m);
	for (size_t k = 0; k < m; k++)
	{
		DockerMemory *it = &items[of[k]];
		json_error_t jerr;
		json_t *doc = batch[k].ok && batch[k].resp.status == 200
			? json_loadb(sb_str(&batch[k].resp.body), batch[k].resp.body.len, 0, &jerr) : NULL;
		json_t *pid = json_object_get(json_object_get(doc, "State"), "Pid");
		const char *id = json_string_value(json_object_get(doc, "Id"));

		if (json_is_integer(pid) && id != NULL)
			it->ok = docker_cgroup_memory("/proc", "/sys/fs/cgroup", (long) json_integer_value(pid),
										  id, &it->usage);
		json_decref(doc);
		docker_response_free(&batch[k].resp);
	}
}

/* A local engine's containers: their main process proven (procroot.c)
 * and their cgroup's memory read on the host. The rest stay !ok for the
 * stats request. PGFOLD_ENGINE_STATS=1 (tests) asks the engine for all. */
static void
memory_from_cgroups(DockerClient *client, DockerMemory *items, size_t n)
{
	const char *force = getenv("PGFOLD_ENGINE_STATS");

	if (n == 0 || !docker_is_local(client) || (force != NULL && strcmp(force, "1") == 0))
		return;
	for (size_t from = 0; from < n; from += INSPECT_WINDOW)
		memory_window(client, items, from, from + INSPECT_WINDOW < n ? from + INSPECT_WINDOW : n);
}

bool
docker_memory_many(DockerClient *client, DockerMemory *items, size_t n)
{
	DockerBatchItem *batch = xcalloc(n ? n : 1, sizeof(DockerBatchItem));
	bool ok = true;

	size_t *left = xcalloc(n ? n : 1, sizeof(size_t)), m = 0;

	for (size_t i = 0; i < n; i++)
	{
		items[i].ok = false;
		items[i].usage = -1;
	}
	memory_from_cgroups(client, items, n);
	for (size_t i = 0; i < n; i++)
	{
		const char *name;

		if (items[i].ok)
			continue;
		if (!docker_check_name(items[i].id, &name))
		{
			free(batch);
			free(left);
			return false;
		}
		left[m] = i;
		batch[m].method = "GET";
		str_format(batch[m].path, sizeof(batch[m].path), "/containers/%s/stats?stream=false",
				   name);
		batch[m++].timeout_s = DOCKER_REQUEST_TIMEOUT_S;
	}
	if (m > 0)
	{
		log_info("memory of %zu container(s): asking the engine (stats)", m);
		docker_request_batch(client, batch, m);
	}
	for (size_t k = 0; k < m; k++)
	{
		size_t i = left[k];

		if (batch[k].ok && batch[k].resp.status == 200)
			items[i].ok = memory_of(&batch[k].resp, &items[i].usage);
		else if (batch[k].ok)
			docker_log_http_error("cannot read a container's stats", &batch[k].resp);
		docker_response_free(&batch[k].resp);
	}
	for (size_t i = 0; i < n; i++)
		ok = ok && items[i].ok;
	free(batch);
	free(left);
	return ok;
}
