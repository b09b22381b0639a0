/*
 * dbprops.h — what belongs to a database rather than to its rows, which
 * pg_dump of one database into an existing one does not carry: its locale
 * (encoding, LC_COLLATE, LC_CTYPE, locale provider, ICU/builtin locale),
 * its settings (ALTER DATABASE … SET), its comment and connection limit,
 * and the settings of the role the apps log in as (ALTER ROLE … SET,
 * global and IN DATABASE).
 *
 * One implementation for every way pgfold creates a database from another
 * one: migrate and `db migrate-from` (dedicated container → shared
 * instance), `db restore` (the database it replaces → its new copy) and
 * rollback (shared instance → dedicated container). The same query reads
 * both sides (psql in a container, libpq on the shared instance), the
 * same code creates the database with the source's locale and applies the
 * rest, and the same items go into the verification's inventory, so a
 * property that did not arrive is a difference (exit 6) like a missing row.
 *
 * Role settings are applied to the target role scoped IN DATABASE <target
 * db>: on a shared instance a role-wide setting would follow the role into
 * every database, and the role's settings compared are the ones a session
 * of it in that database receives (global, overridden by IN DATABASE).
 */
#ifndef PGFOLD_DBPROPS_H
#define PGFOLD_DBPROPS_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/app.h"
#include "pgfold/pg.h"
#include "pgfold/verify.h"

typedef struct DbSetting
{
	char *name;     /* as pg_db_role_setting stores it (e.g. "work_mem") */
	char *value;    /* the flattened value after '=' */
} DbSetting;

typedef struct DbProps
{
	bool       known;
	char      *encoding;
	char      *collate;
	char      *ctype;
	char       provider;        /* 'c' libc, 'i' ICU, 'b' builtin (17) */
	char      *locale;          /* ICU or builtin locale, "" for libc */
	char      *icu_rules;       /* ICU tailoring rules (16), "" none */
	char      *coll_version;    /* datcollversion (15+) or the libc collation's
							     * actual version; "" when none (C, POSIX) */
	char      *comment;         /* NULL: none */
	bool       allow_connections;
	int        connection_limit;   /* -1: none */
	DbSetting *db_settings;     /* ALTER DATABASE … SET, sorted by name */
	size_t     db_setting_count;
	DbSetting *role_settings;   /* the role's, global merged with IN DATABASE */
	size_t     role_setting_count;
	DbSetting *scoped;          /* private: IN DATABASE rows until settled */
	size_t     scoped_count;
} DbProps;

#define DBPROPS_INIT { 0 }

/* ---- reading (dbprops.c) ------------------------------------------------- */

/* db in container, asked as user (whose settings are the role's). */
bool dbprops_read_container(DockerClient *docker, const char *container, const char *user,
							const char *db, DbProps *out);
/* db on the shared instance; role's settings (role NULL: none read). */
bool dbprops_read_shared(App *app, const char *db, const char *role, DbProps *out);
void dbprops_free(DbProps *p);

/* One row of the query (kind, scope, value) into p (pure; tests). */
void dbprops_add_row(DbProps *p, const char *kind, const char *scope, const char *value);
/* Sort and merge the role's settings (IN DATABASE over global) (pure). */
void dbprops_settle(DbProps *p);

/* "provider locale" as an operator reads it: `libc "C"/"C"`,
 * `icu "de-DE"`, `builtin "C.UTF-8"` (appended to out). */
void dbprops_describe_locale(const DbProps *p, StrBuf *out);

/* ---- one setting's value (dbprops.c) ------------------------------------- */

/* The elements of a setting's flattened value: one, or for the list
 * settings whose elements are quoted (search_path, temp_tablespaces,
 * *_preload_libraries) each element, as pg_dump splits them (pure).
 * Caller frees each and the array. */
bool dbprops_setting_values(const char *name, const char *value, char ***out, size_t *count);
void dbprops_values_free(char **values, size_t count);

/* ---- the shared instance (dbprops.c) ------------------------------------- */

/* CREATE DATABASE db OWNER owner TEMPLATE template0 with p's encoding and
 * locale (p NULL or unknown: server defaults); owner NULL: the admin. */
bool dbprops_create_shared(PGconn *admin, const char *db, const char *owner, const DbProps *p);
/* The statement, for plan (appended). */
bool dbprops_create_sql(PGconn *conn, const char *db, const char *owner, const DbProps *p,
						StrBuf *out);
/* Database settings, comment, connection limit; role's settings scoped IN
 * DATABASE db (role NULL: skipped). One statement each, libpq-quoted. */
bool dbprops_apply_shared(PGconn *admin, const char *db, const char *role, const DbProps *p);
/* The statements, for plan (appended). */
bool dbprops_apply_sql(PGconn *conn, const char *db, const char *role, const DbProps *p,
					   StrBuf *out);

/* ---- a dedicated container (dbprops_psql.c) ------------------------------ */

/* The same, by psql in container as user connected to maint_db; every name
 * and value a psql variable. */
bool dbprops_create_container(DockerClient *docker, const char *container, const char *user,
							  const char *maint_db, const char *db, const char *owner,
							  const DbProps *p);
bool dbprops_apply_container(DockerClient *docker, const char *container, const char *user,
							 const char *maint_db, const char *db, const char *role,
							 const DbProps *p);

/* ---- checks (dbprops_check.c) -------------------------------------------- */

/* Can the server create a database with p's locale? Asked by creating a
 * collation with it in a transaction that is rolled back (libc: the
 * operating system's locale must exist; ICU: the server must be built with
 * it; builtin: 17+). *why receives the reason and the fix when it cannot. */
bool dbprops_locale_ok_shared(PGconn *conn, const DbProps *p, const char *where,
							  bool *ok, StrBuf *why);
bool dbprops_locale_ok_container(DockerClient *docker, const char *container,
								 const char *user, const char *maint_db, const DbProps *p,
								 bool *ok, StrBuf *why);
/* A setting pgfold refuses to carry (it loads code into every session):
 * its name, else NULL. */
const char *dbprops_refused_setting(const DbProps *p);

/* Different collation versions on the two sides: a warning that names the
 * indexes on text columns of db (conn connected to it) to REINDEX. */
void dbprops_warn_collation(PGconn *conn, const char *db, const DbProps *src,
							const DbProps *dst);

/* ANALYZE db as role (NULL: the admin), with a pinned search_path; the
 * time it took into *seconds. */
bool dbprops_analyze(const Config *cfg, const char *db, const char *role, double *seconds);

/* ---- verification (dbprops.c) -------------------------------------------- */

/* p as inventory items (kind "database", "database setting", "role
 * setting"); the collation version is reported, not compared. */
void dbprops_inventory(const DbProps *p, Inventory *inv);

#endif
