/*
 * local.c — the shortcut of pgx_query_rows_many: a dedicated server asked
 * over its own Unix socket, from the host, instead of by a psql exec.
 *
 * An exec costs the engine about 20 ms of CPU (runc, the shim); a libpq
 * connection on a local socket costs the server one backend. When the
 * engine is this machine's and its pid for the container is proven ours
 * (docker_proc_open), the socket an exec'd psql would use,
 * /var/run/postgresql/.s.PGSQL.<port> inside the container, is reached
 * through /proc/self/fd/<that directory>, opened within the container's
 * root. Same user, database and SQL as the exec, so the same server gives
 * the same text values (psql -A prints libpq's text format as it is), put
 * in the exec's output form and parsed by the same pg_rows_parse.
 *
 * The server that answers is proven too: the socket's peer (SO_PEERCRED)
 * must be a process of the container, as its main pid was.
 *
 * Only the directory the exec's psql uses is tried: a server whose command
 * line moves its socket (-k, unix_socket_directories) is not found by that
 * psql either, and reaching it here would report facts the exec (and the
 * migration's pg_dump) cannot get.
 *
 * No password is ever sent: the passfile is /dev/null/none (never a file) and the shortcut is
 * not taken when PGPASSWORD is set, so only local trust (or peer) works
 * here. Anything else (refused, missing socket, other pid namespace,
 * remote engine) leaves the job to the exec, quietly: the facts are those
 * of the exec either way.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pgfold/log.h"
#include "pgfold/signals.h"

/* Connections in flight: each is a server backend starting; eight keep a
 * small host's cores busy, like the exec window. */
#define LOCAL_WINDOW      8
/* A local socket answers at once; a server that does not is left to the
 * exec (which reports it). */
#define LOCAL_CONNECT_MS  3000
#define LOCAL_POLL_MS     100

/* Variables of our own environment that libpq would apply to a session
 * the exec's psql does not have (or a password it would send). */
static const char *const own_vars[] = {
	"PGPASSWORD", "PGOPTIONS", "PGCLIENTENCODING", "PGTZ", "PGDATESTYLE", "PGGEQO",
	"PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGREQUIREAUTH", NULL
};

typedef struct Local
{
	PgxRowsJob *job;
	PGconn     *conn;
	PgxServerWhere where;    /* from the container's inspect */
	int         dirfd;       /* the socket's directory, O_PATH; -1 */
	char        host[40];    /* /proc/self/fd/<dirfd> */
	bool        started;
	bool        peer_checked;
	bool        querying;
	bool        finished;
	bool        ok;
	PostgresPollingStatusType want;
	long long   deadline_ms;
	StrBuf      raw;         /* the rows as psql -A -t -z -0 prints them */
} Local;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
quiet_notice(void *arg, const char *message)
{
	(void) arg;
	(void) message;         /* the exec's psql prints notices to stderr, unread */
}

static bool
own_env_allows(void)
{
	const char *off = getenv("PGFOLD_EXEC_ONLY");

	if (off != NULL && off[0] != '\0' && strcmp(off, "0") != 0)
	{
		log_debug("PGFOLD_EXEC_ONLY is set: dedicated servers asked by exec only");
		return false;
	}
	for (size_t i = 0; own_vars[i] != NULL; i++)
		if (getenv(own_vars[i]) != NULL)
		{
			log_debug("%s is set: dedicated servers asked by exec only", own_vars[i]);
			return false;
		}
	return true;
}

/* Can the job go over a socket at all (inspect, environment)? Opens
 * nothing: the directories are opened when a connection starts, so no
 * more than the window's are open at once whatever the stack's size. */
static bool
local_prepare(DockerClient *docker, Local *l)
{
	const PgxRowsJob *j = l->job;

	l->dirfd = -1;
	if (j->user == NULL || j->db == NULL || !pgx_container_where(docker, j->container, &l->where))
		return false;
	if (!l->where.plain)
	{
		log_debug("container %.12s: its environment sets PG* variables: exec", l->where.id);
		return false;
	}
	return true;
}

/* The socket's directory of the job's server, opened from the host (the
 * pid proven first): true with l->dirfd and l->host set, or false (said
 * at debug level). */
