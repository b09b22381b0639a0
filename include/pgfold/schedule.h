/*
 * schedule.h — running `pgfold backup` (and `backups test`) on a timer:
 * systemd service + timer units, or crontab lines, written as text here
 * (pure, tested byte for byte) and installed by `pgfold schedule`.
 *
 * The units run `pgfold schedule run backup|test`, which runs the command
 * as a child, keeps its output (the summary) and hands it, on stdin, to
 * the operator's --on-failure / --on-success command (e.g. a curl to a
 * health-check URL): pgfold itself has no network code.
 */
#ifndef PGFOLD_SCHEDULE_H
#define PGFOLD_SCHEDULE_H

#include <stdbool.h>

#include "pgfold/str.h"

#define SCHEDULE_UNIT        "pgfold-backup"
#define SCHEDULE_TEST_UNIT   "pgfold-backup-test"

typedef struct ScheduleSpec
{
	const char *binary;      /* absolute path of pgfold */
	const char *root;        /* absolute stack root */
	int         hour, minute;   /* --backup-at */
	bool        test_weekly; /* also pgfold-backup-test.{service,timer}: Sundays, an hour later */
	bool        user;        /* systemd --user units (no docker.service ordering) */
	const char *on_failure;  /* shell command, NULL = none */
	const char *on_success;
} ScheduleSpec;

/* "HH:MM" (00:00-23:59) → hour, minute. */
bool schedule_parse_time(const char *text, int *hour, int *minute);

/* A word for a systemd ExecStart= line: double-quoted, \ and " escaped, %
 * and $ doubled (specifiers, variables). False for control bytes. */
bool schedule_systemd_quote(const char *word, StrBuf *out);
/* A word for a crontab line: single-quoted for sh, % escaped for cron
 * (which reads an unescaped % as a newline). False for control bytes. */
bool schedule_cron_quote(const char *word, StrBuf *out);

/* The unit files' text; test: the weekly restore test's units. */
bool schedule_service_text(const ScheduleSpec *spec, bool test, StrBuf *out);
bool schedule_timer_text(const ScheduleSpec *spec, bool test, StrBuf *out);
/* The crontab lines (one, or two with test_weekly), each ending in \n. */
bool schedule_cron_text(const ScheduleSpec *spec, StrBuf *out);

#endif
