/*
 * test_retire.c — `pgfold retire`: every refusal exits 3 with its reason
 * and removes nothing; a retire removes exactly the dedicated container
 * and its data volume and reports the disk the engine says it held;
 * `status` says retired; `rollback` afterwards brings every row back
 * (those written on the shared instance after the fold too) into a new
 * volume, and the service file byte for byte.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "retire/rtt.h"

#include "pgfold/stream.h"

static RbtStack stack;
static pid_t session = -1;
static char other[128];

static void
cleanup(void)
{
	rtt_session_end(session);
	session = -1;
	if (other[0] != '\0')
		lab_remove(other);
	rbt_destroy(&stack);
}

TestSuite(retire, .fini = cleanup, .timeout = 1200);

/* exit 3, the reason on stderr, the container and its volume still there. */
static void
expect_refused(const char *why, const char *volume, const char *const *args)
{
	MigRun r;
	const char *dbc = mig_name(&stack.s, stack.sh->db_container);

	mig_pgfold(&stack.s, &r, NULL, "retire", stack.svc, args[0], args[1], args[2], NULL);
	mig_expect_exit(&r, 3, why);
	cr_assert(strstr(sb_str(&r.err), why) != NULL && strstr(sb_str(&r.err), "nothing was removed"),
			  "refusal without its reason \"%s\":\n%s", why, sb_str(&r.err));
	cr_assert(rtt_container_exists(dbc), "%s was removed by a refused retire", dbc);
	cr_assert(rtt_volume_exists(volume), "%s was removed by a refused retire", volume);
	mig_run_free(&r);
}

