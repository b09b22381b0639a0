/*
 * test_retention.c — the retention rule of `pgfold backup`
 * (backups_retention_select): daily / weekly / monthly periods counted
 * among those that have a good dump, on top of the `backups prune` rule.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgfold/instance.h"

#define MAX_FILES 128

static BackupFile files[MAX_FILES];
static const char *keep[MAX_FILES];
static BackupList list;

static time_t
utc(int y, int m, int d, int hh, int mm)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = hh,
					 .tm_min = mm };

	return timegm(&tm);
}

/* Files are added oldest first, as backups_scan orders them. */
static BackupFile *
add(const char *group, time_t when)
{
	BackupFile *f = &files[list.count++];
	struct tm tm;

	cr_assert(list.count <= MAX_FILES);
	memset(f, 0, sizeof(*f));
	gmtime_r(&when, &tm);
	strftime(f->path, sizeof(f->path), "%Y-%m-%dT%H:%M", &tm);
	f->group = (char *) group;
	f->kind = BACKUP_SHARED;
	f->when = when;
	f->sidecar = true;
	return f;
}

static void
reset(void)
{
	memset(files, 0, sizeof(files));
	memset(keep, 0, sizeof(keep));
	list.items = files;
	list.count = 0;
}

static void
mark_newest(void)
{
	for (size_t i = 0; i < list.count; i++)
	{
		files[i].newest = true;
		for (size_t k = i + 1; k < list.count; k++)
			if (strcmp(files[k].group, files[i].group) == 0)
				files[i].newest = false;
	}
}

/* The kept files of group, newest first, as "path,path,..." */
static void
kept(const char *group, char *out, size_t size)
{
	StrBuf sb = STRBUF_INIT;

	for (size_t i = list.count; i-- > 0;)
		if (strcmp(files[i].group, group) == 0 && keep[i] != NULL)
			sb_appendf(&sb, "%s%s", sb.len ? "," : "", files[i].path);
	str_copy(out, size, sb_str(&sb));
	sb_free(&sb);
}

/* The files added so far marked as backups_scan does, the policy applied
 * to group shared/a, and its kept files, as kept() gives them. */
static void
select_kept(const RetentionPolicy *p, char *out, size_t size)
{
	mark_newest();
	backups_retention_select(&list, "shared/a", p, keep);
	kept("shared/a", out, size);
}

Test(retention, ninety_days_7_4_6)
{
	RetentionPolicy p = RETENTION_DEFAULT;
	char got[2048];

	reset();
	for (int day = 0; day < 90; day++)      /* 2026-01-01 .. 2026-03-31, 03:15 */
		add("shared/a", utc(2026, 1, 1, 3, 15) + (time_t) day * 86400);
	select_kept(&p, got, sizeof(got));
	/* 7 days; ISO weeks 14 (Mar 31), 13 (Mar 29), 12 (Mar 22), 11 (Mar 15);
	 * months Mar, Feb (28th), Jan (31st) */
	cr_assert_str_eq(got, "2026-03-31T03:15,2026-03-30T03:15,2026-03-29T03:15,"
					 "2026-03-28T03:15,2026-03-27T03:15,2026-03-26T03:15,2026-03-25T03:15,"
					 "2026-03-22T03:15,2026-03-15T03:15,2026-02-28T03:15,2026-01-31T03:15");
	cr_assert_str_eq(keep[89], "newest dump of its service (or database)");
	cr_assert_str_eq(keep[88], "--keep-daily");
	cr_assert_str_eq(keep[80], "--keep-weekly");     /* Mar 22 */
	cr_assert_str_eq(keep[58], "--keep-monthly");    /* Feb 28 */
}

Test(retention, several_a_day_keep_the_newest_of_the_day)
{
	RetentionPolicy p = { 2, 0, 0 };
	char got[1024];

	reset();
	add("shared/a", utc(2026, 5, 1, 3, 0));
	add("shared/a", utc(2026, 5, 1, 15, 0));
	add("shared/a", utc(2026, 5, 2, 3, 0));
	add("shared/a", utc(2026, 5, 2, 9, 0));
	add("shared/a", utc(2026, 5, 2, 21, 0));
	select_kept(&p, got, sizeof(got));
	cr_assert_str_eq(got, "2026-05-02T21:00,2026-05-01T15:00");
}

Test(retention, only_good_dumps_stand_for_a_period)
{
	RetentionPolicy p = { 2, 0, 0 };
	char got[1024];

	reset();
	add("shared/a", utc(2026, 5, 1, 3, 0));
	add("shared/a", utc(2026, 5, 2, 3, 0));
	add("shared/a", utc(2026, 5, 3, 3, 0))->tested = -1;   /* restore test failed */
	add("shared/a", utc(2026, 5, 4, 3, 0))->sidecar = false;
	select_kept(&p, got, sizeof(got));
	/* the newest stays (prune's rule) though it has no sidecar; the two
	 * days are counted among good dumps: May 2 and May 1; the failed one
	 * goes */
	cr_assert_str_eq(got, "2026-05-04T03:00,2026-05-02T03:00,2026-05-01T03:00");
	cr_assert_str_eq(keep[1], "newest good dump of its database");
	cr_assert_null(keep[2]);
}

Test(retention, zero_keeps_only_what_prune_would_never_remove)
{
	RetentionPolicy p = { 0, 0, 0 };
	char got[1024];

	reset();
	add("shared/a", utc(2026, 1, 1, 3, 0))->referenced = true;
	add("shared/a", utc(2026, 2, 1, 3, 0));
	add("shared/a", utc(2026, 3, 1, 3, 0));
	add("shared/a", utc(2026, 4, 1, 3, 0));
	select_kept(&p, got, sizeof(got));
	cr_assert_str_eq(got, "2026-04-01T03:00,2026-01-01T03:00");
	cr_assert_str_eq(keep[0], "used by a live migration or an unfinished run (journal)");
}

Test(retention, other_groups_are_left_alone)
{
	RetentionPolicy p = { 1, 0, 0 };
	char got[1024];

	reset();
	add("shared/a", utc(2026, 1, 1, 3, 0));
	add("shared/b", utc(2026, 1, 2, 3, 0));
	add("shared/a", utc(2026, 1, 3, 3, 0));
	add("shared/b", utc(2026, 1, 4, 3, 0));
	keep[1] = "untouched";     /* mark_newest touches no keep[] */
	select_kept(&p, got, sizeof(got));
	cr_assert_str_eq(got, "2026-01-03T03:00");
	cr_assert_str_eq(keep[1], "untouched");
	cr_assert_null(keep[3]);
}
