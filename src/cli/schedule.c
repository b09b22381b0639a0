/*
 * schedule.c — `pgfold schedule install|status|remove|run`: the nightly
 * `pgfold backup --all` (and a weekly `backups test --all --latest`) as
 * systemd units or crontab lines (schedule.h), and the wrapper the units
 * run, which hands the summary to the operator's alert command.
 */
#include "pgfold/cli.h"
#include "pgfold/config.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/instance.h"
#include "pgfold/log.h"
#include "pgfold/options.h"
#include "pgfold/proc.h"
#include "pgfold/schedule.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char cli_schedule_usage[] =
	"usage: pgfold schedule install [--backup-at HH:MM] [--test-weekly] [--user]\n"
	"                               [--on-failure CMD] [--on-success CMD]\n"
	"                               [--cron | --unit-dir DIR]\n"
	"       pgfold schedule status [--user | --unit-dir DIR]\n"
	"       pgfold schedule remove [--user | --unit-dir DIR]\n"
	"       pgfold schedule run backup|test [--on-failure CMD] [--on-success CMD]\n"
	"\n"
	"  install  write pgfold-backup.service and .timer (daily at --backup-at,\n"
	"           default 03:15, Persistent: a missed run happens at boot) that run\n"
	"           `pgfold schedule run backup` for this root; --test-weekly adds\n"
	"           pgfold-backup-test.{service,timer}: `backups test --all --latest`\n"
	"           on Sundays an hour later. System units go to /etc/systemd/system\n"
	"           (after docker.service), --user units to ~/.config/systemd/user;\n"
	"           then systemctl daemon-reload and enable --now the timers.\n"
	"           --unit-dir DIR writes the units there and runs no systemctl.\n"
	"           --cron prints the crontab lines instead (install nothing)\n"
	"  status   the units installed, their schedule, systemctl list-timers (next\n"
	"           and last runs), and the last run under backups/shared\n"
	"  remove   disable the timers and remove the units\n"
	"  run      what the units run: `pgfold backup --all` (test: `pgfold backups\n"
	"           test --all --latest`), its output kept and printed; then CMD\n"
	"           (sh -c) of --on-failure when it failed, of --on-success when not,\n"
	"           with the output on stdin and PGFOLD_EXIT, PGFOLD_RUN in its\n"
	"           environment (e.g. a curl to a health-check URL: pgfold itself has\n"
	"           no network code)\n"
	"\n"
	"The unit files are 0600 (an alert command may carry a token).\n"
	"Exit: 0 done; run: the command's own exit status (8: some databases\n"
	"failed), 1 when it succeeded but --on-success CMD failed; 1 failure;\n"
	"2 usage.\n";

typedef struct SchedOptions
{
	const char  *sub, *backup_at, *unit_dir, *on_failure, *on_success, *what;
	bool         test_weekly, user, cron;
} SchedOptions;

static int
parse(int argc, char **argv, SchedOptions *o)
{
	OptParser p;
	int id;

	memset(o, 0, sizeof(*o));
	o->backup_at = "03:15";
	if (argc < 2)
		return cli_usage_error("schedule", "schedule needs install, status, remove or run");
	o->sub = argv[1];
	/* which subcommand takes which option: cli_schedule_main */
	opt_init(&p, "schedule", NULL, OPT_CMD_SCHEDULE, 0, argc - 1, argv + 1);
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_BACKUP_AT: o->backup_at = p.arg; break;
			case OPT_TEST_WEEKLY: o->test_weekly = true; break;
			case OPT_USER: o->user = true; break;
			case OPT_CRON: o->cron = true; break;
			case OPT_UNIT_DIR: o->unit_dir = p.arg; break;
			case OPT_ON_FAILURE: o->on_failure = p.arg; break;
			case OPT_ON_SUCCESS: o->on_success = p.arg; break;
		}
	}
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	if (strcmp(o->sub, "run") == 0)
	{
		if (p.npos < 1 || (strcmp(p.pos[0], "backup") != 0 && strcmp(p.pos[0], "test") != 0))
			return cli_usage_error("schedule", "schedule run takes backup or test");
		o->what = p.pos[0];
	}
	else if (p.npos > 0)
		return cli_usage_error("schedule", "schedule %s takes no argument \"%s\"", o->sub,
							   p.pos[0]);
	return EXIT_OK;
}

