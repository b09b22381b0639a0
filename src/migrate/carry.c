/*
 * carry.c — `--with-roles`: the roles other than the app's own (roles.c)
 * carried to the shared instance as NOLOGIN roles "<db>_<role>", with what
 * they owned and the grants and default privileges they held, re-applied
 * on the restored copy after the hand-over (which gave everything to the
 * service role). The service role becomes a member of each: in the
 * dedicated cluster it was a superuser and reached their objects anyway.
 *
 * The source says what to re-apply (one psql call: owners from
 * pg_shdepend, grants from the ACL columns, default privileges, each object
 * by its pg_identify_object_as_address); the copy finds each object again
 * by pg_get_object_address and names it by pg_identify_object, so no name
 * from the source is ever spliced into a statement by us. The statements
 * are built in one DO block run as the admin in the copy's pinned session
 * (as the hand-over), from a JSON document passed as a bound parameter;
 * privileges are checked against PostgreSQL's own list, roles against the
 * map pgfold built from the pre-flight (a role that appeared since then is
 * refused). A role pgfold created carries a comment that says so: only such
 * a role is reused (a resumed run) or dropped (an undo).
 */
#include "run_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/guard.h"
#include "acl_sql.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdio.h>
#include <string.h>

/* Rows: kind ('own', 'grant', 'defacl'), role (grantee or owner), owner
 * (defacl: whose default privileges), type, names (text[] literal; defacl:
 * the schema or ''), args (text[] literal), privileges (comma-separated),
 * grantable. */
static const char carry_sql[] =
	ACL_SQL_ME_EXT
	"own AS (SELECT s.refobjid AS role, s.classid, s.objid, s.objsubid FROM pg_catalog.pg_shdepend s, me\n"
	"  WHERE s.dbid = me.oid AND s.deptype = 'o' AND s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass\n"
	"    AND s.classid NOT IN ('pg_catalog.pg_extension'::pg_catalog.regclass, 'pg_catalog.pg_default_acl'::pg_catalog.regclass)\n"
	"    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = s.classid AND ext.objid = s.objid)\n"
	"    AND NOT (s.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d\n"
	"             WHERE d.classid = s.classid AND d.objid = s.objid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass\n"
	"               AND d.deptype IN ('a', 'i')))),\n"
	"acl(classid, objid, objsubid, owner, acl) AS (\n"
	ACL_SQL_SOURCES
	"  UNION ALL SELECT 'pg_catalog.pg_largeobject'::pg_catalog.regclass, l.oid, 0, l.lomowner, l.lomacl FROM pg_catalog.pg_largeobject_metadata l WHERE l.lomacl IS NOT NULL),\n"
	"may AS (SELECT x.grantee AS role, acl.classid, acl.objid, acl.objsubid, x.is_grantable,\n"
	"    pg_catalog.string_agg(x.privilege_type, ',' ORDER BY x.privilege_type) AS privs\n"
	ACL_SQL_MAY_FROM
	"  GROUP BY 1, 2, 3, 4, 5),\n"
	"defacl AS (SELECT d.defaclrole AS owner, n.nspname, d.defaclobjtype::text AS objtype, x.grantee, x.is_grantable,\n"
	"    pg_catalog.string_agg(x.privilege_type, ',' ORDER BY x.privilege_type) AS privs\n"
	"  FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace,\n"
	"    LATERAL pg_catalog.aclexplode(d.defaclacl) x\n"
	"  WHERE x.grantee <> 0 GROUP BY 1, 2, 3, 4, 5)\n"
	"SELECT 'own', r.rolname, '', a.type, a.object_names::text, a.object_args::text, '', ''\n"
	"  FROM own o JOIN pg_catalog.pg_roles r ON r.oid = o.role,\n"
	"  LATERAL pg_catalog.pg_identify_object_as_address(o.classid, o.objid, o.objsubid) a\n"
	"  WHERE r.rolname !~ '^pg_'\n"
	"UNION ALL\n"
	"SELECT 'grant', r.rolname, '', a.type, a.object_names::text, a.object_args::text, m.privs, m.is_grantable::text\n"
	"  FROM may m JOIN pg_catalog.pg_roles r ON r.oid = m.role,\n"
	"  LATERAL pg_catalog.pg_identify_object_as_address(m.classid, m.objid, m.objsubid) a\n"
	"  WHERE r.rolname !~ '^pg_'\n"
	"UNION ALL\n"
	"SELECT 'defacl', g.rolname, o.rolname, d.objtype, coalesce(d.nspname, ''), '', d.privs, d.is_grantable::text\n"
	"  FROM defacl d JOIN pg_catalog.pg_roles g ON g.oid = d.grantee JOIN pg_catalog.pg_roles o ON o.oid = d.owner\n"
	"  WHERE g.rolname !~ '^pg_' AND o.rolname !~ '^pg_'\n"
	"ORDER BY 1 DESC, 2, 4, 5\n"
	";\n";

