/*
 * checks.c — what `pgfold rename` checks before it changes anything: one
 * clear line per problem, exit 2 for bad input, 3 when something on the
 * instance blocks it.
 */
#include "ren_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/log.h"
#include "pgfold/naming.h"
#include "pgfold/pg.h"

#include <stdio.h>
#include <string.h>

/* One line, the exit code, false. */
#define REFUSE(code, ...) (log_error(__VA_ARGS__), exit_hint_set(code), false)

/* May the connected admin rename OLD: owner (or member of the owner) or
 * superuser, and CREATEDB (what ALTER DATABASE RENAME requires). */
static bool
check_privilege(Ren *r)
{
	static const char sql[] =
		"SELECT pg_get_userbyid(d.datdba), "
		"  (SELECT rolsuper OR (rolcreatedb AND pg_has_role(current_user, d.datdba, 'MEMBER')) "
		"   FROM pg_roles WHERE rolname = current_user)::text "
		"FROM pg_database d WHERE d.datname = $1";
	const char *p[1] = { r->o->from };
	PGresult *res = NULL;
	bool ok = pg_query(r->app->shared, "check who may rename the database", sql, 1, p, &res);

	if (ok && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "true") != 0)
	{
		log_error("cannot rename \"%s\": must be owner of database \"%s\" (owner: %s) and have "
				  "CREATEDB; set PG_USER to a superuser, or run GRANT \"%s\" TO \"%s\" and ALTER "
				  "ROLE \"%s\" CREATEDB as a superuser", r->o->from, r->o->from, PQgetvalue(res, 0, 0),
				  PQgetvalue(res, 0, 0), r->app->cfg.pg_user, r->app->cfg.pg_user);
		exit_hint_set(EXIT_BLOCKED);
		ok = false;
	}
	PQclear(res);
	return ok;
}

/* The sessions on OLD other than ours: listed; refused without --terminate. */
static bool
check_sessions(Ren *r)
{
	static const char sql[] =
		"SELECT pid::text, coalesce(usename, ''), coalesce(client_addr::text, 'local'), "
		"  coalesce(application_name, ''), coalesce(state, '') "
		"FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY pid";
	const char *p[1] = { r->o->from };
	PGresult *res = NULL;
	int n;

	if (!pg_query(r->app->shared, "list the sessions on the database", sql, 1, p, &res))
		return false;
	n = PQntuples(res);
	r->sessions = n;
	for (int i = 0; i < n; i++)
		sb_appendf(&r->session_lines, "  session   pid %s, user %s, from %s%s%s, %s\n",
				   PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
				   PQgetvalue(res, i, 3)[0] ? ", app " : "", PQgetvalue(res, i, 3),
				   PQgetvalue(res, i, 4));
	PQclear(res);
	if (n > 0 && !r->o->terminate && !r->o->dry_run)
	{
		char count[32];

		if (!r->o->json)
			fputs(sb_str(&r->session_lines), stdout);
		snprintf(count, sizeof(count), "%d", n);
		return REFUSE(EXIT_BLOCKED, "\"%s\" has %s session(s) (listed above): stop its apps, "
					  "or pass --terminate to end them", r->o->from, count);
	}
	return true;
}

bool
ren_check(Ren *r)
{
	const RenameOptions *o = r->o;
	char why[256];
	bool exists = false;
	PGconn *c = r->app->shared;

	if (!naming_valid(o->to, r->app->cfg.pg_user, why, sizeof(why)))
		return REFUSE(EXIT_USAGE, "NEW \"%s\" %s", o->to, why);
	if (strcmp(o->from, o->to) == 0)
		return REFUSE(EXIT_USAGE, "OLD and NEW are both \"%s\"%s", o->from, "");
	if (instance_db_is_system(o->from) || naming_reserved(o->from, r->app->cfg.pg_user))
		return REFUSE(EXIT_USAGE, "\"%s\" is a system database%s; it is not renamed", o->from, "");
	if (!pg_database_exists(c, o->from, &exists))
		return false;
	if (!exists)
		return REFUSE(EXIT_USAGE, "no database \"%s\" on the shared instance%s (`pgfold db list` "
					  "lists them)", o->from, "");
	if (!pg_database_exists(c, o->to, &exists))
		return false;
	if (exists)
		return REFUSE(EXIT_USAGE, "a database \"%s\" exists already on the shared instance%s; "
					  "pick another NEW", o->to, "");
	if (o->role)
	{
		if (!pg_role_exists(c, o->from, &exists))
			return false;
		if (!exists)
			return REFUSE(EXIT_USAGE, "--role: no role \"%s\" on the shared instance%s", o->from, "");
		if (!pg_role_exists(c, o->to, &exists))
			return false;
		if (exists)
			return REFUSE(EXIT_USAGE, "--role: a role \"%s\" exists already%s; pick another NEW",
						  o->to, "");
	}
	else
	{
		if (!pg_role_exists(c, o->to, &exists))
			return false;
		if (exists)
			return REFUSE(EXIT_USAGE, "a role \"%s\" exists already: NEW must be free as a "
						  "database and as a role%s", o->to, "");
	}
	return check_privilege(r) && check_sessions(r);
}
