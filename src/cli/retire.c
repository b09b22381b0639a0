/*
 * retire.c — `pgfold retire SERVICE [--min-age DURATION]`.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/options.h"
#include "pgfold/retire.h"

#include <string.h>

const char cli_retire_usage[] =
	"usage: pgfold retire SERVICE [--min-age DURATION] [--dry-run] [--yes]\n"
	"\n"
	"Once a fold has proved itself, remove what it left behind: the stopped dedicated\n"
	"postgres container of SERVICE and the volume(s) mounted at its data directory\n"
	"(found from the container's mounts, never by name), and say how much disk came\n"
	"back. The override, the journal and the dumps are kept: `pgfold rollback SERVICE`\n"
	"still works, recreating the dedicated container on a new volume and restoring\n"
	"the shared database into it.\n"
	"\n"
	"Refused (exit 3, nothing removed) unless the service is migrated and live; the\n"
	"cut-over is at least DURATION old; its role has a session on the shared database\n"
	"that began after the cut-over (pg_stat_activity, pgfold's own not counted); a\n"
	"restore-tested backup of the shared database newer than the cut-over exists (one\n"
	"is taken and tested when none does); the dedicated container is stopped; no\n"
	"other container mounts its volume; the saved original and the override are intact.\n"
	"\n"
	"  --min-age DURATION  how old the fold must be: 7d (default), 12h, 2w, 90m, 0\n"
	"  --dry-run           the checks and what would be removed; changes nothing\n"
	"  --yes               do not ask (required without a TTY)\n"
	"\n"
	"A crash or Ctrl-C is safe: re-run the same command. Exit: 0 done or already\n"
	"retired, 2 usage/no TTY, 3 refused by a check, 4 engine unreachable, 5 shared\n"
	"instance unreachable, 7 locked.\n";

int
cli_retire_main(const GlobalOptions *g, int argc, char **argv)
{
	RetireOptions opts = { .min_age = RETIRE_MIN_AGE_DEFAULT, .yes = g->yes,
						   .dry_run = g->dry_run };
	OptParser p;
	size_t index = 0;
	int id, rc;
	App app;

	opt_init(&p, "retire", NULL, OPT_CMD_RETIRE, 0, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
		if (id == OPT_MIN_AGE && !retire_parse_duration(p.arg, &opts.min_age))
			return cli_usage_error("retire", "--min-age %s: give a duration such as 7d, 12h, "
								   "2w, 90m, 45s or 0", p.arg);
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	if (p.npos != 1)
		return cli_usage_error("retire", p.npos == 0 ? "name one service"
							   : "one service at a time");
	if (!app_open(&app, g) || app_service(&app, p.pos[0], &index) == NULL)
	{
		app_close(&app);
		return exit_hint_get();
	}
	rc = retire_main(&app, index, &opts);
	app_close(&app);
	return rc;
}
