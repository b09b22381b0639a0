/*
 * roles.c — roles other than the app's own that own objects or hold grants
 * in the source database; see guard.h.
 *
 * pg_restore runs with --no-owner --no-acl (pgcmd.c): what such a role owns
 * is restored as the admin's and then handed to the service role with the
 * rest (secrets_hand_over), and its grants are not restored at all. So a
 * reporting user's SELECT grants, or the tables a separate migration user
 * owns, would be lost without a word; this lists them so that plan shows
 * them and migrate refuses until the operator says how to go on.
 *
 * Owners come from pg_shdepend (every catalog; the bootstrap superuser,
 * usually the dedicated POSTGRES_USER, is pinned and never listed there),
 * extensions and their members excepted (CREATE EXTENSION recreates them).
 * Grants come from the ACL columns, aclexplode'd: to PUBLIC, an owner's own
 * entries and the built-in objects' (OIDs below 16384) are not listed.
 * Policies naming a role (pg_shdepend 'r') are listed apart: pg_restore
 * recreates them by the role's name whatever --no-acl says.
 * Rows: role, 'owns' | 'may' | 'policy', what (pg_describe_object's words).
 */
#include "pgfold/secrets.h"
#include "pgfold/guard.h"

#include "acl_sql.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdlib.h>
#include <string.h>

/* How many objects one role's line names before "and N more". */
#define ROLE_ITEMS_SHOWN 4

static const char roles_sql[] =
	ACL_SQL_ME_EXT
	"own AS (SELECT s.refobjid AS role, s.classid, s.objid, s.objsubid FROM pg_catalog.pg_shdepend s, me\n"
	"  WHERE s.dbid = me.oid AND s.deptype = 'o' AND s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass\n"
	"    AND s.classid <> 'pg_catalog.pg_extension'::pg_catalog.regclass\n"
	"    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = s.classid AND ext.objid = s.objid)),\n"
	"acl(classid, objid, objsubid, owner, acl) AS (\n"
	ACL_SQL_SOURCES
	"  UNION ALL SELECT 'pg_catalog.pg_default_acl'::pg_catalog.regclass, d.oid, 0, d.defaclrole, d.defaclacl FROM pg_catalog.pg_default_acl d\n"
	"  UNION ALL SELECT 'pg_catalog.pg_largeobject'::pg_catalog.regclass, l.oid, 0, l.lomowner, l.lomacl FROM pg_catalog.pg_largeobject_metadata l WHERE l.lomacl IS NOT NULL\n"
	"  UNION ALL SELECT 'pg_catalog.pg_foreign_server'::pg_catalog.regclass, f.oid, 0, f.srvowner, f.srvacl FROM pg_catalog.pg_foreign_server f WHERE f.srvacl IS NOT NULL\n"
	"  UNION ALL SELECT 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass, f.oid, 0, f.fdwowner, f.fdwacl FROM pg_catalog.pg_foreign_data_wrapper f WHERE f.fdwacl IS NOT NULL\n"
	"  UNION ALL SELECT 'pg_catalog.pg_language'::pg_catalog.regclass, l.oid, 0, l.lanowner, l.lanacl FROM pg_catalog.pg_language l WHERE l.lanacl IS NOT NULL),\n"
	"may AS (SELECT x.grantee AS role, acl.classid, acl.objid, acl.objsubid,\n"
	"    pg_catalog.string_agg(x.privilege_type OPERATOR(pg_catalog.||) CASE WHEN x.is_grantable THEN ' (grantable)' ELSE '' END, ', ' ORDER BY x.privilege_type) AS privs\n"
	ACL_SQL_MAY_FROM
	"  GROUP BY 1, 2, 3, 4)\n"
	"SELECT r.rolname, 'owns', pg_catalog.pg_describe_object(o.classid, o.objid, o.objsubid)\n"
	"  FROM own o JOIN pg_catalog.pg_roles r ON r.oid = o.role WHERE r.rolname !~ '^pg_'\n"
	"UNION ALL\n"
	"SELECT r.rolname, 'may', m.privs OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) pg_catalog.pg_describe_object(m.classid, m.objid, m.objsubid)\n"
	"  FROM may m JOIN pg_catalog.pg_roles r ON r.oid = m.role WHERE r.rolname !~ '^pg_'\n"
	"UNION ALL\n"
	"SELECT r.rolname, 'policy', pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid)\n"
	"  FROM pg_catalog.pg_shdepend s JOIN me ON s.dbid = me.oid\n"
	"  JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid\n"
	"  WHERE s.deptype = 'r' AND r.rolname !~ '^pg_'\n"
	"ORDER BY 1, 2 DESC, 3\n"
	;