static const char carry_do_sql[] =
	"DO $pgfold$\n"
	"DECLARE\n"
	"  doc jsonb := pg_catalog.current_setting('pgfold.carry')::jsonb;\n"
	"  known text[] := ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER',\n"
	"                        'EXECUTE', 'USAGE', 'CREATE', 'CONNECT', 'TEMPORARY', 'MAINTAIN'];\n"
	"  it jsonb;\n"
	"  addr record;\n"
	"  obj record;\n"
	"  who text;\n"
	"  owner text;\n"
	"  privs text;\n"
	"  kind text;\n"
	"  wgo text;\n"
	"BEGIN\n"
	"  FOR it IN SELECT e FROM pg_catalog.jsonb_array_elements(doc->'items') AS e LOOP\n"
	"    who := doc->'map'->>(it->>'role');\n"
	"    IF who IS NULL THEN\n"
	"      RAISE EXCEPTION 'role % is not one the pre-flight listed', it->>'role';\n"
	"    END IF;\n"
	"    wgo := CASE WHEN it->>'grantable' = 'true' THEN ' WITH GRANT OPTION' ELSE '' END;\n"
	"    IF it->>'k' <> 'own' THEN\n"
	"      IF NOT (pg_catalog.string_to_array(it->>'privs', ',') OPERATOR(pg_catalog.<@) known) THEN\n"
	"        RAISE EXCEPTION 'unknown privilege in %', it->>'privs';\n"
	"      END IF;\n"
	"      privs := pg_catalog.replace(it->>'privs', ',', ', ');\n"
	"    END IF;\n"
	"    IF it->>'k' = 'defacl' THEN\n"
	"      owner := doc->'map'->>(it->>'owner');\n"
	"      kind := CASE it->>'type' WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'\n"
	"              WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' WHEN 'n' THEN 'SCHEMAS' END;\n"
	"      IF owner IS NULL OR kind IS NULL THEN\n"
	"        RAISE EXCEPTION 'default privileges of role % on % cannot be carried', it->>'owner', it->>'type';\n"
	"      END IF;\n"
	"      EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %I %s GRANT %s ON %s TO %I%s',\n"
	"        owner, CASE WHEN it->>'names' = '' THEN ''\n"
	"                    ELSE pg_catalog.format('IN SCHEMA %I', it->>'names') END,\n"
	"        privs, kind, who, wgo);\n"
	"      CONTINUE;\n"
	"    END IF;\n"
	"    IF it->>'type' = 'database' THEN\n"
	"      EXECUTE pg_catalog.format('GRANT %s ON DATABASE %I TO %I%s', privs,\n"
	"                                pg_catalog.current_database(), who, wgo);\n"
	"      CONTINUE;\n"
	"    END IF;\n"
	"    SELECT * INTO addr FROM pg_catalog.pg_get_object_address(it->>'type',\n"
	"      (it->>'names')::text[], (it->>'args')::text[]);\n"
	"    SELECT * INTO obj FROM pg_catalog.pg_identify_object(addr.classid, addr.objid, addr.objsubid);\n"
	"    IF it->>'k' = 'own' THEN\n"
	"      kind := CASE obj.type WHEN 'table' THEN 'TABLE' WHEN 'view' THEN 'VIEW'\n"
	"        WHEN 'materialized view' THEN 'MATERIALIZED VIEW' WHEN 'sequence' THEN 'SEQUENCE'\n"
	"        WHEN 'foreign table' THEN 'FOREIGN TABLE' WHEN 'function' THEN 'FUNCTION'\n"
	"        WHEN 'procedure' THEN 'PROCEDURE' WHEN 'aggregate' THEN 'AGGREGATE' WHEN 'schema' THEN 'SCHEMA'\n"
	"        WHEN 'type' THEN 'TYPE' WHEN 'composite type' THEN 'TYPE' WHEN 'collation' THEN 'COLLATION'\n"
	"        WHEN 'conversion' THEN 'CONVERSION' WHEN 'operator' THEN 'OPERATOR'\n"
	"        WHEN 'operator class' THEN 'OPERATOR CLASS' WHEN 'operator family' THEN 'OPERATOR FAMILY'\n"
	"        WHEN 'text search configuration' THEN 'TEXT SEARCH CONFIGURATION'\n"
	"        WHEN 'text search dictionary' THEN 'TEXT SEARCH DICTIONARY'\n"
	"        WHEN 'statistics object' THEN 'STATISTICS' WHEN 'large object' THEN 'LARGE OBJECT'\n"
	"        WHEN 'foreign-data wrapper' THEN 'FOREIGN DATA WRAPPER' WHEN 'server' THEN 'SERVER'\n"
	"        WHEN 'publication' THEN 'PUBLICATION' END;\n"
	"      IF kind IS NULL THEN\n"
	"        RAISE EXCEPTION 'the owner of % cannot be carried', obj.identity;\n"
	"      END IF;\n"
	"      EXECUTE pg_catalog.format('ALTER %s %s OWNER TO %I', kind, obj.identity, who);\n"
	"    ELSIF addr.objsubid <> 0 THEN\n"
	"      EXECUTE pg_catalog.format('GRANT %s (%I) ON TABLE %s TO %I%s', privs,\n"
	"        (SELECT a.attname FROM pg_catalog.pg_attribute a\n"
	"          WHERE a.attrelid = addr.objid AND a.attnum = addr.objsubid),\n"
	"        addr.objid::pg_catalog.regclass, who, wgo);\n"
	"    ELSE\n"
	"      kind := CASE obj.type WHEN 'table' THEN 'TABLE' WHEN 'view' THEN 'TABLE'\n"
	"        WHEN 'materialized view' THEN 'TABLE' WHEN 'foreign table' THEN 'TABLE'\n"
	"        WHEN 'sequence' THEN 'SEQUENCE' WHEN 'function' THEN 'FUNCTION'\n"
	"        WHEN 'procedure' THEN 'PROCEDURE' WHEN 'aggregate' THEN 'FUNCTION'\n"
	"        WHEN 'schema' THEN 'SCHEMA' WHEN 'type' THEN 'TYPE' WHEN 'large object' THEN 'LARGE OBJECT' END;\n"
	"      IF kind IS NULL THEN\n"
	"        RAISE EXCEPTION 'the grants on % cannot be carried', obj.identity;\n"
	"      END IF;\n"
	"      EXECUTE pg_catalog.format('GRANT %s ON %s %s TO %I%s', privs, kind, obj.identity, who, wgo);\n"
	"    END IF;\n"
	"  END LOOP;\n"
	"END\n"
	"$pgfold$\n"
	;

