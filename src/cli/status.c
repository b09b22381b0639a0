/*
 * status.c — placeholder until the command lands.
 */
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

const char *const cli_status_usage = "usage: pgfold status\n";

int
cli_status_main(const GlobalOptions *opts, int argc, char **argv)
{
	(void) opts;
	(void) argc;
	(void) argv;
	log_error("status is not implemented yet");
	return EXIT_FAIL;
}