const char *
guard_roles_sql(void)
{
	return roles_sql;
}

static bool
is_own(const char *role, const char *const *own, size_t own_count)
{
	for (size_t i = 0; i < own_count; i++)
		if (own[i] != NULL && strcmp(own[i], role) == 0)
			return true;
	return false;
}

static void
push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
}

static void
add_row(OtherRoles *out, const char *role, const char *kind, const char *what)
{
	OtherRole *r;

	if (role == NULL || kind == NULL || what == NULL)
		return;
	if (out->count == 0 || strcmp(out->roles[out->count - 1].name, role) != 0)
	{
		out->roles = xrealloc(out->roles, out->count + 1, sizeof(OtherRole));
		memset(&out->roles[out->count], 0, sizeof(OtherRole));
		out->roles[out->count++].name = xstrdup(role);
	}
	r = &out->roles[out->count - 1];
	if (strcmp(kind, "owns") == 0)
		push(&r->owns, &r->owns_count, what);
	else if (strcmp(kind, "policy") == 0)
		push(&r->policies, &r->policy_count, what);
	else
		push(&r->may, &r->may_count, what);
}

bool
guard_roles_source(DockerClient *docker, const char *container, const char *user,
				   const char *db, const char *const *own, size_t own_count,
				   OtherRoles *out)
{
	PgRows rows = PGROWS_INIT;
	StrBuf sql = STRBUF_INIT;
	bool ok;

	memset(out, 0, sizeof(*out));
	sb_appendf(&sql, "%s;\n", roles_sql);
	ok = pgx_query_rows(docker, container, user, db, sb_str(&sql), NULL, 3, &rows);
	for (size_t r = 0; ok && r < rows.nrows; r++)
	{
		const char *role = pg_rows_get(&rows, r, 0);

		if (role != NULL && !is_own(role, own, own_count))
			add_row(out, role, pg_rows_get(&rows, r, 1), pg_rows_get(&rows, r, 2));
	}
	pg_rows_free(&rows);
	sb_free(&sql);
	return ok;
}

void
guard_roles_free(OtherRoles *r)
{
	for (size_t i = 0; i < r->count; i++)
	{
		OtherRole *o = &r->roles[i];

		for (size_t j = 0; j < o->owns_count; j++)
			free(o->owns[j]);
		for (size_t j = 0; j < o->may_count; j++)
			free(o->may[j]);
		for (size_t j = 0; j < o->policy_count; j++)
			free(o->policies[j]);
		free(o->policies);
		free(o->owns);
		free(o->may);
		free(o->name);
	}
	free(r->roles);
	memset(r, 0, sizeof(*r));
}

static void
append_items(StrBuf *out, char *const *items, size_t n)
{
	for (size_t i = 0; i < n && i < ROLE_ITEMS_SHOWN; i++)
	{
		sb_appends(out, i ? ", " : "");
		guard_append_clean(out, items[i]);
	}
	if (n > ROLE_ITEMS_SHOWN)
		sb_appendf(out, " and %zu more", n - ROLE_ITEMS_SHOWN);
}

void
guard_role_describe(const OtherRole *role, StrBuf *out)
{
	StrBuf name = STRBUF_INIT;

	sb_appendf(out, "role %s", pg_display(&name, role->name));
	if (role->owns_count > 0)
	{
		sb_appends(out, " owns ");
		append_items(out, role->owns, role->owns_count);
	}
	if (role->may_count > 0)
	{
		sb_appends(out, role->owns_count ? "; may " : " may ");
		append_items(out, role->may, role->may_count);
	}
	if (role->policy_count > 0)
	{
		sb_appends(out, role->owns_count || role->may_count ? "; is named by " : " is named by ");
		append_items(out, role->policies, role->policy_count);
	}
	sb_free(&name);
}
