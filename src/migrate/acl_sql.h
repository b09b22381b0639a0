/*
 * acl_sql.h — SQL text shared by the two queries that look at the roles
 * of a database other than its owner: the pre-flight's list of other roles
 * (roles.c) and the carry of their grants (carry.c). Each query splices
 * these pieces into its own text; the rows each one wants differ.
 */
#ifndef PGFOLD_MIGRATE_ACL_SQL_H
#define PGFOLD_MIGRATE_ACL_SQL_H

/* CTEs me (the current database) and ext (objects of an extension). */
#define ACL_SQL_ME_EXT \
	"WITH me AS (SELECT oid, datdba, datacl FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()),\n" \
	"ext AS (SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e'),\n"

/* The first rows of CTE acl(classid, objid, objsubid, owner, acl): the
 * ACLs of relations, columns, schemas, functions, types and the database. */
#define ACL_SQL_SOURCES \
	"  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0, c.relowner, c.relacl FROM pg_catalog.pg_class c WHERE c.relacl IS NOT NULL\n" \
	"  UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, a.attrelid, a.attnum::int, c.relowner, a.attacl\n" \
	"    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE a.attacl IS NOT NULL\n" \
	"  UNION ALL SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, 0, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n WHERE n.nspacl IS NOT NULL\n" \
	"  UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 0, p.proowner, p.proacl FROM pg_catalog.pg_proc p WHERE p.proacl IS NOT NULL\n" \
	"  UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, 0, t.typowner, t.typacl FROM pg_catalog.pg_type t WHERE t.typacl IS NOT NULL\n" \
	"  UNION ALL SELECT 'pg_catalog.pg_database'::pg_catalog.regclass, me.oid, 0, me.datdba, me.datacl FROM me WHERE me.datacl IS NOT NULL\n"

/* The FROM and WHERE of CTE may: each grant of acl to another role than
 * the owner (not PUBLIC), on the database or an object of its own (not of
 * the system, not of an extension). */
#define ACL_SQL_MAY_FROM \
	"  FROM acl, LATERAL pg_catalog.aclexplode(acl.acl) x\n" \
	"  WHERE x.grantee <> 0 AND x.grantee <> acl.owner\n" \
	"    AND (acl.objid >= 16384 OR acl.classid = 'pg_catalog.pg_database'::pg_catalog.regclass)\n" \
	"    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = acl.classid AND ext.objid = acl.objid)\n"

#endif
