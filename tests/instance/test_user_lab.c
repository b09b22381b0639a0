/*
 * test_user_lab.c — `pgfold user create ROLE [DB]`: create, reuse, refuse
 * a role whose file has another password, rotate, grants and ownership.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"
#include "pgfold/pg.h"
#include "pgfold/secrets.h"

IFX_SUITE(instance_user_lab);

static char *
password_of(const char *role)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;

	cr_assert(secrets_read_password_file(x.root, role, &pw, &found));
	cr_assert(found, "no password file for %s", role);
	return sb_steal(&pw);
}

/* Log in as role and run sql in db; true when it worked. */
static bool
as_role(const char *role, const char *password, const char *db, const char *sql)
{
	PgConnParams p = { "127.0.0.1", x.shared.port, role, password, db, NULL };
	PGconn *c = NULL;
	bool ok = pg_connect_params(&p, &c, NULL);

	if (ok && sql)
	{
		PGresult *r = PQexec(c, sql);

		ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
	pg_disconnect(c);
	return ok;
}

Test(instance_user_lab, create_reuse_refuse_rotate)
{
	char path[4096];
	struct stat st;
	json_t *doc;
	char *pw1, *pw2, *pw3;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "appdb", 100);

	/* dry run first: nothing exists afterwards */
	ifx_run(&x, "user", "create", "app_rw", "appdb", "--dry-run", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "user create --dry-run");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "action")), "create");
	json_decref(doc);
	ifx_path(&x, "etc/.db_passwords/app_rw.txt", path, sizeof(path));
	cr_assert_not(ifx_exists(path));

	/* created with grants: the JSON shape, the file, a working login */
	ifx_run(&x, "user", "create", "app_rw", "appdb", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "user create");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "role")), "app_rw");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "action")), "created");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "password_file")), path);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "database")), "appdb");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "access")), "grants");
	cr_assert_eq(json_object_size(doc), 6);
	json_decref(doc);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	pw1 = password_of("app_rw");
	cr_assert_eq(strlen(pw1), 32);
	cr_assert(strstr(sb_str(&x.out), pw1) == NULL && strstr(sb_str(&x.err), pw1) == NULL,
			  "the password was printed");
	cr_assert(as_role("app_rw", pw1, "appdb", "INSERT INTO \"Mixed-Case\" (v) VALUES ('rw'); "
					  "SELECT count(*) FROM \"we-ird \"\"s\"\"\".\":x. y\""),
			  "the role cannot read/write its database");
	cr_assert_not(as_role("app_rw", pw1, "appdb", "CREATE TABLE t (a int)") &&
				  as_role("app_rw", pw1, "appdb", "DROP TABLE big"), "grants are not ownership");
	/* isolated: PUBLIC lost CONNECT on the database */
	char *v = ifx_value(&x, NULL, "SELECT has_database_privilege('public', 'appdb', 'CONNECT')::text");

	cr_assert_str_eq(v, "false");
	free(v);
	/* later tables of the owner are granted too */
	ifx_exec(&x, "appdb", "CREATE TABLE later (a int)");
	cr_assert(as_role("app_rw", pw1, "appdb", "INSERT INTO later VALUES (1)"));

	/* again: reused, same password */
	ifx_run(&x, "user", "create", "app_rw", "appdb", NULL);
	ifx_expect(&x, EXIT_OK, "user create again");
	cr_assert(strstr(sb_str(&x.out), "reused") != NULL, "%s", sb_str(&x.out));
	pw2 = password_of("app_rw");
	cr_assert_str_eq(pw1, pw2);
	free(pw2);

	/* the file holds another password: refused (3), nothing replaced */
	cr_assert(secrets_write_password_file(x.root, "app_rw", "not-the-password"));
	ifx_run(&x, "user", "create", "app_rw", NULL, NULL);
	ifx_expect(&x, EXIT_BLOCKED, "user create with a wrong password file");
	cr_assert(strstr(sb_str(&x.err), "--rotate") != NULL, "%s", sb_str(&x.err));
	pw2 = password_of("app_rw");
	cr_assert_str_eq(pw2, "not-the-password");
	free(pw2);
	cr_assert(as_role("app_rw", pw1, "appdb", NULL), "the server's password changed");
	ifx_run(&x, "user", "create", "app_rw", "--dry-run", NULL);
	ifx_expect(&x, EXIT_OK, "dry run of a refusal");
	cr_assert(strstr(sb_str(&x.out), "refuse") != NULL, "%s", sb_str(&x.out));

	/* --rotate: new password in the file and on the server, the old one dead */
	ifx_run(&x, "user", "create", "app_rw", "--rotate", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "user create --rotate");
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "action")), "rotated");
	cr_assert(json_is_null(json_object_get(doc, "database")));
	json_decref(doc);
	pw3 = password_of("app_rw");
	cr_assert_str_neq(pw3, pw1);
	cr_assert(as_role("app_rw", pw3, "appdb", NULL));
	cr_assert_not(as_role("app_rw", pw1, "appdb", NULL));
	free(pw1);
	free(pw3);

	/* the plain password never reached the server's statement log */
	StrBuf logs = STRBUF_INIT;

	pgtest_docker_logs(x.shared.name, &logs);
	pw3 = password_of("app_rw");
	cr_assert(strstr(sb_str(&logs), pw3) == NULL, "password in the server log");
	free(pw3);
	sb_free(&logs);
}

Test(instance_user_lab, owner_and_bad_input)
{
	char *pw, *v;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "owned db", 10);
	ifx_run(&x, "user", "create", "svc-owner.1", "owned db", "--owner", "--connection-limit", "3",
			NULL);
	ifx_expect(&x, EXIT_OK, "user create --owner");
	v = ifx_value(&x, "owned db", "SELECT pg_get_userbyid(datdba) || ' ' || (SELECT string_agg("
				  "DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname NOT IN "
				  "('pg_catalog', 'information_schema')) || ' ' || (SELECT rolconnlimit FROM "
				  "pg_roles WHERE rolname = 'svc-owner.1') FROM pg_database WHERE datname = "
				  "current_database()");
	cr_assert_str_eq(v, "svc-owner.1 svc-owner.1 3");
	free(v);
	pw = password_of("svc-owner.1");
	cr_assert(as_role("svc-owner.1", pw, "owned db", "CREATE TABLE mine (a int); DROP TABLE big"));
	free(pw);

	ifx_run(&x, "user", "create", "x\"; DROP DATABASE y; --", NULL);
	ifx_expect(&x, EXIT_USAGE, "hostile role name");
	ifx_run(&x, "user", "create", "../etc", NULL);
	ifx_expect(&x, EXIT_USAGE, "role name with a path");
	ifx_run(&x, "user", "create", "fine", "no such db", NULL);
	ifx_expect(&x, EXIT_FAIL, "user create for a missing database");
	v = ifx_value(&x, NULL, "SELECT count(*) FROM pg_roles WHERE rolname = 'fine'");
	cr_assert_str_eq(v, "0", "the role was created although the database is missing");
	free(v);
	ifx_run(&x, "user", "create", "fine", "--owner", NULL);
	ifx_expect(&x, EXIT_USAGE, "--owner without a database");
	ifx_run(&x, "user", "remove", "fine", NULL);
	ifx_expect(&x, EXIT_USAGE, "unknown subcommand");
}
