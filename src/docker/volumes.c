/*
 * volumes.c — removing a container and a volume, and the disk volumes hold (GET /system/df): what
 * `pgfold retire` removes and gives back.
 */
#include "internal.h"

#include "pgfold/log.h"

#include <string.h>
#include <unistd.h>

/* GET /system/df while another one runs: try again, for up to a minute. */
#define DF_RETRIES  120
#define DF_RETRY_MS 500

static bool
remove_result(const char *what, const char *name, const DockerResponse *resp, bool *gone)
{
	char msg[512];

	*gone = resp->status == 404;
	if (resp->status == 204 || resp->status == 200 || resp->status == 404)
		return true;
	if (resp->status == 409)
		log_error("cannot remove %s %s: %s", what, name,
				  docker_response_message(resp, msg, sizeof(msg)));
	else
	{
		str_format(msg, sizeof(msg), "cannot remove %s %s", what, name);
		docker_log_http_error(msg, resp);
	}
	return false;
}

static bool
remove_object(DockerClient *client, const char *kind, const char *what, const char *id,
			  bool *gone)
{
	char path[352];
	DockerResponse resp;
	const char *name;
	bool ok;

	*gone = false;
	if (!docker_check_name(id, &name))
		return false;
	str_format(path, sizeof(path), "/%s/%s", kind, name);
	if (!docker_request(client, "DELETE", path, false, NULL, DOCKER_REQUEST_TIMEOUT_S, &resp))
		return false;
	ok = remove_result(what, name, &resp, gone);
	docker_response_free(&resp);
	return ok;
}

bool
docker_remove_container(DockerClient *client, const char *id, bool *gone)
{
	return remove_object(client, "containers", "container", id, gone);
}

bool
docker_remove_volume(DockerClient *client, const char *name, bool *gone)
{
	return remove_object(client, "volumes", "volume", name, gone);
}

bool
docker_volume_sizes(DockerClient *client, json_t **sizes)
{
	DockerResponse resp;
	json_error_t jerr;
	json_t *doc = NULL, *v;
	size_t i;
	bool ok = false;

	*sizes = NULL;
	/* the engine computes one disk usage at a time and answers 500 "a disk
	 * usage operation is already running" to the others: wait for it */
	for (int try = 0;; try++)
	{
		if (!docker_request(client, "GET", "/system/df", false, NULL, DOCKER_REQUEST_TIMEOUT_S,
							&resp))
			return false;
		if (resp.status != 500 || try >= DF_RETRIES
			|| strstr(sb_str(&resp.body), "already running") == NULL)
			break;
		docker_response_free(&resp);
		usleep(DF_RETRY_MS * 1000);
	}
	if (resp.status != 200)
		docker_log_http_error("cannot read the engine's disk usage (GET /system/df)", &resp);
	else if ((doc = json_loadb(sb_str(&resp.body), resp.body.len, 0, &jerr)) == NULL)
		log_error("GET /system/df: the Docker engine sent invalid JSON (%s)", jerr.text);
	else
	{
		*sizes = json_object();
		json_array_foreach(json_object_get(doc, "Volumes"), i, v)
		{
			const char *name = json_string_value(json_object_get(v, "Name"));
			json_t *size = json_object_get(json_object_get(v, "UsageData"), "Size");

			if (name != NULL)
				json_object_set_new(*sizes, name,
									json_integer(json_is_integer(size)
												 ? json_integer_value(size) : -1));
		}
		ok = true;
	}
	json_decref(doc);
	docker_response_free(&resp);
	return ok;
}
