/*
 * pgx.c — psql inside a (network-less) container, over docker exec.
 *
 * The SQL goes on stdin, never in argv: argv stays short in logs and
 * nothing is interpolated by a shell. Names travel as psql variables and
 * are quoted by psql itself (:"name" identifier, :'name' literal). See
 * pg.h for the output format (NUL after every field).
 */
#include "pgfold/pg.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/log.h"
#include "internal.h"

#define PGX_MAX_VARS   32
#define PGX_MAX_STDERR (64u * 1024u)

static bool
var_name_ok(const char *spec)
{
	const char *eq = strchr(spec, '=');

	if (eq == NULL || eq == spec)
		return false;
	for (const char *p = spec; p < eq; p++)
	{
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';

		if (!alpha && !(p > spec && *p >= '0' && *p <= '9'))
			return false;
	}
	return true;
}

/* libpq conninfo value: single quotes, \ and ' backslash-escaped. psql
 * takes a -d argument containing '=' as a connection string, so the name
 * is always given as one: a database called "x=y" stays a name. */
static void
conninfo_dbname(StrBuf *out, const char *db)
{
	sb_appends(out, "dbname='");
	for (const char *p = db; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			sb_appendc(out, '\\');
		sb_appendc(out, *p);
	}
	sb_appendc(out, '\'');
}

static void
log_psql_failure(const char *container, const char *user, const char *db,
				 int exit_code, const StrBuf *err)
{
	StrBuf c = STRBUF_INIT, d = STRBUF_INIT, u = STRBUF_INIT, e = STRBUF_INIT;
	const char *why;

	switch (exit_code)
	{
		case 1: why = "psql failed"; break;
		case 2: why = "psql could not connect (or lost the connection)"; break;
		case 3: why = "the SQL failed"; break;
		case 126: case 127: why = "psql could not be started in the container"; break;
		default: why = "psql failed"; break;
	}
	pg_one_line(&e, sb_str(err), err->len, 1500);
	log_error("%s in container %s (database %s, user %s), exit %d: %s",
			  why, pg_display(&c, container), db ? pg_display(&d, db) : "(default)",
			  user ? pg_display(&u, user) : "(default)", exit_code,
			  e.len ? sb_str(&e) : "(no message)");
	sb_free(&c);
	sb_free(&d);
	sb_free(&u);
	sb_free(&e);
}

/* psql's command line for one query: unaligned, NUL-separated, quiet, no
 * psqlrc, stop at the first error. */
typedef struct PsqlCall
{
	const char     *argv[16 + 2 * PGX_MAX_VARS];
	const char     *env[3];
	char            port[24];
	StrBuf          dbarg;
	DockerExecSpec  spec;
} PsqlCall;

static bool
psql_call_init(PsqlCall *pc, DockerClient *docker, const char *container, const char *user,
			   const char *db, const char *const *vars)
{
	int n = 0;

	memset(pc, 0, sizeof(*pc));
	pc->env[0] = "PGAPPNAME=" PG_APPLICATION_NAME;
	if (pgx_port_env(docker, container, pc->port, sizeof(pc->port)))
		pc->env[1] = pc->port;  /* a port on the server's command line (port.c) */
	pc->argv[n++] = "psql";
	pc->argv[n++] = "-X";           /* no ~/.psqlrc */
	pc->argv[n++] = "-q";
	pc->argv[n++] = "-A";
	pc->argv[n++] = "-t";
	pc->argv[n++] = "-z";           /* field separator NUL */
	pc->argv[n++] = "-0";           /* record separator NUL (ends the last too) */
	pc->argv[n++] = "-v";
	pc->argv[n++] = "ON_ERROR_STOP=1";
	if (user != NULL)
	{
		pc->argv[n++] = "-U";
		pc->argv[n++] = user;
	}
	if (db != NULL)
	{
		conninfo_dbname(&pc->dbarg, db);
		pc->argv[n++] = "-d";
		pc->argv[n++] = sb_str(&pc->dbarg);
	}
	for (size_t i = 0; vars != NULL && vars[i] != NULL; i++)
	{
		if (i >= PGX_MAX_VARS || !var_name_ok(vars[i]))
		{
			log_error("psql variable %zu is invalid (name must match "
					  "[A-Za-z_][A-Za-z0-9_]*, at most %d variables)", i, PGX_MAX_VARS);
			sb_free(&pc->dbarg);
			return false;
		}
		pc->argv[n++] = "-v";
		pc->argv[n++] = vars[i];
	}
	pc->argv[n] = NULL;
	pc->spec.cmd = pc->argv;
	pc->spec.env = pc->env;
	pc->spec.workdir = "/";
	pc->spec.attach_stdin = true;
	return true;
}

