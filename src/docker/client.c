/*
 * client.c — connecting to the engine, API version negotiation, and the
 * plain request/response path every document call (list, inspect, exec
 * create, start/stop) goes through.
 *
 * One libcurl easy handle per client is reused so requests share a
 * keep-alive connection. Exec streams use handles of their own (exec.c).
 */
#include "internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/version.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Older engines lack features we use (exec Env needs 1.25). */
#define DOCKER_MIN_API_MINOR 25

/* libcurl's global state belongs to this module, the only one that uses
 * libcurl: set up once, by main before anything else or by the first
 * connection (tests), and released by main at the end. */
static bool curl_ready = false;

bool
docker_library_init(void)
{
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		log_error("cannot initialise libcurl");
		return false;
	}
	curl_ready = true;
	return true;
}

void
docker_library_cleanup(void)
{
	if (curl_ready)
		curl_global_cleanup();
	curl_ready = false;
}

const char *
docker_endpoint(const DockerClient *client)
{
	return client->ep.display;
}

const char *
docker_api_version(const DockerClient *client)
{
	return client->api_version;
}

bool
docker_configure_handle(const DockerClient *client, CURL *h, char *errbuf)
{
	const DockerEndpoint *ep = &client->ep;
	bool ok = true;

	errbuf[0] = '\0';
	ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, DOCKER_CONNECT_TIMEOUT_S) == CURLE_OK;
	/* Never follow a redirect or use a proxy from the environment: the
	 * engine is local or named exactly by DOCKER_HOST. */
	ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, "pgfold/" PGFOLD_VERSION) == CURLE_OK;
	if (ep->kind == DOCKER_ENDPOINT_UNIX)
		ok &= curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path) == CURLE_OK;
	if (ep->tls)
	{
		ok &= curl_easy_setopt(h, CURLOPT_CAINFO, ep->ca_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, ep->cert_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, ep->key_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, ep->tls_verify ? 1L : 0L) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, ep->tls_verify ? 2L : 0L) == CURLE_OK;
	}
	if (!ok)
		log_error("libcurl refused an option for %s (is libcurl built with "
				  "unix socket and TLS support?)", ep->display);
	return ok;
}

/* Why a unix socket cannot be used, from the file system's point of view. */
static const char *
unix_socket_problem(const char *path, int os_errno)
{
	struct stat st;

	if (os_errno == EACCES || os_errno == EPERM)
		return "permission denied; add your user to the docker group or run as root";
	if (stat(path, &st) != 0)
	{
		if (errno == EACCES)
			return "permission denied; add your user to the docker group or run as root";
		return "no such socket; is dockerd running?";
	}
	if (!S_ISSOCK(st.st_mode))
		return "that path is not a socket; is DOCKER_HOST right?";
	if (access(path, R_OK | W_OK) != 0 && errno == EACCES)
		return "permission denied; add your user to the docker group or run as root";
	if (os_errno == ECONNREFUSED)
		return "nothing listens on the socket; is dockerd running?";
	return NULL;
}

void
docker_log_unreachable(const DockerClient *client, CURLcode rc, long os_errno,
					   const char *detail)
{
	const DockerEndpoint *ep = &client->ep;
	const char *why = NULL;
	char buf[512];

	if (ep->kind == DOCKER_ENDPOINT_UNIX)
		why = unix_socket_problem(ep->unix_path, (int) os_errno);
	if (why == NULL)
	{
		const char *what = detail && *detail ? detail : curl_easy_strerror(rc);

		if (rc == CURLE_OPERATION_TIMEDOUT)
			str_format(buf, sizeof(buf), "no answer in time (%s); is the engine overloaded or hung?", what);
		else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
			str_format(buf, sizeof(buf), "%s; is dockerd running and listening there?", what);
		else if (ep->tls && (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
							 rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE))
			str_format(buf, sizeof(buf), "TLS failed: %s; check the certificates in "
					   "DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)", what);
		else
			str_format(buf, sizeof(buf), "%s", what);
		why = buf;
	}
	log_error("cannot reach the Docker engine at %s: %s (%s)", ep->display, why,
			  client->host_note);
	exit_hint_set(EXIT_ENGINE);
}