static const char pin_sql[] =
	"SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), "
	"pg_catalog.set_config('pgfold.carry', $1, false)";

static const char comment_sql[] =
	"SELECT pg_catalog.shobj_description(oid, 'pg_authid') FROM pg_catalog.pg_roles "
	"WHERE rolname = $1";

bool
guard_carried_name(const char *db, const char *role, char *out, size_t size)
{
	return str_format(out, size, "%s_%s", db, role) && strlen(out) <= 63;
}

/* The comment a carried role is created with. */
static void
carried_comment(const char *db, StrBuf *out)
{
	sb_appendf(out, "pgfold: carried by migrate for database %s", db);
}

bool
guard_carried_role_state(PGconn *admin, const char *db, const char *name, bool *exists,
						 bool *ours)
{
	const char *p[] = { name };
	StrBuf v = STRBUF_INIT, want = STRBUF_INIT;
	bool isnull = false;

	*exists = *ours = false;
	if (!pg_role_exists(admin, name, exists))
		return false;
	if (!*exists)
		return true;
	if (!pg_query_scalar(admin, "read a role's comment", comment_sql, 1, p, &v, &isnull))
		return false;
	carried_comment(db, &want);
	*ours = !isnull && strcmp(sb_str(&v), sb_str(&want)) == 0;
	sb_free(&v);
	sb_free(&want);
	return true;
}

