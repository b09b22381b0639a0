/*
 * guard.c — the state tables of the schema-migration runners; see guard.h.
 *
 * A runner is known by its table's name (any schema, any case) and one of
 * its columns, so that Rails' or dbmate's schema_migrations (no "dirty")
 * is not taken for golang-migrate's. Each table is read through
 * query_to_xml(format('... FROM %I.%I')) so that one plain SELECT (psql on
 * the dedicated database, libpq on the restored copy) reads tables whose
 * names it learns as it runs; every row goes through to_jsonb with its keys
 * lower-cased, so a missing or upper-case column (Liquibase created with
 * quoted names, the demo's _prisma_migrations without rolled_back_at) reads
 * as NULL rather than failing. Labels travel hex-encoded (XML and psql's
 * separators never see their bytes).
 *
 * Rows: runner, table (schema-qualified, quoted), kind (the runner's table
 * name), state ('found' once per table, 'bad' for at most 5 rows that show
 * a half-done migration, 'last' for the last applied one), label (hex),
 * count (of the rows in that state), and the row's place (bad rows oldest
 * first).
 *
 * Alembic keeps no flag (alembic_version holds the revision only): it is
 * reported, never blocked; docs/MIGRATE.md says so.
 */
#include "pgfold/guard.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdlib.h>
#include <string.h>

static const char runners_sql[] =
	"WITH k(runner, tab, col, b, a, o, l) AS (VALUES\n"
	"  ('golang-migrate', 'schema_migrations', 'dirty', $$j->>'dirty' = 'true'$$, 'true',\n"
	"   $$pg_catalog.lpad(j->>'version', 20, '0')$$, $$'version ' || (j->>'version')$$),\n"
	"  ('Liquibase', 'databasechangeloglock', 'locked', $$j->>'locked' IN ('true', '1')$$, 'false',\n"
	"   $$j->>'id'$$,\n"
	"   $$'lock ' || coalesce(j->>'id', '?') || coalesce(', held by ' || (j->>'lockedby'), '') || coalesce(' since ' || (j->>'lockgranted'), '')$$),\n"
	"  ('Liquibase', 'databasechangelog', 'orderexecuted', 'false', 'true',\n"
	"   $$pg_catalog.lpad(j->>'orderexecuted', 20, '0')$$,\n"
	"   $$'changeset ' || coalesce(j->>'id', '?') || ' in ' || coalesce(j->>'filename', '?')$$),\n"
	"  ('Flyway', 'flyway_schema_history', 'success', $$j->>'success' = 'false'$$, $$j->>'success' = 'true'$$,\n"
	"   $$pg_catalog.lpad(j->>'installed_rank', 20, '0')$$,\n"
	"   $$'rank ' || coalesce(j->>'installed_rank', '?') || coalesce(', version ' || (j->>'version'), '') || coalesce(' (' || (j->>'description') || ')', '')$$),\n"
	"  ('Prisma', '_prisma_migrations', 'finished_at', $$j->>'finished_at' IS NULL AND j->>'rolled_back_at' IS NULL$$,\n"
	"   $$j->>'finished_at' IS NOT NULL AND j->>'rolled_back_at' IS NULL$$,\n"
	"   $$j->>'finished_at'$$, $$coalesce(j->>'migration_name', '?')$$),\n"
	"  ('Knex', 'knex_migrations_lock', 'is_locked', $$j->>'is_locked' IN ('1', 'true')$$, 'false',\n"
	"   $$j->>'index'$$, $$'is_locked = ' || coalesce(j->>'is_locked', '?')$$),\n"
	"  ('Knex', 'knex_migrations', 'batch', 'false', 'true',\n"
	"   $$pg_catalog.lpad(j->>'id', 20, '0')$$, $$coalesce(j->>'name', '?')$$),\n"
	"  ('sqlx', '_sqlx_migrations', 'success', $$j->>'success' = 'false'$$, $$j->>'success' = 'true'$$,\n"
	"   $$pg_catalog.lpad(j->>'version', 20, '0')$$,\n"
	"   $$'version ' || coalesce(j->>'version', '?') || coalesce(' (' || (j->>'description') || ')', '')$$),\n"
	"  ('Alembic', 'alembic_version', 'version_num', 'false', 'true',\n"
	"   $$j->>'version_num'$$, $$coalesce(j->>'version_num', '?')$$)),\n"
	"t AS (SELECT k.*, pg_catalog.format('%I.%I', n.nspname, c.relname) AS qual,\n"
	"    pg_catalog.format(\n"
	"    'SELECT CASE WHEN b THEN ''bad'' ELSE ''last'' END AS s, '\n"
	"    'pg_catalog.encode(pg_catalog.convert_to(l, pg_catalog.getdatabaseencoding()), ''hex'') AS l, '\n"
	"    'n AS c FROM (SELECT b, l, o, pg_catalog.count(*) OVER (PARTITION BY b) AS n, '\n"
	"    'pg_catalog.row_number() OVER (PARTITION BY b ORDER BY o DESC) AS r FROM ('\n"
	"    'SELECT coalesce(%s, false) AS b, coalesce(%s, false) AS a, coalesce(%s, '''') AS o, '\n"
	"    'coalesce(%s, ''?'') AS l FROM (SELECT (SELECT pg_catalog.jsonb_object_agg('\n"
	"    'pg_catalog.lower(e.key), e.value) FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(x)) e) '\n"
	"    'AS j FROM %I.%I x) y) z WHERE b OR a) w WHERE r <= CASE WHEN b THEN 5 ELSE 1 END ORDER BY o',\n"
	"    k.b, k.a, k.o, k.l, n.nspname, c.relname) AS q\n"
	"  FROM pg_catalog.pg_class c\n"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"  JOIN k ON pg_catalog.lower(c.relname) = k.tab\n"
	"  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"    AND n.nspname !~ '^pg_(toast|temp_)'\n"
	"    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute at WHERE at.attrelid = c.oid\n"
	"                AND at.attnum > 0 AND NOT at.attisdropped AND pg_catalog.lower(at.attname) = k.col))\n"
	"SELECT t.runner, t.qual, t.tab, 'found', '', '0', 0::bigint FROM t\n"
	"UNION ALL\n"
	"SELECT t.runner, t.qual, t.tab, (pg_catalog.xpath('/row/s/text()', r))[1]::text,\n"
	"  (pg_catalog.xpath('/row/l/text()', r))[1]::text, (pg_catalog.xpath('/row/c/text()', r))[1]::text,\n"
	"  x.i\n"
	"FROM t, LATERAL pg_catalog.unnest(pg_catalog.xpath('/table/row',\n"
	"  pg_catalog.query_to_xml(t.q, false, false, ''))) WITH ORDINALITY AS x(r, i)\n"
	"ORDER BY 1, 2, 4, 7\n"
	;