/* ---- where the units go ---------------------------------------------------------- */

static bool
unit_dir(const SchedOptions *o, char *out, size_t size)
{
	const char *home = getenv("HOME");

	if (o->unit_dir != NULL)
		return str_copy(out, size, o->unit_dir);
	if (!o->user)
		return str_copy(out, size, "/etc/systemd/system");
	if (home == NULL || home[0] != '/')
	{
		log_error("--user units go under $HOME/.config/systemd/user, and HOME is not set");
		return false;
	}
	return str_format(out, size, "%s/.config/systemd/user", home);
}

static const char *const unit_names[] = {
	SCHEDULE_UNIT ".service", SCHEDULE_UNIT ".timer",
	SCHEDULE_TEST_UNIT ".service", SCHEDULE_TEST_UNIT ".timer"
};

/* systemctl [--user] args...; its exit status (logged when not 0). */
static int
systemctl(bool user, const char *a, const char *b, const char *c, const char *d)
{
	const char *argv[8] = { "systemctl" };
	size_t n = 1;
	pid_t pid;
	int rc;

	if (user)
		argv[n++] = "--user";
	argv[n++] = a;
	if (b) argv[n++] = b;
	if (c) argv[n++] = c;
	if (d) argv[n++] = d;

	ProcSpec spec = { .argv = argv, .stdin_fd = PROC_DEVNULL, .stdout_fd = STDOUT_FILENO,
					  .stderr_fd = STDERR_FILENO };

	if (!proc_spawn(&spec, &pid))
		return -1;
	rc = proc_wait(pid);
	if (rc != 0)
		log_error("systemctl%s %s failed (exit %d)", user ? " --user" : "", a, rc);
	return rc;
}

/* ---- install / remove / status ------------------------------------------------------ */

static bool
write_unit(const char *dir, const char *name, const StrBuf *text)
{
	char path[PATH_MAX];

	if (!str_format(path, sizeof(path), "%s/%s", dir, name))
		return false;
	if (!fs_write_atomic(path, text->data, text->len, 0600))
		return false;
	printf("wrote %s\n", path);
	return true;
}

static int
install(const SchedOptions *o, const Config *cfg)
{
	char bin[PATH_MAX], dir[PATH_MAX];
	ScheduleSpec spec = { .root = cfg->root, .test_weekly = o->test_weekly, .user = o->user,
						  .on_failure = o->on_failure, .on_success = o->on_success };
	StrBuf text = STRBUF_INIT;
	bool ok = true;

	if (!schedule_parse_time(o->backup_at, &spec.hour, &spec.minute))
		return cli_usage_error("schedule", "--backup-at takes HH:MM (00:00 to 23:59), not \"%s\"",
							   o->backup_at);
	if (realpath("/proc/self/exe", bin) == NULL)
	{
		log_error("cannot tell where the pgfold binary is: %s", strerror(errno));
		return EXIT_FAIL;
	}
	spec.binary = bin;
	if (o->cron)
	{
		ok = schedule_cron_text(&spec, &text);
		if (ok)
			fputs(sb_str(&text), stdout);
		sb_free(&text);
		return ok ? EXIT_OK : EXIT_USAGE;
	}
	if (!unit_dir(o, dir, sizeof(dir)) || !fs_mkdir_p(dir, 0755))
		return EXIT_FAIL;
	for (int i = 0; ok && i < (o->test_weekly ? 4 : 2); i++)
	{
		sb_reset(&text);
		ok = (i % 2 == 0 ? schedule_service_text(&spec, i >= 2, &text)
			  : schedule_timer_text(&spec, i >= 2, &text))
			&& write_unit(dir, unit_names[i], &text);
	}
	sb_free(&text);
	/* a test unit of an earlier install without --test-weekly now */
	for (int i = 2; ok && !o->test_weekly && i < 4; i++)
	{
		char path[PATH_MAX];

		if (str_format(path, sizeof(path), "%s/%s", dir, unit_names[i]) && unlink(path) == 0)
			printf("removed %s\n", path);
	}
	if (!ok)
		return exit_hint_get() == EXIT_FAIL ? EXIT_USAGE : exit_hint_get();
	if (o->unit_dir != NULL)
	{
		printf("not enabled (--unit-dir): systemctl%s daemon-reload && systemctl%s enable --now "
			   SCHEDULE_UNIT ".timer%s\n", o->user ? " --user" : "", o->user ? " --user" : "",
			   o->test_weekly ? " " SCHEDULE_TEST_UNIT ".timer" : "");
		return EXIT_OK;
	}
	if (systemctl(o->user, "daemon-reload", NULL, NULL, NULL) != 0
		|| systemctl(o->user, "enable", "--now", SCHEDULE_UNIT ".timer",
					 o->test_weekly ? SCHEDULE_TEST_UNIT ".timer" : NULL) != 0)
		return EXIT_FAIL;
	return EXIT_OK;
}

