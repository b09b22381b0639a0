/*
 * test_crash.c — a crash right after each step (PGFOLD_FAULT_AFTER=<step>:
 * the process _exit(99)s as soon as the step is journaled, with no cleanup,
 * as kill -9 or a power loss would) and then a plain re-run: the re-run
 * must finish the same migration — the data verified on the shared
 * instance, the files right, one database and one role, one completed run
 * in the journal.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

#include "pgfold/migrate.h"
#include "pgfold/runner.h"

/* More than migrate's table has (checked below). */
#define STEP_MAX 32

/* Steps that journal nothing on this stack, so they have no fault point
 * here: the guard's checks (no migration runner state in docmost's
 * database), --with-roles, and apps of other files. Every other row of the
 * exported table must crash and converge. */
static const char *const journals_nothing_here[] = {
	"migration-state", "migration-state-after", "carry-roles", "start-file-apps",
};

static bool
journals_here(const char *name)
{
	for (size_t i = 0; i < sizeof(journals_nothing_here) / sizeof(journals_nothing_here[0]); i++)
		if (strcmp(name, journals_nothing_here[i]) == 0)
			return false;
	return true;
}

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

ParameterizedTestParameters(migrate_crash, after_step)
{
	static int index[STEP_MAX];
	size_t n, count = 0;
	const RunnerStep *steps = migrate_steps(&n);

	for (size_t i = 0; i < n && count < STEP_MAX; i++)
		if (journals_here(steps[i].name))
			index[count++] = (int) i;
	return cr_make_param_array(int, index, count);
}

Test(migrate_crash, table_names_journal_steps)
{
	size_t n, crashing = 0;
	const RunnerStep *steps = migrate_steps(&n);

	cr_assert_leq(n, STEP_MAX);
	cr_assert_str_eq(steps[0].name, "connections");
	cr_assert_str_eq(steps[MIGRATE_STEPS_BEFORE_CUTOVER].name, "cutover",
					 "undo must stop at the cut-over");
	for (size_t i = 0; i < n; i++)
		crashing += journals_here(steps[i].name);
	cr_assert_eq(crashing + sizeof(journals_nothing_here) / sizeof(journals_nothing_here[0]), n,
				 "a name in journals_nothing_here is not a step of migrate's table");
}

ParameterizedTest(int *step, migrate_crash, after_step, .fini = teardown, .timeout = 600)
{
	const char *name = migrate_steps(NULL)[*step].name;
	char fault[64], msg[128], svc[96];
	const char *env[] = { fault, NULL };
	MigRun r;

	str_format(fault, sizeof(fault), "PGFOLD_FAULT_AFTER=%s", name);
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	mig_pgfold(&stack, &r, env, "migrate", svc, "--yes", NULL);
	str_format(msg, sizeof(msg), "migrate with %s", fault);
	mig_expect_exit(&r, 99, msg);
	cr_assert_not_null(strstr(sb_str(&r.err), name), "%s:\n%s", msg, sb_str(&r.err));
	cr_assert_eq(mig_journal_count(&stack, svc, name, "done"), 1,
				 "step %s is not journaled as done before the crash", name);
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	str_format(msg, sizeof(msg), "re-run after a crash after %s", name);
	mig_expect_exit(&r, 0, msg);
	mig_run_free(&r);

	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *dbs = mig_shared_databases(&stack), *roles = mig_shared_roles(&stack);

	cr_assert_str_eq(dbs, "docmost", "after a crash after %s: databases %s", name, dbs);
	cr_assert_str_eq(roles, "docmost", "after a crash after %s: roles %s", name, roles);
	cr_assert_eq(mig_journal_count(&stack, svc, "complete", "done"), 1,
				 "after a crash after %s: no completed run in the journal", name);
	cr_expect_eq(mig_journal_runs(&stack, svc), 1,
				 "after a crash after %s: the re-run started another run instead of resuming",
				 name);
	cr_expect_eq(mig_journal_count(&stack, svc, "abort", NULL), 0,
				 "after a crash after %s: the re-run aborted something", name);
	mig_assert_rerun_noop(&stack, &mig_docmost);
	free(dbs);
	free(roles);
	free(fp);
}

/*
 * An operator edits the service file while a crashed run waits to be
 * resumed. The resume must not overwrite the edit: it refuses (exit 3)
 * showing the file against the original, and leaves its bytes alone. Once
 * the file is what migrate wrote again, the same run resumes and finishes.
 *
 * Two crash points: right after the files step was journaled as done, and
 * among its writes (the service file written, the done record not yet
 * durable: the crash after the step with that last record taken off the
 * journal, as a power loss before its fsync leaves it). In the second the
 * resume puts the original back and redoes the step, which it may only do
 * because the step journaled the new file's sha256 before writing it.
 */