Test(retire, refusals_retire_then_rollback)
{
	const char *const young[] = { "--yes", NULL, NULL };
	const char *const now[] = { "--min-age", "0", "--yes" };
	char dbc[160], path[PATH_MAX], cutoff[64];
	char *volume, *state, *created_before, *created_after;
	long long engine_size;
	MigRun r;

	rbt_migrated(&stack, &mig_docmost);
	str_copy(dbc, sizeof(dbc), mig_name(&stack.s, mig_docmost.db_container));
	volume = rtt_data_volume(&stack);
	cr_assert(volume[0] != '\0', "no volume at the data directory of %s", dbc);
	created_before = mig_inspect(volume, "{{.CreatedAt}}");

	/* the default --min-age is a week */
	expect_refused("the fold is only", volume, young);
	/* the container running */
	cr_assert_eq(lab_sh("docker start %s >/dev/null", dbc), 0);
	expect_refused("is running: stop it first", volume, now);
	cr_assert_eq(lab_sh("docker stop %s >/dev/null", dbc), 0);
	/* its volume mounted by another container too */
	lab_unique_name("retire-other", other, sizeof(other));
	cr_assert_eq(lab_sh("docker run -d --name %s --network none -v %s:/data %s sleep infinity "
						">/dev/null", other, volume, MIG_PG15), 0);
	expect_refused("is also mounted by", volume, now);
	lab_remove(other);
	other[0] = '\0';
	/* the role never connected since the fold (migrate's own proof does not count) */
	expect_refused("has no session on", volume, now);
	/* no backup, and taking one fails: backups/shared/<db> is a file */
	session = rtt_session_start(&stack);
	mig_path(&stack.s, path, sizeof(path), "backups/shared");
	mkdir(path, 0750);
	mig_path(&stack.s, path, sizeof(path), "backups/shared/%s", mig_docmost.db);
	cr_assert_eq(lab_sh("echo not a directory > %s", path), 0);
	expect_refused("no restore-tested backup", volume, now);
	cr_assert_eq(unlink(path), 0);

	/* --dry-run says what goes and changes nothing */
	RTT_RETIRE(&stack, &r, 0, NULL, "--min-age", "0", "--dry-run", NULL);
	cr_assert(strstr(sb_str(&r.out), volume) && strstr(sb_str(&r.out), "NEW volume"),
			  "dry-run:\n%s", sb_str(&r.out));
	mig_run_free(&r);
	cr_assert(rtt_container_exists(dbc) && rtt_volume_exists(volume));

	engine_size = rtt_engine_volume_size(volume);
	cr_assert_gt(engine_size, 1000000, "the engine says %s holds %lld bytes", volume, engine_size);
	RTT_RETIRE(&stack, &r, 0, NULL, "--min-age", "0", "--yes", NULL);
	str_format(cutoff, sizeof(cutoff), "given back (%lld bytes)", engine_size);
	cr_assert(strstr(sb_str(&r.out), cutoff) != NULL, "not the engine's %lld bytes:\n%s",
			  engine_size, sb_str(&r.out));
	cr_assert(strstr(sb_str(&r.out), "restore-tested") != NULL, "no backup named:\n%s",
			  sb_str(&r.out));
	mig_run_free(&r);
	cr_assert(!rtt_container_exists(dbc), "%s is still there", dbc);
	cr_assert(!rtt_volume_exists(volume), "%s is still there", volume);
	/* kept: the override, the journal, the dumps */
	mig_path(&stack.s, path, sizeof(path), "overrides/%s-dedicated-postgres.yml", stack.svc);
	cr_assert(mig_exists(path), "%s was removed", path);
	str_format(cutoff, sizeof(cutoff), "backups/postgres-migrations/%s_2*.dump", stack.svc);
	cr_assert_eq(mig_glob_count(&stack.s, cutoff), 1, "the migration dump was removed");

	mig_pgfold(&stack.s, &r, NULL, "status", stack.svc, NULL);
	mig_expect_exit(&r, 0, "status");
	cr_assert(strstr(sb_str(&r.out), "retired") != NULL, "status:\n%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_pgfold(&stack.s, &r, NULL, "plan", stack.svc, NULL);
	mig_expect_exit(&r, 0, "plan");
	cr_assert(strstr(sb_str(&r.out), "retired (run ") && strstr(sb_str(&r.out), "NEW volume"),
			  "plan:\n%s", sb_str(&r.out));
	mig_run_free(&r);
	/* a second retire: nothing to do */
	RTT_RETIRE(&stack, &r, 0, NULL, "--min-age", "0", "--yes", NULL);
	cr_assert(strstr(sb_str(&r.out), "already retired") != NULL, "%s", sb_str(&r.out));
	mig_run_free(&r);

	/* the way back: a new volume, the image's init first, every row */
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--dry-run", NULL);
	cr_assert(strstr(sb_str(&r.out), "NEW volume") != NULL, "rollback --dry-run:\n%s",
			  sb_str(&r.out));
	mig_run_free(&r);
	rtt_session_end(session);
	session = -1;
	sleep(1);       /* CreatedAt has a one-second grain */
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--yes", NULL);
	mig_run_free(&r);
	rbt_assert_rolled_back(&stack, stack.fp_written);
	free(volume);
	volume = rtt_data_volume(&stack);
	created_after = mig_inspect(volume, "{{.CreatedAt}}");
	cr_assert_str_neq(created_after, created_before, "the old volume came back?");
	state = mig_inspect(mig_name(&stack.s, mig_docmost.db_container), "{{.State.Status}}");
	cr_assert_str_eq(state, "running");
	free(state);
	free(created_before);
	free(created_after);
	free(volume);
}

/* The footer of `status` against the engine's own figures: the stopped
 * dedicated container's volume (GET /system/df; pgfold measures it on the
 * host), the shared container's memory (its stats; pgfold reads its
 * cgroup), the shared databases' size (the server's); after a
 * retire it counts one retired and no volume. */
Test(retire, footer)
{
	char want[256], disk[32], size[32];
	char *volume, *v, *line;
	long long engine_size, stats, shown;
	double num;
	char unit[8];
	MigRun r;
	StrBuf out = STRBUF_INIT;

	rbt_migrated(&stack, &mig_docmost);
	volume = rtt_data_volume(&stack);
	engine_size = rtt_engine_volume_size(volume);
	stream_format_bytes((uint64_t) engine_size, disk, sizeof(disk));
	mig_pgfold(&stack.s, &r, NULL, "status", NULL);
	mig_expect_exit(&r, 0, "status");
	str_format(want, sizeof(want), "dedicated postgres: 0 running (? memory), 1 stopped, "
			   "0 retired; their volumes hold %s\n", disk);
	cr_assert(strstr(sb_str(&r.out), want) != NULL, "want \"%s\" in:\n%s", want, sb_str(&r.out));
	v = mig_shared_value(&stack.s, "postgres",
						 "SELECT sum(pg_database_size(datname))::bigint FROM pg_database");
	stream_format_bytes((uint64_t) atoll(v), size, sizeof(size));
	free(v);
	str_format(want, sizeof(want), "memory, %s of databases", size);
	cr_assert(strstr(sb_str(&r.out), want) != NULL, "want \"%s\" in:\n%s", want, sb_str(&r.out));
	/* memory moves: within a factor of two of what the engine says now */
	line = strstr(sb_str(&r.out), "shared instance: ");
	cr_assert(line != NULL && sscanf(line, "shared instance: %lf %7s memory", &num, unit) == 2,
			  "no shared memory figure:\n%s", sb_str(&r.out));
	shown = (long long) (num * (strcmp(unit, "GiB") == 0 ? 1 << 30 : strcmp(unit, "MiB") == 0
								? 1 << 20 : strcmp(unit, "KiB") == 0 ? 1 << 10 : 1));
	cr_assert(lab_sh_capture(&out, "curl -sf --unix-socket /var/run/docker.sock "
							 "'http://localhost/v1.41/containers/%s/stats?stream=false' | "
							 "python3 -c 'import json,sys; m=json.load(sys.stdin)[\"memory_stats\"]; "
							 "s=m.get(\"stats\",{}); print(m[\"usage\"]-s.get(\"inactive_file\", "
							 "s.get(\"total_inactive_file\", 0)))'", stack.s.shared));
	stats = atoll(sb_str(&out));
	cr_assert(shown > stats / 2 && shown < stats * 2, "footer says %lld bytes (%s), engine %lld",
			  shown, line, stats);
	mig_run_free(&r);
	sb_free(&out);

	/* the dedicated container running: its memory, as the engine says */
	cr_assert_eq(lab_sh("docker start %s >/dev/null", mig_name(&stack.s, mig_docmost.db_container)), 0);
	/* its memory read now (cgroup), not a second later: the server up first */
	cr_assert(lab_wait_ready(mig_name(&stack.s, mig_docmost.db_container), 60));
	mig_pgfold(&stack.s, &r, NULL, "status", NULL);
	mig_expect_exit(&r, 0, "status");
	line = strstr(sb_str(&r.out), "dedicated postgres: 1 running (");
	cr_assert(line != NULL && sscanf(line, "dedicated postgres: 1 running (%lf %7s memory), 0 stopped",
									 &num, unit) == 2, "%s", sb_str(&r.out));
	shown = (long long) (num * (strcmp(unit, "GiB") == 0 ? 1 << 30 : strcmp(unit, "MiB") == 0
								? 1 << 20 : strcmp(unit, "KiB") == 0 ? 1 << 10 : 1));
	cr_assert(lab_sh_capture(&out, "curl -sf --unix-socket /var/run/docker.sock "
							 "'http://localhost/v1.41/containers/%s/stats?stream=false' | "
							 "python3 -c 'import json,sys; m=json.load(sys.stdin)[\"memory_stats\"]; "
							 "s=m.get(\"stats\",{}); print(m[\"usage\"]-s.get(\"inactive_file\", "
							 "s.get(\"total_inactive_file\", 0)))'",
							 mig_name(&stack.s, mig_docmost.db_container)));
	stats = atoll(sb_str(&out));
	cr_assert(shown > stats / 2 && shown < stats * 2, "footer says %lld bytes (%s), engine %lld",
			  shown, line, stats);
	mig_run_free(&r);
	sb_free(&out);
	cr_assert_eq(lab_sh("docker stop %s >/dev/null", mig_name(&stack.s, mig_docmost.db_container)), 0);

	session = rtt_session_start(&stack);
	RTT_RETIRE(&stack, &r, 0, NULL, "--min-age", "0", "--yes", NULL);
	mig_run_free(&r);
	mig_pgfold(&stack.s, &r, NULL, "status", NULL);
	mig_expect_exit(&r, 0, "status");
	cr_assert(strstr(sb_str(&r.out), "dedicated postgres: 0 running (? memory), 0 stopped, "
					 "1 retired; their volumes hold 0 B\n") != NULL, "%s", sb_str(&r.out));
	mig_run_free(&r);
	free(volume);
}
