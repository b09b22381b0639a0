/*
 * test_faults.c — randomized fault trials (`make faults`; issue 17).
 *
 * One stack with a source big enough that the stream lasts seconds goes
 * round migrate → rollback → migrate ...; each migrate and each rollback
 * is hit by a fault at a random moment OF A PHASE: the phase is drawn
 * round-robin (so every phase gets its share), the moment uniformly within
 * the time that phase took in a calibration run, counted from the journal
 * record that began it (kill times drawn from the start of the run would
 * all land in the apps' stop). Faults: kill -9 of pgfold, SIGTERM, SIGINT.
 *
 * After each fault, per contract: kill -9 ends it with 137, a signal with 130
 * (or 0 when it landed after the run's last step); the service file is the
 * original or what the completed run writes, byte for byte; the final
 * database exists only if the cut-over happened. Then a plain re-run must
 * converge: exit 0, the data identical to what it was, one database and one
 * role, no temporary database, no pg_dump/pg_restore left in any container.
 *
 * PGFOLD_FAULTS=N runs N trials of migrate and N of rollback per fault kind
 * (make faults: 20 for kill -9, 10 for each signal); without it one of each
 * (the smoke subset of make check). PGFOLD_FAULTS_SEED fixes the seed
 * (printed either way); PGFOLD_FAULTS_REPORT=FILE appends the table.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"
#include "pgfold/downtime.h"
#include "pgfold/journal.h"

static MigStack stack;

/* ~65 MB of table plus an index to rebuild (as test_failure.c). */
#define BIG_SQL \
	"CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) " \
	"AS pad FROM generate_series(1, 500000) g; CREATE INDEX big_pad_idx ON big (pad); " \
	"SELECT pg_database_size(current_database()) / 1048576"

#define MAX_PHASES 12
#define MAX_TRIALS 64

typedef struct Op
{
	const char *verb;                    /* "migrate" / "rollback" */
	const char *phases[MAX_PHASES];      /* the phases faults are aimed at, in order */
	const char *begun_by[MAX_PHASES];    /* the done record that begins each */
	double      took[MAX_PHASES];        /* seconds, from the calibration run */
	size_t      count;
	size_t      hits[MAX_PHASES];        /* trials landed in each */
} Op;

static Op migrate_op = {
	"migrate",
	{ "stop-apps", "role", "stream", "ownership", "analyze", "verify", "files", "cutover",
	  "apply", "proof" },
	{ "save-original", "stop-apps", "role", "stream", "properties", "analyze", "verify",
	  "files", "cutover", "apply" },
	{ 0 }, 10, { 0 },
};

static Op rollback_op = {
	"rollback",
	{ "stop-apps", "backup", "start-db", "restore", "verify", "swap", "files", "apply",
	  "drop-stale", "drop-shared" },
	{ "options", "stop-apps", "backup", "start-db", "restore", "verify", "swap", "files",
	  "apply", "drop-stale" },
	{ 0 }, 10, { 0 },
};

typedef struct Kind
{
	const char *name;
	int         sig;
	size_t      trials, passed;
	double      settle[MAX_TRIALS * 2];  /* seconds from the fault to pgfold's exit */
	size_t      nsettle;
} Kind;

typedef struct Stack
{
	char svc[96], dbc[160], app[160], redis[160];
	char *fp;                            /* the data every converged run must hold */
	StrBuf orig;                         /* the service file as the operator wrote it */
} Stack;

static Stack st;

static void
teardown(void)
{
	free(st.fp);
	sb_free(&st.orig);
	memset(&st, 0, sizeof(st));
	mig_stack_destroy(&stack);
}

TestSuite(faults, .fini = teardown, .timeout = 7200);

static size_t
trials_wanted(size_t full)
{
	const char *v = getenv("PGFOLD_FAULTS");
	long n = 0;

	if (v == NULL || !str_to_long(v, 1, MAX_TRIALS, &n))
		return 1;
	return full == 20 ? (size_t) n : ((size_t) n + 1) / 2;
}