static int
remove_units(const SchedOptions *o)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int rc = EXIT_OK;

	if (!unit_dir(o, dir, sizeof(dir)))
		return EXIT_FAIL;
	if (o->unit_dir == NULL)
		systemctl(o->user, "disable", "--now", SCHEDULE_UNIT ".timer", SCHEDULE_TEST_UNIT ".timer");
	for (int i = 0; i < 4; i++)
	{
		if (!str_format(path, sizeof(path), "%s/%s", dir, unit_names[i]))
			continue;
		if (unlink(path) == 0)
			printf("removed %s\n", path);
		else if (errno != ENOENT)
		{
			log_error("cannot remove %s: %s", path, strerror(errno));
			rc = EXIT_FAIL;
		}
	}
	if (o->unit_dir == NULL)
		systemctl(o->user, "daemon-reload", NULL, NULL, NULL);
	return rc;
}

/* The newest run under backups/shared, from its manifest. */
static void
last_run(const Config *cfg)
{
	char dir[PATH_MAX], path[PATH_MAX], newest[64] = "";
	json_t *doc;
	DIR *d;

	if (!shared_backup_dir(cfg, dir, sizeof(dir)) || (d = opendir(dir)) == NULL)
	{
		printf("last run: none under %s\n", dir);
		return;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (str_has_suffix(e->d_name, ".json") && strlen(e->d_name) < sizeof(newest)
			&& strcmp(e->d_name, newest) > 0)
			str_copy(newest, sizeof(newest), e->d_name);
	closedir(d);
	if (newest[0] == '\0' || !str_format(path, sizeof(path), "%s/%s", dir, newest)
		|| (doc = json_load_file(path, 0, NULL)) == NULL)
	{
		printf("last run: none under %s\n", dir);
		return;
	}
	printf("last run: %s, %zu database(s), %zu failed (%s)\n",
		   json_string_value(json_object_get(doc, "stamp")),
		   json_array_size(json_object_get(doc, "databases")),
		   json_array_size(json_object_get(doc, "failed")), path);
	json_decref(doc);
}

static int
status(const SchedOptions *o, const Config *cfg)
{
	char dir[PATH_MAX], path[PATH_MAX];
	StrBuf text = STRBUF_INIT;
	bool any = false;

	if (!unit_dir(o, dir, sizeof(dir)))
		return EXIT_FAIL;
	for (int i = 0; i < 4; i++)
	{
		bool exists = false;

		sb_reset(&text);
		if (!str_format(path, sizeof(path), "%s/%s", dir, unit_names[i])
			|| !fs_read_file_if_exists(path, 64 * 1024, &text, &exists) || !exists)
			continue;
		any = true;
		const char *cal = strstr(sb_str(&text), "OnCalendar=");

		printf("%-32s %s%.*s\n", unit_names[i], cal ? "" : "installed",
			   cal ? (int) strcspn(cal, "\n") : 0, cal ? cal : "");
	}
	sb_free(&text);
	if (!any)
		printf("no units of pgfold schedule in %s\n", dir);
	if (any && o->unit_dir == NULL)
		systemctl(o->user, "list-timers", "--all", SCHEDULE_UNIT ".timer",
				  SCHEDULE_TEST_UNIT ".timer");
	last_run(cfg);
	return EXIT_OK;
}

/* ---- run ------------------------------------------------------------------------------ */

static bool
copy_out(int fd)
{
	char buf[8192];
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t) n, stdout) != (size_t) n)
			return false;
	fflush(stdout);
	return n == 0;
}

