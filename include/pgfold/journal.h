/*
 * journal.h — what pgfold did, per service, so an interrupted migrate or
 * rollback resumes where it stopped; the stack lock; per-run file names.
 *
 * Journal: <backups>/postgres-migrations/<service>.journal, JSON lines,
 * appended with O_APPEND and fsync'ed after every record. One record:
 *
 *   {"ts":"2026-11-21T10:15:00.123Z","op":"migrate","run":"20261121T101500Z-3fa9c2",
 *    "step":"dump","status":"done", ...step fields...}
 *
 * op is "migrate" or "rollback"; status "started", "done" or "failed"; a run
 * is finished when it has the record step "complete" / status "done"
 * (journal_complete). Step fields are the step's inputs and results (paths,
 * checksums, byte counts) and never secrets.
 *
 * Reading is strict except for the last line: a line torn by a crash (no
 * final newline, or not valid JSON) is ignored with a warning, and removed
 * by journal_open so new records start on a clean line. Any other bad line
 * is an error naming the line.
 *
 * All json_t * returned by queries are borrowed: they stay valid until
 * journal_close (records are never removed while the journal is open);
 * json_incref one to keep it longer. Strings returned likewise.
 */
#ifndef PGFOLD_JOURNAL_H
#define PGFOLD_JOURNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "pgfold/downtime.h"

/* Under the backups directory. */
#define JOURNAL_SUBDIR          "postgres-migrations"
#define JOURNAL_SUFFIX          ".journal"
#define JOURNAL_DIR_MODE        0750
#define JOURNAL_FILE_MODE       0640
/* A journal holds a few dozen records per run; anything this big is not ours. */
#define JOURNAL_MAX_BYTES       (16u * 1024 * 1024)
/* The step that marks a run as finished. */
#define JOURNAL_STEP_COMPLETE   "complete"
/* A run given up (failure undone, or ended by a rollback): never resumed. */
#define JOURNAL_STEP_ABORT      "abort"
/* Longest run id or step name. */
#define JOURNAL_NAME_MAX        64
/* "YYYYmmddTHHMMSSZ" */
#define JOURNAL_STAMP_LEN       16

/*
 * ---- the run contract ----------------------------------------------------
 *
 * Step names are written to disk: they never change (journals written by
 * older versions are read by newer ones). Every module names a step through
 * these, nowhere else.
 *
 * Migrate (op "migrate"), in order; the fields each "done" record carries
 * (read back by journal_read_migration):
 *   connections     what the pre-flight measured
 *   save-original   copy, sha256                      (the service file as found)
 *   stop-apps       containers, names, file_apps
 *   role            role, action, db, tmp_db, source_container, source_user,
 *                   source_db, project
 *   stream          dump, sha256, bytes, seconds, ..., jobs, route, sections
 *                   (jobs > 1: the pipe restored pre-data and data only)
 *   post-data       jobs, route, seconds (indexes, constraints, triggers
 *                   restored with pg_restore -j from the dump; jobs 1: the
 *                   stream restored the whole archive, nothing to do)
 *   ownership, carry-roles (--with-roles), properties, analyze
 *   verify          tables, rows, ..., deep
 *   files           service_sha256, override, env_keys, env_file, app_files
 *   cutover, apply  (applied), start-file-apps, proof
 *   complete        db, role, dump, apps_down, peak_rss_kib (pgfold's own, not
 *                   its children's: compose, psql)
 * Rollback (op "rollback"):
 *   options, stop-apps, backup, start-db, restore, verify, swap, files, apply,
 *   drop-stale, drop-shared, complete
 * Retire (op "retire"): the dedicated container and its data volume(s)
 * removed once the fold has proved itself (pgfold retire, retire.h):
 *   inventory       migrate_run, container (name), id, volumes [{name,
 *                   destination, bytes}], backup, evidence: every check
 *                   passed, nothing removed yet
 *   remove-container  id (gone: true when it was already gone)
 *   remove-volumes  volumes, bytes (given back)
 *   complete        migrate_run, container, volumes, bytes
 * Any of them may end with "abort" (JOURNAL_STEP_ABORT).
 */
#define MIG_STEP_CONNS          "connections"
#define MIG_STEP_SAVE           "save-original"
#define MIG_STEP_STOP           "stop-apps"
#define MIG_STEP_ROLE           "role"
#define MIG_STEP_STREAM         "stream"
#define MIG_STEP_POST_DATA      "post-data"       /* --jobs: after the stream */
#define MIG_STEP_OWNERSHIP      "ownership"
#define MIG_STEP_CARRY          "carry-roles"     /* --with-roles only */
#define MIG_STEP_PROPERTIES     "properties"
#define MIG_STEP_ANALYZE        "analyze"
#define MIG_STEP_VERIFY         "verify"
#define MIG_STEP_FILES          "files"
#define MIG_STEP_CUTOVER        "cutover"
#define MIG_STEP_APPLY          "apply"
#define MIG_STEP_PROOF          "proof"           /* the apps' settings log in (last) */
/* Steps of the runner that are timed but never journaled. */
#define MIG_STEP_STATE          "migration-state"
#define MIG_STEP_STATE_AFTER    "migration-state-after"
#define MIG_STEP_START_FILE_APPS "start-file-apps"

