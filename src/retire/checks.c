/*
 * checks.c — why a fold may not be retired yet, each said in one line
 * (exit 3) before anything is removed: the fold's age, the service role's
 * own sessions on the shared database since the cut-over, the dedicated
 * container (stopped, found by the name the migration recorded) and the
 * volume(s) at its data directory (found from its mounts, never by name;
 * used by no other container), rollback's inputs, and a restore-tested
 * backup newer than the cut-over.
 */
#include "rt_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool
rt_refuse(Rt *t, const char *fmt, ...)
{
	char reason[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_error("%s cannot be retired: %s; nothing was removed", t->svc->name, reason);
	exit_hint_set(EXIT_BLOCKED);
	return false;
}

void
rt_format_age(long long s, char *out, size_t size)
{
	if (s >= 86400)
		str_format(out, size, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		str_format(out, size, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		str_format(out, size, "%lldm", s / 60);
	else
		str_format(out, size, "%llds", s < 0 ? 0 : s);
}

static void
utc(time_t when, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
}

/* When the apps moved: the cut-over's record, else the run's completion. */
static bool
cutover(Rt *t)
{
	const char *steps[] = { MIG_STEP_CUTOVER, MIG_STEP_APPLY, JOURNAL_STEP_COMPLETE };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
	{
		json_t *rec = journal_step_done(&t->journal, t->mig->run, steps[i]);

		if (rec != NULL && rt_parse_ts(json_string_value(json_object_get(rec, "ts")),
									   &t->cutover))
			return true;
	}
	return rt_refuse(t, "the journal %s has no time for the cut-over of migration %s; inspect it",
				  t->journal.path, t->mig->run);
}

static bool
check_age(Rt *t)
{
	long long age = (long long) difftime(time(NULL), t->cutover);
	char have[32], want[32], at[40], after[40];

	if (age >= t->opts->min_age)
		return true;
	rt_format_age(age, have, sizeof(have));
	rt_format_age(t->opts->min_age, want, sizeof(want));
	utc(t->cutover, at, sizeof(at));
	utc(t->cutover + (time_t) t->opts->min_age, after, sizeof(after));
	return rt_refuse(t, "the fold is only %s old (cut-over %s), --min-age is %s: retire after %s, "
				  "or give a shorter --min-age", have, at, want, after);
}

static const char sessions_sql[] =
	"SELECT count(*)::text,\n"
	"  coalesce(string_agg(DISTINCT coalesce(nullif(application_name, ''), 'no name'), ', '), ''),\n"
	"  coalesce(to_char(min(backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '')\n"
	"FROM pg_stat_activity\n"
	"WHERE usename = $1 AND datname = $2 AND coalesce(application_name, '') <> '"
	PG_APPLICATION_NAME "'\n"
	"  AND backend_start >= to_timestamp($3::double precision)";

/* The role's own sessions, begun after the cut-over, seen by the server. */
static bool
check_sessions(Rt *t)
{
	char since[32];
	const char *params[] = { t->mig->role.role, t->mig->db, since };
	PGresult *res = NULL;
	bool seen = false;

	str_format(since, sizeof(since), "%lld", (long long) t->cutover);
	if (!app_shared(t->app))
	{
		exit_hint_set(EXIT_SHARED);
		return false;
	}
	if (!pg_query(t->app->shared, "the service role's sessions", sessions_sql, 3, params, &res))
		return false;
	seen = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	if (seen)
		str_format(t->evidence, sizeof(t->evidence), "%s session(s) of \"%s\" on \"%s\" (%s), "
				   "the first since %s UTC", PQgetvalue(res, 0, 0), t->mig->role.role, t->mig->db,
				   PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	PQclear(res);
	if (seen)
		return true;
	return rt_refuse(t, "role \"%s\" has no session on \"%s\" that began after the cut-over "
				  "(pg_stat_activity): start its apps and check that they work, then retire",
				  t->mig->role.role, t->mig->db);
}

/* Mounted at the data directory or above it (a volume at /var/lib/postgresql
 * holds PGDATA /var/lib/postgresql/data). */
static bool
holds(const char *dest, const char *data_dir)
{
	size_t n = strlen(dest);

	return strcmp(dest, data_dir) == 0
		|| (n > 1 && strncmp(dest, data_dir, n) == 0 && data_dir[n] == '/');
}

static void
volumes_of(Rt *t, json_t *inspect)
{
	json_t *m;
	size_t i;

	t->volumes = json_array();
	t->binds = 0;
	json_array_foreach(json_object_get(inspect, "Mounts"), i, m)
	{
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *dest = json_string_value(json_object_get(m, "Destination"));
		const char *name = json_string_value(json_object_get(m, "Name"));

		if (type == NULL || dest == NULL || !holds(dest, t->data_dir))
			continue;
		if (strcmp(type, "volume") == 0 && name != NULL && name[0] != '\0')
			json_array_append_new(t->volumes, json_pack("{s:s, s:s, s:I}", "name", name,
														 "destination", dest, "bytes",
														 (json_int_t) -1));
		else if (strcmp(type, "bind") == 0)
			t->binds++;
	}
}

static bool
check_container(Rt *t)
{
	json_t *inspect = NULL;
	bool found = false;
	const char *id, *pgdata;

	if (!app_engine(t->app))
		return false;
	str_copy(t->container, sizeof(t->container), t->mig->role.source_container);
	if (!docker_inspect_container(t->app->docker, t->container, &inspect, &found))
		return false;
	if (!found)
		return rt_refuse(t, "no container %s: the dedicated container the fold stopped is gone, "
					  "so its volumes cannot be found from its mounts", t->container);
	if (docker_inspect_running(inspect))
	{
		json_decref(inspect);
		return rt_refuse(t, "%s is running: stop it first (`docker stop %s`); retire removes only "
					  "the stopped dedicated container", t->container, t->container);
	}
	id = json_string_value(json_object_get(inspect, "Id"));
	pgdata = docker_inspect_env(inspect, "PGDATA");
	str_copy(t->id, sizeof(t->id), id ? id : t->container);
	str_copy(t->data_dir, sizeof(t->data_dir), pgdata && pgdata[0] ? pgdata : RT_DEFAULT_PGDATA);
	volumes_of(t, inspect);
	json_decref(inspect);
	return true;
}

static bool
check_volumes(Rt *t)
{
	json_t *v;
	size_t i;
	char users[512];

	json_array_foreach(t->volumes, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));

		if (!rt_volume_users(t, name, users, sizeof(users)))
			return false;
		if (users[0] != '\0')
			return rt_refuse(t, "volume %s (at %s in %s) is also mounted by %s: retire removes a "
						  "volume only when the dedicated container alone uses it", name,
						  t->data_dir, t->container, users);
	}
	return true;
}

/* The service file was folded and its apps run on the shared instance. */
static bool
check_live(Rt *t)
{
	const char *rb = journal_latest_run(&t->journal, JOURNAL_ROLLBACK);

	if (!t->mig->complete || !t->mig->applied || t->mig->aborted)
		return rt_refuse(t, "migration %s is not complete and live", t->mig->run);
	/* a rollback under way starts the dedicated container again: finish
	 * (or let it undo) first */
	if (rb != NULL && !journal_run_complete(&t->journal, rb)
		&& journal_step(&t->journal, rb, JOURNAL_STEP_ABORT) == NULL)
		return rt_refuse(t, "rollback run %s is unfinished: finish it first (`pgfold rollback "
						 "%s`)", rb, t->svc->name);
	if (t->mig->role.role[0] == '\0' || t->mig->db[0] == '\0'
		|| t->mig->role.source_container[0] == '\0')
		return rt_refuse(t, "the journal %s lacks the names of migration %s; inspect it",
					  t->journal.path, t->mig->run);
	return true;
}

bool
rt_checks(Rt *t)
{
	return check_live(t) && cutover(t) && check_age(t) && check_container(t)
		&& check_volumes(t) && rt_rollback_inputs(t) && check_sessions(t) && rt_find_backup(t);
}

bool
rt_backup(Rt *t)
{
	if (t->backup[0] != '\0' || rt_take_backup(t))
		return true;
	return rt_refuse(t, "no restore-tested backup of \"%s\" newer than the cut-over, and taking "
				  "one failed (see above): fix that, or run `pgfold backup %s` and "
				  "`pgfold backups test --latest`", t->mig->db, t->mig->db);
}
