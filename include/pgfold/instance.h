/*
 * instance.h — the day-to-day tools for the shared instance: databases
 * (`pgfold db ...`), service roles (`pgfold user create`) and the dumps
 * under backups/ (`pgfold backups ...`).
 *
 * The streams are the migrate module's: pg_dump / pg_restore commands come
 * from pgcmd.h, bytes move through stream_run (backup tee + SHA-256
 * sidecar), comparisons against a container use verify_databases. What is
 * here is only what those commands add: the questions they ask the shared
 * instance, the restore swap, the archive checks and the backups catalogue.
 *
 * Every function logs its own errors (names shown with pg_display, so a
 * hostile name cannot forge a log line) and sets the exit hint; callers
 * just propagate false.
 */
#ifndef PGFOLD_INSTANCE_H
#define PGFOLD_INSTANCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "pgfold/app.h"
#include "pgfold/fsutil.h"
#include "pgfold/journal.h"
#include "pgfold/verify.h"

/* ---- command lines of db and backups (parsed in src/cli/db.c) --------------- */

/* Which options a subcommand takes, beyond --json, --yes and --dry-run. */
enum
{
	IOPT_OWNER = 1 << 0, IOPT_FORCE = 1 << 1, IOPT_NO_BACKUP = 1 << 2,
	IOPT_ESTIMATE = 1 << 3, IOPT_AGAINST = 1 << 4, IOPT_DEEP = 1 << 5, IOPT_ALL = 1 << 6,
	IOPT_NO_CHECKSUM = 1 << 7, IOPT_OLDER_THAN = 1 << 8, IOPT_KEEP_LAST = 1 << 9,
	IOPT_LATEST = 1 << 10
};

typedef struct InstanceOptions
{
	const char *owner;        /* --owner ROLE */
	const char *against;      /* --against CONTAINER[:DB] */
	const char *older_than;   /* --older-than AGE */
	long        keep_last;    /* --keep-last N, 0 = unset */
	bool        json, yes, dry_run, force, no_backup, estimate, deep, all, no_checksum;
	bool        latest;       /* backups test --latest */
	int         argc;         /* positional arguments */
	char      **argv;
} InstanceOptions;

/* The frame of every instance command: app_open, app_shared when shared,
 * fn (which may take the stack lock in *lock), then the lock released and
 * the app closed. Returns fn's exit status, or the failure's. */
typedef int (*InstanceMain)(App *app, void *ctx, Lock *lock);
int instance_main(const GlobalOptions *g, bool shared, InstanceMain fn, void *ctx);

/* One subcommand of db or backups, for cli_run_instance_command (cli.h). */
typedef struct InstanceSub
{
	const char *name;
	int         min, max;     /* positional arguments; max < 0: any number */
	unsigned    accept;       /* IOPT_* */
	bool        shared;       /* connect to the shared instance first */
	int       (*run)(App *app, InstanceOptions *o, Lock *lock);
} InstanceSub;

/* A name as it goes into a log line or a table cell: double-quoted with
 * control bytes escaped (pg_display); returns sb_str(out). */
const char *instance_show(StrBuf *out, const char *name);

/* ---- databases (dbs.c) ---------------------------------------------------- */

typedef struct InstanceDb
{
	char    *name;
	char    *owner;
	char    *encoding;
	int64_t  size_bytes;        /* -1 when it does not accept connections */
	int      connection_limit;  /* -1 = none */
	long     connections;       /* sessions on it now (ours excluded) */
	bool     allow_connections;
	char    *service;           /* the service that uses it, NULL = none */
} InstanceDb;

typedef struct InstanceDbList
{
	InstanceDb *items;
	size_t      count;
} InstanceDbList;

/* Every database but the templates, by name; service filled from the stack
 * (needs app_shared). */
bool instance_db_list(App *app, InstanceDbList *out);
void instance_db_list_free(InstanceDbList *list);

/* One database; *found = false (nothing logged) when it does not exist. */
bool instance_db_get(App *app, const char *name, InstanceDb *out, bool *found);
/* The same, but a missing database is an error: "no database "x" on the
 * shared instance (see `pgfold db list`)". */
bool instance_db_require(App *app, const char *name, InstanceDb *out);
void instance_db_free(InstanceDb *db);

/* Which service uses which database on the shared instance: from the
 * journals under backups/postgres-migrations (a live migration), else the
 * `# database_name:` metadata of a migrated service file. Built by whoever
 * asks, for as long as it asks (the journals are read by build). */
typedef struct InstanceServiceMap
{
	char  **service;
	char  **db;
	size_t  count;
} InstanceServiceMap;

