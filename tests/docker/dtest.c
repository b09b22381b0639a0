/*
 * dtest.c — see dtest.h.
 */
#include "dtest.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "pgfold/log.h"

bool
dt_start_idle(const char *name, const char *tag)
{
	/* sh as PID 1 ignores SIGTERM unless it traps it. */
	return lab_sh("docker run -d --network none --label " LAB_LABEL
				  " --label pgfold.test.docker=%s --name %s --entrypoint /bin/sh "
				  DT_IMAGE " -c 'trap \"exit 0\" TERM; while :; do sleep 0.2; done' >/dev/null",
				  tag, name) == 0;
}

static char log_path[64];

void
dt_log_to_temp(void)
{
	cr_assert(str_copy(log_path, sizeof(log_path), "/tmp/pgfold-dtest-XXXXXX"));

	int fd = mkstemp(log_path);

	cr_assert(fd >= 0);
	close(fd);
	cr_assert(log_open_file(log_path));
}

void
dt_log_done(void)
{
	log_close_file();
	if (log_path[0])
		unlink(log_path);
	log_path[0] = '\0';
}

static bool
log_has(const char *needle, bool report)
{
	char buf[65536];
	FILE *f = fopen(log_path, "r");

	cr_assert(f != NULL);

	size_t n = fread(buf, 1, sizeof(buf) - 1, f);

	fclose(f);
	buf[n] = '\0';
	if (strstr(buf, needle) == NULL && report)
	{
		fprintf(stderr, "log does not contain \"%s\":\n%s", needle, buf);
		return false;
	}
	return strstr(buf, needle) != NULL;
}

bool
dt_log_contains(const char *needle)
{
	return log_has(needle, true);
}

bool
dt_log_lacks(const char *needle)
{
	return !log_has(needle, false);
}

size_t
dt_peak_rss(void)
{
	char line[256];
	size_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	cr_assert(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

double
dt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

size_t
dt_gen_produce(void *ctx, char *buf, size_t size)
{
	DtGen *g = ctx;
	size_t n = size < g->left ? size : g->left;

	for (size_t i = 0; i < n; i += 8)
	{
		g->state ^= g->state << 13;
		g->state ^= g->state >> 7;
		g->state ^= g->state << 17;
		memcpy(buf + i, &g->state, n - i < 8 ? n - i : 8);
	}
	g->left -= n;
	return n;
}

bool
dt_stream(DockerClient *client, const char *container, const DockerExecSpec *spec,
		  DtProducer producer, void *pctx, DockerSink sink, void *sctx,
		  int *exit_code)
{
	enum { CHUNK = 256 * 1024 };
	static char chunk[CHUNK];
	size_t have = 0, off = 0;
	bool input_done = producer == NULL, eof = false;
	DockerExec *exec = NULL;

	if (!docker_exec_start(client, container, spec, &exec))
		return false;
	if (input_done && spec->attach_stdin && !docker_exec_close_stdin(exec))
		goto fail;
	while (!eof)
	{
		if (!input_done && off == have)
		{
			have = producer(pctx, chunk, CHUNK);
			off = 0;
			if (have == 0)
			{
				input_done = true;
				if (!docker_exec_close_stdin(exec))
					goto fail;
			}
		}

		bool writing = !input_done && off < have;
		struct pollfd pfd = { .fd = docker_exec_fd(exec),
			.events = POLLIN | (writing ? POLLOUT : 0) };
		int rc = poll(&pfd, 1, docker_exec_output_pending(exec) ? 0 : 5000);

		if (rc < 0 && errno != EINTR)
			goto fail;
		if (rc > 0 && writing && (pfd.revents & POLLOUT))
		{
			size_t n = 0;

			if (!docker_exec_write_stdin(exec, chunk + off, have - off, &n))
				goto fail;
			off += n;
		}
		if ((rc > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) ||
			docker_exec_output_pending(exec))
			if (!docker_exec_pump_output(exec, sink, sctx, &eof))
				goto fail;
	}
	return docker_exec_finish(client, exec, exit_code);
fail:
	docker_exec_abandon(exec);
	return false;
}
