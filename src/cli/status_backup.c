/*
 * status_backup.c — what `pgfold status` says of a migrated service's
 * backups: the age of the newest dump of `pgfold backup` and of the newest
 * restore test, flagged when older than a daily schedule promises. Files
 * only (instance.h: shared_backup_age), so status stays fast.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/instance.h"

#include <stdio.h>
#include <time.h>

/* A daily backup plus an hour of slack; a weekly test plus a day. */
#define BACKUP_DUE_SECONDS (25 * 3600)
#define TEST_DUE_SECONDS   (8 * 86400)

static void
age_text(long long seconds, char *out, size_t size)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 120)
		str_format(out, size, "%llds", seconds);
	else if (seconds < 2 * 3600)
		str_format(out, size, "%lldm", seconds / 60);
	else if (seconds < 48 * 3600)
		str_format(out, size, "%lldh", seconds / 3600);
	else
		str_format(out, size, "%lldd", seconds / 86400);
}

static json_t *
when_json(time_t when, long long age)
{
	char text[32];
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:I}", "time", text, "age_seconds", (json_int_t) age);
}

void
cli_status_backup(const App *app, const char *db, json_t *obj)
{
	SharedBackupAge a = { 0 };
	time_t now = time(NULL);
	bool found = db != NULL && db[0] != '\0' && shared_backup_age(&app->cfg, db, &a);
	long long dump_age = found ? (long long) (now - a.dump_when) : 0;
	long long test_age = found && a.tested ? (long long) (now - a.tested_when) : 0;
	bool stale = !found || dump_age > BACKUP_DUE_SECONDS;
	bool untested = !found || a.tested <= 0 || test_age > TEST_DUE_SECONDS;
	char d[32], t[32];

	if (obj != NULL)
	{
		json_t *b = json_pack("{s:o, s:o, s:s?, s:b, s:b}",
							  "last_backup", found ? when_json(a.dump_when, dump_age) : json_null(),
							  "last_test", found && a.tested ? when_json(a.tested_when, test_age)
							  : json_null(),
							  "test_outcome", !found || !a.tested ? NULL : a.tested > 0 ? "ok" : "failed",
							  "backup_overdue", stale, "test_overdue", untested);

		json_object_set_new(obj, "backup", b);
		return;
	}
	if (!found)
	{
		printf("%-20s   backup: none by `pgfold backup` (OVERDUE: `pgfold backup --all`, and "
			   "`pgfold schedule install` for every night)\n", "");
		return;
	}
	age_text(dump_age, d, sizeof(d));
	age_text(test_age, t, sizeof(t));
	printf("%-20s   backup: %s ago%s; restore test: %s%s%s%s\n", "", d,
		   stale ? " (OVERDUE: older than a day)" : "",
		   a.tested == 0 ? "never" : a.tested > 0 ? "ok, " : "FAILED, ", a.tested ? t : "",
		   a.tested ? " ago" : "", untested && a.tested >= 0 ? " (OVERDUE)" : "");
}