const char *
docker_response_message(const DockerResponse *resp, char *buf, size_t size)
{
	json_error_t jerr;
	json_t *doc = json_loadb(sb_str(&resp->body), resp->body.len, 0, &jerr);
	const char *msg = NULL;

	if (doc != NULL)
		msg = json_string_value(json_object_get(doc, "message"));
	str_copy(buf, size, msg ? msg : sb_str(&resp->body));
	json_decref(doc);

	/* One line, no trailing newline: it goes inside our own message. */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t n = strlen(buf);

	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	if (n == 0)
		str_copy(buf, size, "(no message)");
	return buf;
}

void
docker_log_http_error(const char *what, const DockerResponse *resp)
{
	char msg[1024];

	log_error("%s: the Docker engine answered HTTP %ld: %s", what, resp->status,
			  docker_response_message(resp, msg, sizeof(msg)));
}

bool
docker_check_name(const char *id, const char **clean)
{
	const char *s = id != NULL && id[0] == '/' ? id + 1 : id;
	bool ok = s != NULL && *s != '\0' && strlen(s) <= 255 &&
		((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'));

	for (const char *p = s; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-';
	if (!ok)
	{
		log_error("\"%s\" is not a valid container name or id", id ? id : "(null)");
		return false;
	}
	*clean = s;
	return true;
}

/* ---- request ------------------------------------------------------------ */


static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Collect *c = userdata;
	size_t n = size * nmemb;

	if (c->resp->body.len + n > DOCKER_REPLY_MAX)
	{
		c->too_big = true;
		return 0;
	}
	sb_append(&c->resp->body, ptr, n);
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Collect *c = userdata;
	size_t n = size * nmemb;
	static const char name[] = "api-version:";

	if (n > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0)
	{
		size_t i = sizeof(name) - 1, j = 0;
		char *v = c->resp->api_version;

		while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
			i++;
		while (i < n && j + 1 < sizeof(c->resp->api_version) &&
			   ((ptr[i] >= '0' && ptr[i] <= '9') || ptr[i] == '.'))
			v[j++] = ptr[i++];
		v[j] = '\0';
	}
	return n;
}

void
docker_response_free(DockerResponse *resp)
{
	sb_free(&resp->body);
	resp->status = 0;
}

/* Set h up for one request; undone by request_release. */
bool
docker_request_prepare(const DockerClient *client, CURL *h, DockerPrepared *p,
					   const char *method, const char *path, bool unversioned,
					   json_t *body, long timeout_s, DockerResponse *resp)
{
	memset(resp, 0, sizeof(*resp));
	memset(p, 0, sizeof(*p));
	p->h = h;
	p->resp = resp;
	str_copy(p->method, sizeof(p->method), method);
	str_copy(p->path, sizeof(p->path), path);
	curl_easy_reset(h);
	if (!docker_configure_handle(client, h, p->errbuf))
		return false;

	sb_appendf(&p->url, "%s%s%s", client->ep.base_url, unversioned ? "" : client->prefix, path);
	curl_easy_setopt(h, CURLOPT_URL, sb_str(&p->url));
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else
	{
		p->payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
		if (body != NULL && p->payload == NULL)
		{
			log_error("cannot encode a request for the Docker engine");
			return false;
		}
		p->headers = curl_slist_append(p->headers, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, p->headers);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, p->payload ? p->payload : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) (p->payload ? strlen(p->payload) : 0));
	}
	p->collect.resp = resp;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &p->collect);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &p->collect);
	if (timeout_s > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	return true;
}

bool
docker_request_done(const DockerClient *client, DockerPrepared *p, CURLcode rc)
{
	if (rc != CURLE_OK)
	{
		if (p->collect.too_big)
			log_error("the Docker engine's reply to %s %s exceeds %u MiB; refusing it",
					  p->method, p->path, DOCKER_REPLY_MAX >> 20);
		else
		{
			long os_errno = 0;

			curl_easy_getinfo(p->h, CURLINFO_OS_ERRNO, &os_errno);
			docker_log_unreachable(client, rc, os_errno, p->errbuf);
		}
		docker_response_free(p->resp);
		return false;
	}
	curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &p->resp->status);
	log_trace("docker: %s %s -> %ld", p->method, sb_str(&p->url), p->resp->status);
	return true;
}