static void
service_file(StrBuf *out)
{
	char path[PATH_MAX];

	sb_reset(out);
	mig_path(&stack, path, sizeof(path), "services/%s.yml", st.svc);
	mig_read(path, out, false);
}

/* The step of the last record of the latest run of verb, and whether it is
 * "done" ("" when the run wrote nothing yet). */
static void
last_record(const char *verb, char *step, size_t size, bool *done)
{
	StrBuf j = STRBUF_INIT;
	char path[PATH_MAX], want[32];
	const char *line, *at;

	step[0] = '\0';
	*done = false;
	mig_path(&stack, path, sizeof(path), "backups/postgres-migrations/%s.journal", st.svc);
	if (!mig_read(path, &j, true))
		return;
	str_format(want, sizeof(want), "\"op\":\"%s\"", verb);
	for (line = sb_str(&j); line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
	{
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t) (end - line) : strlen(line);
		char rec[2048];

		if (len >= sizeof(rec))
			continue;
		memcpy(rec, line, len);
		rec[len] = '\0';
		if (strstr(rec, want) == NULL || (at = strstr(rec, "\"step\":\"")) == NULL)
			continue;
		at += 8;
		str_format(step, size, "%.*s", (int) (strchr(at, '"') ? strchr(at, '"') - at : 0), at);
		*done = strstr(rec, "\"status\":\"done\"") != NULL;
	}
	sb_free(&j);
}

/* Per-phase seconds from the complete record's apps_down of the latest run. */
static void
calibrate(Op *op)
{
	StrBuf j = STRBUF_INIT;
	char path[PATH_MAX], key[64];
	const char *last = NULL, *p;

	mig_path(&stack, path, sizeof(path), "backups/postgres-migrations/%s.journal", st.svc);
	mig_read(path, &j, false);
	for (p = sb_str(&j); (p = strstr(p, "\"apps_down\"")) != NULL; p++)
		last = p;
	cr_assert_not_null(last, "no apps_down in the journal");
	for (size_t i = 0; i < op->count; i++)
	{
		const char *at;

		str_format(key, sizeof(key), "\"%s\":", op->phases[i]);
		at = strstr(last, key);
		op->took[i] = at ? strtod(at + strlen(key), NULL) : 0.2;
		if (op->took[i] < 0.05)
			op->took[i] = 0.05;
	}
	sb_free(&j);
}

/* Count of done records of step so far: a phase began once one more
 * appeared than before the run. */
static size_t
dones(const char *step)
{
	return mig_journal_count(&stack, st.svc, step, "done");
}

typedef struct Trial
{
	size_t completes;    /* completed runs in the journal before it */
	size_t phase;        /* aimed at */
	double delay;        /* after it began */
	double fault_at;     /* seconds since start */
	char   last[64];     /* the journal's last record of the run when it hit */
	bool   last_done;    /* ... and whether it was a "done" */
	bool   finished;     /* the run ended before the fault was sent */
	int    status;
	double settle;
} Trial;

/* The phase running when the fault hit: the one a "done" record begins, or
 * the step whose "started" record is the last. */
static const char *
landed_in(const Op *op, const Trial *t)
{
	if (t->finished)
		return "(finished first)";
	for (size_t i = 0; i < op->count; i++)
		if (t->last_done ? strcmp(t->last, op->begun_by[i]) == 0
			: strcmp(t->last, op->phases[i]) == 0)
			return op->phases[i];
	return t->last[0] ? t->last : "(before any record)";
}

