/*
 * test_roles_lab.c — service roles on a real shared-style server (lab):
 * create, reuse, refuse, rotate, crash recovery; and the plain password
 * never reaches the server's statement log or any process's argv/environ.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "pg/pg_fixture.h"
#include "pgfold/exitcodes.h"
#include "pgfold/pg.h"
#include "pgfold/secrets.h"

static SharedPg shared;
static char root[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st; (void) flag; (void) ftw;
	return remove(path);
}

static void
cleanup(void)
{
	pgtest_shared_stop(&shared);
	if (root[0])
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
make_root(void)
{
	str_copy(root, sizeof(root), "/tmp/pgfold-roles-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void
file_path(const char *role, const char *suffix, char *out, size_t size)
{
	str_format(out, size, "%s/etc/.db_passwords/%s%s", root, role, suffix);
}

static void
assert_file_password(const char *role, const char *expect)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;

	cr_assert(secrets_read_password_file(root, role, &pw, &found));
	cr_assert(found, "password file of %s missing", role);
	cr_assert_str_eq(sb_str(&pw), expect);
	sb_free_secret(&pw);
}

static bool
logs_in(PGconn *conn, const char *role, const char *password)
{
	bool matches = false;

	cr_assert(secrets_password_matches(conn, role, password, &matches));
	return matches;
}

TestSuite(secrets_lab, .fini = cleanup, .timeout = 240);

Test(secrets_lab, role_lifecycle_and_no_leaks)
{
	char role[64], path[512];
	StrBuf pw1 = STRBUF_INIT, pw2 = STRBUF_INIT, again = STRBUF_INIT, v = STRBUF_INIT;
	SecretsRoleAction action = 0;
	ProcWatch watch;
	struct stat st;

	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");
	make_root();
	lab_unique_name("pgf_role", role, sizeof(role));
	str_format(role + strlen(role), sizeof(role) - strlen(role), "-svc.x");
	pgtest_procwatch_start(&watch);

	PGconn *conn = pgtest_shared_connect(&shared, NULL);
	SecretsRoleRequest req = { .root = root, .role = role, .connection_limit = 5 };

	/* 1. missing role: created, file written, login works */
	cr_assert(secrets_create_or_reuse_role(conn, &req, &action, &pw1));
	cr_assert_eq(action, SECRETS_ROLE_CREATED);
	cr_assert_eq(pw1.len, 32);
	file_path(role, ".txt", path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	file_path(role, ".txt.pending", path, sizeof(path));
	cr_assert_neq(stat(path, &st), 0, "pending file left behind");
	assert_file_password(role, sb_str(&pw1));
	cr_assert(logs_in(conn, role, sb_str(&pw1)));
	cr_assert_not(logs_in(conn, role, "wrong password"));

	const char *p[1] = { role };

	cr_assert(pg_query_scalar(conn, "read limit", "SELECT rolconnlimit::text || rolcanlogin::text "
							  "|| rolsuper::text || (rolpassword LIKE 'SCRAM-SHA-256$%')::text "
							  "FROM pg_authid WHERE rolname = $1", 1, p, &v, NULL));
	cr_assert_str_eq(sb_str(&v), "5truefalsetrue");

	/* 2. exists and the file logs in: reused, same password */
	cr_assert(secrets_create_or_reuse_role(conn, &req, &action, &again));
	cr_assert_eq(action, SECRETS_ROLE_REUSED);
	cr_assert_str_eq(sb_str(&again), sb_str(&pw1));

	/* 3. file with another password: refused, nothing replaced */
	cr_assert(secrets_write_password_file(root, role, "not-the-password"));
	exit_hint_reset();
	cr_assert_not(secrets_create_or_reuse_role(conn, &req, &action, NULL));
	cr_assert_eq(exit_hint_get(), EXIT_BLOCKED);
	assert_file_password(role, "not-the-password");
	cr_assert(logs_in(conn, role, sb_str(&pw1)), "role password was changed");

	/* 4. no file at all: refused, no file created, nothing replaced */
	file_path(role, ".txt", path, sizeof(path));
	cr_assert_eq(unlink(path), 0);
	cr_assert_not(secrets_create_or_reuse_role(conn, &req, &action, NULL));
	cr_assert_neq(stat(path, &st), 0);
	cr_assert(logs_in(conn, role, sb_str(&pw1)));

	/* 5. explicit rotate: new password on server and in the file */
	req.rotate = true;
	cr_assert(secrets_create_or_reuse_role(conn, &req, &action, &pw2));
	cr_assert_eq(action, SECRETS_ROLE_ROTATED);
	cr_assert_str_neq(sb_str(&pw2), sb_str(&pw1));
	assert_file_password(role, sb_str(&pw2));
	cr_assert(logs_in(conn, role, sb_str(&pw2)));
	cr_assert_not(logs_in(conn, role, sb_str(&pw1)));
	req.rotate = false;

	/* 6. crash between ALTER ROLE and the rename: .pending is recovered */
	char pending[512];

	file_path(role, ".txt.pending", pending, sizeof(pending));
	cr_assert_eq(rename(path, pending), 0);
	cr_assert(secrets_create_or_reuse_role(conn, &req, &action, &again));
	cr_assert_eq(action, SECRETS_ROLE_REUSED);
	cr_assert_str_eq(sb_str(&again), sb_str(&pw2));
	assert_file_password(role, sb_str(&pw2));
	cr_assert_neq(stat(pending, &st), 0);

	/* one more scan while a session of the role is open */
	PgConnParams rp = { "127.0.0.1", shared.port, role, sb_str(&pw2), "postgres", NULL };
	PGconn *as_role = NULL;

	cr_assert(pg_connect_params(&rp, &as_role, NULL));
	pgtest_procwatch_scan(&watch);
	pg_disconnect(as_role);
	pg_disconnect(conn);
	pgtest_procwatch_stop(&watch);

	/* No process ever had a service password in argv or environ. The
	 * watcher could see the server's processes (sanity check). */
	cr_assert(watch.scans > 1);
	cr_assert(pgtest_procwatch_contains(&watch, "postgres: admin postgres 127.0.0.1"),
			  "the /proc watcher did not see the server's backends");
	cr_assert_not(pgtest_procwatch_contains(&watch, sb_str(&pw1)));
	cr_assert_not(pgtest_procwatch_contains(&watch, sb_str(&pw2)));
	cr_assert_not(pgtest_procwatch_contains(&watch, "not-the-password"));
	pgtest_procwatch_free(&watch);

	/* The statement log (log_statement=all) saw the verifiers, never a
	 * password. */
	StrBuf logs = STRBUF_INIT;

	pgtest_docker_logs(shared.name, &logs);
	/* extended protocol: logged as "execute <unnamed>: ..." */
	cr_assert(strstr(sb_str(&logs), ": CREATE ROLE \"") != NULL,
			  "log_statement=all is not in effect? %s", sb_str(&logs));
	cr_assert(strstr(sb_str(&logs), "LOGIN PASSWORD 'SCRAM-SHA-256$4096:") != NULL);
	cr_assert(strstr(sb_str(&logs), "PASSWORD 'SCRAM-SHA-256$4096:") != NULL);
	cr_assert(strstr(sb_str(&logs), ": ALTER ROLE \"") != NULL);
	cr_assert(strstr(sb_str(&logs), sb_str(&pw1)) == NULL, "password 1 in the server log");
	cr_assert(strstr(sb_str(&logs), sb_str(&pw2)) == NULL, "password 2 in the server log");
	cr_assert(strstr(sb_str(&logs), "not-the-password") == NULL);

	sb_free(&logs);
	sb_free(&v);
	sb_free_secret(&pw1);
	sb_free_secret(&pw2);
	sb_free_secret(&again);
}

