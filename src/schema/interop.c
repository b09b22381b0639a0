/*
 * interop.c — where other migration runners left a database, read only,
 * for `schema status`: the migrate module's reader of their state tables
 * (guard.h: golang-migrate, Flyway, Liquibase, Prisma, Knex, sqlx, Alembic;
 * known by table name and a column, every name quoted by the server) turned
 * into status's JSON.
 */
#include "pgfold/schema.h"

#include "pgfold/guard.h"

bool
schema_interop_read(PGconn *conn, json_t **out)
{
	RunnerStates rs;
	StrBuf text = STRBUF_INIT;

	*out = NULL;
	if (!guard_runners_conn(conn, &rs))
		return false;
	*out = json_array();
	for (size_t i = 0; i < rs.count; i++)
	{
		const RunnerTable *t = &rs.tables[i];
		json_t *o = json_pack("{s:s, s:s, s:I, s:s?, s:b}", "tool", t->runner, "table", t->table,
							  "applied", (json_int_t) t->applied, "latest", t->last,
							  "failed_or_dirty", t->bad_count > 0);

		sb_reset(&text);
		guard_runner_version(t, &text);
		json_object_set_new(o, "summary", json_string(sb_str(&text)));
		if (t->bad_count > 0)
		{
			sb_reset(&text);
			guard_runner_reason(t, &text);
			json_object_set_new(o, "problem", json_string(sb_str(&text)));
		}
		json_array_append_new(*out, o);
	}
	sb_free(&text);
	guard_runners_free(&rs);
	return true;
}
