/*
 * stats.c — the memory of many containers at once: one one-shot stats
 * request each (GET /containers/{id}/stats?stream=false), performed
 * together (batch.c): the engine samples for about a second per request,
 * so a stack of twenty costs one second, not twenty.
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

bool
docker_memory_many(DockerClient *client, DockerMemory *items, size_t n)
{
	DockerBatchItem *batch = xcalloc(n ? n : 1, sizeof(DockerBatchItem));
	bool ok = true;

	for (size_t i = 0; i < n; i++)
	{
		const char *name;

		items[i].ok = false;
		items[i].usage = -1;
		if (!docker_check_name(items[i].id, &name))
		{
			free(batch);
			return false;
		}
		batch[i].method = "GET";
		str_format(batch[i].path, sizeof(batch[i].path), "/containers/%s/stats?stream=false",
				   name);
		batch[i].timeout_s = DOCKER_REQUEST_TIMEOUT_S;
	}
	docker_request_batch(client, batch, n);
	for (size_t i = 0; i < n; i++)
	{
		if (batch[i].ok && batch[i].resp.status == 200)
			items[i].ok = memory_of(&batch[i].resp, &items[i].usage);
		else if (batch[i].ok)
			docker_log_http_error("cannot read a container's stats", &batch[i].resp);
		ok = ok && items[i].ok;
		docker_response_free(&batch[i].resp);
	}
	free(batch);
	return ok;
}
