/*
 * test_failure.c — pg_restore dies in the middle of the stream (killed in
 * the shared container, as an OOM kill or a crash would): the migration
 * fails and everything it did is undone — no database under either name
 * on the shared instance, no half-written backup, the service file as it
 * was, the apps running again on their dedicated database.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
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

typedef struct Big
{
	char        svc[96], dbc[160], app[160], redis[160];
	MigSnapshot snap;
	MigProc     proc;
} Big;

static Big big;

/* A docmost stack with ~135 MiB of data; snapshot taken. */
static void
big_stack(void)
{
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	str_copy(big.svc, sizeof(big.svc), mig_svc(&stack, &mig_docmost));
	str_copy(big.dbc, sizeof(big.dbc), mig_name(&stack, mig_docmost.db_container));
	str_copy(big.app, sizeof(big.app), mig_name(&stack, mig_docmost.apps[0]));
	str_copy(big.redis, sizeof(big.redis), mig_name(&stack, mig_docmost.others[0]));

	char *mb = mig_sql_value(big.dbc, "docmost", "docmost", BIG_SQL);

	fprintf(stderr, "migrate_failure: source database is %s MiB\n", mb);
	free(mb);
	mig_snapshot(&stack, big.svc, &big.snap);
}

/* Start `migrate --yes` and return once pg_restore runs in the shared
 * container and has written real data (the stream is mid-way). */
static void
start_and_wait_midstream(void)
{
	const char *args[] = { "migrate", big.svc, "--yes", NULL };
	StrBuf out = STRBUF_INIT;
	long tmp_mb = 0;

	mig_pgfold_start(&stack, &big.proc, NULL, args);
	for (time_t start = time(NULL); time(NULL) - start < 300;)
	{
		int status;

		if (waitpid(big.proc.pid, &status, WNOHANG) == big.proc.pid)
		{
			mig_read(big.proc.err_path, &out, true);
			cr_assert_fail("pgfold finished (status %d) before the stream was mid-way; "
						   "make the data bigger. stderr:\n%s", status, sb_str(&out));
		}
		sb_reset(&out);
		if (lab_sh_capture(&out, "docker exec %s sh -c 'cat /tmp/pgfold-*-restore.*/pid' "
						   "2>/dev/null", stack.shared) && out.len > 0)
		{
			char *size = mig_shared_value(&stack, "postgres", TMP_SIZE_SQL);

			str_to_long(size, 0, 1L << 40, &tmp_mb);
			free(size);
			/* an empty database is ~7 MiB: wait for real data */
			if (tmp_mb >= 24)
			{
				fprintf(stderr, "migrate_failure: mid-stream at %ld MiB\n", tmp_mb);
				sb_free(&out);
				return;
			}
		}
		usleep(100 * 1000);
	}
	cr_assert_fail("pg_restore was never seen running with data");
}

/* Everything as before the run: no database on the shared instance, no
 * .partial, files, apps running, no pg_dump/pg_restore left behind, the
 * run journaled as aborted. */
static void
assert_undone(void)
{
	StrBuf out = STRBUF_INIT;
	char *dbs = mig_shared_databases(&stack);

	cr_assert_str_eq(dbs, "", "databases left on the shared instance: %s", dbs);
	free(dbs);
	lab_sh_capture(&out, "find %s/backups -name '*.partial'", stack.root);
	cr_assert_str_eq(sb_str(&out), "", ".partial files left: %s", sb_str(&out));

	const char *running[] = { big.app, big.redis, big.dbc, NULL };

	mig_assert_unchanged(&stack, big.svc, &big.snap, running);

	long dumps = mig_count_procs(big.dbc, "pg_dump"), restores = mig_count_procs(stack.shared, "pg_restore");

	cr_expect_eq(dumps, 0, "pg_dump still runs in %s (%ld)", big.dbc, dumps);
	cr_expect_eq(restores, 0, "pg_restore still runs in %s (%ld)", stack.shared, restores);
	cr_expect_eq(mig_journal_count(&stack, big.svc, "abort", NULL), 1);
	cr_expect_eq(mig_journal_count(&stack, big.svc, "complete", NULL), 0);
	sb_free(&out);
}

static void
teardown_big(void)
{
	if (big.proc.pid > 0 && waitpid(big.proc.pid, NULL, WNOHANG) == 0)
	{
		kill(big.proc.pid, SIGKILL);
		waitpid(big.proc.pid, NULL, 0);
	}
	mig_snapshot_free(&big.snap);
	teardown();
}

