/*
 * internal.h — helpers shared by the files of src/pg only.
 */
#ifndef PGFOLD_PG_INTERNAL_H
#define PGFOLD_PG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/pg.h"

#include "pgfold/str.h"

/* pg_display() is public, in pg.h. */

/* Copy a (possibly multi-line) message onto one line: runs of newlines and
 * tabs become "; " / " ", trailing blanks dropped, capped at max bytes. */
void pg_one_line(StrBuf *out, const char *msg, size_t len, size_t max);

/* Where an exec'd psql finds a container's server (port.c): the socket
 * PGX_SOCKET_DIR/.s.PGSQL.<port> inside the container. */
#define PGX_SOCKET_DIR "/var/run/postgresql"

typedef struct PgxServerWhere
{
	char        id[72]; /* the container's full id */
	long        pid;    /* State.Pid: its main process, in the engine's pid namespace */
	int         port;   /* the command line's, else PGPORT of its environment, else 5432 */
	bool        plain;  /* no PGHOST, PGOPTIONS, ... in its environment: a client on
						 * the socket from the host sees what psql in it would */
} PgxServerWhere;

/* The container inspected once per process (shared with
 * pgx_container_port); false when it cannot be (logged by docker). */
bool pgx_container_where(DockerClient *docker, const char *container, PgxServerWhere *out);

/* The jobs that can be answered over their server's own socket from the
 * host (local.c), several at once; answered[i] says which were (ok and
 * rows set as the exec would have). The rest are untouched: the caller
 * execs them. Quiet: every miss is a debug line. */
void pgx_local_rows_many(DockerClient *docker, PgxRowsJob *jobs, size_t n, bool *answered);

#endif
