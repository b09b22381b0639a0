/*
 * plan.c — `pgfold plan SERVICE`: what `migrate` would do, read-only.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/migrate.h"

int
cli_plan_main(const GlobalOptions *g, int argc, char **argv)
{
	MigrateOptions opts;
	const char *name = NULL;
	size_t index = 0;
	App app;
	int rc = cli_parse_migrate_options(g, "plan", argc, argv, &opts, &name);

	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (!app_open(&app, g) || app_service(&app, name, &index) == NULL)
	{
		app_close(&app);
		return exit_hint_get();
	}
	rc = migrate_plan(&app, index, &opts);
	app_close(&app);
	return rc;
}