#define EDIT_LINE "# edited by the operator after the crash"

static const char *const edit_points[] = { "files", "files-written" };

ParameterizedTestParameters(migrate_crash, edit_before_resume)
{
	static int index[2] = { 0, 1 };

	return cr_make_param_array(int, index, 2);
}

/* Take the journal's last record (the files step's "done") off. */
static void
drop_last_record(const char *svc)
{
	char path[PATH_MAX];
	StrBuf j = STRBUF_INIT;
	FILE *f;

	mig_path(&stack, path, sizeof(path), "backups/postgres-migrations/%s.journal", svc);
	mig_read(path, &j, false);
	cr_assert(j.len > 1 && j.data[j.len - 1] == '\n');
	j.data[--j.len] = '\0';

	char *last = strrchr(j.data, '\n');

	cr_assert_not_null(last);
	cr_assert(strstr(last, "\"step\":\"files\"") && strstr(last, "\"status\":\"done\""),
			  "the last record is not the files step's: %s", last + 1);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(j.data, 1, (size_t) (last - j.data) + 1, f), (size_t) (last - j.data) + 1);
	fclose(f);
	sb_free(&j);
}

static void
write_bytes(const char *path, const char *bytes, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(bytes, 1, len, f), len);
	fclose(f);
}

ParameterizedTest(int *point, migrate_crash, edit_before_resume, .fini = teardown, .timeout = 600)
{
	const char *env[] = { "PGFOLD_FAULT_AFTER=files", NULL };
	bool mid = strcmp(edit_points[*point], "files-written") == 0;
	StrBuf wrote = STRBUF_INIT, edited = STRBUF_INIT, now = STRBUF_INIT;
	char svc[96], path[PATH_MAX], header[PATH_MAX + 8];
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	mig_pgfold(&stack, &r, env, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 99, "migrate with PGFOLD_FAULT_AFTER=files");
	mig_run_free(&r);
	if (mid)
		drop_last_record(svc);

	mig_path(&stack, path, sizeof(path), "services/%s.yml", svc);
	mig_read(path, &wrote, false);
	cr_assert_not_null(strstr(sb_str(&wrote), "\n# database: postgres\n"),
					   "the files step did not rewrite %s:\n%s", path, sb_str(&wrote));
	sb_append(&edited, wrote.data, wrote.len);
	sb_appends(&edited, EDIT_LINE "\n");
	write_bytes(path, edited.data, edited.len);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "resume after the service file was edited");
	str_format(header, sizeof(header), "--- a/services/%s.yml\n", svc);
	cr_assert_not_null(strstr(sb_str(&r.err), header), "no diff of the file:\n%s", sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "\n-" EDIT_LINE "\n"),
					   "the diff does not show the edit:\n%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_read(path, &now, false);
	cr_assert(now.len == edited.len && memcmp(now.data, edited.data, now.len) == 0,
			  "the refused resume changed %s:\n%s", path, sb_str(&now));

	/* the file as migrate wrote it: the same run resumes and converges */
	write_bytes(path, wrote.data, wrote.len);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "resume with the file as migrate wrote it");
	if (mid)
		cr_expect_not_null(strstr(sb_str(&r.err), "restored"), "the half-written files were not "
						   "started over from the original:\n%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *dbs = mig_shared_databases(&stack), *roles = mig_shared_roles(&stack);

	cr_assert_str_eq(dbs, "docmost", "databases %s", dbs);
	cr_assert_str_eq(roles, "docmost", "roles %s", roles);
	cr_assert_eq(mig_journal_count(&stack, svc, "complete", "done"), 1);
	cr_expect_eq(mig_journal_runs(&stack, svc), 1, "the resume started another run");
	cr_expect_eq(mig_journal_count(&stack, svc, "abort", NULL), 0);
	free(dbs);
	free(roles);
	free(fp);
	sb_free(&wrote);
	sb_free(&edited);
	sb_free(&now);
}

/*
 * kill -9 while compose recreates containers, then a re-run at once: the
 * killed run's compose goes on, and the re-run must wait for it rather
 * than start the same containers beside it (the fault trials found a
 * re-run's `compose up` failing so). The wrapper's first `up` after the
 * marker is removed writes its pid there and lingers 5 s before the real
 * compose; the re-run's `up` runs at once. The re-run must end after that
 * first compose and exit 0, having said it waited for it. Done for migrate
 * (its `apply`), then for rollback (its first `up`), which must give the
 * service file and .env back byte for byte.
 */
