/*
 * test_files.c — what migrate does to the stack's files, in the lab: the
 * service file and its override keep the original's mode (0600 when a
 * password is written in clear). See mig.h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_files, .fini = teardown, .timeout = 600);

static mode_t
mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_mode & 07777;
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
	cr_assert_eq(mode_of(file), 0600, "%s holds a password and is %04o", file, mode_of(file));
	cr_assert_eq(mode_of(ovr), 0600, "%s holds a password and is %04o", ovr, mode_of(ovr));
	free(pw);
	free(fp);
}
