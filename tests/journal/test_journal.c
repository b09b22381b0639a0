/*
 * test_journal.c — the per-service journal: appends, torn and corrupt
 * lines, resume queries, durability across a SIGKILL'd writer.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

static char dir[PATH_MAX];
static char jpath[PATH_MAX];

static void
setup(void)
{
	fst_mkdtemp(dir);
	cr_assert(str_format(jpath, sizeof(jpath), "%s/" JOURNAL_SUBDIR "/docmost" JOURNAL_SUFFIX, dir));
}

static void
teardown(void)
{
	log_close_file();
	fst_rm_rf(dir);
}

TestSuite(journal, .init = setup, .fini = teardown);

/* Journal content written by hand, as a crash or an editor left it. */
static void
put_journal(const char *text, size_t len)
{
	char jdir[PATH_MAX];

	fst_join(jdir, dir, JOURNAL_SUBDIR);
	mkdir(jdir, 0750);
	fst_put(jpath, text, len);
}

#define REC(run, step, status) \
	"{\"ts\":\"2026-11-21T10:00:00.000Z\",\"op\":\"migrate\",\"run\":\"" run \
	"\",\"step\":\"" step "\",\"status\":\"" status "\"}\n"

static char *
log_to_file(char *logpath)
{
	fst_join(logpath, dir, "test.log");
	cr_assert(log_open_file(logpath));
	return logpath;
}

static char *
read_log(const char *logpath)
{
	log_close_file();
	char *text = fst_slurp(logpath, NULL);

	cr_assert_not_null(text);
	return text;
}

Test(journal, append_and_read_back)
{
	Journal j = JOURNAL_INIT;
	struct stat st;
	char jdir[PATH_MAX];

	umask(0);
	cr_assert(journal_open(dir, "docmost", &j));
	umask(022);
	fst_join(jdir, dir, JOURNAL_SUBDIR);
	cr_assert_eq(stat(jdir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, JOURNAL_DIR_MODE);
	cr_assert_eq(stat(jpath, &st), 0);
	cr_assert_eq(st.st_mode & 0777, JOURNAL_FILE_MODE);
	cr_assert_eq(journal_count(&j), 0);

	json_t *fields = json_pack("{s:s, s:I, s:s}", "path", "backups/x.dump",
							   "bytes", (json_int_t) 5000000000LL, "sha256", "ab12");

	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "r1", "preflight", JOURNAL_DONE, NULL));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "r1", "dump", JOURNAL_STARTED, NULL));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "r1", "dump", JOURNAL_DONE, fields));
	cr_assert_eq(fields->refcount, 1, "fields are borrowed, not stolen");
	json_decref(fields);
	cr_assert_eq(journal_count(&j), 3);
	journal_close(&j);

	/* One compact object per line, fixed fields first, newline-terminated. */
	size_t len = 0;
	char *text = fst_slurp(jpath, &len);
	int lines = 0;

	for (char *p = text; *p; p = strchr(p, '\n') + 1, lines++)
	{
		cr_assert(str_has_prefix(p, "{\"ts\":\""), "line: %s", p);
		cr_assert_not_null(strchr(p, '\n'));
	}
	cr_assert_eq(lines, 3);
	cr_assert_eq(text[len - 1], '\n');
	free(text);

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert_eq(journal_count(&j), 3);

	json_t *dump = journal_step_done(&j, "r1", "dump");

	cr_assert_not_null(dump);
	cr_assert_str_eq(json_string_value(json_object_get(dump, "sha256")), "ab12");
	cr_assert_eq(json_integer_value(json_object_get(dump, "bytes")), 5000000000LL);
	cr_assert_str_eq(json_string_value(json_object_get(dump, "op")), "migrate");
	const char *ts = json_string_value(json_object_get(dump, "ts"));

	cr_assert_eq(strlen(ts), 24, "ts: %s", ts);
	cr_assert_eq(ts[23], 'Z');
	journal_close(&j);
	journal_close(&j);   /* twice: harmless */
}

