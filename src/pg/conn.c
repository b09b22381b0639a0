/*
 * conn.c — libpq connections, statement helpers and quoting; see pg.h.
 */
#include "pgfold/pg.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "internal.h"

/* ---- small text helpers -------------------------------------------------- */

const char *
pg_display(StrBuf *out, const char *s)
{
	static const size_t cap = 200;
	size_t n = 0;

	sb_appendc(out, '"');
	for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++, n++)
	{
		if (n == cap)
		{
			sb_appends(out, "...");
			break;
		}
		if (*p == '"' || *p == '\\')
			sb_appendf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			sb_appendf(out, "\\x%02x", *p);
		else
			sb_appendc(out, (char) *p);
	}
	sb_appendc(out, '"');
	return sb_str(out);
}

void
pg_one_line(StrBuf *out, const char *msg, size_t len, size_t max)
{
	size_t start = out->len;
	bool at_break = false;

	for (size_t i = 0; i < len && msg[i] != '\0'; i++)
	{
		char c = msg[i];

		if (c == '\n' || c == '\r')
		{
			at_break = true;
			continue;
		}
		if (at_break && (c == ' ' || c == '\t'))
			continue;           /* libpq indents continuation lines */
		if (out->len - start >= max)
		{
			sb_appends(out, "...");
			return;
		}
		if (at_break && out->len > start)
			sb_appends(out, "; ");
		at_break = false;
		sb_appendc(out, c == '\t' ? ' ' : c);
	}
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
}

/* ---- connections ---------------------------------------------------------- */

/* Server notices (e.g. "database does not exist, skipping") are debug
 * information for us, never something to print on the terminal. */
static void
notice_to_log(void *arg, const char *message)
{
	StrBuf line = STRBUF_INIT;

	(void) arg;
	pg_one_line(&line, message, strlen(message), 1000);
	log_debug("server notice: %s", sb_str(&line));
	sb_free(&line);
}

bool
pg_connect_params(const PgConnParams *params, PGconn **out, StrBuf *errmsg)
{
	const char *keys[10];
	const char *vals[10];
	char port[16];
	char timeout[16];
	int n = 0;

	*out = NULL;
	if (params->host != NULL && params->host[0] != '\0')
	{
		keys[n] = "host";
		vals[n++] = params->host;
	}
	if (params->port > 0)
	{
		str_format(port, sizeof(port), "%d", params->port);
		keys[n] = "port";
		vals[n++] = port;
	}
	if (params->user != NULL && params->user[0] != '\0')
	{
		keys[n] = "user";
		vals[n++] = params->user;
	}
	if (params->password != NULL)
	{
		keys[n] = "password";
		vals[n++] = params->password;
	}
	keys[n] = "dbname";
	vals[n++] = params->dbname ? params->dbname : PG_MAINTENANCE_DB;
	keys[n] = "application_name";
	vals[n++] = PG_APPLICATION_NAME;
	if (params->options != NULL)
	{
		keys[n] = "options";
		vals[n++] = params->options;
	}
	str_format(timeout, sizeof(timeout), "%d", PG_CONNECT_TIMEOUT_S);
	keys[n] = "connect_timeout";
	vals[n++] = timeout;
	keys[n] = NULL;
	vals[n] = NULL;

	/* expand_dbname = 0: a database name containing '=' or starting with
	 * postgresql:// is a name, never a connection string. */
	PGconn *conn = PQconnectdbParams(keys, vals, 0);

	if (conn == NULL)
	{
		if (errmsg)
			sb_appends(errmsg, "out of memory");
		return false;
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		if (errmsg)
		{
			const char *m = PQerrorMessage(conn);

			pg_one_line(errmsg, m, strlen(m), 1000);
		}
		PQfinish(conn);
		return false;
	}
	PQsetNoticeProcessor(conn, notice_to_log, NULL);
	*out = conn;
	return true;
}

bool
pg_connect_shared(const Config *cfg, const char *dbname, PGconn **out)
{
	PgConnParams p = {
		.host = cfg->pg_host,
		.port = cfg->pg_port,
		.user = cfg->pg_user,
		.password = cfg->pg_pass,
		.dbname = dbname ? dbname : PG_MAINTENANCE_DB,
		.options = PG_ADMIN_SESSION_OPTIONS,
	};
	StrBuf err = STRBUF_INIT;

	if (pg_connect_params(&p, out, &err))
	{
		log_debug("connected to the shared PostgreSQL at %s:%d as %s (database %s)",
				  cfg->pg_host, cfg->pg_port, cfg->pg_user, p.dbname);
		sb_free(&err);
		return true;
	}
	log_error("cannot connect to the shared PostgreSQL at %s:%d as %s: %s; "
			  "check PG_HOST/PG_PORT/PG_USER/PG_PASS in %s",
			  cfg->pg_host, cfg->pg_port, cfg->pg_user, sb_str(&err),
			  cfg->env_path[0] ? cfg->env_path : "<root>/.env");
	exit_hint_set(EXIT_SHARED);
	sb_free(&err);
	return false;
}

bool
pg_shared_alive(const Config *cfg, PGconn **conn, int wait_s)
{
	PgConnParams p = {
		.host = cfg->pg_host,
		.port = cfg->pg_port,
		.user = cfg->pg_user,
		.password = cfg->pg_pass,
		.dbname = PG_MAINTENANCE_DB,
		.options = PG_ADMIN_SESSION_OPTIONS,
	};
	StrBuf err = STRBUF_INIT;
	bool ok = *conn != NULL && PQstatus(*conn) == CONNECTION_OK
		&& pg_try(*conn, "SELECT 1", 0, NULL, NULL, NULL);

	/* a restart of the server: its new incarnation, once it accepts */
	for (int i = 0; !ok && i <= wait_s * 2; i++)
	{
		pg_disconnect(*conn);
		*conn = NULL;
		if (i > 0)
			usleep(500 * 1000);
		ok = pg_connect_params(&p, conn, &err);
	}
	if (!ok)
	{
		pg_disconnect(*conn);
		*conn = NULL;
	}
	sb_free(&err);
	return ok;
}

