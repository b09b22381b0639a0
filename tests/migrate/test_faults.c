/*
 * test_faults.c — `make faults`, not part of `make check` (skipped unless
 * PGFOLD_FAULTS=1): kill -9 of pgfold at random moments of `migrate`, then
 * a plain re-run that must converge (data verified, files right, one
 * database and one role, one completed run, no pg_dump/pg_restore left).
 *
 * Trial t kills during phase t % N of migrate's journaled steps (so every
 * phase gets trials / N kills): it waits until the phase begins (the done
 * record of the step before it; the start for the first), then a delay
 * drawn from the trial's seed (PGFOLD_FAULTS_SEED + t) in [0, 1.5 s) (the
 * stream: [0, 4.5 s)), leaning to the start (span * u^3), then SIGKILL. The phase a kill landed in is the first step not yet journaled
 * done at that moment (a short phase may be over before the kill lands).
 * Drawing from the run's start instead would put almost every kill into
 * the apps' stop, which waits out their grace period.
 *
 * The database gets PGFOLD_FAULTS_ROWS extra rows (default 1000000) so the
 * stream lasts seconds. Each trial appends one line to PGFOLD_FAULTS_OUT
 * (scripts/faults.sh prints the table).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

#include "pgfold/migrate.h"
#include "pgfold/runner.h"

#define TRIALS_MAX 200
#define PHASES_MAX 32
#define DELAY_MAX_MS 1500

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

static long
env_long(const char *name, long dflt)
{
	long v;

	return getenv(name) && str_to_long(getenv(name), 0, 1L << 40, &v) ? v : dflt;
}

/* The steps that journal a done record on this stack (test_crash.c's list). */
static size_t
phases(const char *out[PHASES_MAX])
{
	static const char *const silent[] = {
		"migration-state", "migration-state-after", "carry-roles", "start-file-apps",
	};
	size_t n, k = 0;
	const RunnerStep *steps = migrate_steps(&n);

	for (size_t i = 0; i < n && k < PHASES_MAX; i++)
	{
		bool skip = false;

		for (size_t j = 0; j < sizeof(silent) / sizeof(silent[0]); j++)
			skip = skip || strcmp(steps[i].name, silent[j]) == 0;
		if (!skip)
			out[k++] = steps[i].name;
	}
	return k;
}

static const char *
phases_name(size_t i)
{
	const char *names[PHASES_MAX];
	size_t n = phases(names);

	return i < n ? names[i] : "";
}

ParameterizedTestParameters(faults, kill9_migrate)
{
	static int index[TRIALS_MAX];
	long n = env_long("PGFOLD_FAULTS_TRIALS", 26);

	if (n > TRIALS_MAX)
		n = TRIALS_MAX;
	for (long i = 0; i < n; i++)
		index[i] = (int) i;
	return cr_make_param_array(int, index, (size_t) n);
}

/* How many of names[0, n) the journal has a done record for (0 when the
 * journal does not exist yet). */
static size_t
done_count(const char *journal, const char *const *names, size_t n)
{
	FILE *f = fopen(journal, "r");
	char line[8192];
	size_t done = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		json_t *rec = json_loads(line, 0, NULL);
		const char *step = json_string_value(json_object_get(rec, "step"));
		const char *status = json_string_value(json_object_get(rec, "status"));

		for (size_t i = 0; step && status && i < n; i++)
			if (strcmp(step, names[i]) == 0 && strcmp(status, "done") == 0 && i + 1 > done)
				done = i + 1;
		json_decref(rec);
	}
	fclose(f);
	return done;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* pg_dump or pg_restore still running in a container of the stack. */
static bool
dump_or_restore_left(const MigStack *s, const char *source)
{
	return lab_sh("for c in %s %s; do docker top $c -eo args 2>/dev/null; done | "
				  "grep -qE '(^|/)pg_(dump|restore) '", s->shared, source) == 0;
}

