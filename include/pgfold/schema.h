/*
 * schema.h — `pgfold schema`: versioned schema migrations of one database of
 * the shared instance.
 *
 *   files.c   the migration directory: <version>_<name>.up.sql, .down.sql,
 *             .check.sql; reading (bounded, BOM and CRLF normalised), the
 *             `-- pgfold:no-transaction` directive, statement splitting
 *   sum.c     <dir>/pgfold.sum: the SHA-256 of each file and one over the list
 *   state.c   the pgfold_schema_migrations table in the target database
 *   lint.c    the risk class of a file, statement by statement
 *   apply.c   one file applied (its own transaction, or statement by
 *             statement), the advisory lock, the run log
 *   interop.c other runners' state tables (guard.h's reader), read only
 *
 * Every function logs its own error (file, version, database, SQLSTATE and
 * the fix) and sets the exit hint; callers propagate false.
 */
#ifndef PGFOLD_SCHEMA_H
#define PGFOLD_SCHEMA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "pgfold/fsutil.h"
#include "pgfold/str.h"

#define SCHEMA_SUM_FILE       "pgfold.sum"
#define SCHEMA_TABLE          "pgfold_schema_migrations"
#define SCHEMA_VERSION_MAX    32        /* digits */
#define SCHEMA_NAME_MAX       128
#define SCHEMA_FILE_MAX_BYTES (64u * 1024 * 1024)
#define SCHEMA_FILES_MAX      10000
#define SCHEMA_NO_TX_DIRECTIVE "-- pgfold:no-transaction"

/* ---- files.c ------------------------------------------------------------ */

typedef enum SchemaKind
{
	SCHEMA_UP = 0,
	SCHEMA_DOWN,
	SCHEMA_CHECK,
	SCHEMA_KIND_COUNT
} SchemaKind;

const char *schema_kind_suffix(SchemaKind kind);   /* ".up.sql" ... */

/* "000001_init.up.sql" → version "000001", name "init", SCHEMA_UP. False
 * (nothing logged) for any other shape: the version is 1 to
 * SCHEMA_VERSION_MAX digits, the name [A-Za-z0-9_-]+ of at most
 * SCHEMA_NAME_MAX bytes. */
bool schema_name_parse(const char *base, char version[SCHEMA_VERSION_MAX + 1],
					   char name[SCHEMA_NAME_MAX + 1], SchemaKind *kind);

/* Numeric order of two versions (digits only): length of the number
 * without leading zeros, then bytes. */
int schema_version_cmp(const char *a, const char *b);

typedef struct SchemaFile
{
	char  version[SCHEMA_VERSION_MAX + 1];
	char  name[SCHEMA_NAME_MAX + 1];
	bool  has[SCHEMA_KIND_COUNT];
	char  sum[SCHEMA_KIND_COUNT][FS_SHA256_HEX_LEN + 1];    /* of the normalised bytes */
} SchemaFile;

typedef struct SchemaDir
{
	char        path[PATH_MAX];
	SchemaFile *files;          /* by version */
	size_t      count;
} SchemaDir;

/* Every migration file of dir, hashed. A file whose name looks like a
 * migration but does not parse, two names for one version or a .down/.check
 * without its .up are errors naming the file. A missing dir is an error
 * that says how to create the first migration. */
bool schema_dir_load(const char *dir, SchemaDir *out);
void schema_dir_free(SchemaDir *d);
/* "<version>_<name><suffix>" into out. */
bool schema_file_name(const SchemaFile *f, SchemaKind kind, char *out, size_t size);
bool schema_file_path(const SchemaDir *d, const SchemaFile *f, SchemaKind kind, char *out,
					  size_t size);
/* The file of version, or NULL. */
const SchemaFile *schema_dir_find(const SchemaDir *d, const char *version);

