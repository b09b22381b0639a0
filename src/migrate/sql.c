/*
 * sql.c — the statements a migration runs on the shared instance.
 *
 * The restore runs as the admin (--no-owner): pg_restore --role cannot
 * work, because a dump carries COMMENT ON EXTENSION, which only the
 * extension's owner may run, and untrusted extensions need a superuser
 * anyway. So ownership is handed to the service's role afterwards, object
 * by object, leaving extension members with the extension's owner.
 */
#include "pgfold/migrate.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <string.h>

/*
 * The target role travels as a custom setting set with a bound parameter
 * (set_config($1)), so no name is ever spliced into this text; every name
 * the server prints is quoted by format('%I') or a reg* output function.
 */
static const char ownership_sql[] =
	"DO $pgfold$\n"
	"DECLARE\n"
	"  target name := current_setting('pgfold.owner');\n"
	"  r record;\n"
	"BEGIN\n"
	"  FOR r IN\n"
	"    WITH ext AS (SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e'),\n"
	"    sch AS (SELECT oid, nspname, nspowner FROM pg_catalog.pg_namespace\n"
	"            WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')\n"
	"              AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%')\n"
	"    SELECT format('ALTER SCHEMA %I OWNER TO %I', s.nspname, target) AS cmd FROM sch s\n"
	"      WHERE s.nspowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = target)\n"
	"        AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_namespace'::regclass AND objid = s.oid)\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER %s %I.%I OWNER TO %I',\n"
	"             CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'\n"
	"                            WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,\n"
	"             s.nspname, c.relname, target)\n"
	"      FROM pg_catalog.pg_class c JOIN sch s ON s.oid = c.relnamespace\n"
	"      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')\n"
	"        AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_class'::regclass AND objid = c.oid)\n"
	"        AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d\n"
	"                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid\n"
	"                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, target)\n"
	"      FROM pg_catalog.pg_proc p JOIN sch s ON s.oid = p.pronamespace\n"
	"      WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_proc'::regclass AND objid = p.oid)\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER %s %s OWNER TO %I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,\n"
	"             t.oid::regtype, target)\n"
	"      FROM pg_catalog.pg_type t JOIN sch s ON s.oid = t.typnamespace\n"
	"      WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND t.typisdefined\n"
	"        AND (t.typrelid = 0 OR (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c')\n"
	"        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)\n"
	"        AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_type'::regclass AND objid = t.oid)\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER COLLATION %I.%I OWNER TO %I', s.nspname, o.collname, target)\n"
	"      FROM pg_catalog.pg_collation o JOIN sch s ON s.oid = o.collnamespace\n"
	"      WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_collation'::regclass AND objid = o.oid)\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER TEXT SEARCH CONFIGURATION %s OWNER TO %I', o.oid::regconfig, target)\n"
	"      FROM pg_catalog.pg_ts_config o JOIN sch s ON s.oid = o.cfgnamespace\n"
	"      WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_ts_config'::regclass AND objid = o.oid)\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER TEXT SEARCH DICTIONARY %s OWNER TO %I', o.oid::regdictionary, target)\n"
	"      FROM pg_catalog.pg_ts_dict o JOIN sch s ON s.oid = o.dictnamespace\n"
	"      WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_ts_dict'::regclass AND objid = o.oid)\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER OPERATOR %s OWNER TO %I', o.oid::regoperator, target)\n"
	"      FROM pg_catalog.pg_operator o JOIN sch s ON s.oid = o.oprnamespace\n"
	"      WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_operator'::regclass AND objid = o.oid)\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER STATISTICS %I.%I OWNER TO %I', s.nspname, o.stxname, target)\n"
	"      FROM pg_catalog.pg_statistic_ext o JOIN sch s ON s.oid = o.stxnamespace\n"
	"    UNION ALL\n"
	"    SELECT format('ALTER LARGE OBJECT %s OWNER TO %I', o.oid, target)\n"
	"      FROM pg_catalog.pg_largeobject_metadata o\n"
	"  LOOP\n"
	"    EXECUTE r.cmd;\n"
	"  END LOOP;\n"
	"END\n"
	"$pgfold$";

const char *
migration_ownership_sql(void)
{
	return ownership_sql;
}

