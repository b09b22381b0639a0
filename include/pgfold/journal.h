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
/* Longest run id or step name. */
#define JOURNAL_NAME_MAX        64
/* "YYYYmmddTHHMMSSZ" */
#define JOURNAL_STAMP_LEN       16

typedef enum JournalOp
{
	JOURNAL_MIGRATE = 0,
	JOURNAL_ROLLBACK
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

const char *journal_op_name(JournalOp op);            /* "migrate" / "rollback" */
const char *journal_status_name(JournalStatus status); /* "started" / "done" / "failed" */
bool journal_op_parse(const char *name, JournalOp *op);
bool journal_status_parse(const char *name, JournalStatus *status);

/* Compose service names: [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 bytes; they
 * become file names, so nothing else is accepted (logs the error). */
bool journal_service_name_valid(const char *service);

/* <backups>/postgres-migrations into out. */
bool journal_dir_path(const char *backups_dir, char *out, size_t outsize);

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

/* A new run id, "YYYYmmddTHHMMSSZ-xxxxxx" (UTC `when` + 6 random hex). */
bool journal_new_run_id(time_t when, char *out, size_t outsize);

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
 * however it exits, so a file left by a dead process never blocks. The file
 * itself stays (removing it would race with the next acquirer).
 */
#define LOCK_FILE_NAME ".pgfold.lock"

typedef struct Lock
{
	int  fd;
	char path[PATH_MAX];
} Lock;

#define LOCK_INIT { .fd = -1 }

bool lock_acquire(const char *root, const char *what, Lock *out);
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

/* <backups>/postgres-migrations/<service>_<YYYYmmddTHHMMSSZ>.<ext> */
bool journal_run_file_path(const char *backups_dir, const char *service, time_t when,
						   const char *ext, char *out, size_t outsize);

/* Create the directory if needed, create (0640) or append to
 * <service>_<stamp>.log and send the log there (log_open_file). The path
 * goes to path_out when not NULL. */
bool journal_open_run_log(const char *backups_dir, const char *service, time_t when,
						  char *path_out, size_t outsize);

/* A run's downtime as its complete record keeps it:
 * {"seconds": 7.4, "phases": {"stop-apps": 0.3, "stream": 5.1, ...}}. */
json_t *journal_downtime_json(const Downtime *d);

#endif