Test(journal, torn_last_line_is_ignored_then_cut)
{
	const char good[] = REC("r1", "preflight", "done") REC("r1", "dump", "started");
	const char torn[] = "{\"ts\":\"2026-11-21T10:00:01.000Z\",\"op\":\"migr";
	Journal j = JOURNAL_INIT;
	StrBuf all = STRBUF_INIT;
	bool exists = false;
	char logpath[PATH_MAX];

	sb_appends(&all, good);
	sb_appends(&all, torn);
	put_journal(all.data, all.len);

	/* Read-only: ignored with a warning, the file untouched. */
	log_to_file(logpath);
	cr_assert(journal_load(dir, "docmost", &j, &exists));
	cr_assert(exists);
	cr_assert_eq(journal_count(&j), 2);
	journal_close(&j);

	char *log = read_log(logpath);

	cr_assert_not_null(strstr(log, "incomplete last line (line 3"), "%s", log);
	free(log);

	size_t len = 0;
	char *text = fst_slurp(jpath, &len);

	cr_assert_eq(len, all.len);
	free(text);

	/* For writing: cut, so the next record starts on a clean line. */
	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert_eq(journal_count(&j), 2);
	text = fst_slurp(jpath, &len);
	cr_assert_str_eq(text, good);
	free(text);
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "r1", "dump", JOURNAL_DONE, NULL));
	journal_close(&j);
	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert_eq(journal_count(&j), 3);
	cr_assert_not_null(journal_step_done(&j, "r1", "dump"));
	journal_close(&j);
	sb_free(&all);
}

Test(journal, garbage_last_line_with_newline_is_torn)
{
	/* A crash can leave zeros where the last record should be. */
	const char good[] = REC("r1", "preflight", "done");
	char buf[sizeof(good) + 40];
	Journal j = JOURNAL_INIT;

	memcpy(buf, good, sizeof(good) - 1);
	memset(buf + sizeof(good) - 1, 0, 39);
	buf[sizeof(buf) - 2] = '\n';
	put_journal(buf, sizeof(buf) - 1);
	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert_eq(journal_count(&j), 1);
	journal_close(&j);

	/* A valid record without its newline was never acknowledged either. */
	put_journal(good, sizeof(good) - 2);
	cr_assert(journal_load(dir, "docmost", &j, NULL));
	cr_assert_eq(journal_count(&j), 0);
	journal_close(&j);
}

Test(journal, corrupt_middle_line_is_an_error_naming_it)
{
	const char text[] = REC("r1", "preflight", "done") "{\"ts\": oops\n" REC("r1", "dump", "done");
	Journal j = JOURNAL_INIT;
	char logpath[PATH_MAX];

	put_journal(text, sizeof(text) - 1);
	log_to_file(logpath);
	cr_assert_not(journal_open(dir, "docmost", &j));
	cr_assert_not(journal_load(dir, "docmost", &j, NULL));

	char *log = read_log(logpath);

	cr_assert_not_null(strstr(log, "line 2 is not a valid record"), "%s", log);
	free(log);

	/* Nothing was cut from a journal that is damaged in the middle. */
	size_t len = 0;
	char *now = fst_slurp(jpath, &len);

	cr_assert_eq(len, sizeof(text) - 1);
	free(now);
}

Test(journal, structurally_invalid_records_are_errors)
{
	const char *bad[] = {
		"[1,2]\n",
		"{\"ts\":\"x\",\"op\":\"migrate\",\"run\":\"r1\",\"step\":\"dump\"}\n",
		"{\"ts\":\"x\",\"op\":\"explode\",\"run\":\"r1\",\"step\":\"dump\",\"status\":\"done\"}\n",
		"{\"ts\":\"x\",\"op\":\"migrate\",\"run\":\"r1\",\"step\":\"dump\",\"status\":\"meh\"}\n",
		"{\"ts\":\"x\",\"op\":\"migrate\",\"run\":\"../r\",\"step\":\"dump\",\"status\":\"done\"}\n",
		"{\"ts\":\"x\",\"op\":\"rollback\",\"run\":\"r1\",\"step\":\"dump\",\"status\":\"done\"}\n",
		"{\"ts\":\"x\",\"ts\":\"y\",\"op\":\"migrate\",\"run\":\"r1\",\"step\":\"s\",\"status\":\"done\"}\n",
	};

	size_t nbad = sizeof(bad) / sizeof(bad[0]);

	for (size_t i = 0; i < nbad; i++)
	{
		StrBuf sb = STRBUF_INIT;
		Journal j = JOURNAL_INIT;

		/* In the middle. */
		sb_appends(&sb, REC("r1", "preflight", "done"));
		sb_appends(&sb, bad[i]);
		sb_appends(&sb, REC("r1", "dump", "done"));
		put_journal(sb.data, sb.len);
		cr_assert_not(journal_load(dir, "docmost", &j, NULL), "accepted bad record %zu", i);

		/* Last, complete, valid JSON but not a record: not a torn write,
		 * an error too (the duplicate-key case is invalid JSON: torn). */
		if (i < nbad - 1)
		{
			sb_reset(&sb);
			sb_appends(&sb, REC("r1", "preflight", "done"));
			sb_appends(&sb, bad[i]);
			put_journal(sb.data, sb.len);
			cr_assert_not(journal_load(dir, "docmost", &j, NULL), "accepted bad last record %zu", i);
		}
		sb_free(&sb);
	}
}

