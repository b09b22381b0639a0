/*
 * exec.c — exec create, the non-blocking stream primitives over the
 * hijacked connection (hijack.c), and the exit status.
 *
 * Memory is fixed per exec: one DOCKER_EXEC_PUMP_MAX receive buffer and a
 * few hundred bytes of diagnostics, whatever the size of the stream.
 */
#include "exec_int.h"

#include "pgfold/clock.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/signals.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* After output EOF a process normally exits at once; this only guards
 * against an engine that never reports it (a process that closed its
 * stdout and went on running, a hung engine). */
#define EXEC_FINISH_STALL_S 600
#define EXEC_NO_CODE_S 10

static const char *
cmd_name(const DockerExecSpec *spec)
{
	return spec->cmd != NULL && spec->cmd[0] != NULL ? spec->cmd[0] : "(no command)";
}

static json_t *
string_array(const char *const *list)
{
	json_t *a = json_array();

	for (; list != NULL && *list != NULL; list++)
		json_array_append_new(a, json_string(*list));
	return a;
}

/* POST /containers/{id}/exec -> exec->id */
static bool
exec_create(DockerClient *client, const char *container,
			const DockerExecSpec *spec, DockerExec *exec)
{
	char path[320];
	DockerResponse resp;
	json_t *req = json_object();
	bool ok = false;

	json_object_set_new(req, "AttachStdin", json_boolean(spec->attach_stdin));
	json_object_set_new(req, "AttachStdout", json_true());
	json_object_set_new(req, "AttachStderr", json_true());
	json_object_set_new(req, "Tty", json_false());
	json_object_set_new(req, "Cmd", string_array(spec->cmd));
	if (spec->env != NULL)
		json_object_set_new(req, "Env", string_array(spec->env));
	if (spec->user != NULL && *spec->user != '\0')
		json_object_set_new(req, "User", json_string(spec->user));
	if (spec->workdir != NULL && *spec->workdir != '\0')
		json_object_set_new(req, "WorkingDir", json_string(spec->workdir));

	str_format(path, sizeof(path), "/containers/%s/exec", container);
	if (!docker_request(client, "POST", path, false, req, DOCKER_REQUEST_TIMEOUT_S, &resp))
		goto out;
	if (resp.status == 404)
		log_error("cannot run `%s`: no container %s (check `docker ps -a`)",
				  exec->what, container);
	else if (resp.status == 409)
	{
		char msg[512];

		docker_response_message(&resp, msg, sizeof(msg));
		if (strstr(msg, "paused") != NULL)
			log_error("cannot run `%s`: container %s is paused; `docker unpause %s` "
					  "first (%s)", exec->what, container, container, msg);
		else
			log_error("cannot run `%s`: container %s is not running; start it "
					  "first (%s)", exec->what, container, msg);
	}
	else if (resp.status != 201 && resp.status != 200)
	{
		char what[512];

		str_format(what, sizeof(what), "cannot run `%s` in container %s", exec->what, container);
		docker_log_http_error(what, &resp);
	}
	else
	{
		json_error_t jerr;
		json_t *doc = json_loadb(sb_str(&resp.body), resp.body.len, 0, &jerr);
		const char *id = json_string_value(json_object_get(doc, "Id"));
		bool hex = id != NULL && *id != '\0' && strlen(id) < sizeof(exec->id);

		for (const char *p = id; hex && *p; p++)
			hex = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
		if (hex)
		{
			str_copy(exec->id, sizeof(exec->id), id);
			ok = true;
		}
		else
			log_error("cannot run `%s` in container %s: the Docker engine's exec "
					  "reply has no usable Id", exec->what, container);
		json_decref(doc);
	}
	docker_response_free(&resp);
out:
	json_decref(req);
	return ok;
}

static void
exec_free(DockerExec *exec)
{
	if (exec == NULL)
		return;
	if (exec->curl != NULL)
		curl_easy_cleanup(exec->curl);
	free(exec->buf);
	free(exec);
}

