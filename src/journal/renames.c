/*
 * renames.c — what `pgfold rename` runs did to a migration's names, read
 * back from the journal (journal.h, journal_apply_renames).
 */
#include "pgfold/journal.h"

#include "pgfold/str.h"

#include <string.h>

static const char *
str_field(json_t *rec, const char *key)
{
	return rec ? json_string_value(json_object_get(rec, key)) : NULL;
}

/* old -> new in name when name is old. */
static void
follow(json_t *done, char *name, size_t size)
{
	const char *from = str_field(done, "from"), *to = str_field(done, "to");

	if (from != NULL && to != NULL && strcmp(name, from) == 0)
		str_copy(name, size, to);
}

void
journal_apply_renames(const Journal *j, const char *run, char *db, size_t db_size,
					  char *role, size_t role_size, char *service_sha256, size_t sha_size)
{
	bool after = false;

	for (size_t i = 0; i < journal_count(j); i++)
	{
		json_t *rec = journal_record(j, i);
		const char *r = str_field(rec, "run");

		if (r == NULL)
			continue;
		if (strcmp(r, run) == 0)
		{
			after = true;
			continue;
		}
		/* a run's completion record is where its renames count, once */
		if (!after || !str_field(rec, "op") || strcmp(str_field(rec, "op"), "rename") != 0
			|| !str_field(rec, "step") || strcmp(str_field(rec, "step"), JOURNAL_STEP_COMPLETE) != 0
			|| !str_field(rec, "status") || strcmp(str_field(rec, "status"), "done") != 0)
			continue;
		follow(journal_step_done(j, r, REN_STEP_DATABASE), db, db_size);
		follow(journal_step_done(j, r, REN_STEP_ROLE), role, role_size);

		const char *sha = str_field(journal_step_done(j, r, REN_STEP_FILES), "service_sha256");

		if (sha != NULL)
			str_copy(service_sha256, sha_size, sha);
	}
}