/* A completed retire leaves the fold migrated (pgfold retire, issue 19);
 * a completed rollback after it does not. */
Test(journal, retire_keeps_migrated)
{
	Journal j = JOURNAL_INIT;
	const char *run = NULL;

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert(journal_complete(&j, JOURNAL_MIGRATE, "m1", NULL));
	cr_assert(journal_append(&j, JOURNAL_RETIRE, "t1", "inventory", JOURNAL_DONE, NULL));
	cr_assert(journal_complete(&j, JOURNAL_RETIRE, "t1", NULL));
	cr_assert(journal_is_migrated(&j, &run));
	cr_assert_str_eq(run, "m1");
	cr_assert(journal_complete(&j, JOURNAL_ROLLBACK, "b1", NULL));
	cr_assert_not(journal_is_migrated(&j, NULL));
	journal_close(&j);
}

Test(journal, resume_queries)
{
	Journal j = JOURNAL_INIT;
	const char *run = "x";
	json_t *f = json_pack("{s:s}", "sha256", "00ff");

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert_null(journal_latest_run(&j, JOURNAL_MIGRATE));
	cr_assert_not(journal_is_migrated(&j, &run));
	cr_assert_null(run);

	/* An interrupted migrate: dump done, restore failed. */
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "preflight", JOURNAL_DONE, NULL));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_STARTED, NULL));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_DONE, f));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "restore", JOURNAL_STARTED, NULL));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "restore", JOURNAL_FAILED, NULL));
	json_decref(f);

	cr_assert_str_eq(journal_latest_run(&j, JOURNAL_MIGRATE), "m1");
	cr_assert_null(journal_latest_run(&j, JOURNAL_ROLLBACK));
	cr_assert_not_null(journal_step_done(&j, "m1", "dump"));
	cr_assert_null(journal_step_done(&j, "m1", "restore"));
	cr_assert_str_eq(json_string_value(json_object_get(journal_step(&j, "m1", "restore"), "status")),
					 "failed");
	cr_assert_null(journal_step(&j, "m1", "rewrite"));
	cr_assert_null(journal_step_done(&j, "m2", "dump"));
	cr_assert_not(journal_run_complete(&j, "m1"));
	cr_assert_not(journal_is_migrated(&j, NULL));

	/* The resumed run finishes. */
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "restore", JOURNAL_DONE, NULL));
	cr_assert(journal_complete(&j, JOURNAL_MIGRATE, "m1", NULL));
	cr_assert(journal_run_complete(&j, "m1"));
	cr_assert(journal_is_migrated(&j, &run));
	cr_assert_str_eq(run, "m1");

	/* A rollback in progress does not undo "migrated"; its completion does. */
	cr_assert(journal_append(&j, JOURNAL_ROLLBACK, "b1", "restore-service", JOURNAL_STARTED, NULL));
	cr_assert(journal_is_migrated(&j, NULL));
	cr_assert_str_eq(journal_latest_run(&j, JOURNAL_ROLLBACK), "b1");
	cr_assert(journal_complete(&j, JOURNAL_ROLLBACK, "b1", NULL));
	cr_assert_not(journal_is_migrated(&j, &run));

	/* Migrated again. */
	cr_assert(journal_complete(&j, JOURNAL_MIGRATE, "m2", NULL));
	cr_assert(journal_is_migrated(&j, &run));
	cr_assert_str_eq(run, "m2");

	/* The same answers after a reopen. */
	journal_close(&j);
	cr_assert(journal_load(dir, "docmost", &j, NULL));
	cr_assert(journal_is_migrated(&j, &run));
	cr_assert_str_eq(run, "m2");

	JournalRun *runs = NULL;
	size_t n = journal_runs(&j, &runs);

	cr_assert_eq(n, 3);
	cr_assert_str_eq(runs[0].run, "m1");
	cr_assert_eq(runs[0].op, JOURNAL_MIGRATE);
	cr_assert(runs[0].complete);
	cr_assert_eq(runs[0].records, 7);
	cr_assert_str_eq(runs[0].last_step, JOURNAL_STEP_COMPLETE);
	cr_assert_str_eq(runs[1].run, "b1");
	cr_assert_eq(runs[1].op, JOURNAL_ROLLBACK);
	cr_assert_eq(runs[1].records, 2);
	cr_assert_str_eq(runs[2].run, "m2");
	cr_assert_eq(runs[2].last_status, JOURNAL_DONE);
	free(runs);
	journal_close(&j);
}

