/*
 * history.c — what earlier folds on this stack say about the part of the
 * apps' downtime a rehearsal cannot time: stopping the apps and bringing
 * them back with compose (`plan --rehearse` moves the data while the apps
 * run, so only real runs have measured the rest).
 */
#include "pgfold/journal.h"

#include "pgfold/log.h"
#include "pgfold/str.h"

#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX_RUNS 256

static bool
is_rehearsed(const char *phase, const char *const *rehearsed)
{
	for (size_t i = 0; rehearsed[i] != NULL; i++)
		if (strcmp(phase, rehearsed[i]) == 0)
			return true;
	return false;
}

/* Did this run's apply step recreate the apps (not --no-apply)? */
static bool
run_applied(const Journal *j, const char *run)
{
	json_t *apply = journal_step_done(j, run, MIG_STEP_APPLY);

	return apply != NULL && json_is_true(json_object_get(apply, "applied"));
}

/* The seconds of one completed, applied migrate outside the rehearsed
 * phases; false when the record has none to give. */
static bool
overhead_of(const Journal *j, json_t *rec, const char *const *rehearsed, double *out)
{
	json_t *phases = json_object_get(json_object_get(rec, "apps_down"), "phases");
	const char *run = json_string_value(json_object_get(rec, "run"));
	const char *key;
	json_t *v;
	double sum = 0;

	if (!json_is_object(phases) || run == NULL || !run_applied(j, run))
		return false;
	json_object_foreach(phases, key, v)
		if (json_is_number(v) && !is_rehearsed(key, rehearsed) && json_number_value(v) >= 0
			&& json_number_value(v) < 86400)
			sum += json_number_value(v);
	*out = sum;
	return true;
}

static void
collect_service(const char *backups_dir, const char *service, const char *const *rehearsed,
				double *runs, size_t *n)
{
	Journal j;
	bool exists = false;

	memset(&j, 0, sizeof(j));
	if (!journal_load(backups_dir, service, &j, &exists))
		return;
	for (size_t i = 0; exists && i < journal_count(&j) && *n < HISTORY_MAX_RUNS; i++)
	{
		json_t *rec = journal_record(&j, i);
		const char *step = json_string_value(json_object_get(rec, "step"));
		JournalOp op;

		if (journal_op_parse(json_string_value(json_object_get(rec, "op")), &op)
			&& op == JOURNAL_MIGRATE && step != NULL && strcmp(step, JOURNAL_STEP_COMPLETE) == 0
			&& overhead_of(&j, rec, rehearsed, &runs[*n]))
			(*n)++;
	}
	journal_close(&j);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

bool
journal_apps_overhead(const char *backups_dir, const char *const *rehearsed, double *median,
					  size_t *count)
{
	double runs[HISTORY_MAX_RUNS];
	char **services = NULL;
	size_t n = 0, nservices = 0;

	*median = 0;
	*count = 0;
	if (!journal_services(backups_dir, &services, &nservices))
		return false;
	for (size_t i = 0; i < nservices && n < HISTORY_MAX_RUNS; i++)
		collect_service(backups_dir, services[i], rehearsed, runs, &n);
	str_vec_free(services);
	if (n == 0)
		return false;       /* no fold yet: nothing to go by */
	qsort(runs, n, sizeof(runs[0]), cmp_double);
	*median = n % 2 ? runs[n / 2] : (runs[n / 2 - 1] + runs[n / 2]) / 2;
	*count = n;
	return true;
}