#define RB_STEP_OPTIONS         "options"
#define RB_STEP_STOP            "stop-apps"
#define RB_STEP_BACKUP          "backup"
#define RB_STEP_START_DB        "start-db"
#define RB_STEP_RESTORE         "restore"
#define RB_STEP_VERIFY          "verify"
#define RB_STEP_SWAP            "swap"
#define RB_STEP_FILES           "files"
#define RB_STEP_APPLY           "apply"
#define RB_STEP_DROP_STALE      "drop-stale"
#define RB_STEP_DROP_SHARED     "drop-shared"
/* Rename (op "rename"; journal of the service whose database it is, else
 * of the database's name), in order, with their "done" fields:
 *   options        from, to, role, terminate, no_backup (what an interrupted
 *                  run is undone with by the next rename)
 *   backup         dump, sha256, bytes (absent with --no-backup)
 *   terminate      terminated (--terminate only)
 *   database       from, to
 *   role           from, to (--role only)
 *   password-file  from, to (--role only)
 *   files          service_file, copy (the file as found), edits,
 *                  service_sha256 (the file as written)
 *   apply          (the apps recreated with `compose up -d`; not undone)
 *   complete       from, to, role */
#define REN_STEP_OPTIONS        "options"
#define REN_STEP_BACKUP         "backup"
#define REN_STEP_TERMINATE      "terminate"
#define REN_STEP_DATABASE       "database"
#define REN_STEP_ROLE           "role"
#define REN_STEP_PASSWORD       "password-file"
#define REN_STEP_FILES          "files"
#define REN_STEP_APPLY          "apply"

/* Schema (op "schema", `pgfold schema up|down|goto`), in order:
 *   schema-backup    db, dump, sha256, bytes           (unless --no-backup)
 *   schema-rehearse  scratch, files                    (rehearsal only)
 *   schema-apply     db, files, log                    (the files applied)
 *   complete         db, version, log */
#define SCHEMA_STEP_BACKUP      "schema-backup"
#define SCHEMA_STEP_REHEARSE    "schema-rehearse"
#define SCHEMA_STEP_APPLY       "schema-apply"
#define RT_STEP_INVENTORY       "inventory"
#define RT_STEP_REMOVE_CONTAINER "remove-container"
#define RT_STEP_REMOVE_VOLUMES  "remove-volumes"

/* Name parts of a rollback's run files: <service>_pre_rollback_<run>.dump,
 * <service>_rollback_<run>.log / .override.yml. */
#define JOURNAL_PRE_ROLLBACK    "pre_rollback_"
#define JOURNAL_ROLLBACK_FILE   "rollback_"
/* A retire run's log: <service>_retire_<run>.log. */
#define JOURNAL_RETIRE_FILE     "retire_"

typedef enum JournalOp
{
	JOURNAL_MIGRATE = 0,
	JOURNAL_ROLLBACK,
	JOURNAL_RETIRE,             /* pgfold retire: the dedicated container removed */
	JOURNAL_RENAME,             /* pgfold rename: a shared database renamed */
	JOURNAL_SCHEMA              /* pgfold schema up/down/goto: files applied to a database */
} JournalOp;

typedef enum JournalStatus
{
	JOURNAL_STARTED = 0,
	JOURNAL_DONE,
	JOURNAL_FAILED
} JournalStatus;

typedef struct Journal
{
	int     fd;                 /* -1 when loaded read-only */
	char    service[JOURNAL_NAME_MAX + 1];
	char    dir[PATH_MAX];      /* <backups>/postgres-migrations */
	char    path[PATH_MAX];
	json_t *records;            /* array of objects, in file order */
} Journal;

#define JOURNAL_INIT { .fd = -1, .records = NULL }

const char *journal_op_name(JournalOp op);            /* "migrate", "rollback", ... */
const char *journal_status_name(JournalStatus status); /* "started" / "done" / "failed" */
bool journal_op_parse(const char *name, JournalOp *op);
bool journal_status_parse(const char *name, JournalStatus *status);

/* Compose service names: [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 bytes; they
 * become file names, so nothing else is accepted (logs the error). */
bool journal_service_name_valid(const char *service);

/* <backups>/postgres-migrations into out. */
bool journal_dir_path(const char *backups_dir, char *out, size_t outsize);

