/*
 * test_verify_lab.c — `pgfold db verify` (standalone and --against a
 * dedicated container) and `db migrate-from`, on real containers.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"

IFX_SUITE(instance_verify_lab);

/* a check of the standalone report */
static json_t *
check_named(json_t *doc, const char *name)
{
	return ifx_find(json_object_get(doc, "checks"), "name", name, false);
}

Test(instance_verify_lab, standalone_sanity)
{
	json_t *doc;
	char *v;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "sane", 3000);
	ifx_run(&x, "db", "verify", "sane", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "verify");
	doc = ifx_json(&x);
	cr_assert(json_is_true(json_object_get(doc, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "mode")), "standalone");
	cr_assert(json_is_true(json_object_get(doc, "amcheck")), "amcheck not used:\n%s", sb_str(&x.out));
	cr_assert(json_integer_value(json_object_get(doc, "indexes_checked")) >= 4);
	cr_assert(json_integer_value(json_object_get(doc, "rows")) >= 3000 + 1500);
	cr_assert_str_eq(json_string_value(json_object_get(check_named(doc, "btree indexes"), "status")),
					 "ok");
	cr_assert_str_eq(json_string_value(json_object_get(check_named(doc, "catalog"), "status")), "ok");
	json_decref(doc);

	/* amcheck was only there for the check */
	v = ifx_value(&x, "sane", "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'");
	cr_assert_str_eq(v, "0", "amcheck left installed");
	free(v);
	v = ifx_value(&x, "sane", "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pgfold%'");
	cr_assert_str_eq(v, "0", "pgfold schema left behind");
	free(v);

	/* an invalid index is reported, without failing the database */
	ifx_exec(&x, "sane", "CREATE TABLE dup (a int); INSERT INTO dup VALUES (1), (1)");
	PGconn *c = ifx_connect(&x, "sane");
	PGresult *r = PQexec(c, "CREATE UNIQUE INDEX CONCURRENTLY dup_a ON dup (a)");

	PQclear(r);
	PQfinish(c);
	ifx_run(&x, "db", "verify", "sane", "--deep", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "verify --deep with an invalid index");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(check_named(doc, "invalid indexes"),
													   "status")), "warn");
	cr_assert(json_is_true(json_object_get(doc, "deep")));
	json_decref(doc);

	/* a corrupt btree index: amcheck finds it (exit 6) */
	ifx_exec(&x, "sane", "DROP INDEX dup_a; DELETE FROM dup; "
			 "CREATE TABLE broken (a int); INSERT INTO broken SELECT generate_series(1, 2000); "
			 "CREATE INDEX broken_a ON broken (a)");
	v = ifx_value(&x, "sane", "SELECT pg_relation_filepath('broken_a')");
	cr_assert_eq(lab_sh("docker exec %s sh -c 'dd if=/dev/urandom of=\"$PGDATA/%s\" bs=8192 "
						"seek=1 count=2 conv=notrunc 2>/dev/null'", x.shared.name, v), 0);
	free(v);
	ifx_exec(&x, NULL, "CHECKPOINT");
	cr_assert_eq(lab_sh("docker restart %s >/dev/null", x.shared.name), 0);
	cr_assert(lab_wait_ready(x.shared.name, 60));
	for (int i = 0; i < 50 && ifx_run(&x, "db", "exists", "sane", NULL) != EXIT_OK; i++)
		usleep(200 * 1000);
	ifx_run(&x, "db", "verify", "sane", "--json", NULL);
	ifx_expect(&x, EXIT_VERIFY, "verify of a corrupt index");
	doc = ifx_json(&x);
	cr_assert(json_is_false(json_object_get(doc, "ok")));
	cr_assert(strstr(json_string_value(json_object_get(check_named(doc, "btree indexes"), "detail")),
					 "broken_a") != NULL, "%s", sb_str(&x.out));
	json_decref(doc);

	ifx_run(&x, "db", "verify", "no_such_db", NULL);
	ifx_expect(&x, EXIT_FAIL, "verify of a missing database");
}