Test(migrate_failure, restore_killed_midway, .fini = teardown_big)
{
	MigRun r;

	big_stack();
	start_and_wait_midstream();
	cr_assert_eq(lab_sh("docker exec %s sh -c 'kill $(cat /tmp/pgfold-*-restore.*/pid)'",
						stack.shared), 0, "could not kill pg_restore");

	mig_pgfold_wait(&big.proc, &r, 300);
	cr_assert(r.status != 0 && r.status != 99 && r.status < 128,
			  "migrate after pg_restore was killed: exit %d\n%s\n%s", r.status, sb_str(&r.out),
			  sb_str(&r.err));
	cr_expect_not_null(strstr(sb_str(&r.err), "pg_restore"),
					   "the error does not name pg_restore:\n%s", sb_str(&r.err));
	assert_undone();
	mig_run_free(&r);
}

/* Ctrl-C in the middle of the stream: exit 130, everything undone, and the
 * processes it started in the containers stopped (the engine does not stop
 * an exec'd process when its client goes away). */
Test(migrate_failure, interrupted_midway, .fini = teardown_big)
{
	MigRun r;

	big_stack();
	start_and_wait_midstream();
	cr_assert_eq(kill(big.proc.pid, SIGINT), 0);

	mig_pgfold_wait(&big.proc, &r, 300);
	cr_assert_eq(r.status, 130, "migrate after SIGINT: exit %d\n%s\n%s", r.status,
				 sb_str(&r.out), sb_str(&r.err));
	assert_undone();
	mig_run_free(&r);

	/* and a later run goes through */
	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate after an interrupted one");
	mig_run_free(&r);
}

/* One run stops right after the stream (as a crash would), the test then
 * damages the restored copy, and the resumed run must refuse to switch
 * over (exit 6) naming what differs, keep the copy for inspection and
 * leave the service as it was. */
static void
tamper_and_expect_mismatch(const char *sql, const char *deep, const char *needle)
{
	const char *fault[] = { "PGFOLD_FAULT_AFTER=stream", NULL };
	MigRun r;

	mig_pgfold(&stack, &r, fault, "migrate", big.svc, "--yes", NULL);
	mig_expect_exit(&r, 99, "migrate stopped after the stream");
	mig_run_free(&r);
	free(mig_shared_value(&stack, "docmost__pgfold_incoming", sql));

	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", deep, NULL);
	mig_expect_exit(&r, 6, sql);
	cr_expect_not_null(strstr(sb_str(&r.err), needle), "after `%s`, the mismatch report does not "
					   "name %s:\n%s", sql, needle, sb_str(&r.err));
	mig_run_free(&r);

	char *dbs = mig_shared_databases(&stack);

	cr_assert_str_eq(dbs, "docmost__pgfold_incoming", "after `%s`: databases %s", sql, dbs);
	free(dbs);

	const char *running[] = { big.app, big.redis, big.dbc, NULL };

	mig_assert_unchanged(&stack, big.svc, &big.snap, running);
}

Test(migrate_failure, verification_catches_a_damaged_copy, .fini = teardown_big)
{
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(big.svc, sizeof(big.svc), mig_svc(&stack, &mig_docmost));
	str_copy(big.dbc, sizeof(big.dbc), mig_name(&stack, mig_docmost.db_container));
	str_copy(big.app, sizeof(big.app), mig_name(&stack, mig_docmost.apps[0]));
	str_copy(big.redis, sizeof(big.redis), mig_name(&stack, mig_docmost.others[0]));
	mig_snapshot(&stack, big.svc, &big.snap);
	/* the role is created by the first run and kept by the failed ones,
	 * the damaged copy is kept for inspection (checked on its own) */
	free(big.snap.roles);
	big.snap.roles = xstrdup("docmost");
	free(big.snap.databases);
	big.snap.databases = xstrdup("docmost__pgfold_incoming");
	free(big.snap.passwords);
	big.snap.passwords = xstrdup("docmost.txt\n");

	/* a lost row in the table careless tools skip */
	tamper_and_expect_mismatch("DELETE FROM _prisma_migrations WHERE id = "
							   "(SELECT min(id) FROM _prisma_migrations)", NULL,
							   "_prisma_migrations");
	/* a sequence behind the source's */
	tamper_and_expect_mismatch("SELECT setval('counter_seq', 7)", NULL, "counter_seq");
	/* same row count, other content: --deep compares content hashes */
	tamper_and_expect_mismatch("UPDATE \"Mixed-Case\" SET doc = '{\"n\": -1}' WHERE \"Id\" = 777",
							   "--deep", "Mixed-Case");

	/* an undamaged run goes through and replaces the kept copy */
	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", "--deep", NULL);
	mig_expect_exit(&r, 0, "migrate after the failed verifications");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *dbs = mig_shared_databases(&stack);

	cr_assert_str_eq(dbs, "docmost");
	free(dbs);
	free(fp);
}

