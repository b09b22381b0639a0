/*
 * test_runs.c — run ids (an injected clock, a second already used), the
 * names of run files, the run log's mode.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

static char dir[PATH_MAX];

static void
setup(void)
{
	fst_mkdtemp(dir);
}

static void
teardown(void)
{
	log_close_file();
	fst_rm_rf(dir);
}

TestSuite(journal_runs, .init = setup, .fini = teardown);

/* 2026-11-21 10:15:00 UTC */
#define T0 ((time_t) 1795256100)

static time_t
fixed_clock(void)
{
	return T0;
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

Test(journal_runs, stamps)
{
	char stamp[JOURNAL_STAMP_LEN + 1];

	cr_assert(journal_stamp(0, stamp));
	cr_assert_str_eq(stamp, "19700101T000000Z");
	cr_assert(journal_stamp(T0, stamp));
	cr_assert_str_eq(stamp, "20261121T101500Z");
}

Test(journal_runs, new_run_id_is_the_clocks_second)
{
	Journal j = JOURNAL_INIT;
	char id[JOURNAL_STAMP_LEN + 1], want[JOURNAL_STAMP_LEN + 1];

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert(journal_new_run_id(&j, fixed_clock, id));
	cr_assert_str_eq(id, "20261121T101500Z");

	/* NULL: the real clock, now */
	time_t before = time(NULL);

	cr_assert(journal_new_run_id(&j, NULL, id));
	for (time_t t = before; ; t++)
	{
		cr_assert(journal_stamp(t, want));
		if (strcmp(id, want) == 0)
			break;
		cr_assert_leq(t, time(NULL), "%s is not a stamp of now", id);
	}
	journal_close(&j);
}

/* A migration completed, then a rollback refused, both in the clock's
 * second: the next rollback gets the next free second, at once, and the id
 * is still a plain stamp (backups parse it; test_backups_names.c). */
Test(journal_runs, same_second_gets_the_next_free_second_without_waiting)
{
	Journal j = JOURNAL_INIT;
	char id[JOURNAL_STAMP_LEN + 1];

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "20261121T101500Z", MIG_STEP_ROLE,
							 JOURNAL_DONE, NULL));
	cr_assert(journal_complete(&j, JOURNAL_MIGRATE, "20261121T101500Z", NULL));
	cr_assert(journal_append(&j, JOURNAL_ROLLBACK, "20261121T101501Z", RB_STEP_OPTIONS,
							 JOURNAL_DONE, NULL));
	cr_assert(journal_append(&j, JOURNAL_ROLLBACK, "20261121T101501Z", JOURNAL_STEP_ABORT,
							 JOURNAL_FAILED, NULL));

	double began = now_mono();

	cr_assert(journal_new_run_id(&j, fixed_clock, id));
	cr_assert_lt(now_mono() - began, 0.5, "it waited");
	cr_assert_str_eq(id, "20261121T101502Z");
	cr_assert_eq(strlen(id), JOURNAL_STAMP_LEN);

	/* the new run takes it: the one after skips it too */
	cr_assert(journal_append(&j, JOURNAL_ROLLBACK, id, RB_STEP_OPTIONS, JOURNAL_DONE, NULL));
	cr_assert(journal_new_run_id(&j, fixed_clock, id));
	cr_assert_str_eq(id, "20261121T101503Z");
	journal_close(&j);
}

Test(journal_runs, run_file_names)
{
	char path[PATH_MAX], want[PATH_MAX];

	cr_assert(journal_run_file(dir, "docmost", "", "20261121T101500Z", ".dump", path,
							   sizeof(path)));
	cr_assert(str_format(want, sizeof(want),
						 "%s/postgres-migrations/docmost_20261121T101500Z.dump", dir));
	cr_assert_str_eq(path, want);
	cr_assert(journal_run_file(dir, "docmost", JOURNAL_PRE_ROLLBACK, "20261121T101500Z",
							   ".dump", path, sizeof(path)));
	cr_assert(str_format(want, sizeof(want),
						 "%s/postgres-migrations/docmost_pre_rollback_20261121T101500Z.dump", dir));
	cr_assert_str_eq(path, want);
	cr_assert(journal_run_file(dir, "docmost", JOURNAL_ROLLBACK_FILE, "20261121T101500Z",
							   ".override.yml", path, sizeof(path)));
	cr_assert(str_format(want, sizeof(want),
						 "%s/postgres-migrations/docmost_rollback_20261121T101500Z.override.yml",
						 dir));
	cr_assert_str_eq(path, want);

	log_set_level(LOG_FATAL);
	cr_assert_not(journal_run_file(dir, "docmost", "", "x", "/../x", path, sizeof(path)));
	cr_assert_not(journal_run_file(dir, "docmost", "a/", "x", ".log", path, sizeof(path)));
	cr_assert_not(journal_run_file(dir, "docmost", "", "../x", ".log", path, sizeof(path)));
	cr_assert_not(journal_run_file(dir, "docmost", "", "", ".log", path, sizeof(path)));
	cr_assert_not(journal_run_file(dir, "a/b", "", "x", ".log", path, sizeof(path)));
	cr_assert_not(journal_run_file(dir, "docmost", "", "x", ".log", path, 20));
}

/* 0640 whatever the umask; a resumed run appends to its log. */
Test(journal_runs, run_log_mode_and_append)
{
	char logpath[PATH_MAX], want[PATH_MAX];
	struct stat st;

	umask(0);
	cr_assert(journal_open_run_log(dir, "docmost", JOURNAL_ROLLBACK_FILE, "20261121T101500Z",
								   logpath, sizeof(logpath)));
	umask(022);
	cr_assert(str_format(want, sizeof(want),
						 "%s/postgres-migrations/docmost_rollback_20261121T101500Z.log", dir));
	cr_assert_str_eq(logpath, want);
	log_info("first line");
	log_close_file();
	cr_assert_eq(stat(logpath, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);

	umask(077);
	cr_assert(journal_open_run_log(dir, "docmost", JOURNAL_ROLLBACK_FILE, "20261121T101500Z",
								   NULL, 0));
	umask(022);
	log_info("second line");
	log_close_file();
	cr_assert_eq(stat(logpath, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);

	char *text = fst_slurp(logpath, NULL);

	cr_assert_not_null(strstr(text, "first line"));
	cr_assert_not_null(strstr(text, "second line"));
	free(text);

	/* a new file under umask 077: still 0640 */
	umask(077);
	cr_assert(journal_open_run_log(dir, "docmost", "", "20261121T101501Z", logpath,
								   sizeof(logpath)));
	umask(022);
	log_close_file();
	cr_assert_eq(stat(logpath, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
}
