/*
 * plan.c — placeholder until the command lands.
 */
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

const char *const cli_plan_usage = "usage: pgfold plan\n";

int
cli_plan_main(const GlobalOptions *opts, int argc, char **argv)
{
	(void) opts;
	(void) argc;
	(void) argv;
	log_error("plan is not implemented yet");
	return EXIT_FAIL;
}
