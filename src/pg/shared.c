/*
 * shared.c — questions and DDL the migration puts to the shared instance.
 *
 * Lookups take names as $1 parameters. CREATE/ALTER/DROP DATABASE cannot
 * take parameters, so they are built from pg_quote_ident() output only.
 */
#include "pgfold/pg.h"

#include <limits.h>
#include <string.h>

#include "pgfold/log.h"
#include "internal.h"

/* PostgreSQL truncates longer names (NAMEDATALEN - 1) with only a NOTICE:
 * refuse them instead of creating something under another name. */
#define PG_NAME_MAX 63

static bool
name_ok(const char *kind, const char *name)
{
	StrBuf d = STRBUF_INIT;

	if (name == NULL || name[0] == '\0')
	{
		log_error("empty %s name", kind);
		return false;
	}
	if (strlen(name) > PG_NAME_MAX)
	{
		log_error("%s name %s is longer than %d bytes; PostgreSQL would truncate it",
				  kind, pg_display(&d, name), PG_NAME_MAX);
		sb_free(&d);
		return false;
	}
	return true;
}

/* "what" strings name the object in log-safe form. */
static const char *
what_of(StrBuf *sb, const char *verb, const char *name)
{
	sb_reset(sb);
	sb_appends(sb, verb);
	sb_appendc(sb, ' ');
	return pg_display(sb, name);
}

static bool
query_bool(PGconn *conn, const char *what, const char *sql,
		   int nparams, const char *const *params, bool *out)
{
	StrBuf v = STRBUF_INIT;
	bool ok = pg_query_scalar(conn, what, sql, nparams, params, &v, NULL);

	if (ok)
		*out = strcmp(sb_str(&v), "t") == 0;
	sb_free(&v);
	return ok;
}

static bool
query_long(PGconn *conn, const char *what, const char *sql,
		   int nparams, const char *const *params, long *out)
{
	StrBuf v = STRBUF_INIT;
	bool ok = pg_query_scalar(conn, what, sql, nparams, params, &v, NULL);

	if (ok && !str_to_long(sb_str(&v), 0, LONG_MAX, out))
	{
		log_error("%s: unexpected value \"%.40s\"", what, sb_str(&v));
		ok = false;
	}
	sb_free(&v);
	return ok;
}

bool
pg_server_version_num(PGconn *conn, int *out)
{
	long v = 0;

	if (!query_long(conn, "read the server version",
					"SELECT current_setting('server_version_num')", 0, NULL, &v))
		return false;
	*out = (int) v;
	return true;
}

/* Does `name` exist in the catalog the query looks at? */
static bool
name_exists(PGconn *conn, const char *what, const char *name, const char *sql, bool *exists)
{
	StrBuf w = STRBUF_INIT;
	const char *p[1] = { name };
	bool ok = query_bool(conn, what_of(&w, what, name), sql, 1, p, exists);

	sb_free(&w);
	return ok;
}

bool
pg_database_exists(PGconn *conn, const char *dbname, bool *exists)
{
	return name_exists(conn, "look up database", dbname,
					   "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", exists);
}

bool
pg_role_exists(PGconn *conn, const char *role, bool *exists)
{
	return name_exists(conn, "look up role", role,
					   "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", exists);
}

bool
pg_role_is_superuser(PGconn *conn, const char *role, bool *super)
{
	return name_exists(conn, "look up role", role,
					   "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1 "
					   "AND rolsuper)", super);
}

bool
pg_extension_available(PGconn *conn, const char *name, bool *available,
					   StrBuf *default_version)
{
	StrBuf w = STRBUF_INIT;
	const char *p[1] = { name };
	PGresult *res = NULL;
	bool ok = pg_query(conn, what_of(&w, "look up available extension", name),
					   "SELECT coalesce(default_version, '') FROM pg_available_extensions "
					   "WHERE name = $1", 1, p, &res);

	if (ok)
	{
		*available = PQntuples(res) > 0;
		if (default_version)
		{
			sb_reset(default_version);
			if (*available)
				sb_appends(default_version, PQgetvalue(res, 0, 0));
		}
		PQclear(res);
	}
	sb_free(&w);
	return ok;
}

bool
pg_extension_version_available(PGconn *conn, const char *name,
							   const char *version, bool *available)
{
	StrBuf w = STRBUF_INIT;
	const char *p[2] = { name, version };
	bool ok = query_bool(conn, what_of(&w, "look up available versions of extension", name),
						 "SELECT EXISTS (SELECT 1 FROM pg_available_extension_versions "
						 "WHERE name = $1 AND version = $2)", 2, p, available);

	sb_free(&w);
	return ok;
}