/* Start verb, wait for the phase to begin, wait delay, send sig. */
static void
fault_run(Op *op, Kind *k, Trial *t, MigRun *r)
{
	const char *margs[] = { op->verb, st.svc, "--yes", NULL };
	const char *rargs[] = { op->verb, st.svc, "--yes", "--drop-shared", NULL };
	const char *begun_by = op->begun_by[t->phase];
	size_t before = dones(begun_by);
	double start = clock_now(), began = -1, sent = -1;
	MigProc p;
	int status = 0;
	bool exited = false;

	mig_pgfold_start(&stack, &p, NULL, strcmp(op->verb, "migrate") == 0 ? margs : rargs);
	while (!exited && clock_now() - start < 600)
	{
		exited = waitpid(p.pid, &status, WNOHANG) == p.pid;
		if (!exited && began < 0 && dones(begun_by) > before)
			began = clock_now();
		if (!exited && began >= 0 && sent < 0 && clock_now() - began >= t->delay)
		{
			last_record(op->verb, t->last, sizeof(t->last), &t->last_done);
			kill(p.pid, k->sig);
			sent = clock_now();
			t->fault_at = sent - start;
		}
		if (!exited)
			usleep(10 * 1000);
	}
	cr_assert(exited, "%s did not end", op->verb);
	if (sent < 0)
	{
		t->finished = true;
		t->fault_at = clock_now() - start;
		sent = clock_now();
	}
	t->settle = clock_now() - sent;
	t->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	/* collect what it printed (mig_pgfold_wait reaps: emulate it) */
	memset(r, 0, sizeof(*r));
	r->status = t->status;
	mig_read(p.out_path, &r->out, true);
	mig_read(p.err_path, &r->err, true);
}

/* Whether db is one of the shared instance's databases. */
static bool
shared_has(const char *db)
{
	char *dbs = mig_shared_databases(&stack), *save = NULL;
	bool found = false;

	for (char *tok = strtok_r(dbs, ", ", &save); tok != NULL && !found;
		 tok = strtok_r(NULL, ", ", &save))
		found = strcmp(tok, db) == 0;
	free(dbs);
	return found;
}

/* The contract right after the fault, before any re-run; *file gets the
 * service file as the fault left it. */
static void
assert_after_fault(const Op *op, const Kind *k, const Trial *t, const MigRun *r,
				   size_t cutovers_before, StrBuf *file)
{
	const char *where = landed_in(op, t);

	/* exit 0 only for a run that completed: ended before the fault, or a
	 * signal that arrived during its last step (a step is never cut) */
	bool completed = dones(JOURNAL_STEP_COMPLETE) == t->completes + 1;

	if (k->sig == SIGKILL)
		cr_assert(t->status == 137 || (t->finished && t->status == 0),
				  "%s killed in %s: exit %d\n%s", op->verb, where, t->status, sb_str(&r->err));
	else
		cr_assert(t->status == 130 || ((t->finished || completed) && t->status == 0),
				  "%s after %s in %s: exit %d\n%s", op->verb, k->name, where, t->status,
				  sb_str(&r->err));
	if (t->status == 0)
		cr_assert(completed, "%s exited 0 after %s in %s without completing", op->verb, k->name,
				  where);
	if (k->sig != SIGKILL && t->status != 0)
		cr_assert_not_null(strstr(sb_str(&r->err), "error: "),
						   "%s after %s: no error line\n%s", op->verb, k->name, sb_str(&r->err));
	service_file(file);
	if (strcmp(op->verb, "migrate") == 0 && dones("cutover") == cutovers_before)
		cr_assert_not(shared_has("docmost"), "%s hit in %s: the final database exists before "
					  "the cut-over", op->verb, where);
}

/* A plain re-run converges, and nothing is left behind. For migrate,
 * *migrated gets the service file it ends with. */
