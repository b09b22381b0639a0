/*
 * test_stream.c — the pump loop with local processes at both ends (no
 * engine needed): data integrity through the tee, the backup's sidecar,
 * and every failure leaving no backup behind.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/signals.h"
#include "pgfold/stream.h"

static char dir[64];

static void
setup(void)
{
	signals_install();   /* as main does: SIGPIPE must not kill us */
	str_copy(dir, sizeof(dir), "/tmp/pgfold-stream-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	str_format(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static bool
path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

TestSuite(stream, .init = setup, .fini = teardown);

Test(stream, tee_and_consumer_see_the_same_bytes)
{
	char backup[128], cmdline[256];
	const char *pargv[] = { "sh", "-c", "head -c 50000000 /dev/urandom", NULL };
	const char *cargv[] = { "sha256sum", NULL };
	StreamCommand prod = { .argv = pargv, .label = "producer" };
	StreamCommand cons = { .argv = cargv, .label = "consumer" };
	StreamResult r;

	str_format(backup, sizeof(backup), "%s/x.dump", dir);
	StreamSpec spec = { .producer = &prod, .consumer = &cons, .backup_path = backup,
						.run_id = "t1" };

	cr_assert(stream_run(&spec, &r));
	cr_assert_eq(r.bytes, 50000000);
	cr_assert_eq(r.producer_exit, 0);
	cr_assert_eq(r.consumer_exit, 0);
	/* what the consumer hashed is what we wrote and recorded */
	cr_assert(strncmp(sb_str(&r.consumer_stderr), r.sha256, 64) == 0,
			  "consumer saw %s, backup %s", sb_str(&r.consumer_stderr), r.sha256);
	cr_assert(fs_sha256_sidecar_verify(backup));
	str_format(cmdline, sizeof(cmdline), "cd %s && sha256sum -c --quiet x.dump.sha256", dir);
	cr_assert_eq(system(cmdline), 0);
	cr_assert_not(path_exists("x.dump.partial"));
	stream_result_free(&r);
}

Test(stream, file_source_without_backup)
{
	char src[128];
	const char *cargv[] = { "wc", "-c", NULL };
	StreamCommand cons = { .argv = cargv, .label = "wc" };
	StreamResult r;
	FILE *f;

	str_format(src, sizeof(src), "%s/in.dump", dir);
	f = fopen(src, "w");
	for (int i = 0; i < 100000; i++)
		fputs("0123456789", f);
	fclose(f);

	StreamSpec spec = { .input_file = src, .consumer = &cons, .run_id = "t2" };

	cr_assert(stream_run(&spec, &r));
	cr_assert_eq(r.bytes, 1000000);
	cr_assert(strstr(sb_str(&r.consumer_stderr), "1000000") != NULL);
	stream_result_free(&r);
}

Test(stream, failing_consumer_aborts_and_removes_backup)
{
	char backup[128], partial[140];
	const char *pargv[] = { "sh", "-c", "head -c 20000000 /dev/zero", NULL };
	const char *cargv[] = { "sh", "-c",
		"head -c 1000 >/dev/null; echo 'pg_restore: error: could not execute query' >&2; exit 1",
		NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamCommand cons = { .argv = cargv, .label = "pg_restore" };
	StreamResult r;

	str_format(backup, sizeof(backup), "%s/y.dump", dir);
	str_format(partial, sizeof(partial), "%s.partial", backup);
	StreamSpec spec = { .producer = &prod, .consumer = &cons, .backup_path = backup,
						.run_id = "t3" };

	cr_assert_not(stream_run(&spec, &r));
	cr_assert_not(path_exists(backup));
	cr_assert_not(path_exists(partial));
	stream_result_free(&r);
}

Test(stream, error_line_with_exit_zero_is_fatal)
{
	char backup[128];
	const char *pargv[] = { "sh", "-c", "printf data; echo 'pg_dump: error: query failed' >&2", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamResult r;

	str_format(backup, sizeof(backup), "%s/z.dump", dir);
	StreamSpec spec = { .producer = &prod, .backup_path = backup, .run_id = "t4" };

	cr_assert_not(stream_run(&spec, &r));
	cr_assert_not(path_exists(backup));
	stream_result_free(&r);
}

Test(stream, failing_producer_is_fatal)
{
	char backup[128];
	const char *pargv[] = { "sh", "-c", "printf partial; exit 1", NULL };
	const char *cargv[] = { "cat", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamCommand cons = { .argv = cargv, .label = "cat" };
	StreamResult r;

	str_format(backup, sizeof(backup), "%s/w.dump", dir);
	StreamSpec spec = { .producer = &prod, .consumer = &cons, .backup_path = backup,
						.run_id = "t5" };

	cr_assert_not(stream_run(&spec, &r));
	cr_assert_eq(r.producer_exit, 1);
	cr_assert_not(path_exists(backup));
	stream_result_free(&r);
}

Test(stream, empty_output_is_fatal)
{
	const char *pargv[] = { "true", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamResult r;
	char backup[128];

	str_format(backup, sizeof(backup), "%s/e.dump", dir);
	StreamSpec spec = { .producer = &prod, .backup_path = backup, .run_id = "t6" };

	cr_assert_not(stream_run(&spec, &r));
	cr_assert_not(path_exists(backup));
	stream_result_free(&r);
}

Test(stream, stall_guard_fires)
{
	const char *pargv[] = { "sleep", "30", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamResult r;

	StreamSpec spec = { .producer = &prod, .stall_seconds = 1, .run_id = "t7" };
	char why[512] = "";

	/* the guard, not the producer's end, stops it: after the 1 s of
	 * silence it allows and long before sleep's 30 s, saying so */
	log_capture_begin(why, sizeof(why));
	bool ok = stream_run(&spec, &r);

	log_capture_end();
	cr_assert_not(ok);
	cr_assert_geq(r.seconds, 1.0, "stopped after %.2f s, before the stall window", r.seconds);
	cr_assert_lt(r.seconds, 10.0);
	cr_assert_not_null(strstr(why, "stream stalled: no byte moved for 1 s between pg_dump and "
							  "the backup file (0 bytes so far)"), "cause: %s", why);
	stream_result_free(&r);
}

Test(stream, interruption_stops_cleanly)
{
	char backup[128];
	const char *pargv[] = { "sleep", "30", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamResult r;

	str_format(backup, sizeof(backup), "%s/i.dump", dir);
	signals_raise_interrupt();
	StreamSpec spec = { .producer = &prod, .backup_path = backup, .run_id = "t8" };

	cr_assert_not(stream_run(&spec, &r));
	cr_assert_lt(r.seconds, 5.0);
	cr_assert_not(path_exists(backup));
	stream_result_free(&r);
}

Test(stream, stderr_error_detection)
{
	cr_assert(stream_stderr_has_error("pg_restore: error: could not execute query"));
	cr_assert(stream_stderr_has_error("x\nERROR:  relation exists\n"));
	cr_assert_not(stream_stderr_has_error("pg_restore: warning: errors ignored? no\n"));
	cr_assert_not(stream_stderr_has_error(""));
}

/* pg_restore knows where a custom archive ends and may exit before the
 * producer's stream closes: that is success, not "ended too early". */
Test(stream, consumer_may_finish_before_producer_eof)
{
	const char *pargv[] = { "sh", "-c", "head -c 100000 /dev/zero; sleep 1", NULL };
	const char *cargv[] = { "sh", "-c", "head -c 100000 >/dev/null", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamCommand cons = { .argv = cargv, .label = "pg_restore" };
	StreamResult r;

	StreamSpec spec = { .producer = &prod, .consumer = &cons, .run_id = "t9" };

	cr_assert(stream_run(&spec, &r));
	cr_assert_eq(r.bytes, 100000);
	stream_result_free(&r);
}

/* ... but data after the consumer is gone means it missed some. */
Test(stream, data_after_consumer_exit_is_fatal)
{
	const char *pargv[] = { "sh", "-c", "head -c 100000 /dev/zero; sleep 1; head -c 10 /dev/zero", NULL };
	const char *cargv[] = { "sh", "-c", "head -c 100000 >/dev/null", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamCommand cons = { .argv = cargv, .label = "pg_restore" };
	StreamResult r;

	StreamSpec spec = { .producer = &prod, .consumer = &cons, .run_id = "t10" };

	cr_assert_not(stream_run(&spec, &r));
	stream_result_free(&r);
}

/* After the last byte a restore may build indexes for a long time with no
 * byte moving: that is not a stall. */
Test(stream, no_stall_while_the_consumer_finishes)
{
	const char *pargv[] = { "sh", "-c", "head -c 1000 /dev/zero", NULL };
	const char *cargv[] = { "sh", "-c", "cat >/dev/null; sleep 3", NULL };
	StreamCommand prod = { .argv = pargv, .label = "pg_dump" };
	StreamCommand cons = { .argv = cargv, .label = "pg_restore" };
	StreamResult r;

	StreamSpec spec = { .producer = &prod, .consumer = &cons, .stall_seconds = 1, .run_id = "t11" };

	cr_assert(stream_run(&spec, &r));
	cr_assert_geq(r.seconds, 2.5);
	stream_result_free(&r);
}

/* A dump file checked against its sidecar, then swapped before it is
 * streamed (rollback restores that way): the digest of the bytes actually
 * read is compared before the consumer sees the end of its input, so it is
 * stopped without ever finishing. */
Test(stream, bytes_streamed_must_match_the_expected_digest)
{
	char src[128], mark[128], script[320], checked[FS_SHA256_HEX_LEN + 1];
	char swapped[FS_SHA256_HEX_LEN + 1];
	const char *cargv[] = { "sh", "-c", script, NULL };
	StreamCommand cons = { .argv = cargv, .label = "pg_restore" };
	StreamResult r;
	FILE *f;

	str_format(src, sizeof(src), "%s/rb.dump", dir);
	str_format(mark, sizeof(mark), "%s/end-of-input", dir);
	str_format(script, sizeof(script), "cat >/dev/null && touch %s", mark);
	fs_sha256_bytes("the dump that was checked", 25, checked);
	f = fopen(src, "w");
	fputs("another archive, swapped in", f);
	fclose(f);
	fs_sha256_bytes("another archive, swapped in", 27, swapped);

	StreamSpec spec = { .input_file = src, .expect_sha256 = checked, .consumer = &cons,
						.run_id = "t12" };

	exit_hint_reset();
	cr_assert_not(stream_run(&spec, &r), "a swapped file was streamed to the end");
	cr_assert_str_eq(r.sha256, swapped, "the digest is not of the bytes read");
	cr_assert_not(path_exists(mark), "the consumer saw the end of its input");
	cr_assert_eq(exit_hint_get(), EXIT_BLOCKED);
	stream_result_free(&r);

	/* the file as checked goes through */
	f = fopen(src, "w");
	fputs("the dump that was checked", f);
	fclose(f);
	cr_assert(stream_run(&spec, &r));
	cr_assert_str_eq(r.sha256, checked);
	cr_assert(path_exists(mark));
	stream_result_free(&r);
}
