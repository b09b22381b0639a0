/*
 * ready.c — wait until a postgres in a container accepts connections.
 *
 * pg_isready inside the container is asked quietly (a starting server is
 * not an error) until it answers twice in a row, then one real query
 * confirms it: during a first initialisation the entrypoint's temporary
 * server may answer pg_isready too. A container that stops meanwhile, or
 * Ctrl-C, ends the wait at once.
 */
#include "pgfold/pg.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/signals.h"

#include <time.h>

static bool
isready_once(DockerClient *docker, const char *container, const char *user, const char *db)
{
	const char *argv[] = { "pg_isready", "-q", "-U", user, "-d", db, NULL };
	char port[24];
	const char *env[] = { port, NULL };
	DockerExecSpec spec = { .cmd = argv };

	if (pgx_port_env(docker, container, port, sizeof(port)))
		spec.env = env;     /* a port on the server's command line (port.c) */
	int rc = -1;

	return docker_exec_capture(docker, container, &spec, NULL, 0, 4096, NULL, NULL, &rc)
		&& rc == 0;
}

static bool
still_running(DockerClient *docker, const char *container)
{
	json_t *inspect = NULL;
	bool found = false, running;

	if (!docker_inspect_container(docker, container, &inspect, &found) || !found)
	{
		json_decref(inspect);
		return false;
	}
	running = docker_inspect_running(inspect);
	json_decref(inspect);
	return running;
}

bool
pgx_wait_ready(DockerClient *docker, const char *container, const char *user,
			   const char *db, int timeout_s)
{
	struct timespec half = { 0, 500 * 1000000L };
	time_t start = time(NULL);
	int good = 0;

	while (time(NULL) - start < timeout_s)
	{
		if (signals_interrupted())
		{
			log_error("interrupted while waiting for %s to accept connections", container);
			exit_hint_set(EXIT_INTERRUPTED);
			return false;
		}
		if (!still_running(docker, container))
		{
			log_error("%s stopped while starting; see `docker logs %s`", container, container);
			return false;
		}
		good = isready_once(docker, container, user, db) ? good + 1 : 0;
		if (good >= 2 && pgx_ping(docker, container, user, db))
			return true;
		nanosleep(&half, NULL);
	}
	log_error("%s did not accept connections within %d s (pg_isready inside it); see "
			  "`docker logs %s`", container, timeout_s, container);
	return false;
}