/* The end of a restore can move no byte for minutes (the index builds of a
 * big table on a slow disk, after all the data went in): the stream must
 * wait for pg_restore to finish, not call it stalled. Here one index costs
 * 3000 x 0.11 s, only when built in the temporary database. Takes ~6
 * minutes, so it runs only with PGFOLD_TEST_SLOW=1. */
#define SLOW_INDEX_SQL \
	"CREATE FUNCTION app.slow_key(i integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $f$\n" \
	"BEGIN\n" \
	"  IF pg_catalog.current_database() LIKE '%pgfold_incoming' THEN\n" \
	"    PERFORM pg_catalog.pg_sleep(0.11);\n" \
	"  END IF;\n" \
	"  RETURN i;\n" \
	"END $f$;\n" \
	"CREATE TABLE app.slow (id integer);\n" \
	"INSERT INTO app.slow SELECT generate_series(1, 3000);\n" \
	"CREATE INDEX slow_idx ON app.slow (app.slow_key(id));\n"

Test(migrate_failure, quiet_restore_tail_is_not_a_stall, .fini = teardown_big, .timeout = 1200)
{
	MigRun r;

	if (getenv("PGFOLD_TEST_SLOW") == NULL)
		cr_skip_test("takes ~6 minutes; set PGFOLD_TEST_SLOW=1");
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	str_copy(big.svc, sizeof(big.svc), mig_svc(&stack, &mig_docmost));
	str_copy(big.dbc, sizeof(big.dbc), mig_name(&stack, mig_docmost.db_container));
	free(mig_sql_value(big.dbc, "docmost", "docmost", SLOW_INDEX_SQL));

	char *fp = mig_fingerprint(big.dbc, "docmost", "docmost");

	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate with a 330 s index build at the end of the restore");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);
	free(fp);
}

/* ---- the world failing around a migration (issue 17's fault matrix) ------ */

/* Wait until postgres in container answers again. */
static void
wait_ready(const char *container, const char *user)
{
	cr_assert_eq(lab_sh("for i in $(seq 120); do docker exec %s pg_isready -q -U %s "
						"2>/dev/null && exit 0; sleep 0.5; done; exit 1", container, user), 0,
				 "%s did not come back", container);
}

/* The source's container dies mid-dump: one error line, nothing switched
 * over, the apps started again; once the operator starts the database
 * again a re-run goes through. */
