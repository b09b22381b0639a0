/*
 * test_db_lab.c — `pgfold db list|exists|create|drop|stats` against a real
 * shared instance: JSON shapes, exit codes, confirmation, hostile names.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"

#define HOSTILE "x\"; DROP DATABASE y; --"

IFX_SUITE(instance_db_lab);

static void
assert_list_shape(json_t *db)
{
	static const char *const keys[] = { "name", "owner", "encoding", "size_bytes",
		"connection_limit", "connections", "allow_connections", "service", NULL };

	for (size_t i = 0; keys[i]; i++)
		cr_assert_not_null(json_object_get(db, keys[i]), "db list element lacks \"%s\"", keys[i]);
	cr_assert_eq(json_object_size(db), 8, "unexpected keys in a db list element");
	cr_assert(json_is_integer(json_object_get(db, "size_bytes")));
	cr_assert(json_is_boolean(json_object_get(db, "allow_connections")));
}

Test(instance_db_lab, list_exists_create)
{
	json_t *doc, *db;

	ifx_init(&x, "pgfold-lab/postgres:15");

	/* create, idempotent, owner mismatch, dry run, hostile name */
	ifx_run(&x, "db", "create", "app_one", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "create");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "action")), "created");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "owner")), "admin");
	json_decref(doc);
	ifx_run(&x, "db", "create", "app_one", NULL);
	ifx_expect(&x, EXIT_OK, "create again");
	cr_assert(strstr(sb_str(&x.out), "exists") != NULL, "%s", sb_str(&x.out));
	ifx_exec(&x, NULL, "CREATE ROLE someone");
	ifx_run(&x, "db", "create", "app_one", "--owner", "someone", NULL);
	ifx_expect(&x, EXIT_FAIL, "create with another owner");
	cr_assert(strstr(sb_str(&x.err), "owned by admin") != NULL, "%s", sb_str(&x.err));
	ifx_run(&x, "db", "create", "app_two", "--owner", "nobody_here", NULL);
	ifx_expect(&x, EXIT_FAIL, "create with a missing owner");
	ifx_run(&x, "db", "create", "app_two", "--owner", "someone", "--dry-run", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "create --dry-run");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "action")), "would create");
	cr_assert(strstr(json_string_value(json_object_get(doc, "sql")),
					 "CREATE DATABASE \"app_two\" OWNER \"someone\"") != NULL);
	json_decref(doc);
	cr_assert_not(ifx_db_exists(&x, "app_two"), "--dry-run created the database");

	ifx_run(&x, "db", "create", HOSTILE, "--owner", "someone", NULL);
	ifx_expect(&x, EXIT_OK, "create a hostile name");
	cr_assert(ifx_db_exists(&x, HOSTILE));
	cr_assert(ifx_db_exists(&x, "postgres"), "the hostile name did something else");

	/* exists: yes/no and 0/1 */
	ifx_run(&x, "db", "exists", HOSTILE, NULL);
	ifx_expect(&x, EXIT_OK, "exists");
	cr_assert_str_eq(sb_str(&x.out), "yes\n");
	ifx_run(&x, "db", "exists", "no_such_db", NULL);
	ifx_expect(&x, EXIT_FAIL, "exists (missing)");
	cr_assert_str_eq(sb_str(&x.out), "no\n");
	ifx_run(&x, "db", "exists", "no_such_db", "--json", NULL);
	doc = ifx_json(&x);
	db = json_pack("{s:s, s:b}", "database", "no_such_db", "exists", 0);
	cr_assert(json_equal(doc, db), "%s", sb_str(&x.out));
	json_decref(db);
	json_decref(doc);

	/* list: every database but templates, the documented shape */
	ifx_run(&x, "--json", "db", "list", NULL);
	ifx_expect(&x, EXIT_OK, "list");
	doc = ifx_json(&x);
	cr_assert(json_is_array(doc));
	cr_assert(strstr(sb_str(&x.out), "\"template") == NULL, "templates listed");
	db = ifx_find(doc, "name", HOSTILE, false);
	assert_list_shape(db);
	cr_assert_str_eq(json_string_value(json_object_get(db, "owner")), "someone");
	cr_assert(json_is_null(json_object_get(db, "service")));
	db = ifx_find(doc, "name", "app_one", false);
	cr_assert_eq(json_integer_value(json_object_get(db, "connection_limit")), -1);
	json_decref(doc);
	ifx_run(&x, "db", "list", NULL);
	ifx_expect(&x, EXIT_OK, "list (table)");
	cr_assert(strstr(sb_str(&x.out), "\"x\\\"; DROP DATABASE y; --\"") != NULL,
			  "hostile name not shown quoted:\n%s", sb_str(&x.out));

	/* console: psql on the database, SQL from a pipe */
	ifx_run_input(&x, "SELECT current_database() || ' ' || (40 + 2) AS answer;\n", "db",
				  "console", HOSTILE, NULL);
	ifx_expect(&x, EXIT_OK, "console");
	cr_assert(strstr(sb_str(&x.out), "DROP DATABASE y; -- 42") != NULL, "%s", sb_str(&x.out));
	ifx_run_input(&x, "SELECT 1;\n", "db", "console", "no_such_db", NULL);
	ifx_expect(&x, EXIT_FAIL, "console on a missing database");

	/* usage errors */
	ifx_run(&x, "db", "frobnicate", NULL);
	ifx_expect(&x, EXIT_USAGE, "unknown subcommand");
	ifx_run(&x, "db", "exists", NULL);
	ifx_expect(&x, EXIT_USAGE, "missing name");
	ifx_run(&x, "db", "create", "a", "b", NULL);
	ifx_expect(&x, EXIT_USAGE, "two names");
}

