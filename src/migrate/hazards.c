/*
 * hazards.c — what pgfold will not restore as the shared instance's admin;
 * see preflight.h (DumpHazards) and hazards.h (the query).
 *
 * The restore runs as the admin (sql.c says why), so anything in the dump
 * that runs code then, or later when the admin works in the database, runs
 * it as a superuser of the instance that holds every other service's data:
 * the app's POSTGRES_USER is superuser of its dedicated cluster and can
 * plant such objects there.
 */
#include "pgfold/preflight.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include "hazards.h"

#include <stdlib.h>
#include <string.h>

void
preflight_hazard_add(DumpHazards *h, const char *kind, const char *name, const char *detail)
{
	StrBuf line = STRBUF_INIT, n = STRBUF_INIT, d = STRBUF_INIT;

	pg_display(&n, name);
	pg_display(&d, detail);
	if (strcmp(kind, "event trigger") == 0)
		sb_appendf(&line, "event trigger %s (on %s) would run as the shared instance's admin: "
				   "drop it in the dedicated database", sb_str(&n), sb_str(&d));
	else if (strcmp(kind, "language") == 0)
		sb_appendf(&line, "function %s in language %s (not sandboxed) would be created by the "
				   "shared instance's admin and run outside any sandbox: drop it in the "
				   "dedicated database", sb_str(&n), sb_str(&d));
	else if (strcmp(kind, "called") == 0)
		sb_appendf(&line, "function %s would run as the shared instance's admin while the "
				   "restore loads or builds %s: drop that (or the function) in the dedicated "
				   "database", sb_str(&n), sb_str(&d));
	else
		sb_appendf(&line, "subscription %s would be created by the shared instance's admin: "
				   "drop it in the dedicated database", sb_str(&n));
	h->lines = xrealloc(h->lines, h->count + 1, sizeof(char *));
	h->lines[h->count++] = sb_steal(&line);
	sb_free(&n);
	sb_free(&d);
}

static void
add_rows(DumpHazards *out, const PgRows *rows)
{
	for (size_t r = 0; r < rows->nrows; r++)
		preflight_hazard_add(out, pg_rows_get(rows, r, 1), pg_rows_get(rows, r, 2),
							 pg_rows_get(rows, r, 3));
}

bool
preflight_source_hazards(DockerClient *docker, const char *container, const char *user,
						 const char *db, DumpHazards *out)
{
	PgRows rows = PGROWS_INIT;

	memset(out, 0, sizeof(*out));
	if (!pgx_query_rows(docker, container, user, db, HAZARDS_SQL ";\n", NULL, 4, &rows))
		return false;
	add_rows(out, &rows);
	pg_rows_free(&rows);
	return true;
}

bool
preflight_restored_hazards(PGconn *conn, DumpHazards *out)
{
	PGresult *res = NULL;

	memset(out, 0, sizeof(*out));
	if (!pg_query(conn, "list what the restore brought that pgfold refuses", HAZARDS_SQL, 0,
				  NULL, &res))
		return false;
	for (int r = 0; r < PQntuples(res); r++)
		preflight_hazard_add(out, PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
							 PQgetvalue(res, r, 3));
	PQclear(res);
	return true;
}

bool
preflight_hazards_none(const DumpHazards *h, const char *in, const char *then)
{
	StrBuf list = STRBUF_INIT;

	if (h->count == 0)
		return true;
	for (size_t i = 0; i < h->count && i < DUMP_HAZARDS_SHOWN; i++)
		sb_appendf(&list, "%s%s", i ? "; " : "", h->lines[i]);
	if (h->count > DUMP_HAZARDS_SHOWN)
		sb_appendf(&list, "; and %zu more", h->count - DUMP_HAZARDS_SHOWN);
	log_error("%s holds what pgfold will not restore as the shared instance's admin: %s; "
			  "then re-run. %s", in, sb_str(&list), then);
	sb_free(&list);
	exit_hint_set(EXIT_BLOCKED);
	return false;
}

void
preflight_hazards_free(DumpHazards *h)
{
	for (size_t i = 0; i < h->count; i++)
		free(h->lines[i]);
	free(h->lines);
	memset(h, 0, sizeof(*h));
}
