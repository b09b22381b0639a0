/*
 * test_props_lab.c — `db migrate-from` and `db restore` carry what belongs
 * to the database rather than to its rows (dbprops.h, issue 9): locale,
 * settings, comment, and (migrate-from --owner) the source role's settings
 * scoped to the new database.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "instance/ifix.h"
#include "pgfold/exitcodes.h"

IFX_SUITE(instance_props_lab);

static void
expect_value(const char *db, const char *sql, const char *want)
{
	char *v = ifx_value(&x, db, sql);

	cr_assert_str_eq(v, want, "%s in %s", sql, db ? db : "postgres");
	free(v);
}

#define LOCALE_SQL "SELECT datcollate || '/' || datctype FROM pg_database " \
	"WHERE datname = current_database()"
#define SETTINGS_SQL "SELECT string_agg(x, '|' ORDER BY x) FROM pg_db_role_setting, " \
	"unnest(setconfig) x WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database " \
	"WHERE datname = current_database())"
#define COMMENT_SQL "SELECT shobj_description(oid, 'pg_database') FROM pg_database " \
	"WHERE datname = current_database()"
#define ORDER_SQL "SELECT string_agg(t, ',' ORDER BY t) FROM sortme"

Test(instance_props_lab, migrate_from_carries_locale_settings_comment)
{
	const char *ded;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ded = ifx_dedicated(&x, 0, "pgfold-lab/postgres:15", "svc", "svcdb");
	ifx_container_sql(ded, "svc", "postgres", "CREATE DATABASE cdb TEMPLATE template0 "
					  "LC_COLLATE 'C' LC_CTYPE 'C'");
	ifx_container_sql(ded, "svc", "cdb", "ALTER DATABASE cdb SET statement_timeout = '42s'; "
					  "COMMENT ON DATABASE cdb IS 'it''s \"C\" ü'; "
					  "ALTER ROLE svc IN DATABASE cdb SET work_mem = '12MB'; "
					  "CREATE TABLE sortme (t text); "
					  "INSERT INTO sortme VALUES ('a'), ('B'), ('_x'), ('A')");
	ifx_exec(&x, NULL, "CREATE ROLE \"own er\" LOGIN");

	ifx_run(&x, "db", "migrate-from", ded, "cdb", "copy \"c\"", "--owner", "own er", NULL);
	ifx_expect(&x, EXIT_OK, "migrate-from");
	expect_value("copy \"c\"", LOCALE_SQL, "C/C");
	expect_value("copy \"c\"", SETTINGS_SQL, "statement_timeout=42s");
	expect_value("copy \"c\"", COMMENT_SQL, "it's \"C\" ü");
	expect_value("copy \"c\"", ORDER_SQL, "A,B,_x,a");
	expect_value(NULL, "SELECT array_to_string(setconfig, '|') FROM pg_db_role_setting s "
				 "JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'copy \"c\"' "
				 "AND s.setrole = (SELECT oid FROM pg_roles WHERE rolname = 'own er')",
				 "work_mem=12MB");
	expect_value(NULL, "SELECT count(*) FROM pg_db_role_setting WHERE setdatabase = 0", "0");
	expect_value("copy \"c\"", "SELECT count(*) > 0 FROM pg_stats WHERE tablename = 'sortme'",
				 "t");
}

Test(instance_props_lab, restore_keeps_locale_settings_comment)
{
	char dump[4096];

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_exec(&x, NULL, "CREATE DATABASE shop TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
	ifx_exec(&x, NULL, "ALTER DATABASE shop SET statement_timeout = '42s'");
	ifx_exec(&x, NULL, "COMMENT ON DATABASE shop IS 'the shop'");
	ifx_exec(&x, "shop", "CREATE TABLE sortme (t text); "
			 "INSERT INTO sortme VALUES ('a'), ('B'), ('_x'), ('A')");
	ifx_backup(&x, "shop", dump, sizeof(dump));

	ifx_run(&x, "db", "restore", "shop", dump, "--yes", NULL);
	ifx_expect(&x, EXIT_OK, "restore");
	expect_value("shop", LOCALE_SQL, "C/C");
	expect_value("shop", SETTINGS_SQL, "statement_timeout=42s");
	expect_value("shop", COMMENT_SQL, "the shop");
	expect_value("shop", ORDER_SQL, "A,B,_x,a");
}
