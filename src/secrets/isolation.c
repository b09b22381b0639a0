/*
 * isolation.c — what makes a service's database its role's alone on the
 * shared instance: closed to PUBLIC, CONNECT granted to the role, and every
 * object handed to it after a restore made as the admin (pg_restore
 * --no-owner: --role cannot restore COMMENT ON EXTENSION). Migrate, rollback,
 * `user create` and `db restore` run these. See secrets.h.
 */
#include "pgfold/secrets.h"

#include "pgfold/app.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/preflight.h"

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
secrets_ownership_sql(void)
{
	return ownership_sql;
}

/* First statement of the hand-over session: nothing the database defines
 * (an operator, a function) can stand in for a built-in the DO block or
 * the hazards query uses; pg_temp last, so no temporary table shadows a
 * catalog. Then the target, as a bound parameter. */
static const char pin_session_sql[] =
	"SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), "
	"pg_catalog.set_config('pgfold.owner', $1, false)";

const char *
secrets_pin_session_sql(void)
{
	return pin_session_sql;
}

/* A login event trigger (PostgreSQL 17) would fire as soon as the admin
 * connects: pg_database says whether there is one, from outside. */
static bool
no_login_trigger(PGconn *admin, const char *db, const char *role)
{
	const char *p[1] = { db };
	StrBuf v = STRBUF_INIT, d = STRBUF_INIT, r = STRBUF_INIT;
	int version = 0;
	bool ok = pg_server_version_num(admin, &version);

	if (ok && version >= 170000)
		ok = pg_query_scalar(admin, "look for login event triggers",
							 "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database "
							 "WHERE datname = $1 AND dathasloginevt)", 1, p, &v, NULL);
	if (ok && strcmp(sb_str(&v), "t") == 0)
	{
		log_error("the restored database %s has a login event trigger, which would run as the "
				  "shared instance's admin as soon as it connects: drop it in the dedicated "
				  "database, then re-run. Nothing was handed over to %s.", pg_display(&d, db),
				  pg_display(&r, role));
		exit_hint_set(EXIT_BLOCKED);
		ok = false;
	}
	sb_free(&v);
	sb_free(&d);
	sb_free(&r);
	return ok;
}

/* The role became a superuser while the dump was restored: the dump ran
 * code as the admin (added after the pre-flight check, or hidden from it). */
static bool
role_unprivileged(PGconn *admin, const char *db, const char *role)
{
	StrBuf r = STRBUF_INIT, d = STRBUF_INIT;
	bool super = false;

	if (!pg_role_is_superuser(admin, role, &super))
		return false;
	if (super)
	{
		log_error("role %s is a superuser of the shared instance after the restore of %s: "
				  "the dump ran code as the admin. Nothing was handed over; treat the shared "
				  "instance as compromised (see pg_roles and its server log)",
				  pg_display(&r, role), pg_display(&d, db));
		exit_hint_set(EXIT_BLOCKED);
	}
	sb_free(&r);
	sb_free(&d);
	return !super;
}

/* The restored database holds nothing preflight_hazards lists. */
static bool
restored_clean(PGconn *conn, const char *db, const char *role)
{
	DumpHazards h;
	StrBuf in = STRBUF_INIT, then = STRBUF_INIT, d = STRBUF_INIT;
	bool ok = preflight_restored_hazards(conn, &h);

	sb_appendf(&in, "the restored database %s", pg_display(&d, db));
	sb_reset(&d);
	sb_appendf(&then, "Nothing was handed over to %s.", pg_display(&d, role));
	ok = ok && preflight_hazards_none(&h, sb_str(&in), sb_str(&then));
	preflight_hazards_free(&h);
	sb_free(&in);
	sb_free(&then);
	sb_free(&d);
	return ok;
}

/*
 * Ownership can only be handed over by the admin: ALTER ... OWNER needs
 * the current owner (the admin, after a --no-owner restore) or a
 * superuser, so SET ROLE to the service role owns nothing to give; and
 * REASSIGN OWNED BY admin would also hand the role every database and
 * tablespace the admin owns. So the admin works in the database without
 * running any of its code: no login trigger to fire on connect, a pinned
 * search_path, and no event trigger (the only code ALTER ... OWNER runs)
 * nor anything else the hazards query lists — a C function handed to the
 * role would be the role's to call.
 */
bool
secrets_hand_over(App *app, const char *db, const char *role, bool check_role)
{
	const char *params[] = { role };
	PGconn *conn = NULL;
	PGresult *res = NULL;
	bool ok = (!check_role || role_unprivileged(app->shared, db, role))
		&& no_login_trigger(app->shared, db, role)
		&& pg_connect_shared(&app->cfg, db, &conn)
		&& pg_query(conn, "pin the hand-over session", pin_session_sql, 1, params, &res)
		&& restored_clean(conn, db, role)
		&& pg_exec(conn, "hand every object to the service role", ownership_sql);

	PQclear(res);
	pg_disconnect(conn);
	return ok;
}

/* Close a database to everyone but its owner: REVOKE from PUBLIC removes
 * the default CONNECT/TEMPORARY grants. Two statements (libpq's extended
 * protocol takes one at a time). */
bool
secrets_isolation_sql(PGconn *conn, const char *db, const char *role, StrBuf *revoke,
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
secrets_isolate_database(PGconn *admin, const char *db, const char *role)
{
	StrBuf revoke = STRBUF_INIT, grant = STRBUF_INIT;
	bool ok = secrets_isolation_sql(admin, db, role, &revoke, &grant)
		&& pg_exec(admin, "close the database to PUBLIC", sb_str(&revoke))
		&& pg_exec(admin, "grant CONNECT to the service role", sb_str(&grant));

	sb_free(&revoke);
	sb_free(&grant);
	return ok;
}