bool
docker_exec_start(DockerClient *client, const char *container,
				  const DockerExecSpec *spec, DockerExec **out)
{
	const char *name;

	*out = NULL;
	if (!docker_check_name(container, &name))
		return false;
	if (spec->cmd == NULL || spec->cmd[0] == NULL)
	{
		log_error("internal error: exec in container %s without a command", name);
		return false;
	}

	DockerExec *exec = xcalloc(1, sizeof(*exec));

	exec->fd = CURL_SOCKET_BAD;
	str_copy(exec->container, sizeof(exec->container), name);
	str_copy(exec->what, sizeof(exec->what), cmd_name(spec));
	/* not calloc: zeroing would make every page resident at once, eight
	 * times over while status runs its execs together; pages get touched
	 * only as output arrives */
	exec->buf = xrealloc(NULL, DOCKER_EXEC_PUMP_MAX, 1);
	docker_demux_init(&exec->dm);

	if (!exec_create(client, name, spec, exec) || !docker_exec_hijack(client, exec))
	{
		exec_free(exec);
		return false;
	}
	log_debug("docker: exec %.12s in %s: %s", exec->id, name, exec->what);
	*out = exec;
	return true;
}

int
docker_exec_fd(const DockerExec *exec)
{
	return (int) exec->fd;
}

const char *
docker_exec_id(const DockerExec *exec)
{
	return exec->id;
}

bool
docker_exec_output_pending(const DockerExec *exec)
{
	return !exec->eof && (exec->more || exec->buf_off < exec->buf_len);
}

/* ---- output ------------------------------------------------------------- */

typedef struct PumpCtx
{
	DockerExec *exec;
	DockerSink  sink;
	void       *ctx;
	bool        refused;    /* the sink said stop (and logged why) */
} PumpCtx;

static bool
pump_sink(void *ctx, int stream, const char *buf, size_t len)
{
	PumpCtx *pc = ctx;
	DockerExec *exec = pc->exec;

	if (stream == 1 && exec->head_len < EXEC_HEAD_MAX - 1)
	{
		size_t take = EXEC_HEAD_MAX - 1 - exec->head_len;

		if (take > len)
			take = len;
		memcpy(exec->head + exec->head_len, buf, take);
		exec->head_len += take;
	}
	if (pc->sink != NULL && !pc->sink(pc->ctx, stream, buf, len))
	{
		pc->refused = true;
		return false;
	}
	return true;
}

bool
docker_exec_pump_output(DockerExec *exec, DockerSink sink, void *ctx, bool *eof)
{
	PumpCtx pc = { exec, sink, ctx, false };

	*eof = exec->eof;
	if (exec->eof)
		return true;

	/* Bytes that came with the upgrade reply first, then one read: at most
	 * DOCKER_EXEC_PUMP_MAX bytes per call, so a caller can bound its buffers. */
	if (exec->buf_off >= exec->buf_len)
	{
		size_t n = 0;
		CURLcode rc = curl_easy_recv(exec->curl, exec->buf, DOCKER_EXEC_PUMP_MAX, &n);

		exec->buf_off = exec->buf_len = 0;
		if (rc == CURLE_AGAIN)
		{
			exec->more = false;
			return true;
		}
		if (rc != CURLE_OK)
		{
			log_error("reading the output of `%s` in container %s failed: %s",
					  exec->what, exec->container, curl_easy_strerror(rc));
			exit_hint_set(EXIT_ENGINE);
			return false;
		}
		if (n == 0)
		{
			exec->eof = *eof = true;
			exec->more = false;
			if (!docker_demux_at_boundary(&exec->dm))
			{
				log_error("the output of `%s` in container %s is truncated: the "
						  "Docker engine closed the stream inside a frame "
						  "(%zu bytes of it missing)", exec->what, exec->container,
						  exec->dm.remaining);
				return false;
			}
			return true;
		}
		exec->buf_len = n;
		/* A full read may have left more behind; TLS may hold decrypted
		 * bytes poll() cannot see. */
		exec->more = n == DOCKER_EXEC_PUMP_MAX || exec->tls;
	}

	const char *p = (const char *) exec->buf + exec->buf_off;
	size_t len = exec->buf_len - exec->buf_off;

	exec->buf_off = exec->buf_len = 0;
	if (docker_demux_feed(&exec->dm, p, len, pump_sink, &pc))
		return true;
	if (!pc.refused)
	{
		const unsigned char *h = exec->dm.header;

		/* Lost frame sync, or the engine wrote text outside the frames. */
		log_error("the output of `%s` in container %s is corrupt: a frame header "
				  "starts %02x %02x %02x %02x (\"%c%c%c%c\"), not 01|02 00 00 00",
				  exec->what, exec->container, h[0], h[1], h[2], h[3],
				  h[0] >= 32 && h[0] < 127 ? h[0] : '.', h[1] >= 32 && h[1] < 127 ? h[1] : '.',
				  h[2] >= 32 && h[2] < 127 ? h[2] : '.', h[3] >= 32 && h[3] < 127 ? h[3] : '.');
	}
	return false;
}