/* source role -> role on the shared instance */
static json_t *
role_map(Run *r)
{
	const StackService *svc = r->svc;
	json_t *map = json_object();
	char name[128];

	if (svc->db_user != NULL)
		json_object_set_new(map, svc->db_user, json_string(r->names.role));
	for (size_t i = 0; i < svc->conn_count; i++)
		if (svc->conns[i].values.user != NULL)
			json_object_set_new(map, svc->conns[i].values.user, json_string(r->names.role));
	for (size_t i = 0; i < r->pf.roles.count; i++)
		if (guard_carried_name(r->names.db, r->pf.roles.roles[i].name, name, sizeof(name)))
			json_object_set_new(map, r->pf.roles.roles[i].name, json_string(name));
	return map;
}

static bool
is_own(Run *r, const char *role)
{
	json_t *v = json_object_get(r->carry_map, role);

	return v != NULL && strcmp(json_string_value(v), r->names.role) == 0;
}

/* What to re-apply, read from the source now (its apps are stopped). */
static bool
carry_items(Run *r, json_t *items)
{
	PgRows rows = PGROWS_INIT;
	StrBuf d = STRBUF_INIT;
	bool ok = pgx_query_rows(r->app->docker, r->db_container_name, r->svc->db_user,
							 r->svc->db_name, carry_sql, NULL, 8, &rows);

	for (size_t i = 0; ok && i < rows.nrows; i++)
	{
		const char *k = pg_rows_get(&rows, i, 0), *role = pg_rows_get(&rows, i, 1);
		const char *owner = pg_rows_get(&rows, i, 2);

		if (json_object_get(r->carry_map, role) == NULL
			|| (strcmp(k, "defacl") == 0 && json_object_get(r->carry_map, owner) == NULL))
		{
			sb_reset(&d);
			log_error("role %s owns objects or holds grants in \"%s\" in %s but was not there "
					  "at the pre-flight: re-run `pgfold migrate %s` to see it listed",
					  pg_display(&d, json_object_get(r->carry_map, role) ? owner : role),
					  r->svc->db_name, r->db_container_name, r->svc->name);
			exit_hint_set(EXIT_BLOCKED);
			ok = false;
			break;
		}
		/* the service role owns everything already and may do anything */
		if (is_own(r, role) && (strcmp(k, "defacl") != 0 || is_own(r, owner)))
			continue;
		json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
											   "k", k, "role", role, "owner", owner,
											   "type", pg_rows_get(&rows, i, 3),
											   "names", pg_rows_get(&rows, i, 4),
											   "args", pg_rows_get(&rows, i, 5),
											   "privs", pg_rows_get(&rows, i, 6),
											   "grantable", pg_rows_get(&rows, i, 7)));
	}
	pg_rows_free(&rows);
	sb_free(&d);
	return ok;
}

/* CREATE ROLE ... NOLOGIN, its comment, and the service role a member. */
static bool
create_carried(Run *r, const char *name)
{
	PGconn *admin = r->app->shared;
	StrBuf q = STRBUF_INIT, app = STRBUF_INIT, c = STRBUF_INIT, lit = STRBUF_INIT;
	StrBuf create = STRBUF_INIT, comment = STRBUF_INIT, member = STRBUF_INIT;
	bool exists = false, ours = false;
	bool ok = guard_carried_role_state(admin, r->names.db, name, &exists, &ours);

	carried_comment(r->names.db, &c);
	ok = ok && pg_quote_ident(admin, name, &q) && pg_quote_ident(admin, r->names.role, &app)
		&& pg_quote_literal(admin, sb_str(&c), &lit);
	if (ok && exists && !ours)
	{
		sb_reset(&c);
		log_error("role %s exists on the shared instance and pgfold did not create it; drop "
				  "or rename it, or go on with --drop-grants", pg_display(&c, name));
		exit_hint_set(EXIT_BLOCKED);
		ok = false;
	}
	if (ok && !exists)
		ok = sb_appendf(&create, "CREATE ROLE %s NOLOGIN", sb_str(&q))
			&& pg_exec(admin, "create a carried role", sb_str(&create));
	if (ok)
		ok = sb_appendf(&comment, "COMMENT ON ROLE %s IS %s", sb_str(&q), sb_str(&lit))
			&& pg_exec(admin, "mark the carried role as pgfold's", sb_str(&comment))
			&& sb_appendf(&member, "GRANT %s TO %s", sb_str(&q), sb_str(&app))
			&& pg_exec(admin, "make the service role a member of the carried role",
					   sb_str(&member));
	sb_free(&q);
	sb_free(&app);
	sb_free(&c);
	sb_free(&lit);
	sb_free(&create);
	sb_free(&comment);
	sb_free(&member);
	return ok;
}

