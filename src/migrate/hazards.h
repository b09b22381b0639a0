/*
 * hazards.h — (internal to the migrate module) the query behind
 * preflight_*_hazards (preflight.h), as a macro so that preflight.c can
 * append it to the one psql call it makes per service.
 *
 * Rows: 'hazard', kind, name, detail (all text). The same text runs on the
 * dedicated database (psql) and on the restored copy (libpq, search_path
 * pinned to pg_catalog first): one definition of what pgfold refuses.
 *
 * What it lists, extension members excepted (CREATE EXTENSION recreates
 * them from the shared instance's own scripts; pg_dump does not carry them):
 *  - event triggers: they fire for DDL the admin runs in the database;
 *  - functions in C, internal or an untrusted language: created by the
 *    admin, then owned by the role, they run outside any sandbox;
 *  - functions that restoring the dump calls: a CHECK or domain
 *    constraint (COPY), an index or partition key expression (CREATE
 *    INDEX runs as the table's owner, the admin until the hand-over), a
 *    generated column, a materialized view or a view it reads (REFRESH),
 *    an operator, operator class, type or foreign-data wrapper. Triggers,
 *    casts, policies, views and plain defaults are not run by the restore;
 *    another function referring to it is not a call;
 *  - subscriptions: created by the admin, instance-wide workers once on.
 * Aggregates have language internal and are never C code of their own.
 */
#ifndef PGFOLD_MIGRATE_HAZARDS_H
#define PGFOLD_MIGRATE_HAZARDS_H

#define REG(c) "'pg_catalog." c "'::pg_catalog.regclass"

#define HAZARDS_SQL \
	"WITH RECURSIVE ext AS (SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e'),\n" \
	"fn AS (SELECT p.oid, p.prolang FROM pg_catalog.pg_proc p\n" \
	"  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace\n" \
	"  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')\n" \
	"    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = " REG("pg_proc") \
	" AND ext.objid = p.oid)),\n" \
	"refreshed(rel) AS (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind = 'm'\n" \
	"  UNION SELECT d.refobjid FROM refreshed x\n" \
	"    JOIN pg_catalog.pg_rewrite r ON r.ev_class = x.rel\n" \
	"    JOIN pg_catalog.pg_depend d ON d.classid = " REG("pg_rewrite") " AND d.objid = r.oid\n" \
	"    JOIN pg_catalog.pg_class v ON v.oid = d.refobjid AND v.relkind = 'v'\n" \
	"    WHERE d.refclassid = " REG("pg_class") ")\n" \
	"SELECT 'hazard', 'event trigger', e.evtname::text, e.evtevent::text\n" \
	"  FROM pg_catalog.pg_event_trigger e\n" \
	"  WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = " REG("pg_event_trigger") \
	" AND ext.objid = e.oid)\n" \
	"UNION ALL SELECT 'hazard', 'language', f.oid::pg_catalog.regprocedure::text, l.lanname::text\n" \
	"  FROM fn f JOIN pg_catalog.pg_language l ON l.oid = f.prolang\n" \
	"  WHERE NOT l.lanpltrusted\n" \
	"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = f.oid)\n" \
	"UNION ALL SELECT 'hazard', 'called', f.oid::pg_catalog.regprocedure::text,\n" \
	"    pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)\n" \
	"  FROM pg_catalog.pg_depend d JOIN fn f ON f.oid = d.refobjid\n" \
	"  WHERE d.refclassid = " REG("pg_proc") "\n" \
	"    AND d.classid NOT IN (" REG("pg_proc") ", " REG("pg_trigger") ", " REG("pg_cast") ",\n" \
	"                          " REG("pg_policy") ", " REG("pg_event_trigger") ")\n" \
	"    AND NOT (d.classid = " REG("pg_rewrite") " AND EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r\n" \
	"             WHERE r.oid = d.objid AND r.ev_class NOT IN (SELECT rel FROM refreshed)))\n" \
	"    AND NOT (d.classid = " REG("pg_attrdef") " AND EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef ad\n" \
	"             JOIN pg_catalog.pg_attribute at ON at.attrelid = ad.adrelid AND at.attnum = ad.adnum\n" \
	"             WHERE ad.oid = d.objid\n" \
	"               AND COALESCE(pg_catalog.to_jsonb(at) OPERATOR(pg_catalog.->>) 'attgenerated', '') = ''))\n" \
	"    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = d.classid AND ext.objid = d.objid)\n" \
	"UNION ALL SELECT 'hazard', 'subscription', s.subname::text, ''\n" \
	"  FROM pg_catalog.pg_subscription s\n" \
	"  WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database\n" \
	"                     WHERE datname = pg_catalog.current_database())\n"

#endif
