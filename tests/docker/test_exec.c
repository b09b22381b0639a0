/*
 * test_exec.c — exec against the lab engine: capture, exit codes, a
 * process that cannot start, and 100 MB streams both ways in constant
 * memory.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dtest.h"
#include "lab.h"
#include "pgfold/log.h"

#define STREAM_BYTES 100000000u
/* Peak RSS may grow by less than this over a 100 MB stream. */
#define RSS_BUDGET (8u * 1024u * 1024u)

static char name[64];
static DockerClient *client;

static void
setup(void)
{
	lab_require();
	lab_unique_name("pgf_dk_exec", name, sizeof(name));
	cr_assert(dt_start_idle(name, "exec"));
	cr_assert(docker_connect(&client));
}

static void
teardown(void)
{
	docker_disconnect(client);
	if (name[0])
		lab_remove(name);
	dt_log_done();
}

TestSuite(docker_exec, .init = setup, .fini = teardown);

Test(docker_exec, capture_both_streams_and_exit_code)
{
	const char *const cmd[] = { "sh", "-c", "echo out; echo err >&2; echo \"$GREETING\"; exit 3", NULL };
	const char *const env[] = { "GREETING=hi there", NULL };
	DockerExecSpec spec = { .cmd = cmd, .env = env, .user = "postgres", .workdir = "/tmp" };
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;
	int code = -1;

	cr_assert(docker_exec_capture(client, name, &spec, NULL, 0, 4096, &out, &err, &code));
	cr_assert_eq(code, 3);
	cr_assert_str_eq(sb_str(&out), "out\nhi there\n");
	cr_assert_str_eq(sb_str(&err), "err\n");

	const char *const whoami[] = { "sh", "-c", "id -un; pwd", NULL };

	spec.cmd = whoami;
	sb_reset(&out);
	cr_assert(docker_exec_capture(client, name, &spec, NULL, 0, 4096, &out, &err, &code));
	cr_assert_eq(code, 0);
	cr_assert_str_eq(sb_str(&out), "postgres\n/tmp\n");
	sb_free(&out);
	sb_free(&err);
}

