/*
 * hijack.c — POST /exec/{id}/start over a connection libcurl only opens
 * (CURLOPT_CONNECT_ONLY=1): we write the HTTP request ourselves with
 * "Connection: Upgrade" / "Upgrade: tcp" and read the reply head ourselves.
 * The engine answers "101 UPGRADED" (or, from engines that ignore the
 * upgrade, "200 OK" and a raw stream until close); from then on the socket
 * is raw and bidirectional: our writes are the process's stdin, its output
 * comes back multiplexed (demux.c).
 *
 * The engine may send the first output frames in the same read as the
 * reply head: those bytes stay in exec->buf for the first pump.
 */
#include "exec_int.h"

#include "pgfold/clock.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

/* The reply head must come quickly: the engine sends it as soon as the
 * process was started (or failed to). */
#define HIJACK_REPLY_TIMEOUT_MS 120000
#define HIJACK_HEAD_MAX (16u * 1024u)
#define HIJACK_ERROR_BODY_MAX (64u * 1024u)

static long long
now_ms(void)
{
	return (long long) (clock_now() * 1000);
}

/* Wait for the socket; false (logged) when the deadline passed. */
static bool
wait_socket(DockerExec *exec, short events, long long deadline)
{
	long long left = deadline - now_ms();

	if (left <= 0)
	{
		log_error("starting `%s` in container %s: the Docker engine did not answer "
				  "within %d s", exec->what, exec->container, HIJACK_REPLY_TIMEOUT_MS / 1000);
		return false;
	}

	struct pollfd pfd = { .fd = exec->fd, .events = events };
	int rc = poll(&pfd, 1, (int) (left > 1000 ? 1000 : left));

	if (rc < 0 && errno != EINTR)
	{
		log_error("poll on the Docker engine connection failed: %m");
		return false;
	}
	return true;
}

static bool
send_all(DockerExec *exec, const char *buf, size_t len, long long deadline)
{
	while (len > 0)
	{
		size_t n = 0;
		int err = 0;
		ExecSendStatus st = docker_exec_send_raw(exec, buf, len, &n, &err);

		if (st != EXEC_SEND_OK)
		{
			log_error("starting `%s` in container %s: cannot send the request "
					  "to the Docker engine: %s", exec->what, exec->container,
					  err ? strerror(err) : "connection closed");
			exit_hint_set(EXIT_ENGINE);
			return false;
		}
		buf += n;
		len -= n;
		if (n == 0 && !wait_socket(exec, POLLOUT, deadline))
			return false;
	}
	return true;
}

/* Read more into exec->buf[buf_len..limit); *eof on close. */
static bool
recv_some(DockerExec *exec, size_t limit, long long deadline, bool *eof)
{
	size_t n = 0;
	CURLcode rc;

	*eof = false;
	for (;;)
	{
		rc = curl_easy_recv(exec->curl, exec->buf + exec->buf_len,
							limit - exec->buf_len, &n);
		if (rc != CURLE_AGAIN)
			break;
		if (!wait_socket(exec, POLLIN, deadline))
			return false;
	}
	if (rc != CURLE_OK)
	{
		log_error("starting `%s` in container %s: reading the Docker engine's "
				  "reply failed: %s", exec->what, exec->container, curl_easy_strerror(rc));
		exit_hint_set(EXIT_ENGINE);
		return false;
	}
	*eof = n == 0;
	exec->buf_len += n;
	return true;
}

/* A non-upgrade reply: read its (bounded) body and log the engine's message. */
static void
report_start_error(DockerExec *exec, const DockerReplyHead *rh, long long deadline)
{
	long status = rh->status;
	size_t head_end = rh->head_end;
	long content_length = rh->content_length > (long) HIJACK_ERROR_BODY_MAX
		? -1 : rh->content_length;
	bool eof = false;

	/* Without a length (never seen from the engine) use what already came:
	 * the connection stays open and waiting for its end would hang. */
	size_t limit = content_length >= 0 ? head_end + (size_t) content_length : exec->buf_len;

	if (limit > DOCKER_EXEC_PUMP_MAX)
		limit = DOCKER_EXEC_PUMP_MAX;
	while (exec->buf_len < limit && !eof)
		if (!recv_some(exec, limit, deadline, &eof))
			break;

	DockerResponse resp = { .status = status };

	sb_append(&resp.body, (const char *) exec->buf + head_end,
			  exec->buf_len > head_end ? exec->buf_len - head_end : 0);

	char msg[1024];

	docker_response_message(&resp, msg, sizeof(msg));
	if (status == 409)
		log_error("cannot run `%s`: container %s is not running (%s)",
				  exec->what, exec->container, msg);
	else if (status == 404)
		log_error("cannot run `%s`: no container %s, or it went away (%s)",
				  exec->what, exec->container, msg);
	else
		log_error("cannot start `%s` in container %s: the Docker engine answered "
				  "HTTP %ld: %s", exec->what, exec->container, status, msg);
	docker_response_free(&resp);
}