/* psql ran: did it succeed? (the failure logged with what it said) */
static bool
psql_judge(const char *container, const char *user, const char *db, int exit_code,
		   const StrBuf *err)
{
	if (exit_code != 0)
	{
		log_psql_failure(container, user, db, exit_code, err);
		return false;
	}
	if (err->len > 0)
	{
		StrBuf e = STRBUF_INIT, c = STRBUF_INIT;

		pg_one_line(&e, sb_str(err), err->len, 1000);
		log_debug("psql in container %s said: %s", pg_display(&c, container), sb_str(&e));
		sb_free(&e);
		sb_free(&c);
	}
	return true;
}

bool
pgx_query(DockerClient *docker, const char *container, const char *user,
		  const char *db, const char *sql, const char *const *vars,
		  StrBuf *out)
{
	StrBuf err = STRBUF_INIT, c = STRBUF_INIT, discard = STRBUF_INIT;
	PsqlCall pc;
	int exit_code = -1;
	bool ok = false;

	if (out == NULL)
		out = &discard;         /* statements whose output nobody needs */
	sb_reset(out);
	if (!psql_call_init(&pc, docker, container, user, db, vars))
		return false;
	log_debug("psql in container %s: %zu bytes of SQL", pg_display(&c, container),
			  strlen(sql));
	/* a false return is logged by the docker module */
	ok = docker_exec_capture(docker, container, &pc.spec, sql, strlen(sql),
							 PGX_MAX_OUTPUT, out, &err, &exit_code)
		&& psql_judge(container, user, db, exit_code, &err);
	sb_free(&pc.dbarg);
	sb_free(&err);
	sb_free(&c);
	sb_free(&discard);
	return ok;
}

bool
pgx_query_rows(DockerClient *docker, const char *container, const char *user,
			   const char *db, const char *sql, const char *const *vars,
			   size_t ncols, PgRows *out)
{
	StrBuf raw = STRBUF_INIT;
	bool ok = pgx_query(docker, container, user, db, sql, vars, &raw) &&
		pg_rows_parse(raw.data, raw.len, ncols, out);

	sb_free(&raw);
	return ok;
}

/* The engine does most of the work of a short exec (a process started in
 * the container's namespaces): eight at once keep both of a small host's
 * cores busy without queueing much in the engine. */
#define PGX_MANY_WINDOW 8

