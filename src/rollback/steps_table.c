/*
 * steps_table.c — rollback's steps as the runner runs them (runner.h): the
 * order, and what undoes each. Undo runs last row first: the files come
 * back, then the dedicated cluster as it was, then the apps start.
 */
#include "rb_internal.h"

#include "pgfold/runner.h"

/* The runner hands each step its context as void *; the steps stay typed. */
#define ROW(fn) static bool fn##_row(void *ctx) { return fn(ctx); }
ROW(rb_step_stop_apps) ROW(rb_step_backup) ROW(rb_step_start_db) ROW(rb_step_restore)
ROW(rb_step_verify) ROW(rb_step_swap) ROW(rb_step_files) ROW(rb_step_apply)
ROW(rb_step_drop_stale) ROW(rb_step_drop_shared)
#undef ROW

/* The apps this run stopped, also those a crashed earlier process stopped. */
static void
undo_stop(void *ctx)
{
	Rb *r = ctx;

	if (r->stopped == NULL && rb_done(r, RB_STEP_STOP) != NULL)
		r->stopped = json_incref(json_object_get(rb_done(r, RB_STEP_STOP), "containers"));
	if (r->stopped != NULL && r->app->docker != NULL)
		app_start_containers(r->app, r->stopped);
}

/* start-db, restore and swap change the dedicated cluster: one undo puts
 * it back as it was (rb_undo_data), before the apps start again. */
static void
undo_data(void *ctx)
{
	rb_undo_data(ctx);
}

static void
undo_files(void *ctx)
{
	rb_undo_files(ctx);
}

static const RunnerStep rollback_table[] = {
	{ RB_STEP_STOP, rb_step_stop_apps_row, undo_stop },
	{ RB_STEP_BACKUP, rb_step_backup_row, NULL },
	{ RB_STEP_START_DB, rb_step_start_db_row, undo_data },
	{ RB_STEP_RESTORE, rb_step_restore_row, NULL },
	{ RB_STEP_VERIFY, rb_step_verify_row, NULL },
	{ RB_STEP_SWAP, rb_step_swap_row, NULL },
	{ RB_STEP_FILES, rb_step_files_row, undo_files },
	/* once the files point at the dedicated database a failure is finished
	 * by a re-run, never undone */
	{ RB_STEP_APPLY, rb_step_apply_row, NULL },
	{ RB_STEP_DROP_STALE, rb_step_drop_stale_row, NULL },
	{ RB_STEP_DROP_SHARED, rb_step_drop_shared_row, NULL },
};

_Static_assert(sizeof(rollback_table) / sizeof(rollback_table[0]) > RB_STEPS_BEFORE_APPLY,
			   "the apply row comes after the rows undo can put back");

const RunnerStep *
rb_steps(size_t *n)
{
	if (n != NULL)
		*n = sizeof(rollback_table) / sizeof(rollback_table[0]);
	return rollback_table;
}