void
docker_request_release(DockerPrepared *p)
{
	/* The handle keeps pointers to these until the next reset. */
	if (p->h != NULL)
	{
		curl_easy_setopt(p->h, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(p->h, CURLOPT_POSTFIELDS, NULL);
	}
	curl_slist_free_all(p->headers);
	free(p->payload);
	sb_free(&p->url);
	memset(p, 0, sizeof(*p));
}

bool
docker_request(DockerClient *client, const char *method, const char *path,
			   bool unversioned, json_t *body, long timeout_s,
			   DockerResponse *resp)
{
	DockerPrepared p;
	bool ok = docker_request_prepare(client, client->curl, &p, method, path, unversioned, body,
									 timeout_s, resp)
		&& docker_request_done(client, &p, curl_easy_perform(client->curl));

	docker_request_release(&p);
	return ok;
}

/* ---- connect and negotiate --------------------------------------------- */

/* "1.41" -> 41; only major version 1 exists. */
static bool
parse_api_minor(const char *v, long *minor)
{
	char buf[16];

	if (!str_has_prefix(v, "1.") || !str_copy(buf, sizeof(buf), v + 2))
		return false;
	return str_to_long(buf, 0, 999, minor);
}

static bool
negotiate(DockerClient *client)
{
	DockerResponse resp;
	long minor = DOCKER_CLIENT_API_MINOR;

	if (!docker_request(client, "GET", "/_ping", true, NULL, 30, &resp))
		return false;
	if (resp.status != 200)
	{
		char msg[512];

		log_error("cannot use the Docker engine at %s: /_ping answered HTTP %ld: %s (%s)",
				  client->ep.display, resp.status,
				  docker_response_message(&resp, msg, sizeof(msg)), client->host_note);
		exit_hint_set(EXIT_ENGINE);
		docker_response_free(&resp);
		return false;
	}

	long daemon_minor;

	if (resp.api_version[0] == '\0')
		daemon_minor = 24;      /* as the docker client assumes */
	else if (!parse_api_minor(resp.api_version, &daemon_minor))
	{
		log_error("the Docker engine at %s reports an API version \"%s\" pgfold "
				  "does not understand", client->ep.display, resp.api_version);
		exit_hint_set(EXIT_ENGINE);
		docker_response_free(&resp);
		return false;
	}
	docker_response_free(&resp);
	if (daemon_minor < minor)
		minor = daemon_minor;
	if (minor < DOCKER_MIN_API_MINOR)
	{
		log_error("the Docker engine at %s speaks API 1.%ld; pgfold needs 1.%d "
				  "or newer (Docker 17.05+)", client->ep.display, daemon_minor,
				  DOCKER_MIN_API_MINOR);
		exit_hint_set(EXIT_ENGINE);
		return false;
	}
	str_format(client->api_version, sizeof(client->api_version), "%d.%ld",
			   DOCKER_CLIENT_API_MAJOR, minor);
	str_format(client->prefix, sizeof(client->prefix), "/v%s", client->api_version);
	log_debug("Docker engine at %s: API %s", client->ep.display, client->api_version);
	return true;
}

bool
docker_connect(DockerClient **out)
{
	const char *host = getenv("DOCKER_HOST");
	DockerClient *client = xcalloc(1, sizeof(*client));

	*out = NULL;
	if (!docker_endpoint_parse(host, getenv("DOCKER_TLS_VERIFY"),
							   getenv("DOCKER_CERT_PATH"), getenv("HOME"),
							   &client->ep))
	{
		free(client);
		return false;
	}
	if (host != NULL && *host != '\0')
		str_format(client->host_note, sizeof(client->host_note), "DOCKER_HOST=%s", host);
	else
		str_copy(client->host_note, sizeof(client->host_note),
				 "DOCKER_HOST is not set; set it if the engine listens elsewhere");
	if (client->ep.tls && !client->ep.tls_verify)
		log_warn("DOCKER_CERT_PATH is set without DOCKER_TLS_VERIFY: the engine's "
				 "certificate at %s is not verified", client->ep.display);

	if (!docker_library_init())
	{
		free(client);
		return false;
	}
	client->curl = curl_easy_init();
	if (client->curl == NULL)
	{
		log_error("cannot initialise libcurl");
		free(client);
		return false;
	}
	if (!negotiate(client))
	{
		docker_disconnect(client);
		return false;
	}
	*out = client;
	return true;
}

void
docker_disconnect(DockerClient *client)
{
	if (client == NULL)
		return;
	if (client->curl != NULL)
		curl_easy_cleanup(client->curl);
	free(client);
}
