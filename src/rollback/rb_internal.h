/*
 * rb_internal.h — (internal to the rollback module) the state of one
 * rollback, shared by context.c (what the migration left), checks.c
 * (pre-flight), dedicated.c (the dedicated container), steps.c and
 * finish.c (what each step does), run.c (order, resume, undo) and plan.c
 * (--dry-run).
 */
#ifndef PGFOLD_ROLLBACK_RB_INTERNAL_H
#define PGFOLD_ROLLBACK_RB_INTERNAL_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "pgfold/dbprops.h"
#include "pgfold/downtime.h"
#include "pgfold/fsutil.h"
#include "pgfold/journal.h"
#include "pgfold/preflight.h"
#include "pgfold/rollback.h"
#include "pgfold/runner.h"
#include "pgfold/stream.h"
#include "pgfold/verify.h"

/* Journal step names, of the migration (MIG_STEP_*) and of a rollback
 * (RB_STEP_*): journal.h. */

/* Names inside the dedicated cluster while the data is swapped. */
#define RB_TMP_SUFFIX   "__pgfold_rollback"
#define RB_ASIDE_SUFFIX "__pgfold_stale"

/* What the migration's journal records say. */
typedef struct RbMigration
{
	char       run[JOURNAL_NAME_MAX + 1];
	char       shared_db[64];
	char       role[64];
	char       container[256];         /* dedicated container's name */
	char       user[128];              /* its POSTGRES_USER */
	char       db[128];                /* its POSTGRES_DB */
	char       project[256];
	char       original_copy[PATH_MAX];
	char       original_sha[FS_SHA256_HEX_LEN + 1];
	char       migrated_sha[FS_SHA256_HEX_LEN + 1];
	char       override_path[PATH_MAX];
	json_t    *env_keys;               /* borrowed from the journal */
	json_t    *app_files;              /* likewise: apps' own files it rewrote */
	char       env_path[PATH_MAX];     /* the env file they went to */
	char       dump[PATH_MAX];
	char       dump_sha[FS_SHA256_HEX_LEN + 1];
	/* a run whose apps were recreated on the shared instance but whose
	 * connection proof failed: not complete, but everything a rollback
	 * needs is done; the rollback ends it (an "abort" record) */
	bool       unproven;
} RbMigration;

/* Counts pgfold recorded about the source of a dump. */
typedef struct RbCounts
{
	bool      known;
	long long tables;
	long long rows;
	int       server_version;   /* of the dump's source; 0 = unknown */
} RbCounts;

typedef struct Rb
{
	App                   *app;
	size_t                 index;
	StackService          *svc;
	const RollbackOptions *opts;
	Journal                journal;
	Runner                 rn;                 /* the run's journal and steps */
	Lock                   lock;
	bool                   dry_run;
	char                   run_id[JOURNAL_NAME_MAX + 1];
	bool                   resuming;
	time_t                 started;
	Downtime               down;               /* the apps' window, in this process */
	char                   log_path[PATH_MAX];

	RbMigration            mig;
	StackService           orig;            /* the saved original, parsed */
	bool                   orig_parsed;
	StrBuf                 orig_bytes;
	const char            *db_key;          /* the db service, in orig */
	char                   service_rel[PATH_MAX];
	char                   override_rel[PATH_MAX];

	RollbackData           data;
	char                   source[PATH_MAX];   /* dump restored ("" = this run's) */
	char                   dump[PATH_MAX];     /* this run's pre-rollback dump */
	char                   dump_sha[FS_SHA256_HEX_LEN + 1];
	char                   override_saved[PATH_MAX];
	char                   tmp_db[64];
	char                   aside_db[64];
	char                   maint_db[16];
	char                   container[256];     /* running dedicated container (name) */
	bool                   started_db;         /* by this run: stop it on undo */
	json_t                *stopped;            /* app container ids we stopped */
	json_t                *file_apps;          /* of those, apps of other files that
											    * read an app file (started at the end) */
	bool                   keep_tmp;           /* verification mismatch */
	bool                   swapped;
	bool                   files_written;      /* by this run: undo restores */
	bool                   past_files;         /* the stack points at the dedicated db */
	StrBuf                 found_bytes;        /* service file as found (undo) */
	StrBuf                *app_found;          /* app files as found (undo), */
	size_t                 app_found_count;    /* parallel to mig.app_files */
	StreamResult           backup_stream;
	StreamResult           restore_stream;
	VerifyReport           report;
	Inventory              src_inv, dst_inv;
	RbCounts               backup_counts;      /* shared database at backup time */
	DbProps                props;              /* the shared database's (dbprops.h) */
} Rb;

