/*
 * state.c — whether a fold is retired, read from the journal alone (for
 * `status`, `plan` and `rollback`), and the journal's timestamps.
 */
#include "rt_internal.h"

#include <string.h>

bool
rt_parse_ts(const char *ts, time_t *out)
{
	struct tm tm;
	const char *end;

	if (ts == NULL)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return false;
	*out = timegm(&tm);
	return true;
}

static const char *
field(json_t *rec, const char *key)
{
	return rec != NULL ? json_string_value(json_object_get(rec, key)) : NULL;
}

bool
retire_state(const Journal *j, const char *migrate_run, RetireState *out)
{
	JournalRun *runs = NULL;
	size_t n = journal_runs(j, &runs);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; migrate_run != NULL && i < n; i++)
	{
		json_t *inv = journal_step_done(j, runs[i].run, RT_STEP_INVENTORY);
		json_t *rm = journal_step(j, runs[i].run, RT_STEP_REMOVE_CONTAINER);
		const char *mrun = field(inv, "migrate_run");

		if (runs[i].op != JOURNAL_RETIRE || rm == NULL || mrun == NULL
			|| strcmp(mrun, migrate_run) != 0)
			continue;
		out->retired = true;
		out->finished = runs[i].complete;
		str_copy(out->run, sizeof(out->run), runs[i].run);
		str_copy(out->when, sizeof(out->when), field(rm, "ts") ? field(rm, "ts") : "");
		if (runs[i].complete)
		{
			json_t *c = journal_step_done(j, runs[i].run, JOURNAL_STEP_COMPLETE);

			out->bytes = json_integer_value(json_object_get(c, "bytes"));
		}
	}
	free(runs);
	return out->retired;
}

bool
retire_service_state(const Config *cfg, const StackService *svc, RetireState *st)
{
	Journal j = JOURNAL_INIT;
	bool exists = false, retired = false;
	const char *run = NULL;

	memset(st, 0, sizeof(*st));
	if (journal_load(cfg->backups_dir, service_fsname(svc), &j, &exists) && exists
		&& journal_is_migrated(&j, &run))
		retired = retire_state(&j, run, st);
	journal_close(&j);
	return retired;
}