static int
run(const SchedOptions *o, const Config *cfg)
{
	char bin[PATH_MAX], env_exit[32], env_run[32];
	bool test = strcmp(o->what, "test") == 0;
	const char *argv[] = { bin, "--root", cfg->root, "--no-color",
						   test ? "backups" : "backup", test ? "test" : "--all",
						   test ? "--all" : NULL, test ? "--latest" : NULL, NULL };
	const char *hook;
	int fd, rc, hrc;
	pid_t pid;

	if (realpath("/proc/self/exe", bin) == NULL || (fd = memfd_create("pgfold-run", MFD_CLOEXEC)) < 0)
	{
		log_error("cannot start the scheduled run: %s", strerror(errno));
		return EXIT_FAIL;
	}

	ProcSpec spec = { .argv = argv, .stdin_fd = PROC_DEVNULL, .stdout_fd = fd, .stderr_fd = fd };

	if (!proc_spawn(&spec, &pid))
	{
		close(fd);
		return EXIT_FAIL;
	}
	rc = proc_wait(pid);
	copy_out(fd);
	hook = rc == 0 ? o->on_success : o->on_failure;
	if (hook == NULL)
	{
		close(fd);
		return rc < 0 ? EXIT_FAIL : rc;
	}
	str_format(env_exit, sizeof(env_exit), "PGFOLD_EXIT=%d", rc);
	str_format(env_run, sizeof(env_run), "PGFOLD_RUN=%s", o->what);

	const char *hargv[] = { "/bin/sh", "-c", hook, NULL };
	const char *henv[] = { env_exit, env_run, NULL };
	ProcSpec hs = { .argv = hargv, .env = henv, .stdin_fd = fd, .stdout_fd = STDOUT_FILENO,
					.stderr_fd = STDERR_FILENO };

	hrc = lseek(fd, 0, SEEK_SET) == 0 && proc_spawn(&hs, &pid) ? proc_wait(pid) : -1;
	close(fd);
	if (hrc != 0)
		log_error("the %s command failed (exit %d): %s", rc == 0 ? "--on-success" : "--on-failure",
				  hrc, hook);
	return rc != 0 ? (rc < 0 ? EXIT_FAIL : rc) : hrc != 0 ? EXIT_FAIL : EXIT_OK;
}

int
cli_schedule_main(const GlobalOptions *g, int argc, char **argv)
{
	SchedOptions o;
	Config cfg;
	int rc = parse(argc, argv, &o);

	if (rc != EXIT_OK)
		return rc;
	if (strcmp(o.sub, "install") != 0 && strcmp(o.sub, "status") != 0
		&& strcmp(o.sub, "remove") != 0 && strcmp(o.sub, "run") != 0)
		return cli_usage_error("schedule", "schedule does not know %s: the subcommands are "
							   "install, status, remove, run", o.sub);
	if (o.cron && (strcmp(o.sub, "install") != 0 || o.unit_dir != NULL))
		return cli_usage_error("schedule", "--cron goes with install, without --unit-dir");
	if (!config_load(g->root, &cfg))
		return exit_hint_get();
	if (strcmp(o.sub, "install") == 0)
		rc = install(&o, &cfg);
	else if (strcmp(o.sub, "remove") == 0)
		rc = remove_units(&o);
	else if (strcmp(o.sub, "status") == 0)
		rc = status(&o, &cfg);
	else
		rc = run(&o, &cfg);
	config_free(&cfg);
	return rc;
}
