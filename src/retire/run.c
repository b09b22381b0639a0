/*
 * run.c — `pgfold retire SERVICE [--dry-run]`: which run this is (new,
 * resumed, nothing to do), the checks and the question, the steps, and
 * what was removed. See retire.h.
 */
#include "rt_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/log.h"
#include "pgfold/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
retire_parse_duration(const char *text, long long *seconds)
{
	if (text != NULL && strcmp(text, "0") == 0)
	{
		*seconds = 0;
		return true;
	}
	return backups_parse_age(text, seconds);
}

static void
human(long long bytes, char *out, size_t size)
{
	if (bytes < 0)
		str_copy(out, size, "size unknown");
	else
		stream_format_bytes((uint64_t) bytes, out, size);
}

/* An unfinished retire run of this fold that got past its inventory: a
 * re-run finishes it. Others unfinished (refused, crashed before the
 * inventory, of an earlier fold) are ended with an abort record. */
static const char *
pending_run(Rt *t, bool write)
{
	JournalRun *runs = NULL;
	size_t n = journal_runs(&t->journal, &runs);
	const char *found = NULL;

	for (size_t i = 0; i < n; i++)
	{
		json_t *inv = journal_step_done(&t->journal, runs[i].run, RT_STEP_INVENTORY);
		const char *mrun = inv ? json_string_value(json_object_get(inv, "migrate_run")) : NULL;

		if (runs[i].op != JOURNAL_RETIRE || runs[i].complete
			|| journal_step(&t->journal, runs[i].run, JOURNAL_STEP_ABORT) != NULL)
			continue;
		if (mrun != NULL && strcmp(mrun, t->mig->run) == 0)
			found = runs[i].run;
		else if (write)
		{
			json_t *f = json_pack("{s:s}", "reason", "unfinished before its inventory");

			journal_append(&t->journal, JOURNAL_RETIRE, runs[i].run, JOURNAL_STEP_ABORT,
						   JOURNAL_FAILED, f);
			json_decref(f);
		}
	}
	free(runs);
	return found;
}

/* -1: go on; else the exit code. */
static int
find_run(Rt *t, bool write)
{
	const char *mrun = NULL, *pending;
	RetireState st;

	if (!journal_is_migrated(&t->journal, &mrun))
	{
		log_error("%s cannot be retired: it is not migrated (no completed, live fold in %s); "
				  "nothing was removed", t->svc->name, t->journal.path);
		exit_hint_set(EXIT_BLOCKED);
		return EXIT_BLOCKED;
	}
	if (!journal_read_migration(&t->journal, mrun, t->mig))
		return exit_hint_get();
	if (retire_state(&t->journal, mrun, &st) && st.finished)
	{
		char size[32];

		human(st.bytes, size, sizeof(size));
		printf("%s: already retired (run %s, %s given back); `pgfold rollback %s` brings it "
			   "back on a new volume\n", t->svc->name, st.run, size, t->svc->name);
		return EXIT_OK;
	}
	pending = pending_run(t, write);
	t->resuming = pending != NULL;
	if (pending != NULL)
		return str_copy(t->run_id, sizeof(t->run_id), pending) ? -1 : EXIT_FAIL;
	return journal_new_run_id(&t->journal, NULL, t->run_id) ? -1 : EXIT_FAIL;
}

static int
begin(Rt *t, bool dry_run)
{
	char what[128];
	bool exists = false;
	int rc;

	if (!journal_load(t->app->cfg.backups_dir, service_fsname(t->svc), &t->journal, &exists))
		return exit_hint_get();
	if ((rc = find_run(t, false)) >= 0 || dry_run)
		return rc;
	journal_close(&t->journal);
	str_format(what, sizeof(what), "retire %s", t->svc->name);
	if (!lock_acquire(t->app->cfg.root, what, &t->lock))
		return exit_hint_get();   /* busy 7, interrupted 130, else 1 */
	if (!journal_open(t->app->cfg.backups_dir, service_fsname(t->svc), &t->journal))
		return exit_hint_get();
	memset(t->mig, 0, sizeof(*t->mig));
	return find_run(t, true);
}

static void
print_plan(Rt *t, FILE *out)
{
	char age[32], size[32];
	json_t *v;
	size_t i;

	rt_format_age((long long) difftime(time(NULL), t->cutover), age, sizeof(age));
	fprintf(out, "  fold      migration %s, cut-over %s ago; \"%s\" on the shared instance\n",
			t->mig->run, age, t->mig->db);
	fprintf(out, "  evidence  %s\n", t->evidence);
	if (t->backup[0] != '\0')
		fprintf(out, "  backup    %s (restore-tested, newer than the cut-over)\n", t->backup);
	else
		fprintf(out, "  backup    none newer than the cut-over: one is taken with `pgfold backup "
				"%s` and restore-tested first\n", t->mig->db);
	fprintf(out, "  remove    container %s (%.12s)\n", t->container, t->id);
	json_array_foreach(t->volumes, i, v)
	{
		human(json_integer_value(json_object_get(v, "bytes")), size, sizeof(size));
		fprintf(out, "  remove    volume %s at %s (%s)\n",
				json_string_value(json_object_get(v, "name")),
				json_string_value(json_object_get(v, "destination")), size);
	}
	if (json_array_size(t->volumes) == 0)
		fprintf(out, "  remove    no volume: nothing is mounted at %s%s\n", t->data_dir,
				t->binds ? " but a host directory, which is kept" : "");
	else if (t->binds > 0)
		fprintf(out, "  keep      the host directory mounted at %s\n", t->data_dir);
	fprintf(out, "  keep      %s, the journal and the dumps\n", t->mig->files.override);
	fprintf(out, "  rollback  `pgfold rollback %s` recreates %s with the override on a NEW "
			"volume (the image initialises it) and restores \"%s\" into it\n", t->svc->name,
			t->container, t->mig->db);
}

