/*
 * batch.c — several plain requests performed together, each on its own
 * connection (libcurl's multi interface), for waits that are the engine's
 * rather than ours: stopping all of a service's apps at once, each with its
 * own grace period, costs the longest grace instead of their sum.
 */
#include "internal.h"

#include "pgfold/log.h"
#include "pgfold/str.h"

#include <stdlib.h>
#include <string.h>

/* Add item i to the multi handle; false (logged) when it cannot be set up. */
static bool
batch_add(const DockerClient *client, CURLM *multi, DockerBatchItem *item, DockerPrepared *p)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
	{
		log_error("cannot initialise libcurl");
		return false;
	}
	if (!docker_request_prepare(client, h, p, item->method, item->path, false, NULL,
								item->timeout_s, &item->resp))
	{
		docker_request_release(p);
		curl_easy_cleanup(h);
		return false;
	}
	curl_easy_setopt(h, CURLOPT_PRIVATE, (void *) item);
	if (curl_multi_add_handle(multi, h) != CURLM_OK)
	{
		log_error("libcurl refused a request for the Docker engine");
		docker_request_release(p);
		curl_easy_cleanup(h);
		return false;
	}
	return true;
}

/* Drive every transfer to its end; each finished one is judged at once. */
static void
batch_perform(const DockerClient *client, CURLM *multi, DockerBatchItem *items,
			  DockerPrepared *prepared)
{
	int running = 1, left = 0;

	while (running > 0)
	{
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		for (CURLMsg *msg; (msg = curl_multi_info_read(multi, &left)) != NULL;)
		{
			DockerBatchItem *item = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &item);
			item->ok = docker_request_done(client, &prepared[item - items], msg->data.result);
		}
		if (running > 0)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
}

bool
docker_request_batch(const DockerClient *client, DockerBatchItem *items, size_t n)
{
	CURLM *multi = curl_multi_init();
	DockerPrepared *prepared = xcalloc(n ? n : 1, sizeof(DockerPrepared));
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		items[i].ok = false;
	if (multi == NULL)
	{
		log_error("cannot initialise libcurl");
		free(prepared);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!batch_add(client, multi, &items[i], &prepared[i]))
			ok = false;
	batch_perform(client, multi, items, prepared);
	for (size_t i = 0; i < n; i++)
	{
		CURL *h = prepared[i].h;

		ok = ok && items[i].ok;
		if (h == NULL)
			continue;
		curl_multi_remove_handle(multi, h);
		docker_request_release(&prepared[i]);
		curl_easy_cleanup(h);
	}
	curl_multi_cleanup(multi);
	free(prepared);
	return ok;
}
