/*
 * migrate.c — `pgfold migrate SERVICE`, and the option parser `plan` shares.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/migrate.h"
#include "pgfold/options.h"

#include <stdio.h>
#include <string.h>

const char cli_migrate_usage[] =
	"usage: pgfold migrate SERVICE [--yes] [--no-apply] [--deep] [--keep-app-stopped]\n"
	"                      [--db NAME] [--role NAME] [--connection-limit N]\n"
	"                      [--ignore-migration-state] [--drop-grants | --with-roles]\n"
	"                      [--files-edited] [--jobs N|auto] [--dry-run] [--verify]\n"
	"                      [--json]\n"
	"\n"
	"Move SERVICE's database from its dedicated postgres container into the shared\n"
	"instance and switch the service over: stop its apps, stream pg_dump into\n"
	"pg_restore (keeping a verified copy under backups/postgres-migrations/),\n"
	"create its own role, verify every table's rows against the source, rewrite\n"
	"services/SERVICE.yml, write overrides/SERVICE-dedicated-postgres.yml for\n"
	"rollback, recreate the apps and stop (never remove) the dedicated container,\n"
	"then log in with the settings each app got and read its data (the proof).\n"
	"A file with several dedicated postgres services is one SERVICE per db,\n"
	"FILE/DBSERVICE (`pgfold status` lists them): each folds on its own.\n"
	"\n"
	"  --yes               do not ask (required without a TTY)\n"
	"  --no-apply          change files and data, print the compose commands\n"
	"  --keep-app-stopped  do not start the apps at the end\n"
	"  --deep              also compare a content hash of every table\n"
	"  --db NAME           database name on the shared instance\n"
	"                      (default: `# database_name:` or POSTGRES_DB)\n"
	"  --role NAME         role name (default: the database name)\n"
	"  --connection-limit N  the role's CONNECTION LIMIT, -1 none (default: from\n"
	"                      the peak of the apps' sessions seen on the source,\n"
	"                      max(2 x peak, peak + 10) within its max_connections;\n"
	"                      none when no session was seen)\n"
	"  --ignore-migration-state  fold even when a migration runner's state\n"
	"                      table shows a half-done migration (golang-migrate\n"
	"                      dirty, Liquibase or Knex locked, Flyway, Prisma or\n"
	"                      sqlx failed); the summary warns\n"
	"  --drop-grants       fold even when roles other than the app's own own\n"
	"                      objects or hold grants in the database: their\n"
	"                      objects go to the service role, their grants are\n"
	"                      not carried; the summary says so\n"
	"  --with-roles        carry those roles as NOLOGIN roles <db>_<role> on the\n"
	"                      shared instance, with their ownership, grants and\n"
	"                      default privileges; the service role becomes a\n"
	"                      member of each\n"
	"  --files-edited      the apps' own files that name the database in a\n"
	"                      format pgfold does not rewrite (plan lists each\n"
	"                      file:line) were changed by you: go on\n"
	"  --jobs N|auto       N > 1: the stream restores tables and data, then\n"
	"                      pg_restore -j N builds indexes, constraints and\n"
	"                      triggers from the dump just written (the shared\n"
	"                      container must mount the backups directory, or a\n"
	"                      local pg_restore as new as the source must reach the\n"
	"                      shared instance); 1: one pipe; auto (default): N = 2\n"
	"                      when the source is large and index-heavy enough, the\n"
	"                      shared server has 4 cores or more and a route exists\n"
	"                      (`plan` says which and why)\n"
	"  --dry-run           same as `pgfold plan SERVICE`\n"
	"  --verify            on a migrated service: compare again with the\n"
	"                      dedicated container, if it still exists\n"
	"\n"
	"A crash or Ctrl-C at any point is safe: re-run the same command and it\n"
	"resumes. Exit: 0 done or already migrated, 3 blocked by a check, 4 engine\n"
	"unreachable, 5 shared instance unreachable, 6 verification mismatch or an app\n"
	"whose settings do not log in (the proof), 7 locked.\n";

const char cli_plan_usage[] =
	"usage: pgfold plan SERVICE [--db NAME] [--role NAME] [--deep] [--no-apply]\n"
	"                   [--connection-limit N] [--files-edited] [--json]\n"
	"                   [--ignore-migration-state] [--drop-grants | --with-roles]\n"
	"                   [--jobs N|auto] [--rehearse]\n"
	"\n"
	"Read-only: run every pre-flight check of a migration of SERVICE (engine,\n"
	"source container, versions, extensions, names on the shared instance, disk\n"
	"space, other databases in the dedicated cluster, the apps' sessions sampled\n"
	"on the source and the role's connection limit from them, room for it on the\n"
	"shared instance, the state tables of the schema-migration runners and their\n"
	"last applied version, roles other than the app's own that own objects or\n"
	"hold grants) and print the exact steps,\n"
	"the SQL and a unified diff of every file that would change. SERVICE is\n"
	"FILE/DBSERVICE for a file with several dedicated postgres services.\n"
	"With --rehearse, while the apps keep running: stream the source into a\n"
	"scratch database and role on the shared instance, hand it over, analyze and\n"
	"verify it as migrate does, time every phase, drop it all, and print the\n"
	"downtime the data part of the real run would cost (with the same --jobs).\n"
	"Same as `pgfold migrate SERVICE --dry-run`. Exit 0 when the migration could\n"
	"go ahead, 3 when a check blocks it (4/5 when the engine/shared instance\n"
	"cannot be reached).\n";

int
cli_parse_migrate_options(const GlobalOptions *g, const char *command, int argc,
						  char **argv, MigrateOptions *opts, const char **service)
{
	long limit = CONN_LIMIT_FROM_EVIDENCE, n = 0;
	const char *jobs = NULL;
	OptParser p;
	int id;

	memset(opts, 0, sizeof(*opts));
	opts->yes = g->yes;
	opts->dry_run = g->dry_run;
	opts->json = g->json;
	opt_init(&p, command, NULL, OPT_CMD_MIGRATE, 0, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_NO_APPLY: opts->no_apply = true; break;
			case OPT_DEEP: opts->deep = true; break;
			case OPT_KEEP_APP_STOPPED: opts->keep_app_stopped = true; break;
			case OPT_DB: opts->db = p.arg; break;
			case OPT_ROLE: opts->role = p.arg; break;
			case OPT_VERIFY: opts->verify_only = true; break;
			case OPT_FILES_EDITED: opts->files_edited = true; break;
			case OPT_IGNORE_MIGRATION_STATE: opts->ignore_migration_state = true; break;
			case OPT_DROP_GRANTS: opts->drop_grants = true; break;
			case OPT_WITH_ROLES: opts->with_roles = true; break;
			case OPT_REHEARSE: opts->rehearse = true; break;
			case OPT_CONNECTION_LIMIT: limit = p.num; break;
			case OPT_JOBS: jobs = p.arg; break;
		}
	}
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	opts->connection_limit = (int) limit;
	opts->jobs = MIGRATE_JOBS_AUTO;
	if (jobs != NULL && strcmp(jobs, "auto") != 0)
	{
		if (!str_to_long(jobs, 1, MIGRATE_JOBS_MAX, &n))
			return cli_usage_error(command, "--jobs takes a number from 1 to %d or \"auto\", "
								   "not \"%s\"", MIGRATE_JOBS_MAX, jobs);
		opts->jobs = (int) n;
	}
	if (opts->rehearse && strcmp(command, "plan") != 0 && !opts->dry_run)
		return cli_usage_error(command, "--rehearse goes with plan (or migrate --dry-run): "
							   "it times a migration without making one");
	if (opts->drop_grants && opts->with_roles)
		return cli_usage_error(command, "--drop-grants and --with-roles are two ways on: "
							   "pick one");
	if (p.npos != 1)
		return cli_usage_error(command, p.npos == 0 ? "name one service"
							   : "one service at a time");
	*service = p.pos[0];
	return EXIT_OK;
}

/* `migrate` and `plan` (which is `migrate --dry-run`) share everything. */
int
cli_run_migrate(const GlobalOptions *g, const char *command, int argc, char **argv)
{
	MigrateOptions opts;
	const char *name = NULL;
	size_t index = 0;
	App app;
	int rc = cli_parse_migrate_options(g, command, argc, argv, &opts, &name);

	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if (strcmp(command, "plan") == 0)
		opts.dry_run = true;
	if (!app_open(&app, g) || app_service(&app, name, &index) == NULL)
	{
		app_close(&app);
		return exit_hint_get();
	}
	rc = opts.dry_run ? migrate_plan(&app, index, &opts) : migrate_run(&app, index, &opts);
	app_close(&app);
	return rc;
}

int
cli_migrate_main(const GlobalOptions *g, int argc, char **argv)
{
	return cli_run_migrate(g, "migrate", argc, argv);
}