Test(docker_exec, capture_with_stdin_and_empty_stdin)
{
	const char *const cmd[] = { "sh", "-c", "tr a-z A-Z; echo done", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	StrBuf out = STRBUF_INIT;
	int code = -1;

	cr_assert(docker_exec_capture(client, name, &spec, "select 1;\n", 10, 4096, &out, NULL, &code));
	cr_assert_eq(code, 0);
	cr_assert_str_eq(sb_str(&out), "SELECT 1;\ndone\n");

	/* attached stdin with nothing to send: EOF at once, no hang */
	spec.attach_stdin = true;
	sb_reset(&out);
	cr_assert(docker_exec_capture(client, name, &spec, NULL, 0, 4096, &out, NULL, &code));
	cr_assert_str_eq(sb_str(&out), "done\n");
	sb_free(&out);
}

Test(docker_exec, capture_limit_is_an_error)
{
	const char *const cmd[] = { "head", "-c", "5000", "/dev/zero", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	StrBuf out = STRBUF_INIT;
	int code = -1;

	dt_log_to_temp();
	cr_assert_not(docker_exec_capture(client, name, &spec, NULL, 0, 4096, &out, NULL, &code));
	cr_assert(dt_log_contains("exceeds 4096 bytes"));
	cr_assert_leq(out.len, 4096);
	sb_reset(&out);
	cr_assert(docker_exec_capture(client, name, &spec, NULL, 0, 5000, &out, NULL, &code),
			  "exactly max_bytes is fine");
	cr_assert_eq(out.len, 5000);
	sb_free(&out);
}

Test(docker_exec, missing_binary_is_a_clear_error)
{
	const char *const cmd[] = { "pg_no_such_tool", "--version", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;
	int code = -1;

	dt_log_to_temp();
	cr_assert_not(docker_exec_capture(client, name, &spec, NULL, 0, 4096, &out, &err, &code));
	cr_assert(code == 126 || code == 127, "exit code %d", code);
	cr_assert(dt_log_contains("could not run `pg_no_such_tool` in container"));
	cr_assert(dt_log_contains("pg_no_such_tool"));
	fprintf(stderr, "[missing binary] exit %d, stdout: %s", code, sb_str(&out));

	/* a shell that cannot find a command is an ordinary failure */
	const char *const sh[] = { "sh", "-c", "pg_no_such_tool", NULL };

	spec.cmd = sh;
	cr_assert(docker_exec_capture(client, name, &spec, NULL, 0, 4096, &out, &err, &code));
	cr_assert_eq(code, 127);
	sb_free(&out);
	sb_free(&err);
}

/* ---- streams -------------------------------------------------------------- */

typedef struct Counter
{
	size_t  out, err;
	bool    nonzero;
	StrBuf  text;           /* small outputs */
	crypto_hash_sha256_state sha;
} Counter;

static bool
count_sink(void *ctx, int stream, const char *buf, size_t len)
{
	Counter *c = ctx;

	if (stream == 2)
	{
		c->err += len;
		return true;
	}
	c->out += len;
	for (size_t i = 0; i < len && !c->nonzero; i++)
		c->nonzero = buf[i] != 0;
	return true;
}

static bool
text_sink(void *ctx, int stream, const char *buf, size_t len)
{
	Counter *c = ctx;

	if (stream == 1)
	{
		cr_assert_lt(c->text.len + len, 4096);
		sb_append(&c->text, buf, len);
	}
	else
		c->err += len;
	return true;
}

static bool
hash_sink(void *ctx, int stream, const char *buf, size_t len)
{
	Counter *c = ctx;

	if (stream == 1)
	{
		c->out += len;
		crypto_hash_sha256_update(&c->sha, (const unsigned char *) buf, len);
	}
	return true;
}

typedef struct HashingGen
{
	DtGen gen;
	crypto_hash_sha256_state sha;
} HashingGen;

static size_t
hashing_produce(void *ctx, char *buf, size_t size)
{
	HashingGen *h = ctx;
	size_t n = dt_gen_produce(&h->gen, buf, size);

	crypto_hash_sha256_update(&h->sha, (const unsigned char *) buf, n);
	return n;
}

static void
hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

Test(docker_exec, stdin_100mb_to_sha256sum_constant_memory, .timeout = 300)
{
	const char *const cmd[] = { "sha256sum", NULL };
	DockerExecSpec spec = { .cmd = cmd, .attach_stdin = true };
	HashingGen g = { .gen = { 0x9e3779b97f4a7c15ull, STREAM_BYTES } };
	Counter c = { 0 };
	unsigned char digest[32];
	char want[65];
	int code = -1;

	cr_assert(sodium_init() >= 0);
	crypto_hash_sha256_init(&g.sha);

	size_t rss0 = dt_peak_rss();
	double t0 = dt_now();

	cr_assert(dt_stream(client, name, &spec, hashing_produce, &g, text_sink, &c, &code));

	double secs = dt_now() - t0;
	size_t rss1 = dt_peak_rss();

	cr_assert_eq(code, 0);
	crypto_hash_sha256_final(&g.sha, digest);
	hex(digest, sizeof(digest), want);
	cr_assert(str_has_prefix(sb_str(&c.text), want), "container says %s, we sent %s",
			  sb_str(&c.text), want);
	fprintf(stderr, "[stdin stream] %u bytes in %.2f s = %.0f MB/s; peak RSS +%zu KiB\n",
			STREAM_BYTES, secs, STREAM_BYTES / secs / 1e6, (rss1 - rss0) / 1024);
	cr_assert_lt(rss1 - rss0, RSS_BUDGET, "peak RSS grew by %zu bytes", rss1 - rss0);
	sb_free(&c.text);
}

Test(docker_exec, stdout_100mb_constant_memory, .timeout = 300)
{
	const char *const cmd[] = { "head", "-c", "100000000", "/dev/zero", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	Counter c = { 0 };
	int code = -1;

	size_t rss0 = dt_peak_rss();
	double t0 = dt_now();

	cr_assert(dt_stream(client, name, &spec, NULL, NULL, count_sink, &c, &code));

	double secs = dt_now() - t0;
	size_t rss1 = dt_peak_rss();

	cr_assert_eq(code, 0);
	cr_assert_eq(c.out, STREAM_BYTES);
	cr_assert_eq(c.err, 0);
	cr_assert_not(c.nonzero);
	fprintf(stderr, "[stdout stream] %u bytes in %.2f s = %.0f MB/s; peak RSS +%zu KiB\n",
			STREAM_BYTES, secs, STREAM_BYTES / secs / 1e6, (rss1 - rss0) / 1024);
	cr_assert_lt(rss1 - rss0, RSS_BUDGET, "peak RSS grew by %zu bytes", rss1 - rss0);
}

Test(docker_exec, both_ways_through_cat, .timeout = 300)
{
	/* cat writes while we write: only an interleaving loop survives this. */
	const char *const cmd[] = { "cat", NULL };
	DockerExecSpec spec = { .cmd = cmd, .attach_stdin = true };
	HashingGen g = { .gen = { 42, 32u * 1024u * 1024u + 12345u } };
	Counter c = { 0 };
	unsigned char d_in[32], d_out[32];
	int code = -1;

	cr_assert(sodium_init() >= 0);
	crypto_hash_sha256_init(&g.sha);
	crypto_hash_sha256_init(&c.sha);
	cr_assert(dt_stream(client, name, &spec, hashing_produce, &g, hash_sink, &c, &code));
	cr_assert_eq(code, 0);
	cr_assert_eq(c.out, 32u * 1024u * 1024u + 12345u);
	crypto_hash_sha256_final(&g.sha, d_in);
	crypto_hash_sha256_final(&c.sha, d_out);
	cr_assert(memcmp(d_in, d_out, 32) == 0);

	/* the same through capture, with a cap that fits */
	HashingGen g2 = { .gen = { 7, 3u * 1024u * 1024u } };
	static char data[3u * 1024u * 1024u];
	StrBuf out = STRBUF_INIT;

	crypto_hash_sha256_init(&g2.sha);
	hashing_produce(&g2, data, sizeof(data));
	cr_assert(docker_exec_capture(client, name, &spec, data, sizeof(data), sizeof(data),
								  &out, NULL, &code));
	cr_assert_eq(out.len, sizeof(data));
	cr_assert(memcmp(out.data, data, sizeof(data)) == 0);
	sb_free(&out);
}

Test(docker_exec, exec_that_ignores_stdin_still_finishes)
{
	/* the process exits without reading: capture must not fail on EPIPE */
	const char *const cmd[] = { "sh", "-c", "echo early; exit 5", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	static char data[8u * 1024u * 1024u];
	StrBuf out = STRBUF_INIT;
	int code = -1;

	cr_assert(docker_exec_capture(client, name, &spec, data, sizeof(data), 4096, &out, NULL, &code));
	cr_assert_eq(code, 5);
	cr_assert_str_eq(sb_str(&out), "early\n");
	sb_free(&out);
}

Test(docker_exec, abandoned_exec_keeps_running_in_the_engine)
{
	/* The engine does not stop a process whose client went away: abort
	 * paths must kill what they started. docker_exec_status sees it. */
	const char *const cmd[] = { "sleep", "5", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	DockerExec *exec = NULL;
	char id[80];
	bool running = false;
	int code = 0;
	long pid = 0;

	cr_assert(docker_exec_start(client, name, &spec, &exec));
	cr_assert(str_copy(id, sizeof(id), docker_exec_id(exec)));
	docker_exec_abandon(exec);
	/* The engine sends 101 before it starts the process: for a moment the
	 * exec is neither running nor has a pid or an exit code. */
	for (int i = 0; i < 100 && pid <= 0; i++)
	{
		cr_assert(docker_exec_status(client, id, &running, &code, &pid));
		cr_assert_eq(code, -1, "no exit code while running");
		if (pid <= 0)
			usleep(20000);
	}
	cr_assert_gt(pid, 0);
	cr_assert(running);
}