/* A role dropped earlier (rollback) left its file: the new role gets that
 * password, so a service still configured with it keeps working. */
Test(secrets_lab, existing_file_is_used_for_a_new_role)
{
	char role[64];
	StrBuf pw = STRBUF_INIT;
	SecretsRoleAction action = 0;

	pgtest_shared_start(&shared, "pgfold-lab/postgres:17");
	make_root();
	lab_unique_name("pgf_keep", role, sizeof(role));
	cr_assert(secrets_write_password_file(root, role, "Operator-Chosen-Password-1"));

	PGconn *conn = pgtest_shared_connect(&shared, NULL);
	SecretsRoleRequest req = { .root = root, .role = role, .connection_limit = -1 };

	cr_assert(secrets_create_or_reuse_role(conn, &req, &action, &pw));
	cr_assert_eq(action, SECRETS_ROLE_CREATED_FROM_FILE, "action %s: undo would remove a file "
				 "it did not create", secrets_role_action_name(action));
	cr_assert_str_eq(sb_str(&pw), "Operator-Chosen-Password-1");
	cr_assert(logs_in(conn, role, "Operator-Chosen-Password-1"));
	assert_file_password(role, "Operator-Chosen-Password-1");

	/* A stale .pending of a role that does not exist is worthless: the
	 * next creation replaces it. */
	char role2[64], pending[512];
	FILE *f;

	lab_unique_name("pgf_stale", role2, sizeof(role2));
	file_path(role2, ".txt.pending", pending, sizeof(pending));
	f = fopen(pending, "w");
	cr_assert_not_null(f);
	fputs("stale\n", f);
	fclose(f);
	chmod(pending, 0600);
	req.role = role2;
	cr_assert(secrets_create_or_reuse_role(conn, &req, &action, &pw));
	cr_assert_eq(action, SECRETS_ROLE_CREATED);
	cr_assert_str_neq(sb_str(&pw), "stale");
	assert_file_password(role2, sb_str(&pw));
	cr_assert(logs_in(conn, role2, sb_str(&pw)));
	sb_free_secret(&pw);
	pg_disconnect(conn);
}

