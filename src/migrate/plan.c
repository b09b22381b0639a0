/*
 * plan.c — `pgfold plan SERVICE` (= `migrate SERVICE --dry-run`): every
 * pre-flight check, the exact steps, the SQL and a diff of every file that
 * would change. Read-only: nothing is written, started or stopped.
 */
#include "pgfold/composecmd.h"
#include "pgfold/migrate.h"

#include "pgfold/exitcodes.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/retire.h"
#include "pgfold/stream.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void
app_container_names(App *app, size_t index, StrBuf *out)
{
	const StackService *svc = &app->stack.services[index];

	for (size_t i = 0; i < svc->file.service_count; i++)
	{
		if ((int) i == svc->db_service)
			continue;

		const ContainerInfo *ci = app->container_list != NULL
			? &app->containers.services[index].members[i] : NULL;

		sb_appendf(out, "%s%s", out->len ? ", " : "", svc->file.services[i].key);
		if (ci != NULL && ci->match != MATCH_NONE)
			sb_appendf(out, " (%s, %s)", ci->name, ci->state);
	}
}

static void
describe_stream(App *app, const StackService *svc, const Preflight *pf, const JobsPlan *jp,
				const char *stamp, int *n, StrBuf *out)
{
	const char *container = pf->db_container ? pf->db_container->name : svc->db_container;
	char size[32];

	stream_format_bytes((uint64_t) pf->source.db_size, size, sizeof(size));
	sb_appendf(out, "  %d. stream pg_dump -Fc of \"%s\" (%s) in %s into backups/%s/%s_%s.dump "
			   "(+ .sha256) and pg_restore --exit-on-error%s into \"%s\" %s%s\n", (*n)++,
			   svc->db_name, size, container, JOURNAL_SUBDIR, service_fsname(svc), stamp,
			   jp->jobs > 1 ? " --section=pre-data --section=data" : "", pf->names.tmp_db,
			   app->cfg.shared_container[0] ? "in container " : "locally",
			   app->cfg.shared_container);
	if (jp->jobs > 1 && jp->route == JOBS_ROUTE_MOUNT)
		sb_appendf(out, "  %d. pg_restore -j %d --section=post-data (indexes, constraints, "
				   "triggers) into \"%s\" in container %s, reading the dump through its bind "
				   "mount as %s/%s_%s.dump\n", (*n)++, jp->jobs, pf->names.tmp_db,
				   app->cfg.shared_container, jp->dir, service_fsname(svc), stamp);
	else if (jp->jobs > 1)
		sb_appendf(out, "  %d. pg_restore -j %d --section=post-data (indexes, constraints, "
				   "triggers) into \"%s\" on this host over %s:%d, reading the dump from "
				   "backups/%s/%s_%s.dump\n", (*n)++, jp->jobs, pf->names.tmp_db,
				   app->cfg.pg_host, app->cfg.pg_port, JOURNAL_SUBDIR, service_fsname(svc), stamp);
	sb_appendf(out, "     (jobs: %s)\n", jp->why);
}

