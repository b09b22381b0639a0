/*
 * recover.c — a rename a crash left half done (no "complete", no
 * "abort") is undone by the next `pgfold rename` of the same journal,
 * before anything else: every undo decides from the journal and the world.
 */
#include "ren_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

#include <stdlib.h>
#include <string.h>

/* The last rename run of j that neither completed nor was aborted. */
static const char *
unfinished(const Journal *j)
{
	JournalRun *runs = NULL;
	size_t n = journal_runs(j, &runs);
	const char *run = NULL;

	for (size_t i = n; i-- > 0;)
		if (runs[i].op == JOURNAL_RENAME)
		{
			if (!runs[i].complete && (runs[i].last_step == NULL
									  || strcmp(runs[i].last_step, JOURNAL_STEP_ABORT) != 0))
				run = runs[i].run;
			break;
		}
	free(runs);
	return run;
}

static const char *
opt_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

bool
ren_recover(Ren *r)
{
	Journal j = JOURNAL_INIT;
	Lock lock = LOCK_INIT;
	bool exists = false, ok = true;
	const char *run;
	json_t *opts;

	if (!journal_load(r->app->cfg.backups_dir, r->jname, &j, &exists))
		return false;
	run = exists ? unfinished(&j) : NULL;
	journal_close(&j);
	if (run == NULL)
		return true;
	if (!lock_acquire(r->app->cfg.root, "rename (undo an interrupted one)", &lock)
		|| !journal_open(r->app->cfg.backups_dir, r->jname, &j))
	{
		lock_release(&lock);
		return false;
	}
	run = unfinished(&j);      /* the records of the open journal */
	opts = run ? journal_step_done(&j, run, REN_STEP_OPTIONS) : NULL;
	if (run != NULL && opts != NULL && opt_str(opts, "from") && opt_str(opts, "to"))
	{
		RenameOptions o = { .from = opt_str(opts, "from"), .to = opt_str(opts, "to"),
							.role = json_is_true(json_object_get(opts, "role")) };
		Ren u = { .app = r->app, .o = &o, .svc = r->svc };
		size_t n;
		const RunnerStep *steps = ren_steps(&n);

		str_copy(u.jname, sizeof(u.jname), r->jname);
		str_copy(u.run_id, sizeof(u.run_id), run);
		u.rn = (Runner) { &j, JOURNAL_RENAME, u.run_id, &u, NULL };
		log_notice("rename %s of \"%s\" to \"%s\" was interrupted: undoing it first", run,
				   o.from, o.to);
		runner_undo(&u.rn, steps, n, NULL);
	}
	else if (run != NULL)
	{
		/* interrupted before it recorded anything it could have changed */
		Runner rn = { &j, JOURNAL_RENAME, run, NULL, NULL };

		runner_record(&rn, JOURNAL_STEP_ABORT, JOURNAL_DONE, NULL);
	}
	journal_close(&j);
	lock_release(&lock);
	return ok;
}