bool
migration_transfer_ownership(PGconn *db, const char *role)
{
	const char *params[] = { role };
	PGresult *res = NULL;

	if (!pg_query(db, "set the ownership target", "SELECT set_config('pgfold.owner', $1, false)",
				  1, params, &res))
		return false;
	PQclear(res);
	return pg_exec(db, "hand every object to the service role", ownership_sql);
}

/* Close a database to everyone but its owner: REVOKE from PUBLIC removes
 * the default CONNECT/TEMPORARY grants. Two statements (libpq's extended
 * protocol takes one at a time). */
static bool
build_privileges(PGconn *conn, const char *db, const char *role, StrBuf *revoke,
				 StrBuf *grant)
{
	StrBuf qdb = STRBUF_INIT, qrole = STRBUF_INIT;
	bool ok = pg_quote_ident(conn, db, &qdb) && pg_quote_ident(conn, role, &qrole);

	if (ok)
		ok = sb_appendf(revoke, "REVOKE ALL ON DATABASE %s FROM PUBLIC;\n", sb_str(&qdb))
			&& sb_appendf(grant, "GRANT CONNECT, TEMPORARY ON DATABASE %s TO %s;\n",
						  sb_str(&qdb), sb_str(&qrole));
	sb_free(&qdb);
	sb_free(&qrole);
	return ok;
}

bool
migration_isolate_database(PGconn *admin, const char *db, const char *role)
{
	StrBuf revoke = STRBUF_INIT, grant = STRBUF_INIT;
	bool ok = build_privileges(admin, db, role, &revoke, &grant)
		&& pg_exec(admin, "close the database to PUBLIC", sb_str(&revoke))
		&& pg_exec(admin, "grant CONNECT to the service role", sb_str(&grant));

	sb_free(&revoke);
	sb_free(&grant);
	return ok;
}

bool
migration_create_temp(PGconn *admin, const MigrationNames *names, const char *encoding)
{
	if (!pg_drop_database(admin, names->tmp_db, true))
		return false;
	if (!pg_create_database(admin, names->tmp_db, names->role, encoding))
		return false;
	return migration_isolate_database(admin, names->tmp_db, names->role);
}

bool
migration_sql_describe(PGconn *conn, const MigrationNames *names, const char *encoding,
					   int connection_limit, StrBuf *out)
{
	StrBuf role = STRBUF_INIT, tmp = STRBUF_INIT, db = STRBUF_INIT, enc = STRBUF_INIT;
	StrBuf lrole = STRBUF_INIT;
	bool ok = pg_quote_ident(conn, names->role, &role)
		&& pg_quote_literal(conn, names->role, &lrole)
		&& pg_quote_ident(conn, names->tmp_db, &tmp)
		&& pg_quote_ident(conn, names->db, &db)
		&& pg_quote_literal(conn, encoding ? encoding : "UTF8", &enc);

	if (ok)
	{
		sb_appendf(out, "-- as %s on the shared instance\n", PQuser(conn));
		sb_appendf(out, "CREATE ROLE %s LOGIN PASSWORD '<SCRAM-SHA-256 verifier computed "
				   "client-side>' CONNECTION LIMIT %d;  -- unless it exists with a working "
				   "password file\n", sb_str(&role), connection_limit);
		sb_appendf(out, "DROP DATABASE IF EXISTS %s WITH (FORCE);\n", sb_str(&tmp));
		sb_appendf(out, "CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING %s;\n",
				   sb_str(&tmp), sb_str(&role), sb_str(&enc));
		ok = build_privileges(conn, names->tmp_db, names->role, out, out);
		sb_appendf(out, "-- pg_restore --no-owner --no-acl --exit-on-error -d %s  (streamed)\n",
				   sb_str(&tmp));
		sb_appendf(out, "-- in %s:\nSELECT set_config('pgfold.owner', %s, false);\n%s;\n",
				   sb_str(&tmp), sb_str(&lrole), ownership_sql);
		sb_appendf(out, "ALTER DATABASE %s RENAME TO %s;  -- after verification\n",
				   sb_str(&tmp), sb_str(&db));
	}
	sb_free(&role);
	sb_free(&tmp);
	sb_free(&db);
	sb_free(&enc);
	sb_free(&lrole);
	return ok;
}