Test(instance_db_lab, drop_confirmation_sessions_backup)
{
	char path[4096];
	json_t *doc, *backup;
	const char *file;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_run(&x, "db", "create", HOSTILE, NULL);
	ifx_exec(&x, HOSTILE, "CREATE TABLE t AS SELECT generate_series(1, 100) AS a");

	/* no terminal and no --yes: nothing happens */
	ifx_run(&x, "db", "drop", HOSTILE, NULL);
	ifx_expect(&x, EXIT_USAGE, "drop without --yes");
	cr_assert(strstr(sb_str(&x.err), "--yes") != NULL, "%s", sb_str(&x.err));
	cr_assert(ifx_db_exists(&x, HOSTILE));

	/* --dry-run: says, changes nothing */
	ifx_run(&x, "db", "drop", HOSTILE, "--dry-run", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "drop --dry-run");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "action")), "would drop");
	json_decref(doc);
	cr_assert(ifx_db_exists(&x, HOSTILE));

	/* a session is connected: refused (3) unless --force */
	PGconn *session = ifx_connect(&x, HOSTILE);

	ifx_run(&x, "db", "drop", HOSTILE, "--yes", NULL);
	ifx_expect(&x, EXIT_BLOCKED, "drop with a session");
	cr_assert(ifx_db_exists(&x, HOSTILE));
	ifx_run(&x, "db", "drop", HOSTILE, "--yes", "--force", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "drop --force");
	PQfinish(session);
	cr_assert_not(ifx_db_exists(&x, HOSTILE));
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "database")), HOSTILE);
	cr_assert_eq(json_integer_value(json_object_get(doc, "sessions")), 1);
	backup = json_object_get(doc, "backup");
	cr_assert(json_is_object(backup), "drop took no backup");
	file = json_string_value(json_object_get(backup, "file"));
	cr_assert(strstr(file, "/backups/x___DROP_DATABASE_y__--_") != NULL, "%s", file);
	cr_assert(ifx_exists(file));
	str_format(path, sizeof(path), "%s.sha256", file);
	cr_assert(ifx_exists(path), "no sidecar");
	cr_assert_eq(lab_sh("cd \"$(dirname %s)\" && sha256sum -c --quiet %s", file, path), 0);

	/* the backup restores the dropped data */
	ifx_run(&x, "db", "restore", HOSTILE, file, "--yes", NULL);
	ifx_expect(&x, EXIT_OK, "restore the drop's backup");
	char *n = ifx_value(&x, HOSTILE, "SELECT count(*) FROM t");

	cr_assert_str_eq(n, "100");
	free(n);
	json_decref(doc);

	/* --no-backup, missing, system databases */
	ifx_run(&x, "db", "drop", HOSTILE, "--yes", "--no-backup", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "drop --no-backup");
	doc = ifx_json(&x);
	cr_assert(json_is_null(json_object_get(doc, "backup")));
	json_decref(doc);
	ifx_run(&x, "db", "drop", HOSTILE, "--yes", NULL);
	ifx_expect(&x, EXIT_FAIL, "drop a missing database");
	cr_assert(strstr(sb_str(&x.err), "no database") != NULL, "%s", sb_str(&x.err));
	ifx_run(&x, "db", "drop", "postgres", "--yes", "--force", NULL);
	ifx_expect(&x, EXIT_USAGE, "drop postgres");
	cr_assert(ifx_db_exists(&x, "postgres"));
}

