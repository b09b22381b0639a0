/*
 * pg.h — PostgreSQL: libpq on the shared instance, psql inside containers.
 *
 * Two ways to reach a server:
 *
 *  - The shared instance is reached with libpq (pg_connect_shared). The
 *    admin password is passed to PQconnectdbParams in-process only; it never
 *    goes into argv, the environment or a log line.
 *
 *  - The dedicated containers run with `network_mode: none`: they are only
 *    reachable by exec. pgx_query runs psql inside the container with the
 *    SQL on stdin and names passed as psql variables (`-v name=value`,
 *    referenced as :"name" for identifiers and :'name' for literals, quoted
 *    by psql with libpq's escaping). Nothing is ever interpolated by a shell
 *    or by us.
 *    pgx_query_rows_many (status's questions) takes a shortcut where it
 *    can: the server's own Unix socket reached from the host through the
 *    container's /proc/<pid>/root (local.c), same user, database and SQL,
 *    same fields; the exec for the rest.
 *
 * psql output format (decision): unaligned, tuples only, with a NUL byte
 * after every field (`-A -t -z -0`: field and record separators are both
 * NUL, and psql also terminates the last record with NUL when the record
 * separator is NUL). PostgreSQL text values can never contain a NUL byte,
 * so every field is recovered exactly, whatever it contains (newlines, the
 * ASCII unit/record separators, quotes, invalid-looking UTF-8...). Rows are
 * rebuilt from the column count the caller states (pg_rows_parse), and an
 * output whose field count is not a multiple of it is rejected. A SQL NULL
 * prints as the empty string: queries that must tell them apart use
 * coalesce() or `x IS NULL` as an extra column.
 *
 * Statements that cannot take $n parameters (CREATE/ALTER/DROP DATABASE,
 * CREATE/ALTER ROLE) are built from PQescapeIdentifier / PQescapeLiteral
 * output only. Every failure is logged once, here, with the statement's
 * purpose, the database and the SQLSTATE; callers just propagate false.
 */
#ifndef PGFOLD_PG_H
#define PGFOLD_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgfold/config.h"
#include "pgfold/docker.h"
#include "pgfold/str.h"

#define PG_APPLICATION_NAME    "pgfold"
#define PG_CONNECT_TIMEOUT_S   10
#define PG_MAINTENANCE_DB      "postgres"

/* ---- connections ------------------------------------------------------- */

/* Everything needed to open one libpq connection; password may be NULL. */
typedef struct PgConnParams
{
	const char *host;
	int         port;
	const char *user;
	const char *password;   /* secret: handed to libpq only */
	const char *dbname;     /* taken literally, never as a conninfo string */
	const char *options;    /* libpq "options" (-c name=value ...), may be NULL */
} PgConnParams;

/*
 * Every admin session on the shared instance starts with these, above any
 * database or role setting: a database carries its source's settings
 * (ALTER DATABASE ... SET, dbprops.h), and one with `search_path = x,
 * pg_catalog` would let its own functions and operators stand in for the
 * built-ins pgfold's queries call as the admin; a statement_timeout would
 * cancel a verification or ANALYZE of a big database.
 */
#define PG_ADMIN_SESSION_OPTIONS \
	"-c search_path=pg_catalog,pg_temp -c statement_timeout=0 -c lock_timeout=0 " \
	"-c idle_in_transaction_session_timeout=0 -c default_transaction_read_only=off"

/* Open a connection; nothing is logged. On failure *out is NULL and errmsg
 * (if not NULL) receives libpq's message on one line. */
bool pg_connect_params(const PgConnParams *params, PGconn **out, StrBuf *errmsg);

/* Connect to the shared instance as PG_USER (dbname NULL = "postgres"),
 * with PG_ADMIN_SESSION_OPTIONS.
 * On failure: logs "cannot connect to the shared PostgreSQL at HOST:PORT as
 * USER: ...; check PG_HOST/PG_PORT/PG_USER/PG_PASS in <root>/.env" and sets
 * EXIT_SHARED. */
bool pg_connect_shared(const Config *cfg, const char *dbname, PGconn **out);

/* *conn (the admin's, may be NULL) still answers, or a new one does within
 * wait_s seconds (a restarted server): quiet; false leaves *conn NULL. */
bool pg_shared_alive(const Config *cfg, PGconn **conn, int wait_s);

/* PQfinish; safe on NULL. */
void pg_disconnect(PGconn *conn);

/* ---- statements -------------------------------------------------------- */

/* Run a statement without parameters and without rows (DDL, SET...).
 * `what` says why, for the error line: "create database \"x\"". */
bool pg_exec(PGconn *conn, const char *what, const char *sql);

