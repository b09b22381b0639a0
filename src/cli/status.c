/*
 * status.c — `pgfold status [SERVICE...] [--json]`: one line per service.
 *
 * One container list for the whole stack, one psql call per running
 * dedicated container and one libpq connection to the shared instance: a
 * stack of fifty services answers in seconds.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/preflight.h"
#include "pgfold/stream.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char *const cli_status_usage =
	"usage: pgfold status [SERVICE...] [--json]\n"
	"\n"
	"One line per service of <root>/services:\n"
	"  migrated   lives on the shared instance\n"
	"  ready      can be migrated (`pgfold plan SERVICE` shows how)\n"
	"  attention  something to review first (e.g. its db container is stopped)\n"
	"  blocked    cannot be migrated, and why (extension missing on the shared\n"
	"             instance, source newer than shared, several databases, ...)\n"
	"\n"
	"With --json, an array of objects {service, state, reason, container,\n"
	"database, size_bytes, source_version, checks[]} on stdout.\n"
	"Exit: 0, or 4 when the Docker engine cannot be reached, 2 for an unknown service.\n";

static bool
wanted(int argc, char **argv, const char *name)
{
	if (argc <= 0)
		return true;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

static void
print_line(const StackService *svc, const Preflight *pf, bool color)
{
	static const char *const colors[] = { "\033[32m", "\033[36m", "\033[33m", "\033[31m" };
	char size[32] = "-";
	const char *container = pf->db_container ? pf->db_container->name
		: svc->db_container ? svc->db_container : "-";
	const char *db = pf->names.db[0] ? pf->names.db
		: svc->meta_database_name ? svc->meta_database_name : "-";

	if (pf->source.known)
		stream_format_bytes((uint64_t) pf->source.db_size, size, sizeof(size));
	if (color)
		printf("%-20s %s%-10s\033[0m %-24s %-20s %10s  %s\n", svc->name, colors[pf->state],
			   preflight_state_name(pf->state), container, db, size,
			   pf->reason ? pf->reason : "");
	else
		printf("%-20s %-10s %-24s %-20s %10s  %s\n", svc->name, preflight_state_name(pf->state),
			   container, db, size, pf->reason ? pf->reason : "");
}

static int
check_names(App *app, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (app_service(app, argv[i], NULL) == NULL)
			return EXIT_USAGE;
	return EXIT_OK;
}

int
cli_status_main(const GlobalOptions *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool json = opts->json;
	int c;
	App app;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		if (c == 'j')
			json = true;
		else if (c == 'h')
		{
			fputs(cli_status_usage, stdout);
			return EXIT_OK;
		}
		else
			return cli_bad_option("status", argv);
	}
	argc -= optind;
	argv += optind;

	if (!app_open(&app, opts))
	{
		app_close(&app);
		return exit_hint_get();
	}

	int rc = check_names(&app, argc, argv);
	json_t *all = json_array();

	if (rc == EXIT_OK && !json && app.stack.count > 0)
		printf("%-20s %-10s %-24s %-20s %10s  %s\n", "SERVICE", "STATE", "CONTAINER",
			   "DATABASE", "SIZE", "REASON");
	for (size_t i = 0; rc == EXIT_OK && i < app.stack.count; i++)
	{
		StackService *svc = &app.stack.services[i];
		PreflightOptions po = { .light = true };
		Preflight pf;

		if (!wanted(argc, argv, svc->name))
			continue;
		preflight_run(&app, i, &po, &pf);
		if (json)
			json_array_append_new(all, preflight_json(svc, &pf));
		else
			print_line(svc, &pf, opts->color);
		preflight_free(&pf);
	}
	if (rc == EXIT_OK && json)
	{
		json_dumpf(all, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	if (rc == EXIT_OK && app.engine_tried && app.container_list == NULL)
		rc = EXIT_ENGINE;
	json_decref(all);
	app_close(&app);
	return rc;
}
