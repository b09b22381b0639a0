/*
 * test_rename_lab.c — `pgfold rename` on a migrated docmost stack in the
 * lab: bad input refused with one line and nothing changed, an open
 * session refused, then --terminate --role: database, role, password file,
 * service file and journal renamed, and the app's role logs in to the new
 * name and reads its data. Also migrate's closing `refs` line.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(rename_lab, .fini = teardown, .timeout = 600);

static void
expect_refused(MigStack *s, const char *want, int status, const char *from, const char *to)
{
	MigRun r;

	mig_pgfold(s, &r, NULL, "rename", from, to, "--yes", NULL);
	mig_expect_exit(&r, status, want);
	cr_expect_not_null(strstr(sb_str(&r.err), want), "want \"%s\" in:\n%s", want, sb_str(&r.err));
	mig_run_free(&r);
}

/* Sessions of anyone but the caller on db, as the admin sees them. */
static int
sessions(MigStack *s, const char *db)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
			 "AND pid <> pg_backend_pid()", db);

	char *v = mig_shared_value(s, "postgres", sql);
	int n = atoi(v);

	free(v);
	return n;
}

Test(rename_lab, open_session_refused_then_terminate_role_files_journal)
{
	MigRun r;
	char *fp = NULL, *v;
	char path[PATH_MAX], svcfile[PATH_MAX];
	const char *svc;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	fp = mig_seed_service(&stack, &mig_docmost, NULL);
	svc = mig_svc(&stack, &mig_docmost);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	/* the closing refs line names the old container */
	cr_expect_not_null(strstr(sb_str(&r.out), "  refs      "), "no refs line:\n%s", sb_str(&r.out));
	cr_expect_not_null(strstr(sb_str(&r.out), mig_name(&stack, mig_docmost.db_container)),
					   "%s", sb_str(&r.out));
	mig_run_free(&r);

	/* status --all counts what still names the stopped dedicated container */
	mig_path(&stack, path, sizeof(path), ".env");
	cr_assert_eq(lab_sh("echo 'OLD_DB_HOST=%s' >> '%s'", mig_name(&stack, mig_docmost.db_container),
						path), 0);
	mig_pgfold(&stack, &r, NULL, "status", "--all", NULL);
	mig_expect_exit(&r, 0, "status --all");

	char want[256];

	snprintf(want, sizeof(want), "1 line of the stack still names it (`pgfold refs %s`)",
			 mig_name(&stack, mig_docmost.db_container));
	cr_expect_not_null(strstr(sb_str(&r.out), want), "want \"%s\" in:\n%s", want, sb_str(&r.out));
	mig_run_free(&r);

	/* bad input: one line each, nothing changed */
	expect_refused(&stack, "NEW \"Docmost-New\" is not a name the rule keeps (lowercase a-z, "
				   "0-9 and '_', at most 63 bytes): use \"docmost_new\"", 2, "docmost", "Docmost-New");
	expect_refused(&stack, "NEW \"postgres\" is reserved", 2, "docmost", "postgres");
	expect_refused(&stack, "no database \"nope\" on the shared instance", 2, "nope", "other");
	expect_refused(&stack, "NEW \"template1\" is reserved", 2, "docmost", "template1");
	free(mig_shared_value(&stack, "postgres", "CREATE DATABASE taken"));
	expect_refused(&stack, "a database \"taken\" exists already on the shared instance; pick "
				   "another NEW", 2, "docmost", "taken");
	free(mig_shared_value(&stack, "postgres", "DROP DATABASE taken"));

	/* not the owner: the fix is said, nothing changed */
	free(mig_shared_value(&stack, "postgres",
						  "CREATE ROLE limited LOGIN CREATEDB PASSWORD 'limited-pw'"));

	const char *limited[] = { "PG_USER=limited", "PG_PASS=limited-pw", NULL };

	mig_pgfold(&stack, &r, limited, "rename", "docmost", "docmost_new", "--yes", NULL);
	mig_expect_exit(&r, 3, "rename by a role that does not own the database");
	cr_expect_not_null(strstr(sb_str(&r.err), "cannot rename \"docmost\": must be owner of "
							  "database \"docmost\" (owner: docmost) and have CREATEDB; set "
							  "PG_USER to a superuser, or run GRANT \"docmost\" TO \"limited\" "
							  "and ALTER ROLE \"limited\" CREATEDB as a superuser"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	free(mig_shared_value(&stack, "postgres", "DROP ROLE limited"));

	/* an open session: listed and refused */
	cr_assert_eq(lab_sh("docker exec -d %s psql -U admin -d docmost -c 'SELECT pg_sleep(600)'",
						stack.shared), 0);
	for (int i = 0; i < 50 && sessions(&stack, "docmost") == 0; i++)
		usleep(100 * 1000);
	cr_assert_eq(sessions(&stack, "docmost"), 1);
	mig_pgfold(&stack, &r, NULL, "rename", "docmost", "docmost_new", "--role", "--yes", NULL);
	mig_expect_exit(&r, 3, "rename with a session open");
	cr_expect_not_null(strstr(sb_str(&r.err), "\"docmost\" has 1 session(s) (listed above): stop "
							  "its apps, or pass --terminate to end them"), "%s", sb_str(&r.err));
	cr_expect_not_null(strstr(sb_str(&r.out), "  session   pid "), "%s", sb_str(&r.out));
	mig_run_free(&r);
	v = mig_shared_databases(&stack);
	cr_expect_str_eq(v, "docmost");
	free(v);

	/* --terminate --role */
	mig_pgfold(&stack, &r, NULL, "rename", "docmost", "docmost_new", "--role", "--terminate",
			   "--yes", NULL);
	mig_expect_exit(&r, 0, "rename --terminate --role");
	cr_expect_not_null(strstr(sb_str(&r.out), "renamed \"docmost\" to \"docmost_new\" (and its role)"),
					   "%s", sb_str(&r.out));
	mig_run_free(&r);
	cr_expect_eq(sessions(&stack, "docmost_new"), 0);
	v = mig_shared_databases(&stack);
	cr_expect_str_eq(v, "docmost_new");
	free(v);
	v = mig_shared_roles(&stack);
	cr_expect_str_eq(v, "docmost_new");
	free(v);
	mig_path(&stack, path, sizeof(path), "etc/.db_passwords/docmost_new.txt");
	cr_expect(mig_exists(path), "%s", path);
	mig_path(&stack, path, sizeof(path), "etc/.db_passwords/docmost.txt");
	cr_expect(!mig_exists(path), "%s still there", path);
	mig_path(&stack, svcfile, sizeof(svcfile), "services/%s.yml", svc);
	cr_expect(mig_file_contains(svcfile, "# database_name: docmost_new\n"));
	cr_expect(mig_file_contains(svcfile, "@postgres:5432/docmost_new?schema=public}"));
	cr_expect(mig_file_contains(svcfile, "postgresql://docmost_new:"));
	cr_expect_eq(mig_journal_count(&stack, svc, "database", "done"), 1);
	cr_expect_eq(mig_journal_count(&stack, svc, "apply", "done"), 2);   /* migrate's, rename's */

	/* the app was recreated with the new settings */
	v = mig_inspect(mig_name(&stack, mig_docmost.apps[0]), "{{json .Config.Env}}");
	cr_expect_not_null(strstr(v, "@postgres:5432/docmost_new?schema=public}"), "%s", v);
	free(v);

	/* the app's role logs in under its new name and reads the data */
	StrBuf out = STRBUF_INIT;

	mig_path(&stack, path, sizeof(path), "etc/.db_passwords/docmost_new.txt");
	cr_expect(mig_sql_as(&out, &stack, "docmost_new", path, "docmost_new",
						 "SELECT count(*) FROM items"), "%s", sb_str(&out));
	cr_expect_str_eq(sb_str(&out), "2000");
	sb_free(&out);

	/* still migrated; rollback follows the rename and brings the data back */
	mig_pgfold(&stack, &r, NULL, "status", svc, NULL);
	mig_expect_exit(&r, 0, "status after rename");
	cr_expect_not_null(strstr(sb_str(&r.out), "migrated"), "%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback after rename");
	mig_run_free(&r);
	v = mig_fingerprint(mig_name(&stack, mig_docmost.db_container), "docmost", "docmost");
	cr_expect_str_eq(v, fp);
	free(v);
	free(fp);
}

/* A step that fails puts back every step done, last first; a crash
 * (PGFOLD_FAULT_AFTER) is undone by the next rename before it starts. */
Test(rename_lab, failure_undone_and_crash_undone_by_the_next_run)
{
	MigRun r;
	char *fp, *v;
	char path[PATH_MAX], svcfile[PATH_MAX];
	StrBuf before = STRBUF_INIT, after = STRBUF_INIT;
	const char *svc;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	fp = mig_seed_service(&stack, &mig_docmost, NULL);
	svc = mig_svc(&stack, &mig_docmost);

	/* --db must be a name the rule keeps */
	mig_pgfold(&stack, &r, NULL, "plan", svc, "--db", "Docmost-Main", NULL);
	cr_expect_not_null(strstr(sb_str(&r.err), ": --db \"Docmost-Main\" is not a name the rule keeps "
							  "(lowercase a-z, 0-9 and '_', at most 63 bytes): use \"docmost_main\""),
					   "%s", sb_str(&r.err));
	cr_expect_neq(r.status, 0);
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);
	mig_path(&stack, svcfile, sizeof(svcfile), "services/%s.yml", svc);
	mig_read(svcfile, &before, false);

	/* --dry-run: the plan, nothing changed */
	mig_pgfold(&stack, &r, NULL, "rename", "docmost", "docmost_x", "--role", "--dry-run", NULL);
	mig_expect_exit(&r, 0, "rename --dry-run");
	cr_expect_not_null(strstr(sb_str(&r.out), "would rename database \"docmost\" to \"docmost_x\" "
							  "on the shared instance\n"), "%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_read(svcfile, &after, false);
	cr_expect(before.len == after.len && memcmp(before.data, after.data, before.len) == 0);
	sb_reset(&after);
	v = mig_shared_databases(&stack);
	cr_expect_str_eq(v, "docmost");
	free(v);

	/* a database no service uses: renamed, journaled under its own name */
	free(mig_shared_value(&stack, "postgres", "CREATE DATABASE loose_db"));
	mig_pgfold(&stack, &r, NULL, "rename", "loose_db", "loose_new", "--no-backup", "--yes", NULL);
	mig_expect_exit(&r, 0, "rename of a database no service uses");
	cr_expect_not_null(strstr(sb_str(&r.out), "  file      none (no migrated service of the stack "
							  "uses this database)\n"), "%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_path(&stack, path, sizeof(path), "backups/postgres-migrations/loose_db.journal");
	cr_expect(mig_file_contains(path, "\"op\":\"rename\""), "%s", path);
	free(mig_shared_value(&stack, "postgres", "DROP DATABASE loose_new"));

	/* the password file's new name is taken: fails after database and role */
	mig_path(&stack, path, sizeof(path), "etc/.db_passwords/docmost_x.txt");
	cr_assert_eq(lab_sh("echo taken > '%s'", path), 0);
	mig_pgfold(&stack, &r, NULL, "rename", "docmost", "docmost_x", "--role", "--yes", NULL);
	mig_expect_exit(&r, 3, "rename whose password file name is taken");
	cr_expect_not_null(strstr(sb_str(&r.err), "docmost_x.txt exists already: move it away, then "
							  "run rename again"), "%s", sb_str(&r.err));
	cr_expect_not_null(strstr(sb_str(&r.err), "rename of \"docmost\" undone: nothing changed "
							  "(the backup is kept)"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	v = mig_shared_databases(&stack);
	cr_expect_str_eq(v, "docmost");
	free(v);
	v = mig_shared_roles(&stack);
	cr_expect_str_eq(v, "docmost");
	free(v);
	cr_expect_eq(mig_journal_count(&stack, svc, "abort", NULL), 1);
	unlink(path);

	/* a crash after the role step */
	const char *fault[] = { "PGFOLD_FAULT_AFTER=role", NULL };

	mig_pgfold(&stack, &r, fault, "rename", "docmost", "docmost_x", "--role", "--no-backup",
			   "--yes", NULL);
	mig_expect_exit(&r, 99, "rename killed after its role step");
	mig_run_free(&r);
	v = mig_shared_databases(&stack);
	cr_expect_str_eq(v, "docmost_x");
	free(v);

	/* the next rename undoes it first, then does what it is asked */
	mig_pgfold(&stack, &r, NULL, "rename", "docmost", "docmost_y", "--no-backup", "--yes", NULL);
	mig_expect_exit(&r, 0, "rename after a crash");
	cr_expect_not_null(strstr(sb_str(&r.err), "of \"docmost\" to \"docmost_x\" was interrupted: "
							  "undoing it first"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	v = mig_shared_databases(&stack);
	cr_expect_str_eq(v, "docmost_y");
	free(v);
	v = mig_shared_roles(&stack);
	cr_expect_str_eq(v, "docmost");
	free(v);
	mig_read(svcfile, &after, false);
	cr_expect(mig_file_contains(svcfile, "# database_name: docmost_y\n"));
	cr_expect(mig_file_contains(svcfile, "postgresql://docmost:"));
	cr_expect(mig_file_contains(svcfile, "@postgres:5432/docmost_y?schema=public}"));
	sb_free(&before);
	sb_free(&after);
	free(fp);
}
