/*
 * dedicated.c — the dedicated db container during a rollback: brought back
 * with the operator's compose (service file + override, db service only),
 * waited for with pg_isready, and the few statements the data swap needs,
 * run by psql inside it (it has no network). Names travel as psql
 * variables (:"name" / :'name'), never in the SQL text.
 */
#include "rb_internal.h"

#include "pgfold/clock.h"
#include "pgfold/verify.h"
#include "pgfold/composecmd.h"
#include "pgfold/dbprops.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <string.h>
#include <time.h>

/* A stopped cluster with an intact volume starts in seconds; crash
 * recovery of a big one may take a while, a broken one never answers. */
#define READY_TIMEOUT_S 180
#define STOP_TIMEOUT_S  30

static const char drop_sql[] =
	"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	"WHERE datname = :'db' AND pid <> pg_backend_pid();\n"
	"DROP DATABASE IF EXISTS :\"db\";\n";

static const char rename_sql[] =
	"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	"WHERE datname = :'db' AND pid <> pg_backend_pid();\n"
	"ALTER DATABASE :\"db\" RENAME TO :\"to\";\n";

static const char exists_sql[] =
	"SELECT count(*) FROM pg_database WHERE datname = :'db';\n";

char **
rb_compose_argv(Rb *r, bool with_override, const char *const *extra)
{
	const char *files[] = { with_override ? r->override_rel : NULL, NULL };

	return composecmd_argv(r->app, app_invocation(r->app, r->index), files, extra);
}

/* "name=value" for pgx vars; false when it does not fit. */
static bool
var(char *buf, size_t size, const char *name, const char *value)
{
	if (!str_format(buf, size, "%s=%s", name, value))
	{
		log_error("name too long: %s", value);
		return false;
	}
	return true;
}

static bool
sql(Rb *r, const char *text, const char *db, const char *to)
{
	char v1[256], v2[256], v3[256];
	const char *vars[] = { v1, v2, v3, NULL };
	StrBuf out = STRBUF_INIT;
	bool ok;

	if (!var(v1, sizeof(v1), "db", db) || !var(v2, sizeof(v2), "to", to ? to : "")
		|| !var(v3, sizeof(v3), "owner", r->mig.user))
		return false;
	ok = pgx_query(r->app->docker, r->container, r->mig.user, r->maint_db, text, vars, &out);
	sb_free(&out);
	return ok;
}

bool
rb_db_exists(Rb *r, const char *db, bool *exists)
{
	char v1[256];
	const char *vars[] = { v1, NULL };
	PgRows rows = PGROWS_INIT;
	bool ok;

	if (!var(v1, sizeof(v1), "db", db))
		return false;
	ok = pgx_query_rows(r->app->docker, r->container, r->mig.user, r->maint_db, exists_sql,
						vars, 1, &rows) && rows.nrows == 1;
	*exists = ok && strcmp(pg_rows_get(&rows, 0, 0), "0") != 0;
	pg_rows_free(&rows);
	return ok;
}

/* The new database takes the shared database's locale, the one its data
 * was sorted and indexed by (the dedicated one's, carried by migrate): the
 * container must be able to create it, else exit 3 before anything is
 * replaced. */
bool
rb_db_create_tmp(Rb *r)
{
	StrBuf why = STRBUF_INIT;
	bool ok = true;

	if (!r->props.known && !dbprops_read_shared(r->app, r->mig.shared_db, r->mig.role, &r->props))
		return false;
	if (!dbprops_locale_ok_container(r->app->docker, r->container, r->mig.user, r->maint_db,
									 &r->props, &ok, &why))
		ok = false;
	else if (!ok)
	{
		log_error("%s; nothing was replaced", sb_str(&why));
		exit_hint_set(EXIT_BLOCKED);
	}
	sb_free(&why);
	return ok && rb_db_drop(r, r->tmp_db)
		&& dbprops_create_container(r->app->docker, r->container, r->mig.user, r->maint_db,
									r->tmp_db, r->mig.user, &r->props);
}

/* The shared database's settings and comment, and its role's settings for
 * POSTGRES_USER in the restored database; then ANALYZE. */
bool
rb_db_finish_tmp(Rb *r)
{
	StrBuf out = STRBUF_INIT;
	double a;
	bool ok = dbprops_apply_container(r->app->docker, r->container, r->mig.user, r->maint_db,
									  r->tmp_db, r->mig.user, &r->props);

	a = clock_now();
	ok = ok && pgx_query(r->app->docker, r->container, r->mig.user, r->tmp_db, "ANALYZE;\n",
						 NULL, &out);
	if (ok)
		log_notice("analyzed \"%s\" in %s in %.1f s", r->tmp_db, r->mig.container,
				   clock_now() - a);
	sb_free(&out);
	return ok;
}

