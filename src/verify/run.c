/*
 * run.c — run the inventory query on both sides and compare: the
 * source through psql inside its container, the target through libpq.
 */
#include "pgfold/verify.h"

#include "pgfold/dbprops.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

bool
verify_container_inventory(App *app, const char *container, const char *user,
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
verify_conn_inventory(PGconn *conn, bool deep, Inventory *inv)
{
	PGresult *res = NULL;

	if (!pg_query(conn, "take the inventory", verify_inventory_sql(deep), 0, NULL, &res))
		return false;
	add_result_rows(inv, res);
	PQclear(res);
	return true;
}

bool
verify_shared_inventory(App *app, const char *db, bool deep, Inventory *inv)
{
	PGconn *conn = NULL;
	bool ok;

	if (!pg_connect_shared(&app->cfg, db, &conn))
		return false;
	ok = verify_conn_inventory(conn, deep, inv);
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
/* The properties of both databases as inventory items: a locale, a
 * setting or a comment that did not arrive is a difference like a row. */
static bool
add_properties(App *app, const char *container, const char *user, const char *src_db,
			   const char *target_db, const char *target_role, Inventory *src, Inventory *dst)
{
	DbProps a = DBPROPS_INIT, b = DBPROPS_INIT;
	bool ok = dbprops_read_container(app->docker, container, user, src_db, &a)
		&& dbprops_read_shared(app, target_db, target_role, &b);

	size_t na = a.role_setting_count, nb = b.role_setting_count;

	if (ok && target_role == NULL)
	{
		/* no role to compare with: neither side's */
		a.role_setting_count = 0;
		b.role_setting_count = 0;
	}
	if (ok)
	{
		dbprops_inventory(&a, src);
		dbprops_inventory(&b, dst);
	}
	a.role_setting_count = na;
	b.role_setting_count = nb;
	dbprops_free(&a);
	dbprops_free(&b);
	return ok;
}

bool
verify_databases(App *app, const char *container, const char *user, const char *src_db,
				 const char *target_db, const char *target_role, bool deep,
				 VerifyReport *report, Inventory *src, Inventory *dst)
{
	PGconn *conn = NULL;
	bool ok;

	if (!pg_connect_shared(&app->cfg, target_db, &conn))
		return false;
	if (!pg_send(conn, "the inventory query", verify_inventory_sql(deep)))
	{
		pg_disconnect(conn);
		return false;
	}
	ok = verify_container_inventory(app, container, user, src_db, deep, src);
	if (!ok)
		PQrequestCancel(conn);
	ok = collect_inventory(conn, dst) && ok;
	pg_disconnect(conn);
	return ok && add_properties(app, container, user, src_db, target_db, target_role, src, dst)
		&& verify_compare(src, dst, report);
}
