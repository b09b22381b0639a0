/*
 * rollback.c — `pgfold rollback SERVICE`.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/options.h"
#include "pgfold/rollback.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_rollback_usage[] =
	"usage: pgfold rollback SERVICE [--yes] [--dry-run] [--no-apply] [--deep] [--drop-shared]\n"
	"                       [--latest-backup | --backup FILE | --original-data]\n"
	"\n"
	"Put a migrated SERVICE back on its dedicated postgres container, with the data it\n"
	"wrote while it lived on the shared instance: stop its apps, dump the shared\n"
	"database to backups/postgres-migrations/SERVICE_pre_rollback_RUN.dump, start the\n"
	"dedicated container with compose (service file + override), restore into a\n"
	"temporary database inside it, verify, swap it in for the pre-migration one,\n"
	"write back the original services/SERVICE.yml, move the override to the backups\n"
	"and recreate the apps. SERVICE is FILE/DBSERVICE for a file with several\n"
	"dedicated postgres services; they roll back in reverse order of their folds.\n"
	"\n"
	"  --yes            do not ask (required without a TTY); also accepts replacing a\n"
	"                   service file edited since the migration\n"
	"  --dry-run        checks, steps and diffs only; changes nothing\n"
	"  --no-apply       restore data and files, print the compose command for the apps\n"
	"  --deep           also compare a content hash of every table\n"
	"  --latest-backup  restore the newest dump of SERVICE instead (it says which)\n"
	"  --backup FILE    restore FILE instead (its .sha256 sidecar must match)\n"
	"  --original-data  keep the volume's pre-migration data: writes made since the\n"
	"                   migration will NOT be there (they stay in the shared database\n"
	"                   and in the pre-rollback dump)\n"
	"  --drop-shared    once everything succeeded: drop the shared database and role,\n"
	"                   remove its password file and the .env variable migrate added\n"
	"\n"
	"A crash or Ctrl-C at any point is safe: re-run the same command. Exit: 0 done or\n"
	"not migrated, 2 usage/no TTY, 3 blocked by a check, 4 engine unreachable, 5 shared\n"
	"instance unreachable, 6 verification mismatch, 7 locked, 130 interrupted.\n";

static int
set_data(RollbackOptions *opts, RollbackData data, bool *chosen)
{
	if (*chosen && opts->data != data)
		return cli_usage_error("rollback", "choose one of --latest-backup, --backup FILE "
							   "and --original-data");
	*chosen = true;
	opts->data = data;
	return EXIT_OK;
}

/* -1 = help printed. */
static int
parse(const GlobalOptions *g, int argc, char **argv, RollbackOptions *opts,
	  const char **service, char backup[PATH_MAX])
{
	OptParser p;
	bool chosen = false;
	int id = OPT_END, rc = EXIT_OK;

	memset(opts, 0, sizeof(*opts));
	opts->yes = g->yes;
	opts->dry_run = g->dry_run;
	opt_init(&p, "rollback", NULL, OPT_CMD_ROLLBACK, 0, argc, argv);
	while (rc == EXIT_OK && (id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_NO_APPLY: opts->no_apply = true; break;
			case OPT_DEEP: opts->deep = true; break;
			case OPT_DROP_SHARED: opts->drop_shared = true; break;
			case OPT_LATEST_BACKUP: rc = set_data(opts, RB_DATA_LATEST, &chosen); break;
			case OPT_ORIGINAL_DATA: rc = set_data(opts, RB_DATA_ORIGINAL, &chosen); break;
			case OPT_BACKUP:
				rc = set_data(opts, RB_DATA_FILE, &chosen);
				if (rc == EXIT_OK && realpath(p.arg, backup) == NULL)
					rc = cli_usage_error("rollback", "--backup %s: no such file", p.arg);
				opts->backup_file = backup;
				break;
		}
	}
	if (rc != EXIT_OK)
		return rc;
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	if (p.npos != 1)
		return cli_usage_error("rollback", p.npos == 0 ? "name one service"
							   : "one service at a time");
	*service = p.pos[0];
	return EXIT_OK;
}

int
cli_rollback_main(const GlobalOptions *g, int argc, char **argv)
{
	RollbackOptions opts;
	char backup[PATH_MAX] = "";
	const char *name = NULL;
	size_t index = 0;
	App app;
	int rc = parse(g, argc, argv, &opts, &name, backup);

	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (!app_open(&app, g) || app_service(&app, name, &index) == NULL)
	{
		app_close(&app);
		return exit_hint_get();
	}
	rc = opts.dry_run ? rollback_plan(&app, index, &opts) : rollback_run(&app, index, &opts);
	app_close(&app);
	return rc;
}
