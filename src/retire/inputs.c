/*
 * inputs.c — what must hold for the way back to stay open once the
 * dedicated container is gone: rollback's inputs (the saved original, the
 * override through the operator's compose), a restore-tested backup of the
 * shared database newer than the cut-over (taken and tested with the
 * backup code of `pgfold backup` / `backups test` when there is none), and
 * the data volume used by no other container.
 */
#include "rt_internal.h"

#include "pgfold/composecmd.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/instance.h"
#include "pgfold/log.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The original file bytes in the journal, and the override compose reads
 * with the service file: what `rollback` needs to bring the db back. */
bool
rt_rollback_inputs(Rt *t)
{
	char sha[FS_SHA256_HEX_LEN + 1], rel[PATH_MAX];
	const char *cfg[] = { "config", "-q", NULL };
	const char *files[] = { rel, NULL };
	struct stat st;
	char **argv;
	bool ok;

	if (!t->mig->save.done || t->mig->save.copy[0] == '\0'
		|| !fs_sha256_file(t->mig->save.copy, sha, NULL)
		|| strcmp(sha, t->mig->save.sha256) != 0)
		return rt_refuse(t, "the saved original %s is missing or no longer matches the sha256 "
					   "the journal recorded: rollback could not restore the service file",
					   t->mig->save.copy);
	if (!t->mig->files.done || stat(t->mig->files.override, &st) != 0
		|| !fs_relative_to(t->app->cfg.root, t->mig->files.override, rel, sizeof(rel)))
		return rt_refuse(t, "the override %s is missing: nothing would describe the dedicated "
					   "db for a rollback", t->mig->files.override);
	argv = composecmd_argv(t->app, app_invocation(t->app, t->index), files, cfg);
	ok = composecmd_run(argv, "compose config");
	composecmd_argv_free(argv);
	if (!ok)
		return rt_refuse(t, "%s with %s fails `compose config` (its output is above): rollback "
					   "could not bring the dedicated db back", t->svc->path, rel);
	return true;
}

bool
rt_volume_users(Rt *t, const char *volume, char *out, size_t size)
{
	DockerFilter all = { .all = true };
	json_t *list = NULL, *c, *m;
	size_t i, k;
	StrBuf names = STRBUF_INIT;

	out[0] = '\0';
	if (!docker_list_containers(t->app->docker, &all, &list))
		return false;
	json_array_foreach(list, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

		if (id == NULL || strcmp(id, t->id) == 0)
			continue;
		json_array_foreach(json_object_get(c, "Mounts"), k, m)
		{
			const char *vn = json_string_value(json_object_get(m, "Name"));

			if (vn != NULL && strcmp(vn, volume) == 0)
			{
				sb_appendf(&names, "%s%s", names.len ? ", " : "",
						   name ? (name[0] == '/' ? name + 1 : name) : id);
				break;
			}
		}
	}
	str_copy(out, size, sb_str(&names));
	sb_free(&names);
	json_decref(list);
	return true;
}


/* The newest dump of the shared database under backups/shared/<db>/ taken
 * at or after the cut-over whose restore test passed and whose sidecar
 * still matches. "" in t->backup when none. */
bool
rt_find_backup(Rt *t)
{
	char top[PATH_MAX], dir[PATH_MAX], path[PATH_MAX], best[PATH_MAX] = "";
	time_t best_when = 0;
	StrBuf safe = STRBUF_INIT;
	DIR *d = NULL;

	t->backup[0] = '\0';
	instance_file_safe(t->mig->db, &safe);
	if (shared_backup_dir(&t->app->cfg, top, sizeof(top))
		&& str_format(dir, sizeof(dir), "%s/%s", top, sb_str(&safe)))
		d = opendir(dir);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
	{
		time_t when = 0, tested = 0;
		bool ok = false;

		if (!shared_backup_dump_time(e->d_name, sb_str(&safe), &when) || when < t->cutover - 1
			|| !str_format(path, sizeof(path), "%s/%s", dir, e->d_name)
			|| !backups_tested_read(path, &tested, &ok) || !ok
			|| (best[0] != '\0' && when <= best_when))
			continue;
		str_copy(best, sizeof(best), path);
		best_when = when;
	}
	if (d != NULL)
		closedir(d);
	sb_free(&safe);
	if (best[0] != '\0' && fs_sha256_sidecar_verify(best))
		str_copy(t->backup, sizeof(t->backup), best);
	t->backup_needed = t->backup[0] == '\0';
	return true;
}

/* `pgfold backup DB` then `pgfold backups test` of that dump. */
bool
rt_take_backup(Rt *t)
{
	char *dbs[] = { t->mig->db };
	SharedBackupRun run;
	RestoreTest test;
	bool ok;

	log_notice("no restore-tested backup of \"%s\" newer than the cut-over: taking one and "
			   "testing it", t->mig->db);
	memset(&run, 0, sizeof(run));
	memset(&test, 0, sizeof(test));
	ok = shared_backup_run(t->app, dbs, 1, &run) && run.count == 1 && run.dbs[0].ok
		&& run.failed == 0;
	if (ok)
	{
		ok = backups_restore_test(t->app, run.dbs[0].dump.path, &test) && test.ok;
		if (ok)
			str_copy(t->backup, sizeof(t->backup), run.dbs[0].dump.path);
		else
			log_error("the restore test of %s failed: %s", run.dbs[0].dump.path,
					  test.reason[0] ? test.reason : "see above");
	}
	free(test.db);
	shared_backup_run_free(&run);
	return ok;
}