Test(journal, step_started_again_is_not_done)
{
	Journal j = JOURNAL_INIT;

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_DONE, NULL));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_STARTED, NULL));
	cr_assert_null(journal_step_done(&j, "m1", "dump"));
	journal_close(&j);
}

Test(journal, append_refuses_bad_input)
{
	Journal j = JOURNAL_INIT;
	json_t *reserved = json_pack("{s:s}", "status", "done");
	json_t *array = json_array();

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_DONE, NULL));
	cr_assert_not(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_DONE, reserved));
	cr_assert_not(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_DONE, array));
	cr_assert_not(journal_append(&j, JOURNAL_ROLLBACK, "m1", "dump", JOURNAL_DONE, NULL),
				  "a run keeps its op");
	cr_assert_not(journal_append(&j, JOURNAL_MIGRATE, "m1", "bad step", JOURNAL_DONE, NULL));
	cr_assert_not(journal_append(&j, JOURNAL_MIGRATE, "", "dump", JOURNAL_DONE, NULL));
	cr_assert_eq(journal_count(&j), 1);
	journal_close(&j);
	json_decref(reserved);
	json_decref(array);

	/* Read-only journals cannot be appended to. */
	cr_assert(journal_load(dir, "docmost", &j, NULL));
	cr_assert_not(journal_append(&j, JOURNAL_MIGRATE, "m1", "x", JOURNAL_DONE, NULL));
	journal_close(&j);
	cr_assert(journal_load(dir, "docmost", &j, NULL));
	cr_assert_eq(journal_count(&j), 1);
	journal_close(&j);
}

Test(journal, service_names_are_file_safe)
{
	Journal j = JOURNAL_INIT;

	cr_assert(journal_service_name_valid("docmost"));
	cr_assert(journal_service_name_valid("netbox-postgresql"));
	cr_assert(journal_service_name_valid("odoo_db.2"));
	cr_assert_not(journal_service_name_valid("../etc"));
	cr_assert_not(journal_service_name_valid(".hidden"));
	cr_assert_not(journal_service_name_valid("a/b"));
	cr_assert_not(journal_service_name_valid(""));
	cr_assert_not(journal_service_name_valid("x y"));
	cr_assert_not(journal_open(dir, "../evil", &j));
	cr_assert_eq(fst_count_entries(dir), 0);
}

Test(journal, load_missing_creates_nothing)
{
	Journal j = JOURNAL_INIT;
	bool exists = true;

	cr_assert(journal_load(dir, "docmost", &j, &exists));
	cr_assert_not(exists);
	cr_assert_eq(journal_count(&j), 0);
	cr_assert_not(journal_is_migrated(&j, NULL));
	journal_close(&j);
	cr_assert_eq(fst_count_entries(dir), 0);
}

/* The writer acknowledges each record after journal_append returned, then
 * is killed: every acknowledged record must be there when read again. */