/* Read the reply head; leave stream bytes that followed it in exec->buf. */
static bool
read_reply(DockerExec *exec, long long deadline)
{
	DockerReplyHead rh;
	bool eof = false;

	exec->buf_len = exec->buf_off = 0;
	while (!docker_reply_head_parse((const char *) exec->buf, exec->buf_len, &rh))
	{
		if (exec->buf_len >= HIJACK_HEAD_MAX || eof)
		{
			log_error("starting `%s` in container %s: the Docker engine's reply "
					  "has no complete header block (%zu bytes read%s)", exec->what,
					  exec->container, exec->buf_len, eof ? ", then the connection closed" : "");
			exit_hint_set(EXIT_ENGINE);
			return false;
		}
		if (!recv_some(exec, HIJACK_HEAD_MAX, deadline, &eof))
			return false;
	}
	if (rh.status == 0)
	{
		log_error("starting `%s` in container %s: the Docker engine's reply is not HTTP",
				  exec->what, exec->container);
		exit_hint_set(EXIT_ENGINE);
		return false;
	}
	if (rh.status != 101 && rh.status != 200)
	{
		report_start_error(exec, &rh, deadline);
		return false;
	}
	if (rh.has_transfer_encoding)
	{
		log_error("starting `%s` in container %s: the Docker engine sent a %s "
				  "stream instead of a raw one", exec->what, exec->container,
				  rh.transfer_encoding);
		return false;
	}
	log_trace("docker: exec %s started: HTTP %ld, %zu stream bytes with the reply",
			  exec->id, rh.status, exec->buf_len - rh.head_end);
	exec->buf_off = rh.head_end;
	exec->more = exec->buf_off < exec->buf_len;
	return true;
}

bool
docker_exec_hijack(DockerClient *client, DockerExec *exec)
{
	char errbuf[CURL_ERROR_SIZE];
	long long deadline = now_ms() + HIJACK_REPLY_TIMEOUT_MS;

	exec->curl = curl_easy_init();
	if (exec->curl == NULL)
	{
		log_error("cannot initialise libcurl");
		return false;
	}
	if (!docker_configure_handle(client, exec->curl, errbuf))
		return false;
	/* The path is not requested: CONNECT_ONLY stops after connecting (and
	 * the TLS handshake); the URL's host also names the peer for TLS. */
	curl_easy_setopt(exec->curl, CURLOPT_URL, client->ep.base_url);
	curl_easy_setopt(exec->curl, CURLOPT_CONNECT_ONLY, 1L);

	CURLcode rc = curl_easy_perform(exec->curl);

	if (rc != CURLE_OK)
	{
		long os_errno = 0;

		curl_easy_getinfo(exec->curl, CURLINFO_OS_ERRNO, &os_errno);
		docker_log_unreachable(client, rc, os_errno, errbuf);
		curl_easy_setopt(exec->curl, CURLOPT_ERRORBUFFER, NULL);
		return false;
	}
	curl_easy_setopt(exec->curl, CURLOPT_ERRORBUFFER, NULL);

	curl_socket_t fd = CURL_SOCKET_BAD;

	if (curl_easy_getinfo(exec->curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
		fd == CURL_SOCKET_BAD)
	{
		log_error("libcurl gave no socket for the Docker engine connection");
		return false;
	}
	exec->fd = fd;
	exec->tls = client->ep.tls;

	static const char body[] = "{\"Detach\":false,\"Tty\":false}";
	StrBuf req = STRBUF_INIT;
	const char *host = client->ep.kind == DOCKER_ENDPOINT_UNIX ? "localhost" : client->ep.host;
	bool ok;

	sb_appendf(&req,
			   "POST %s/exec/%s/start HTTP/1.1\r\n"
			   "Host: %s\r\n"
			   "User-Agent: pgfold\r\n"
			   "Content-Type: application/json\r\n"
			   "Connection: Upgrade\r\n"
			   "Upgrade: tcp\r\n"
			   "Content-Length: %zu\r\n"
			   "\r\n%s",
			   client->prefix, exec->id, host, sizeof(body) - 1, body);
	ok = send_all(exec, req.data, req.len, deadline) && read_reply(exec, deadline);
	sb_free(&req);
	return ok;
}
