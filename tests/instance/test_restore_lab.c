/*
 * test_restore_lab.c — `pgfold db backup` and `db restore` on a real shared
 * instance: the swap, what it keeps, and the refusals (truncated dump,
 * sidecar mismatch, missing file, sessions, a dump too new, an event
 * trigger that the hand-over to the owner would fire as the admin).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"

IFX_SUITE(instance_restore_lab);

static void
expect_value(const char *db, const char *sql, const char *want)
{
	char *v = ifx_value(&x, db, sql);

	cr_assert_str_eq(v, want, "%s in %s", sql, db);
	free(v);
}

/* No temporary database is left behind by a refused restore. */
static void
expect_no_temp(void)
{
	expect_value(NULL, "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgfold\\_%'", "0");
}

static const char fingerprint[] =
	"SELECT (SELECT count(*) FROM \"Mixed-Case\") || ' ' || (SELECT count(*) FROM big) || ' ' "
	"|| (SELECT count(*) FROM \"we-ird \"\"s\"\"\".\":x. y\") || ' ' || "
	"(SELECT count(*) FROM \"new\nline\")";

Test(instance_restore_lab, backup_then_restore_swaps_in)
{
	char dump[4096], side[4096], copy[4096];
	json_t *doc, *b;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_exec(&x, NULL, "CREATE ROLE app_owner; CREATE ROLE reader");
	ifx_run(&x, "db", "create", "shop", "--owner", "app_owner", NULL);
	ifx_seed(&x, "shop", 5000);
	ifx_exec(&x, NULL, "ALTER DATABASE shop CONNECTION LIMIT 7; REVOKE ALL ON DATABASE shop "
			 "FROM PUBLIC; GRANT CONNECT ON DATABASE shop TO reader");

	/* backup: default name, sidecar, JSON shape; never over an existing file */
	ifx_run(&x, "db", "backup", "shop", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backup");
	doc = ifx_json(&x);
	b = json_object_get(doc, "backup");
	str_copy(dump, sizeof(dump), json_string_value(json_object_get(b, "file")));
	cr_assert(strstr(dump, "/root/backups/shop_") != NULL, "%s", dump);
	cr_assert(json_integer_value(json_object_get(b, "bytes")) > 0);
	cr_assert_eq(strlen(json_string_value(json_object_get(b, "sha256"))), 64);
	json_decref(doc);
	str_format(side, sizeof(side), "%s.sha256", dump);
	cr_assert(ifx_exists(side));
	str_format(copy, sizeof(copy), "%s/copy.dump", x.dir);
	ifx_run(&x, "db", "backup", "shop", copy, NULL);
	ifx_expect(&x, EXIT_OK, "backup to a named file");
	ifx_run(&x, "db", "backup", "shop", copy, NULL);
	ifx_expect(&x, EXIT_FAIL, "backup over an existing file");

	/* the data changes; the restore brings the dump's state back */
	ifx_exec(&x, "shop", "DELETE FROM big WHERE id > 10; INSERT INTO \"Mixed-Case\" (v) VALUES ('x')");
	ifx_run(&x, "db", "restore", "shop", dump, NULL);
	ifx_expect(&x, EXIT_USAGE, "restore without --yes");
	ifx_run(&x, "db", "restore", "shop", dump, "--yes", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "restore");
	doc = ifx_json(&x);
	cr_assert(json_is_true(json_object_get(doc, "replaced")));
	cr_assert_eq(json_integer_value(json_object_get(doc, "tables")), 7);
	cr_assert_eq(json_integer_value(json_object_get(doc, "rows")), 5000 + 25 + 3 + 1500 + 3 + 2);
	b = json_object_get(doc, "backup");
	cr_assert(json_is_object(b), "no backup of the replaced data");
	cr_assert(ifx_exists(json_string_value(json_object_get(b, "file"))));
	json_decref(doc);
	expect_value("shop", fingerprint, "1500 5000 3 2");
	expect_no_temp();

	/* the database keeps its owner, limit and privileges; objects owned too */
	expect_value(NULL, "SELECT pg_get_userbyid(datdba) || ' ' || datconnlimit FROM pg_database "
				 "WHERE datname = 'shop'", "app_owner 7");
	expect_value(NULL, "SELECT has_database_privilege('reader', 'shop', 'CONNECT')::text || "
				 "has_database_privilege('public', 'shop', 'CONNECT')::text", "truefalse");
	expect_value("shop", "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE "
				 "schemaname NOT IN ('pg_catalog', 'information_schema')", "app_owner");

	/* into a new name: created, the source untouched */
	ifx_run(&x, "db", "restore", "shop copy", copy, "--yes", NULL);
	ifx_expect(&x, EXIT_OK, "restore into a new database");
	expect_value("shop copy", fingerprint, "1500 5000 3 2");

	/* sessions on the target: 3 without --force, ended with it */
	PGconn *session = ifx_connect(&x, "shop");

	ifx_run(&x, "db", "restore", "shop", copy, "--yes", "--no-backup", NULL);
	ifx_expect(&x, EXIT_BLOCKED, "restore with a session");
	ifx_run(&x, "db", "restore", "shop", copy, "--yes", "--no-backup", "--force", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "restore --force");
	doc = ifx_json(&x);
	cr_assert_eq(json_integer_value(json_object_get(doc, "sessions_ended")), 1);
	cr_assert(json_is_null(json_object_get(doc, "backup")));
	json_decref(doc);
	PQfinish(session);
	expect_no_temp();
}

Test(instance_restore_lab, refusals_change_nothing)
{
	char dump[4096], bad[4096], side[4096];
	FILE *f;
	json_t *doc;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "keep", 20000);
	str_format(dump, sizeof(dump), "%s/keep.dump", x.dir);
	ifx_run(&x, "db", "backup", "keep", dump, NULL);
	ifx_expect(&x, EXIT_OK, "backup");
	ifx_exec(&x, "keep", "INSERT INTO \"Mixed-Case\" (v) VALUES ('written after the dump')");

	/* sidecar mismatch */
	str_format(bad, sizeof(bad), "%s/bad.dump", x.dir);
	cr_assert_eq(lab_sh("cp %s %s && printf 'garbage' >> %s", dump, bad, bad), 0);
	str_format(side, sizeof(side), "%s.sha256", bad);
	cr_assert_eq(lab_sh("cd %s && sed 's/keep.dump/bad.dump/' keep.dump.sha256 > bad.dump.sha256",
						x.dir), 0);
	ifx_run(&x, "db", "restore", "keep", bad, "--yes", NULL);
	ifx_expect(&x, EXIT_VERIFY, "restore with a sidecar mismatch");
	cr_assert(strstr(sb_str(&x.err), "checksum mismatch") != NULL, "%s", sb_str(&x.err));

	/* truncated, with a sidecar that matches the truncated bytes: pg_restore
	 * reading it back finds the end missing */
	ifx_truncate(bad, 20000);
	cr_assert_eq(lab_sh("cd %s && sha256sum bad.dump > bad.dump.sha256", x.dir), 0);
	ifx_run(&x, "db", "restore", "keep", bad, "--yes", NULL);
	ifx_expect(&x, EXIT_VERIFY, "restore of a truncated dump");
	ifx_run(&x, "db", "restore", "brand_new", bad, "--yes", NULL);
	ifx_expect(&x, EXIT_VERIFY, "restore of a truncated dump into a new name");
	cr_assert_not(ifx_db_exists(&x, "brand_new"));

	/* no sidecar, no file, not a dump */
	cr_assert_eq(unlink(side), 0);
	ifx_run(&x, "db", "restore", "keep", bad, "--yes", NULL);
	ifx_expect(&x, EXIT_VERIFY, "restore without a sidecar");
	ifx_run(&x, "db", "restore", "keep", "/nonexistent/x.dump", "--yes", NULL);
	ifx_expect(&x, EXIT_USAGE, "restore of a missing file");
	f = fopen(bad, "w");
	fputs("-- a plain SQL file\n", f);
	fclose(f);
	cr_assert_eq(lab_sh("cd %s && sha256sum bad.dump > bad.dump.sha256", x.dir), 0);
	ifx_run(&x, "db", "restore", "keep", bad, "--yes", NULL);
	cr_assert_neq(x.status, EXIT_OK, "a plain SQL file was restored");
	cr_assert(strstr(sb_str(&x.err), "not a pg_dump custom-format archive") != NULL, "%s",
			  sb_str(&x.err));

	/* system database */
	ifx_run(&x, "db", "restore", "postgres", dump, "--yes", NULL);
	ifx_expect(&x, EXIT_USAGE, "restore over postgres");

	/* nothing of the above touched the data */
	char *n = ifx_value(&x, "keep", "SELECT count(*) FROM \"Mixed-Case\"");

	cr_assert_str_eq(n, "1501");
	free(n);
	expect_no_temp();

	/* --dry-run */
	ifx_run(&x, "db", "restore", "keep", dump, "--dry-run", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "restore --dry-run");
	doc = ifx_json(&x);
	cr_assert(json_is_true(json_object_get(doc, "dry_run")));
	cr_assert(json_is_true(json_object_get(doc, "exists")));
	json_decref(doc);
	n = ifx_value(&x, "keep", "SELECT count(*) FROM \"Mixed-Case\"");
	cr_assert_str_eq(n, "1501");
	free(n);
}

