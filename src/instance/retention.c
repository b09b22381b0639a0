/*
 * retention.c — which dumps of a database `pgfold backup` keeps:
 * --keep-daily, --keep-weekly, --keep-monthly, as the common backup tools
 * count them, on top of the rule `backups prune` keeps (never the newest,
 * never one a journal needs).
 *
 * Periods are counted among those that have a dump (as restic does), not
 * back from today: after two weeks without backups, --keep-daily 7 still
 * keeps seven daily dumps instead of none. A dump is good when its sidecar
 * is there and no restore test failed on it; only good dumps stand for a
 * period.
 */
#include "pgfold/instance.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum Period { PERIOD_DAY = 0, PERIOD_WEEK, PERIOD_MONTH } Period;

/* "2026-12-05", "2026-W49", "2026-12" (UTC) */
static void
period_key(time_t when, Period p, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	if (p == PERIOD_DAY)
		strftime(out, size, "%Y-%m-%d", &tm);
	else if (p == PERIOD_WEEK)
		strftime(out, size, "%G-W%V", &tm);
	else
		strftime(out, size, "%Y-%m", &tm);
}

static bool
good(const BackupFile *f)
{
	return f->sidecar && f->tested >= 0;
}

/* Newest first: the newest good dump of each of the last n periods. */
static void
keep_periods(const BackupList *list, const char *group, Period p, long n, const char *why,
			 const char **keep)
{
	char last[32] = "", key[32];
	long taken = 0;

	for (size_t i = list->count; i-- > 0 && taken < n;)
	{
		const BackupFile *f = &list->items[i];

		if (strcmp(f->group, group) != 0 || !good(f))
			continue;
		period_key(f->when, p, key, sizeof(key));
		if (strcmp(key, last) == 0)
			continue;
		str_copy(last, sizeof(last), key);
		taken++;
		if (keep[i] == NULL)
			keep[i] = why;
	}
}

void
backups_retention_select(const BackupList *list, const char *group,
						 const RetentionPolicy *policy, const char **keep)
{
	const char **base = xcalloc(list->count + 1, sizeof(char *));
	bool newest_good = false;

	/* the rule of `backups prune` first, with no age and no count: what it
	 * never removes (a journal's dump, the newest of a group) stays here too */
	backups_prune_select(list, 0, -1, 0, base);
	for (size_t i = list->count; i-- > 0;)
	{
		const BackupFile *f = &list->items[i];

		if (strcmp(f->group, group) != 0)
			continue;
		keep[i] = base[i];
		if (keep[i] == NULL && !newest_good && good(f))
			keep[i] = "newest good dump of its database";
		newest_good = newest_good || good(f);
	}
	free(base);
	keep_periods(list, group, PERIOD_DAY, policy->daily, "--keep-daily", keep);
	keep_periods(list, group, PERIOD_WEEK, policy->weekly, "--keep-weekly", keep);
	keep_periods(list, group, PERIOD_MONTH, policy->monthly, "--keep-monthly", keep);
}

/* ---- the runs' own files ------------------------------------------------- */

static bool
stamp_stays(const BackupList *list, const bool *stays, const char *stamp)
{
	char suffix[JOURNAL_STAMP_LEN + 8];

	str_format(suffix, sizeof(suffix), "_%s.dump", stamp);
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].kind == BACKUP_SHARED && stays[i]
			&& str_has_suffix(list->items[i].path, suffix))
			return true;
	return false;
}

bool
shared_runs_unused(const Config *cfg, const BackupList *list, const bool *stays, char ***stamps,
				   size_t *n)
{
	char dir[PATH_MAX], newest[JOURNAL_STAMP_LEN + 1] = "";
	DIR *d;

	*stamps = NULL;
	*n = 0;
	if (!shared_backup_dir(cfg, dir, sizeof(dir)))
		return false;
	if ((d = opendir(dir)) == NULL)
		return true;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
	{
		char stamp[JOURNAL_STAMP_LEN + 1];

		if (strlen(e->d_name) != JOURNAL_STAMP_LEN + 5 || !str_has_suffix(e->d_name, ".json"))
			continue;
		str_format(stamp, sizeof(stamp), "%.*s", JOURNAL_STAMP_LEN, e->d_name);
		if (strcmp(stamp, newest) > 0)
			str_copy(newest, sizeof(newest), stamp);
		if (stamp_stays(list, stays, stamp))
			continue;
		*stamps = xrealloc(*stamps, *n + 1, sizeof(char *));
		(*stamps)[(*n)++] = xstrdup(stamp);
	}
	closedir(d);
	/* the newest run stays whatever happened to its dumps */
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*stamps)[i], newest) == 0)
		{
			free((*stamps)[i]);
			(*stamps)[i] = (*stamps)[--*n];
			break;
		}
	return true;
}