bool
pg_terminate_connections(PGconn *conn, const char *dbname, long *count)
{
	StrBuf w = STRBUF_INIT;
	const char *p[1] = { dbname };
	long n = 0;
	bool ok = query_long(conn, what_of(&w, "terminate the sessions on database", dbname),
						 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
						 "WHERE datname = $1 AND pid <> pg_backend_pid()", 1, p, &n);

	if (ok && count)
		*count = n;
	if (ok && n > 0)
		log_info("%s: %ld session(s) terminated", sb_str(&w), n);
	sb_free(&w);
	return ok;
}

bool
pg_create_database(PGconn *conn, const char *dbname, const char *owner,
				   const char *encoding)
{
	StrBuf sql = STRBUF_INIT;
	StrBuf w = STRBUF_INIT;
	bool ok = false;

	if (!name_ok("database", dbname) || (owner && !name_ok("role", owner)))
		return false;
	sb_appends(&sql, "CREATE DATABASE ");
	if (!pg_quote_ident(conn, dbname, &sql))
		goto out;
	if (owner)
	{
		sb_appends(&sql, " OWNER ");
		if (!pg_quote_ident(conn, owner, &sql))
			goto out;
	}
	/* template0: template1 may carry local objects, and CREATE DATABASE
	 * from a template fails while anyone is connected to it. */
	sb_appends(&sql, " TEMPLATE template0");
	if (encoding)
	{
		sb_appends(&sql, " ENCODING ");
		if (!pg_quote_literal(conn, encoding, &sql))
			goto out;
	}
	ok = pg_exec(conn, what_of(&w, "create database", dbname), sb_str(&sql));
	if (ok)
		log_info("%s: done", sb_str(&w));
out:
	sb_free(&sql);
	sb_free(&w);
	return ok;
}

bool
pg_rename_database(PGconn *conn, const char *from, const char *to)
{
	StrBuf sql = STRBUF_INIT;
	StrBuf w = STRBUF_INIT;
	bool ok = false;

	if (!name_ok("database", from) || !name_ok("database", to))
		return false;
	sb_appends(&sql, "ALTER DATABASE ");
	if (!pg_quote_ident(conn, from, &sql))
		goto out;
	sb_appends(&sql, " RENAME TO ");
	if (!pg_quote_ident(conn, to, &sql))
		goto out;
	what_of(&w, "rename database", from);
	sb_appends(&w, " to ");
	pg_display(&w, to);
	ok = pg_exec(conn, sb_str(&w), sb_str(&sql));
	if (ok)
		log_info("%s: done", sb_str(&w));
out:
	sb_free(&sql);
	sb_free(&w);
	return ok;
}

bool
pg_drop_database(PGconn *conn, const char *dbname, bool force)
{
	StrBuf sql = STRBUF_INIT;
	StrBuf w = STRBUF_INIT;
	int version = 0;
	bool ok = false;

	if (!name_ok("database", dbname))
		return false;
	if (force && !pg_server_version_num(conn, &version))
		return false;
	/* Before 13 there is no WITH (FORCE): terminate, then drop; a client
	 * reconnecting in between makes the DROP fail, which is logged. */
	if (force && version < 130000 && !pg_terminate_connections(conn, dbname, NULL))
		return false;
	sb_appends(&sql, "DROP DATABASE IF EXISTS ");
	if (!pg_quote_ident(conn, dbname, &sql))
		goto out;
	if (force && version >= 130000)
		sb_appends(&sql, " WITH (FORCE)");
	ok = pg_exec(conn, what_of(&w, "drop database", dbname), sb_str(&sql));
	if (ok)
		log_info("%s: done (if it existed)", sb_str(&w));
out:
	sb_free(&sql);
	sb_free(&w);
	return ok;
}

bool
pg_database_size(PGconn *conn, const char *dbname, int64_t *bytes)
{
	StrBuf w = STRBUF_INIT;
	const char *p[1] = { dbname };
	long v = 0;
	bool ok = query_long(conn, what_of(&w, "measure database", dbname),
						 "SELECT pg_database_size($1::name)", 1, p, &v);

	if (ok)
		*bytes = (int64_t) v;
	sb_free(&w);
	return ok;
}
