/*
 * state.c — public.pgfold_schema_migrations, the history of every schema
 * change pgfold made to a database: one row per event (up, down, force,
 * baseline), successful or not. A version's state is the `applied` of its
 * newest successful row; a failed row keeps the error and the statement.
 */
#include "pgfold/schema.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QT "public." SCHEMA_TABLE

static const char create_sql[] =
	"CREATE TABLE IF NOT EXISTS " QT " ("
	"id bigserial PRIMARY KEY, "
	"version text NOT NULL, "
	"name text NOT NULL, "
	"kind text NOT NULL CHECK (kind IN ('up', 'down', 'force', 'baseline')), "
	"applied boolean NOT NULL, "
	"checksum text, "
	"applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(), "
	"duration_ms bigint, "
	"applied_by text NOT NULL, "
	"success boolean NOT NULL, "
	"error text, "
	"failing_statement text, "
	"note text)";

bool
schema_state_ensure(PGconn *conn)
{
	return pg_exec(conn, "create the table " QT, create_sql);
}

static bool
table_exists(PGconn *conn, bool *exists)
{
	StrBuf v = STRBUF_INIT;
	bool isnull = false, ok;

	ok = pg_query_scalar(conn, "look for " QT,
						 "SELECT pg_catalog.to_regclass('" QT "')::text", 0, NULL, &v, &isnull);
	*exists = ok && !isnull;
	sb_free(&v);
	return ok;
}

static char *
dup_or_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

bool
schema_state_load(PGconn *conn, SchemaState *out)
{
	PGresult *r = NULL;
	int n;

	memset(out, 0, sizeof(*out));
	if (!table_exists(conn, &out->table_exists))
		return false;
	if (!out->table_exists)
		return true;
	if (!pg_query(conn, "read " QT,
				  "SELECT DISTINCT ON (version) version, name, coalesce(checksum, ''), "
				  "applied_at::text, applied_by, kind, coalesce(duration_ms, 0)::text, "
				  "applied::text FROM " QT " WHERE success ORDER BY version, id DESC",
				  0, NULL, &r))
		return false;
	n = PQntuples(r);
	out->items = xcalloc((size_t) n + 1, sizeof(SchemaApplied));
	for (int i = 0; i < n; i++)
	{
		SchemaApplied *a = &out->items[out->count];
		long ms = 0;

		if (!str_copy(a->version, sizeof(a->version), PQgetvalue(r, i, 0)))
			continue;
		a->name = xstrdup(PQgetvalue(r, i, 1));
		a->checksum = xstrdup(PQgetvalue(r, i, 2));
		a->applied_at = xstrdup(PQgetvalue(r, i, 3));
		a->applied_by = xstrdup(PQgetvalue(r, i, 4));
		a->kind = xstrdup(PQgetvalue(r, i, 5));
		str_to_long(PQgetvalue(r, i, 6), 0, __LONG_MAX__, &ms);
		a->duration_ms = ms;
		a->applied = strcmp(PQgetvalue(r, i, 7), "true") == 0;
		out->count++;
	}
	PQclear(r);
	/* text order of DISTINCT ON is not version order: sort numerically */
	for (size_t i = 1; i < out->count; i++)
		for (size_t j = i; j > 0 && schema_version_cmp(out->items[j - 1].version,
													   out->items[j].version) > 0; j--)
		{
			SchemaApplied t = out->items[j];

			out->items[j] = out->items[j - 1];
			out->items[j - 1] = t;
		}
	if (!pg_query(conn, "read the last failure in " QT,
				  "SELECT f.version, f.name, f.applied_at::text, coalesce(f.error, ''), "
				  "coalesce(f.failing_statement, ''), coalesce(f.note LIKE 'no transaction%', false)::text "
				  "FROM " QT " f WHERE NOT f.success AND "
				  "NOT EXISTS (SELECT 1 FROM " QT " s WHERE s.success AND s.id > f.id) "
				  "ORDER BY f.id DESC LIMIT 1", 0, NULL, &r))
		return false;
	if (PQntuples(r) == 1 && str_copy(out->failure.version, sizeof(out->failure.version),
									  PQgetvalue(r, 0, 0)))
	{
		out->failure.present = true;
		out->failure.name = dup_or_null(r, 0, 1);
		out->failure.at = dup_or_null(r, 0, 2);
		out->failure.error = dup_or_null(r, 0, 3);
		out->failure.statement = dup_or_null(r, 0, 4);
		out->failure.half_done = strcmp(PQgetvalue(r, 0, 5), "true") == 0;
	}
	PQclear(r);
	return true;
}

void
schema_state_free(SchemaState *s)
{
	for (size_t i = 0; i < s->count; i++)
	{
		free(s->items[i].name);
		free(s->items[i].checksum);
		free(s->items[i].applied_at);
		free(s->items[i].applied_by);
		free(s->items[i].kind);
	}
	free(s->items);
	free(s->failure.name);
	free(s->failure.at);
	free(s->failure.error);
	free(s->failure.statement);
	memset(s, 0, sizeof(*s));
}

const SchemaApplied *
schema_state_applied(const SchemaState *s, const char *version)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->items[i].applied && schema_version_cmp(s->items[i].version, version) == 0)
			return &s->items[i];
	return NULL;
}

const char *
schema_state_current(const SchemaState *s)
{
	for (size_t i = s->count; i-- > 0;)
		if (s->items[i].applied)
			return s->items[i].version;
	return "";
}

void
schema_operator(char *out, size_t size)
{
	const char *user = getenv("SUDO_USER");
	char host[256] = "";

	if (user == NULL || user[0] == '\0')
		user = getenv("USER");
	if (user == NULL || user[0] == '\0')
		user = "unknown";
	if (gethostname(host, sizeof(host) - 1) != 0)
		str_copy(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (!str_format(out, size, "%s@%s", user, host))
		out[0] = '\0';
}

bool
schema_state_insert(PGconn *conn, const SchemaRow *row)
{
	char by[320], ms[32];
	PGresult *r = NULL;
	const char *params[11];

	schema_operator(by, sizeof(by));
	str_format(ms, sizeof(ms), "%ld", row->duration_ms);
	params[0] = row->version;
	params[1] = row->name;
	params[2] = row->kind;
	params[3] = row->applied ? "true" : "false";
	params[4] = row->checksum;
	params[5] = ms;
	params[6] = by;
	params[7] = row->success ? "true" : "false";
	params[8] = row->error;
	params[9] = row->statement;
	params[10] = row->note;
	if (!pg_query(conn, "record the migration in " QT,
				  "INSERT INTO " QT " (version, name, kind, applied, checksum, duration_ms, "
				  "applied_by, success, error, failing_statement, note) VALUES ($1, $2, $3, "
				  "$4::boolean, $5, $6::bigint, $7, $8::boolean, $9, $10, $11)",
				  11, params, &r))
		return false;
	PQclear(r);
	return true;
}