/* BOM removed, CRLF (and a lone CR) made LF, into out (reset first). */
void schema_normalise(const char *bytes, size_t len, StrBuf *out);
/* Read and normalise one migration file (bounded). */
bool schema_read(const char *path, StrBuf *out);
/* SHA-256 of the normalised bytes. */
void schema_sum(const char *bytes, size_t len, char hex[FS_SHA256_HEX_LEN + 1]);

/* Does sql declare `-- pgfold:no-transaction` on a line of its own? */
bool schema_no_transaction(const char *sql);

typedef struct SchemaStmt
{
	char  *text;        /* trimmed, without its final ';' */
	size_t line;        /* 1-based line where it starts */
} SchemaStmt;

typedef struct SchemaStmts
{
	SchemaStmt *items;
	size_t      count;
} SchemaStmts;

/* Split sql into statements at top-level ';' (outside quotes, dollar
 * quotes, comments and BEGIN ATOMIC ... END bodies). Statements holding
 * only comments are dropped. An unterminated quote or comment is an error
 * naming the line (path is for the message). */
bool schema_split(const char *sql, const char *path, SchemaStmts *out);
void schema_stmts_free(SchemaStmts *s);

/* stmt with the literal after every PASSWORD replaced by '***', into out
 * (reset first): what the run log, the error line and the state table get
 * of a statement, so a CREATE ROLE ... PASSWORD '...' leaves no secret. */
void schema_redact(const char *stmt, StrBuf *out);

/* ---- sum.c -------------------------------------------------------------- */

/* The text of pgfold.sum for d: "h1:<sha256 of the lines below>\n" then
 * "<sha256>  <file name>\n" for every file, by version then up/down/check. */
void schema_sum_text(const SchemaDir *d, StrBuf *out);
/* Write <dir>/pgfold.sum (atomic). */
bool schema_sum_write(const SchemaDir *d);
/* Compare <dir>/pgfold.sum with the files: every difference is logged (the
 * file, what changed, the fix) and the result is false with EXIT_VERIFY.
 * problems (may be NULL) gets one string per difference. */
bool schema_sum_check(const SchemaDir *d, json_t *problems);
/* One problem: logged as an error and, when problems is not NULL, added
 * to it (the JSON reports of validate and the sum check). */