void instance_service_map_build(App *app, InstanceServiceMap *map);
/* The service whose database is db; NULL when none. */
const char *instance_service_map_find(const InstanceServiceMap *map, const char *db);
void instance_service_map_free(InstanceServiceMap *map);

/* postgres, template0, template1: never dropped or replaced by pgfold. */
bool instance_db_is_system(const char *name);

/* JSON object of one database (the `db list` element shape). */
json_t *instance_db_json(const InstanceDb *db);

/* ---- dumps and restores (dump.c) ------------------------------------------ */

/* name with every byte outside [A-Za-z0-9._-] (and a leading . or -)
 * replaced by '_', appended to out: a file or directory name. */
void instance_file_safe(const char *name, StrBuf *out);

/* backups/<name>_<YYYYmmddTHHMMSSZ>.dump, with every byte of name outside
 * [A-Za-z0-9._-] replaced by '_' (names may hold '/', quotes...). */
bool instance_backup_default_path(const Config *cfg, const char *db, time_t when,
								  char *out, size_t outsize);

typedef struct InstanceDumpResult
{
	char     path[PATH_MAX];
	char     sha256[FS_SHA256_HEX_LEN + 1];
	uint64_t bytes;
	double   seconds;
} InstanceDumpResult;

/* pg_dump -Fc of db on the shared instance (in its container, or locally)
 * streamed to path (+ .sha256). An existing path is refused. */
bool instance_backup(App *app, const char *db, const char *path, InstanceDumpResult *out);
/* The same, seeing the exported snapshot (NULL: a fresh one). */
bool instance_backup_at(App *app, const char *db, const char *snapshot, const char *path,
						InstanceDumpResult *out);
/* pg_dumpall --globals-only streamed to path (+ .sha256), 0600: it holds
 * the roles' password verifiers. */
bool instance_backup_globals(App *app, const char *path, InstanceDumpResult *out);

/* Temporary names for db (deterministic, so a re-run finds leftovers):
 * pgfold_restore_<12 hex of sha256(db)> and pgfold_old_<12 hex>. */
void instance_temp_names(const char *db, char tmp[64], char old[64]);

typedef struct ArchiveCounts ArchiveCounts;

typedef struct InstanceRestore
{
	const char *db;             /* the database to create or replace */
	const char *file;           /* a custom-format dump with its sidecar */
	const char *owner;          /* NULL: the current owner, else PG_USER */
	bool        backup_first;   /* dump the current db before replacing it */
	bool        force;          /* terminate sessions on the current db */
} InstanceRestore;

typedef struct InstanceRestoreResult
{
	bool               replaced;       /* db existed and was swapped out */
	InstanceDumpResult backup;         /* path[0] == '\0': none taken */
	size_t             tables;         /* tables checked */
	long long          rows;           /* rows counted in the archive */
	long               terminated;     /* sessions terminated at the swap */
} InstanceRestoreResult;

/* Verify the sidecar, restore into the temporary database, compare every
 * table's row count with the archive's, then swap it in (one transaction
 * renames the current db away and the temporary one into place) and drop
 * the old one. The live database is never restored into. */
bool instance_restore(App *app, const InstanceRestore *req, InstanceRestoreResult *out);

typedef struct InstanceCopy
{
	const char *container;      /* dedicated container (name or id) */
	const char *src_db;
	const char *dest_db;        /* must not exist on the shared instance */
	const char *owner;          /* NULL: PG_USER */
	bool        deep;           /* content hashes in the verification */
} InstanceCopy;

typedef struct InstanceCopyResult
{
	InstanceDumpResult dump;    /* the kept copy */
	VerifyReport       report;
	Inventory          src, dst;
} InstanceCopyResult;

/* `db migrate-from`: stream pg_dump in container into a temporary database
 * (keeping backups/postgres-migrations/<container>_<ts>.dump), verify it
 * against the source, rename it to dest_db. A verification difference
 * keeps the temporary database and sets EXIT_VERIFY. */
bool instance_copy_from(App *app, const InstanceCopy *req, InstanceCopyResult *out);
void instance_copy_result_free(InstanceCopyResult *res);

/* POSTGRES_USER of a container (inspect), "postgres" when unset; and
 * POSTGRES_DB (default: the user). found = false: no such container. */
bool instance_container_env(App *app, const char *container, char *user, size_t usize,
							char *db, size_t dsize, bool *found);

/* ---- service roles (roles.c) ------------------------------------------------ */

