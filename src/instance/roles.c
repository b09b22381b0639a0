/*
 * roles.c — `user create ROLE [DB]`: what the role may do in DB. The role
 * itself and its password file are the secrets module's.
 */
#include "pgfold/instance.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/secrets.h"

#include <string.h>

/* Run for every user schema; $S is the schema, $R the role, $O the
 * database owner (each quoted by libpq before it is put in). */
static const char *const grant_templates[] = {
	"GRANT USAGE ON SCHEMA $S TO $R",
	"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA $S TO $R",
	"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA $S TO $R",
	"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA $S TO $R",
	"ALTER DEFAULT PRIVILEGES FOR ROLE $O IN SCHEMA $S GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO $R",
	"ALTER DEFAULT PRIVILEGES FOR ROLE $O IN SCHEMA $S GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO $R",
	"ALTER DEFAULT PRIVILEGES FOR ROLE $O IN SCHEMA $S GRANT EXECUTE ON FUNCTIONS TO $R",
};

static const char schemas_sql[] =
	"SELECT n.nspname, pg_catalog.pg_get_userbyid(d.datdba) "
	"FROM pg_catalog.pg_namespace n, pg_catalog.pg_database d "
	"WHERE d.datname = pg_catalog.current_database() "
	"AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
	"AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%' "
	"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = "
	"'pg_catalog.pg_namespace'::pg_catalog.regclass AND e.objid = n.oid AND e.deptype = 'e') "
	"ORDER BY 1";

static bool
grant_schema(PGconn *conn, const char *schema, const char *role, const char *owner)
{
	StrBuf qs = STRBUF_INIT, qr = STRBUF_INIT, qo = STRBUF_INIT, sql = STRBUF_INIT;
	bool ok = pg_quote_ident(conn, schema, &qs) && pg_quote_ident(conn, role, &qr)
		&& pg_quote_ident(conn, owner, &qo);

	for (size_t i = 0; ok && i < sizeof(grant_templates) / sizeof(grant_templates[0]); i++)
	{
		sb_reset(&sql);
		for (const char *t = grant_templates[i]; *t; t++)
		{
			if (t[0] == '$' && (t[1] == 'S' || t[1] == 'R' || t[1] == 'O'))
			{
				t++;
				sb_appends(&sql, sb_str(*t == 'S' ? &qs : *t == 'R' ? &qr : &qo));
			}
			else
				sb_appendc(&sql, *t);
		}
		ok = pg_exec(conn, "grant the role access", sb_str(&sql));
	}
	sb_free(&qs);
	sb_free(&qr);
	sb_free(&qo);
	sb_free(&sql);
	return ok;
}

static bool
grant_objects(PGconn *conn, const char *role)
{
	PGresult *res = NULL;
	bool ok = pg_query(conn, "list the schemas", schemas_sql, 0, NULL, &res);

	for (int r = 0; ok && r < PQntuples(res); r++)
		ok = grant_schema(conn, PQgetvalue(res, r, 0), role, PQgetvalue(res, r, 1));
	if (res != NULL)
		PQclear(res);
	return ok;
}

bool
instance_grant_access(App *app, const char *db, const char *role, bool owner)
{
	PGconn *conn = NULL;
	StrBuf sql = STRBUF_INIT;
	bool ok = secrets_isolate_database(app->shared, db, role);

	if (ok && owner)
	{
		sb_appends(&sql, "ALTER DATABASE ");
		ok = pg_quote_ident(app->shared, db, &sql) && sb_appends(&sql, " OWNER TO ")
			&& pg_quote_ident(app->shared, role, &sql)
			&& pg_exec(app->shared, "hand the database to the role", sb_str(&sql));
	}
	if (ok && owner)
		ok = secrets_hand_over(app, db, role, false);
	else if (ok)
		ok = pg_connect_shared(&app->cfg, db, &conn) && grant_objects(conn, role);
	pg_disconnect(conn);
	sb_free(&sql);
	return ok;
}

bool
instance_role_preview(App *app, const char *role, bool rotate, const char **action)
{
	StrBuf pw = STRBUF_INIT;
	bool exists = false, found = false, matches = false, ok;

	ok = pg_role_exists(app->shared, role, &exists);
	if (ok && !exists)
		*action = "create";
	else if (ok && rotate)
		*action = "rotate";
	else if (ok)
	{
		ok = secrets_read_password_file(app->cfg.root, role, &pw, &found)
			&& (!found || secrets_password_matches(app->shared, role, sb_str(&pw), &matches));
		*action = matches ? "reuse" : "refuse";
	}
	sb_free_secret(&pw);
	return ok;
}