bool
pgx_query_rows_many(DockerClient *docker, PgxRowsJob *jobs, size_t n)
{
	DockerCaptureJob *dj = xcalloc(n ? n : 1, sizeof(DockerCaptureJob));
	PsqlCall *calls = xcalloc(n ? n : 1, sizeof(PsqlCall));
	StrBuf *outs = xcalloc(n ? n : 1, sizeof(StrBuf));
	StrBuf *errs = xcalloc(n ? n : 1, sizeof(StrBuf));
	bool *ready = xcalloc(n ? n : 1, sizeof(bool));
	bool *answered = xcalloc(n ? n : 1, sizeof(bool));
	size_t m = 0;
	size_t *job_of = xcalloc(n ? n : 1, sizeof(size_t));
	bool ok;

	for (size_t i = 0; i < n; i++)
	{
		jobs[i].ok = false;
		jobs[i].rows = (PgRows) PGROWS_INIT;
	}
	/* the servers whose socket the host reaches need no exec (local.c) */
	pgx_local_rows_many(docker, jobs, n, answered);
	for (size_t i = 0; i < n; i++)
	{
		if (answered[i])
			continue;
		if (!psql_call_init(&calls[i], docker, jobs[i].container, jobs[i].user, jobs[i].db, NULL))
			continue;
		ready[i] = true;
		job_of[m] = i;
		dj[m++] = (DockerCaptureJob) {
			.container = jobs[i].container, .spec = &calls[i].spec,
			.stdin_data = jobs[i].sql, .stdin_len = strlen(jobs[i].sql),
			.max_bytes = PGX_MAX_OUTPUT, .out = &outs[i], .err = &errs[i],
		};
	}
	ok = docker_exec_capture_many(docker, dj, m, PGX_MANY_WINDOW);
	for (size_t k = 0; ok && k < m; k++)
	{
		PgxRowsJob *j = &jobs[job_of[k]];
		size_t i = job_of[k];

		j->ok = dj[k].ok && psql_judge(j->container, j->user, j->db, dj[k].exit_code, &errs[i])
			&& pg_rows_parse(outs[i].data, outs[i].len, j->ncols, &j->rows);
	}
	for (size_t i = 0; i < n; i++)
	{
		if (ready[i])
			sb_free(&calls[i].dbarg);
		sb_free(&outs[i]);
		sb_free(&errs[i]);
	}
	free(dj);
	free(calls);
	free(outs);
	free(errs);
	free(ready);
	free(answered);
	free(job_of);
	return ok;
}

/* One row, one column, as a number. */
static bool
pgx_scalar_long(DockerClient *docker, const char *container, const char *user,
				const char *db, const char *sql, const char *what, long *out)
{
	PgRows rows = PGROWS_INIT;
	StrBuf c = STRBUF_INIT;
	bool ok = pgx_query_rows(docker, container, user, db, sql, NULL, 1, &rows);

	if (ok && (rows.nrows != 1 || !str_to_long(pg_rows_get(&rows, 0, 0), 0, LONG_MAX, out)))
	{
		log_error("%s in container %s: unexpected answer (%zu rows)", what,
				  pg_display(&c, container), rows.nrows);
		ok = false;
	}
	pg_rows_free(&rows);
	sb_free(&c);
	return ok;
}

bool
pgx_ping(DockerClient *docker, const char *container, const char *user,
		 const char *db)
{
	long one = 0;

	return pgx_scalar_long(docker, container, user, db, "SELECT 1;\n",
						   "liveness check", &one) && one == 1;
}

bool
pgx_server_version_num(DockerClient *docker, const char *container,
					   const char *user, int *out)
{
	long v = 0;

	if (!pgx_scalar_long(docker, container, user, PG_MAINTENANCE_DB,
						 "SELECT current_setting('server_version_num');\n",
						 "reading the server version", &v))
		return false;
	*out = (int) v;
	return true;
}

bool
pgx_database_size(DockerClient *docker, const char *container, const char *user,
				  const char *db, int64_t *bytes)
{
	long v = 0;

	if (!pgx_scalar_long(docker, container, user, db,
						 "SELECT pg_database_size(current_database());\n",
						 "measuring the database", &v))
		return false;
	*bytes = (int64_t) v;
	return true;
}

