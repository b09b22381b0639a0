/*
 * main.c — global options, then hand over to one command in src/cli/.
 *
 * Global options may stand before or after the command name
 * (`pgfold --root X status` and `pgfold status --json` both work); they are
 * taken out of argv before the command parses its own options.
 */
#include "pgfold/cli.h"
#include "pgfold/docker.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/options.h"
#include "pgfold/proc.h"
#include "pgfold/signals.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	GlobalOptions opts = { 0 };
	bool no_color = false, show_help = false, show_version = false;
	char **rest;
	int nrest = 0;

	/* before anything holds a password: no core dump may carry one */
	proc_harden();
	rest = calloc((size_t) argc + 1, sizeof(char *));
	if (rest == NULL)
		return EXIT_FAIL;

	/* The global rows of the option table, wherever they stand; every other
	 * word (and "--" with all after it) is left to the command, in order. */
	for (int i = 0; i < argc; i++)
		rest[i] = argv[i];
	OptParser p;
	int id;

	opt_init(&p, NULL, NULL, OPT_CMD_GLOBAL, 0, argc, rest);
	p.pass = true;
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_ROOT: opts.root = p.arg; break;
			case OPT_JSON: opts.json = true; break;
			case OPT_YES: opts.yes = true; break;
			case OPT_DRY_RUN: opts.dry_run = true; break;
			case OPT_NO_COLOR: no_color = true; break;
			case OPT_VERBOSE: opts.verbosity++; break;
			case OPT_VERBOSE2: opts.verbosity += 2; break;
			case OPT_QUIET: opts.verbosity--; break;
			case OPT_HELP: show_help = true; break;
			case OPT_VERSION: show_version = true; break;
		}
	}
	if (id == OPT_ERROR)
	{
		free(rest);
		return EXIT_USAGE;
	}
	nrest = 1 + p.npos;     /* rest[0] stays the program name */

	opts.color = !no_color && getenv("NO_COLOR") == NULL && isatty(STDERR_FILENO);
	log_set_color(opts.color);
	int level = LOG_NOTICE - opts.verbosity;
	log_set_level(level < LOG_TRACE ? LOG_TRACE : level > LOG_ERROR ? LOG_ERROR : (LogLevel) level);

	if (show_version)
	{
		free(rest);
		return cli_version_main(&opts, 0, NULL);
	}

	const Command *cmd = nrest > 1 ? cli_find_command(rest[1]) : NULL;

	if (nrest <= 1 || (show_help && cmd == NULL))
	{
		cli_print_usage(nrest <= 1 && !show_help ? stderr : stdout);
		free(rest);
		return nrest <= 1 && !show_help ? EXIT_USAGE : EXIT_OK;
	}
	if (cmd == NULL)
	{
		int rc = cli_usage_error(NULL, "unknown command \"%s\"", rest[1]);

		free(rest);
		return rc;
	}
	if (show_help)
	{
		fputs(cmd->usage, stdout);
		free(rest);
		return EXIT_OK;
	}

	if (sodium_init() < 0)
	{
		log_fatal("cannot initialise libsodium");
		free(rest);
		return EXIT_FAIL;
	}
	if (!docker_library_init())
	{
		free(rest);
		return EXIT_FAIL;
	}
	signals_install();

	/* The command sees its own name as argv[0]. */
	int rc = cmd->main(&opts, nrest - 1, rest + 1);

	docker_library_cleanup();
	log_close_file();
	free(rest);
	return rc;
}