static bool
local_open_dir(Local *l)
{
	const PgxServerWhere *w = &l->where;
	char sock[32];
	struct stat st;
	int procfd = docker_proc_open("/proc", w->pid, w->id);

	if (procfd < 0)
		return false;
	l->dirfd = docker_proc_open_in_root(procfd, PGX_SOCKET_DIR);
	close(procfd);
	if (l->dirfd < 0)
		return false;
	str_format(sock, sizeof(sock), ".s.PGSQL.%d", w->port);
	if (fstatat(l->dirfd, sock, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(st.st_mode))
	{
		log_debug("container %.12s: no socket %s/%s", w->id, PGX_SOCKET_DIR, sock);
		return false;
	}
	/* a short path whatever the container's: sun_path holds 107 bytes */
	str_format(l->host, sizeof(l->host), "/proc/self/fd/%d", l->dirfd);
	return true;
}

static void
local_finish(Local *l, bool ok, const char *why)
{
	if (!ok && l->job != NULL)
	{
		StrBuf m = STRBUF_INIT, c = STRBUF_INIT;
		const char *msg = why ? why : (l->conn ? PQerrorMessage(l->conn) : "");

		pg_one_line(&m, msg, strlen(msg), 300);
		log_debug("container %s: over its socket: %s; asking by exec",
				  pg_display(&c, l->job->container), sb_str(&m));
		sb_free(&m);
		sb_free(&c);
	}
	if (l->conn != NULL)
		PQfinish(l->conn);
	l->conn = NULL;
	if (l->dirfd >= 0)
		close(l->dirfd);
	l->dirfd = -1;
	l->finished = true;
	l->ok = ok;
}

static void
local_start(Local *l)
{
	char port[16], timeout[16];
	const char *keys[] = { "host", "port", "user", "dbname", "application_name",
						   "connect_timeout", "passfile", "sslmode", "gssencmode", NULL };
	const char *vals[] = { l->host, port, l->job->user, l->job->db, PG_APPLICATION_NAME,
						   timeout, "/dev/null/none", "disable", "disable", NULL };

	l->started = true;
	if (!local_open_dir(l))
	{
		local_finish(l, false, "the socket is not reachable from here");
		return;
	}
	str_format(port, sizeof(port), "%d", l->where.port);
	str_format(timeout, sizeof(timeout), "%d", LOCAL_CONNECT_MS / 1000);
	l->deadline_ms = now_ms() + LOCAL_CONNECT_MS;
	l->want = PGRES_POLLING_WRITING;   /* as libpq's docs say to begin */
	/* expand_dbname 0: the database name is taken literally */
	l->conn = PQconnectStartParams(keys, vals, 0);
	if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD)
	{
		local_finish(l, false, NULL);
		return;
	}
	PQsetNoticeProcessor(l->conn, quiet_notice, NULL);
}

/* One result of the job's SQL, appended as psql prints it: every field
 * followed by a NUL (a SQL NULL prints as the empty string). */
static bool
local_take(Local *l, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	int nrows = PQntuples(res), ncols = PQnfields(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY)
		return true;        /* psql prints nothing for those with -q -t */
	/* rows one by one (single-row mode), then an empty TUPLES_OK; the
	 * exec's bound on psql's output holds here too (the exec says so) */
	if ((st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) || (size_t) ncols != l->job->ncols
		|| l->raw.len > PGX_MAX_OUTPUT)
		return false;
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++)
		{
			sb_append(&l->raw, PQgetvalue(res, r, c), (size_t) PQgetlength(res, r, c));
			sb_appendc(&l->raw, '\0');
		}
	return true;
}

static void
local_read(Local *l)
{
	PGresult *res;

	if (!PQconsumeInput(l->conn))
	{
		local_finish(l, false, NULL);
		return;
	}
	while (!PQisBusy(l->conn))
	{
		if ((res = PQgetResult(l->conn)) == NULL)
		{
			local_finish(l, true, NULL);
			return;
		}
		if (!local_take(l, res))
		{
			const char *msg = PQresultErrorMessage(res);
			StrBuf why = STRBUF_INIT;

			sb_appends(&why, msg[0] ? msg : "an answer not of the job's shape or size");
			PQclear(res);
			/* not read to its end: the exec asks again and says how it went */
			local_finish(l, false, sb_str(&why));
			sb_free(&why);
			return;
		}
		PQclear(res);
	}
}

/* The server at the other end of the socket runs in the container: the
 * socket file could have been swapped for a link to one outside it after
 * it was checked (the postmaster's pid, as the kernel recorded it, proven
 * as the container's main pid was). */
