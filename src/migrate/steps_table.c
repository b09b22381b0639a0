/*
 * steps_table.c — migrate's steps as the runner runs them (runner.h): the
 * order, and what undoes each. Undo runs last row first, so the files come
 * back before the temporary database goes, the roles after the database
 * that held their objects, and the apps start last.
 */
#include "run_internal.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/runner.h"

/* The runner hands each step its context as void *; the steps stay typed. */
#define ROW(fn) static bool fn##_row(void *ctx) { return fn(ctx); }
ROW(step_connections) ROW(step_save_original) ROW(step_stop_apps) ROW(step_migration_state)
ROW(step_role) ROW(step_stream) ROW(step_post_data) ROW(step_ownership) ROW(step_carry_roles)
ROW(step_properties) ROW(step_analyze) ROW(step_verify) ROW(step_migration_state_after)
ROW(step_files) ROW(step_cutover) ROW(step_apply) ROW(step_start_file_apps) ROW(step_proof)
#undef ROW

/* The apps this run stopped, also those a crashed earlier process stopped. */
static void
undo_stop(void *ctx)
{
	Run *r = ctx;

	if (r->stopped == NULL)
	{
		json_t *stop = journal_step_done(&r->journal, r->run_id, MIG_STEP_STOP);

		r->stopped = stop ? json_incref(json_object_get(stop, "containers")) : NULL;
	}
	if (r->stopped != NULL && r->app->docker != NULL)
		steps_restart_apps(r);
}

static void
undo_role(void *ctx)
{
	steps_drop_created_role(ctx);
}

/* Once: both the stream and the carried roles' undo need it gone. */
static void
undo_temp(void *ctx)
{
	Run *r = ctx;

	if (r->names.tmp_db[0] == '\0' || r->tmp_undone)
		return;
	r->tmp_undone = true;
	steps_drop_temp(r);
}

/* A carried role owns objects in the temporary database: it goes first. */
static void
undo_carry(void *ctx)
{
	undo_temp(ctx);
	steps_drop_carried_roles(ctx);
}

static void
undo_files(void *ctx)
{
	steps_undo_files(ctx);
}

static const RunnerStep migrate_table[] = {
	{ MIG_STEP_CONNS, step_connections_row, NULL },
	{ MIG_STEP_SAVE, step_save_original_row, NULL },
	{ MIG_STEP_STOP, step_stop_apps_row, undo_stop },
	{ MIG_STEP_STATE, step_migration_state_row, NULL },
	{ MIG_STEP_ROLE, step_role_row, undo_role },
	{ MIG_STEP_STREAM, step_stream_row, undo_temp },
	/* its failure leaves a temp db without indexes: the stream's undo drops it */
	{ MIG_STEP_POST_DATA, step_post_data_row, NULL },
	{ MIG_STEP_OWNERSHIP, step_ownership_row, NULL },
	{ MIG_STEP_CARRY, step_carry_roles_row, undo_carry },
	{ MIG_STEP_PROPERTIES, step_properties_row, NULL },
	{ MIG_STEP_ANALYZE, step_analyze_row, NULL },
	{ MIG_STEP_VERIFY, step_verify_row, NULL },
	{ MIG_STEP_STATE_AFTER, step_migration_state_after_row, NULL },
	{ MIG_STEP_FILES, step_files_row, undo_files },
	/* after the cut-over the data lives on the shared instance: a failure
	 * is finished by a re-run, never undone (migrate.h) */
	{ MIG_STEP_CUTOVER, step_cutover_row, NULL },
	{ MIG_STEP_APPLY, step_apply_row, NULL },
	{ MIG_STEP_START_FILE_APPS, step_start_file_apps_row, NULL },
	{ MIG_STEP_PROOF, step_proof_row, NULL },
};

_Static_assert(sizeof(migrate_table) / sizeof(migrate_table[0]) > MIGRATE_STEPS_BEFORE_CUTOVER,
			   "the cut-over row comes after the rows undo can put back");

const RunnerStep *
migrate_steps(size_t *n)
{
	if (n != NULL)
		*n = sizeof(migrate_table) / sizeof(migrate_table[0]);
	return migrate_table;
}
