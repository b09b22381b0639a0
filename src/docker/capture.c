/*
 * capture.c — run a short command to completion and keep its output.
 *
 * One poll loop both feeds stdin and drains output: a process that writes
 * while we are still writing its input (psql echoing, sha256sum is not one,
 * but `cat` is) would otherwise fill both socket buffers and deadlock.
 */
#include "exec_int.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/signals.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

/* Bytes of stdin offered to the socket per write. */
#define CAPTURE_WRITE_CHUNK (256u * 1024u)

typedef struct Capture
{
	DockerExec *exec;
	StrBuf     *out;
	StrBuf     *err;
	size_t      max_bytes;
	size_t      got[3];
} Capture;

static bool
capture_sink(void *ctx, int stream, const char *buf, size_t len)
{
	Capture *c = ctx;
	StrBuf *dst = stream == 1 ? c->out : c->err;

	if (len > c->max_bytes - c->got[stream])
	{
		log_error("the %s of `%s` in container %s exceeds %zu bytes; stopped it",
				  stream == 1 ? "output" : "error output", c->exec->what,
				  c->exec->container, c->max_bytes);
		return false;
	}
	c->got[stream] += len;
	if (dst != NULL && !sb_append(dst, buf, len))
	{
		log_error("out of memory capturing the output of `%s`", c->exec->what);
		return false;
	}
	return true;
}

/* Write what the socket takes now. When the process stopped reading (it
 * exited, or closed stdin) the rest is dropped: its exit code and stderr
 * say why, which is the error worth reporting. */
static bool
feed_stdin(DockerExec *exec, const char *data, size_t len, size_t *sent)
{
	size_t n = 0;
	int err = 0;
	size_t chunk = len - *sent < CAPTURE_WRITE_CHUNK ? len - *sent : CAPTURE_WRITE_CHUNK;
	ExecSendStatus st = docker_exec_send_raw(exec, data + *sent, chunk, &n, &err);

	if (st == EXEC_SEND_CLOSED)
	{
		log_debug("docker: `%s` stopped reading stdin after %zu of %zu bytes",
				  exec->what, *sent, len);
		*sent = len;
		exec->stdin_closed = true;
		return true;
	}
	if (st == EXEC_SEND_ERROR)
	{
		log_error("writing the input of `%s` in container %s failed: %s",
				  exec->what, exec->container, err ? strerror(err) : "unknown error");
		return false;
	}
	*sent += n;
	if (*sent == len)
		return docker_exec_close_stdin(exec);
	return true;
}

static bool
capture_loop(DockerExec *exec, Capture *cap, const char *stdin_data,
			 size_t stdin_len, size_t *sent)
{
	bool eof = false;

	while (!eof)
	{
		if (signals_interrupted())
		{
			log_error("interrupted while running `%s` in container %s",
					  exec->what, exec->container);
			exit_hint_set(EXIT_INTERRUPTED);
			return false;
		}

		bool writing = !exec->stdin_closed && *sent < stdin_len;
		struct pollfd pfd = { .fd = exec->fd, .events = POLLIN | (writing ? POLLOUT : 0) };
		/* 1 s wakeups only to notice Ctrl-C. */
		int rc = poll(&pfd, 1, docker_exec_output_pending(exec) ? 0 : 1000);

		if (rc < 0 && errno != EINTR)
		{
			log_error("poll failed while running `%s`: %m", exec->what);
			return false;
		}
		if (rc > 0 && writing && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) &&
			!feed_stdin(exec, stdin_data, stdin_len, sent))
			return false;
		if ((rc > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) ||
			docker_exec_output_pending(exec))
		{
			if (!docker_exec_pump_output(exec, capture_sink, cap, &eof))
				return false;
		}
	}
	return true;
}

bool
docker_exec_capture(DockerClient *client, const char *container,
					const DockerExecSpec *spec, const char *stdin_data,
					size_t stdin_len, size_t max_bytes,
					StrBuf *out, StrBuf *err, int *exit_code)
{
	DockerExecSpec s = *spec;
	DockerExec *exec = NULL;
	Capture cap = { .out = out, .err = err, .max_bytes = max_bytes };
	size_t sent = 0;

	*exit_code = -1;
	if (stdin_data == NULL)
		stdin_len = 0;
	s.attach_stdin = spec->attach_stdin || stdin_data != NULL;
	if (!docker_exec_start(client, container, &s, &exec))
		return false;
	cap.exec = exec;

	/* Attached but nothing to send: EOF at once, or the process waits. */
	if (s.attach_stdin && stdin_len == 0 && !docker_exec_close_stdin(exec))
		goto fail;
	if (!capture_loop(exec, &cap, stdin_data, stdin_len, &sent))
		goto fail;
	return docker_exec_finish(client, exec, exit_code);

fail:
	docker_exec_abandon(exec);
	return false;
}