/* ---- stdin -------------------------------------------------------------- */

ExecSendStatus
docker_exec_send_raw(DockerExec *exec, const char *buf, size_t len,
					 size_t *written, int *err)
{
	size_t n = 0;
	CURLcode rc;

	*written = 0;
	*err = 0;
	if (len == 0)
		return EXEC_SEND_OK;
	errno = 0;
	rc = curl_easy_send(exec->curl, buf, len, &n);
	if (rc == CURLE_AGAIN)
		return EXEC_SEND_OK;
	if (rc != CURLE_OK)
	{
		long os_errno = 0;

		curl_easy_getinfo(exec->curl, CURLINFO_OS_ERRNO, &os_errno);
		*err = os_errno ? (int) os_errno : errno;
		return *err == EPIPE || *err == ECONNRESET ? EXEC_SEND_CLOSED : EXEC_SEND_ERROR;
	}
	*written = n;
	return EXEC_SEND_OK;
}

bool
docker_exec_write_stdin(DockerExec *exec, const char *buf, size_t len,
						size_t *written)
{
	int err = 0;
	ExecSendStatus st;

	if (exec->stdin_closed)
	{
		log_error("internal error: writing to the closed stdin of `%s`", exec->what);
		*written = 0;
		return false;
	}
	st = docker_exec_send_raw(exec, buf, len, written, &err);
	if (st == EXEC_SEND_CLOSED)
		log_error("`%s` in container %s stopped reading its input (%s); see its "
				  "error output", exec->what, exec->container, strerror(err));
	else if (st == EXEC_SEND_ERROR)
		log_error("writing the input of `%s` in container %s failed: %s",
				  exec->what, exec->container, err ? strerror(err) : "unknown error");
	return st == EXEC_SEND_OK;
}

bool
docker_exec_close_stdin(DockerExec *exec)
{
	if (exec->stdin_closed)
		return true;
	exec->stdin_closed = true;
	/* Half-close: the engine closes the process's stdin and keeps sending
	 * output. (Over TLS this is a TCP half-close without close_notify,
	 * which the engine also takes as the end of input.) */
	if (shutdown(exec->fd, SHUT_WR) != 0 && errno != ENOTCONN)
	{
		log_error("closing the input of `%s` in container %s failed: %m",
				  exec->what, exec->container);
		return false;
	}
	return true;
}

/* ---- exit status -------------------------------------------------------- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The engine's own error text (the process could not be started), which it
 * writes to the stdout stream and follows with exit code 126 or 127. */
static bool
head_is_start_error(const DockerExec *exec)
{
	return strstr(exec->head, "OCI runtime") != NULL ||
		strstr(exec->head, "exec failed") != NULL ||
		strstr(exec->head, "executable file not found") != NULL;
}

