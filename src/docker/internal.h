/*
 * internal.h — shared between the files of src/docker only.
 */
#ifndef PGFOLD_DOCKER_INTERNAL_H
#define PGFOLD_DOCKER_INTERNAL_H

#include <curl/curl.h>

#include "pgfold/docker.h"

/* Engine replies we parse (lists, inspect documents) are bounded. */
#define DOCKER_REPLY_MAX (64u * 1024u * 1024u)
#define DOCKER_CONNECT_TIMEOUT_S 10L
/* Plain requests (inspect, list, exec create) answer fast; a generous
 * bound keeps a hung engine from hanging pgfold. Never used on streams. */
#define DOCKER_REQUEST_TIMEOUT_S 120L

struct DockerClient
{
	DockerEndpoint ep;
	char   api_version[16];      /* "1.41" */
	char   prefix[24];           /* "/v1.41" */
	char   host_note[DOCKER_PATH_MAX + 32]; /* "DOCKER_HOST=..." for messages */
	CURL  *curl;                 /* reused: keeps the connection alive */
};

typedef struct DockerResponse
{
	long    status;              /* HTTP status */
	StrBuf  body;
	char    api_version[16];     /* Api-Version header, "" if absent */
} DockerResponse;

/* The reply being collected by one request's callbacks. */
typedef struct Collect
{
	DockerResponse *resp;
	bool            too_big;
} Collect;

/* One request set up on a handle: docker_request is prepare, perform,
 * done, release on the client's own handle; a batch (batch.c) does the
 * same on a handle per request, performed together. */
typedef struct DockerPrepared
{
	CURL               *h;
	DockerResponse     *resp;
	Collect             collect;
	StrBuf              url;
	char               *payload;
	struct curl_slist  *headers;
	char                method[8];
	char                path[384];
	char                errbuf[CURL_ERROR_SIZE];
} DockerPrepared;

bool docker_request_prepare(const DockerClient *client, CURL *h, DockerPrepared *p,
							const char *method, const char *path, bool unversioned,
							json_t *body, long timeout_s, DockerResponse *resp);
/* The transport's verdict: false (logged, EXIT_ENGINE) when it failed. */
bool docker_request_done(const DockerClient *client, DockerPrepared *p, CURLcode rc);
void docker_request_release(DockerPrepared *p);

/* One request of a batch: in method/path/timeout, out resp (judged by the
 * caller) and ok (false: the transport failed, logged). */
typedef struct DockerBatchItem
{
	const char     *method;
	char            path[352];
	long            timeout_s;
	DockerResponse  resp;
	bool            ok;
} DockerBatchItem;

/* Perform the requests together, each on its own connection (batch.c);
 * false when any transport failed. Free each resp after. */
bool docker_request_batch(const DockerClient *client, DockerBatchItem *items, size_t n);

/* Apply endpoint options (socket path, TLS files, connect timeout) to h. */
bool docker_configure_handle(const DockerClient *client, CURL *h, char *errbuf);

/* One request: path is relative to the version prefix ("/containers/json?..."),
 * or absolute when unversioned is true ("/_ping"). body may be NULL. A false
 * return means the transport failed: logged, EXIT_ENGINE set. HTTP errors
 * return true with resp->status set for the caller to judge. */
bool docker_request(DockerClient *client, const char *method, const char *path,
					bool unversioned, json_t *body, long timeout_s,
					DockerResponse *resp);
void docker_response_free(DockerResponse *resp);

/* The engine's {"message": "..."} of an error reply, or the raw body. */
const char *docker_response_message(const DockerResponse *resp, char *buf,
									size_t size);

/* Log "cannot reach the Docker engine at ..." with the fix; EXIT_ENGINE. */
void docker_log_unreachable(const DockerClient *client, CURLcode rc,
							long os_errno, const char *detail);

/* Log an unexpected HTTP error: "<what>: HTTP <status>: <engine message>". */
void docker_log_http_error(const char *what, const DockerResponse *resp);

/* Container names/ids are [A-Za-z0-9][A-Za-z0-9_.-]*, optionally with the
 * leading "/" inspect shows; anything else is refused before it reaches a
 * URL. Logs the error. */
bool docker_check_name(const char *id, const char **clean);

#endif
