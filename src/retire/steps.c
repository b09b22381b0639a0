/*
 * steps.c — retire's steps. inventory journals what will be removed (with
 * the volumes' sizes, read from the engine before anything goes);
 * remove-container journals "started" before the engine is asked (from
 * there on the fold reads as retired and a re-run finishes), then removes
 * exactly the container the inventory names (by id); remove-volumes removes
 * exactly the volumes it names. Each step, resumed after a crash, finds
 * what the crashed process already removed and goes on.
 */
#include "rt_internal.h"

#include "pgfold/log.h"

#include <string.h>

static bool
record(Rt *t, const char *step, JournalStatus status, json_t *f)
{
	bool ok = runner_record(&t->rn, step, status, f);

	json_decref(f);
	return ok;
}

/* What a resumed run removes: the inventory of the crashed one. */
static bool
load_inventory(Rt *t, json_t *done)
{
	const char *c = json_string_value(json_object_get(done, "container"));
	const char *id = json_string_value(json_object_get(done, "id"));
	const char *b = json_string_value(json_object_get(done, "backup"));
	json_t *v = json_object_get(done, "volumes");

	if (c == NULL || id == NULL || !json_is_array(v))
	{
		log_error("the inventory of retire run %s is incomplete; inspect %s", t->run_id,
				  t->journal.path);
		return false;
	}
	str_copy(t->container, sizeof(t->container), c);
	str_copy(t->id, sizeof(t->id), id);
	str_copy(t->backup, sizeof(t->backup), b ? b : "");
	json_decref(t->volumes);
	t->volumes = json_deep_copy(v);
	return true;
}

bool
rt_step_inventory(Rt *t)
{
	json_t *done = runner_done(&t->rn, RT_STEP_INVENTORY), *sizes = NULL, *v;
	size_t i;

	if (done != NULL)
		return load_inventory(t, done);
	/* the disk each volume holds, before it goes: what the summary gives back */
	if (json_array_size(t->volumes) > 0 && !docker_volume_sizes(t->app->docker, &sizes))
		return false;
	json_array_foreach(t->volumes, i, v)
	{
		json_t *size = json_object_get(sizes, json_string_value(json_object_get(v, "name")));

		json_object_set_new(v, "bytes", json_integer(json_is_integer(size)
													 ? json_integer_value(size) : -1));
	}
	json_decref(sizes);
	return record(t, RT_STEP_INVENTORY, JOURNAL_DONE,
				  json_pack("{s:s, s:s, s:s, s:s, s:O, s:I, s:s, s:s}", "migrate_run",
							t->mig->run, "container", t->container, "id", t->id,
							"data_dir", t->data_dir, "volumes", t->volumes,
							"binds", (json_int_t) t->binds, "backup", t->backup,
							"evidence", t->evidence));
}

/* Right before the point of no return, as the world is now: the container
 * stopped, its volumes mounted by nothing else. */
static bool
still_fit(Rt *t, bool *gone)
{
	json_t *inspect = NULL, *v;
	bool found = false;
	size_t i;
	char users[512];

	if (!docker_inspect_container(t->app->docker, t->id, &inspect, &found))
		return false;
	*gone = !found;
	if (found && docker_inspect_running(inspect))
	{
		json_decref(inspect);
		return rt_refuse(t, "%s is running again: stop it first (`docker stop %s`)",
						 t->container, t->container);
	}
	json_decref(inspect);
	json_array_foreach(t->volumes, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));

		if (!rt_volume_users(t, name, users, sizeof(users)))
			return false;
		if (users[0] != '\0')
			return rt_refuse(t, "volume %s is also mounted by %s now", name, users);
	}
	return true;
}

bool
rt_step_remove_container(Rt *t)
{
	bool gone = false;

	if (runner_done(&t->rn, RT_STEP_REMOVE_CONTAINER) != NULL)
		return true;
	if (journal_step(&t->journal, t->run_id, RT_STEP_REMOVE_CONTAINER) == NULL)
	{
		if (!still_fit(t, &gone))
			return false;
		if (!record(t, RT_STEP_REMOVE_CONTAINER, JOURNAL_STARTED,
					json_pack("{s:s, s:s}", "container", t->container, "id", t->id)))
			return false;
	}
	if (!docker_remove_container(t->app->docker, t->id, &gone))
		return false;
	log_notice("%s %s", gone ? "already removed:" : "removed container", t->container);
	return record(t, RT_STEP_REMOVE_CONTAINER, JOURNAL_DONE,
				  json_pack("{s:s, s:s, s:b}", "container", t->container, "id", t->id,
							"gone", gone));
}

bool
rt_step_remove_volumes(Rt *t)
{
	json_t *done = runner_done(&t->rn, RT_STEP_REMOVE_VOLUMES), *v;
	size_t i;

	t->bytes = 0;
	json_array_foreach(t->volumes, i, v)
	{
		json_int_t b = json_integer_value(json_object_get(v, "bytes"));

		t->bytes += b > 0 ? b : 0;
	}
	if (done != NULL)
		return true;
	json_array_foreach(t->volumes, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		bool gone = false;

		if (!docker_remove_volume(t->app->docker, name, &gone))
			return false;
		log_notice("%s volume %s", gone ? "already removed:" : "removed", name);
	}
	return record(t, RT_STEP_REMOVE_VOLUMES, JOURNAL_DONE,
				  json_pack("{s:O, s:I}", "volumes", t->volumes, "bytes", (json_int_t) t->bytes));
}
