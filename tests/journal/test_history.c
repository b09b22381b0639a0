/*
 * test_history.c — what earlier folds say about the downtime a rehearsal
 * cannot time: only completed migrations that recreated their apps count,
 * and only their phases outside the rehearsed ones; the median of them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil/fstest.h"
#include "pgfold/journal.h"
#include "pgfold/str.h"

FST_SCRATCH_SUITE(journal_history);

static const char *const rehearsed[] = { "stream", "ownership", "analyze", "verify", NULL };

/* One migrate run: its apply step (applied or not) and its completion with
 * the given phases (a JSON object's members). */
static void
append_run(FILE *f, const char *run, bool applied, const char *phases)
{
	fprintf(f, "{\"ts\":\"2026-12-01T00:00:00.000Z\",\"op\":\"migrate\",\"run\":\"%s\",\"step\":\"apply\",\"status\":\"done\","
			"\"applied\":%s}\n", run, applied ? "true" : "false");
	fprintf(f, "{\"ts\":\"2026-12-01T00:00:00.000Z\",\"op\":\"migrate\",\"run\":\"%s\",\"step\":\"complete\",\"status\":\"done\","
			"\"apps_down\":{\"seconds\":9,\"phases\":{%s}}}\n", run, phases);
}

static FILE *
journal_file(const char *service)
{
	char d[PATH_MAX], path[PATH_MAX];

	cr_assert(str_format(d, sizeof(d), "%s/postgres-migrations", dir));
	mkdir(d, 0750);
	cr_assert(str_format(path, sizeof(path), "%s/%s.journal", d, service));

	FILE *f = fopen(path, "a");

	cr_assert_not_null(f);
	return f;
}

Test(journal_history, median_of_the_applied_folds_outside_the_rehearsed_phases)
{
	FILE *a = journal_file("nextcloud"), *b = journal_file("docmost");
	double median = -1;
	size_t n = 0;

	/* 0.5 + 1.5 outside; the data phases do not count */
	append_run(a, "20261201T000000Z", true,
			   "\"stop-apps\":0.5,\"stream\":30,\"analyze\":2,\"verify\":1,\"apply\":1.5");
	/* --no-apply: its apps were never brought back, nothing to learn */
	append_run(a, "20261202T000000Z", false, "\"stop-apps\":0.2,\"stream\":3,\"apply\":0.001");
	append_run(b, "20261203T000000Z", true, "\"stop-apps\":10,\"stream\":1,\"apply\":2");
	append_run(b, "20261204T000000Z", true, "\"stop-apps\":0.25,\"files\":0.25,\"apply\":2.5");
	/* hostile numbers are not seconds */
	append_run(b, "20261205T000000Z", true, "\"stop-apps\":-5,\"apply\":\"x\",\"files\":1e300");
	fclose(a);
	fclose(b);

	cr_assert(journal_apps_overhead(dir, rehearsed, &median, &n));
	cr_assert_eq(n, 4, "the --no-apply run is not a fold: %zu", n);
	/* 0 (the hostile one), 2.0, 3.0, 12.0 */
	cr_assert_float_eq(median, 2.5, 1e-9, "%f", median);
}

Test(journal_history, no_fold_yet)
{
	FILE *a = journal_file("nextcloud");
	double median = -1;
	size_t n = 9;

	append_run(a, "20261202T000000Z", false, "\"stop-apps\":0.2,\"apply\":0.001");
	fclose(a);
	cr_assert(!journal_apps_overhead(dir, rehearsed, &median, &n));
	cr_assert_eq(n, 0);
	cr_assert_float_eq(median, 0, 1e-9);

	char none[PATH_MAX];

	cr_assert(str_format(none, sizeof(none), "%s/nothing-here", dir));
	cr_assert(!journal_apps_overhead(none, rehearsed, &median, &n));
	cr_assert_eq(n, 0);
}