/*
 * pg_dump 15 and later write the public schema as an ordinary schema
 * (CREATE SCHEMA public), which an older server already has in a new
 * database: pg_restore --exit-on-error would stop there. The temporary
 * database is empty, so its public schema goes and the dump brings it.
 */
bool
rb_db_fit_for(Rb *r, int source_version)
{
	int target = 0;
	StrBuf out = STRBUF_INIT;
	bool ok;

	if (source_version < 150000)
		return true;
	if (!pgx_server_version_num(r->app->docker, r->container, r->mig.user, &target))
		return false;
	if (target >= 150000)
		return true;
	log_info("the dump comes from PostgreSQL %d, %s runs %d: \"%s\" starts without a public "
			 "schema (the dump creates it)", source_version / 10000, r->mig.container,
			 target / 10000, r->tmp_db);
	ok = pgx_query(r->app->docker, r->container, r->mig.user, r->tmp_db,
				   "DROP SCHEMA public;\n", NULL, &out);
	sb_free(&out);
	return ok;
}

bool
rb_db_drop(Rb *r, const char *db)
{
	return sql(r, drop_sql, db, NULL);
}

bool
rb_db_rename(Rb *r, const char *from, const char *to)
{
	if (!sql(r, rename_sql, from, to))
		return false;
	log_info("renamed \"%s\" to \"%s\" in %s", from, to, r->mig.container);
	return true;
}

bool
rb_db_inventory(Rb *r, const char *db, bool deep, Inventory *inv)
{
	return verify_container_inventory(r->app, r->container, r->mig.user, db, deep, inv);
}

/* The container compose started for the db service: by its compose labels
 * (project + service), else by the name the migration recorded. */
static bool
find_container(Rb *r, bool *running)
{
	char lp[512], ls[512];
	const char *labels[] = { lp, ls, NULL };
	DockerFilter f = { .labels = labels, .all = true };
	json_t *list = NULL, *c, *inspect = NULL;
	size_t i;
	bool found = false;

	*running = false;
	str_format(lp, sizeof(lp), "com.docker.compose.project=%s", r->mig.project);
	str_format(ls, sizeof(ls), "com.docker.compose.service=%s", r->db_key);
	if (docker_list_containers(r->app->docker, &f, &list))
	{
		json_array_foreach(list, i, c)
		{
			/* by name: messages and exec labels say what the operator knows */
			const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
			const char *state = json_string_value(json_object_get(c, "State"));
			bool up = state != NULL && strcmp(state, "running") == 0;

			if (name != NULL && (!found || (up && !*running)))
			{
				str_copy(r->container, sizeof(r->container), name[0] == '/' ? name + 1 : name);
				*running = up;
				found = true;
			}
		}
	}
	json_decref(list);
	if (found)
		return true;
	if (!docker_inspect_container(r->app->docker, r->mig.container, &inspect, &found) || !found)
	{
		json_decref(inspect);
		return false;
	}
	str_copy(r->container, sizeof(r->container), r->mig.container);
	*running = docker_inspect_running(inspect);
	json_decref(inspect);
	return true;
}

/*
 * compose up -d --no-deps <db service> with the override (its block is the
 * original one): the stopped container starts on its old volume. After the
 * files step the override is gone and the service file is the original:
 * then the file alone says the same.
 */
bool
rb_db_up(Rb *r)
{
	bool running = false, with_override = !rb_step_done(r, RB_STEP_FILES);
	const char *up[] = { "up", "-d", "--no-deps", r->db_key, NULL };
	char **argv;
	bool ok;

	if (find_container(r, &running) && running)
		log_info("%s is already running", r->mig.container);
	else
	{
		argv = rb_compose_argv(r, with_override, up);
		log_notice("starting %s (compose service %s)", r->mig.container, r->db_key);
		ok = composecmd_run(argv, "compose up of the db service");
		composecmd_argv_free(argv);
		if (!ok)
			return false;
		r->started_db = true;
		if (!find_container(r, &running))
		{
			log_error("compose started the db service %s but no container of project %s "
					  "runs it", r->db_key, r->mig.project);
			return false;
		}
	}
	return pgx_wait_ready(r->app->docker, r->container, r->mig.user, r->maint_db,
						  READY_TIMEOUT_S) && rb_retired_wait_init(r);
}

bool
rb_db_stop(Rb *r)
{
	if (r->container[0] == '\0')
		return true;
	log_notice("stopping %s again (its volume is kept)", r->mig.container);
	return docker_stop_container(r->app->docker, r->container, STOP_TIMEOUT_S);
}
