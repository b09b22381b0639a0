/*
 * interop.c — where other migration runners left a database, read only:
 * golang-migrate (schema_migrations: version, dirty), Flyway
 * (flyway_schema_history: version, success), Liquibase (databasechangelog:
 * id, dateexecuted) and Prisma (_prisma_migrations: migration_name,
 * finished_at, rolled_back_at). Tables are found in any schema by name;
 * a table of that name with other columns is reported as unreadable, not
 * as an error.
 */
#include "pgfold/schema.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdlib.h>
#include <string.h>

typedef struct Tool
{
	const char *tool;
	const char *table;
	const char *sql;    /* @T: the quoted table; columns: applied, latest, trouble */
} Tool;

static const Tool tools[] = {
	{ "golang-migrate", "schema_migrations",
	  "SELECT count(*), max(version)::text, bool_or(dirty) FROM @T" },
	{ "flyway", "flyway_schema_history",
	  "SELECT count(*) FILTER (WHERE success), max(version) FILTER (WHERE success), "
	  "bool_or(NOT success) FROM @T" },
	{ "liquibase", "databasechangelog",
	  "SELECT count(*), (SELECT id FROM @T ORDER BY orderexecuted DESC LIMIT 1), false "
	  "FROM @T" },
	{ "prisma", "_prisma_migrations",
	  "SELECT count(*) FILTER (WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL), "
	  "max(migration_name) FILTER (WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL), "
	  "bool_or(finished_at IS NULL AND rolled_back_at IS NULL) FROM @T" },
};

static json_t *
read_one(PGconn *conn, const Tool *t, const char *nsp, const char *rel)
{
	StrBuf q = STRBUF_INIT, sql = STRBUF_INIT;
	PGresult *r;
	json_t *o = json_pack("{s:s, s:s}", "tool", t->tool, "table", "");

	pg_quote_ident(conn, nsp, &q);
	sb_appendc(&q, '.');
	pg_quote_ident(conn, rel, &q);
	json_object_set_new(o, "table", json_string(sb_str(&q)));
	for (const char *p = t->sql; *p; p++)
		if (p[0] == '@' && p[1] == 'T')
		{
			sb_appends(&sql, sb_str(&q));
			p++;
		}
		else
			sb_appendc(&sql, *p);
	/* read only, and a table shaped otherwise is not our error to log */
	r = PQexec(conn, sb_str(&sql));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
	{
		json_object_set_new(o, "applied", json_integer(strtoll(PQgetvalue(r, 0, 0), NULL, 10)));
		json_object_set_new(o, "latest", PQgetisnull(r, 0, 1) ? json_null()
							: json_string(PQgetvalue(r, 0, 1)));
		json_object_set_new(o, "failed_or_dirty", json_boolean(strcmp(PQgetvalue(r, 0, 2), "t")
																== 0));
	}
	else
		json_object_set_new(o, "unreadable", json_string(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
														 ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
														 : "no rows"));
	PQclear(r);
	sb_free(&q);
	sb_free(&sql);
	return o;
}

bool
schema_interop_read(PGconn *conn, json_t **out)
{
	*out = json_array();
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
	{
		const char *params[1] = { tools[i].table };
		PGresult *r = NULL;

		if (!pg_query(conn, "look for other runners' tables",
					  "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN "
					  "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 "
					  "AND c.relkind IN ('r', 'p') ORDER BY 1", 1, params, &r))
		{
			json_decref(*out);
			*out = NULL;
			return false;
		}
		for (int j = 0; j < PQntuples(r); j++)
		{
			/* a read-only savepoint-free read: the session is in autocommit */
			json_array_append_new(*out, read_one(conn, &tools[i], PQgetvalue(r, j, 0),
												 PQgetvalue(r, j, 1)));
		}
		PQclear(r);
	}
	return true;
}