Test(secrets_lab, hostile_role_refused_before_any_sql)
{
	SecretsRoleAction action = 0;
	SecretsRoleRequest req = { .root = "/nonexistent", .role = "x\"; DROP DATABASE y; --",
							   .connection_limit = -1 };

	/* conn NULL: proves no libpq call is made for an invalid name */
	cr_assert_not(secrets_create_or_reuse_role(NULL, &req, &action, NULL));
	req.role = "../etc";
	cr_assert_not(secrets_create_or_reuse_role(NULL, &req, &action, NULL));
}

/* A server that lets anyone in proves nothing about a password. */
Test(secrets_lab, trust_authentication_is_not_a_match)
{
	char name[64];
	int port = 0;
	StrBuf cmd = STRBUF_INIT;

	lab_require();
	memset(&shared, 0, sizeof(shared));
	lab_unique_name("pgf_trust", name, sizeof(name));
	port = pgtest_free_port();
	sb_appendf(&cmd, "docker run -d --label " LAB_LABEL " --name %s --network host "
			   "-e PGPORT=%d -e POSTGRES_USER=admin -e POSTGRES_HOST_AUTH_METHOD=trust "
			   "pgfold-lab/postgres:15 postgres -c listen_addresses=127.0.0.1 >/dev/null",
			   name, port);
	str_copy(shared.name, sizeof(shared.name), name);   /* for cleanup */
	cr_assert_eq(lab_sh("%s", cmd.data), 0);
	sb_free(&cmd);
	cr_assert(lab_wait_ready(name, 90));

	PgConnParams p = { "127.0.0.1", port, "admin", NULL, "postgres", NULL };
	PGconn *conn = NULL;

	for (int i = 0; i < 100 && !pg_connect_params(&p, &conn, NULL); i++)
		usleep(200000);
	cr_assert_not_null(conn);
	cr_assert(pg_exec(conn, "create role", "CREATE ROLE pgf_trusted_probe LOGIN"));

	bool matches = true;

	cr_assert_not(secrets_password_matches(conn, "pgf_trusted_probe", "anything", &matches));
	cr_assert_not(matches);
	pg_disconnect(conn);
}
