/*
 * run_internal.h — (internal to the migrate module) the state of one
 * migration run, shared by run.c (order, resume, failure handling) and
 * steps.c (what each step does).
 */
#ifndef PGFOLD_MIGRATE_RUN_INTERNAL_H
#define PGFOLD_MIGRATE_RUN_INTERNAL_H

#include <limits.h>
#include <time.h>

#include "pgfold/downtime.h"
#include "pgfold/journal.h"
#include "pgfold/migrate.h"
#include "pgfold/runner.h"
#include "pgfold/stream.h"
#include "pgfold/verify.h"

/* Journal step names (MIG_STEP_*): journal.h, the contract with rollback
 * and with re-runs. */

typedef struct Run
{
	App                  *app;
	size_t                index;
	StackService         *svc;
	const MigrateOptions *opts;
	Preflight             pf;
	MigrationNames        names;
	Journal               journal;
	Runner                rn;                  /* the run's journal and steps */
	Lock                  lock;
	char                  run_id[JOURNAL_STAMP_LEN + 1];
	bool                  resuming;
	double                started;

	char                  db_container[256];   /* id */
	char                  db_container_name[256];
	char                  project[256];
	char                  original_copy[PATH_MAX];
	char                  original_sha[FS_SHA256_HEX_LEN + 1];
	char                  dump_path[PATH_MAX];
	char                  log_path[PATH_MAX];
	char                  new_sha[FS_SHA256_HEX_LEN + 1];
	json_t               *stopped;             /* container ids we stopped */
	json_t               *file_apps;           /* of those, apps of other files that read
											    * an app file (started again at the end) */
	bool                  role_created;        /* by this run: undo on failure */
	bool                  password_file_created;   /* likewise; else it was there */
	bool                  files_written;
	bool                  cutover_done;
	bool                  keep_tmp;            /* verification mismatch: keep it */
	bool                  tmp_undone;          /* undo dropped (or kept) it already */
	int                   conn_limit;          /* the role's CONNECTION LIMIT, -1 none */
	bool                  proof_skipped;       /* --no-apply / --keep-app-stopped */
	StrBuf                password;            /* secret */
	MigrationFiles        files;               /* env_old kept for undo */
	bool                  files_built;
	StreamResult          stream;
	JobsPlan              jobs;                /* --jobs: decided before the apps stop */
	double                post_data_seconds;   /* -1: not run by this process */
	VerifyReport          report;
	Inventory             src_inv, dst_inv;
	double                analyze_seconds;     /* -1: not run by this process */
	Downtime              down;                /* the apps' window, in this process */
	json_t               *carry_map;           /* --with-roles: source role -> shared role */
} Run;

/* steps.c */
/* The "refs" line of the summary: what still names the old container or
 * database (refs_summary.c). */
void migrate_refs_summary(App *app, const char *old_host, const char *old_db, const char *new_db);

bool step_save_original(Run *r);
bool step_stop_apps(Run *r);
bool step_role(Run *r);
bool step_stream(Run *r);
/* jobs > 1: pg_restore -j of the post-data section from the dump file */
bool step_post_data(Run *r);
bool step_ownership(Run *r);
bool step_verify(Run *r);
/* steps_props.c */
bool step_properties(Run *r);
bool step_analyze(Run *r);
/* r->pf.props, read now when the pre-flight could not, and the shared
 * instance able to create its locale (exit 3 otherwise). */
bool steps_source_props(Run *r);
bool step_files(Run *r);
bool step_cutover(Run *r);
bool step_apply(Run *r);
void steps_restart_apps(Run *r);

/* proof.c */
bool step_connections(Run *r);
bool step_proof(Run *r);
void steps_undo_files(Run *r);
void steps_drop_temp(Run *r);
void steps_drop_created_role(Run *r);

/* guard_checks.c: the runners' state read again with the apps stopped
 * (refused unless --ignore-migration-state), their versions on the
 * restored copy; both read-only, not journaled. */
bool step_migration_state(Run *r);
bool step_migration_state_after(Run *r);
void guard_log_before(Run *r);
/* carry.c: --with-roles, after the hand-over (journaled "carry-roles": the
 * role names before any is created, then done); undo drops them. */
bool step_carry_roles(Run *r);
void steps_drop_carried_roles(Run *r);
/* "  warning ..." lines of what the options let go (summary). */
void guard_summary(const Run *r);
/* appfiles_write.c: the app files of r->files (apps configured by files) */
json_t *steps_app_files_save(Run *r);
bool steps_app_files_write(Run *r);
void steps_app_files_undo(Run *r);
bool steps_app_files_resume(Run *r);
bool steps_stop_file_apps(Run *r, json_t *ids, json_t *names);
bool step_start_file_apps(Run *r);

/* run.c */
bool run_step_done(Run *r, const char *step);
bool run_record(Run *r, const char *step, JournalStatus status, json_t *fields);

#endif