/* Parameterised statement ($1..$n, text format). On success *out holds the
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK); caller PQclear()s it. */
bool pg_query(PGconn *conn, const char *what, const char *sql,
			  int nparams, const char *const *params, PGresult **out);

/* A statement whose refusal is an answer, not an error (probes: "can this
 * locale be created?"): like pg_query, but a refusal is not logged; its
 * primary message replaces *error (may be NULL). out may be NULL. */
bool pg_try(PGconn *conn, const char *sql, int nparams, const char *const *params,
			PGresult **out, StrBuf *error);

/* Send sql without waiting (PQsendQuery): the caller does other work, then
 * reads the results (or cancels). Logged when it cannot be sent. */
bool pg_send(PGconn *conn, const char *what, const char *sql);

/* Exactly one row, first column, into out (replaced). A NULL value sets
 * *isnull (out emptied); with isnull == NULL a NULL value is an error. */
bool pg_query_scalar(PGconn *conn, const char *what, const char *sql,
					 int nparams, const char *const *params,
					 StrBuf *out, bool *isnull);

/* Append the quoted identifier ("x""y") / literal ('it''s', E'' when
 * needed) to out, escaped for this connection's encoding. */
bool pg_quote_ident(PGconn *conn, const char *ident, StrBuf *out);
bool pg_quote_literal(PGconn *conn, const char *value, StrBuf *out);

/* Append s double-quoted for a log line (control bytes, quotes and
 * backslashes escaped, capped at 200 bytes), so a hostile name can neither
 * forge a log line nor flood it. Returns sb_str(out). */
const char *pg_display(StrBuf *out, const char *s);

/* Log a failed result once: "<what> failed in database "D": [SQLSTATE]
 * message (detail, hint)". Exposed for modules that drive libpq directly
 * (COPY, streaming). */
void pg_log_result_error(PGconn *conn, const char *what, const PGresult *res);

/* ---- shared-side queries ------------------------------------------------ */

/* server_version_num, e.g. 150004. */
bool pg_server_version_num(PGconn *conn, int *out);

bool pg_database_exists(PGconn *conn, const char *dbname, bool *exists);
bool pg_role_exists(PGconn *conn, const char *role, bool *exists);
/* *super is false when there is no such role. */
bool pg_role_is_superuser(PGconn *conn, const char *role, bool *super);

/* pg_available_extensions: *available, and its default version into
 * default_version (may be NULL). */
bool pg_extension_available(PGconn *conn, const char *name, bool *available,
							StrBuf *default_version);

/* pg_available_extension_versions: can `name` at `version` be created? */
bool pg_extension_version_available(PGconn *conn, const char *name,
									const char *version, bool *available);

/* pg_terminate_backend() every other session on dbname; count may be NULL. */
bool pg_terminate_connections(PGconn *conn, const char *dbname, long *count);

/* CREATE DATABASE "db" OWNER "owner" TEMPLATE template0 [ENCODING 'enc'].
 * owner and encoding may be NULL (connected user / server default). */
bool pg_create_database(PGconn *conn, const char *dbname, const char *owner,
						const char *encoding);

/* ALTER DATABASE "from" RENAME TO "to". Fails while anyone is connected to
 * "from": call pg_terminate_connections first when that is intended. */
bool pg_rename_database(PGconn *conn, const char *from, const char *to);

/* DROP DATABASE IF EXISTS "db"; with force: WITH (FORCE) on server >= 13,
 * pg_terminate_connections then DROP on older servers. */
bool pg_drop_database(PGconn *conn, const char *dbname, bool force);

/* pg_database_size(dbname) in bytes. */
bool pg_database_size(PGconn *conn, const char *dbname, int64_t *bytes);

/* ---- psql output: NUL-terminated fields -------------------------------- */

typedef struct PgRows
{
	size_t  nrows;
	size_t  ncols;
	char  **cells;   /* nrows * ncols pointers into buf, row-major */
	char   *buf;     /* private copy of the output */
} PgRows;

#define PGROWS_INIT { 0, 0, NULL, NULL }

/* Split `-A -t -z -0` output (len bytes) into rows of ncols fields.
 * False (and logged) when the output is truncated or the field count is
 * not a multiple of ncols. */
bool pg_rows_parse(const char *data, size_t len, size_t ncols, PgRows *out);
/* The field, or NULL when out of range. */
const char *pg_rows_get(const PgRows *rows, size_t row, size_t col);
void pg_rows_free(PgRows *rows);

/* ---- psql inside a container (exec) ------------------------------------- */

/* Largest psql output pgx_query accepts. */
#define PGX_MAX_OUTPUT (16u * 1024u * 1024u)