/* The services that have a journal under backups/postgres-migrations (a
 * missing directory is an empty list): *count names, NULL-terminated too
 * (free with str_vec_free or instance_names_free). False (logged) when the
 * directory cannot be read. */
bool journal_services(const char *backups_dir, char ***out, size_t *count);

/* ---- opening ------------------------------------------------------------ */

/* Open for appending: creates the directory (0750) and the file (0640) if
 * missing, removes temporary files left there by dead processes
 * (fs_clean_tmp), reads every record, repairs a torn last line. Hold the
 * stack lock (lock_acquire) first: the journal assumes a single writer. */
bool journal_open(const char *backups_dir, const char *service, Journal *j);

/* Read only (status, plan): no directory or file is created, nothing is
 * repaired; a missing journal loads as empty with *exists = false. */
bool journal_load(const char *backups_dir, const char *service, Journal *j,
				  bool *exists);

void journal_close(Journal *j);

/* ---- writing ------------------------------------------------------------ */

/*
 * Where run ids get the time: NULL means time(NULL); tests pass their own.
 * A run id is the UTC stamp "YYYYmmddTHHMMSSZ" (JOURNAL_STAMP_LEN): it names
 * the run's files, which the backups module parses (backups.c split_name).
 */
typedef time_t (*JournalClock)(void);

/*
 * A new run id: the clock's second, or, when a run of j already has that
 * id (a run refused or aborted within the same second), the next second no
 * run of j uses. No waiting: the stamp may run a second or two ahead of the
 * clock, ids stay unique per journal and in order, and remain plain stamps.
 */
bool journal_new_run_id(const Journal *j, JournalClock clock,
						char out[JOURNAL_STAMP_LEN + 1]);

/*
 * Append one record and fsync it. fields (may be NULL) is a JSON object
 * whose members are added after the fixed ones; it is borrowed and copied
 * (changing it afterwards changes nothing here). Its keys may not be
 * ts/op/run/step/status. A run keeps the op it
 * started with: appending another op to an existing run is refused.
 */
bool journal_append(Journal *j, JournalOp op, const char *run, const char *step,
					JournalStatus status, json_t *fields);

/* Mark a run finished: step "complete", status "done". */
bool journal_complete(Journal *j, JournalOp op, const char *run, json_t *fields);

/* ---- queries (records in file order) ------------------------------------ */

size_t journal_count(const Journal *j);
json_t *journal_record(const Journal *j, size_t index);        /* borrowed */

/* The run of the last record with op; NULL when the op never ran. */
const char *journal_latest_run(const Journal *j, JournalOp op);

/* The last record of step in run (any status); NULL if none. */
json_t *journal_step(const Journal *j, const char *run, const char *step);

/* The last record of step in run if its status is "done", else NULL: a step
 * started again after it was done is not done. Its fields are the members
 * of the returned object (json_object_get(rec, "sha256")). */
json_t *journal_step_done(const Journal *j, const char *run, const char *step);

/* Has run been marked complete? */
bool journal_run_complete(const Journal *j, const char *run);

/* Is the service migrated now: a completed migrate run not followed by a
 * completed rollback? *run (may be NULL) gets that migrate run. */
bool journal_is_migrated(const Journal *j, const char **run);

typedef struct JournalRun
{
	const char   *run;          /* borrowed, as every string here */
	JournalOp     op;
	const char   *started;      /* ts of its first record */
	const char   *updated;      /* ts of its last record */
	const char   *last_step;
	JournalStatus last_status;
	bool          complete;
	size_t        records;
} JournalRun;

/* Every run, in order of first appearance, into a malloc'd array (free()
 * it); returns how many. */
size_t journal_runs(const Journal *j, JournalRun **out);

/* ---- stack lock --------------------------------------------------------- */

/*
 * One pgfold at a time per stack root: flock(LOCK_EX|LOCK_NB) on
 * <root>/.pgfold.lock, whose content (JSON, one line) says who holds it:
 *
 *   {"pid":4242,"command":"migrate docmost","started":"2026-11-21T10:15:00Z","host":"nas"}
 *
 * When it is busy, lock_acquire logs who holds it, sets EXIT_LOCKED and
 * returns false at once. The kernel releases the lock when the holder exits
 * however it exits, so a file left by a dead process never blocks, unless
 * what it started still runs (lock_orphans_wait_set). The file itself
 * stays (removing it would race with the next acquirer).
 */
#define LOCK_FILE_NAME ".pgfold.lock"

typedef struct Lock
{
	int  fd;
	char path[PATH_MAX];
} Lock;

#define LOCK_INIT { .fd = -1 }

bool lock_acquire(const char *root, const char *what, Lock *out);
/* When the pgfold the file names is gone but the lock is held, what it
 * started (compose, a local pg_restore: proc.h) still acts on the stack:
 * lock_acquire waits for it, saying so, up to 300 s, then fails with
 * EXIT_LOCKED naming the processes. Tests shorten the wait (0: default). */
