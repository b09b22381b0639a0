/*
 * pg_fixture.h — a shared-style PostgreSQL for integration tests of the pg
 * and secrets modules: host network, a free loopback port, an admin with a
 * random password, and log_statement=all so tests can read what the server
 * saw. Plus a /proc watcher that records every command line and
 * environment seen while it runs.
 */
#ifndef PGFOLD_TESTS_PG_FIXTURE_H
#define PGFOLD_TESTS_PG_FIXTURE_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

#include "pgfold/config.h"
#include "pgfold/docker.h"
#include "pgfold/str.h"

typedef struct SharedPg
{
	char   name[64];        /* container; "" until started */
	int    port;
	char   admin_pw[40];
	Config cfg;             /* pg_host/port/user/pass set for the container */
} SharedPg;

/* lab_require(), then docker run IMAGE on 127.0.0.1:<free port>; waits
 * until a libpq login works. Asserts on failure. */
void pgtest_shared_start(SharedPg *s, const char *image);
/* A loopback port nobody listens on right now (55000-59999). */
int pgtest_free_port(void);
/* Remove the container (fine if never started). */
void pgtest_shared_stop(SharedPg *s);
/* Connect as the admin, without pgfold's session pins; asserts. */
PGconn *pgtest_shared_connect(SharedPg *s, const char *dbname);
/* `docker logs` of the container (stdout and stderr). */
void pgtest_docker_logs(const char *name, StrBuf *out);

/* A dedicated-style source: IMAGE with no network, user "src", database
 * "app", named from prefix into name[size]; waits until it is ready and
 * connects *docker to the engine. Asserts on failure. */
void pgtest_source_start(const char *image, const char *prefix, char *name, size_t size,
						 DockerClient **docker);
/* Undoes pgtest_source_start, whatever part of it was done. */
void pgtest_source_stop(const char *name, DockerClient *docker);

/* Record every /proc/<pid>/cmdline and environ seen until stopped. */
typedef struct ProcWatch
{
	pthread_t        thread;
	pthread_mutex_t  lock;
	volatile int     stop;
	char           **seen;       /* distinct blobs; NULs replaced by ' ' */
	size_t           count;
	size_t           cap;
	long             scans;
} ProcWatch;

void pgtest_procwatch_start(ProcWatch *w);
void pgtest_procwatch_stop(ProcWatch *w);
/* One more scan, in the calling thread (e.g. while a connection is open). */
void pgtest_procwatch_scan(ProcWatch *w);
/* Does any recorded command line / environment contain needle? */
bool pgtest_procwatch_contains(ProcWatch *w, const char *needle);
void pgtest_procwatch_free(ProcWatch *w);

#endif
