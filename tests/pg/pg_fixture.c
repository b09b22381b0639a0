/*
 * pg_fixture.c — see pg_fixture.h.
 */
#include "pg/pg_fixture.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lab.h"
#include "pgfold/pg.h"
#include "pgfold/secrets.h"

void
pgtest_source_start(const char *image, const char *prefix, char *name, size_t size,
					DockerClient **docker)
{
	const char *env[] = { "POSTGRES_USER=src", "POSTGRES_PASSWORD=unused-here",
						  "POSTGRES_DB=app", NULL };

	lab_require();
	lab_unique_name(prefix, name, size);
	cr_assert(lab_start_postgres(image, name, env, "none"));
	cr_assert(lab_wait_ready(name, 90));
	cr_assert(docker_connect(docker), "docker_connect");
}

void
pgtest_source_stop(const char *name, DockerClient *docker)
{
	if (docker)
		docker_disconnect(docker);
	if (name[0])
		lab_remove(name);
}

/* A loopback port nobody listens on right now (55000-59999). */
int
pgtest_free_port(void)
{
	for (int i = 0; i < 200; i++)
	{
		int port = 55000 + (int) randombytes_uniform(5000);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t) port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bool ok = fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;

		if (fd >= 0)
			close(fd);
		if (ok)
			return port;
	}
	cr_assert_fail("no free loopback port in 55000-59999");
	return -1;
}

void
pgtest_shared_start(SharedPg *s, const char *image)
{
	StrBuf cmd = STRBUF_INIT;

	lab_require();
	cr_assert(sodium_init() >= 0);
	memset(s, 0, sizeof(*s));
	lab_unique_name("pgf_shared", s->name, sizeof(s->name));
	s->port = pgtest_free_port();
	cr_assert(secrets_generate_password(s->admin_pw));

	/* The admin password is a test fixture; putting it in this docker
	 * run's argv is the test's business, not pgfold's. */
	sb_appendf(&cmd, "docker run -d --label " LAB_LABEL " --name %s --network host "
			   "-e PGPORT=%d -e POSTGRES_USER=admin -e POSTGRES_PASSWORD=%s %s "
			   "postgres -c listen_addresses=127.0.0.1 -c log_statement=all "
			   ">/dev/null", s->name, s->port, s->admin_pw, image);
	int rc = lab_sh("%s", cmd.data);

	sb_free(&cmd);
	cr_assert_eq(rc, 0, "docker run %s failed; is the lab up (make lab)?", image);
	cr_assert(lab_wait_ready(s->name, 90), "shared container %s not ready", s->name);

	str_copy(s->cfg.pg_host, sizeof(s->cfg.pg_host), "127.0.0.1");
	s->cfg.pg_port = s->port;
	str_copy(s->cfg.pg_user, sizeof(s->cfg.pg_user), "admin");
	s->cfg.pg_pass = s->admin_pw;
	str_copy(s->cfg.root, sizeof(s->cfg.root), "/nonexistent");
	str_copy(s->cfg.env_path, sizeof(s->cfg.env_path), "/nonexistent/.env");

	/* pg_isready answers on the socket; give TCP a moment as well. */
	PgConnParams p = { "127.0.0.1", s->port, "admin", s->admin_pw, "postgres", NULL };

	for (int i = 0; i < 100; i++)
	{
		PGconn *c = NULL;

		if (pg_connect_params(&p, &c, NULL))
		{
			pg_disconnect(c);
			return;
		}
		struct timespec ts = { 0, 200 * 1000000L };

		nanosleep(&ts, NULL);
	}
	cr_assert_fail("cannot log in to %s on 127.0.0.1:%d", s->name, s->port);
}

void
pgtest_shared_stop(SharedPg *s)
{
	if (s->name[0] != '\0')
		lab_remove(s->name);
	s->name[0] = '\0';
}

/* As an operator's client connects: without pgfold's session pins
 * (PG_ADMIN_SESSION_OPTIONS), so tests name their tables unqualified. */
PGconn *
pgtest_shared_connect(SharedPg *s, const char *dbname)
{
	PgConnParams p = { s->cfg.pg_host, s->cfg.pg_port, s->cfg.pg_user, s->cfg.pg_pass,
					   dbname ? dbname : "postgres", NULL };
	PGconn *conn = NULL;
	StrBuf err = STRBUF_INIT;

	cr_assert(pg_connect_params(&p, &conn, &err), "connect to %s: %s", s->name, sb_str(&err));
	sb_free(&err);
	return conn;
}

void
pgtest_docker_logs(const char *name, StrBuf *out)
{
	cr_assert(lab_sh_capture(out, "docker logs %s 2>&1", name), "docker logs %s", name);
}

/* ---- /proc watcher ------------------------------------------------------- */

static void
record(ProcWatch *w, char *blob, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (blob[i] == '\0')
			blob[i] = ' ';
	blob[len] = '\0';
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->count; i++)
		if (strcmp(w->seen[i], blob) == 0)
		{
			pthread_mutex_unlock(&w->lock);
			return;
		}
	if (w->count == w->cap)
	{
		w->cap = w->cap ? w->cap * 2 : 256;
		w->seen = xrealloc(w->seen, w->cap, sizeof(char *));
	}
	w->seen[w->count++] = xstrdup(blob);
	pthread_mutex_unlock(&w->lock);
}

static void
read_proc_file(ProcWatch *w, const char *pid, const char *file)
{
	static __thread char buf[65536 + 1];
	char path[300];
	size_t len = 0;

	str_format(path, sizeof(path), "/proc/%s/%s", pid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (;;)
	{
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t) n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	if (len > 0)
		record(w, buf, len);
}

void
pgtest_procwatch_scan(ProcWatch *w)
{
	DIR *d = opendir("/proc");

	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
	{
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		read_proc_file(w, e->d_name, "cmdline");
		read_proc_file(w, e->d_name, "environ");
	}
	closedir(d);
	w->scans++;
}

static void *
watch_main(void *arg)
{
	ProcWatch *w = arg;

	while (!w->stop)
		pgtest_procwatch_scan(w);
	return NULL;
}

void
pgtest_procwatch_start(ProcWatch *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	cr_assert_eq(pthread_create(&w->thread, NULL, watch_main, w), 0);
}

void
pgtest_procwatch_stop(ProcWatch *w)
{
	w->stop = 1;
	pthread_join(w->thread, NULL);
}

bool
pgtest_procwatch_contains(ProcWatch *w, const char *needle)
{
	bool found = false;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->count && !found; i++)
		found = strstr(w->seen[i], needle) != NULL;
	pthread_mutex_unlock(&w->lock);
	return found;
}

void
pgtest_procwatch_free(ProcWatch *w)
{
	for (size_t i = 0; i < w->count; i++)
		free(w->seen[i]);
	free(w->seen);
	pthread_mutex_destroy(&w->lock);
	memset(w, 0, sizeof(*w));
}
