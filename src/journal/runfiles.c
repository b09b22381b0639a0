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
journal_run_file(const char *backups_dir, const char *service, const char *middle,
				 const char *run, const char *ext, char *out, size_t outsize)
{
	char dir[PATH_MAX];

	if (!journal_service_name_valid(service) ||
		!journal_dir_path(backups_dir, dir, sizeof(dir)))
		return false;
	/* middle and ext are ours (log, dump, ...), the run id a stamp: no path
	 * separators in any of them. */
	if (middle == NULL || ext == NULL || run == NULL || run[0] == '\0'
		|| strchr(middle, '/') != NULL || strchr(ext, '/') != NULL || strchr(run, '/') != NULL)
	{
		log_error("internal error: invalid run file name");
		return false;
	}
	if (!str_format(out, outsize, "%s/%s_%s%s%s", dir, service, middle, run, ext))
	{
		log_error("backup path too long under %s", backups_dir);
		return false;
	}
	return true;
}

bool
journal_open_run_log(const char *backups_dir, const char *service, const char *middle,
					 const char *run, char *path_out, size_t outsize)
{
	char dir[PATH_MAX], path[PATH_MAX];

	/* log_open_file creates it LOG_FILE_MODE (0640) whatever the umask
	 * (fs_open_append), and refuses a link planted at the path. */
	if (!journal_run_file(backups_dir, service, middle, run, ".log", path, sizeof(path)) ||
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
