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

static void
add_result_rows(Inventory *inv, const PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++)
		inventory_add(inv, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
					  PQgetvalue(res, r, 2), PQgetvalue(res, r, 3));
	inventory_sort(inv);
}

bool
migration_conn_inventory(PGconn *conn, bool deep, Inventory *inv)
{
	PGresult *res = NULL;

	if (!pg_query(conn, "take the inventory", verify_inventory_sql(deep), 0, NULL, &res))
		return false;
	add_result_rows(inv, res);
	PQclear(res);
	return true;
}

bool
migration_shared_inventory(App *app, const char *db, bool deep, Inventory *inv)
{
	PGconn *conn = NULL;
	bool ok;

	if (!pg_connect_shared(&app->cfg, db, &conn))
		return false;
	ok = migration_conn_inventory(conn, deep, inv);
	pg_disconnect(conn);
	return ok;
}

/* The one result of a query sent with PQsendQuery, checked. */
static bool
collect_inventory(PGconn *conn, Inventory *inv)
{
	PGresult *res, *last = NULL;
	bool ok = true;

	while ((res = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			pg_log_result_error(conn, "take the inventory", res);
			ok = false;
		}
		PQclear(last);
		last = res;
	}
	if (ok && last != NULL)
		add_result_rows(inv, last);
	PQclear(last);
	return ok && last != NULL;
}

/*
 * Both inventories at once: the shared side's query is sent without
 * waiting (the server counts rows there) while the source's runs in its
 * container; on a large database this halves the verification's time.
 */
bool
migration_verify(App *app, const char *container, const char *user, const char *src_db,
				 const char *target_db, bool deep, VerifyReport *report,
				 Inventory *src, Inventory *dst)
{
	PGconn *conn = NULL;
	bool ok;

	if (!pg_connect_shared(&app->cfg, target_db, &conn))
		return false;
	if (!PQsendQuery(conn, verify_inventory_sql(deep)))
	{
		log_error("cannot send the inventory query to \"%s\": %s", target_db,
				  PQerrorMessage(conn));
		pg_disconnect(conn);
		return false;
	}
	ok = migration_container_inventory(app, container, user, src_db, deep, src);
	if (!ok)
		PQrequestCancel(conn);
	ok = collect_inventory(conn, dst) && ok;
	pg_disconnect(conn);
	return ok && verify_compare(src, dst, report);
}
