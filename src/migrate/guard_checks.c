/*
 * guard_checks.c — the checks of guard.h in the pre-flight ("migration
 * state", "other roles"), and what migrate does with them: the runners'
 * state read again once the apps are stopped (an app stopped while it
 * migrated leaves exactly the state the guard is for), their versions on
 * the restored copy after verification, and the summary's warnings.
 */
#include "run_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/guard.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdio.h>
#include <string.h>

#define RUNNERS_KNOWN "golang-migrate, Liquibase, Flyway, Prisma, Knex, sqlx or Alembic"

static void
check_runners(Preflight *pf, App *app, const StackService *svc, const PreflightOptions *opts)
{
	CheckLevel dirty = opts->ignore_migration_state ? CHECK_WARN : CHECK_BLOCK;

	pf->runners_known = guard_runners_source(app->docker, pf->db_container->id, svc->db_user,
											 svc->db_name, &pf->runners);
	if (!pf->runners_known)
	{
		preflight_add(pf, "migration state", dirty, "the state tables of the migration runners "
					  "in \"%s\" could not be read (see above): re-run, or go on without this "
					  "check with --ignore-migration-state", svc->db_name);
		return;
	}
	if (pf->runners.count == 0)
		preflight_add(pf, "migration state", CHECK_OK, "no state table of " RUNNERS_KNOWN
					  " in \"%s\"", svc->db_name);
	for (size_t i = 0; i < pf->runners.count; i++)
	{
		const RunnerTable *t = &pf->runners.tables[i];
		StrBuf line = STRBUF_INIT;

		if (t->bad_count > 0)
		{
			guard_runner_reason(t, &line);
			sb_appends(&line, opts->ignore_migration_state
					   ? " (--ignore-migration-state: folded as it is)"
					   : "; then re-run, or fold it as it is with --ignore-migration-state");
			preflight_add(pf, "migration state", dirty, "%s", sb_str(&line));
		}
		else
		{
			guard_runner_version(t, &line);
			preflight_add(pf, "migration state", CHECK_OK, "%s", sb_str(&line));
		}
		sb_free(&line);
	}
}

/* The dedicated POSTGRES_USER and every user the apps connect as: what
 * they own becomes the service role's, as it always did. */
static size_t
own_roles(const StackService *svc, const char **own, size_t size)
{
	size_t n = 0;

	if (svc->db_user != NULL && n < size)
		own[n++] = svc->db_user;
	for (size_t i = 0; i < svc->conn_count && n < size; i++)
		if (svc->conns[i].values.user != NULL)
			own[n++] = svc->conns[i].values.user;
	return n;
}

/* pg_restore recreates a policy naming the role whatever --no-acl says:
 * on the shared instance that fails the restore, or worse names another
 * service's role of that name. Neither option helps: fix it at the source. */
static void
check_policies(Preflight *pf, const OtherRole *role)
{
	StrBuf d = STRBUF_INIT, list = STRBUF_INIT;

	for (size_t i = 0; i < role->policy_count; i++)
	{
		sb_appends(&list, i ? ", " : "");
		guard_append_clean(&list, role->policies[i]);
	}
	preflight_add(pf, "other roles", CHECK_BLOCK, "role %s is named by %s: pg_restore recreates "
				  "a policy by role name, so on the shared instance it would fail or name another "
				  "service's role of that name: point it at the app's own role or PUBLIC (ALTER "
				  "POLICY ... TO ...) or drop it in the dedicated database, then re-run",
				  pg_display(&d, role->name), sb_str(&list));
	sb_free(&d);
	sb_free(&list);
}

/* --with-roles: "<db>_<role>" must fit and be free (or pgfold's own, left
 * by an interrupted run). */