void lock_orphans_wait_set(int seconds);
void lock_release(Lock *lock);      /* safe on LOCK_INIT and twice */

typedef struct LockHolder
{
	long pid;
	char command[256];
	char started[32];
	char host[256];
} LockHolder;

/* What the lock file says (the last or current holder); false, silently,
 * when it says nothing usable. Whether it is held: try lock_acquire. */
bool lock_read_holder(const char *root, LockHolder *out);

/* ---- per-run files ------------------------------------------------------ */

/* UTC `when` as "YYYYmmddTHHMMSSZ". */
bool journal_stamp(time_t when, char out[JOURNAL_STAMP_LEN + 1]);

/* <backups>/postgres-migrations/<service>_<middle><run><ext>, the one name
 * of every run file: migrate's (middle "": <svc>_<run>.dump, .yml, .log)
 * and rollback's (JOURNAL_PRE_ROLLBACK, JOURNAL_ROLLBACK_FILE). middle and
 * ext are ours (no '/'); ext includes its dot. Logs the error. */
bool journal_run_file(const char *backups_dir, const char *service, const char *middle,
					  const char *run, const char *ext, char *out, size_t outsize);

/* Create the directory if needed (0750), create (LOG_FILE_MODE 0640, not
 * the umask's) or append to journal_run_file(..., middle, run, ".log") and
 * send the log there (log_open_file). The path goes to path_out when not
 * NULL. */
bool journal_open_run_log(const char *backups_dir, const char *service, const char *middle,
						  const char *run, char *path_out, size_t outsize);

/* ---- a migration as its journal records it ---------------------------------
 *
 * journal_read_migration fills what the "done" records of one migrate run
 * say, step by step: a step not done has done = false; a field absent (or
 * too long for its buffer: not ours) is "" or NULL. Callers decide what
 * they need. json_t * are borrowed from the journal (see above).
 */
#define JOURNAL_DB_NAME_MAX 64   /* NAMEDATALEN with its NUL */

typedef struct MigrationRecord
{
	char run[JOURNAL_NAME_MAX + 1];
	bool complete;              /* "complete" done */
	bool aborted;               /* an "abort" record, any status */
	bool applied;               /* "apply" done */
	struct
	{
		bool done;
		char copy[PATH_MAX];    /* the saved original service file */
		char sha256[65];
	} save;
	struct
	{
		bool    done;
		json_t *containers;     /* ids of the apps stopped */
		json_t *file_apps;      /* of those, apps of other files */
	} stop;
	struct
	{
		bool done;
		char db[JOURNAL_DB_NAME_MAX];       /* on the shared instance */
		char tmp_db[JOURNAL_DB_NAME_MAX];
		char role[JOURNAL_DB_NAME_MAX];
		char source_container[256];         /* dedicated container's name */
		char source_user[128];              /* its POSTGRES_USER */
		char source_db[128];                /* its POSTGRES_DB */
		char project[256];
	} role;
	struct
	{
		bool done;
		char dump[PATH_MAX];
		char sha256[65];
	} stream;
	json_t *verify;             /* the "verify" done record (counts), or NULL */
	struct
	{
		bool    done;
		char    service_sha256[65];         /* the service file as migrate wrote it */
		char    override[PATH_MAX];
		char    env_file[PATH_MAX];         /* "" before it was journaled */
		json_t *env_keys;
		json_t *app_files;
	} files;
	/* the shared database: the complete record's "db", else the role's */
	char db[JOURNAL_DB_NAME_MAX];
} MigrationRecord;

/* False (logged) only when run is NULL or not a run id; a run with no
 * records reads as nothing done. */
bool journal_read_migration(const Journal *j, const char *run, MigrationRecord *out);

/* The completed renames recorded after migration run `run`, applied in
 * order to its names (renames.c): db (and role, --role) become each
 * rename's NEW when they were its OLD, and service_sha256 the file's
 * checksum as the last rename wrote it. What rollback must use. */
void journal_apply_renames(const Journal *j, const char *run, char *db, size_t db_size,
						   char *role, size_t role_size, char *service_sha256, size_t sha_size);

/* A run's downtime as its complete record keeps it:
 * {"seconds": 7.4, "phases": {"stop-apps": 0.3, "stream": 5.1, ...}}. */
json_t *journal_downtime_json(const Downtime *d);

/* The part of the apps' downtime outside the phases named in rehearsed
 * (NULL-terminated): stopping the apps, the files, compose bringing them
 * back. The median over every completed migrate on this stack that
 * recreated its apps (history.c), and how many there were; false when
 * there were none. */
bool journal_apps_overhead(const char *backups_dir, const char *const *rehearsed, double *median,
						   size_t *count);

#endif