bool
pgx_list_databases(DockerClient *docker, const char *container, const char *user,
				   PgxDatabaseList *out)
{
	PgRows rows = PGROWS_INIT;
	StrBuf c = STRBUF_INIT;

	memset(out, 0, sizeof(*out));
	if (!pgx_query_rows(docker, container, user, PG_MAINTENANCE_DB,
						"SELECT datname, pg_get_userbyid(datdba), "
						"CASE WHEN has_database_privilege(oid, 'CONNECT') "
						"THEN pg_database_size(oid) ELSE -1 END, "
						"pg_encoding_to_char(encoding), datcollate, datctype "
						"FROM pg_database WHERE NOT datistemplate AND datallowconn "
						"ORDER BY datname;\n", NULL, 6, &rows))
		return false;
	out->items = xcalloc(rows.nrows ? rows.nrows : 1, sizeof(PgxDatabase));
	for (size_t r = 0; r < rows.nrows; r++)
	{
		PgxDatabase *d = &out->items[out->count++];
		long size = 0;

		d->name = xstrdup(pg_rows_get(&rows, r, 0));
		d->owner = xstrdup(pg_rows_get(&rows, r, 1));
		d->encoding = xstrdup(pg_rows_get(&rows, r, 3));
		d->collate = xstrdup(pg_rows_get(&rows, r, 4));
		d->ctype = xstrdup(pg_rows_get(&rows, r, 5));
		if (!str_to_long(pg_rows_get(&rows, r, 2), -1, LONG_MAX, &size))
		{
			log_error("database list from container %s: bad size for %s",
					  pg_display(&c, container), d->name);
			pg_rows_free(&rows);
			pgx_database_list_free(out);
			sb_free(&c);
			return false;
		}
		d->size_bytes = (int64_t) size;
	}
	pg_rows_free(&rows);
	sb_free(&c);
	return true;
}

void
pgx_database_list_free(PgxDatabaseList *list)
{
	for (size_t i = 0; i < list->count; i++)
	{
		free(list->items[i].name);
		free(list->items[i].owner);
		free(list->items[i].encoding);
		free(list->items[i].collate);
		free(list->items[i].ctype);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

bool
pgx_list_roles(DockerClient *docker, const char *container, const char *user,
			   PgxRoleList *out)
{
	PgRows rows = PGROWS_INIT;

	memset(out, 0, sizeof(*out));
	if (!pgx_query_rows(docker, container, user, PG_MAINTENANCE_DB,
						"SELECT rolname, rolcanlogin, rolsuper FROM pg_roles "
						"WHERE rolname !~ '^pg_' ORDER BY rolname;\n", NULL, 3, &rows))
		return false;
	out->items = xcalloc(rows.nrows ? rows.nrows : 1, sizeof(PgxRole));
	for (size_t r = 0; r < rows.nrows; r++)
	{
		PgxRole *role = &out->items[out->count++];

		role->name = xstrdup(pg_rows_get(&rows, r, 0));
		role->can_login = strcmp(pg_rows_get(&rows, r, 1), "t") == 0;
		role->superuser = strcmp(pg_rows_get(&rows, r, 2), "t") == 0;
	}
	pg_rows_free(&rows);
	return true;
}

void
pgx_role_list_free(PgxRoleList *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].name);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

bool
pgx_list_extensions(DockerClient *docker, const char *container, const char *user,
					const char *db, PgxExtensionList *out)
{
	PgRows rows = PGROWS_INIT;

	memset(out, 0, sizeof(*out));
	if (!pgx_query_rows(docker, container, user, db,
						"SELECT extname, extversion FROM pg_extension ORDER BY extname;\n",
						NULL, 2, &rows))
		return false;
	out->items = xcalloc(rows.nrows ? rows.nrows : 1, sizeof(PgxExtension));
	for (size_t r = 0; r < rows.nrows; r++)
	{
		PgxExtension *e = &out->items[out->count++];

		e->name = xstrdup(pg_rows_get(&rows, r, 0));
		e->version = xstrdup(pg_rows_get(&rows, r, 1));
	}
	pg_rows_free(&rows);
	return true;
}

void
pgx_extension_list_free(PgxExtensionList *list)
{
	for (size_t i = 0; i < list->count; i++)
	{
		free(list->items[i].name);
		free(list->items[i].version);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}