/* Give role access to db, isolated as migrate does it (REVOKE ALL FROM
 * PUBLIC, GRANT CONNECT, TEMPORARY). owner: the role becomes the owner of
 * the database and of every object in it. Otherwise read/write grants:
 * USAGE on every user schema, DML on every table, sequences and functions,
 * and the same by default for what the owner creates later. */
bool instance_grant_access(App *app, const char *db, const char *role, bool owner);

/* What `user create` would do, without doing it: "create", "reuse",
 * "rotate" or "refuse" (the role exists and its password file is missing
 * or does not log in). */
bool instance_role_preview(App *app, const char *role, bool rotate, const char **action);

/* ---- console (console.c) --------------------------------------------------- */

/* An interactive psql on db (NULL: postgres): the host's psql over TCP
 * (password in a 0600 passfile) when there is one, else `docker exec -it`
 * in the shared container. Returns psql's exit status. */
int instance_console(App *app, const char *db);

/* ---- archives (archive.c) ------------------------------------------------- */

/* What the header of a custom-format archive says. */
typedef struct ArchiveHeader
{
	int   format_major, format_minor;   /* archive format, e.g. 1.14 */
	int   dump_major;                   /* pg_dump major version, e.g. 15 */
	char  dump_version[64];             /* "15.5 (Debian ...)" */
	char  server_version[64];           /* of the server dumped */
	char  database[256];                /* database dumped */
	char  created[32];                  /* "2026-11-21 10:15:00" (dumper's local time) */
} ArchiveHeader;

/* Parse the first bytes of a dump (pure). False with *why set when it is
 * not a custom-format archive or is cut short inside the header. */
bool archive_header_parse(const unsigned char *bytes, size_t len, ArchiveHeader *out,
						  const char **why);
/* Read and parse the header of a file (logs). */
bool archive_header_read(const char *path, ArchiveHeader *out);

/* Rows per table from pg_restore's SQL script (COPY ... FROM stdin blocks
 * of TABLE DATA entries), fed in pieces of any size (pure). */
typedef struct ArchiveTable
{
	char      *schema;
	char      *name;
	long long  rows;
} ArchiveTable;

struct ArchiveCounts
{
	ArchiveTable *tables;
	size_t        count;
	long long     rows;
	/* parser state */
	StrBuf        line;          /* current line outside COPY data (bounded) */
	bool          line_skipped;  /* line longer than the bound: ignored */
	bool          expect_copy;   /* after a "TABLE DATA" header comment */
	bool          joining;       /* a COPY line whose quoted name holds a newline */
	bool          in_copy;
	char          head[3];       /* first bytes of the current data line */
	size_t        head_len;
	bool          failed;
};

void archive_counts_init(ArchiveCounts *c);
bool archive_counts_feed(ArchiveCounts *c, const char *buf, size_t len);
/* False (logged) when the script ended inside a COPY block. */
bool archive_counts_finish(ArchiveCounts *c);
void archive_counts_free(ArchiveCounts *c);

typedef struct ArchiveScan
{
	ArchiveHeader header;
	ArchiveCounts counts;
	char          tool[300];    /* "pg_restore 15 (local)", "pg_restore 15 in postgres" */
} ArchiveScan;

/* Read every byte of the archive with a pg_restore at least as new as the
 * pg_dump that wrote it (local, else the shared container, else a running
 * postgres container of the stack) and count its rows. */
bool archive_scan(App *app, const char *path, ArchiveScan *out);
void archive_scan_free(ArchiveScan *scan);

/* ---- table statistics (stats.c) ------------------------------------------- */

typedef struct TableStat
{
	char      *schema;
	char      *name;
	char       kind;          /* 'r' table, 'p' partitioned, 'm' materialized view */
	long long  rows;
	bool       exact;         /* false: pg_class.reltuples estimate */
	int64_t    table_bytes;   /* heap (+ toast) */
	int64_t    index_bytes;
	int64_t    total_bytes;
} TableStat;

typedef struct DbStats
{
	int64_t    size_bytes;
	char     **schemas;        /* user schemas, by name */
	size_t     schema_count;
	TableStat *tables;         /* by schema, name */
	size_t     count;
} DbStats;

/* Estimates are used for tables whose reltuples is at least this. */
#define STATS_ESTIMATE_MIN_ROWS 100000

/* conn: connected to the database. estimate: big tables use reltuples. */
bool instance_db_stats(PGconn *conn, bool estimate, DbStats *out);
void instance_db_stats_free(DbStats *stats);
json_t *instance_db_stats_json(const char *db, const DbStats *stats);

/* Exact count(*) of "schema"."name" (ONLY: partitions are their own). */
bool instance_count_rows(PGconn *conn, const char *schema, const char *name, bool only,
						 long long *rows);

