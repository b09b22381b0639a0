/*
 * units.c — the text of the systemd units and crontab lines of `pgfold
 * schedule` (schedule.h). Every outside string (paths, the operator's
 * commands) is quoted for the reader that will parse it: systemd's
 * ExecStart= grammar, or sh inside cron.
 */
#include "pgfold/schedule.h"

#include "pgfold/log.h"

#include <string.h>

#define HEADER "# Written by `pgfold schedule install`; `pgfold schedule remove` removes it.\n"

bool
schedule_parse_time(const char *text, int *hour, int *minute)
{
	long h = 0, m = 0;
	char hh[3], mm[3];

	if (text == NULL || strlen(text) != 5 || text[2] != ':')
		return false;
	memcpy(hh, text, 2);
	memcpy(mm, text + 3, 2);
	hh[2] = mm[2] = '\0';
	if (!str_to_long(hh, 0, 23, &h) || !str_to_long(mm, 0, 59, &m))
		return false;
	*hour = (int) h;
	*minute = (int) m;
	return true;
}

bool
schedule_systemd_quote(const char *word, StrBuf *out)
{
	if (str_has_control(word))
		return false;
	sb_appendc(out, '"');
	for (const char *p = word; *p; p++)
	{
		if (*p == '\\' || *p == '"')
			sb_appendc(out, '\\');
		else if (*p == '%' || *p == '$')
			sb_appendc(out, *p);
		sb_appendc(out, *p);
	}
	sb_appendc(out, '"');
	return true;
}

bool
schedule_cron_quote(const char *word, StrBuf *out)
{
	if (str_has_control(word))
		return false;
	sb_appendc(out, '\'');
	for (const char *p = word; *p; p++)
	{
		if (*p == '\'')
			sb_appends(out, "'\\''");
		else if (*p == '%')
			sb_appends(out, "\\%");
		else
			sb_appendc(out, *p);
	}
	sb_appendc(out, '\'');
	return true;
}

/* pgfold --root ROOT schedule run backup|test [--on-failure CMD] [--on-success CMD] */
static bool
command_words(const ScheduleSpec *spec, bool test, bool (*quote)(const char *, StrBuf *),
			  StrBuf *out)
{
	bool ok = quote(spec->binary, out);

	sb_appends(out, " --root ");
	ok = ok && quote(spec->root, out);
	sb_appendf(out, " schedule run %s", test ? "test" : "backup");
	if (spec->on_failure != NULL)
	{
		sb_appends(out, " --on-failure ");
		ok = ok && quote(spec->on_failure, out);
	}
	if (spec->on_success != NULL)
	{
		sb_appends(out, " --on-success ");
		ok = ok && quote(spec->on_success, out);
	}
	if (!ok)
		log_error("a path or command holds a control character (newline, tab, ...); it cannot go "
				  "into a unit file or a crontab line");
	return ok;
}

/* The root, for a Description= line: % doubled, nothing else special. */
static void
described(const char *root, StrBuf *out)
{
	for (const char *p = root; *p; p++)
	{
		if (*p == '%')
			sb_appendc(out, '%');
		sb_appendc(out, *p);
	}
}

bool
schedule_service_text(const ScheduleSpec *spec, bool test, StrBuf *out)
{
	sb_appends(out, HEADER "[Unit]\nDescription=pgfold: ");
	sb_appends(out, test ? "restore test of the newest backups of " : "back up every database of ");
	sb_appends(out, "the shared instance (");
	described(spec->root, out);
	sb_appends(out, ")\n");
	if (!spec->user)
		sb_appends(out, "Wants=docker.service\nAfter=docker.service network-online.target\n");
	sb_appends(out, "\n[Service]\nType=oneshot\nExecStart=");
	if (!command_words(spec, test, schedule_systemd_quote, out))
		return false;
	sb_appends(out, "\n");
	return true;
}

bool
schedule_timer_text(const ScheduleSpec *spec, bool test, StrBuf *out)
{
	sb_appends(out, HEADER "[Unit]\nDescription=pgfold: ");
	sb_appends(out, test ? "weekly restore test" : "nightly backup");
	sb_appends(out, " of the shared instance (");
	described(spec->root, out);
	sb_appends(out, ")\n\n[Timer]\n");
	if (test)
		sb_appendf(out, "OnCalendar=Sun *-*-* %02d:%02d:00\n", (spec->hour + 1) % 24, spec->minute);
	else
		sb_appendf(out, "OnCalendar=*-*-* %02d:%02d:00\n", spec->hour, spec->minute);
	sb_appendf(out, "Persistent=true\nUnit=%s.service\n\n[Install]\nWantedBy=timers.target\n",
			   test ? SCHEDULE_TEST_UNIT : SCHEDULE_UNIT);
	return true;
}

bool
schedule_cron_text(const ScheduleSpec *spec, StrBuf *out)
{
	sb_appendf(out, "%d %d * * * ", spec->minute, spec->hour);
	if (!command_words(spec, false, schedule_cron_quote, out))
		return false;
	sb_appendc(out, '\n');
	if (!spec->test_weekly)
		return true;
	sb_appendf(out, "%d %d * * 0 ", spec->minute, (spec->hour + 1) % 24);
	if (!command_words(spec, true, schedule_cron_quote, out))
		return false;
	sb_appendc(out, '\n');
	return true;
}