/* What the bad rows mean and what the operator does about them. */
static const struct
{
	const char *kind;
	const char *condition;
	const char *todo;
} runner_texts[] = {
	{ "schema_migrations", "dirty = true",
	  "a golang-migrate migration stopped half-way at that version: finish or undo it by hand, "
	  "then clear the flag with `migrate force <version>`" },
	{ "databasechangeloglock", "locked = true",
	  "a Liquibase update holds the lock or died holding it: let it finish, or run "
	  "`liquibase release-locks` when none runs" },
	{ "flyway_schema_history", "success = false",
	  "that Flyway migration failed: fix it, run `flyway repair`, and let the app migrate" },
	{ "_prisma_migrations", "finished_at IS NULL AND rolled_back_at IS NULL",
	  "that Prisma migration is running or failed half-way: let it finish, or fix it and run "
	  "`prisma migrate resolve --rolled-back <name>` (or --applied)" },
	{ "knex_migrations_lock", "is_locked = 1",
	  "a Knex migration holds the lock or died holding it: let it finish, or run "
	  "`knex migrate:unlock` when none runs" },
	{ "_sqlx_migrations", "success = false",
	  "that sqlx migration failed part-way: fix the schema by hand and delete its row, then let "
	  "the app migrate" },
};

const char *
guard_runners_sql(void)
{
	return runners_sql;
}

/* The label's bytes (hex from the server); "?" when it is not hex. */
static char *
unhex(const char *hex)
{
	size_t n = strlen(hex);
	char *out;

	if (n % 2 != 0)
		return xstrdup("?");
	out = xcalloc(n / 2 + 1, 1);
	for (size_t i = 0; i < n / 2; i++)
	{
		int hi = str_hexval(hex[2 * i]), lo = str_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			free(out);
			return xstrdup("?");
		}
		out[i] = (char) (hi * 16 + lo);
	}
	return out;
}

static RunnerTable *
table_for(RunnerStates *s, const char *runner, const char *table, const char *kind)
{
	if (s->count > 0 && strcmp(s->tables[s->count - 1].table, table) == 0
		&& strcmp(s->tables[s->count - 1].runner, runner) == 0)
		return &s->tables[s->count - 1];
	s->tables = xrealloc(s->tables, s->count + 1, sizeof(RunnerTable));
	memset(&s->tables[s->count], 0, sizeof(RunnerTable));
	s->tables[s->count].runner = xstrdup(runner);
	s->tables[s->count].table = xstrdup(table);
	s->tables[s->count].bare = xstrdup(kind);
	return &s->tables[s->count++];
}

