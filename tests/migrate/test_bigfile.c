/*
 * test_bigfile.c — "one big compose file": two apps, each with its own
 * postgres, in services/big.yml. Each db is addressed big/<db key>, folded
 * on its own (its database, role, override, journal) and rolled back on
 * its own; rolling back the first while the second is folded is refused;
 * rolling both back in reverse order gives the original bytes. See mig.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_bigfile, .fini = teardown, .timeout = 900);

#define A "big/docmost-db"
#define B "big/db"

/* The file now, byte for byte, equals want. */
static void
assert_file(const char *file, const StrBuf *want, const char *when)
{
	StrBuf now = STRBUF_INIT;

	mig_read(file, &now, false);
	cr_assert(now.len == want->len && memcmp(now.data, want->data, now.len) == 0,
			  "services/big.yml %s:\n%s\n--- expected ---\n%s", when, sb_str(&now), sb_str(want));
	sb_free(&now);
}

/* The line of `status` for addr starts with addr and has state. */
static void
assert_status(MigStack *s, const char *addr, const char *state)
{
	MigRun r;
	char want[128];

	mig_pgfold(s, &r, NULL, "status", NULL);
	mig_expect_exit(&r, 0, "status");
	cr_assert(str_format(want, sizeof(want), "\n%-20s %-10s", addr, state));
	cr_assert_not_null(strstr(sb_str(&r.out), want), "status has no \"%s\" line:\n%s", want,
					   sb_str(&r.out));
	mig_run_free(&r);
}

/* Each container's id and when it last started: app (a key of big.yml)
 * and db (a container name, or NULL). */
static void
start_times(StrBuf *out, const char *app, const char *db)
{
	cr_assert(lab_sh_capture(out, "docker inspect -f '{{.Id}} {{.State.StartedAt}}' %s-%s %s",
							 stack.id, app, db ? db : ""));
}

/* Neither stopped nor recreated by what ran since start_times. */
static void
assert_untouched(const StrBuf *before, const char *app, const char *db, const char *what)
{
	StrBuf now = STRBUF_INIT;

	start_times(&now, app, db);
	cr_assert_str_eq(sb_str(&now), sb_str(before), "%s stopped or recreated another db's "
					 "containers:\nbefore %s\nafter %s", what, sb_str(before), sb_str(&now));
	sb_free(&now);
}

static void
run_ok(MigStack *s, const char *what, const char *cmd, const char *addr)
{
	MigRun r;

	/* a rollback drops the shared database too: plan is ready again after */
	mig_pgfold(s, &r, NULL, cmd, addr, "--yes", strcmp(cmd, "rollback") == 0 ? "--drop-shared" : NULL,
			   NULL);
	mig_expect_exit(&r, 0, what);
	mig_run_free(&r);
}

