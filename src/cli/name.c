/*
 * name.c — `pgfold name SERVICE...`: the database and role names the
 * naming rule (naming.h) gives a service, and why.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/naming.h"
#include "pgfold/options.h"
#include "pgfold/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_name_usage[] =
	"usage: pgfold name SERVICE... [--json]\n"
	"\n"
	"Print the database and role names a service gets on the shared instance,\n"
	"and why. The rule: the template PGFOLD_DB_NAME (environment, then\n"
	"<root>/.env; default {database_name}) with\n"
	"  {database_name}  the file's \"# database_name:\", else the dedicated\n"
	"                   container's POSTGRES_DB, else the service name\n"
	"  {service}        the service name\n"
	"  {user}           $PGUSER, else the login name\n"
	"then lowercase, every character but a-z, 0-9 and '_' becomes '_', and a\n"
	"name over 63 bytes is cut to 54 plus '_' and 8 hex digits of its SHA-256.\n"
	"Reserved names are refused: postgres, template0, template1, pg_*, the\n"
	"admin role (PG_USER). Example: PGFOLD_DB_NAME={user}_memory with\n"
	"PGUSER=nova-staging gives nova_staging_memory. migrate --db / --role\n"
	"must be names the rule keeps as they are.\n"
	"\n"
	"With --json, an array of {service, database, role, temporary_database,\n"
	"template, expanded, database_name_from, changed, truncated, error}.\n"
	"Exit: 0, 1 when the rule gives no usable name for a service, 2 usage.\n";

static void
print_one(const App *app, const StackService *svc, const NamingResult *r, const char *tmp)
{
	const char *tvar = config_lookup(&app->cfg, NAMING_TEMPLATE_VAR);

	printf("%s: database \"%s\", role \"%s\"\n", svc->name, r->name, r->name);
	printf("  template         %s (%s)\n", r->template_text,
		   tvar && tvar[0] ? NAMING_TEMPLATE_VAR : "default; " NAMING_TEMPLATE_VAR " unset");
	if (strstr(r->template_text, "{database_name}") != NULL)
		printf("  {database_name}  from %s\n", r->database_from);
	if (strstr(r->template_text, "{user}") != NULL)
	{
		const char *pg = getenv("PGUSER");

		printf("  {user}           \"%s\" (%s)\n", naming_login_user(),
			   pg && pg[0] ? "$PGUSER" : "the login name");
	}
	printf("  expanded         \"%s\"%s%s\n", r->expanded,
		   r->changed ? "; lowercase, invalid characters to '_'" : "",
		   r->truncated ? "; cut to 63 bytes with a hash suffix" : "");
	printf("  during migrate   \"%s\" (temporary database)\n", tmp);
}

int
cli_name_main(const GlobalOptions *g, int argc, char **argv)
{
	OptParser p;
	App app;
	int id, rc = EXIT_OK;
	json_t *arr = NULL;

	opt_init(&p, "name", NULL, OPT_CMD_NAME, 0, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
		;
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	if (p.npos < 1)
		return cli_usage_error("name", "name takes one or more SERVICE");
	if (!app_open(&app, g))
		return exit_hint_get();
	if (g->json)
		arr = json_array();
	for (int i = 0; i < p.npos; i++)
	{
		StackService *svc = app_service(&app, p.pos[i], NULL);
		NamingResult r;
		char err[512] = "", tmp[NAMING_MAX + 1] = "";
		bool ok;

		if (svc == NULL)
		{
			rc = EXIT_USAGE;
			continue;
		}
		ok = preflight_name_rule(&app, svc, &r, err, sizeof(err))
			&& naming_with_suffix(r.name, TMP_DB_SUFFIX, tmp);
		if (!ok)
		{
			rc = rc == EXIT_OK ? EXIT_FAIL : rc;
			if (!g->json)
				log_error("%s: %s", svc->name, err);
		}
		if (arr != NULL)
			json_array_append_new(arr, json_pack(
				"{s:s, s:s?, s:s?, s:s?, s:s, s:s, s:s?, s:b, s:b, s:s?}", "service", svc->name,
				"database", ok ? r.name : NULL, "role", ok ? r.name : NULL,
				"temporary_database", ok ? tmp : NULL, "template", r.template_text ? r.template_text : "",
				"expanded", r.expanded, "database_name_from", r.database_from, "changed", r.changed,
				"truncated", r.truncated, "error", ok ? NULL : err));
		else if (ok)
			print_one(&app, svc, &r, tmp);
	}
	if (arr != NULL)
		cli_print_json(arr);
	app_close(&app);
	return rc;
}
