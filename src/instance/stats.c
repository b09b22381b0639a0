/*
 * stats.c — `db stats`: size, schemas and every table's rows and sizes.
 *
 * Tables come from the catalog of every user schema (so _prisma_migrations,
 * __EFMigrationsHistory and names with dashes or quotes are all there);
 * each count(*) is built with libpq-quoted identifiers.
 */
#include "pgfold/instance.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdlib.h>
#include <string.h>

#define USER_SCHEMA_FILTER \
	"n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') " \
	"AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'"

/* Extension members (postgis' spatial_ref_sys...) are the extension's. */
static const char tables_sql[] =
	"SELECT n.nspname, c.relname, c.relkind, c.reltuples::bigint, "
	"pg_catalog.pg_table_size(c.oid), pg_catalog.pg_indexes_size(c.oid), "
	"pg_catalog.pg_total_relation_size(c.oid) "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE (c.relkind IN ('r', 'p') OR (c.relkind = 'm' AND c.relispopulated)) AND "
	USER_SCHEMA_FILTER " "
	"ORDER BY n.nspname, c.relname";

static const char schemas_sql[] =
	"SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE " USER_SCHEMA_FILTER
	" ORDER BY n.nspname";

bool
instance_count_rows(PGconn *conn, const char *schema, const char *name, bool only,
					long long *rows)
{
	StrBuf sql = STRBUF_INIT, v = STRBUF_INIT, s = STRBUF_INIT;
	bool ok;

	sb_appends(&sql, only ? "SELECT count(*) FROM ONLY " : "SELECT count(*) FROM ");
	ok = pg_quote_ident(conn, schema, &sql) && sb_appendc(&sql, '.')
		&& pg_quote_ident(conn, name, &sql);
	if (ok)
	{
		sb_appends(&s, "count the rows of ");
		pg_display(&s, schema);
		sb_appendc(&s, '.');
		pg_display(&s, name);
		ok = pg_query_scalar(conn, sb_str(&s), sb_str(&sql), 0, NULL, &v, NULL);
	}
	if (ok)
		*rows = strtoll(sb_str(&v), NULL, 10);
	sb_free(&sql);
	sb_free(&v);
	sb_free(&s);
	return ok;
}

bool
instance_db_stats(PGconn *conn, bool estimate, DbStats *out)
{
	PGresult *res = NULL;
	StrBuf size = STRBUF_INIT;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if (!pg_query_scalar(conn, "measure the database",
						 "SELECT pg_catalog.pg_database_size(pg_catalog.current_database())",
						 0, NULL, &size, NULL))
		return false;
	out->size_bytes = strtoll(sb_str(&size), NULL, 10);
	sb_free(&size);

	if (!pg_query(conn, "list the schemas", schemas_sql, 0, NULL, &res))
		return false;
	out->schema_count = (size_t) PQntuples(res);
	out->schemas = xcalloc(out->schema_count + 1, sizeof(char *));
	for (size_t i = 0; i < out->schema_count; i++)
		out->schemas[i] = xstrdup(PQgetvalue(res, (int) i, 0));
	PQclear(res);

	if (!pg_query(conn, "list the tables", tables_sql, 0, NULL, &res))
		return false;
	out->count = (size_t) PQntuples(res);
	out->tables = xcalloc(out->count + 1, sizeof(TableStat));
	for (size_t i = 0; ok && i < out->count; i++)
	{
		TableStat *t = &out->tables[i];
		int r = (int) i;
		long long est = strtoll(PQgetvalue(res, r, 3), NULL, 10);

		t->schema = xstrdup(PQgetvalue(res, r, 0));
		t->name = xstrdup(PQgetvalue(res, r, 1));
		t->kind = PQgetvalue(res, r, 2)[0];
		t->table_bytes = strtoll(PQgetvalue(res, r, 4), NULL, 10);
		t->index_bytes = strtoll(PQgetvalue(res, r, 5), NULL, 10);
		t->total_bytes = strtoll(PQgetvalue(res, r, 6), NULL, 10);
		/* a never-analysed table says -1 (or 0): count it */
		if (estimate && est >= STATS_ESTIMATE_MIN_ROWS)
			t->rows = est;
		else
		{
			t->exact = true;
			ok = instance_count_rows(conn, t->schema, t->name, false, &t->rows);
		}
	}
	PQclear(res);
	return ok;
}

void
instance_db_stats_free(DbStats *stats)
{
	for (size_t i = 0; i < stats->schema_count; i++)
		free(stats->schemas[i]);
	free(stats->schemas);
	for (size_t i = 0; i < stats->count; i++)
	{
		free(stats->tables[i].schema);
		free(stats->tables[i].name);
	}
	free(stats->tables);
	memset(stats, 0, sizeof(*stats));
}

static const char *
kind_name(char kind)
{
	return kind == 'p' ? "partitioned table" : kind == 'm' ? "materialized view" : "table";
}

json_t *
instance_db_stats_json(const char *db, const DbStats *stats)
{
	json_t *schemas = json_array(), *tables = json_array();
	long long rows = 0;

	for (size_t i = 0; i < stats->schema_count; i++)
		json_array_append_new(schemas, json_string(stats->schemas[i]));
	for (size_t i = 0; i < stats->count; i++)
	{
		const TableStat *t = &stats->tables[i];

		rows += t->kind == 'p' ? 0 : t->rows;
		json_array_append_new(tables, json_pack("{s:s, s:s, s:s, s:I, s:b, s:I, s:I, s:I}",
												"schema", t->schema, "name", t->name,
												"kind", kind_name(t->kind),
												"rows", (json_int_t) t->rows, "exact", t->exact,
												"table_bytes", (json_int_t) t->table_bytes,
												"index_bytes", (json_int_t) t->index_bytes,
												"total_bytes", (json_int_t) t->total_bytes));
	}
	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "database", db,
					 "size_bytes", (json_int_t) stats->size_bytes, "rows", (json_int_t) rows,
					 "schemas", schemas, "tables", tables);
}