static void
check_carried(Preflight *pf, App *app, const char *role, const char *line)
{
	char name[128];
	StrBuf d = STRBUF_INIT;
	bool exists = false, ours = false;

	if (!guard_carried_name(pf->names.db, role, name, sizeof(name)))
	{
		preflight_add(pf, "other roles", CHECK_BLOCK, "%s: \"%s_%s\" is longer than "
					  "PostgreSQL's 63 bytes: give the database a shorter name with --db, or go "
					  "on with --drop-grants", line, pf->names.db, role);
		return;
	}
	pg_display(&d, name);
	if (app_shared(app) && guard_carried_role_state(app->shared, pf->names.db, name, &exists,
													&ours)
		&& exists && !ours)
		preflight_add(pf, "other roles", CHECK_BLOCK, "%s: role %s already exists on the shared "
					  "instance and pgfold did not create it: drop or rename it, or go on with "
					  "--drop-grants", line, sb_str(&d));
	else
		preflight_add(pf, "other roles", CHECK_OK, "%s: carried as NOLOGIN role %s "
					  "(--with-roles) with its ownership, grants and default privileges; \"%s\" "
					  "becomes a member of it%s", line, sb_str(&d), pf->names.role,
					  exists ? " (left by an interrupted run: reused)" : "");
	sb_free(&d);
}

static void
check_roles(Preflight *pf, App *app, const StackService *svc, const PreflightOptions *opts)
{
	const char *own[16];
	size_t n = own_roles(svc, own, sizeof(own) / sizeof(own[0]));

	pf->roles_known = guard_roles_source(app->docker, pf->db_container->id, svc->db_user,
										 svc->db_name, own, n, &pf->roles);
	if (!pf->roles_known)
	{
		preflight_add(pf, "other roles", CHECK_BLOCK, "the owners and grants in \"%s\" could "
					  "not be read (see above): re-run", svc->db_name);
		return;
	}
	if (pf->roles.count == 0)
		preflight_add(pf, "other roles", CHECK_OK, "no other role than the app's owns objects "
					  "or holds grants in \"%s\"", svc->db_name);
	for (size_t i = 0; i < pf->roles.count; i++)
	{
		StrBuf line = STRBUF_INIT;

		guard_role_describe(&pf->roles.roles[i], &line);
		if (pf->roles.roles[i].policy_count > 0)
			check_policies(pf, &pf->roles.roles[i]);
		if (opts->with_roles)
			check_carried(pf, app, pf->roles.roles[i].name, sb_str(&line));
		else if (opts->drop_grants)
			preflight_add(pf, "other roles", CHECK_WARN, "%s: not carried (--drop-grants): "
						  "what it owns goes to \"%s\", its grants are dropped", sb_str(&line),
						  pf->names.role);
		else
		{
			char carried[128];
			StrBuf c = STRBUF_INIT;

			str_format(carried, sizeof(carried), "%s_%s", pf->names.db,
					   pf->roles.roles[i].name);
			preflight_add(pf, "other roles", CHECK_BLOCK, "%s: the restore keeps neither "
						  "other owners nor grants, so this would be lost: go on without them "
						  "with --drop-grants (what it owns goes to \"%s\"), or carry them with "
						  "--with-roles (as NOLOGIN role %s)", sb_str(&line), pf->names.role,
						  pg_display(&c, carried));
			sb_free(&c);
		}
		sb_free(&line);
	}
}

void
preflight_check_guard(Preflight *pf, App *app, const StackService *svc,
					  const PreflightOptions *opts)
{
	check_runners(pf, app, svc, opts);
	check_roles(pf, app, svc, opts);
}

/* ---- migrate ----------------------------------------------------------- */

static void
log_versions(const RunnerStates *s, const char *when)
{
	for (size_t i = 0; i < s->count; i++)
	{
		StrBuf line = STRBUF_INIT;

		guard_runner_version(&s->tables[i], &line);
		log_notice("migration state %s: %s", when, sb_str(&line));
		sb_free(&line);
	}
}

void
guard_log_before(Run *r)
{
	log_versions(&r->pf.runners, "before the fold");
}