/* ---- standalone verification (check.c) ------------------------------------ */

typedef enum CheckStatus
{
	CHECK_STATUS_OK = 0,
	CHECK_STATUS_SKIPPED,
	CHECK_STATUS_WARN,
	CHECK_STATUS_FAIL
} CheckStatus;

typedef struct SanityCheck
{
	char        *name;
	CheckStatus  status;
	char        *detail;
} SanityCheck;

typedef struct SanityReport
{
	SanityCheck *checks;
	size_t       count;
	size_t       indexes_checked;
	size_t       tables_read;
	long long    rows;
	bool         amcheck;       /* amcheck was available */
	size_t       failures;
} SanityReport;

/* Catalog consistency, amcheck bt_index_check on every btree index (in a
 * transaction that is rolled back, so a missing amcheck extension is
 * created only for the check), every table read in full (seq scan); deep:
 * heapallindexed and a hash of every row's text. conn: the database. */
bool instance_db_sanity(PGconn *conn, bool deep, SanityReport *out);
void instance_sanity_free(SanityReport *report);
const char *instance_check_status_name(CheckStatus status);
json_t *instance_sanity_json(const SanityReport *report);
json_t *instance_verify_diffs_json(const VerifyReport *report);

/* ---- backups catalogue (backups.c) ---------------------------------------- */

typedef enum BackupKind
{
	BACKUP_MIGRATION = 0,   /* backups/postgres-migrations/<service>_<ts>.dump */
	BACKUP_PRE_ROLLBACK,    /* backups/postgres-migrations/<service>_pre_rollback_<ts>.dump */
	BACKUP_MANUAL,          /* backups/<db>_<ts>.dump (db backup, db drop, db restore) */
	BACKUP_SHARED           /* backups/shared/<db>/<db>_<ts>.dump (pgfold backup) */
} BackupKind;

typedef enum ChecksumState
{
	CHECKSUM_UNCHECKED = 0,
	CHECKSUM_OK,
	CHECKSUM_MISMATCH,
	CHECKSUM_MISSING,       /* no sidecar */
	CHECKSUM_INVALID        /* sidecar unreadable or malformed */
} ChecksumState;

typedef struct BackupFile
{
	char          path[PATH_MAX];
	char         *service;       /* NULL when unknown */
	char         *group;         /* service, else the name part (db) of a manual dump */
	BackupKind    kind;
	time_t        when;          /* from the name's stamp, else mtime */
	uint64_t      size;
	ChecksumState checksum;
	bool          referenced;    /* by a live migration or an unfinished run */
	bool          newest;        /* newest of its group */
	bool          sidecar;       /* a .sha256 sidecar is there */
	int           tested;        /* last restore test: 0 none, 1 ok, -1 failed */
	time_t        tested_when;
} BackupFile;

typedef struct BackupList
{
	BackupFile *items;           /* oldest first */
	size_t      count;
} BackupList;

/* Every *.dump under backups/, backups/postgres-migrations/ and
 * backups/shared/<db>/ (group "shared/<db>"), with its
 * service (journals, file names, the stack's databases), kind, time and
 * size; verify_checksums: hash each file against its sidecar. */
bool backups_scan(App *app, bool verify_checksums, BackupList *out);
void backups_list_free(BackupList *list);
const char *backups_kind_name(BackupKind kind);
const char *backups_checksum_name(ChecksumState state);
json_t *backups_file_json(const BackupFile *file);
ChecksumState backups_checksum(const char *path, bool quiet);

/* Free a list of *count names (journal_services, backups' lists). */
void instance_names_free(char **names, size_t count);

/* "30d", "12h", "2w", "90m", "45s" → seconds; false on anything else. */
bool backups_parse_age(const char *text, long long *seconds);

/* Which files prune removes: older than max_age seconds (< 0: no age
 * limit), beyond the keep_last newest of their group (0: no such rule),
 * never the newest of a group, never a referenced one. keep[i] says why a
 * file is kept (NULL = removed). */
void backups_prune_select(const BackupList *list, time_t now, long long max_age,
						  long keep_last, const char **keep);

/* Remove a dump and its sidecar (and a leftover .partial). */
bool backups_remove(const char *path);

/* ---- backups of the whole shared instance (shared_backup.c) ---------------- */

/* backups/shared/: <db>/<db>_<stamp>.dump (+ .sha256, + .tested after a
 * restore test), <stamp>.globals.sql (pg_dumpall --globals-only, 0600) and
 * <stamp>.json, the run's manifest. <db> is instance_file_safe(db). */