static bool
apply_items(Run *r, json_t *items)
{
	json_t *doc = json_pack("{s:O, s:O}", "map", r->carry_map, "items", items);
	char *text = json_dumps(doc, JSON_COMPACT);
	const char *params[] = { text };
	PGconn *conn = NULL;
	PGresult *res = NULL;
	bool ok = text != NULL && pg_connect_shared(&r->app->cfg, r->names.tmp_db, &conn)
		&& pg_query(conn, "pin the carry session", pin_sql, 1, params, &res)
		&& pg_exec(conn, "re-apply the carried roles' ownership and grants", carry_do_sql);

	PQclear(res);
	pg_disconnect(conn);
	free(text);
	json_decref(doc);
	return ok;
}

/* ---- proof that the carry arrived ---------------------------------------- */

/* One item as a comparable line, its roles named as on the shared
 * instance. */
static void
item_key(const char *k, const char *role, const char *owner, const char *type,
		 const char *names, const char *args, const char *privs, const char *grantable,
		 StrBuf *out)
{
	sb_reset(out);
	/* a grant on the database names it: the source's, the copy's temporary */
	if (strcmp(type, "database") == 0)
		names = "(this database)";
	sb_appendf(out, "%s %s %s %s %s %s %s %s", k, role, owner, type, names, args, privs, grantable);
}

static const char *
mapped(Run *r, const char *role)
{
	json_t *v = json_object_get(r->carry_map, role);

	return v != NULL ? json_string_value(v) : role;
}

/* A carried role's name on the shared instance (not the service role)? */
static bool
is_carried(Run *r, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(r->carry_map, k, v)
		if (strcmp(json_string_value(v), name) == 0 && strcmp(name, r->names.role) != 0)
			return true;
	return false;
}

/* What the source said to carry, as the copy should now show it. */
static json_t *
expected_keys(Run *r, json_t *items)
{
	json_t *keys = json_array(), *it;
	StrBuf line = STRBUF_INIT;
	size_t i;

	json_array_foreach(items, i, it)
	{
		const char *k = json_string_value(json_object_get(it, "k"));
		const char *owner = json_string_value(json_object_get(it, "owner"));

		item_key(k, mapped(r, json_string_value(json_object_get(it, "role"))),
				 owner[0] ? mapped(r, owner) : "", json_string_value(json_object_get(it, "type")),
				 json_string_value(json_object_get(it, "names")),
				 json_string_value(json_object_get(it, "args")),
				 json_string_value(json_object_get(it, "privs")),
				 json_string_value(json_object_get(it, "grantable")), &line);
		json_array_append_new(keys, json_string(sb_str(&line)));
	}
	sb_free(&line);
	return keys;
}

/* What the copy shows for the carried roles, read with the same query. */
static bool
found_keys(Run *r, json_t *keys)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	StrBuf line = STRBUF_INIT;
	bool ok = pg_connect_shared(&r->app->cfg, r->names.tmp_db, &conn)
		&& pg_query(conn, "read the carried roles' ownership and grants", carry_sql, 0, NULL,
					&res);

	for (int i = 0; ok && i < PQntuples(res); i++)
	{
		const char *k = PQgetvalue(res, i, 0), *role = PQgetvalue(res, i, 1);
		const char *owner = PQgetvalue(res, i, 2);

		if (!is_carried(r, role) && !(strcmp(k, "defacl") == 0 && is_carried(r, owner)))
			continue;
		item_key(k, role, owner, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
				 PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 7), &line);
		json_array_append_new(keys, json_string(sb_str(&line)));
	}
	PQclear(res);
	pg_disconnect(conn);
	sb_free(&line);
	return ok;
}

