/*
 * verify_run.c — run the inventory query on both sides and compare: the
 * source through psql inside its container, the target through libpq.
 */
#include "pgfold/migrate.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/verify.h"

bool
migration_container_inventory(App *app, const char *container, const char *user,
							  const char *db, bool deep, Inventory *inv)
{
	PgRows rows = PGROWS_INIT;

	if (!pgx_query_rows(app->docker, container, user, db, verify_inventory_sql(deep),
						NULL, 4, &rows))
		return false;
	for (size_t r = 0; r < rows.nrows; r++)
		inventory_add(inv, pg_rows_get(&rows, r, 0), pg_rows_get(&rows, r, 1),
					  pg_rows_get(&rows, r, 2), pg_rows_get(&rows, r, 3));
	pg_rows_free(&rows);
	inventory_sort(inv);
	return true;
}

bool
migration_shared_inventory(App *app, const char *db, bool deep, Inventory *inv)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;

	if (!pg_connect_shared(&app->cfg, db, &conn))
		return false;
	if (!pg_query(conn, "take the inventory", verify_inventory_sql(deep), 0, NULL, &res))
	{
		pg_disconnect(conn);
		return false;
	}
	for (int r = 0; r < PQntuples(res); r++)
		inventory_add(inv, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
					  PQgetvalue(res, r, 2), PQgetvalue(res, r, 3));
	PQclear(res);
	pg_disconnect(conn);
	inventory_sort(inv);
	return true;
}

bool
migration_verify(App *app, const char *container, const char *user, const char *src_db,
				 const char *target_db, bool deep, VerifyReport *report,
				 Inventory *src, Inventory *dst)
{
	if (!migration_container_inventory(app, container, user, src_db, deep, src))
		return false;
	if (!migration_shared_inventory(app, target_db, deep, dst))
		return false;
	return verify_compare(src, dst, report);
}
