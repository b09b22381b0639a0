/*
 * plan.c — `pgfold plan SERVICE`: what `migrate` would do, read-only.
 */
#include "pgfold/cli.h"

int
cli_plan_main(const GlobalOptions *g, int argc, char **argv)
{
	return cli_run_migrate(g, "plan", argc, argv);
}