/* Sizes for the plan: what the engine says now. */
static void
plan_sizes(Rt *t)
{
	json_t *sizes = NULL, *v;
	size_t i;

	if (json_array_size(t->volumes) == 0 || !docker_volume_sizes(t->app->docker, &sizes))
		return;
	json_array_foreach(t->volumes, i, v)
	{
		json_t *s = json_object_get(sizes, json_string_value(json_object_get(v, "name")));

		if (json_is_integer(s))
			json_object_set(v, "bytes", s);
	}
	json_decref(sizes);
}

static int
plan(Rt *t)
{
	if (t->resuming)
	{
		printf("retire plan for %s\n\nan interrupted retire (run %s) is pending: `pgfold "
			   "retire %s` finishes it\n", t->svc->name, t->run_id, t->svc->name);
		return EXIT_OK;
	}
	if (!rt_checks(t))
		return exit_hint_get();
	plan_sizes(t);
	printf("retire plan for %s\n", t->svc->name);
	print_plan(t, stdout);
	printf("\nready: run `pgfold retire %s`\n", t->svc->name);
	return EXIT_OK;
}

static bool
confirm(Rt *t)
{
	StrBuf q = STRBUF_INIT, refusal = STRBUF_INIT;
	bool ok;

	plan_sizes(t);
	print_plan(t, stderr);
	ok = sb_appendf(&q, "Remove %s and its data volume(s)?", t->container)
		&& sb_appendf(&refusal, "not retiring %s", t->svc->name)
		&& runner_confirm(t->opts->yes, true, sb_str(&q), sb_str(&refusal));
	sb_free(&q);
	sb_free(&refusal);
	return ok;
}

static void
summary(Rt *t, const char *log_path)
{
	char size[32];
	json_t *v;
	size_t i;

	human(t->bytes, size, sizeof(size));
	printf("retired %s: removed %s and %zu volume(s), %s given back (%lld bytes)\n",
		   t->svc->name, t->container, json_array_size(t->volumes), size, t->bytes);
	printf("  removed   container %s (%.12s)\n", t->container, t->id);
	json_array_foreach(t->volumes, i, v)
	{
		human(json_integer_value(json_object_get(v, "bytes")), size, sizeof(size));
		printf("  removed   volume %s (%s, %lld bytes)\n",
			   json_string_value(json_object_get(v, "name")), size,
			   (long long) json_integer_value(json_object_get(v, "bytes")));
	}
	printf("  kept      %s, the journal and the dumps\n", t->mig->files.override);
	if (t->backup[0] != '\0')
		printf("  backup    %s (restore-tested)\n", t->backup);
	printf("  rollback  `pgfold rollback %s` recreates %s on a new volume and restores \"%s\" "
		   "into it\n", t->svc->name, t->container, t->mig->db);
	printf("  log       %s\n", log_path);
	log_info("retire of %s complete", t->svc->name);
}

static int
execute(Rt *t)
{
	size_t n;
	const RunnerStep *steps = rt_steps(&n);
	char log_path[PATH_MAX];

	if (!t->resuming && (!rt_checks(t) || !confirm(t)))
		return exit_hint_get();
	if (t->resuming && !app_engine(t->app))
		return EXIT_ENGINE;
	if (!journal_open_run_log(t->app->cfg.backups_dir, service_fsname(t->svc),
							  JOURNAL_RETIRE_FILE, t->run_id, log_path, sizeof(log_path)))
		return exit_hint_get();
	log_info("pgfold retire %s: run %s%s, migration %s", t->svc->name, t->run_id,
			 t->resuming ? " (resuming)" : "", t->mig->run);
	if (t->resuming)
		log_notice("finishing the interrupted retire of %s (run %s)", t->svc->name, t->run_id);
	else if (!rt_backup(t))
	{
		json_t *f = json_pack("{s:s}", "reason", "no verified backup");

		runner_undo(&t->rn, steps, n, f);
		json_decref(f);
		return exit_hint_get();
	}
	if (!runner_run(&t->rn, steps, n))
	{
		int rc = exit_hint_get();

		if (journal_step(&t->journal, t->run_id, RT_STEP_REMOVE_CONTAINER) != NULL)
			log_notice("%s is retired in part; re-run `pgfold retire %s` to finish", t->svc->name,
					   t->svc->name);
		else
			runner_undo(&t->rn, steps, n, NULL);
		return rc;
	}

	json_t *f = json_pack("{s:s, s:s, s:O, s:I}", "migrate_run", t->mig->run, "container",
						  t->container, "volumes", t->volumes, "bytes", (json_int_t) t->bytes);

	journal_complete(&t->journal, JOURNAL_RETIRE, t->run_id, f);
	json_decref(f);
	summary(t, log_path);
	return EXIT_OK;
}

int
retire_main(App *app, size_t index, const RetireOptions *opts)
{
	Rt t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.app = app;
	t.index = index;
	t.svc = &app->stack.services[index];
	t.opts = opts;
	t.journal = (Journal) JOURNAL_INIT;
	t.lock = (Lock) LOCK_INIT;
	t.mig = xcalloc(1, sizeof(*t.mig));
	t.rn = (Runner) { .journal = &t.journal, .op = JOURNAL_RETIRE, .run_id = t.run_id, .ctx = &t };
	if ((rc = begin(&t, opts->dry_run)) < 0)
		rc = opts->dry_run ? plan(&t) : execute(&t);
	json_decref(t.volumes);
	free(t.mig);
	journal_close(&t.journal);
	lock_release(&t.lock);
	return rc;
}