Test(migrate_bigfile, two_dbs_one_file_fold_and_back_in_reverse_order)
{
	MigRun r;
	char file[PATH_MAX], dbc_a[160], dbc_b[160];
	StrBuf orig = STRBUF_INIT, after_a = STRBUF_INIT;

	mig_stack_init(&stack);
	stack.plain_names = true;
	mig_shared_start(&stack, MIG_PG15);
	mig_service_add(&stack, "big", "big", NULL);
	cr_assert(str_format(dbc_a, sizeof(dbc_a), "%s-docmost-db", stack.id));
	cr_assert(str_format(dbc_b, sizeof(dbc_b), "%s-joplin-db", stack.id));
	mig_service_up(&stack, "big", dbc_a);
	cr_assert(lab_wait_ready(dbc_b, 120), "%s not ready", dbc_b);
	mig_sql_fixture(dbc_a, "docmost", "docmost", "seed.sql");
	mig_sql_fixture(dbc_b, "joplin", "joplin", "seed.sql");

	char *fp_a = mig_fingerprint(dbc_a, "docmost", "docmost");
	char *fp_b = mig_fingerprint(dbc_b, "joplin", "joplin");

	mig_path(&stack, file, sizeof(file), "services/big.yml");
	mig_read(file, &orig, false);

	/* status: one line per db; the bare file name asks which */
	assert_status(&stack, A, "ready");
	assert_status(&stack, B, "ready");
	mig_pgfold(&stack, &r, NULL, "plan", "big", NULL);
	mig_expect_exit(&r, 2, "plan of the bare file name");
	cr_assert_not_null(strstr(sb_str(&r.err), "\"big\" holds several postgres services; name one: "
							  B ", " A), "%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "plan", A, NULL);
	mig_expect_exit(&r, 0, "plan " A);
	mig_run_free(&r);

	/* the first db: its own database, role, override and journal; the
	 * other db's containers are not its apps: never stopped, never
	 * recreated */
	StrBuf started_b = STRBUF_INIT;

	start_times(&started_b, "joplin", dbc_b);
	run_ok(&stack, "migrate " A, "migrate", A);
	assert_untouched(&started_b, "joplin", dbc_b, "migrate " A);
	sb_free(&started_b);
	mig_read(file, &after_a, false);
	cr_assert_not_null(strstr(sb_str(&after_a), "# database_name.docmost-db: docmost\n"));
	cr_assert_null(strstr(sb_str(&after_a), "\n  docmost-db:\n    image:"), "%s", sb_str(&after_a));
	cr_assert_not_null(strstr(sb_str(&after_a), "\n  db:\n"), "%s", sb_str(&after_a));
	cr_assert_eq(mig_glob_count(&stack, "overrides/big--docmost-db-dedicated-postgres.yml"), 1);
	cr_assert_eq(mig_glob_count(&stack, "backups/*/big--docmost-db.journal"), 1);

	char *got = mig_fingerprint(stack.shared, "admin", "docmost");

	cr_assert_str_eq(got, fp_a, "docmost's data on the shared instance");
	free(got);
	assert_status(&stack, A, "migrated");
	assert_status(&stack, B, "ready");

	/* the second, from the rewritten file */
	run_ok(&stack, "migrate " B, "migrate", B);
	got = mig_fingerprint(stack.shared, "admin", "joplin");
	cr_assert_str_eq(got, fp_b, "joplin's data on the shared instance");
	free(got);
	got = mig_shared_databases(&stack);
	cr_assert_str_eq(got, "docmost,joplin");
	free(got);
	assert_status(&stack, B, "migrated");

	/* the first cannot go back while the second is folded */
	StrBuf both = STRBUF_INIT;

	mig_read(file, &both, false);
	mig_pgfold(&stack, &r, NULL, "rollback", A, "--yes", NULL);
	mig_expect_exit(&r, 3, "rollback " A " while " B " is folded");
	cr_assert_not_null(strstr(sb_str(&r.err), "error: " A " cannot be rolled back: " B " was folded "
							  "after " A " in services/big.yml: roll it back first (`pgfold "
							  "rollback " B "`)"), "%s\n%s", sb_str(&r.out), sb_str(&r.err));
	cr_assert_null(strstr(sb_str(&r.err), "was edited since the migration"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	assert_file(file, &both, "changed by a refused rollback");

	/* reverse order: each gives back the state before its own fold; the
	 * folded docmost app keeps running through joplin's rollback */
	StrBuf started_a = STRBUF_INIT;

	start_times(&started_a, "docmost", NULL);
	run_ok(&stack, "rollback " B, "rollback", B);
	assert_untouched(&started_a, "docmost", NULL, "rollback " B);
	sb_free(&started_a);
	assert_file(file, &after_a, "after rolling back " B);
	got = mig_fingerprint(dbc_b, "joplin", "joplin");
	cr_assert_str_eq(got, fp_b, "joplin's data after its rollback");
	free(got);
	run_ok(&stack, "rollback " A, "rollback", A);
	assert_file(file, &orig, "after rolling back both");
	got = mig_fingerprint(dbc_a, "docmost", "docmost");
	cr_assert_str_eq(got, fp_a, "docmost's data after its rollback");
	free(got);
	assert_status(&stack, A, "ready");
	assert_status(&stack, B, "ready");

	free(fp_a);
	free(fp_b);
	sb_free(&both);
	sb_free(&after_a);
	sb_free(&orig);
}

/* Two dbs of one file with the same POSTGRES_DB would both become that
 * database on the shared instance: plan says so for each before either is
 * folded, and --db gives one another name. No container is needed. */
Test(migrate_bigfile, same_postgres_db_twice_is_refused_in_plan)
{
	MigRun r;
	char file[PATH_MAX];
	FILE *f;

	mig_stack_init(&stack);
	mig_path(&stack, file, sizeof(file), "services/twin.yml");
	f = fopen(file, "w");
	cr_assert_not_null(f, "%s", file);
	fprintf(f, "services:\n"
			"  a:\n    image: " MIG_PG15 "\n    network_mode: none\n    environment:\n"
			"      DATABASE_URL: postgresql://app:pw@%s-a-db:5432/app\n"
			"  a-db:\n    image: " MIG_PG15 "\n    container_name: %s-a-db\n    network_mode: none\n"
			"    environment:\n      POSTGRES_USER: app\n      POSTGRES_PASSWORD: pw\n"
			"      POSTGRES_DB: app\n"
			"  b:\n    image: " MIG_PG15 "\n    network_mode: none\n    environment:\n"
			"      DATABASE_URL: postgresql://app:pw@%s-b-db:5432/app\n"
			"  b-db:\n    image: " MIG_PG15 "\n    container_name: %s-b-db\n    network_mode: none\n"
			"    environment:\n      POSTGRES_USER: app\n      POSTGRES_PASSWORD: pw\n"
			"      POSTGRES_DB: app\n", stack.id, stack.id, stack.id, stack.id);
	fclose(f);

	mig_pgfold(&stack, &r, NULL, "plan", "twin/a-db", NULL);
	mig_expect_exit(&r, 3, "plan of a db whose POSTGRES_DB the other db has too");
	cr_assert_not_null(strstr(sb_str(&r.out), "twin/a-db and twin/b-db both use database \"app\" "
							  "(POSTGRES_DB); they cannot share it on the shared instance: give "
							  "this one another with --db NAME"), "%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "plan", "twin/b-db", "--db", "app_b", NULL);
	cr_assert_null(strstr(sb_str(&r.out), "both use database"), "%s", sb_str(&r.out));
	mig_run_free(&r);
}