Test(instance_restore_lab, dump_newer_than_the_shared_server)
{
	char dump[4096];
	const char *ded;

	ifx_init(&x, "pgfold-lab/postgres:13");
	ded = ifx_dedicated(&x, 0, "pgfold-lab/postgres:17", "svc", "svcdb");
	ifx_container_sql(ded, "svc", "svcdb", "CREATE TABLE t AS SELECT generate_series(1, 10) a");
	str_format(dump, sizeof(dump), "%s/p17.dump", x.dir);
	cr_assert_eq(lab_sh("docker exec %s pg_dump -Fc -U svc svcdb > %s && cd %s && "
						"sha256sum p17.dump > p17.dump.sha256", ded, dump, x.dir), 0);
	ifx_run(&x, "db", "restore", "from17", dump, "--yes", NULL);
	ifx_expect(&x, EXIT_BLOCKED, "restore of a pg_dump 17 archive into PostgreSQL 13");
	cr_assert(strstr(sb_str(&x.err), "pg_dump 17") != NULL, "%s", sb_str(&x.err));
	cr_assert_not(ifx_db_exists(&x, "from17"));
}

/* PGFOLD_SHARED_CONTAINER empty: this host's pg_dump / pg_restore reach the
 * shared instance over TCP (the password in pgcmd's passfile). */
