/*
 * steps_table.c — retire's steps as the runner runs them (runner.h). No
 * row has an undo: before remove-container nothing was changed, and from
 * its "started" record on a re-run finishes the run instead.
 */
#include "rt_internal.h"

#define ROW(fn) static bool fn##_row(void *ctx) { return fn(ctx); }
ROW(rt_step_inventory) ROW(rt_step_remove_container) ROW(rt_step_remove_volumes)
#undef ROW

static const RunnerStep retire_table[] = {
	{ RT_STEP_INVENTORY, rt_step_inventory_row, NULL },
	{ RT_STEP_REMOVE_CONTAINER, rt_step_remove_container_row, NULL },
	{ RT_STEP_REMOVE_VOLUMES, rt_step_remove_volumes_row, NULL },
};

const RunnerStep *
rt_steps(size_t *n)
{
	if (n != NULL)
		*n = sizeof(retire_table) / sizeof(retire_table[0]);
	return retire_table;
}
