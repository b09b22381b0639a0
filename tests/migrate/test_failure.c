/*
 * test_failure.c — pg_restore dies in the middle of the stream (killed in
 * the shared container, as an OOM kill or a crash would): the migration
 * fails and everything it did is undone — no database under either name
 * on the shared instance, no half-written backup, the service file as it
 * was, the apps running again on their dedicated database.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_failure, .fini = teardown, .timeout = 600);

/* ~65 MB of table plus an index to rebuild: a stream of several seconds. */
#define BIG_SQL \
	"CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) " \
	"AS pad FROM generate_series(1, 500000) g; CREATE INDEX big_pad_idx ON big (pad); " \
	"SELECT pg_database_size(current_database()) / 1048576"

#define TMP_SIZE_SQL \
	"SELECT coalesce((SELECT pg_database_size(datname) FROM pg_database " \
	"WHERE datname = 'docmost__pgfold_incoming'), 0) / 1048576"

/* Processes whose command line starts with prog in container. */
static long
count_procs(const char *container, const char *prog)
{
	StrBuf out = STRBUF_INIT;
	long n = -1;

	lab_sh_capture(&out, "docker exec %s sh -c 'for f in /proc/[0-9]*/cmdline; do "
				   "tr \"\\0\" \" \" <$f; echo; done' 2>/dev/null | grep -c '^%s '", container, prog);
	while (out.len > 0 && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	str_to_long(sb_str(&out), 0, 100000, &n);
	sb_free(&out);
	return n;
}

Test(migrate_failure, restore_killed_midway)
{
	const char *svc, *dbc, *app, *redis;
	char svcb[96], dbcb[160], appb[160], redisb[160];
	MigSnapshot snap;
	MigProc p;
	MigRun r;
	StrBuf out = STRBUF_INIT;
	bool killed = false;
	long tmp_mb = 0;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	svc = str_copy(svcb, sizeof(svcb), mig_svc(&stack, &mig_docmost)) ? svcb : NULL;
	dbc = str_copy(dbcb, sizeof(dbcb), mig_name(&stack, mig_docmost.db_container)) ? dbcb : NULL;
	app = str_copy(appb, sizeof(appb), mig_name(&stack, mig_docmost.apps[0])) ? appb : NULL;
	redis = str_copy(redisb, sizeof(redisb), mig_name(&stack, mig_docmost.others[0])) ? redisb : NULL;

	char *mb = mig_sql_value(dbc, "docmost", "docmost", BIG_SQL);

	fprintf(stderr, "migrate_failure: source database is %s MiB\n", mb);
	free(mb);
	mig_snapshot(&stack, svc, &snap);

	const char *args[] = { "migrate", svc, "--yes", NULL };

	mig_pgfold_start(&stack, &p, NULL, args);
	for (time_t start = time(NULL); !killed && time(NULL) - start < 300;)
	{
		int status;

		if (waitpid(p.pid, &status, WNOHANG) == p.pid)
		{
			mig_read(p.err_path, &out, true);
			cr_assert_fail("pgfold finished (status %d) before pg_restore could be killed; "
						   "make the data bigger. stderr:\n%s", status, sb_str(&out));
		}
		sb_reset(&out);
		if (lab_sh_capture(&out, "docker exec %s sh -c 'cat /tmp/pgfold-*-restore.pid' "
						   "2>/dev/null", stack.shared) && out.len > 0)
		{
			char *size = mig_shared_value(&stack, "postgres", TMP_SIZE_SQL);

			str_to_long(size, 0, 1L << 40, &tmp_mb);
			free(size);
			/* an empty database is ~7 MiB: kill once real data arrived */
			if (tmp_mb >= 24)
				killed = lab_sh("docker exec %s sh -c 'kill $(cat /tmp/pgfold-*-restore.pid)'",
								stack.shared) == 0;
		}
		usleep(100 * 1000);
	}
	cr_assert(killed, "pg_restore was never seen running with data");
	fprintf(stderr, "migrate_failure: killed pg_restore at %ld MiB\n", tmp_mb);

	mig_pgfold_wait(&p, &r, 300);
	cr_assert(r.status != 0 && r.status != 99 && r.status < 128,
			  "migrate after pg_restore was killed: exit %d\n%s\n%s", r.status, sb_str(&r.out),
			  sb_str(&r.err));
	cr_expect_not_null(strstr(sb_str(&r.err), "pg_restore"),
					   "the error does not name pg_restore:\n%s", sb_str(&r.err));

	/* nothing under the final or the temporary name, nothing half-written */
	char *dbs = mig_shared_databases(&stack);

	cr_assert_str_eq(dbs, "", "databases left on the shared instance: %s", dbs);
	free(dbs);
	sb_reset(&out);
	lab_sh_capture(&out, "find %s/backups -name '*.partial'", stack.root);
	cr_assert_str_eq(sb_str(&out), "", ".partial files left: %s", sb_str(&out));

	/* the apps run again, on the untouched files */
	const char *running[] = { app, redis, dbc, NULL };

	mig_assert_unchanged(&stack, svc, &snap, running);
	long dumps = count_procs(dbc, "pg_dump"), restores = count_procs(stack.shared, "pg_restore");

	cr_expect_eq(dumps, 0, "pg_dump still runs in %s (%ld)", dbc, dumps);
	cr_expect_eq(restores, 0, "pg_restore still runs (%ld)", restores);

	/* the journal says it was aborted; a later run starts over */
	cr_expect_eq(mig_journal_count(&stack, svc, "abort", NULL), 1);
	cr_expect_eq(mig_journal_count(&stack, svc, "complete", NULL), 0);

	mig_snapshot_free(&snap);
	mig_run_free(&r);
	sb_free(&out);
}
