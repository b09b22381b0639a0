/*
 * discover.c — every dedicated postgres on the host, from the engine's one
 * container list alone: `pgfold status --all`.
 *
 * A container is a postgres server when its image is one pgfold knows
 * (image.c: families, never substrings). Compose's labels say which
 * project, service, directory and files it belongs to; one-off containers
 * (`compose run`) are not services and are left out.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *
jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *
label_dup(json_t *c, const char *key)
{
	const char *v = jstr(json_object_get(c, "Labels"), key);

	return v != NULL ? xstrdup(v) : NULL;
}

static char *
name_of(json_t *c)
{
	json_t *names = json_object_get(c, "Names");
	json_t *first = json_is_array(names) ? json_array_get(names, 0) : NULL;
	const char *n = json_is_string(first) ? json_string_value(first) : NULL;

	if (n == NULL)
		return xstrdup("?");
	return xstrdup(n[0] == '/' ? n + 1 : n);
}

static int
cmp_found(const void *a, const void *b)
{
	const HostPostgres *x = a, *y = b;
	int c = strcmp(x->project ? x->project : "", y->project ? y->project : "");

	return c != 0 ? c : strcmp(x->container, y->container);
}

/* A postgres image used as a client or a toolbox (`command: sleep
 * infinity`, `psql ...`, a backup job) is not a server: its command,
 * after the image's entrypoint, starts with something else. */
static bool
runs_a_client(json_t *c)
{
	static const char *const clients[] = {
		"sleep", "sh", "bash", "psql", "pg_dump", "pg_dumpall", "pg_restore", "tail", "true",
		"cron", "crond",
	};
	const char *cmd = jstr(c, "Command");
	size_t n;

	if (cmd == NULL)
		return false;
	if (str_has_prefix(cmd, "docker-entrypoint.sh "))
		cmd += strlen("docker-entrypoint.sh ");
	n = strcspn(cmd, " ");
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++)
		if (strlen(clients[i]) == n && strncmp(cmd, clients[i], n) == 0)
			return true;
	return false;
}

bool
service_discover_postgres(json_t *list, HostPostgres **out, size_t *count)
{
	size_t i;
	json_t *c;

	*out = NULL;
	*count = 0;
	if (!json_is_array(list))
		return false;
	json_array_foreach(list, i, c)
	{
		const char *image = jstr(c, "Image");
		const char *oneoff = jstr(json_object_get(c, "Labels"), "com.docker.compose.oneoff");
		int major = -1;

		if (image == NULL || !service_image_is_postgres(image, &major))
			continue;
		if ((oneoff != NULL && strcasecmp(oneoff, "true") == 0) || runs_a_client(c))
			continue;

		HostPostgres *h;

		*out = xrealloc(*out, *count + 1, sizeof(HostPostgres));
		h = &(*out)[(*count)++];
		memset(h, 0, sizeof(*h));
		h->id = xstrdup(jstr(c, "Id") ? jstr(c, "Id") : "");
		h->container = name_of(c);
		h->image = xstrdup(image);
		h->image_major = major;
		h->state = xstrdup(jstr(c, "State") ? jstr(c, "State") : "?");
		h->project = label_dup(c, "com.docker.compose.project");
		h->service = label_dup(c, "com.docker.compose.service");
		h->working_dir = label_dup(c, "com.docker.compose.project.working_dir");
		h->config_files = label_dup(c, "com.docker.compose.project.config_files");
	}
	if (*count > 1)
		qsort(*out, *count, sizeof(HostPostgres), cmp_found);
	return true;
}

void
host_postgres_free(HostPostgres *found, size_t count)
{
	for (size_t i = 0; i < count; i++)
	{
		HostPostgres *h = &found[i];

		free(h->id);
		free(h->container);
		free(h->image);
		free(h->state);
		free(h->project);
		free(h->service);
		free(h->working_dir);
		free(h->config_files);
		free(h->version);
		free(h->extensions);
		free(h->locale);
		free(h->database);
	}
	free(found);
}
