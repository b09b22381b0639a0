/*
 * backup_age.c — when a database was last backed up by `pgfold backup` and
 * last restore-tested, read from backups/shared/<db>/ alone: file names
 * and <dump>.tested records, no engine, no SQL, so `pgfold status` stays
 * fast.
 */
#include "pgfold/instance.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool
shared_backup_dump_time(const char *name, const char *prefix, time_t *when)
{
	size_t n = strlen(prefix), len = strlen(name);
	struct tm tm;
	const char *end;

	if (len != n + 1 + JOURNAL_STAMP_LEN + 5 || strncmp(name, prefix, n) != 0 || name[n] != '_'
		|| !str_has_suffix(name, ".dump"))
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(name + n + 1, "%Y%m%dT%H%M%SZ", &tm);
	if (end != name + len - 5)
		return false;
	*when = timegm(&tm);
	return true;
}

/* "<prefix>_<stamp>.dump" with a sidecar: the stamp's time. */
static bool
good_dump(const char *dir, const char *name, const char *prefix, time_t *when)
{
	char side[PATH_MAX];
	struct stat st;

	return shared_backup_dump_time(name, prefix, when)
		&& str_format(side, sizeof(side), "%s/%s" FS_SHA256_SUFFIX, dir, name)
		&& lstat(side, &st) == 0;
}

bool
shared_backup_age(const Config *cfg, const char *db, SharedBackupAge *out)
{
	char top[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
	StrBuf safe = STRBUF_INIT;
	DIR *d = NULL;
	bool ok;

	memset(out, 0, sizeof(*out));
	instance_file_safe(db, &safe);
	ok = shared_backup_dir(cfg, top, sizeof(top))
		&& str_format(dir, sizeof(dir), "%s/%s", top, sb_str(&safe))
		&& (d = opendir(dir)) != NULL;
	for (struct dirent *e; ok && (e = readdir(d)) != NULL;)
	{
		time_t when = 0, tested = 0;
		bool test_ok = false;

		if (!good_dump(dir, e->d_name, sb_str(&safe), &when)
			|| !str_format(path, sizeof(path), "%s/%s", dir, e->d_name))
			continue;
		if (!out->found || when > out->dump_when)
		{
			out->found = true;
			out->dump_when = when;
		}
		if (backups_tested_read(path, &tested, &test_ok)
			&& (out->tested == 0 || tested > out->tested_when))
		{
			out->tested = test_ok ? 1 : -1;
			out->tested_when = tested;
		}
	}
	if (d != NULL)
		closedir(d);
	sb_free(&safe);
	return out->found;
}
