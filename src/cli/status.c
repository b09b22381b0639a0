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
#include "pgfold/options.h"
#include "pgfold/pg.h"
#include "pgfold/preflight.h"
#include "pgfold/retire.h"
#include "pgfold/refs.h"
#include "pgfold/stream.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

const char cli_status_usage[] =
	"usage: pgfold status [SERVICE...] [--json]\n"
	"       pgfold status --all [--json]\n"
	"\n"
	"--all: every dedicated postgres container on the host, whatever the\n"
	"stack or layout: compose project, service, container, state, version,\n"
	"database size, locale, extensions, and the directory and files compose\n"
	"ran it from (its labels). Running ones are measured with one psql each.\n"
	"A stopped dedicated one (what a migration leaves) also gets the count of\n"
	"lines of its stack's .env and compose files that still name it.\n"
	"\n"
	"One line per service of the stack (see README, \"Your layout\"), one per db\n"
	"for a file with several dedicated postgres services (FILE/DBSERVICE):\n"
	"  migrated   lives on the shared instance\n"
	"  retired    migrated, and its dedicated container and volume removed\n"
	"             (`pgfold retire`)\n"
	"  ready      can be migrated (`pgfold plan SERVICE` shows how)\n"
	"  attention  something to review first (e.g. its db container is stopped)\n"
	"  blocked    cannot be migrated, and why (extension missing on the shared\n"
	"             instance, source newer than shared, several databases, ...)\n"
	"\n"
	"The footer, \"what folding saves\": the dedicated postgres containers running\n"
	"(with their memory now), stopped and retired, the disk their volumes hold, and\n"
	"the shared instance's memory and size (with --all: every one on the engine).\n"
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
print_line(const StackService *svc, const Preflight *pf, const char *state, bool color)
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
			   state ? state : preflight_state_name(pf->state), container, db, size,
			   pf->reason ? pf->reason : "");
	else
		printf("%-20s %-10s %-24s %-20s %10s  %s\n", svc->name,
			   state ? state : preflight_state_name(pf->state), container, db, size,
			   pf->reason ? pf->reason : "");
}

/* What a running dedicated postgres holds: its POSTGRES_DB (from the
 * container's environment, as the image reads it), measured with one psql. */
static const char measure_sql[] =
	"SELECT split_part(current_setting('server_version'), ' ', 1), pg_database_size(current_database())::text,\n"
	"  (SELECT datcollate FROM pg_database WHERE datname = current_database()),\n"
	"  coalesce((SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname)\n"
	"            FROM pg_extension WHERE extname <> 'plpgsql'), '');\n";

static const char *
env_value(json_t *env, const char *key)
{
	size_t i, n = strlen(key);
	json_t *e;

	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);

		if (s != NULL && strncmp(s, key, n) == 0 && s[n] == '=')
			return s + n + 1;
	}
	return NULL;
}

/* The user and database a running one is asked as, from its inspect
 * (POSTGRES_USER / POSTGRES_DB, as its entrypoint made them): false when
 * it is not running or cannot be inspected. *user is owned. */
static bool
measure_as(DockerClient *docker, HostPostgres *h, char **user)
{
	json_t *info = NULL;
	bool found = false;

	if (strcmp(h->state, "running") != 0
		|| !docker_inspect_container(docker, h->id, &info, &found) || !found)
	{
		json_decref(info);
		return false;
	}

	json_t *env = json_object_get(json_object_get(info, "Config"), "Env");
	const char *u = env_value(env, "POSTGRES_USER");
	const char *db = env_value(env, "POSTGRES_DB");

	*user = xstrdup(u && u[0] ? u : "postgres");
	h->database = xstrdup(db && db[0] ? db : *user);
	json_decref(info);
	return true;
}

/* Every running one measured, all asked at once (pgx_query_rows_many: over
 * their own sockets where the host reaches them, else by exec). */
static void
measure_all(DockerClient *docker, HostPostgres *found, size_t count)
{
	PgxRowsJob *jobs = xcalloc(count ? count : 1, sizeof(PgxRowsJob));
	HostPostgres **of = xcalloc(count ? count : 1, sizeof(HostPostgres *));
	char **users = xcalloc(count ? count : 1, sizeof(char *));
	size_t n = 0;
	bool asked;

	for (size_t i = 0; i < count; i++)
		if (measure_as(docker, &found[i], &users[n]))
		{
			of[n] = &found[i];
			jobs[n] = (PgxRowsJob) { .container = found[i].container, .user = users[n],
									 .db = found[i].database, .sql = measure_sql, .ncols = 4 };
			n++;
		}
	asked = n > 0 && pgx_query_rows_many(docker, jobs, n);   /* false: interrupted */
	for (size_t k = 0; k < n; k++)
	{
		HostPostgres *h = of[k];
		long size = 0;

		if (asked && jobs[k].ok && jobs[k].rows.nrows == 1)
		{
			h->version = xstrdup(pg_rows_get(&jobs[k].rows, 0, 0));
			if (str_to_long(pg_rows_get(&jobs[k].rows, 0, 1), 0, LONG_MAX, &size))
				h->size_bytes = size;
			h->locale = xstrdup(pg_rows_get(&jobs[k].rows, 0, 2));
			h->extensions = xstrdup(pg_rows_get(&jobs[k].rows, 0, 3));
		}
		pg_rows_free(&jobs[k].rows);
	}
	for (size_t k = 0; k < count; k++)
		free(users[k]);
	free(users);
	free(of);
	free(jobs);
}

