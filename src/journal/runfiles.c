/*
 * runfiles.c — names of per-run files (logs, dumps, reports) next to the
 * journal, and the per-run log; see journal.h.
 *
 * Every file of a run carries the same UTC stamp, so `ls` sorts them by run
 * and an operator can match a log to its dump at a glance.
 */
#include "pgfold/journal.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

#include <string.h>

bool
journal_stamp(time_t when, char out[JOURNAL_STAMP_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL ||
		strftime(out, JOURNAL_STAMP_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != JOURNAL_STAMP_LEN)
	{
		log_error("cannot format time %lld as a UTC stamp", (long long) when);
		return false;
	}
	return true;
}

bool
journal_run_file_path(const char *backups_dir, const char *service, time_t when,
					  const char *ext, char *out, size_t outsize)
{
	char dir[PATH_MAX], stamp[JOURNAL_STAMP_LEN + 1];

	if (!journal_service_name_valid(service) ||
		!journal_dir_path(backups_dir, dir, sizeof(dir)) ||
		!journal_stamp(when, stamp))
		return false;
	/* The extension is ours (log, dump, ...): no path separators in it. */
	if (ext == NULL || ext[0] == '\0' || strchr(ext, '/') != NULL)
	{
		log_error("internal error: invalid run file extension");
		return false;
	}
	if (!str_format(out, outsize, "%s/%s_%s.%s", dir, service, stamp, ext))
	{
		log_error("path too long: \"%s\"", dir);
		return false;
	}
	return true;
}

bool
journal_open_run_log(const char *backups_dir, const char *service, time_t when,
					 char *path_out, size_t outsize)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (!journal_run_file_path(backups_dir, service, when, "log", path, sizeof(path)) ||
		!journal_dir_path(backups_dir, dir, sizeof(dir)) ||
		!fs_mkdir_p(dir, JOURNAL_DIR_MODE) ||
		!log_open_file(path))
		return false;
	if (path_out != NULL && !str_copy(path_out, outsize, path))
	{
		log_error("internal error: log path buffer too small");
		return false;
	}
	return true;
}

json_t *
journal_downtime_json(const Downtime *d)
{
	json_t *phases = json_object();

	for (size_t i = 0; i < d->count; i++)
		json_object_set_new(phases, d->phases[i].name, json_real(d->phases[i].seconds));
	return json_pack("{s:f, s:o}", "seconds", d->seconds, "phases", phases);
}
