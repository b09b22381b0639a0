/*
 * test_schedule_lab.c — `pgfold schedule`: units written and checked with
 * systemd-analyze verify (make deps installs it), status and remove, the crontab
 * lines, and `schedule run` handing the summary to the alert command.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/proc.h"

IFX_SUITE(instance_schedule_lab);

static char *
slurp_file(const char *path)
{
	StrBuf sb = STRBUF_INIT;

	cr_assert(fs_read_file(path, 1 << 20, &sb), "cannot read %s", path);
	return sb_steal(&sb);
}

Test(instance_schedule_lab, units_cron_and_run_with_alerts)
{
	char units[4096], alert[4096], cmd[8192], path[4096];
	char *text;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "alpha", 10);
	str_format(units, sizeof(units), "%s/units", x.dir);

	/* install: four units, 0600 */
	ifx_run(&x, "schedule", "install", "--unit-dir", units, "--backup-at", "02:30",
			"--test-weekly", "--on-failure", "curl -fsS 'https://hc.example/x%20y' -d @-", NULL);
	ifx_expect(&x, EXIT_OK, "schedule install");
	cr_assert(strstr(sb_str(&x.out), "not enabled (--unit-dir)") != NULL, "%s", sb_str(&x.out));
	str_format(path, sizeof(path), "%s/pgfold-backup.timer", units);
	text = slurp_file(path);
	cr_assert(strstr(text, "OnCalendar=*-*-* 02:30:00\n") != NULL, "%s", text);
	free(text);
	str_format(path, sizeof(path), "%s/pgfold-backup.service", units);
	text = slurp_file(path);
	cr_assert(strstr(text, " schedule run backup --on-failure \"curl -fsS "
					 "'https://hc.example/x%%20y' -d @-\"\n") != NULL, "%s", text);
	free(text);
	cr_assert_eq(lab_sh("test $(stat -c %%a %s) = 600", path), 0);

	/* make deps installs it: a unit it finds fault with fails here */
	cr_assert(proc_on_path("systemd-analyze"), "systemd-analyze is missing: run `make deps`");
	str_format(cmd, sizeof(cmd), "systemd-analyze verify %s/*.service %s/*.timer > %s/verify "
			   "2>&1", units, units, x.dir);

	int rc = lab_sh("%s", cmd);

	str_format(path, sizeof(path), "%s/verify", x.dir);
	text = slurp_file(path);
	cr_assert_eq(rc, 0, "systemd-analyze verify: %s", text);
	cr_assert_str_eq(text, "", "systemd-analyze verify had remarks");
	free(text);

	ifx_run(&x, "schedule", "status", "--unit-dir", units, NULL);
	ifx_expect(&x, EXIT_OK, "schedule status");
	cr_assert(strstr(sb_str(&x.out), "pgfold-backup-test.timer         OnCalendar=Sun *-*-* "
					 "03:30:00\n") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "last run: none") != NULL, "%s", sb_str(&x.out));

	/* install again without --test-weekly: the test units go */
	ifx_run(&x, "schedule", "install", "--unit-dir", units, NULL);
	ifx_expect(&x, EXIT_OK, "schedule install again");
	str_format(path, sizeof(path), "%s/pgfold-backup-test.timer", units);
	cr_assert_not(ifx_exists(path));
	ifx_run(&x, "schedule", "remove", "--unit-dir", units, NULL);
	ifx_expect(&x, EXIT_OK, "schedule remove");
	cr_assert_eq(lab_sh("test -z \"$(ls -A %s)\"", units), 0);

	/* --cron: the lines, nothing installed */
	ifx_run(&x, "schedule", "install", "--cron", "--on-success", "echo 100% ok", NULL);
	ifx_expect(&x, EXIT_OK, "schedule install --cron");
	cr_assert(strstr(sb_str(&x.out), "15 3 * * * '") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "schedule run backup --on-success 'echo 100\\% ok'\n") != NULL,
			  "%s", sb_str(&x.out));
	ifx_run(&x, "schedule", "install", "--backup-at", "25:00", NULL);
	ifx_expect(&x, EXIT_USAGE, "--backup-at 25:00");

	/* run: success hands the summary to --on-success */
	str_format(alert, sizeof(alert), "%s/alert", x.dir);
	str_format(cmd, sizeof(cmd), "{ echo \"exit=$PGFOLD_EXIT run=$PGFOLD_RUN\"; cat; } > %s", alert);
	ifx_run(&x, "schedule", "run", "backup", "--on-success", cmd, "--on-failure", "false", NULL);
	ifx_expect(&x, EXIT_OK, "schedule run backup");
	text = slurp_file(alert);
	cr_assert(strncmp(text, "exit=0 run=backup\n", 18) == 0, "%s", text);
	cr_assert(strstr(text, "\nbackup 20") != NULL, "%s", text);
	cr_assert(strstr(text, "manifest: backups/shared/") != NULL, "%s", text);
	free(text);
	/* the status sees the run */
	ifx_run(&x, "schedule", "status", "--unit-dir", units, NULL);
	cr_assert(strstr(sb_str(&x.out), "last run: 20") != NULL, "%s", sb_str(&x.out));

	/* a database that fails: exit 8, --on-failure gets the summary */
	ifx_exec(&x, "postgres", "ALTER DATABASE alpha ALLOW_CONNECTIONS false");
	unlink(alert);
	ifx_run(&x, "schedule", "run", "backup", "--on-failure", cmd, "--on-success", "false", NULL);
	ifx_expect(&x, EXIT_PARTIAL, "schedule run backup with alpha failing");
	text = slurp_file(alert);
	cr_assert(strncmp(text, "exit=8 run=backup\n", 18) == 0, "%s", text);
	cr_assert(strstr(text, "failed: \"alpha\"\n") != NULL, "%s", text);
	free(text);
	/* the alert command failing is an error of its own */
	ifx_exec(&x, "postgres", "ALTER DATABASE alpha ALLOW_CONNECTIONS true");
	ifx_run(&x, "schedule", "run", "backup", "--on-success", "exit 3", NULL);
	ifx_expect(&x, EXIT_FAIL, "schedule run with a failing --on-success");
	cr_assert(strstr(sb_str(&x.err), "the --on-success command failed (exit 3): exit 3") != NULL,
			  "%s", sb_str(&x.err));
}