/* Run `psql -X -q -A -t -z -0 -v ON_ERROR_STOP=1 -U user -d <db>` in the
 * container, sql on stdin. vars: NULL-terminated "name=value" strings (name
 * matches [A-Za-z_][A-Za-z0-9_]*), each passed as `-v name=value`. db is
 * passed as a quoted conninfo (`dbname='...'`) so a name with '=' is never
 * taken as a connection string. user/db NULL = the container's defaults
 * (pass the user: a container running as a uid without a passwd entry
 * gives psql no default). sql must be pgfold's own constant text: psql
 * would obey backslash meta-commands in it; every outside value goes
 * through vars, which psql never reads as commands.
 * out (NULL = discard) receives psql's raw stdout (NUL-terminated
 * fields). A non-zero exit
 * is logged with the container, database and psql's stderr. */
bool pgx_query(DockerClient *docker, const char *container, const char *user,
			   const char *db, const char *sql, const char *const *vars,
			   StrBuf *out);

/* The port a postgres in container listens on when its command line sets
 * one (-c port=N, -p N, --port=N), else -1 (5432, or PGPORT in its
 * environment, which exec'd clients read themselves). Inspected once per
 * process and container; with docker NULL only what is known (port.c). */
int pgx_container_port(DockerClient *docker, const char *container);
/* "PGPORT=N" into out when pgx_container_port knows one; else false. */
bool pgx_port_env(DockerClient *docker, const char *container, char *out, size_t size);
/* The port postgres takes from these arguments (the last one), or -1. */
int pgx_port_from_args(const char *const *args, size_t n);

/* pgx_query + pg_rows_parse. */
bool pgx_query_rows(DockerClient *docker, const char *container,
					const char *user, const char *db, const char *sql,
					const char *const *vars, size_t ncols, PgRows *out);

/* One query of pgx_query_rows_many: ok and rows (free them) as
 * pgx_query_rows would give, its failure logged. */
typedef struct PgxRowsJob
{
	const char *container;
	const char *user;
	const char *db;
	const char *sql;
	size_t      ncols;
	PgRows      rows;
	bool        ok;
} PgxRowsJob;

/* The jobs, several at once (in different containers, or the same): for
 * the questions `status` asks every dedicated database. Those whose server
 * the host reaches on its own socket are asked there with libpq (local.c;
 * not with PGFOLD_EXEC_ONLY=1), the others by exec; the rows are the same.
 * False only when interrupted; each job says how it went. */
bool pgx_query_rows_many(DockerClient *docker, PgxRowsJob *jobs, size_t n);

/* Poll pg_isready inside the container (quietly) for up to timeout_s until
 * it answers twice in a row, then confirm with a real query; a stopped
 * container, Ctrl-C or the timeout end the wait with one clear error. */
bool pgx_wait_ready(DockerClient *docker, const char *container, const char *user,
					const char *db, int timeout_s);

/* SELECT 1: the server accepts connections and queries. */
bool pgx_ping(DockerClient *docker, const char *container, const char *user,
			  const char *db);

/* Cluster-wide questions (version, databases, roles) connect to the
 * "postgres" database, which initdb always creates. */
bool pgx_server_version_num(DockerClient *docker, const char *container,
							const char *user, int *out);

typedef struct PgxDatabase
{
	char    *name;
	char    *owner;
	char    *encoding;
	char    *collate;
	char    *ctype;
	int64_t  size_bytes;   /* -1: the user may not connect to it */
} PgxDatabase;

typedef struct PgxRole
{
	char *name;
	bool  can_login;
	bool  superuser;
} PgxRole;

typedef struct PgxExtension
{
	char *name;
	char *version;
} PgxExtension;

typedef struct PgxDatabaseList { PgxDatabase *items; size_t count; } PgxDatabaseList;
typedef struct PgxRoleList { PgxRole *items; size_t count; } PgxRoleList;
typedef struct PgxExtensionList { PgxExtension *items; size_t count; } PgxExtensionList;

/* Databases that accept connections and are not templates, by name. */
bool pgx_list_databases(DockerClient *docker, const char *container,
						const char *user, PgxDatabaseList *out);
void pgx_database_list_free(PgxDatabaseList *list);

/* Roles except the predefined pg_* ones, by name. */
bool pgx_list_roles(DockerClient *docker, const char *container,
					const char *user, PgxRoleList *out);
void pgx_role_list_free(PgxRoleList *list);

/* pg_extension of database db (plpgsql included), by name. */
bool pgx_list_extensions(DockerClient *docker, const char *container,
						 const char *user, const char *db,
						 PgxExtensionList *out);
void pgx_extension_list_free(PgxExtensionList *list);

bool pgx_database_size(DockerClient *docker, const char *container,
					   const char *user, const char *db, int64_t *bytes);

#endif