static void
converge(const Op *op, StrBuf *migrated)
{
	MigRun r;
	char *dbs, *roles, *fp;
	StrBuf now = STRBUF_INIT;

	if (strcmp(op->verb, "migrate") == 0)
		mig_pgfold(&stack, &r, NULL, "migrate", st.svc, "--yes", NULL);
	else
		mig_pgfold(&stack, &r, NULL, "rollback", st.svc, "--yes", "--drop-shared", NULL);
	mig_expect_exit(&r, 0, strcmp(op->verb, "migrate") == 0 ? "migrate after the fault"
					: "rollback after the fault");
	mig_run_free(&r);
	dbs = mig_shared_databases(&stack);
	roles = mig_shared_roles(&stack);
	service_file(&now);
	if (strcmp(op->verb, "migrate") == 0)
	{
		cr_assert_str_eq(dbs, "docmost", "databases after the re-run: %s", dbs);
		cr_assert_str_eq(roles, "docmost", "roles after the re-run: %s", roles);
		fp = mig_fingerprint(stack.shared, "admin", "docmost");
		cr_assert(now.len != st.orig.len || memcmp(now.data, st.orig.data, now.len) != 0,
				  "the service file is still the original after the migration");
		sb_reset(migrated);
		sb_append(migrated, now.data, now.len);
	}
	else
	{
		cr_assert_str_eq(dbs, "", "databases after the rollback --drop-shared: %s", dbs);
		cr_assert(now.len == st.orig.len && memcmp(now.data, st.orig.data, now.len) == 0,
				  "the service file is not the original after the rollback:\n%s", sb_str(&now));
		fp = mig_fingerprint(st.dbc, mig_docmost.db_user, mig_docmost.src_db);
	}
	cr_assert_str_eq(fp, st.fp, "the data after the re-run");
	cr_assert_eq(mig_count_procs(st.dbc, "pg_dump"), 0, "pg_dump left in %s", st.dbc);
	cr_assert_eq(mig_count_procs(stack.shared, "pg_restore"), 0, "pg_restore left in the shared");
	cr_assert_eq(mig_count_procs(st.dbc, "pg_restore"), 0, "pg_restore left in %s", st.dbc);
	free(fp);
	free(dbs);
	free(roles);
	sb_free(&now);
}

