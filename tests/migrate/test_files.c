/*
 * test_files.c — what migrate does to the stack's files, in the lab: the
 * service file and its override keep the original's mode (0600 when a
 * password is written in clear); a service file that is a link out of the
 * stack root is refused by plan and migrate (exit 3, nothing changed), one
 * that resolves inside the root (OnRamp's services-enabled/ ->
 * services-available/) is edited through, and stays a link. See mig.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"
#include "pgfold/fsutil.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_files, .fini = teardown, .timeout = 600);

/* The line of the output that names both needles (asserts there is one). */
static void
expect_line_with(const MigRun *r, const char *a, const char *b, const char *what)
{
	const char *texts[] = { sb_str(&r->out), sb_str(&r->err) };

	for (int i = 0; i < 2; i++)
		for (const char *line = texts[i]; line && *line;)
		{
			const char *nl = strchr(line, '\n');
			size_t n = nl ? (size_t) (nl - line) : strlen(line);
			char *copy = strndup(line, n);
			bool hit = strstr(copy, a) && strstr(copy, b);

			free(copy);
			if (hit)
				return;
			line = nl ? nl + 1 : NULL;
		}
	cr_assert_fail("%s: no line names both %s and %s:\n%s\n%s", what, a, b, sb_str(&r->out),
				   sb_str(&r->err));
}

Test(migrate_files, links_out_of_the_root_refused_inside_edited_through)
{
	char svc[96], app[160], redis[160], db[160];
	char file[PATH_MAX], outside[PATH_MAX], avail[PATH_MAX], target[PATH_MAX], ovr[PATH_MAX];
	char link_text[PATH_MAX];
	MigSnapshot snap;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	str_copy(app, sizeof(app), mig_name(&stack, mig_docmost.apps[0]));
	str_copy(redis, sizeof(redis), mig_name(&stack, mig_docmost.others[0]));
	str_copy(db, sizeof(db), mig_name(&stack, mig_docmost.db_container));
	mig_path(&stack, file, sizeof(file), "services/%s.yml", svc);

	/* 1. the file is a link to a directory outside the root */
	str_format(outside, sizeof(outside), "%s/elsewhere/%s.yml", stack.dir, svc);
	cr_assert_eq(lab_sh("mkdir %s/elsewhere && mv %s %s && ln -s %s %s", stack.dir, file,
						outside, outside, file), 0);

	const char *all[] = { app, redis, db, NULL };

	mig_snapshot(&stack, svc, &snap);
	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 3, "plan of a service file linked out of the root");
	expect_line_with(&r, file, outside, "plan");
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate of a service file linked out of the root");
	expect_line_with(&r, file, outside, "migrate");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, all);
	mig_snapshot_free(&snap);

	/* 2. the same file in services-available/, linked from services/ as
	 * OnRamp enables services: migrated through the link */
	mig_path(&stack, avail, sizeof(avail), "services-available");
	str_format(target, sizeof(target), "%s/%s.yml", avail, svc);
	str_format(link_text, sizeof(link_text), "../services-available/%s.yml", svc);
	cr_assert_eq(lab_sh("mkdir %s && mv %s %s && chmod 0640 %s && rm %s && ln -s %s %s", avail,
						outside, target, target, file, link_text, file), 0);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate through a link inside the root");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char got[PATH_MAX];
	ssize_t n = readlink(file, got, sizeof(got) - 1);

	cr_assert_gt(n, 0, "%s is no longer a link", file);
	got[n] = '\0';
	cr_assert_str_eq(got, link_text);
	cr_assert_eq(mig_file_mode(target), 0640, "the rewritten file is %04o",
				 mig_file_mode(target));
	mig_path(&stack, ovr, sizeof(ovr), "overrides/%s-dedicated-postgres.yml", svc);
	cr_assert_eq(mig_file_mode(ovr), 0640, "the override is %04o, not the service file's mode",
				 mig_file_mode(ovr));
	cr_assert_eq(mig_glob_count(&stack, "services-available/.*" FS_TMP_MARKER "*"), 0,
				 "temporary files left in services-available/");
	free(fp);
}

/* Replace every needle in path by repl. */
static void
replace_in(const char *path, const char *needle, const char *repl)
{
	StrBuf in = STRBUF_INIT, out = STRBUF_INIT;
	FILE *f;

	mig_read(path, &in, false);
	for (const char *p = sb_str(&in), *hit; *p; p = hit + strlen(needle))
	{
		hit = strstr(p, needle);
		if (hit == NULL)
		{
			sb_appends(&out, p);
			break;
		}
		sb_append(&out, p, (size_t) (hit - p));
		sb_appends(&out, repl);
	}
	cr_assert_not_null(f = fopen(path, "w"));
	fwrite(out.data, 1, out.len, f);
	fclose(f);
	sb_free(&in);
	sb_free(&out);
}

/* The original has the password in clear: the new file gets the new one in
 * clear and the override carries the old one, so both become 0600 even
 * though the original was 0644. */
Test(migrate_files, literal_password_makes_both_files_owner_only)
{
	char svc[96], dbc[160], file[PATH_MAX], orig[PATH_MAX], ovr[PATH_MAX];
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	str_copy(dbc, sizeof(dbc), mig_name(&stack, mig_docmost.db_container));
	mig_service_add(&stack, mig_docmost.fixture, svc, NULL);
	mig_path(&stack, file, sizeof(file), "services/%s.yml", svc);
	str_format(orig, sizeof(orig), "%s/orig/%s.yml", stack.dir, svc);
	replace_in(file, "${DOCMOST_POSTGRES_PASSWORD}", "docmost-test-password");
	replace_in(orig, "${DOCMOST_POSTGRES_PASSWORD}", "docmost-test-password");
	cr_assert_eq(chmod(file, 0644), 0);
	mig_service_up(&stack, svc, dbc);
	mig_sql_fixture(dbc, mig_docmost.db_user, mig_docmost.src_db, "seed.sql");

	char *fp = mig_fingerprint(dbc, mig_docmost.db_user, mig_docmost.src_db);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate of a file with the password in clear");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *pw = mig_role_password(&stack, mig_docmost.db);

	mig_path(&stack, ovr, sizeof(ovr), "overrides/%s-dedicated-postgres.yml", svc);
	cr_assert(mig_file_contains(file, pw), "the new password is not in clear in %s", file);
	cr_assert(mig_file_contains(ovr, "docmost-test-password"), "%s lacks the old password", ovr);
	cr_assert_eq(mig_file_mode(file), 0600, "%s holds a password and is %04o", file,
				 mig_file_mode(file));
	cr_assert_eq(mig_file_mode(ovr), 0600, "%s holds a password and is %04o", ovr,
				 mig_file_mode(ovr));
	free(pw);
	free(fp);
}
