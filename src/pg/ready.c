/*
 * ready.c — wait until a postgres in a container accepts connections.
 *
 * pg_isready inside the container is asked quietly (a starting server is
 * not an error), then one real query confirms it: during a first
 * initialisation a temporary server may answer pg_isready too.
 */
#include "pgfold/pg.h"

#include "pgfold/log.h"

#include <time.h>
#include <unistd.h>

static bool
isready_once(DockerClient *docker, const char *container, const char *user)
{
	const char *argv[] = { "pg_isready", "-q", "-U", user, "-d", "postgres", NULL };
	DockerExecSpec spec = { .cmd = argv };
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;
	int rc = -1;
	bool ok = docker_exec_capture(docker, container, &spec, NULL, 0, 4096, &out, &err, &rc);

	sb_free(&out);
	sb_free(&err);
	return ok && rc == 0;
}

bool
pgx_wait_ready(DockerClient *docker, const char *container, const char *user,
			   const char *db, int timeout_s)
{
	time_t deadline = time(NULL) + timeout_s;

	while (time(NULL) < deadline)
	{
		if (isready_once(docker, container, user))
			return pgx_ping(docker, container, user, db);
		sleep(1);
	}
	log_error("postgres in %s did not accept connections within %d s; see `docker logs %s`",
			  container, timeout_s, container);
	return false;
}