Test(migrate_failure, source_container_killed_mid_dump, .fini = teardown_big)
{
	MigRun r;

	big_stack();
	start_and_wait_midstream();
	cr_assert_eq(lab_sh("docker kill %s >/dev/null", big.dbc), 0);
	mig_pgfold_wait(&big.proc, &r, 300);
	cr_assert(r.status == 1, "migrate with its source killed: exit %d\n%s", r.status,
			  sb_str(&r.err));
	{
		char reason[256];

		str_format(reason, sizeof(reason), "pgfold: error: pg_dump of \"docmost\" in %s failed "
				   "(exit 137)", big.dbc);
		cr_assert_not_null(strstr(sb_str(&r.err), reason), "%s", sb_str(&r.err));
	}
	cr_assert_not_null(strstr(sb_str(&r.err), "nothing was switched over"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	cr_assert_eq(lab_sh("docker start %s >/dev/null", big.dbc), 0);
	wait_ready(big.dbc, "docmost");
	assert_undone();
	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate once the source runs again");
	mig_run_free(&r);
}

/* The shared instance restarts mid-restore: the run fails and undoes what
 * it can; a re-run drops what the restart kept it from dropping and goes
 * through, leaving one database. */
Test(migrate_failure, shared_restarted_mid_restore, .fini = teardown_big)
{
	MigRun r;
	char *dbs;

	big_stack();
	start_and_wait_midstream();
	cr_assert_eq(lab_sh("docker restart -t 0 %s >/dev/null", stack.shared), 0);
	mig_pgfold_wait(&big.proc, &r, 300);
	cr_assert(r.status == 1 || r.status == 5, "migrate with the shared restarted: exit %d\n%s",
			  r.status, sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "pgfold: error: pg_restore into "
							  "\"docmost__pgfold_incoming\""), "%s", sb_str(&r.err));
	/* the undo waited for the restarted server instead of failing on it */
	cr_assert_null(strstr(sb_str(&r.err), "drop the role this run created failed"), "%s",
				   sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "nothing was switched over"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	wait_ready(stack.shared, "admin");
	cr_expect_eq(mig_count_procs(big.dbc, "pg_dump"), 0, "pg_dump left in %s", big.dbc);
	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate after the shared instance restarted");
	mig_run_free(&r);
	dbs = mig_shared_databases(&stack);
	cr_assert_str_eq(dbs, "docmost", "databases after the re-run: %s", dbs);
	free(dbs);
}

/* The shared instance has no connection left: exit 5 with the server's
 * reason, before anything changed. */
Test(migrate_failure, shared_at_max_connections, .fini = teardown_big)
{
	PGconn *held[256];
	size_t n = 0;
	char conninfo[256];
	MigRun r;

	big_stack();
	str_format(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d user=admin password=%s "
			   "dbname=postgres connect_timeout=5", stack.port, stack.admin_pw);
	while (n < sizeof(held) / sizeof(held[0]))
	{
		PGconn *c = PQconnectdb(conninfo);

		if (PQstatus(c) != CONNECTION_OK)
		{
			cr_assert_not_null(strstr(PQerrorMessage(c), "too many clients"), "%s",
							   PQerrorMessage(c));
			PQfinish(c);
			break;
		}
		held[n++] = c;
	}
	cr_assert(n > 0 && n < sizeof(held) / sizeof(held[0]), "%zu connections held", n);
	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", NULL);
	for (size_t i = 0; i < n; i++)
		PQfinish(held[i]);
	mig_expect_exit(&r, 5, "migrate with the shared instance full");
	cr_assert_not_null(strstr(sb_str(&r.err), "too many clients"),
					   "the server's reason is not said:\n%s", sb_str(&r.err));
	mig_run_free(&r);

	const char *running[] = { big.app, big.redis, big.dbc, NULL };

	mig_assert_unchanged(&stack, big.svc, &big.snap, running);
}

/* backups/ fills up mid-stream (a tmpfs with room for the dump when the
 * pre-flight looked, then filled by another writer while the stream runs):
 * the error names the reason, the partial dump is removed and the run
 * undone; with room again a re-run goes through. */
static char tmpfs_at[PATH_MAX];

static void
teardown_tmpfs(void)
{
	if (tmpfs_at[0] != '\0')
		lab_sh("umount %s 2>/dev/null", tmpfs_at);
	tmpfs_at[0] = '\0';
	teardown_big();
}

Test(migrate_failure, backups_disk_fills_up_mid_stream, .fini = teardown_tmpfs)
{
	MigRun r;

	big_stack();
	mig_path(&stack, tmpfs_at, sizeof(tmpfs_at), "backups");
	cr_assert_eq(lab_sh("mkdir -p %s && mount -t tmpfs -o size=200m,mode=0750 tmpfs %s",
						tmpfs_at, tmpfs_at), 0, "cannot mount a tmpfs (the lab runs as root)");
	start_and_wait_midstream();
	lab_sh("dd if=/dev/zero of=%s/filler bs=1M 2>/dev/null", tmpfs_at);
	mig_pgfold_wait(&big.proc, &r, 300);
	cr_assert(r.status == 1, "migrate with backups/ full: exit %d\n%s", r.status, sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "No space left on device"), "%s", sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "nothing was switched over"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	cr_assert_eq(lab_sh("rm -f %s/filler", tmpfs_at), 0);
	assert_undone();
	cr_assert_eq(lab_sh("umount %s", tmpfs_at), 0);
	tmpfs_at[0] = '\0';
	mig_pgfold(&stack, &r, NULL, "migrate", big.svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate with room in backups/ again");
	mig_run_free(&r);
}