void schema_problem(json_t *problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- lint.c ------------------------------------------------------------- */

typedef enum SchemaRisk
{
	SCHEMA_RISK_LOW = 0,
	SCHEMA_RISK_MEDIUM,
	SCHEMA_RISK_HIGH
} SchemaRisk;

const char *schema_risk_name(SchemaRisk r);     /* "low", "medium", "high" */

typedef struct SchemaFinding
{
	SchemaRisk risk;
	size_t     line;
	char       why[160];
} SchemaFinding;

typedef struct SchemaLint
{
	SchemaRisk     risk;            /* the highest of the findings */
	SchemaFinding *items;
	size_t         count;
	bool           no_transaction;  /* the file declares it */
} SchemaLint;

/* Classify every statement of sql. big_tables: names (lower case, no
 * schema) of tables big enough that a CREATE INDEX without CONCURRENTLY
 * blocks writes for long (may be NULL). */
void schema_lint(const char *sql, const SchemaStmts *stmts, const char *const *big_tables,
				 SchemaLint *out);
/* The class of one statement; why (size whysize) says which rule. */
SchemaRisk schema_lint_stmt(const char *stmt, const char *const *big_tables, char *why,
							size_t whysize);
/* Statements PostgreSQL refuses inside a transaction block. */
bool schema_stmt_needs_no_tx(const char *stmt);
void schema_lint_free(SchemaLint *l);

/* ---- state.c ------------------------------------------------------------ */

typedef struct SchemaApplied
{
	char  version[SCHEMA_VERSION_MAX + 1];
	char *name;
	char *checksum;
	char *applied_at;
	char *applied_by;
	char *kind;                 /* up, down, force, baseline */
	long  duration_ms;
	bool  applied;              /* the version's state after its last successful row */
} SchemaApplied;

typedef struct SchemaFailure
{
	bool  present;
	char  version[SCHEMA_VERSION_MAX + 1];
	char *name, *at, *error, *statement;
	bool  half_done;            /* a no-transaction file stopped half-way */
} SchemaFailure;

typedef struct SchemaState
{
	bool           table_exists;
	SchemaApplied *items;       /* one per version that has a successful row, by version */
	size_t         count;
	SchemaFailure  failure;     /* the newest failed row when no success followed it */
} SchemaState;

/* Create the table when missing (as the connected role). */
bool schema_state_ensure(PGconn *conn);
bool schema_state_load(PGconn *conn, SchemaState *out);
void schema_state_free(SchemaState *s);
/* The version's entry if it is applied now, else NULL. */
const SchemaApplied *schema_state_applied(const SchemaState *s, const char *version);
/* The highest applied version, or "" (none). */
const char *schema_state_current(const SchemaState *s);

typedef struct SchemaRow
{
	const char *version, *name, *checksum, *kind, *note;
	bool        applied, success;
	long        duration_ms;
	const char *error, *statement;  /* failures */
} SchemaRow;

/* One row (applied_by: the operator, from $SUDO_USER/$USER, and the host). */
bool schema_state_insert(PGconn *conn, const SchemaRow *row);
/* "user@host" of whoever runs pgfold. */
void schema_operator(char *out, size_t size);

/* ---- apply.c ------------------------------------------------------------ */

/* The run log (backups/schema/<db>_<ts>.log): every statement and result. */
typedef struct SchemaLog
{
	int  fd;
	char path[PATH_MAX];
} SchemaLog;

#define SCHEMA_LOG_INIT { .fd = -1, .path = "" }

bool schema_log_open(const char *backups_dir, const char *db, SchemaLog *log);
void schema_log(SchemaLog *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void schema_log_close(SchemaLog *log);

/* pg_try_advisory_lock on a key derived from the database name, retried
 * every 200 ms for timeout_s; then "another `pgfold schema` runs on
 * database D" and EXIT_LOCKED. */
bool schema_lock(PGconn *conn, const char *db, long timeout_s);

/* The session as the database owner would run the files: role set to the
 * owner (so objects belong to it, as the service's own migrations would
 * make them), search_path to the database's setting or "$user", public. */
bool schema_session(PGconn *conn, const char *db);

/* Apply one file of d (kind up or down), recording a row: in one
 * transaction with its state row, or (no-transaction) statement by
 * statement. A failure leaves a success=false row with the error and the
 * failing statement, is logged with the file and statement, and returns
 * false with EXIT_FAIL. */
bool schema_apply_file(PGconn *conn, const SchemaDir *d, const SchemaFile *f, SchemaKind kind,
					   SchemaLog *log);

/* Run f's .check.sql (if any) in a transaction that is rolled back: every
 * statement must succeed, and a statement returning one row whose first
 * column is false fails the check. */
bool schema_run_check(PGconn *conn, const SchemaDir *d, const SchemaFile *f, SchemaLog *log);

/* ---- plan.c ------------------------------------------------------------- */

typedef enum SchemaGo
{
	SCHEMA_GO_UP = 0,           /* pending files, oldest first (count 0: all) */
	SCHEMA_GO_DOWN,             /* applied versions, newest first (count: 1 by default) */
	SCHEMA_GO_TO                /* down to the version, then up to it */
} SchemaGo;

typedef struct SchemaStep
{
	const SchemaFile *file;
	SchemaKind        kind;     /* SCHEMA_UP or SCHEMA_DOWN */
} SchemaStep;

typedef struct SchemaPlan
{
	SchemaStep *items;
	size_t      count;
} SchemaPlan;

/* What up/down/goto would run from state. goto's version is a version of d
 * or 0 (everything down). A down without its .down.sql, a version applied
 * whose file is gone, or an unknown goto version are errors (logged,
 * EXIT_USAGE). */
bool schema_plan(const SchemaDir *d, const SchemaState *st, SchemaGo go, long count,
				 const char *version, SchemaPlan *out);
void schema_plan_free(SchemaPlan *p);

/* Applied versions whose file changed since (its sum differs from the one
 * recorded): each logged with its name and the fix, appended to problems
 * (may be NULL). False when there is one (EXIT_VERIFY). */
bool schema_applied_unchanged(const SchemaDir *d, const SchemaState *st, json_t *problems);

/* Per file: "applied", "pending", "changed" (applied, file edited since) or
 * "missing-file" (applied, no file); and the versions only the database
 * knows, in order. */
const char *schema_file_status(const SchemaFile *f, const SchemaState *st);

/* ---- run.c: up, down and goto on the step runner ---------------------------- */

struct App;
struct Lock;

typedef struct SchemaTarget
{
	const char *service;        /* NULL with --db */
	char        db[64];
	char        owner[64];      /* the database's owner */
	char        dir[PATH_MAX];
	char        journal[65];    /* the journal the runs go to (journal.h) */
	bool        production;     /* the service file says `# environment: production` */
} SchemaTarget;

typedef struct SchemaRunOptions
{
	SchemaGo    go;
	long        count;
	const char *version;        /* goto */
	bool        no_backup, rehearse, no_rehearse, dry_run, yes, json;
	long        lock_timeout;   /* seconds */
} SchemaRunOptions;

/* The whole run: advisory lock, plan, dry run or confirmation, then the
 * steps backup, rehearse, apply on the runner (journal op "schema").
 * Returns the exit status. */
int schema_run(struct App *app, const SchemaTarget *t, const SchemaRunOptions *o,
			   struct Lock *lock);

/* Tables of the database big enough for the CREATE INDEX rule of lint
 * (reltuples >= 1e6 or 1 GiB), lower-cased, NULL-terminated (strlist). */
bool schema_big_tables(PGconn *conn, char ***out);

/* Read, split and lint one file of d. */
bool schema_lint_file(const SchemaDir *d, const SchemaFile *f, SchemaKind kind,
					  const char *const *big, SchemaLint *out, SchemaStmts *stmts);

/* ---- validate.c, create.c ------------------------------------------------- */

/* Every file splits into statements, has one, controls no transaction
 * itself, needs no no-transaction directive it lacks, and has a .down.sql
 * when medium or high risk; each problem logged and appended. */
void schema_validate_files(const SchemaDir *d, json_t *problems);
/* No pending version below the current one. */
void schema_validate_order(const SchemaDir *d, const SchemaState *st, json_t *problems);

/* The version `schema create` gives a new file: max + 1 in the same width
 * when the directory numbers its files with fewer than 14 digits, else the
 * UTC stamp YYYYmmddHHMMSS of now. */
void schema_next_version(const SchemaDir *d, time_t now, char *out, size_t size);
/* Write <dir>/<version>_<name>.up.sql and .down.sql (never over a file),
 * then pgfold.sum. */
bool schema_create(const char *dir, const char *name, char up[PATH_MAX], char down[PATH_MAX]);

/* ---- seed.c ------------------------------------------------------------- */

/* Is the database marked production: `ALTER DATABASE ... SET
 * pgfold.environment = 'production'` (the service file's `# environment:
 * production` is the command's to check)? */
bool schema_db_is_production(PGconn *conn, bool *production);

/* The .sql files of <dir>/seeds in name order, all in one transaction as the database
 * owner; with clean, every table first emptied (TRUNCATE ... RESTART
 * IDENTITY CASCADE) but the state tables of pgfold and the other runners.
 * *files gets how many seed files ran. */
bool schema_seed(PGconn *conn, const char *dir, bool clean, SchemaLog *log, size_t *files);

/* ---- interop.c ---------------------------------------------------------- */

/* The state tables of other runners in the database (the migrate module's
 * reader, guard.h), read only: an array of {tool, table, applied, latest,
 * failed_or_dirty, summary, problem}. */
bool schema_interop_read(PGconn *conn, json_t **out);

#endif
