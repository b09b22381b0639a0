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
	const char *stdin_data;
	size_t      stdin_len;
	size_t      sent;
	bool        eof;
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
feed_stdin(Capture *c)
{
	DockerExec *exec = c->exec;
	size_t n = 0;
	int err = 0;
	size_t left = c->stdin_len - c->sent;
	size_t chunk = left < CAPTURE_WRITE_CHUNK ? left : CAPTURE_WRITE_CHUNK;
	ExecSendStatus st = docker_exec_send_raw(exec, c->stdin_data + c->sent, chunk, &n, &err);

	if (st == EXEC_SEND_CLOSED)
	{
		log_debug("docker: `%s` stopped reading stdin after %zu of %zu bytes",
				  exec->what, c->sent, c->stdin_len);
		c->sent = c->stdin_len;
		exec->stdin_closed = true;
		return true;
	}
	if (st == EXEC_SEND_ERROR)
	{
		log_error("writing the input of `%s` in container %s failed: %s",
				  exec->what, exec->container, err ? strerror(err) : "unknown error");
		return false;
	}
	c->sent += n;
	if (c->sent == c->stdin_len)
		return docker_exec_close_stdin(exec);
	return true;
}

/* Start the exec; with stdin attached but nothing to send, EOF at once or
 * the process waits for input forever. */
static bool
capture_start(DockerClient *client, const char *container, const DockerExecSpec *spec,
			  Capture *c)
{
	DockerExecSpec s = *spec;

	if (c->stdin_data == NULL)
		c->stdin_len = 0;
	s.attach_stdin = spec->attach_stdin || c->stdin_data != NULL;
	if (!docker_exec_start(client, container, &s, &c->exec))
		return false;
	if (s.attach_stdin && c->stdin_len == 0 && !docker_exec_close_stdin(c->exec))
	{
		docker_exec_abandon(c->exec);
		c->exec = NULL;
		return false;
	}
	return true;
}

static bool
capture_writing(const Capture *c)
{
	return !c->exec->stdin_closed && c->sent < c->stdin_len;
}

static void
capture_pollfd(const Capture *c, struct pollfd *pfd)
{
	pfd->fd = c->exec->fd;
	pfd->events = POLLIN | (capture_writing(c) ? POLLOUT : 0);
	pfd->revents = 0;
}

/* Act on what poll said about this exec's socket. */
static bool
capture_step(Capture *c, short revents)
{
	if (capture_writing(c) && (revents & (POLLOUT | POLLERR | POLLHUP)) && !feed_stdin(c))
		return false;
	if ((revents & (POLLIN | POLLERR | POLLHUP)) || docker_exec_output_pending(c->exec))
		return docker_exec_pump_output(c->exec, capture_sink, c, &c->eof);
	return true;
}

static bool
interrupted_while(const DockerExec *exec)
{
	if (!signals_interrupted())
		return false;
	log_error("interrupted while running `%s` in container %s", exec->what, exec->container);
	exit_hint_set(EXIT_INTERRUPTED);
	return true;
}

static bool
capture_loop(Capture *c)
{
	while (!c->eof)
	{
		struct pollfd pfd;

		if (interrupted_while(c->exec))
			return false;
		capture_pollfd(c, &pfd);
		/* 1 s wakeups only to notice Ctrl-C. */
		int rc = poll(&pfd, 1, docker_exec_output_pending(c->exec) ? 0 : 1000);

		if (rc < 0 && errno != EINTR)
		{
			log_error("poll failed while running `%s`: %m", c->exec->what);
			return false;
		}
		if (!capture_step(c, rc > 0 ? pfd.revents : 0))
			return false;
	}
	return true;
}

bool
docker_exec_capture(DockerClient *client, const char *container,
					const DockerExecSpec *spec, const char *stdin_data,
					size_t stdin_len, size_t max_bytes,
					StrBuf *out, StrBuf *err, int *exit_code)
{
	Capture cap = { .out = out, .err = err, .max_bytes = max_bytes,
					.stdin_data = stdin_data, .stdin_len = stdin_len };

	*exit_code = -1;
	if (!capture_start(client, container, spec, &cap))
		return false;
	if (!capture_loop(&cap))
	{
		docker_exec_abandon(cap.exec);
		return false;
	}
	return docker_exec_finish(client, cap.exec, exit_code);
}

/* ---- several at once ------------------------------------------------------ */

/* Start job j into slot c; a job that cannot start is done (failed). */
static bool
many_start(DockerClient *client, DockerCaptureJob *job, Capture *c)
{
	memset(c, 0, sizeof(*c));
	c->out = job->out;
	c->err = job->err;
	c->max_bytes = job->max_bytes;
	c->stdin_data = job->stdin_data;
	c->stdin_len = job->stdin_len;
	job->exit_code = -1;
	job->ok = false;
	return capture_start(client, job->container, job->spec, c);
}

/* The job in slot c ended its output (or failed): collect its exit code. */
static void
many_finish(DockerClient *client, DockerCaptureJob *job, Capture *c, bool stepped)
{
	if (stepped)
		job->ok = docker_exec_finish(client, c->exec, &job->exit_code);
	else
		docker_exec_abandon(c->exec);
	c->exec = NULL;
}

bool
docker_exec_capture_many(DockerClient *client, DockerCaptureJob *jobs, size_t n, size_t window)
{
	Capture *slots = xcalloc(window ? window : 1, sizeof(Capture));
	size_t *slot_job = xcalloc(window ? window : 1, sizeof(size_t));
	struct pollfd *pfds = xcalloc(window ? window : 1, sizeof(struct pollfd));
	size_t next = 0, active = 0;
	bool ok = true;

	if (window == 0)
		window = 1;
	while (ok && (next < n || active > 0))
	{
		/* fill the free slots */
		for (size_t s = 0; s < window && next < n; s++)
			if (slots[s].exec == NULL)
			{
				slot_job[s] = next;
				if (many_start(client, &jobs[next], &slots[s]))
					active++;
				next++;
			}
		if (active == 0)
			continue;

		bool pending = false;

		for (size_t s = 0; s < window; s++)
			if (slots[s].exec != NULL)
			{
				capture_pollfd(&slots[s], &pfds[s]);
				pending = pending || docker_exec_output_pending(slots[s].exec);
			}
			else
				pfds[s].fd = -1;    /* poll skips it */
		if (signals_interrupted())
		{
			log_error("interrupted while running commands in containers");
			exit_hint_set(EXIT_INTERRUPTED);
			ok = false;
			break;
		}
		if (poll(pfds, window, pending ? 0 : 1000) < 0 && errno != EINTR)
		{
			log_error("poll failed while running commands in containers: %m");
			ok = false;
			break;
		}
		for (size_t s = 0; s < window; s++)
		{
			Capture *c = &slots[s];

			if (c->exec == NULL)
				continue;
			bool stepped = capture_step(c, pfds[s].fd >= 0 ? pfds[s].revents : 0);

			if (stepped && !c->eof)
				continue;
			many_finish(client, &jobs[slot_job[s]], c, stepped);
			active--;
		}
	}
	for (size_t s = 0; s < window; s++)
		if (slots[s].exec != NULL)
			docker_exec_abandon(slots[s].exec);
	free(slots);
	free(slot_job);
	free(pfds);
	return ok;
}
