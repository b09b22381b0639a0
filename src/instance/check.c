/*
 * check.c — `db verify NAME` without a source to compare with: is the
 * database sound on its own?
 *
 *  - catalog: no relation, column, index, constraint or type pointing at
 *    something that is not there; invalid indexes are reported;
 *  - amcheck's bt_index_check on every btree index (heapallindexed with
 *    --deep). When the extension is not installed but available, it is
 *    created in a schema of our own inside the transaction the whole check
 *    runs in, and that transaction is rolled back: the database is left
 *    exactly as it was;
 *  - every table read in full with a sequential scan (--deep: every row
 *    turned into text, which detoasts every value).
 *
 * Each probe runs under a savepoint, so one broken index or table is
 * reported and the others are still checked.
 */
#include "pgfold/instance.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 10
#define AMCHECK_SCHEMA "pgfold_amcheck"

static void
add(SanityReport *r, const char *name, CheckStatus status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
add(SanityReport *r, const char *name, CheckStatus status, const char *fmt, ...)
{
	char detail[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r->checks = xrealloc(r->checks, r->count + 1, sizeof(SanityCheck));
	r->checks[r->count++] = (SanityCheck) { xstrdup(name), status, xstrdup(detail) };
	if (status == CHECK_STATUS_FAIL)
		r->failures++;
}

const char *
instance_check_status_name(CheckStatus status)
{
	static const char *const names[] = { "ok", "skipped", "warn", "fail" };

	return names[status];
}

/* ---- catalog --------------------------------------------------------------- */

static const char catalog_sql[] =
	"SELECT (SELECT count(*) FROM pg_catalog.pg_class c WHERE NOT EXISTS "
	"  (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = c.relnamespace)), "
	"(SELECT count(*) FROM pg_catalog.pg_attribute a WHERE NOT EXISTS "
	"  (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = a.attrelid)), "
	"(SELECT count(*) FROM pg_catalog.pg_index i WHERE NOT EXISTS "
	"  (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = i.indrelid) OR NOT EXISTS "
	"  (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = i.indexrelid)), "
	"(SELECT count(*) FROM pg_catalog.pg_constraint k WHERE k.conrelid <> 0 AND NOT EXISTS "
	"  (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = k.conrelid)), "
	"(SELECT count(*) FROM pg_catalog.pg_type t WHERE NOT EXISTS "
	"  (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = t.typnamespace)), "
	"(SELECT count(*) FROM pg_catalog.pg_attrdef d WHERE NOT EXISTS "
	"  (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = d.adrelid))";

static const char *const catalog_what[] = {
	"relations without a schema", "columns without a relation",
	"indexes without their table or relation", "constraints on missing tables",
	"types without a schema", "column defaults on missing tables"
};

static const char invalid_sql[] =
	"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_index i "
	"JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE NOT i.indisvalid ORDER BY 1";

static void
list_values(PGresult *res, StrBuf *out)
{
	for (int r = 0; r < PQntuples(res) && r < MAX_LISTED; r++)
		sb_appendf(out, "%s%s", r ? ", " : "", PQgetvalue(res, r, 0));
	if (PQntuples(res) > MAX_LISTED)
		sb_appendf(out, " and %d more", PQntuples(res) - MAX_LISTED);
}

static bool
check_catalog(PGconn *conn, SanityReport *r)
{
	PGresult *res = NULL;
	StrBuf bad = STRBUF_INIT;

	if (!pg_query(conn, "check the catalog", catalog_sql, 0, NULL, &res))
		return false;
	for (int i = 0; i < PQnfields(res); i++)
		if (strcmp(PQgetvalue(res, 0, i), "0") != 0)
			sb_appendf(&bad, "%s%s %s", bad.len ? "; " : "", PQgetvalue(res, 0, i),
					   catalog_what[i]);
	PQclear(res);
	if (bad.len)
		add(r, "catalog", CHECK_STATUS_FAIL, "%s", sb_str(&bad));
	else
		add(r, "catalog", CHECK_STATUS_OK, "relations, columns, indexes, constraints, types "
			"and defaults all consistent");
	sb_reset(&bad);
	if (!pg_query(conn, "list invalid indexes", invalid_sql, 0, NULL, &res))
	{
		sb_free(&bad);
		return false;
	}
	list_values(res, &bad);
	if (PQntuples(res) > 0)
		add(r, "invalid indexes", CHECK_STATUS_WARN, "%d invalid (a failed CREATE INDEX "
			"CONCURRENTLY?): %s; REINDEX or drop them", PQntuples(res), sb_str(&bad));
	else
		add(r, "invalid indexes", CHECK_STATUS_OK, "none");
	PQclear(res);
	sb_free(&bad);
	return true;
}

/* ---- probes under savepoints ------------------------------------------------ */

/* Run one statement under a savepoint; false when the database refused it
 * (the transaction is usable again), with its message in error. out (may
 * be NULL) receives a result with rows. */
static bool
probe(PGconn *conn, const char *sql, int nparams, const char *const *params,
	  PGresult **out, StrBuf *error)
{
	pg_exec(conn, "set a savepoint", "SAVEPOINT pgfold_probe");
	if (pg_try(conn, sql, nparams, params, out, error))
	{
		pg_exec(conn, "release the savepoint", "RELEASE SAVEPOINT pgfold_probe");
		return true;
	}
	pg_exec(conn, "roll back to the savepoint", "ROLLBACK TO SAVEPOINT pgfold_probe");
	return false;
}

/* The schema amcheck's functions live in, creating it (rolled back with
 * the whole check) when it is available but not installed. "" = none. */
static bool
amcheck_schema(PGconn *conn, SanityReport *r, StrBuf *schema)
{
	StrBuf v = STRBUF_INIT, err = STRBUF_INIT;
	bool isnull = false, ok = true;

	if (!pg_query_scalar(conn, "look for amcheck",
						 "SELECT (SELECT n.nspname FROM pg_catalog.pg_extension e JOIN "
						 "pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE "
						 "e.extname = 'amcheck')", 0, NULL, &v, &isnull))
		ok = false;
	else if (!isnull)
		sb_appends(schema, sb_str(&v));
	else if (!pg_query_scalar(conn, "look for amcheck", "SELECT EXISTS (SELECT 1 FROM "
							  "pg_catalog.pg_available_extensions WHERE name = 'amcheck')",
							  0, NULL, &v, NULL))
		ok = false;
	else if (strcmp(sb_str(&v), "t") != 0)
		add(r, "btree indexes", CHECK_STATUS_SKIPPED, "amcheck is not available on this "
			"server (package postgresql-contrib)");
	else if (!probe(conn, "CREATE SCHEMA " AMCHECK_SCHEMA, 0, NULL, NULL, &err)
			 || !probe(conn, "CREATE EXTENSION amcheck SCHEMA " AMCHECK_SCHEMA, 0, NULL, NULL,
					   &err))
		add(r, "btree indexes", CHECK_STATUS_SKIPPED, "amcheck could not be loaded: %s",
			sb_str(&err));
	else
		sb_appends(schema, AMCHECK_SCHEMA);
	sb_free(&v);
	sb_free(&err);
	return ok;
}

static const char btree_sql[] =
	"SELECT c.oid::text, pg_catalog.format('%I.%I', n.nspname, c.relname) "
	"FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"JOIN pg_catalog.pg_am a ON a.oid = c.relam "
	"WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't' "
	"ORDER BY 2";

static bool
check_indexes(PGconn *conn, bool deep, SanityReport *r)
{
	StrBuf schema = STRBUF_INIT, sql = STRBUF_INIT, err = STRBUF_INIT, bad = STRBUF_INIT;
	PGresult *list = NULL, *res = NULL;
	size_t failed = 0;
	bool ok = amcheck_schema(conn, r, &schema);

	if (!ok || schema.len == 0)
		goto out;
	r->amcheck = true;
	sb_appends(&sql, "SELECT ");
	ok = pg_quote_ident(conn, sb_str(&schema), &sql)
		&& sb_appendf(&sql, ".bt_index_check($1::oid::regclass, %s)", deep ? "true" : "false")
		&& pg_query(conn, "list the btree indexes", btree_sql, 0, NULL, &list);
	for (int i = 0; ok && i < PQntuples(list); i++)
	{
		const char *params[1] = { PQgetvalue(list, i, 0) };

		if (probe(conn, sb_str(&sql), 1, params, &res, &err))
			PQclear(res);
		else if (failed++ < MAX_LISTED)
			sb_appendf(&bad, "%s%s: %s", bad.len ? "; " : "", PQgetvalue(list, i, 1), sb_str(&err));
		r->indexes_checked++;
	}
	if (ok && failed)
		add(r, "btree indexes", CHECK_STATUS_FAIL, "%zu of %zu corrupt: %s (REINDEX them)",
			failed, r->indexes_checked, sb_str(&bad));
	else if (ok)
		add(r, "btree indexes", CHECK_STATUS_OK, "%zu checked with amcheck%s",
			r->indexes_checked, deep ? " (heapallindexed)" : "");
out:
	if (list != NULL)
		PQclear(list);
	sb_free(&schema);
	sb_free(&sql);
	sb_free(&err);
	sb_free(&bad);
	return ok;
}

static const char tables_sql[] =
	"SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated)) "
	"AND c.relpersistence <> 't' AND n.nspname <> 'information_schema' "
	"AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1, 2";

/* Every heap page (seq scan forced), every value with deep. */
static bool
check_tables(PGconn *conn, bool deep, SanityReport *r)
{
	PGresult *list = NULL, *res = NULL;
	StrBuf sql = STRBUF_INIT, err = STRBUF_INIT, bad = STRBUF_INIT;
	size_t failed = 0;
	bool ok = pg_exec(conn, "force sequential scans", "SET LOCAL enable_indexscan = off")
		&& pg_exec(conn, "force sequential scans", "SET LOCAL enable_indexonlyscan = off")
		&& pg_exec(conn, "force sequential scans", "SET LOCAL enable_bitmapscan = off")
		&& pg_query(conn, "list the tables", tables_sql, 0, NULL, &list);

	for (int i = 0; ok && i < PQntuples(list); i++)
	{
		sb_reset(&sql);
		sb_appends(&sql, deep ? "SELECT count(*), coalesce(sum(length(r::text)), 0) FROM ONLY "
				   : "SELECT count(*) FROM ONLY ");
		ok = pg_quote_ident(conn, PQgetvalue(list, i, 0), &sql) && sb_appendc(&sql, '.')
			&& pg_quote_ident(conn, PQgetvalue(list, i, 1), &sql) && sb_appends(&sql, " r");
		if (ok && probe(conn, sb_str(&sql), 0, NULL, &res, &err))
		{
			r->rows += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			PQclear(res);
		}
		else if (ok && failed++ < MAX_LISTED)
			sb_appendf(&bad, "%s%s.%s: %s", bad.len ? "; " : "", PQgetvalue(list, i, 0),
					   PQgetvalue(list, i, 1), sb_str(&err));
		r->tables_read++;
	}
	if (ok && failed)
		add(r, "tables readable", CHECK_STATUS_FAIL, "%zu of %zu cannot be read: %s", failed,
			r->tables_read, sb_str(&bad));
	else if (ok)
		add(r, "tables readable", CHECK_STATUS_OK, "%zu tables (catalogs included), %lld rows "
			"read%s", r->tables_read, r->rows, deep ? ", every value detoasted" : "");
	PQclear(list);
	sb_free(&sql);
	sb_free(&err);
	sb_free(&bad);
	return ok;
}

bool
instance_db_sanity(PGconn *conn, bool deep, SanityReport *out)
{
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!pg_exec(conn, "start the check", "BEGIN"))
		return false;
	ok = check_catalog(conn, out) && check_indexes(conn, deep, out) && check_tables(conn, deep, out);
	/* undoes a CREATE EXTENSION amcheck of ours, and anything else */
	pg_exec(conn, "end the check", "ROLLBACK");
	return ok;
}

void
instance_sanity_free(SanityReport *report)
{
	for (size_t i = 0; i < report->count; i++)
	{
		free(report->checks[i].name);
		free(report->checks[i].detail);
	}
	free(report->checks);
	memset(report, 0, sizeof(*report));
}

json_t *
instance_sanity_json(const SanityReport *report)
{
	json_t *checks = json_array();

	for (size_t i = 0; i < report->count; i++)
		json_array_append_new(checks, json_pack("{s:s, s:s, s:s}", "name", report->checks[i].name,
												"status",
												instance_check_status_name(report->checks[i].status),
												"detail", report->checks[i].detail));
	return json_pack("{s:b, s:b, s:I, s:I, s:I, s:o}", "ok", report->failures == 0,
					 "amcheck", report->amcheck,
					 "indexes_checked", (json_int_t) report->indexes_checked,
					 "tables_read", (json_int_t) report->tables_read,
					 "rows", (json_int_t) report->rows, "checks", checks);
}

json_t *
instance_verify_diffs_json(const VerifyReport *report)
{
	static const char *const kinds[] = { "missing", "extra", "value" };
	json_t *diffs = json_array();

	for (size_t i = 0; i < report->diff_count; i++)
	{
		const VerifyDiff *d = &report->diffs[i];
		const InventoryItem *it = d->source ? d->source : d->target;

		json_array_append_new(diffs, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}",
											   "difference", kinds[d->kind], "item", it->kind,
											   "schema", it->schema, "name", it->name,
											   "source", d->source ? d->source->value : NULL,
											   "target", d->target ? d->target->value : NULL));
	}
	return diffs;
}
