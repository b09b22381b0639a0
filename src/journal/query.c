/*
 * query.c — what the journal says, for resume logic and status; see
 * journal.h.
 *
 * Records are validated when read or appended (fixed fields present, known
 * op and status), so the getters below need no NULL checks of their own.
 * Order in the file is the truth; timestamps are informational.
 */
#include "pgfold/journal.h"
#include "pgfold/str.h"

#include <string.h>

static const char *
field(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static bool
field_is(json_t *rec, const char *key, const char *value)
{
	return strcmp(field(rec, key), value) == 0;
}

size_t
journal_count(const Journal *j)
{
	return j->records ? json_array_size(j->records) : 0;
}

json_t *
journal_record(const Journal *j, size_t index)
{
	return j->records ? json_array_get(j->records, index) : NULL;
}

const char *
journal_latest_run(const Journal *j, JournalOp op)
{
	for (size_t i = journal_count(j); i-- > 0;)
	{
		json_t *rec = journal_record(j, i);

		if (field_is(rec, "op", journal_op_name(op)))
			return field(rec, "run");
	}
	return NULL;
}

json_t *
journal_step(const Journal *j, const char *run, const char *step)
{
	for (size_t i = journal_count(j); i-- > 0;)
	{
		json_t *rec = journal_record(j, i);

		if (field_is(rec, "run", run) && field_is(rec, "step", step))
			return rec;
	}
	return NULL;
}

json_t *
journal_step_done(const Journal *j, const char *run, const char *step)
{
	json_t *rec = journal_step(j, run, step);

	return rec != NULL && field_is(rec, "status", "done") ? rec : NULL;
}

bool
journal_run_complete(const Journal *j, const char *run)
{
	return journal_step_done(j, run, JOURNAL_STEP_COMPLETE) != NULL;
}

static bool
is_completion(json_t *rec)
{
	return field_is(rec, "step", JOURNAL_STEP_COMPLETE) && field_is(rec, "status", "done");
}

bool
journal_is_migrated(const Journal *j, const char **run)
{
	/* The last completion of a migrate or a rollback decides: migrate →
	 * migrated, rollback → not. A retire (or rename) changes neither. */
	for (size_t i = journal_count(j); i-- > 0;)
	{
		json_t *rec = journal_record(j, i);

		if (!is_completion(rec) || field_is(rec, "op", journal_op_name(JOURNAL_RENAME)))
			continue;
		if (field_is(rec, "op", journal_op_name(JOURNAL_ROLLBACK)))
			break;
		if (!field_is(rec, "op", journal_op_name(JOURNAL_MIGRATE)))
			continue;
		if (run != NULL)
			*run = field(rec, "run");
		return true;
	}
	if (run != NULL)
		*run = NULL;
	return false;
}

static void
run_update(JournalRun *r, json_t *rec)
{
	r->updated = field(rec, "ts");
	r->last_step = field(rec, "step");
	journal_status_parse(field(rec, "status"), &r->last_status);
	if (is_completion(rec))
		r->complete = true;
	r->records++;
}

size_t
journal_runs(const Journal *j, JournalRun **out)
{
	size_t n = 0, total = journal_count(j);
	JournalRun *runs = xcalloc(total ? total : 1, sizeof(JournalRun));

	for (size_t i = 0; i < total; i++)
	{
		json_t *rec = journal_record(j, i);
		const char *run = field(rec, "run");
		size_t k = n;

		/* Newest first: records of a run are usually together. */
		while (k > 0 && strcmp(runs[k - 1].run, run) != 0)
			k--;
		if (k == 0)
		{
			k = ++n;
			runs[k - 1].run = run;
			runs[k - 1].started = field(rec, "ts");
			journal_op_parse(field(rec, "op"), &runs[k - 1].op);
		}
		run_update(&runs[k - 1], rec);
	}
	*out = runs;
	return n;
}