static void
describe_steps(App *app, size_t index, const Preflight *pf, const MigrationFiles *files,
			   const MigrateOptions *opts, const JobsPlan *jp, StrBuf *out)
{
	const StackService *svc = &app->stack.services[index];
	char stamp[JOURNAL_STAMP_LEN + 1] = "<timestamp>";
	StrBuf apps = STRBUF_INIT, cmd = STRBUF_INIT;
	/* the db service is gone from the file by then */
	char **others = stack_others_services(&app->stack, index);
	char **up = composecmd_up_args(app_invocation(app, index), svc, svc->db_service, others);
	char **argv = composecmd_argv(app, app_invocation(app, index), NULL, (const char *const *) up);
	const char *container = pf->db_container ? pf->db_container->name : svc->db_container;
	int n = 1;

	journal_stamp(time(NULL), stamp);
	app_container_names(app, index, &apps);
	/* apps of the project's other files that read an app file */
	for (size_t i = 0; i < files->app_files.count; i++)
		if (files->app_files.items[i].rewrite
			&& compose_find_service(&svc->file, files->app_files.items[i].app) == NULL)
			sb_appendf(&apps, "%s%s (reads %s)", apps.len ? ", " : "",
					   files->app_files.items[i].app, files->app_files.items[i].rel);
	composecmd_line(argv, &cmd);
	composecmd_argv_free(argv);
	composecmd_argv_free(up);
	stack_others_free(others);

	sb_appendf(out, "  %d. save %s to backups/%s/%s_%s.yml\n", n++, files->service_rel,
			   JOURNAL_SUBDIR, service_fsname(svc), stamp);
	sb_appendf(out, "  %d. stop the app containers: %s\n", n++, apps.len ? sb_str(&apps) : "none");
	sb_appendf(out, "  %d. role \"%s\": %s (password in etc/.db_passwords/%s.txt, mode 0600)\n",
			   n++, pf->names.role, pf->role_exists ? "reuse" : "create", pf->names.role);
	sb_appendf(out, "  %d. create \"%s\" owned by \"%s\", closed to other roles, with the "
			   "source's encoding and locale\n", n++, pf->names.tmp_db, pf->names.role);
	describe_stream(app, svc, pf, jp, stamp, &n, out);
	sb_appendf(out, "  %d. check \"%s\" again for what \"dump contents\" refuses, then hand "
			   "every object of it to \"%s\"\n", n++, pf->names.tmp_db, pf->names.role);
	if (opts->with_roles && pf->roles.count > 0)
		sb_appendf(out, "  %d. carry %zu other role(s) as NOLOGIN roles \"%s_<role>\" (the "
				   "service role a member of each): their ownership, grants and default "
				   "privileges re-applied in \"%s\"\n", n++, pf->roles.count, pf->names.db,
				   pf->names.tmp_db);
	sb_appendf(out, "  %d. give \"%s\" the source database's settings and comment, and \"%s\" "
			   "the settings of \"%s\" there (IN DATABASE only)\n", n++, pf->names.tmp_db,
			   pf->names.role, svc->db_user);
	sb_appendf(out, "  %d. ANALYZE \"%s\" as \"%s\"\n", n++, pf->names.tmp_db, pf->names.role);
	sb_appendf(out, "  %d. verify against %s: object counts, exact rows per table, sequences%s, "
			   "locale, settings, comment\n", n++, container,
			   opts->deep ? ", content hash per table" : "");
	sb_appendf(out, "  %d. write %s, %s and .env (diffs below)\n", n++, files->service_rel,
			   files->override_rel);
	sb_appendf(out, "  %d. rename \"%s\" to \"%s\"\n", n++, pf->names.tmp_db, pf->names.db);
	if (opts->no_apply || opts->keep_app_stopped)
		sb_appendf(out, "  %d. leave the apps stopped; start them with: %s\n", n++, sb_str(&cmd));
	else
		sb_appendf(out, "  %d. apply: %s\n", n++, sb_str(&cmd));
	sb_appendf(out, "  %d. stop (not remove) %s; its volume is kept\n", n++, container);
	if (opts->no_apply || opts->keep_app_stopped)
		sb_appendf(out, "  %d. no connection proof: the apps are not started\n", n++);
	else
		sb_appendf(out, "  %d. connection proof: log in as each app with the settings its new "
				   "container got (user, password, database; %s:%d reached at %s:%d) and read "
				   "one of its tables\n", n++, app->cfg.shared_host, app->cfg.shared_port,
				   app->cfg.pg_host, app->cfg.pg_port);
	sb_appendf(out, "  %d. log to backups/%s/%s_%s.log; rollback: pgfold rollback %s\n", n++,
			   JOURNAL_SUBDIR, service_fsname(svc), stamp, svc->name);
	sb_free(&apps);
	sb_free(&cmd);
}

static int
plan_exit_code(const App *app, const Preflight *pf)
{
	if (pf->state == STATE_BLOCKED)
		return EXIT_BLOCKED;
	if (!pf->engine_reachable)
		return EXIT_ENGINE;
	if (!pf->shared_reachable)
		return EXIT_SHARED;
	if (!pf->source.known)
		return EXIT_BLOCKED;      /* a stopped source cannot be dumped */
	(void) app;
	return EXIT_OK;
}

static void
print_text(const StackService *svc, const Preflight *pf, const StrBuf *steps,
		   const StrBuf *sql, const StrBuf *diff, int rc, bool color)
{
	printf("plan for %s\n\npre-flight checks:\n", svc->name);
	preflight_print(stdout, pf, color);
	if (steps->len)
		printf("\nsteps:\n%s", sb_str(steps));
	if (sql->len)
		printf("\nSQL on the shared instance:\n%s", sb_str(sql));
	if (diff->len)
		printf("\nfiles:\n%s", sb_str(diff));
	if (rc == EXIT_OK)
		printf("\nready: run `pgfold migrate %s`\n", svc->name);
	else
		printf("\nnot ready: %s\n", pf->reason ? pf->reason
			   : rc == EXIT_ENGINE ? "the Docker engine cannot be reached"
			   : rc == EXIT_SHARED ? "the shared instance cannot be reached"
			   : "the source database cannot be queried");
}

