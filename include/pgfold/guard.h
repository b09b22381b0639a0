/*
 * guard.h — what a fold must not carry silently (issue 9, second half):
 *
 *  - the state tables of the common schema-migration runners (guard.c): a
 *    database whose app left a migration half-done (golang-migrate dirty,
 *    Liquibase locked, Flyway failed, Prisma unfinished, Knex locked, sqlx
 *    failed) is not folded without --ignore-migration-state; the last
 *    applied version of every runner found is reported before and after;
 *  - roles other than the app's own that own objects or hold grants in the
 *    source database (roles.c): pg_restore runs --no-owner --no-acl, so
 *    their ownership goes to the service role and their grants vanish;
 *    migrate refuses unless --drop-grants (go on without them) or
 *    --with-roles (carry them as NOLOGIN roles "<db>_<role>").
 *
 * Both are read with one psql call each on the dedicated database (docker
 * exec, as the other pre-flight checks), and the runner tables once more
 * with libpq on the restored copy (a session with a pinned search_path).
 * Every name is quoted by the server (format('%I')); nothing outside is
 * spliced into SQL text.
 */
#ifndef PGFOLD_GUARD_H
#define PGFOLD_GUARD_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgfold/docker.h"
#include "pgfold/str.h"

/* One runner state table found in the database. */
typedef struct RunnerTable
{
	char   *runner;        /* "Flyway", "golang-migrate", ... */
	char   *table;         /* schema-qualified, quoted as SQL: "My App".schema_migrations */
	char   *bare;          /* the table's own name, lower case (which kind) */
	char   *last;          /* last applied row, NULL when none */
	long    applied;       /* rows that count as applied */
	char  **bad;           /* rows that show a half-done migration (at most 5) */
	size_t  bad_count;
	long    bad_total;     /* all of them */
} RunnerTable;

typedef struct RunnerStates
{
	RunnerTable *tables;
	size_t       count;
} RunnerStates;

/* The runner tables of db in container (psql as user) / of the database
 * conn is connected to (the caller pins its search_path). */
bool guard_runners_source(DockerClient *docker, const char *container, const char *user,
						  const char *db, RunnerStates *out);
bool guard_runners_conn(PGconn *conn, RunnerStates *out);
void guard_runners_free(RunnerStates *s);
/* The query's text (tests run it on hostile names). */
const char *guard_runners_sql(void);

/* What a table with bad rows says: "<runner> state table <t>: "<row>"
 * has <condition>: <what it means and what to do>". */
void guard_runner_reason(const RunnerTable *t, StrBuf *out);
/* "<runner> <table>: last applied <row> (<n> applied)" or what else it
 * says when nothing is applied (a lock table: "not locked"). */
void guard_runner_version(const RunnerTable *t, StrBuf *out);

/* s with control bytes shown as \xNN (names and labels come from the
 * database; plan prints check details as they are). */
void guard_append_clean(StrBuf *out, const char *s);

/* One role other than the app's own that owns objects or holds grants. */
typedef struct OtherRole
{
	char   *name;
	char  **owns;          /* "table app.x", pg_describe_object's words */
	size_t  owns_count;
	char  **may;           /* "SELECT, INSERT on table app.x" */
	size_t  may_count;
	char  **policies;      /* "policy p on table app.x" (TO the role) */
	size_t  policy_count;
} OtherRole;

typedef struct OtherRoles
{
	OtherRole *roles;
	size_t     count;
} OtherRoles;

/* Roles of db in container other than own[0..own_count) (the dedicated
 * POSTGRES_USER and the users the apps connect as), predefined roles and
 * PUBLIC, that own objects (extension members excepted) or hold grants. */
bool guard_roles_source(DockerClient *docker, const char *container, const char *user,
						const char *db, const char *const *own, size_t own_count,
						OtherRoles *out);
void guard_roles_free(OtherRoles *r);
const char *guard_roles_sql(void);
/* "role "x" owns table a, schema b; may SELECT on table c (and 4 more)". */
void guard_role_describe(const OtherRole *role, StrBuf *out);

/* --with-roles (carry.c): "<db>_<role>" into out; false when it does not
 * fit PostgreSQL's 63 bytes. */
bool guard_carried_name(const char *db, const char *role, char *out, size_t size);
/* Does role name exist on the shared instance, and was it created by
 * pgfold to carry a role of database db (its comment says so)? */
bool guard_carried_role_state(PGconn *admin, const char *db, const char *name,
							  bool *exists, bool *ours);

#endif