#define SHARED_BACKUP_SUBDIR  "shared"
#define SHARED_GLOBALS_SUFFIX ".globals.sql"
#define SHARED_TESTED_SUFFIX  ".tested"

typedef struct SharedBackupDb
{
	char              *name;
	bool               ok;
	InstanceDumpResult dump;
	int64_t            size_bytes;   /* pg_database_size at the dump */
	json_t            *tables;       /* [{schema, name, rows}] of the dump's snapshot */
} SharedBackupDb;

typedef struct SharedBackupRun
{
	char               stamp[JOURNAL_STAMP_LEN + 1];
	char               dir[PATH_MAX];        /* <backups>/shared */
	char               manifest[PATH_MAX];
	bool               globals_ok;
	InstanceDumpResult globals;
	SharedBackupDb    *dbs;
	size_t             count;
	size_t             failed;               /* databases (and the globals) that failed */
	double             seconds;
} SharedBackupRun;

/* <backups>/shared (out) */
bool shared_backup_dir(const Config *cfg, char *out, size_t size);

/* The databases `backup` takes: names given (each must exist; postgres only
 * when named), else every one but the templates and postgres. */
bool shared_backup_targets(App *app, char **names, int count, char ***out, size_t *n);

/* Dump each database in turn (inventory and pg_dump in one exported
 * snapshot), then the globals, then write the manifest. A failing database
 * is logged, counted in out->failed and the next one is taken; false only
 * when nothing could start (no directory, no stamp). */
bool shared_backup_run(App *app, char **dbs, size_t count, SharedBackupRun *out);
void shared_backup_run_free(SharedBackupRun *run);

/* The manifest entry of a dump under backups/shared (its run's <stamp>.json,
 * the element whose file is the dump's); NULL (logged) when there is none.
 * Caller decrefs. */
json_t *shared_manifest_entry(const char *dump_path);

/* ---- retention (retention.c) --------------------------------------------- */

typedef struct RetentionPolicy
{
	long daily, weekly, monthly;   /* distinct days / ISO weeks / months kept */
} RetentionPolicy;

#define RETENTION_DEFAULT { 7, 4, 6 }

/* Over the files of group in list (time order), which stay: the newest good
 * dump of each of the last `daily` days that have one (UTC), of the last
 * `weekly` ISO weeks, of the last `monthly` months; never one a journal
 * needs, never the newest (the `backups prune` rule), never the newest good
 * one. keep[i] says why (NULL = removed; files of other groups: untouched,
 * keep[i] left as it was). Pure. */
void backups_retention_select(const BackupList *list, const char *group,
							  const RetentionPolicy *policy, const char **keep);

/* The runs (<stamp>.json, <stamp>.globals.sql under backups/shared) none of
 * whose dumps stays (stays[i]: list->items[i] is not removed), but the
 * newest run; free with instance_names_free. */
bool shared_runs_unused(const Config *cfg, const BackupList *list, const bool *stays,
						char ***stamps, size_t *n);

/* ---- restore tests (restore_test.c) ----------------------------------------- */

typedef struct RestoreTest
{
	char      file[PATH_MAX];
	char     *db;
	bool      ok;
	char      reason[512];
	size_t    tables;
	long long rows;
	double    seconds;
} RestoreTest;

/* Restore file into a scratch database on the shared instance (the path of
 * `db restore`: sidecar, version, streamed pg_restore), compare every
 * table's rows with the run's manifest, run the standalone verification,
 * drop the scratch database whatever happened, write <file>.tested. */
bool backups_restore_test(App *app, const char *file, RestoreTest *out);

/* Load a checked dump into scratch (created afresh, owned by PG_USER). */
bool instance_restore_scratch(App *app, const char *file, const char *scratch);

/* <file>.tested: *when and *ok; false (nothing logged) when never tested. */
bool backups_tested_read(const char *file, time_t *when, bool *ok);

/* ---- backup age (backup_age.c) -------------------------------------------- */

typedef struct SharedBackupAge
{
	bool   found;          /* a dump with its sidecar under backups/shared/<db>/ */
	time_t dump_when;      /* the newest one's stamp */
	int    tested;         /* newest restore test: 0 none, 1 ok, -1 failed */
	time_t tested_when;
} SharedBackupAge;

/* Files only (no engine, no SQL): for `pgfold status`. False: no dump. */
bool shared_backup_age(const Config *cfg, const char *db, SharedBackupAge *out);
/* "<prefix>_<stamp>.dump" (a `pgfold backup` dump's name): its stamp's time. */
bool shared_backup_dump_time(const char *name, const char *prefix, time_t *when);

#endif