/* steps_table.c: the steps in order (runner.h); the first
 * RB_STEPS_BEFORE_APPLY can be undone, the rest are finished by a re-run */
#define RB_STEPS_BEFORE_APPLY 7
const RunnerStep *rb_steps(size_t *n);

/* context.c */
bool rb_find_migration(Rb *r, const Journal *j);
bool rb_parse_original(Rb *r);
bool rb_names(Rb *r);
bool rb_pick_latest(Rb *r, char *out, size_t size);
bool rb_dump_counts(const Rb *r, const char *sha, RbCounts *out);
bool rb_service_rel(const Rb *r, const char *path, char *out, size_t size);
const char *rb_field(json_t *rec, const char *key);
void rb_free(Rb *r);

/* checks.c */
void rb_checks(Rb *r, Preflight *pf);
bool rb_service_state(Rb *r, StrBuf *current, bool *edited, bool *restored);
/* Another db of the same file folded after this one: it must be rolled
 * back first (checks.c). NULL when none. */
const StackService *rb_folded_later(const Rb *r);

/* dedicated.c */
bool rb_db_up(Rb *r);
bool rb_db_stop(Rb *r);
bool rb_db_exists(Rb *r, const char *db, bool *exists);
bool rb_db_create_tmp(Rb *r);
bool rb_db_finish_tmp(Rb *r);
bool rb_db_fit_for(Rb *r, int source_version);
bool rb_db_drop(Rb *r, const char *db);
bool rb_db_rename(Rb *r, const char *from, const char *to);
bool rb_db_inventory(Rb *r, const char *db, bool deep, Inventory *inv);
char **rb_compose_argv(Rb *r, bool with_override, const char *const *extra);

/* retired.c: a fold `pgfold retire` retired (retire.h) */
struct RetireState;
bool rb_retired(const Rb *r, struct RetireState *st);
bool rb_retired_check(Rb *r, Preflight *pf);    /* true: it was, and said so */
void rb_retired_describe(Rb *r, StrBuf *out, int n, const char *up);
bool rb_retired_wait_init(Rb *r);

/* steps.c */
bool rb_step_stop_apps(Rb *r);
bool rb_step_backup(Rb *r);
bool rb_step_start_db(Rb *r);
bool rb_step_restore(Rb *r);
bool rb_step_verify(Rb *r);
bool rb_step_swap(Rb *r);
void rb_undo_data(Rb *r);

/* finish.c */
bool rb_step_files(Rb *r);
bool rb_step_apply(Rb *r);
bool rb_step_drop_stale(Rb *r);
bool rb_step_drop_shared(Rb *r);
void rb_undo_files(Rb *r);
bool rb_service_diff(Rb *r, const StrBuf *cur, StrBuf *out);
void rb_print_edits(Rb *r, FILE *out);
bool rb_env_without(Rb *r, StrBuf *old_env, StrBuf *new_env, bool *changed);

/* appfiles.c: the apps' own files migrate rewrote */
bool rb_app_files_restore(Rb *r);
void rb_app_files_check(Rb *r, Preflight *pf);
bool rb_app_files_stop_apps(Rb *r, json_t *ids, json_t *names);
void rb_app_files_start_apps(Rb *r);
void rb_app_files_undo(Rb *r);
void rb_app_files_describe(const Rb *r, StrBuf *out);

/* run.c */
void rb_init(Rb *r, App *app, size_t index, const RollbackOptions *opts, bool dry_run);
int rb_begin(Rb *r);
bool rb_step_done(Rb *r, const char *step);
json_t *rb_done(Rb *r, const char *step);
bool rb_record(Rb *r, const char *step, json_t *fields);

#endif