void
pg_disconnect(PGconn *conn)
{
	if (conn != NULL)
		PQfinish(conn);
}

/* ---- statements ------------------------------------------------------------ */

void
pg_log_result_error(PGconn *conn, const char *what, const PGresult *res)
{
	StrBuf msg = STRBUF_INIT;
	StrBuf db = STRBUF_INIT;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

	if (primary == NULL)
		primary = res ? PQresultErrorMessage(res) : "";
	if (primary[0] == '\0')
		primary = PQerrorMessage(conn);
	pg_one_line(&msg, primary, strlen(primary), 1000);
	if (detail)
	{
		sb_appends(&msg, " (detail: ");
		pg_one_line(&msg, detail, strlen(detail), 500);
		sb_appends(&msg, ")");
	}
	if (hint)
	{
		sb_appends(&msg, " (hint: ");
		pg_one_line(&msg, hint, strlen(hint), 500);
		sb_appends(&msg, ")");
	}
	log_error("%s failed in database %s on the shared PostgreSQL: [SQLSTATE %s] %s",
			  what, pg_display(&db, PQdb(conn)), state ? state : "none",
			  sb_str(&msg));
	if (PQstatus(conn) == CONNECTION_BAD)
		exit_hint_set(EXIT_SHARED);
	sb_free(&msg);
	sb_free(&db);
}

bool
pg_query(PGconn *conn, const char *what, const char *sql,
		 int nparams, const char *const *params, PGresult **out)
{
	/* PQexecParams even without parameters: one statement per call, so a
	 * stray ';' in built SQL can never smuggle in a second one. */
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	*out = NULL;
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
	{
		pg_log_result_error(conn, what, res);
		PQclear(res);
		return false;
	}
	log_trace("%s: ok", what);
	*out = res;
	return true;
}

bool
pg_try(PGconn *conn, const char *sql, int nparams, const char *const *params,
	   PGresult **out, StrBuf *error)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (out != NULL)
		*out = NULL;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
	{
		if (out != NULL)
			*out = res;
		else
			PQclear(res);
		return true;
	}
	if (error != NULL)
	{
		const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

		sb_reset(error);
		sb_appends(error, m ? m : PQerrorMessage(conn));
	}
	PQclear(res);
	return false;
}

bool
pg_send(PGconn *conn, const char *what, const char *sql)
{
	if (PQsendQuery(conn, sql))
		return true;
	log_error("cannot send the query to %s (%s): %s", PQdb(conn), what, PQerrorMessage(conn));
	return false;
}

bool
pg_exec(PGconn *conn, const char *what, const char *sql)
{
	PGresult *res = NULL;

	if (!pg_query(conn, what, sql, 0, NULL, &res))
		return false;
	PQclear(res);
	return true;
}

bool
pg_query_scalar(PGconn *conn, const char *what, const char *sql,
				int nparams, const char *const *params,
				StrBuf *out, bool *isnull)
{
	PGresult *res = NULL;
	StrBuf db = STRBUF_INIT;

	sb_reset(out);
	if (isnull)
		*isnull = false;
	if (!pg_query(conn, what, sql, nparams, params, &res))
		return false;
	if (PQntuples(res) != 1 || PQnfields(res) < 1)
	{
		log_error("%s in database %s on the shared PostgreSQL: expected one row, got %d",
				  what, pg_display(&db, PQdb(conn)), PQntuples(res));
		goto fail;
	}
	if (PQgetisnull(res, 0, 0))
	{
		if (isnull == NULL)
		{
			log_error("%s in database %s on the shared PostgreSQL: unexpected NULL",
					  what, pg_display(&db, PQdb(conn)));
			goto fail;
		}
		*isnull = true;
	}
	else
		sb_append(out, PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
	PQclear(res);
	sb_free(&db);
	return true;

fail:
	PQclear(res);
	sb_free(&db);
	return false;
}

/* ---- quoting ----------------------------------------------------------------- */

static bool
quote_with(PGconn *conn, const char *value, bool ident, StrBuf *out)
{
	size_t len = strlen(value);
	char *q = ident ? PQescapeIdentifier(conn, value, len)
					: PQescapeLiteral(conn, value, len);

	if (q == NULL)
	{
		StrBuf msg = STRBUF_INIT;
		const char *m = PQerrorMessage(conn);

		/* The value is deliberately not shown: a literal may be a verifier. */
		pg_one_line(&msg, m, strlen(m), 500);
		log_error("cannot quote a%s for the shared PostgreSQL: %s",
				  ident ? "n identifier" : " literal", sb_str(&msg));
		sb_free(&msg);
		return false;
	}
	bool ok = sb_appends(out, q);

	/* Literals may carry SCRAM verifiers; wipe libpq's copy too. */
	memset(q, 0, strlen(q));
	PQfreemem(q);
	return ok;
}

bool
pg_quote_ident(PGconn *conn, const char *ident, StrBuf *out)
{
	if (ident == NULL || ident[0] == '\0')
	{
		log_error("refusing to quote an empty SQL identifier");
		return false;
	}
	return quote_with(conn, ident, true, out);
}

bool
pg_quote_literal(PGconn *conn, const char *value, StrBuf *out)
{
	return quote_with(conn, value ? value : "", false, out);
}
