/*
 * migration.c — one migrate run read back from its journal records: what
 * a resumed migrate, `migrate --verify`, a rollback and the database list
 * need to know about it (journal.h, MigrationRecord).
 */
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

#include <string.h>

/* A field that is absent, not a string or too long for dst reads as "". */
static void
field(json_t *rec, const char *key, char *dst, size_t size)
{
	const char *v = json_string_value(json_object_get(rec, key));

	if (v == NULL || !str_copy(dst, size, v))
		dst[0] = '\0';
}

bool
journal_read_migration(const Journal *j, const char *run, MigrationRecord *out)
{
	json_t *rec;

	memset(out, 0, sizeof(*out));
	if (run == NULL || !str_copy(out->run, sizeof(out->run), run))
	{
		log_error("internal error: no migration run id to read");
		return false;
	}
	out->complete = journal_run_complete(j, run);
	out->aborted = journal_step(j, run, JOURNAL_STEP_ABORT) != NULL;
	out->applied = journal_step_done(j, run, MIG_STEP_APPLY) != NULL;
	out->verify = journal_step_done(j, run, MIG_STEP_VERIFY);

	if ((rec = journal_step_done(j, run, MIG_STEP_SAVE)) != NULL)
	{
		out->save.done = true;
		field(rec, "copy", out->save.copy, sizeof(out->save.copy));
		field(rec, "sha256", out->save.sha256, sizeof(out->save.sha256));
	}
	if ((rec = journal_step_done(j, run, MIG_STEP_STOP)) != NULL)
	{
		out->stop.done = true;
		out->stop.containers = json_object_get(rec, "containers");
		out->stop.file_apps = json_object_get(rec, "file_apps");
	}
	if ((rec = journal_step_done(j, run, MIG_STEP_ROLE)) != NULL)
	{
		out->role.done = true;
		field(rec, "db", out->role.db, sizeof(out->role.db));
		field(rec, "tmp_db", out->role.tmp_db, sizeof(out->role.tmp_db));
		field(rec, "role", out->role.role, sizeof(out->role.role));
		field(rec, "source_container", out->role.source_container,
			  sizeof(out->role.source_container));
		field(rec, "source_user", out->role.source_user, sizeof(out->role.source_user));
		field(rec, "source_db", out->role.source_db, sizeof(out->role.source_db));
		field(rec, "project", out->role.project, sizeof(out->role.project));
	}
	if ((rec = journal_step_done(j, run, MIG_STEP_STREAM)) != NULL)
	{
		out->stream.done = true;
		field(rec, "dump", out->stream.dump, sizeof(out->stream.dump));
		field(rec, "sha256", out->stream.sha256, sizeof(out->stream.sha256));
	}
	if ((rec = journal_step_done(j, run, MIG_STEP_FILES)) != NULL)
	{
		out->files.done = true;
		field(rec, "service_sha256", out->files.service_sha256,
			  sizeof(out->files.service_sha256));
		field(rec, "override", out->files.override, sizeof(out->files.override));
		field(rec, "env_file", out->files.env_file, sizeof(out->files.env_file));
		out->files.env_keys = json_object_get(rec, "env_keys");
		out->files.app_files = json_object_get(rec, "app_files");
	}
	/* older complete records lack "db": the role step named it */
	field(journal_step_done(j, run, JOURNAL_STEP_COMPLETE), "db", out->db, sizeof(out->db));
	if (out->db[0] == '\0')
		str_copy(out->db, sizeof(out->db), out->role.db);
	return true;
}
