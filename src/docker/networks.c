/*
 * networks.c — which networks an inspected container is on (the shared
 * instance's, for the fold's check that the apps can reach it).
 */
#include "pgfold/docker.h"

#include "pgfold/str.h"

#include <stdlib.h>
#include <string.h>

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
docker_inspect_networks(json_t *inspect, char **mode, char ***names, size_t *count)
{
	json_t *hc = json_object_get(inspect, "HostConfig");
	json_t *nets = json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks");
	const char *m = json_string_value(json_object_get(hc, "NetworkMode"));
	const char *key;
	json_t *v;

	*mode = m ? xstrdup(m) : NULL;
	*names = xcalloc(json_object_size(nets) + 1, sizeof(char *));
	*count = 0;
	json_object_foreach(nets, key, v)
		(*names)[(*count)++] = xstrdup(key);
	if (*count > 1)
		qsort(*names, *count, sizeof(char *), cmp_str);
}
