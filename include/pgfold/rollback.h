/*
 * rollback.h — putting a migrated service back on its dedicated postgres
 * container, with the data it wrote while it lived on the shared instance.
 *
 * Everything the rollback needs about the migration comes from the
 * migration's journal records (journal_read_migration, journal.h): the saved
 * original service file and its sha256 (save-original), the names and the
 * compose project (role), the migration dump (stream), its verified counts
 * (verify), the sha256 of the file migrate wrote, the override and the .env
 * keys it added (files).
 *
 * Order of the steps (each journaled under op "rollback"; docs/ROLLBACK.md):
 *   options, stop-apps, backup (pg_dump of the shared database into
 *   <service>_pre_rollback_<run>.dump), start-db (compose up of the db
 *   service with the override, pg_isready), restore (into a temporary
 *   database inside the dedicated container), verify, swap (old database
 *   renamed aside, restored one renamed in), files (original service file
 *   back, override moved to backups/), apply, drop-stale (the old database
 *   set aside), drop-shared (--drop-shared only).
 *
 * Until the files step the stack still points at the shared instance: any
 * failure there is undone completely (swap reversed, temporary database
 * dropped, dedicated container stopped again, apps restarted). After it the
 * stack points at the dedicated database: a failure leaves the apps stopped
 * and a re-run finishes the job. A crash anywhere is resumed by a re-run.
 */
#ifndef PGFOLD_ROLLBACK_H
#define PGFOLD_ROLLBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/app.h"

/* Journal step names of a rollback run: journal.h (RB_STEP_*). */

/* Where the dedicated database's data comes from. */
typedef enum RollbackData
{
	RB_DATA_CURRENT = 0,   /* default: the shared database as it is now */
	RB_DATA_LATEST,        /* --latest-backup: newest dump of the service */
	RB_DATA_FILE,          /* --backup FILE */
	RB_DATA_ORIGINAL       /* --original-data: the volume as it was */
} RollbackData;

typedef struct RollbackOptions
{
	RollbackData data;
	const char  *backup_file;   /* --backup FILE (absolute after parsing) */
	bool         yes;           /* --yes */
	bool         dry_run;       /* --dry-run */
	bool         no_apply;      /* --no-apply: print the compose command */
	bool         drop_shared;   /* --drop-shared */
	bool         deep;          /* --deep: content hashes */
} RollbackOptions;

/* "current", "latest-backup", "backup", "original-data" */
const char *rollback_data_name(RollbackData data);

/* `rollback SERVICE --dry-run`: checks, steps, diffs. Changes nothing.
 * Returns the exit code (0 could proceed or nothing to do, 3 blocked). */
int rollback_plan(App *app, size_t index, const RollbackOptions *opts);

/* `rollback SERVICE`. Returns the exit code. */
int rollback_run(App *app, size_t index, const RollbackOptions *opts);

#endif
