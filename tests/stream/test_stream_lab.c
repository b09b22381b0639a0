/*
 * test_stream_lab.c — a stream's processes in a container (lab): how the
 * in-container wrapper records what it started and how the kill script
 * stops it. A pid file saying "-1" must not make it signal every process,
 * a symlink planted where the pid file used to go (a predictable
 * /tmp/pgfold-<run>-<role>.pid) must not be followed, and a resumed run
 * stops what its interrupted predecessor left running.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker/dtest.h"
#include "lab.h"
#include "pgfold/log.h"
#include "pgfold/signals.h"
#include "pgfold/stream.h"

static char name[64];
static DockerClient *client;

static void
setup(void)
{
	lab_require();
	signals_install();
	lab_unique_name("pgf_stream", name, sizeof(name));
	cr_assert(dt_start_idle(name, "stream"));
	cr_assert(docker_connect(&client));
}

static void
teardown(void)
{
	dt_log_done();
	if (client != NULL)
		docker_disconnect(client);
	lab_remove(name);
}

TestSuite(stream_lab, .init = setup, .fini = teardown, .timeout = 120);

/* `sh -c SCRIPT` in the container; its stdout, trailing newlines cut. */
static char *
in_container(const char *script)
{
	StrBuf q = STRBUF_INIT, out = STRBUF_INIT;

	lab_quote(&q, script);
	lab_sh_capture(&out, "docker exec %s sh -c %s", name, sb_str(&q));
	while (out.len > 0 && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	sb_free(&q);
	return sb_steal(&out);
}

/* Poll script until it prints something (at most 10 s); that output. */
static char *
wait_output(const char *script)
{
	for (int i = 0; i < 100; i++)
	{
		char *out = in_container(script);

		if (out[0] != '\0')
			return out;
		free(out);
		usleep(100 * 1000);
	}
	cr_assert_fail("`%s` never printed anything", script);
	return NULL;
}

static bool
stream_exec(const char *run_id, const char *const *argv, int stall_seconds)
{
	StreamCommand prod = { .container = name, .argv = argv, .label = "producer" };
	StreamSpec spec = { .client = client, .producer = &prod, .run_id = run_id,
						.stall_seconds = stall_seconds };
	StreamResult r;
	bool ok = stream_run(&spec, &r);

	stream_result_free(&r);
	return ok;
}

#define COUNT_CANARIES "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <$f; echo; done " \
	"| grep -c '^sleep 999 $'"

/* The producer overwrites its own pid file with -1 (at the new place and
 * at the old one), then stalls; the stall guard aborts the stream and the
 * kill script runs. It must refuse the content and say so, and another
 * process of the container (the canary) must live on. */
Test(stream_lab, pid_file_with_minus_one_signals_nothing)
{
	const char *argv[] = { "sh", "-c", "sleep 1; for f in /tmp/pgfold-t7a-dump.pid "
						   "/tmp/pgfold-t7a-dump.*/pid; do [ -e \"$f\" ] && echo -1 > \"$f\"; "
						   "done; sleep 30; true", NULL };

	cr_assert_eq(lab_sh("docker exec -d %s sleep 999", name), 0);
	free(wait_output(COUNT_CANARIES " | grep -x 1"));
	dt_log_to_temp();
	cr_assert_not(stream_exec("t7a", argv, 3));

	char *canary = in_container(COUNT_CANARIES);

	cr_assert_str_eq(canary, "1", "the kill script signalled other processes");
	free(canary);
	cr_assert(dt_log_contains("/pid holds '-1', not a pid: nothing signalled"));
}

/* A link at the old predictable path to a file of root's: nothing writes
 * through it, and the stream works and cleans up after itself. */
Test(stream_lab, symlink_at_the_old_pid_path_is_not_followed)
{
	const char *argv[] = { "sh", "-c", "printf data", NULL };

	free(in_container("echo keep > /tmp/victim && ln -s /tmp/victim /tmp/pgfold-t7b-dump.pid"));
	cr_assert(stream_exec("t7b", argv, 0));

	char *victim = in_container("cat /tmp/victim");

	cr_assert_str_eq(victim, "keep", "the file behind the link was written");
	free(victim);

	char *left = in_container("ls -d /tmp/pgfold-t7b-dump.?*/ 2>/dev/null");

	cr_assert_str_eq(left, "", "pid directories left behind: %s", left);
	free(left);
}

/* A run is killed (as kill -9 would: no cleanup) while its producer runs
 * in the container; the same run, resumed, first stops that leftover. */
Test(stream_lab, resumed_run_stops_what_the_interrupted_one_left)
{
	const char *first[] = { "sh", "-c", "sleep 300; true", NULL };
	const char *second[] = { "sh", "-c", "printf data", NULL };
	char script[128];
	bool gone = false;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
	{
		/* a connection of its own: the parent's stays the parent's */
		if (!docker_connect(&client))
			_exit(2);
		stream_exec("t7c", first, 0);
		_exit(0);
	}

	char *left = wait_output("cat /tmp/pgfold-t7c-dump.*/pid 2>/dev/null");

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	str_format(script, sizeof(script), "[ -e /proc/%s ] && echo running", left);

	char *state = in_container(script);

	cr_assert_str_eq(state, "running", "the leftover is not there to be stopped");
	free(state);

	cr_assert(stream_exec("t7c", second, 0));
	for (int i = 0; i < 50 && !gone; i++)
	{
		state = in_container(script);
		gone = state[0] == '\0';
		free(state);
		if (!gone)
			usleep(100 * 1000);
	}
	cr_assert(gone, "process %s of the interrupted run still runs", left);
	free(left);
}