static bool
same(const StrBuf *a, const StrBuf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* One fault in one run of op, then the re-run. The service file the fault
 * left is the original or the migrated one: for migrate, the one its own
 * re-run ends with; for rollback, the one the migration wrote. */
static void
one_trial(Op *op, Kind *k, size_t n, unsigned *seed, StrBuf *migrated, StrBuf *log)
{
	StrBuf left = STRBUF_INIT, before = STRBUF_INIT;
	size_t cutovers = dones("cutover");
	const char *where;
	Trial t;
	MigRun r;

	memset(&t, 0, sizeof(t));
	t.completes = dones(JOURNAL_STEP_COMPLETE);
	sb_append(&before, migrated->data, migrated->len);
	t.phase = n % op->count;     /* n: the kind's random start plus the trial */
	/* most steps last milliseconds and the start is seen by polling: a
	 * uniform draw lands most faults in the next phase; u^3 leans to the
	 * phase's start (found by the fault trials of the proofs branch) */
	{
		double u = (double) rand_r(seed) / RAND_MAX;

		t.delay = op->took[t.phase] * u * u * u;
	}
	fault_run(op, k, &t, &r);
	k->trials++;
	where = landed_in(op, &t);
	for (size_t i = 0; i < op->count; i++)
		if (strcmp(where, op->phases[i]) == 0)
			op->hits[i]++;
	sb_appendf(log, "  %-8s %-8s aimed at %-11s +%.2fs: hit at %6.2fs in %-16s exit %3d, "
			   "exited %.2fs after it\n", k->name, op->verb, op->phases[t.phase], t.delay,
			   t.fault_at, where, t.status, t.settle);
	assert_after_fault(op, k, &t, &r, cutovers, &left);
	mig_run_free(&r);
	converge(op, migrated);
	cr_assert(same(&left, &st.orig) || same(&left, strcmp(op->verb, "migrate") == 0
											 ? migrated : &before),
			  "%s hit in %s left a service file that is neither the original nor the "
			  "migrated one:\n%s", op->verb, where, sb_str(&left));
	if (k->nsettle < sizeof(k->settle) / sizeof(k->settle[0]))
		k->settle[k->nsettle++] = t.settle;
	k->passed++;
	sb_free(&left);
	sb_free(&before);
}

static void
setup_stack(void)
{
	char *mb;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	str_copy(st.svc, sizeof(st.svc), mig_svc(&stack, &mig_docmost));
	str_copy(st.dbc, sizeof(st.dbc), mig_name(&stack, mig_docmost.db_container));
	mb = mig_sql_value(st.dbc, "docmost", "docmost", BIG_SQL);
	fprintf(stderr, "faults: source database is %s MiB\n", mb);
	free(mb);
	st.fp = mig_fingerprint(st.dbc, mig_docmost.db_user, mig_docmost.src_db);
	service_file(&st.orig);
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(v[0]), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
report(Kind *kinds, size_t nk, unsigned seed, const StrBuf *log)
{
	StrBuf t = STRBUF_INIT;
	const char *file = getenv("PGFOLD_FAULTS_REPORT");

	sb_appendf(&t, "faults: seed %u\n%s\n  %-8s %7s %7s  %s\n", seed, sb_str(log), "case",
			   "trials", "passed", "median time from the fault to pgfold's exit");
	for (size_t i = 0; i < nk; i++)
		sb_appendf(&t, "  %-8s %7zu %7zu  %.2f s\n", kinds[i].name, kinds[i].trials,
				   kinds[i].passed, median(kinds[i].settle, kinds[i].nsettle));
	for (int o = 0; o < 2; o++)
	{
		Op *op = o ? &rollback_op : &migrate_op;

		sb_appendf(&t, "  %s phases hit:", op->verb);
		for (size_t i = 0; i < op->count; i++)
			sb_appendf(&t, " %s=%zu", op->phases[i], op->hits[i]);
		sb_appendc(&t, '\n');
	}
	fputs(sb_str(&t), stderr);
	if (file != NULL)
	{
		FILE *f = fopen(file, "a");

		cr_assert_not_null(f, "cannot write %s", file);
		fputs(sb_str(&t), f);
		fclose(f);
	}
	sb_free(&t);
}

/*
 * The whole round: a calibration migrate and rollback (uninterrupted), then
 * for each kind its trials, each a migrate hit by the fault (re-run to
 * converge) followed by a rollback hit by it (re-run to converge).
 */
Test(faults, random_moments_of_every_phase)
{
	Kind kinds[] = {
		{ "kill-9", SIGKILL, 0, 0, { 0 }, 0 },
		{ "SIGTERM", SIGTERM, 0, 0, { 0 }, 0 },
		{ "SIGINT", SIGINT, 0, 0, { 0 }, 0 },
	};
	const char *sv = getenv("PGFOLD_FAULTS_SEED");
	long seedv = 0;
	unsigned first = sv != NULL && str_to_long(sv, 0, 1L << 31, &seedv) ? (unsigned) seedv
		: (unsigned) time(NULL), seed = first;
	StrBuf migrated = STRBUF_INIT, log = STRBUF_INIT;
	MigRun r;

	setup_stack();
	fprintf(stderr, "faults: seed %u (PGFOLD_FAULTS_SEED=%u repeats this run)\n", seed, seed);
	mig_pgfold(&stack, &r, NULL, "migrate", st.svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "calibration migrate");
	mig_run_free(&r);
	calibrate(&migrate_op);
	service_file(&migrated);
	mig_pgfold(&stack, &r, NULL, "rollback", st.svc, "--yes", "--drop-shared", NULL);
	mig_expect_exit(&r, 0, "calibration rollback");
	mig_run_free(&r);
	calibrate(&rollback_op);

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
	{
		size_t n = trials_wanted(k == 0 ? 20 : 10);
		/* round-robin over the phases from a random one: every phase gets
		 * its share in a full run, a one-trial smoke hits any phase */
		size_t from = (size_t) rand_r(&seed);

		for (size_t i = 0; i < n; i++)
		{
			one_trial(&migrate_op, &kinds[k], from + i, &seed, &migrated, &log);
			one_trial(&rollback_op, &kinds[k], from + i, &seed, &migrated, &log);
		}
	}
	report(kinds, sizeof(kinds) / sizeof(kinds[0]), first, &log);
	sb_free(&migrated);
	sb_free(&log);
}