static void
print_json(const StackService *svc, const Preflight *pf, const StrBuf *steps,
		   const StrBuf *sql, const StrBuf *diff, int rc, const JobsPlan *jp, json_t *rehearsal)
{
	json_t *o = preflight_json(svc, pf);

	json_object_set_new(o, "jobs", json_pack("{s:i, s:s, s:s}", "jobs", jp->jobs, "route",
											 migrate_jobs_route_name(jp->route), "why", jp->why));

	json_object_set_new(o, "can_proceed", json_boolean(rc == EXIT_OK));
	/* what the pre-flight measured (conns.c); -1 = unknown / no limit */
	if (pf->source.known)
		json_object_set_new(o, "connections", json_pack(
			"{s:b, s:I, s:I, s:I, s:i, s:b, s:I, s:I}", "measured", pf->conns.measured,
			"peak", (json_int_t) pf->conns.peak, "source_max", (json_int_t) pf->conns.source_max,
			"source_port", (json_int_t) pf->conns.source_port, "limit", pf->conns.limit,
			"override", pf->conns.overridden,
			"shared_usable", (json_int_t) pf->conns.shared_usable,
			"shared_committed", (json_int_t) pf->conns.shared_committed));
	json_object_set_new(o, "steps", json_string(sb_str(steps)));
	json_object_set_new(o, "sql", json_string(sb_str(sql)));
	json_object_set_new(o, "diff", json_string(sb_str(diff)));
	if (rehearsal != NULL)
		json_object_set_new(o, "rehearsal", rehearsal);
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
}

int
migrate_plan(App *app, size_t index, const MigrateOptions *opts)
{
	StackService *svc = &app->stack.services[index];
	PreflightOptions po = { .db = opts->db, .role = opts->role,
							.connection_limit = opts->connection_limit,
							.ignore_migration_state = opts->ignore_migration_state,
							.drop_grants = opts->drop_grants,
							.with_roles = opts->with_roles,
							.files_edited = opts->files_edited };
	StrBuf steps = STRBUF_INIT, sql = STRBUF_INIT, diff = STRBUF_INIT;
	Preflight pf;
	JobsPlan jp;
	int rc;

	preflight_run(app, index, &po, &pf);
	if (pf.state == STATE_MIGRATED)
	{
		RetireState rs;

		printf("%s: already migrated (database \"%s\" on the shared instance)\n", svc->name,
			   svc->meta_database_name ? svc->meta_database_name : "?");
		if (retire_service_state(&app->cfg, svc, &rs))
			printf("%s: retired (run %s): its dedicated container and volume are gone; `pgfold "
				   "rollback %s` recreates the container with the override on a NEW volume (the "
				   "image initialises it) and restores the data into it\n", svc->name, rs.run,
				   svc->name);
		preflight_free(&pf);
		return EXIT_OK;
	}
	rc = plan_exit_code(app, &pf);
	/* the same decision migrate makes; an explicit --jobs N with no route
	 * is refused as migrate refuses it */
	if (!migrate_jobs_decide(app, &pf, opts->jobs, &jp))
	{
		preflight_free(&pf);
		return exit_hint_get();
	}

	if (svc->problem == NULL && svc->db_service >= 0 && pf.names.db[0] != '\0')
	{
		/* the files the pre-flight's dry run built; when it could not, a
		 * blocking check already says why */
		if (pf.files != NULL)
		{
			describe_steps(app, index, &pf, pf.files, opts, &jp, &steps);
			migration_files_diff(svc, pf.files, &diff);
		}
		if (app->shared != NULL)
			migration_sql_describe(app->shared, &pf.names, pf.props, pf.conns.limit, &sql);
	}

	if (opts->rehearse && rc != EXIT_OK)
		log_notice("not rehearsing %s: the migration could not go ahead", svc->name);
	if (opts->json)
	{
		json_t *rehearsal = NULL;
		int rrc = opts->rehearse && rc == EXIT_OK
			? migrate_rehearse(app, index, &pf, opts, &jp, &rehearsal) : EXIT_OK;

		print_json(svc, &pf, &steps, &sql, &diff, rc, &jp, rehearsal);
		rc = rc != EXIT_OK ? rc : rrc;
	}
	else
	{
		print_text(svc, &pf, &steps, &sql, &diff, rc, app->opts->color);
		fflush(stdout);
		if (opts->rehearse && rc == EXIT_OK)
			rc = migrate_rehearse(app, index, &pf, opts, &jp, NULL);
	}

	preflight_free(&pf);
	sb_free(&steps);
	sb_free(&sql);
	sb_free(&diff);
	return rc;
}
