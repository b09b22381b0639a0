/*
 * lab.c — see lab.h. Uses the docker CLI (not pgfold's own client), so a
 * bug in src/docker cannot hide behind the helpers that check it.
 */
#include "lab.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

static char *
vformat(const char *fmt, va_list ap)
{
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);

	va_end(ap2);
	cr_assert(n >= 0, "lab: bad format \"%s\"", fmt);

	char *s = xcalloc((size_t) n + 1, 1);

	vsnprintf(s, (size_t) n + 1, fmt, ap);
	return s;
}

/* fork + exec /bin/sh; the child never returns into the Criterion runner. */
static int
run_shell(const char *cmd, StrBuf *out)
{
	int pipefd[2] = { -1, -1 };

	if (out != NULL && pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);

	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
	{
		if (out != NULL)
			dup2(pipefd[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
		_exit(127);
	}
	if (out != NULL)
	{
		char buf[4096];
		ssize_t n;

		close(pipefd[1]);
		while ((n = read(pipefd[0], buf, sizeof(buf))) != 0)
		{
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			sb_append(out, buf, (size_t) n);
		}
		close(pipefd[0]);
	}

	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

int
lab_sh(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *cmd = vformat(fmt, ap);

	va_end(ap);
	int rc = run_shell(cmd, NULL);

	free(cmd);
	return rc;
}

bool
lab_sh_capture(StrBuf *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *cmd = vformat(fmt, ap);

	va_end(ap);
	int rc = run_shell(cmd, out);

	free(cmd);
	return rc == 0;
}

void
lab_quote(StrBuf *out, const char *s)
{
	sb_appendc(out, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			sb_appends(out, "'\\''");
		else
			sb_appendc(out, *s);
	}
	sb_appendc(out, '\'');
}

void
lab_require(void)
{
	const char *unit = getenv("PGFOLD_TEST_UNIT_ONLY");

	if (unit != NULL && strcmp(unit, "1") == 0)
		cr_skip_test("integration test: PGFOLD_TEST_UNIT_ONLY=1");

	StrBuf v = STRBUF_INIT;
	bool ok = lab_sh_capture(&v, "docker version --format '{{.Server.APIVersion}}' 2>/dev/null");

	sb_free(&v);
	cr_assert(ok, "the Docker engine does not answer (DOCKER_HOST=%s): run `make lab` "
			  "first, or set PGFOLD_TEST_UNIT_ONLY=1 to skip integration tests",
			  getenv("DOCKER_HOST") ? getenv("DOCKER_HOST") : "unset");
}

void
lab_unique_name(const char *prefix, char *buf, size_t size)
{
	static unsigned counter = 0;
	unsigned rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
		rnd = (unsigned) time(NULL) ^ (unsigned) clock();
	cr_assert(str_format(buf, size, "%s_%ld_%u_%06x", prefix, (long) getpid(),
						 ++counter, rnd & 0xffffffu),
			  "lab_unique_name: buffer of %zu bytes too small for prefix \"%s\"", size, prefix);
	for (char *p = buf; *p; p++)
	{
		if (*p >= 'A' && *p <= 'Z')
			*p = (char) (*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	}
	lab_ledger("id", buf);
}

void
lab_ledger(const char *kind, const char *name)
{
	const char *path = getenv("PGFOLD_TEST_LEDGER");
	char line[512];

	if (path == NULL || path[0] == '\0' || !str_format(line, sizeof(line), "%s %s\n", kind, name))
		return;

	/* O_APPEND: lines of parallel tests do not mix (one short write each) */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0)
		fprintf(stderr, "lab: cannot write the litter ledger %s\n", path);
	close(fd);
}

void
lab_ledger_volumes_of(const char *containers)
{
	if (getenv("PGFOLD_TEST_LEDGER") == NULL)
		return;
	lab_sh("docker inspect -f '{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}}{{\"\\n\"}}"
		   "{{end}}{{end}}' %s 2>/dev/null | sed -n 's/^./volume &/p' >>\"$PGFOLD_TEST_LEDGER\"",
		   containers);
}

bool
lab_start_postgres(const char *image, const char *name,
				   const char *const *env, const char *network)
{
	StrBuf cmd = STRBUF_INIT;

	if (network == NULL)
		network = "none";
	cr_assert(strcmp(network, "none") == 0 || strcmp(network, "host") == 0,
			  "lab_start_postgres: network must be none or host, not \"%s\"", network);
	sb_appends(&cmd, "docker run -d --label " LAB_LABEL " --name ");
	lab_quote(&cmd, name);
	sb_appendf(&cmd, " --network %s", network);
	for (; env != NULL && *env != NULL; env++)
	{
		sb_appends(&cmd, " -e ");
		lab_quote(&cmd, *env);
	}
	sb_appendc(&cmd, ' ');
	lab_quote(&cmd, image);
	sb_appends(&cmd, " >/dev/null");

	int rc = lab_sh("%s", cmd.data);

	sb_free(&cmd);
	if (rc != 0)
		fprintf(stderr, "lab: docker run of %s as %s failed (exit %d); is the image "
				"built (`make lab`)?\n", image, name, rc);
	return rc == 0;
}

bool
lab_wait_ready(const char *name_in, int timeout_s)
{
	struct timespec start, now;
	StrBuf q = STRBUF_INIT;

	lab_quote(&q, name_in);

	const char *name = q.data;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;)
	{
		if (lab_sh("docker exec %s pg_isready -q >/dev/null 2>&1", name) == 0)
		{
			sb_free(&q);
			return true;
		}

		StrBuf state = STRBUF_INIT;
		bool known = lab_sh_capture(&state, "docker inspect -f '{{.State.Running}}' %s 2>/dev/null", name);
		bool running = known && strncmp(sb_str(&state), "true", 4) == 0;

		sb_free(&state);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!running || now.tv_sec - start.tv_sec >= timeout_s)
		{
			fprintf(stderr, "lab: %s is %s; its last log lines:\n", name,
					running ? "not ready in time" : "not running");
			lab_sh("docker logs --tail 20 %s >&2", name);
			sb_free(&q);
			return false;
		}

		struct timespec ts = { 0, 200 * 1000000L };

		nanosleep(&ts, NULL);
	}
}

void
lab_remove(const char *name)
{
	StrBuf q = STRBUF_INIT;

	lab_quote(&q, name);
	lab_ledger_volumes_of(q.data);
	lab_sh("docker rm -f -v %s >/dev/null 2>&1", q.data);
	sb_free(&q);
}

/* ---- compose --------------------------------------------------------------- */

LabCompose
lab_compose_version(void)
{
	const char *v = getenv("PGFOLD_TEST_COMPOSE");

	if (v == NULL || v[0] == '\0' || strcmp(v, "v1") == 0)
		return LAB_COMPOSE_V1;
	cr_assert(strcmp(v, "v2") == 0, "PGFOLD_TEST_COMPOSE=%s: use v1 (docker-compose 1.29, "
			  "the default) or v2 (the docker compose plugin)", v);
	return LAB_COMPOSE_V2;
}

const char *
lab_compose(void)
{
	return lab_compose_version() == LAB_COMPOSE_V2 ? "docker compose" : "docker-compose";
}

const char *
lab_compose_env(void)
{
	return lab_compose_version() == LAB_COMPOSE_V2 ? "PGFOLD_COMPOSE=docker compose"
		: "PGFOLD_COMPOSE=docker-compose";
}

void
lab_compose_require(void)
{
	static int answered = -1;       /* per test process: ask once */

	if (answered < 0)
		answered = lab_sh("%s version >/dev/null 2>&1", lab_compose()) == 0;
	if (answered)
		return;
	if (lab_compose_version() == LAB_COMPOSE_V1)
		cr_skip_test("docker-compose is not installed");
	cr_assert_fail("PGFOLD_TEST_COMPOSE=v2 but `docker compose version` fails: run `make lab` "
				   "(it installs the plugin in /usr/local/lib/docker/cli-plugins)");
}

void
lab_compose_container(const char *project, const char *key, char *buf, size_t size)
{
	char sep = lab_compose_version() == LAB_COMPOSE_V2 ? '-' : '_';

	cr_assert(str_format(buf, size, "%s%c%s%c1", project, sep, key, sep),
			  "lab_compose_container: %zu bytes too small for %s/%s", size, project, key);
}

/* Back to len bytes (after an append, so data is allocated). */
static void
cut(StrBuf *b, size_t len)
{
	b->len = len;
	b->data[len] = '\0';
}

/* One line per scalar under node, path-prefixed (see lab_compose_canonical). */
static void
canon_node(yaml_document_t *d, yaml_node_t *n, StrBuf *path, bool env, StrBuf *out)
{
	size_t mark = path->len;

	if (n == NULL)
		return;
	if (n->type == YAML_SCALAR_NODE)
	{
		const char *v = (const char *) n->data.scalar.value;
		/* environment values are strings in either form: no type marker */
		bool quoted = !env && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;

		if (env && path->len > 0 && path->data[path->len - 1] == '#')
		{
			/* a list item NAME=VALUE (or a bare NAME: no value) */
			const char *eq = strchr(v, '=');

			path->data[path->len - 1] = '.';
			sb_append(path, v, eq ? (size_t) (eq - v) : strlen(v));
			sb_appendf(out, "%s: %s\n", sb_str(path), eq ? eq + 1 : "<null>");
			cut(path, mark);
			return;
		}
		bool null = env && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			(v[0] == '\0' || strcmp(v, "null") == 0 || strcmp(v, "~") == 0);

		sb_appendf(out, "%s: %s%s\n", sb_str(path), quoted ? "\"" : "", null ? "<null>" : v);
		return;
	}
	if (n->type == YAML_SEQUENCE_NODE)
	{
		size_t i = 0;

		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
			 it++, i++)
		{
			/* environment items are named by their NAME, not their index */
			if (env)
				sb_appendc(path, '#');
			else
				sb_appendf(path, "[%zu]", i);
			canon_node(d, yaml_document_get_node(d, *it), path, env, out);
			cut(path, mark);
		}
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
	{
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		const char *key = k && k->type == YAML_SCALAR_NODE ? (const char *) k->data.scalar.value : "?";
		/* services.<svc>.environment: path depth 2 below the root */
		bool is_env = strncmp(sb_str(path), ".services.", 10) == 0 &&
			strchr(sb_str(path) + 10, '.') == NULL && strcmp(key, "environment") == 0;

		sb_appendf(path, ".%s", key);
		canon_node(d, yaml_document_get_node(d, p->value), path, env || is_env, out);
		cut(path, mark);
	}
}

static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
lab_compose_canonical(const char *yaml, StrBuf *out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	StrBuf path = STRBUF_INIT, lines = STRBUF_INIT;
	char **v = NULL;
	size_t n = 0;

	cr_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *) yaml, strlen(yaml));
	cr_assert(yaml_parser_load(&parser, &doc), "compose config output is not YAML:\n%s", yaml);
	yaml_parser_delete(&parser);
	canon_node(&doc, yaml_document_get_root_node(&doc), &path, false, &lines);
	yaml_document_delete(&doc);
	for (char *save = NULL, *l = strtok_r(lines.data, "\n", &save); l != NULL;
		 l = strtok_r(NULL, "\n", &save))
	{
		v = xrealloc(v, n + 1, sizeof(*v));
		v[n++] = l;
	}
	qsort(v, n, sizeof(*v), cmp_lines);
	sb_reset(out);
	for (size_t i = 0; i < n; i++)
		sb_appendf(out, "%s\n", v[i]);
	free(v);
	sb_free(&lines);
	sb_free(&path);
}

bool
lab_pid_running(long pid)
{
	char path[64], stat[256] = "";
	FILE *f;
	const char *end;

	str_format(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(stat, sizeof(stat), f) == NULL)
		stat[0] = '\0';
	fclose(f);
	/* "pid (comm) S ...": comm may hold ") ", the state follows the last */
	end = strrchr(stat, ')');
	return end != NULL && end[1] == ' ' && end[2] != 'Z' && end[2] != 'X' && end[2] != '\0';
}
