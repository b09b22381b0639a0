/*
 * test_units.c — the text `pgfold schedule` writes: systemd units and
 * crontab lines, byte for byte, and the quoting of paths and commands for
 * systemd's ExecStart= grammar and for sh inside cron.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pgfold/schedule.h"

static void
expect_quoted(bool (*quote)(const char *, StrBuf *), const char *word, const char *want)
{
	StrBuf sb = STRBUF_INIT;

	sb_appends(&sb, "");
	cr_assert(quote(word, &sb), "refused %s", word);
	cr_assert_str_eq(sb_str(&sb), want);
	sb_free(&sb);
}

Test(schedule_units, quoting)
{
	StrBuf sb = STRBUF_INIT;

	expect_quoted(schedule_systemd_quote, "/srv/my stack", "\"/srv/my stack\"");
	expect_quoted(schedule_systemd_quote, "curl \"https://x/a%20b\" $HOME \\n",
				  "\"curl \\\"https://x/a%%20b\\\" $$HOME \\\\n\"");
	expect_quoted(schedule_cron_quote, "it's 100%", "'it'\\''s 100\\%'");
	cr_assert_not(schedule_systemd_quote("a\nExecStartPre=/bin/evil", &sb));
	cr_assert_not(schedule_cron_quote("a\n* * * * * evil", &sb));
	cr_assert_not(schedule_cron_quote("tab\there", &sb));
	sb_free(&sb);
}

Test(schedule_units, times)
{
	int h = -1, m = -1;

	cr_assert(schedule_parse_time("03:15", &h, &m));
	cr_assert_eq(h, 3);
	cr_assert_eq(m, 15);
	cr_assert(schedule_parse_time("23:59", &h, &m));
	cr_assert_not(schedule_parse_time("24:00", &h, &m));
	cr_assert_not(schedule_parse_time("3:15", &h, &m));
	cr_assert_not(schedule_parse_time("03:60", &h, &m));
	cr_assert_not(schedule_parse_time("03-15", &h, &m));
	cr_assert_not(schedule_parse_time(NULL, &h, &m));
}

Test(schedule_units, unit_files_and_cron_lines)
{
	ScheduleSpec spec = { .binary = "/usr/local/bin/pgfold", .root = "/srv/st%ck", .hour = 23,
						  .minute = 5, .test_weekly = true, .on_failure = "curl -fsS https://hc/x" };
	StrBuf sb = STRBUF_INIT;

	cr_assert(schedule_service_text(&spec, false, &sb));
	cr_assert_str_eq(sb_str(&sb),
		"# Written by `pgfold schedule install`; `pgfold schedule remove` removes it.\n"
		"[Unit]\n"
		"Description=pgfold: back up every database of the shared instance (/srv/st%%ck)\n"
		"Wants=docker.service\n"
		"After=docker.service network-online.target\n"
		"\n"
		"[Service]\n"
		"Type=oneshot\n"
		"ExecStart=\"/usr/local/bin/pgfold\" --root \"/srv/st%%ck\" schedule run backup "
		"--on-failure \"curl -fsS https://hc/x\"\n");
	sb_reset(&sb);
	cr_assert(schedule_timer_text(&spec, true, &sb));
	cr_assert_str_eq(sb_str(&sb),
		"# Written by `pgfold schedule install`; `pgfold schedule remove` removes it.\n"
		"[Unit]\n"
		"Description=pgfold: weekly restore test of the shared instance (/srv/st%%ck)\n"
		"\n"
		"[Timer]\n"
		"OnCalendar=Sun *-*-* 00:05:00\n"
		"Persistent=true\n"
		"Unit=pgfold-backup-test.service\n"
		"\n"
		"[Install]\n"
		"WantedBy=timers.target\n");
	sb_reset(&sb);
	spec.user = true;
	cr_assert(schedule_service_text(&spec, true, &sb));
	cr_assert_null(strstr(sb_str(&sb), "docker.service"), "a --user unit cannot order after "
				   "a system unit");
	cr_assert_not_null(strstr(sb_str(&sb), " schedule run test "));
	sb_reset(&sb);
	cr_assert(schedule_cron_text(&spec, &sb));
	cr_assert_str_eq(sb_str(&sb),
		"5 23 * * * '/usr/local/bin/pgfold' --root '/srv/st\\%ck' schedule run backup "
		"--on-failure 'curl -fsS https://hc/x'\n"
		"5 0 * * 0 '/usr/local/bin/pgfold' --root '/srv/st\\%ck' schedule run test "
		"--on-failure 'curl -fsS https://hc/x'\n");
	sb_free(&sb);
}