static void
add_row(RunnerStates *s, const char *runner, const char *table, const char *kind,
		const char *state, const char *label, const char *count)
{
	RunnerTable *t;
	long n = 0;

	if (runner == NULL || table == NULL || kind == NULL || state == NULL)
		return;
	t = table_for(s, runner, table, kind);
	str_to_long(count ? count : "0", 0, __LONG_MAX__, &n);
	if (strcmp(state, "bad") == 0)
	{
		t->bad = xrealloc(t->bad, t->bad_count + 1, sizeof(char *));
		t->bad[t->bad_count++] = unhex(label ? label : "");
		t->bad_total = n;
	}
	else if (strcmp(state, "last") == 0 && t->last == NULL)
	{
		t->last = unhex(label ? label : "");
		t->applied = n;
	}
}

bool
guard_runners_source(DockerClient *docker, const char *container, const char *user,
					 const char *db, RunnerStates *out)
{
	PgRows rows = PGROWS_INIT;
	StrBuf sql = STRBUF_INIT;
	bool ok;

	memset(out, 0, sizeof(*out));
	sb_appendf(&sql, "%s;\n", runners_sql);
	ok = pgx_query_rows(docker, container, user, db, sb_str(&sql), NULL, 7, &rows);
	for (size_t r = 0; ok && r < rows.nrows; r++)
		add_row(out, pg_rows_get(&rows, r, 0), pg_rows_get(&rows, r, 1),
				pg_rows_get(&rows, r, 2), pg_rows_get(&rows, r, 3), pg_rows_get(&rows, r, 4),
				pg_rows_get(&rows, r, 5));
	pg_rows_free(&rows);
	sb_free(&sql);
	return ok;
}

bool
guard_runners_conn(PGconn *conn, RunnerStates *out)
{
	PGresult *res = NULL;

	memset(out, 0, sizeof(*out));
	if (!pg_query(conn, "read the migration runners' state tables", runners_sql, 0, NULL, &res))
		return false;
	for (int r = 0; r < PQntuples(res); r++)
		add_row(out, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
				PQgetvalue(res, r, 3), PQgetvalue(res, r, 4), PQgetvalue(res, r, 5));
	PQclear(res);
	return true;
}

void
guard_runners_free(RunnerStates *s)
{
	for (size_t i = 0; i < s->count; i++)
	{
		RunnerTable *t = &s->tables[i];

		free(t->runner);
		free(t->table);
		free(t->bare);
		free(t->last);
		for (size_t j = 0; j < t->bad_count; j++)
			free(t->bad[j]);
		free(t->bad);
	}
	free(s->tables);
	memset(s, 0, sizeof(*s));
}

/* Names and labels come from the database: control bytes are shown as
 * \xNN (plan prints check details as they are). */
void
guard_append_clean(StrBuf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			sb_appendf(out, "\\x%02x", *p);
		else
			sb_appendc(out, (char) *p);
	}
}

void
guard_runner_reason(const RunnerTable *t, StrBuf *out)
{
	const char *condition = "a half-done migration", *todo = "finish or undo it";

	for (size_t i = 0; i < sizeof(runner_texts) / sizeof(runner_texts[0]); i++)
		if (strcmp(runner_texts[i].kind, t->bare) == 0)
		{
			condition = runner_texts[i].condition;
			todo = runner_texts[i].todo;
		}
	sb_appendf(out, "%s state table ", t->runner);
	guard_append_clean(out, t->table);
	sb_appends(out, ": ");
	for (size_t i = 0; i < t->bad_count; i++)
	{
		sb_appends(out, i ? ", \"" : "\"");
		guard_append_clean(out, t->bad[i]);
		sb_appendc(out, '"');
	}
	if (t->bad_total > (long) t->bad_count)
		sb_appendf(out, " and %ld more", t->bad_total - (long) t->bad_count);
	sb_appendf(out, " %s %s: %s", t->bad_total > 1 ? "have" : "has", condition, todo);
}

void
guard_runner_version(const RunnerTable *t, StrBuf *out)
{
	sb_appendf(out, "%s ", t->runner);
	guard_append_clean(out, t->table);
	sb_appends(out, ": ");
	if (t->last != NULL)
	{
		sb_appends(out, "last applied \"");
		guard_append_clean(out, t->last);
		sb_appendf(out, "\" (%ld applied)", t->applied);
	}
	else if (strcmp(t->bare, "databasechangeloglock") == 0
			 || strcmp(t->bare, "knex_migrations_lock") == 0)
		sb_appends(out, t->bad_count ? "locked" : "not locked");
	else
		sb_appends(out, t->bad_count ? "nothing applied cleanly" : "nothing applied");
}