typedef struct SlowUp
{
	char wrapper[PATH_MAX], marker[PATH_MAX], env_compose[PATH_MAX + 32];
} SlowUp;

static void
slow_up_init(SlowUp *u)
{
	str_format(u->marker, sizeof(u->marker), "%s/first-up.pid", stack.dir);
	str_format(u->wrapper, sizeof(u->wrapper), "%s/compose-slow-up", stack.dir);
	cr_assert_eq(lab_sh("printf '%%s\\n' '#!/bin/sh' 'case \" $* \" in *\" up \"*)' "
						"'  if [ ! -e %s ]; then echo $$ > %s.tmp && mv %s.tmp %s; sleep 5; fi;; esac' "
						"'exec %s \"$@\"' > %s && chmod +x %s", u->marker, u->marker, u->marker,
						u->marker, lab_compose(), u->wrapper, u->wrapper), 0);
	str_format(u->env_compose, sizeof(u->env_compose), "PGFOLD_COMPOSE=%s", u->wrapper);
}

/* args run through the wrapper, killed -9 once its compose up started;
 * then the same command again at once, which must wait for that compose
 * and succeed. */
static void
kill_during_up_then_rerun(SlowUp *u, const char *const *args, const char *what)
{
	const char *env[] = { u->env_compose, NULL };
	StrBuf pid_text = STRBUF_INIT;
	char says[PATH_MAX + 64];
	long orphan = 0;
	MigProc p;
	MigRun r;
	int status;

	unlink(u->marker);
	mig_pgfold_start(&stack, &p, env, args);
	for (int i = 0; i < 6000 && !mig_read(u->marker, &pid_text, true); i++)
		usleep(10 * 1000);
	cr_assert(pid_text.len > 0, "%s: compose up never started", what);
	pid_text.data[strcspn(pid_text.data, "\n")] = '\0';
	cr_assert(str_to_long(sb_str(&pid_text), 1, INT32_MAX, &orphan), "%s", sb_str(&pid_text));
	cr_assert_eq(kill(p.pid, SIGKILL), 0);
	cr_assert_eq(waitpid(p.pid, &status, 0), p.pid);
	cr_assert(lab_pid_running(orphan), "%s: the killed run's compose should still run", what);

	mig_pgfold(&stack, &r, env, args[0], args[1], args[2], args[3], NULL);
	cr_assert_not(lab_pid_running(orphan), "%s: the re-run ended while the killed run's compose "
				  "still ran", what);
	mig_expect_exit(&r, 0, what);
	str_format(says, sizeof(says), "is gone, but what it started on %s still runs (pid ", stack.root);
	cr_assert_not_null(strstr(sb_str(&r.err), says), "%s: %s", what, sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "waiting for it to end"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	sb_free(&pid_text);
}

static void
assert_same_bytes(const StrBuf *was, const StrBuf *now, const char *what)
{
	cr_assert(was->len == now->len && memcmp(was->data, now->data, now->len) == 0,
			  "%s after the rollback:\n%s\n--- before the migration ---\n%s", what, sb_str(now),
			  sb_str(was));
}

Test(migrate_crash, kill_during_compose_up_then_rerun, .fini = teardown, .timeout = 600)
{
	char svc[96];
	const char *margs[] = { "migrate", NULL, "--yes", NULL, NULL };
	const char *rargs[] = { "rollback", NULL, "--yes", "--drop-shared", NULL };
	MigSnapshot before, after;
	SlowUp u;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	margs[1] = rargs[1] = svc;
	slow_up_init(&u);
	mig_snapshot(&stack, svc, &before);

	kill_during_up_then_rerun(&u, margs, "migrate re-run right after a kill -9 during compose up");
	mig_assert_migrated(&stack, &mig_docmost, fp);
	cr_assert_eq(mig_journal_count(&stack, svc, "complete", "done"), 1);

	kill_during_up_then_rerun(&u, rargs, "rollback re-run right after a kill -9 during compose up");
	mig_snapshot(&stack, svc, &after);
	assert_same_bytes(&before.service, &after.service, "the service file");
	assert_same_bytes(&before.env, &after.env, "the .env file");
	cr_assert_str_eq(after.databases, "", "shared databases after rollback --drop-shared");

	char *back = mig_fingerprint(mig_name(&stack, mig_docmost.db_container), mig_docmost.db_user,
								 mig_docmost.src_db);

	cr_assert_str_eq(back, fp, "the data on the dedicated database after the rollback");
	free(back);
	mig_snapshot_free(&before);
	mig_snapshot_free(&after);
	free(fp);
}