/* Read again with the apps stopped: a migration cut off by the stop, or
 * one that ran since the pre-flight, shows now. */
bool
step_migration_state(Run *r)
{
	RunnerStates now;
	bool ok = true;

	if (!guard_runners_source(r->app->docker, r->db_container_name, r->svc->db_user,
							  r->svc->db_name, &now))
	{
		if (!r->opts->ignore_migration_state)
		{
			log_error("the migration runners' state tables in %s could not be read again with "
					  "the apps stopped (see above); nothing was restored, the apps start again",
					  r->db_container_name);
			exit_hint_set(EXIT_BLOCKED);
			return false;
		}
		return true;
	}
	for (size_t i = 0; i < now.count; i++)
	{
		StrBuf line = STRBUF_INIT;

		if (now.tables[i].bad_count == 0)
			continue;
		guard_runner_reason(&now.tables[i], &line);
		if (r->opts->ignore_migration_state)
			log_warn("with the apps stopped: %s (--ignore-migration-state: folded as it is)",
					 sb_str(&line));
		else
		{
			log_error("with the apps stopped, %s; then re-run (or fold it as it is with "
					  "--ignore-migration-state). Nothing was restored; the apps start again",
					  sb_str(&line));
			exit_hint_set(EXIT_BLOCKED);
			ok = false;
		}
		sb_free(&line);
	}
	if (ok)
	{
		guard_runners_free(&r->pf.runners);
		r->pf.runners = now;
	}
	else
		guard_runners_free(&now);
	return ok;
}

/* The versions as the restored copy holds them (the admin reads it with
 * search_path pinned, as for the hand-over). Informational: a failure to
 * read them is a warning, the verification already compared every row. */
bool
step_migration_state_after(Run *r)
{
	static const char pin[] =
		"SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)";
	PGconn *conn = NULL;
	RunnerStates after;

	if (r->pf.runners.count == 0)
		return true;
	if (pg_connect_shared(&r->app->cfg, r->names.tmp_db, &conn) && pg_exec(conn, "pin the "
																		   "search path", pin)
		&& guard_runners_conn(conn, &after))
	{
		log_versions(&after, "on the shared copy");
		guard_runners_free(&after);
	}
	else
		log_warn("could not read the migration state of \"%s\" (see above)", r->names.tmp_db);
	pg_disconnect(conn);
	return true;
}

void
guard_summary(const Run *r)
{
	const Preflight *pf = &r->pf;

	for (size_t i = 0; r->opts->ignore_migration_state && i < pf->runners.count; i++)
	{
		StrBuf line = STRBUF_INIT;

		if (pf->runners.tables[i].bad_count == 0)
			continue;
		guard_runner_reason(&pf->runners.tables[i], &line);
		printf("  warning   folded with a half-done migration (--ignore-migration-state): %s\n",
			   sb_str(&line));
		sb_free(&line);
	}
	if (r->opts->ignore_migration_state && !pf->runners_known)
		printf("  warning   the migration state was not checked (--ignore-migration-state)\n");
	for (size_t i = 0; r->opts->with_roles && i < pf->roles.count; i++)
	{
		StrBuf line = STRBUF_INIT, d = STRBUF_INIT;
		char name[128];

		if (!guard_carried_name(r->names.db, pf->roles.roles[i].name, name, sizeof(name)))
			continue;
		guard_role_describe(&pf->roles.roles[i], &line);
		printf("  carried   %s as NOLOGIN role %s\n", sb_str(&line), pg_display(&d, name));
		sb_free(&line);
		sb_free(&d);
	}
	for (size_t i = 0; r->opts->drop_grants && i < pf->roles.count; i++)
	{
		StrBuf line = STRBUF_INIT;

		guard_role_describe(&pf->roles.roles[i], &line);
		printf("  warning   not carried (--drop-grants): %s\n", sb_str(&line));
		sb_free(&line);
	}
}
