/*
 * test_isolation.c — two services folded into one shared instance stay
 * apart: each role reaches only its own database, and a role that is
 * neither cannot read their tables even when allowed to connect. A service
 * role has no power beyond its database: it cannot create databases or
 * roles, read password hashes, reach the other's tables through a forged
 * search_path, or plant objects where an admin's search_path would find
 * them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_isolation, .fini = teardown, .timeout = 600);

static void
migrate(MigStack *s, const MigShape *sh)
{
	MigRun r;

	mig_pgfold(s, &r, NULL, "migrate", mig_svc(s, sh), "--yes", NULL);
	mig_expect_exit(&r, 0, mig_svc(s, sh));
	mig_run_free(&r);
}

/* psql as role with the password in pwfile must fail with needle. */
static void
denied(MigStack *s, const char *role, const char *pwfile, const char *db, const char *sql,
	   const char *needle)
{
	StrBuf out = STRBUF_INIT;
	bool ok = mig_sql_as(&out, s, role, pwfile, db, sql);

	cr_assert_not(ok, "role %s could run `%s` in %s: %s", role, sql, db, sb_str(&out));
	cr_assert_not_null(strstr(sb_str(&out), needle), "role %s in %s, `%s`: expected \"%s\", got: %s",
					   role, db, sql, needle, sb_str(&out));
	sb_free(&out);
}

Test(migrate_isolation, two_services_one_instance)
{
	char pw_docmost[PATH_MAX], pw_joplin[PATH_MAX], pw_other[PATH_MAX];
	StrBuf out = STRBUF_INIT;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp_d = mig_seed_service(&stack, &mig_docmost, NULL);
	char *fp_j = mig_seed_service(&stack, &mig_joplin, NULL);

	migrate(&stack, &mig_docmost);
	migrate(&stack, &mig_joplin);
	mig_assert_migrated(&stack, &mig_docmost, fp_d);
	mig_assert_migrated(&stack, &mig_joplin, fp_j);

	char *dbs = mig_shared_databases(&stack), *roles = mig_shared_roles(&stack);

	cr_assert_str_eq(dbs, "docmost,joplin");
	cr_assert_str_eq(roles, "docmost,joplin");

	/* each role: its own database yes, the other's no */
	mig_path(&stack, pw_docmost, sizeof(pw_docmost), "etc/.db_passwords/docmost.txt");
	mig_path(&stack, pw_joplin, sizeof(pw_joplin), "etc/.db_passwords/joplin.txt");
	cr_assert(mig_sql_as(&out, &stack, "docmost", pw_docmost, "docmost", "SELECT count(*) FROM items"),
			  "%s", sb_str(&out));
	cr_assert_str_eq(sb_str(&out), "2000");
	denied(&stack, "docmost", pw_docmost, "joplin", "SELECT 1", "permission denied for database");
	denied(&stack, "joplin", pw_joplin, "docmost", "SELECT 1", "permission denied for database");
	/* a wrong password is refused (the check above is not trust auth) */
	denied(&stack, "docmost", pw_joplin, "docmost", "SELECT 1", "password authentication failed");

	/* a third role: no connection; with CONNECT granted, still no data */
	free(mig_shared_value(&stack, "postgres",
						  "CREATE ROLE pgfold_outsider LOGIN PASSWORD 'outsider-test-password'"));
	str_format(pw_other, sizeof(pw_other), "%s/outsider.txt", stack.dir);
	FILE *f = fopen(pw_other, "w");

	cr_assert_not_null(f);
	fputs("outsider-test-password\n", f);
	fclose(f);
	denied(&stack, "pgfold_outsider", pw_other, "docmost", "SELECT 1",
		   "permission denied for database");
	free(mig_shared_value(&stack, "postgres",
						  "GRANT CONNECT ON DATABASE docmost TO pgfold_outsider"));
	denied(&stack, "pgfold_outsider", pw_other, "docmost", "SELECT count(*) FROM items",
		   "permission denied for table items");
	denied(&stack, "pgfold_outsider", pw_other, "docmost", "SELECT count(*) FROM \"Mixed-Case\"",
		   "permission denied for table");
	denied(&stack, "pgfold_outsider", pw_other, "docmost", "SELECT count(*) FROM _prisma_migrations",
		   "permission denied for table _prisma_migrations");
	denied(&stack, "pgfold_outsider", pw_other, "docmost", "SELECT count(*) FROM app.notes",
		   "permission denied for schema app");
	denied(&stack, "pgfold_outsider", pw_other, "docmost", "SELECT nextval('counter_seq')",
		   "permission denied for sequence counter_seq");

	/* no power beyond its own database */
	denied(&stack, "docmost", pw_docmost, "docmost", "CREATE DATABASE pgfold_evil",
		   "permission denied to create database");
	denied(&stack, "docmost", pw_docmost, "docmost", "CREATE ROLE pgfold_evil LOGIN",
		   "permission denied to create role");
	denied(&stack, "docmost", pw_docmost, "docmost", "ALTER ROLE docmost CREATEDB",
		   "permission denied");
	denied(&stack, "docmost", pw_docmost, "docmost", "GRANT pg_read_all_data TO docmost",
		   "must have admin option on role \"pg_read_all_data\"");
	/* password hashes: pg_authid and pg_shadow are closed, pg_roles masks them */
	denied(&stack, "docmost", pw_docmost, "docmost", "SELECT rolpassword FROM pg_authid",
		   "permission denied for table pg_authid");
	denied(&stack, "docmost", pw_docmost, "docmost", "SELECT passwd FROM pg_shadow",
		   "permission denied for view pg_shadow");
	cr_assert(mig_sql_as(&out, &stack, "docmost", pw_docmost, "docmost",
						 "SELECT string_agg(DISTINCT coalesce(rolpassword, 'null'), ',') FROM pg_roles "
						 "WHERE rolname IN ('joplin', 'docmost')"), "%s", sb_str(&out));
	cr_assert_str_eq(sb_str(&out), "********");
	/* a forged search_path reaches nothing of the other service's */
	denied(&stack, "docmost", pw_docmost, "docmost",
		   "SET search_path TO joplin, public; SELECT count(*) FROM joplin.public.items",
		   "cross-database references are not implemented");
	/* nor can it plant a table or function where the admin's default
	 * search_path ("$user", public) looks, in any database it can reach */
	denied(&stack, "joplin", pw_joplin, "postgres", "CREATE TABLE public.pg_trap(x int)",
		   "permission denied for schema public");
	denied(&stack, "joplin", pw_joplin, "postgres",
		   "CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS 'SELECT 1::text'",
		   "permission denied for schema public");

	free(dbs);
	free(roles);
	free(fp_d);
	free(fp_j);
	sb_free(&out);
}