Test(instance_restore_lab, local_clients)
{
	char dump[4096];

	cr_assert_eq(lab_sh("command -v pg_dump >/dev/null && command -v pg_restore >/dev/null"), 0,
				 "this test needs pg_dump and pg_restore on the host");
	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "here", 1000);
	ifx_local_clients(&x);
	str_format(dump, sizeof(dump), "%s/here.dump", x.dir);
	ifx_run(&x, "db", "backup", "here", dump, NULL);
	ifx_expect(&x, EXIT_OK, "local backup");
	ifx_run(&x, "db", "restore", "here again", dump, "--yes", NULL);
	ifx_expect(&x, EXIT_OK, "local restore");
	expect_value("here again", fingerprint, "1500 1000 3 2");
}

/* A dump with an event trigger (here: made on the shared instance, as an
 * operator's own backup could carry one) is restored as the admin; handing
 * its objects to the owner would fire the trigger as the admin. The
 * restore is refused at the hand-over (exit 3), the database keeps its
 * data, and the owner stays an ordinary role. */
Test(instance_restore_lab, event_trigger_is_not_handed_over)
{
	char dump[4096];

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_exec(&x, NULL, "CREATE ROLE evt_owner");
	ifx_run(&x, "db", "create", "evt", "--owner", "evt_owner", NULL);
	ifx_expect(&x, EXIT_OK, "create");
	ifx_exec(&x, "evt", "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2); "
			 "CREATE FUNCTION pgfold_evil() RETURNS event_trigger LANGUAGE plpgsql AS "
			 "$$BEGIN EXECUTE 'ALTER ROLE evt_owner SUPERUSER'; END$$; "
			 "CREATE EVENT TRIGGER pgfold_evil ON ddl_command_start "
			 "EXECUTE FUNCTION pgfold_evil()");
	ifx_backup(&x, "evt", dump, sizeof(dump));
	ifx_exec(&x, "evt", "INSERT INTO t VALUES (3)");

	ifx_run(&x, "db", "restore", "evt", dump, "--yes", "--no-backup", NULL);
	expect_value(NULL, "SELECT rolsuper FROM pg_roles WHERE rolname = 'evt_owner'", "f");
	ifx_expect(&x, EXIT_BLOCKED, "restore of a dump with an event trigger");
	cr_assert(strstr(sb_str(&x.err), "holds what pgfold will not restore as the shared "
					 "instance's admin: event trigger \"pgfold_evil\" (on "
					 "\"ddl_command_start\")") != NULL, "%s", sb_str(&x.err));
	cr_assert(strstr(sb_str(&x.err), "Nothing was handed over to \"evt_owner\".") != NULL,
			  "%s", sb_str(&x.err));
	expect_value("evt", "SELECT string_agg(a::text, ',' ORDER BY a) FROM t", "1,2,3");
	expect_no_temp();
}