Test(journal, acknowledged_records_survive_sigkill, .timeout = 60)
{
	int ack[2];
	Journal j = JOURNAL_INIT;

	cr_assert(journal_open(dir, "docmost", &j));
	journal_close(&j);
	cr_assert_eq(pipe(ack), 0);

	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0)
	{
		Journal w = JOURNAL_INIT;
		char step[32];

		close(ack[0]);
		if (!journal_open(dir, "docmost", &w))
			_exit(2);
		for (int i = 0;; i++)
		{
			json_t *f = json_pack("{s:i, s:s}", "i", i, "pad", "................................");

			str_format(step, sizeof(step), "step-%d", i);
			if (!journal_append(&w, JOURNAL_MIGRATE, "m1", step, JOURNAL_DONE, f))
				_exit(3);
			json_decref(f);
			if (write(ack[1], "x", 1) != 1)
				_exit(4);
		}
	}
	close(ack[1]);

	char c;
	int acked = 0;

	while (acked < 40 && read(ack[0], &c, 1) == 1)
		acked++;
	cr_assert_eq(kill(pid, SIGKILL), 0);

	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status), "writer failed: %d", status);
	while (read(ack[0], &c, 1) == 1)
		acked++;
	close(ack[0]);

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert_geq(journal_count(&j), (size_t) acked, "%zu records, %d acknowledged",
				  journal_count(&j), acked);
	for (int i = 0; i < acked; i++)
	{
		char step[32];

		str_format(step, sizeof(step), "step-%d", i);
		cr_assert_not_null(journal_step_done(&j, "m1", step), "lost %s", step);
	}
	journal_close(&j);
}

Test(journal, open_cleans_dead_temp_files_and_copies_fields)
{
	char jdir[PATH_MAX], tmp[PATH_MAX], name[128];
	Journal j = JOURNAL_INIT;
	pid_t dead = fork();

	cr_assert_neq(dead, -1);
	if (dead == 0)
		_exit(0);
	cr_assert_eq(waitpid(dead, NULL, 0), dead);

	/* A sidecar write interrupted by a crash. */
	fst_join(jdir, dir, JOURNAL_SUBDIR);
	cr_assert_eq(mkdir(jdir, 0750), 0);
	str_format(name, sizeof(name), ".x.dump.sha256.pgfold-tmp.%ld", (long) dead);
	fst_join(tmp, jdir, name);
	fst_put(tmp, "half", 4);
	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert_neq(access(tmp, F_OK), 0, "the dead writer's temp file is gone");

	json_t *f = json_pack("{s:{s:s}}", "dump", "path", "a.dump");

	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "m1", "dump", JOURNAL_DONE, f));
	json_object_set_new(json_object_get(f, "dump"), "path", json_string("changed"));
	json_decref(f);

	json_t *rec = journal_step_done(&j, "m1", "dump");

	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "dump"), "path")),
					 "a.dump");
	journal_close(&j);
}

/* The run log migrate and rollback open through log_open_file: 0640
 * whatever the umask, never through a link planted at its path. */
Test(journal, run_log_created_0640_with_umask_0)
{
	char path[PATH_MAX];
	struct stat st;

	fst_join(path, dir, "svc_20261121T101500Z.log");
	umask(0);
	cr_assert(log_open_file(path));
	umask(022);
	log_info("run started");
	log_close_file();
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, JOURNAL_FILE_MODE, "mode %04o", st.st_mode & 07777);

	char *text = fst_slurp(path, NULL);

	cr_assert_not_null(strstr(text, "run started"), "%s", text);
	free(text);
}

Test(journal, run_log_planted_symlink_is_refused)
{
	char path[PATH_MAX], victim[PATH_MAX];
	struct stat st;

	fst_join(victim, dir, "shadow");
	fst_put(victim, "root:x:0:0\n", 11);
	fst_join(path, dir, "svc_20261121T101500Z.log");
	cr_assert_eq(symlink(victim, path), 0);

	cr_assert_not(log_open_file(path));
	log_info("must not reach the victim");
	log_close_file();

	char *text = fst_slurp(victim, NULL);

	cr_assert_str_eq(text, "root:x:0:0\n", "the link's target was written: %s", text);
	free(text);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
}