static const char *
dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static json_t *
host_json(const HostPostgres *h, const char *role)
{
	return json_pack("{s:s?, s:s?, s:s, s:s, s:s, s:s?, s:s?, s:I, s:s?, s:s?, s:s?, s:s?, s:s}",
					 "project", h->project, "service", h->service, "container", h->container,
					 "image", h->image, "state", h->state, "database", h->database,
					 "version", h->version, "size_bytes", (json_int_t) h->size_bytes,
					 "locale", h->locale, "extensions", h->extensions,
					 "working_dir", h->working_dir, "config_files", h->config_files, "role", role);
}

static long
status_refs_left(const Config *cfg, const HostPostgres *h)
{
	const char *names[] = { h->container };
	const char *skip[] = { cfg->backups_dir, cfg->overrides_dir, NULL };

	return (long) refs_count_stack(h->working_dir ? h->working_dir : cfg->root, skip, names, 1);
}

static int
status_all(const GlobalOptions *opts, bool json)
{
	Config cfg;
	DockerClient *docker = NULL;
	json_t *list = NULL, *out = json_array();
	HostPostgres *found = NULL;
	size_t count = 0;
	DockerFilter all = { .all = true };
	int rc = EXIT_OK;

	if (!config_load(opts->root, &cfg))
		return exit_hint_get();
	if (!docker_connect(&docker) || !docker_list_containers(docker, &all, &list))
		rc = EXIT_ENGINE;
	else
	{
		service_discover_postgres(list, &found, &count);
		measure_all(docker, found, count);
	}
	if (rc == EXIT_OK && !json)
		printf("%-16s %-16s %-28s %-8s %-7s %10s  %-12s %s\n", "PROJECT", "SERVICE", "CONTAINER",
			   "STATE", "VERSION", "SIZE", "LOCALE", "EXTENSIONS / FROM");
	for (size_t i = 0; i < count; i++)
	{
		HostPostgres *h = &found[i];
		const char *role = strcmp(h->container, cfg.shared_container) == 0 ? "shared" : "dedicated";
		char size[32] = "-";

		/* a stopped dedicated container is what a migration leaves: what
		 * still names it in the stack's files (cheap, bounded) */
		long left = strcmp(role, "dedicated") == 0 && strcmp(h->state, "running") != 0
			? status_refs_left(&cfg, h) : -1;

		if (h->version != NULL)
			stream_format_bytes((uint64_t) h->size_bytes, size, sizeof(size));
		if (json)
		{
			json_t *o = host_json(h, role);

			if (left >= 0)
				json_object_set_new(o, "references_left", json_integer(left));
			json_array_append_new(out, o);
			continue;
		}
		printf("%-16s %-16s %-28s %-8s %-7s %10s  %-12s %s%s\n", dash(h->project), dash(h->service),
			   h->container, h->state, dash(h->version), size, dash(h->locale),
			   strcmp(role, "shared") == 0 ? "(the shared instance) " : "", dash(h->extensions));
		if (h->working_dir != NULL)
			printf("%-16s   from %s: %s\n", "", h->working_dir, dash(h->config_files));
		if (left > 0)
			printf("%-16s   %ld line%s of the stack still name%s it (`pgfold refs %s`)\n", "", left,
				   left == 1 ? "" : "s", left == 1 ? "s" : "", h->container);
	}
	if (rc == EXIT_OK && json)
	{
		json_dumpf(out, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	else if (rc == EXIT_OK)
	{
		PGconn *conn = NULL;
		LogLevel level = log_get_level();

		log_set_level(LOG_FATAL);      /* a footer: an unreachable instance reads "?" */
		if (!pg_connect_shared(&cfg, NULL, &conn))
			conn = NULL;
		log_set_level(level);
		cli_status_savings(NULL, &cfg, docker, list, conn);
		if (conn != NULL)
			PQfinish(conn);
	}
	host_postgres_free(found, count);
	json_decref(out);
	json_decref(list);
	if (docker != NULL)
		docker_disconnect(docker);
	config_free(&cfg);
	return rc;
}

static int
check_names(App *app, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (app_service(app, argv[i], NULL) == NULL)
			return EXIT_USAGE;
	return EXIT_OK;
}

/* The answers of every wanted dedicated database to pre-flight's question,
 * asked all at once (pgx_query_rows_many), instead of one exec after
 * another inside each pre-flight: answer[i] is service i's, or NULL. */
typedef struct SourceAnswers
{
	PgxRowsJob        *jobs;
	size_t             count;
	const PgxRowsJob **answer;
} SourceAnswers;

static void
ask_sources(App *app, int argc, char **argv, SourceAnswers *sa)
{
	size_t n = app->stack.count;
	size_t *service_of = xcalloc(n ? n : 1, sizeof(size_t));

	memset(sa, 0, sizeof(*sa));
	sa->jobs = xcalloc(n ? n : 1, sizeof(PgxRowsJob));
	sa->answer = xcalloc(n ? n : 1, sizeof(PgxRowsJob *));
	/* without the engine, each pre-flight says so */
	for (size_t i = 0; app_engine(app) && i < n; i++)
		if (wanted(argc, argv, app->stack.services[i].name)
			&& preflight_source_job(app, i, &sa->jobs[sa->count]))
			service_of[sa->count++] = i;
	if (sa->count > 0 && pgx_query_rows_many(app->docker, sa->jobs, sa->count))
		for (size_t k = 0; k < sa->count; k++)
			sa->answer[service_of[k]] = &sa->jobs[k];
	free(service_of);
}

static void
source_answers_free(SourceAnswers *sa)
{
	for (size_t k = 0; k < sa->count; k++)
		pg_rows_free(&sa->jobs[k].rows);
	free(sa->jobs);
	free(sa->answer);
}

int
cli_status_main(const GlobalOptions *opts, int argc, char **argv)
{
	/* --json, --help: main takes them wherever they stand */
	bool json = opts->json, every = false;
	OptParser p;
	int id;
	App app;

	opt_init(&p, "status", NULL, OPT_CMD_STATUS, 0, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
		every = every || id == OPT_ALL;
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	argc = p.npos;
	argv = p.pos;
	if (every && argc > 0)
		return cli_usage_error("status", "--all lists every dedicated postgres; give no SERVICE");
	if (every)
		return status_all(opts, json);

	if (!app_open(&app, opts))
	{
		app_close(&app);
		return exit_hint_get();
	}

	int rc = check_names(&app, argc, argv);
	json_t *all = json_array();
	SourceAnswers sa = { 0 };

	if (rc == EXIT_OK)
		ask_sources(&app, argc, argv, &sa);

	if (rc == EXIT_OK && !json && app.stack.count > 0)
		printf("%-20s %-10s %-24s %-20s %10s  %s\n", "SERVICE", "STATE", "CONTAINER",
			   "DATABASE", "SIZE", "REASON");
	for (size_t i = 0; rc == EXIT_OK && i < app.stack.count; i++)
	{
		StackService *svc = &app.stack.services[i];
		PreflightOptions po = { .light = true, .source_answer = sa.answer ? sa.answer[i] : NULL };
		Preflight pf;

		if (!wanted(argc, argv, svc->name))
			continue;
		preflight_run(&app, i, &po, &pf);
		json_t *doc = json ? preflight_json(svc, &pf) : NULL;
		RetireState rs;
		bool retired = pf.state == STATE_MIGRATED && retire_service_state(&app.cfg, svc, &rs);

		if (retired && doc != NULL)
			json_object_set_new(doc, "state", json_string("retired"));
		if (json)
			json_array_append_new(all, doc);
		else
			print_line(svc, &pf, retired ? "retired" : NULL, opts->color);
		if (retired && !json)
			printf("%-20s   retired by run %s: dedicated container and volume removed%s; "
				   "`pgfold rollback %s` recreates them\n", "", rs.run,
				   rs.finished ? "" : " in part (re-run `pgfold retire` to finish)", svc->name);
		if (pf.state == STATE_MIGRATED)
			cli_status_backup(&app, pf.names.db[0] ? pf.names.db : svc->meta_database_name, doc);
		preflight_free(&pf);
	}
	if (rc == EXIT_OK && json)
	{
		json_dumpf(all, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	else if (rc == EXIT_OK && argc == 0)
		cli_status_savings(&app, &app.cfg, app.docker, app.container_list, app.shared);
	if (rc == EXIT_OK && app.engine_tried && app.container_list == NULL)
		rc = EXIT_ENGINE;
	json_decref(all);
	source_answers_free(&sa);
	app_close(&app);
	return rc;
}
