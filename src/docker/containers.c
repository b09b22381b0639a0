/*
 * containers.c — list (with filters), inspect, start, stop, and readers
 * over an inspect document.
 */
#include "internal.h"

#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

/* ---- filters ------------------------------------------------------------ */

static void
filter_add(json_t *map, const char *key, const char *value)
{
	json_t *list = json_object_get(map, key);

	if (list == NULL)
	{
		list = json_array();
		json_object_set_new(map, key, list);
	}
	json_array_append_new(list, json_string(value));
}

char *
docker_filter_json(const DockerFilter *filter)
{
	if (filter == NULL)
		return NULL;

	json_t *map = json_object();

	for (const char *const *l = filter->labels; l != NULL && *l != NULL; l++)
		if (**l != '\0')
			filter_add(map, "label", *l);
	if (filter->name != NULL && *filter->name != '\0')
		filter_add(map, "name", filter->name);
	if (filter->ancestor != NULL && *filter->ancestor != '\0')
		filter_add(map, "ancestor", filter->ancestor);
	if (filter->status != NULL && *filter->status != '\0')
		filter_add(map, "status", filter->status);

	char *text = json_object_size(map) > 0
		? json_dumps(map, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(map);
	return text;
}

bool
docker_filter_query(const DockerFilter *filter, StrBuf *query)
{
	char *json = docker_filter_json(filter);
	bool ok = true;

	if (filter != NULL && filter->all)
		ok &= sb_appends(query, "all=1");
	if (json != NULL)
	{
		/* curl_easy_escape ignores its handle since 7.82. */
		char *esc = curl_easy_escape(NULL, json, (int) strlen(json));

		ok &= esc != NULL;
		if (esc != NULL)
			ok &= sb_appendf(query, "%sfilters=%s", query->len ? "&" : "", esc);
		curl_free(esc);
		free(json);
	}
	return ok;
}

/* ---- list / inspect ------------------------------------------------------ */

static json_t *
parse_reply(const DockerResponse *resp, const char *what)
{
	json_error_t jerr;
	json_t *doc = json_loadb(sb_str(&resp->body), resp->body.len, 0, &jerr);

	if (doc == NULL)
		log_error("%s: the Docker engine sent invalid JSON (%s at byte %d)",
				  what, jerr.text, jerr.position);
	return doc;
}

bool
docker_list_containers(DockerClient *client, const DockerFilter *filter,
					   json_t **out)
{
	StrBuf path = STRBUF_INIT;
	DockerResponse resp;
	bool ok = false;

	*out = NULL;
	sb_appends(&path, "/containers/json");
	{
		StrBuf q = STRBUF_INIT;

		if (!docker_filter_query(filter, &q))
		{
			log_error("cannot encode the container filter");
			sb_free(&q);
			sb_free(&path);
			return false;
		}
		if (q.len > 0)
			sb_appendf(&path, "?%s", q.data);
		sb_free(&q);
	}
	if (!docker_request(client, "GET", sb_str(&path), false, NULL,
						DOCKER_REQUEST_TIMEOUT_S, &resp))
		goto done;
	if (resp.status != 200)
	{
		docker_log_http_error("cannot list containers", &resp);
		goto done;
	}
	*out = parse_reply(&resp, "listing containers");
	if (*out != NULL && !json_is_array(*out))
	{
		log_error("listing containers: the Docker engine did not send a list");
		json_decref(*out);
		*out = NULL;
	}
	ok = *out != NULL;
done:
	docker_response_free(&resp);
	sb_free(&path);
	return ok;
}

bool
docker_inspect_container(DockerClient *client, const char *id, json_t **out,
						 bool *found)
{
	char path[320];
	DockerResponse resp;
	const char *name;
	bool ok = false;

	*out = NULL;
	*found = false;
	if (!docker_check_name(id, &name))
		return false;
	str_format(path, sizeof(path), "/containers/%s/json", name);
	if (!docker_request(client, "GET", path, false, NULL,
						DOCKER_REQUEST_TIMEOUT_S, &resp))
		return false;
	if (resp.status == 404)
		ok = true;              /* not found is an answer, not an error */
	else if (resp.status != 200)
	{
		char what[320];

		str_format(what, sizeof(what), "cannot inspect container %s", name);
		docker_log_http_error(what, &resp);
	}
	else if ((*out = parse_reply(&resp, "inspecting a container")) != NULL)
	{
		if (json_is_object(*out))
			ok = *found = true;
		else
		{
			log_error("inspecting container %s: the Docker engine did not send an object", name);
			json_decref(*out);
			*out = NULL;
		}
	}
	docker_response_free(&resp);
	return ok;
}

/* ---- start / stop -------------------------------------------------------- */

/* The engine's answer to POST /containers/{id}/{action}, judged. */
static bool
action_result(const char *action, const char *name, const DockerResponse *resp)
{
	char what[320];

	/* 304: already started / already stopped, which is what we wanted. */
	if (resp->status == 204 || resp->status == 304)
		return true;
	if (resp->status == 404)
		log_error("cannot %s container %s: no container %s (check `docker ps -a`)",
				  action, name, name);
	else
	{
		str_format(what, sizeof(what), "cannot %s container %s", action, name);
		docker_log_http_error(what, resp);
	}
	return false;
}

static bool
container_action(DockerClient *client, const char *id, const char *action,
				 const char *query, long timeout_s)
{
	char path[352];
	DockerResponse resp;
	const char *name;
	bool ok;

	if (!docker_check_name(id, &name))
		return false;
	str_format(path, sizeof(path), "/containers/%s/%s%s", name, action, query);
	if (!docker_request(client, "POST", path, false, NULL, timeout_s, &resp))
		return false;
	ok = action_result(action, name, &resp);
	docker_response_free(&resp);
	return ok;
}

bool
docker_start_container(DockerClient *client, const char *id)
{
	return container_action(client, id, "start", "", DOCKER_REQUEST_TIMEOUT_S);
}

/* The engine's default when a container has no StopTimeout of its own. */
#define ENGINE_STOP_TIMEOUT_S 10

int
docker_stop_grace(json_t *inspect)
{
	json_t *t = json_object_get(json_object_get(inspect, "Config"), "StopTimeout");

	if (json_is_integer(t) && json_integer_value(t) >= 0 && json_integer_value(t) <= 86400)
		return (int) json_integer_value(t);
	return ENGINE_STOP_TIMEOUT_S;
}

/* A container's own grace period, read from its inspect document. */
static bool
stop_grace_of(DockerClient *client, const char *id, int *grace)
{
	json_t *inspect = NULL;
	bool found = false;

	*grace = ENGINE_STOP_TIMEOUT_S;
	if (!docker_inspect_container(client, id, &inspect, &found))
		return false;
	if (found)
		*grace = docker_stop_grace(inspect);
	json_decref(inspect);
	return true;
}

bool
docker_stop_containers(DockerClient *client, const char *const *ids, size_t n)
{
	DockerBatchItem *items = xcalloc(n ? n : 1, sizeof(DockerBatchItem));
	const char **names = xcalloc(n ? n : 1, sizeof(char *));
	bool ok = true;

	for (size_t i = 0; ok && i < n; i++)
	{
		int grace = 0;

		ok = docker_check_name(ids[i], &names[i]) && stop_grace_of(client, names[i], &grace);
		items[i].method = "POST";
		str_format(items[i].path, sizeof(items[i].path), "/containers/%s/stop?t=%d", names[i],
				   grace);
		/* The engine waits the grace period, then kills and waits for the exit. */
		items[i].timeout_s = (long) grace + DOCKER_REQUEST_TIMEOUT_S;
	}
	if (ok)
	{
		ok = docker_request_batch(client, items, n);
		for (size_t i = 0; i < n; i++)
			if (items[i].ok && !action_result("stop", names[i], &items[i].resp))
				ok = false;
	}
	for (size_t i = 0; i < n; i++)
		docker_response_free(&items[i].resp);
	free(items);
	free(names);
	return ok;
}

bool
docker_stop_container(DockerClient *client, const char *id, int timeout_s)
{
	char query[32];

	if (timeout_s < 0)
		return docker_stop_containers(client, &id, 1);
	str_format(query, sizeof(query), "?t=%d", timeout_s);
	/* The engine waits timeout_s, then kills and waits for the exit. */
	return container_action(client, id, "stop", query,
							(long) timeout_s + DOCKER_REQUEST_TIMEOUT_S);
}

/* ---- inspect readers ----------------------------------------------------- */

const char *
docker_inspect_label(json_t *inspect, const char *key)
{
	json_t *labels = json_object_get(json_object_get(inspect, "Config"), "Labels");

	return json_string_value(json_object_get(labels, key));
}

const char *
docker_inspect_env(json_t *inspect, const char *name)
{
	json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env");
	size_t n = strlen(name), i;
	json_t *item;
	const char *found = NULL;

	/* The last assignment wins, as in a process environment built from it. */
	json_array_foreach(env, i, item)
	{
		const char *kv = json_string_value(item);

		if (kv != NULL && strncmp(kv, name, n) == 0 && kv[n] == '=')
			found = kv + n + 1;
	}
	return found;
}

/* Does dir hold path (dir itself or below it, by whole components)? */
static size_t
holds(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || dir[0] != '/' || strncmp(dir, path, n) != 0)
		return 0;
	if (n == 1)
		return 1;
	return path[n] == '/' || path[n] == '\0' ? n : 0;
}

bool
docker_inspect_bind_path(json_t *inspect, const char *host_path, char *out, size_t size)
{
	json_t *mounts = json_object_get(inspect, "Mounts"), *m;
	size_t i, best = 0;
	const char *dest = NULL;

	json_array_foreach(mounts, i, m)
	{
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		size_t n;

		if (type == NULL || strcmp(type, "bind") != 0 || src == NULL || dst == NULL
			|| dst[0] != '/')
			continue;
		if ((n = holds(src, host_path)) > best)
		{
			best = n;
			dest = dst;
		}
	}
	if (dest == NULL)
		return false;

	const char *rest = best == 1 ? host_path : host_path + best;
	size_t dn = strlen(dest);

	while (dn > 1 && dest[dn - 1] == '/')
		dn--;
	return str_format(out, size, "%.*s%s", (int) (dn == 1 && rest[0] == '/' ? 0 : dn), dest, rest);
}

bool
docker_inspect_running(json_t *inspect)
{
	return json_is_true(json_object_get(json_object_get(inspect, "State"), "Running"));
}