static bool
peer_is_the_containers(Local *l)
{
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int fd;

	if (getsockopt(PQsocket(l->conn), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0)
		return false;
	fd = docker_proc_open("/proc", (long) peer.pid, l->where.id);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Once the socket is connected and before libpq sends anything (not even
 * the user's name): is the peer the container's? False (finished) when
 * not. */
static bool
local_peer_checked(Local *l)
{
	ConnStatusType st = PQstatus(l->conn);

	if (l->peer_checked || (st != CONNECTION_MADE && st != CONNECTION_OK))
		return true;
	l->peer_checked = true;
	if (peer_is_the_containers(l))
		return true;
	local_finish(l, false, "the server on that socket is not the container's");
	return false;
}

/* Move one connection on after poll said its socket is ready (or not). */
static void
local_step(Local *l, bool ready)
{
	if (l->querying)
	{
		if (ready)
			local_read(l);
		return;
	}
	if (!ready && now_ms() < l->deadline_ms)
		return;
	if (!ready)
	{
		local_finish(l, false, "no answer in time");
		return;
	}
	if (!local_peer_checked(l))
		return;
	l->want = PQconnectPoll(l->conn);
	if (l->want == PGRES_POLLING_FAILED)
		local_finish(l, false, NULL);
	else if (l->want == PGRES_POLLING_OK)
	{
		if (!local_peer_checked(l))
			return;
		/* single-row mode: a result is never held whole before it is bounded */
		if (!PQsendQuery(l->conn, l->job->sql) || !PQsetSingleRowMode(l->conn))
		{
			local_finish(l, false, NULL);
			return;
		}
		l->querying = true;
		l->want = PGRES_POLLING_READING;
	}
}

/* Start connections up to the window; false when nothing is left to do. */
static bool
local_fill(Local *ls, size_t n, size_t *next, size_t *active)
{
	while (*active < LOCAL_WINDOW && *next < n)
	{
		Local *l = &ls[(*next)++];

		if (l->finished)
			continue;       /* never prepared */
		local_start(l);
		if (!l->finished)
			(*active)++;
	}
	return *active > 0;
}

static void
local_run(Local *ls, size_t n)
{
	struct pollfd pfd[LOCAL_WINDOW];
	Local *of[LOCAL_WINDOW];
	size_t next = 0, active = 0;

	while (local_fill(ls, n, &next, &active) && !signals_interrupted())
	{
		size_t m = 0;

		for (size_t i = 0; i < next; i++)
			if (ls[i].started && !ls[i].finished)
			{
				pfd[m] = (struct pollfd) { .fd = PQsocket(ls[i].conn),
										   .events = ls[i].want == PGRES_POLLING_WRITING
											   ? POLLOUT : POLLIN };
				of[m++] = &ls[i];
			}
		if (poll(pfd, m, LOCAL_POLL_MS) < 0 && errno != EINTR)
			break;
		for (size_t k = 0; k < m; k++)
		{
			local_step(of[k], pfd[k].revents != 0);
			if (of[k]->finished)
				active--;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!ls[i].finished)
			local_finish(&ls[i], false, "interrupted");
}

void
pgx_local_rows_many(DockerClient *docker, PgxRowsJob *jobs, size_t n, bool *answered)
{
	Local *ls;

	for (size_t i = 0; i < n; i++)
		answered[i] = false;
	if (n == 0 || !docker_is_local(docker) || !own_env_allows())
		return;
	ls = xcalloc(n, sizeof(Local));
	for (size_t i = 0; i < n; i++)
	{
		ls[i].job = &jobs[i];
		ls[i].dirfd = -1;
		if (!local_prepare(docker, &ls[i]))
			ls[i].finished = true;      /* the exec's */
	}
	local_run(ls, n);
	for (size_t i = 0; i < n; i++)
	{
		if (ls[i].ok)
		{
			jobs[i].rows = (PgRows) PGROWS_INIT;
			answered[i] = pg_rows_parse(ls[i].raw.data, ls[i].raw.len, jobs[i].ncols,
										&jobs[i].rows);
			jobs[i].ok = answered[i];
			if (answered[i])
				log_debug("container %.12s: answered over its socket", jobs[i].container);
		}
		sb_free(&ls[i].raw);
	}
	free(ls);
}