Test(instance_verify_lab, against_a_container_and_migrate_from)
{
	const char *ded;
	json_t *doc, *d;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ded = ifx_dedicated(&x, 0, "pgfold-lab/postgres:13", "svc", "svcdb");
	ifx_container_sql(ded, "svc", "svcdb",
					  "CREATE TABLE \"_prisma_migrations\" (id int PRIMARY KEY, n text);"
					  "INSERT INTO \"_prisma_migrations\" SELECT g, 'm' FROM generate_series(1, 25) g;"
					  "CREATE TABLE \"Mixed-Case\" (id serial PRIMARY KEY, v text);"
					  "INSERT INTO \"Mixed-Case\" (v) SELECT md5(g::text) FROM generate_series(1, 1500) g;");
	ifx_exec(&x, NULL, "CREATE ROLE svc_role");

	/* migrate-from: copy, verify, rename; the dump kept with its sidecar */
	ifx_run(&x, "db", "migrate-from", ded, "svcdb", "svc \"copy\"", "--owner", "svc_role",
			"--json", NULL);
	ifx_expect(&x, EXIT_OK, "migrate-from");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "database")), "svc \"copy\"");
	cr_assert_eq(json_integer_value(json_object_get(doc, "tables")), 2);
	cr_assert_eq(json_integer_value(json_object_get(doc, "rows")), 1525);
	cr_assert(ifx_exists(json_string_value(json_object_get(json_object_get(doc, "backup"), "file"))));
	json_decref(doc);
	char *v = ifx_value(&x, "svc \"copy\"", "SELECT pg_get_userbyid(datdba) || ' ' || "
						"(SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE "
						"schemaname = 'public') FROM pg_database WHERE datname = current_database()");

	cr_assert_str_eq(v, "svc_role svc_role");
	free(v);

	/* the same copy verifies against its source (default DB: POSTGRES_DB) */
	ifx_run(&x, "db", "verify", "svc \"copy\"", "--against", ded, "--deep", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "verify --against");
	doc = ifx_json(&x);
	cr_assert(json_is_true(json_object_get(doc, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "source"), "database")),
					 "svcdb");
	cr_assert_eq(json_array_size(json_object_get(doc, "differences")), 0);
	json_decref(doc);

	/* the source moves on: differences, exit 6 */
	ifx_container_sql(ded, "svc", "svcdb", "INSERT INTO \"Mixed-Case\" (v) VALUES ('later')");
	ifx_run(&x, "db", "verify", "svc \"copy\"", "--against", "", NULL);
	ifx_expect(&x, EXIT_USAGE, "--against with no container");
	char against[128];

	str_format(against, sizeof(against), "%s:svcdb", ded);
	ifx_run(&x, "db", "verify", "svc \"copy\"", "--against", against, "--json", NULL);
	ifx_expect(&x, EXIT_VERIFY, "verify --against after a change");
	doc = ifx_json(&x);
	d = ifx_find(json_object_get(doc, "differences"), "name", "Mixed-Case", false);
	cr_assert_str_eq(json_string_value(json_object_get(d, "difference")), "value");
	cr_assert_str_eq(json_string_value(json_object_get(d, "source")), "1501");
	cr_assert_str_eq(json_string_value(json_object_get(d, "target")), "1500");
	json_decref(doc);

	/* refusals */
	ifx_run(&x, "db", "migrate-from", ded, "svcdb", "svc \"copy\"", NULL);
	ifx_expect(&x, EXIT_BLOCKED, "migrate-from onto an existing database");
	ifx_run(&x, "db", "migrate-from", ded, "nosuchdb", "other", NULL);
	ifx_expect(&x, EXIT_USAGE, "migrate-from a missing source database");
	ifx_run(&x, "db", "migrate-from", "pgf_no_such_container", "svcdb", "other", NULL);
	ifx_expect(&x, EXIT_USAGE, "migrate-from a missing container");
	ifx_run(&x, "db", "migrate-from", ded, "svcdb", "other", "--dry-run", NULL);
	ifx_expect(&x, EXIT_OK, "migrate-from --dry-run");
	cr_assert_not(ifx_db_exists(&x, "other"));
	v = ifx_value(&x, NULL, "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgfold\\_%'");
	cr_assert_str_eq(v, "0");
	free(v);
}