ParameterizedTest(int *trial, faults, kill9_migrate, .fini = teardown, .timeout = 900)
{
	if (getenv("PGFOLD_FAULTS") == NULL || strcmp(getenv("PGFOLD_FAULTS"), "1") != 0)
		cr_skip_test("make faults only (PGFOLD_FAULTS=1)");

	const char *names[PHASES_MAX];
	size_t n = phases(names);
	size_t target = (size_t) *trial % n;
	unsigned seed = (unsigned) (env_long("PGFOLD_FAULTS_SEED", 1) + *trial);
	/* the stream is the long phase: draw over three times the span. Most
	 * steps take a few milliseconds, so the draw leans to the phase's start
	 * (span * u^3): short phases still catch kills, long ones get them late
	 * too */
	long span = strcmp(phases_name(target), "stream") == 0 ? 3 * DELAY_MAX_MS : DELAY_MAX_MS;
	double u = (double) rand_r(&seed) / ((double) RAND_MAX + 1.0);
	long delay_ms = (long) ((double) span * u * u * u);
	long rows = env_long("PGFOLD_FAULTS_ROWS", 1000000);
	char journal[PATH_MAX], svc[96], sql[256], source[160];
	MigProc p;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	str_copy(source, sizeof(source), mig_name(&stack, mig_docmost.db_container));
	str_format(sql, sizeof(sql), "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS v "
			   "FROM generate_series(1, %ld) g", rows);
	free(mig_sql_value(source, mig_docmost.db_user, mig_docmost.src_db, sql));
	mig_path(&stack, journal, sizeof(journal), "backups/postgres-migrations/%s.journal", svc);

	/* kill -9 during the target phase */
	const char *args[] = { "migrate", svc, "--yes", NULL };
	double t0 = now_s(), began = -1, killed_at = -1;
	size_t landed = n;
	bool exited = false;

	mig_pgfold_start(&stack, &p, NULL, args);
	while (!exited)
	{
		int status;

		if (waitpid(p.pid, &status, WNOHANG) == p.pid)
		{
			exited = true;  /* finished (or failed) before the kill */
			break;
		}
		if (began < 0 && (target == 0 || done_count(journal, names, n) >= target))
			began = now_s();
		if (began >= 0 && now_s() - began >= (double) delay_ms / 1000.0)
		{
			landed = done_count(journal, names, n);
			kill(p.pid, SIGKILL);
			killed_at = now_s();
			break;
		}
		usleep(5000);
	}
	if (!exited)
		mig_pgfold_wait(&p, &r, 60);
	else
		memset(&r, 0, sizeof(r));
	mig_run_free(&r);

	/* the re-run converges */
	double t1 = now_s();

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);

	double rerun = now_s() - t1;
	bool ok = r.status == 0;

	if (getenv("PGFOLD_FAULTS_OUT") != NULL)
	{
		FILE *out = fopen(getenv("PGFOLD_FAULTS_OUT"), "a");

		if (out != NULL)
		{
			fprintf(out, "%d %u %s %ld %.2f %s %d %.1f %s\n", *trial,
					(unsigned) (env_long("PGFOLD_FAULTS_SEED", 1) + *trial), names[target], delay_ms,
					killed_at < 0 ? -1.0 : killed_at - t0,
					exited ? "(exited)" : landed < n ? names[landed] : "(all-done)",
					r.status, rerun, ok ? "converged" : "FAILED");
			fclose(out);
		}
	}
	mig_expect_exit(&r, 0, "the re-run after kill -9");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *dbs = mig_shared_databases(&stack), *roles = mig_shared_roles(&stack);

	cr_assert_str_eq(dbs, "docmost", "databases left on the shared instance: %s", dbs);
	cr_assert_str_eq(roles, "docmost", "roles on the shared instance: %s", roles);
	cr_assert_eq(mig_journal_count(&stack, svc, "complete", "done"), 1);
	cr_assert_not(dump_or_restore_left(&stack, source), "a pg_dump or pg_restore is still running");
	mig_assert_rerun_noop(&stack, &mig_docmost);
	free(dbs);
	free(roles);
	free(fp);
}