/* Log what one side has and the other lacks; the count of such lines. */
static size_t
log_missing(json_t *have, json_t *other, const char *what, const char *where)
{
	size_t n = 0, i, k;
	json_t *v;

	json_array_foreach(have, i, v)
	{
		bool found = false;

		for (k = 0; k < json_array_size(other) && !found; k++)
			found = strcmp(json_string_value(v), json_string_value(json_array_get(other, k))) == 0;
		if (!found && n++ < 20)
			log_error("carried roles: %s %s: %s", what, where, json_string_value(v));
	}
	return n;
}

/* The copy holds exactly the ownership, grants and default privileges the
 * source gave the roles carried: any difference is a verification failure
 * (exit 6), the copy kept for inspection. */
static bool
verify_carried(Run *r, json_t *items)
{
	json_t *want = expected_keys(r, items), *got = json_array();
	bool ok = found_keys(r, got);
	size_t missing = 0, extra = 0;

	if (ok)
	{
		missing = log_missing(want, got, "missing in", r->names.tmp_db);
		extra = log_missing(got, want, "not in the source, but in", r->names.tmp_db);
	}
	if (ok && missing + extra > 0)
	{
		log_error("verification failed: %zu item(s) of the carried roles missing and %zu extra "
				  "in \"%s\"; nothing was switched over", missing, extra, r->names.tmp_db);
		exit_hint_set(EXIT_VERIFY);
		r->keep_tmp = true;
		ok = false;
	}
	else if (ok)
		log_notice("verified: the %zu owner(s), grant(s) and default privilege(s) of the carried "
				   "roles are in \"%s\" as in the source", json_array_size(want), r->names.tmp_db);
	json_decref(want);
	json_decref(got);
	return ok;
}

bool
step_carry_roles(Run *r)
{
	json_t *names, *items, *f;
	char name[128];
	bool ok = true;

	if (!r->opts->with_roles || r->pf.roles.count == 0
		|| journal_step_done(&r->journal, r->run_id, MIG_STEP_CARRY) != NULL)
		return true;
	json_decref(r->carry_map);
	r->carry_map = role_map(r);
	names = json_array();
	for (size_t i = 0; i < r->pf.roles.count; i++)
		if (guard_carried_name(r->names.db, r->pf.roles.roles[i].name, name, sizeof(name)))
			json_array_append_new(names, json_string(name));
	/* journaled before any role exists: an undo, even after a crash, knows
	 * which to drop */
	f = json_pack("{s:O}", "roles", names);
	ok = run_record(r, MIG_STEP_CARRY, JOURNAL_STARTED, f);
	json_decref(f);
	items = json_array();
	ok = ok && carry_items(r, items);
	for (size_t i = 0; ok && i < json_array_size(names); i++)
		ok = create_carried(r, json_string_value(json_array_get(names, i)));
	ok = ok && apply_items(r, items) && verify_carried(r, items);
	if (ok)
	{
		f = json_pack("{s:O, s:I}", "roles", names, "items", (json_int_t) json_array_size(items));
		ok = run_record(r, MIG_STEP_CARRY, JOURNAL_DONE, f);
		json_decref(f);
		log_notice("carried %zu role(s) as NOLOGIN roles, %zu owner(s), grant(s) and default "
				   "privilege(s) re-applied", json_array_size(names), json_array_size(items));
	}
	json_decref(items);
	json_decref(names);
	return ok;
}

/* Undo: the roles this run's carry step named, created by pgfold (their
 * comment), once the temporary database that held their objects is gone. */
void
steps_drop_carried_roles(Run *r)
{
	json_t *rec = journal_step(&r->journal, r->run_id, MIG_STEP_CARRY);
	json_t *names = rec ? json_object_get(rec, "roles") : NULL;

	if (r->keep_tmp || r->app->shared == NULL)
		return;
	for (size_t i = 0; i < json_array_size(names); i++)
	{
		const char *name = json_string_value(json_array_get(names, i));
		StrBuf sql = STRBUF_INIT;
		bool exists = false, ours = false;

		if (name != NULL && guard_carried_role_state(r->app->shared, r->names.db, name, &exists,
													 &ours)
			&& exists && ours && sb_appends(&sql, "DROP ROLE ")
			&& pg_quote_ident(r->app->shared, name, &sql))
			pg_exec(r->app->shared, "drop a role this run carried", sb_str(&sql));
		sb_free(&sql);
	}
}