Test(instance_db_lab, stats_tables_and_estimates)
{
	json_t *doc, *tables, *t;
	size_t i;
	bool seen[6] = { false };

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "stats_db", 150000);
	ifx_run(&x, "db", "stats", "stats_db", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "stats");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "database")), "stats_db");
	cr_assert(json_integer_value(json_object_get(doc, "size_bytes")) > 0);
	cr_assert_eq(json_integer_value(json_object_get(doc, "rows")), 150000 + 25 + 3 + 1500 + 3 + 2);
	cr_assert_eq(json_array_size(json_object_get(doc, "schemas")), 2);
	tables = json_object_get(doc, "tables");
	json_array_foreach(tables, i, t)
	{
		const char *name = json_string_value(json_object_get(t, "name"));
		long long rows = json_integer_value(json_object_get(t, "rows"));

		cr_assert(json_is_true(json_object_get(t, "exact")));
		cr_assert_eq(json_object_size(t), 8, "unexpected keys in a stats table");
		if (strcmp(name, "_prisma_migrations") == 0 && (seen[0] = true))
			cr_assert_eq(rows, 25);
		if (strcmp(name, "__EFMigrationsHistory") == 0 && (seen[1] = true))
			cr_assert_eq(rows, 3);
		if (strcmp(name, "Mixed-Case") == 0 && (seen[2] = true))
			cr_assert_eq(rows, 1500);
		if (strcmp(name, ":x. y") == 0 && (seen[3] = true))
			cr_assert_str_eq(json_string_value(json_object_get(t, "schema")), "we-ird \"s\"");
		if (strcmp(name, "new\nline") == 0 && (seen[4] = true))
			cr_assert_eq(rows, 2);
		if (strcmp(name, "big") == 0 && (seen[5] = true))
			cr_assert_eq(rows, 150000);
	}
	for (i = 0; i < 6; i++)
		cr_assert(seen[i], "table %zu missing from db stats", i);
	json_decref(doc);

	/* --estimate: the big table from reltuples, small ones still exact */
	ifx_run(&x, "db", "stats", "stats_db", "--estimate", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "stats --estimate");
	doc = ifx_json(&x);
	json_array_foreach(json_object_get(doc, "tables"), i, t)
	{
		bool big = strcmp(json_string_value(json_object_get(t, "name")), "big") == 0;

		cr_assert_eq(json_is_true(json_object_get(t, "exact")), !big);
	}
	json_decref(doc);

	ifx_run(&x, "db", "stats", "stats_db", NULL);
	ifx_expect(&x, EXIT_OK, "stats (table)");
	cr_assert(strstr(sb_str(&x.out), "_prisma_migrations") != NULL);
	ifx_run(&x, "db", "stats", "no_such_db", NULL);
	ifx_expect(&x, EXIT_FAIL, "stats of a missing database");
}