static void
log_start_error(const DockerExec *exec, int code)
{
	char text[EXEC_HEAD_MAX];
	size_t n = 0;

	for (size_t i = 0; i < exec->head_len && n + 1 < sizeof(text); i++)
	{
		unsigned char c = (unsigned char) exec->head[i];

		text[n++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : (c < 32 || c == 127 ? '?' : (char) c);
	}
	while (n > 0 && text[n - 1] == ' ')
		n--;
	text[n] = '\0';
	log_error("could not run `%s` in container %s (exit code %d): %s", exec->what,
			  exec->container, code, text);
}

/* One GET /exec/{id}/json; what names the exec in messages. */
static bool
exec_status(DockerClient *client, const char *id, const char *what,
			bool *running, int *code, long *pid)
{
	char path[128];
	DockerResponse resp;
	bool ok = false;

	if (!str_format(path, sizeof(path), "/exec/%s/json", id) || strchr(id, '/') != NULL)
	{
		log_error("\"%s\" is not an exec id", id);
		return false;
	}
	if (!docker_request(client, "GET", path, false, NULL, DOCKER_REQUEST_TIMEOUT_S, &resp))
		return false;
	if (resp.status != 200)
	{
		char msg[256];

		str_format(msg, sizeof(msg), "cannot read the status of %s", what);
		docker_log_http_error(msg, &resp);
	}
	else
	{
		json_error_t jerr;
		json_t *doc = json_loadb(sb_str(&resp.body), resp.body.len, 0, &jerr);
		json_t *ec = json_object_get(doc, "ExitCode");

		*running = json_is_true(json_object_get(doc, "Running"));
		*code = json_is_integer(ec) ? (int) json_integer_value(ec) : -1;
		if (pid != NULL)
			*pid = (long) json_integer_value(json_object_get(doc, "Pid"));
		ok = doc != NULL;
		if (!ok)
			log_error("the Docker engine's status of %s is not JSON", what);
		json_decref(doc);
	}
	docker_response_free(&resp);
	return ok;
}

bool
docker_exec_status(DockerClient *client, const char *exec_id, bool *running,
				   int *exit_code, long *pid)
{
	char what[96];

	str_format(what, sizeof(what), "exec %.12s", exec_id);
	return exec_status(client, exec_id, what, running, exit_code, pid);
}

static bool
exec_inspect(DockerClient *client, DockerExec *exec, bool *running, int *code)
{
	char what[512];

	str_format(what, sizeof(what), "`%s` in container %s", exec->what, exec->container);
	return exec_status(client, exec->id, what, running, code, NULL);
}

bool
docker_exec_finish(DockerClient *client, DockerExec *exec, int *exit_code)
{
	double start, now;
	long delay = 2;
	bool running = true, ok = false;
	int code = -1;

	*exit_code = -1;
	start = clock_now();
	for (;;)
	{
		if (!exec_inspect(client, exec, &running, &code))
			goto out;
		if (!running && code >= 0)
			break;
		if (signals_interrupted())
		{
			log_error("interrupted while waiting for `%s` in container %s to exit",
					  exec->what, exec->container);
			exit_hint_set(EXIT_INTERRUPTED);
			goto out;
		}
		now = clock_now();
		/* Not running but no exit code: the engine lost it (or never ran
		 * the process); don't wait for the long guard. */
		if (!running && now - start > EXEC_NO_CODE_S)
		{
			log_error("the Docker engine reports no exit code for `%s` in container %s",
					  exec->what, exec->container);
			goto out;
		}
		if (now - start > EXEC_FINISH_STALL_S)
		{
			log_error("`%s` in container %s closed its output but has not exited "
					  "after %d s", exec->what, exec->container, EXEC_FINISH_STALL_S);
			goto out;
		}
		sleep_ms(delay);
		delay = delay < 100 ? delay * 2 : 200;
	}
	*exit_code = code;
	if ((code == 126 || code == 127) && head_is_start_error(exec))
		log_start_error(exec, code);
	else
		ok = true;
	log_debug("docker: exec %.12s (%s) exited %d", exec->id, exec->what, code);
out:
	exec_free(exec);
	return ok;
}

void
docker_exec_abandon(DockerExec *exec)
{
	exec_free(exec);
}
