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
#include "pgfold/proc.h"
#include "pgfold/signals.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
take_global_option(GlobalOptions *opts, int argc, char **argv, int *i,
				   bool *no_color, bool *show_help, bool *show_version)
{
	const char *arg = argv[*i];

	if (strcmp(arg, "--root") == 0)
	{
		if (*i + 1 >= argc)
			return false;
		opts->root = argv[++*i];
	}
	else if (strncmp(arg, "--root=", 7) == 0)
		opts->root = arg + 7;
	else if (strcmp(arg, "--json") == 0)
		opts->json = true;
	else if (strcmp(arg, "--yes") == 0 || strcmp(arg, "-y") == 0)
		opts->yes = true;
	else if (strcmp(arg, "--dry-run") == 0)
		opts->dry_run = true;
	else if (strcmp(arg, "--no-color") == 0)
		*no_color = true;
	else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0)
		opts->verbosity++;
	else if (strcmp(arg, "-vv") == 0)
		opts->verbosity += 2;
	else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0)
		opts->verbosity--;
	else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		*show_help = true;
	else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
		*show_version = true;
	else
		return false;
	return true;
}

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

	/* argv[0] stays first so getopt in commands sees a program name. */
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--") == 0)
		{
			while (i < argc)
				rest[nrest++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--root") == 0 && i + 1 >= argc)
		{
			free(rest);
			return cli_usage_error(NULL, "--root needs a directory");
		}
		if (!take_global_option(&opts, argc, argv, &i, &no_color,
								&show_help, &show_version))
			rest[nrest++] = argv[i];
	}
	rest[nrest] = NULL;

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
	opterr = 0;     /* commands name a bad option themselves, once */

	/* The command sees its own name as argv[0]. */
	int rc = cmd->main(&opts, nrest - 1, rest + 1);

	docker_library_cleanup();
	log_close_file();
	free(rest);
	return rc;
}
