/*
 * run.c — `pgfold rollback SERVICE`: which run this is (new, resumed, or
 * nothing to do), the order of the steps, undo after a failure, and the
 * summary. See rollback.h.
 */
#include "rb_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/secrets.h"
#include "pgfold/signals.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const data_names[] = { "current", "latest-backup", "backup", "original-data" };

const char *
rollback_data_name(RollbackData data)
{
	return data_names[data];
}

static bool
data_parse(const char *name, RollbackData *out)
{
	for (size_t i = 0; name != NULL && i < sizeof(data_names) / sizeof(data_names[0]); i++)
		if (strcmp(name, data_names[i]) == 0)
		{
			*out = (RollbackData) i;
			return true;
		}
	return false;
}

json_t *
rb_done(Rb *r, const char *step)
{
	return journal_step_done(&r->journal, r->run_id, step);
}

bool
rb_step_done(Rb *r, const char *step)
{
	return rb_done(r, step) != NULL;
}

bool
rb_record(Rb *r, const char *step, json_t *fields)
{
	return runner_record(&r->rn, step, JOURNAL_DONE, fields);
}

/* Nothing to roll back: say why (and what would be) and change nothing. */
static int
not_migrated(Rb *r)
{
	const char *run = journal_latest_run(&r->journal, JOURNAL_MIGRATE);

	if (r->svc->db_service < 0 && r->svc->meta_database != NULL
		&& strcmp(r->svc->meta_database, "postgres") == 0)
	{
		log_error("%s says it is migrated (`# database: postgres`) but %s records no completed "
				  "migration, so pgfold does not know its original file; bring the dedicated "
				  "db back by hand with the override: `<compose> -f %s -f overrides/%s-dedicated-"
				  "postgres.yml up -d`", r->svc->path, r->journal.path, r->svc->path,
				  service_fsname(r->svc));
		exit_hint_set(EXIT_BLOCKED);
		return EXIT_BLOCKED;
	}
	if (run != NULL && !journal_run_complete(&r->journal, run)
		&& journal_step(&r->journal, run, JOURNAL_STEP_ABORT) == NULL)
		printf("%s: not migrated; an interrupted migration (run %s) is pending: `pgfold migrate "
			   "%s` finishes it\n", r->svc->name, run, r->svc->name);
	else
		printf("%s: not migrated, nothing to roll back\n", r->svc->name);
	return EXIT_OK;
}

/* A rollback run interrupted (crash, kill -9) and not undone: it resumes
 * with the choices it started with. */
static int
resume(Rb *r, const char *run, json_t *options)
{
	const char *mrun = rb_field(options, "migrate_run"), *src = rb_field(options, "source");
	RollbackData data = RB_DATA_CURRENT;

	if (mrun == NULL || src == NULL || !data_parse(rb_field(options, "data"), &data)
		|| !str_copy(r->mig.run, sizeof(r->mig.run), mrun)
		|| !str_copy(r->source, sizeof(r->source), src))
	{
		log_error("the journal record of rollback run %s is incomplete; inspect %s", run,
				  r->journal.path);
		return EXIT_FAIL;
	}
	if (data != r->opts->data || (data == RB_DATA_FILE && strcmp(src, r->opts->backup_file) != 0))
	{
		log_error("an interrupted rollback of %s (run %s) restores %s%s%s; re-run it with the "
				  "same choice to finish it", r->svc->name, run, rollback_data_name(data),
				  data == RB_DATA_FILE ? " " : "", data == RB_DATA_FILE ? src : "");
		exit_hint_set(EXIT_USAGE);
		return EXIT_USAGE;
	}
	str_copy(r->run_id, sizeof(r->run_id), run);
	r->data = data;
	r->resuming = true;
	return -1;
}

/* The latest migration recreated the apps on the shared instance and
 * stopped at its connection proof (or a crash right before it): the data
 * and the files are as after a migration, so it rolls back as one. */
static bool
unproven_migration(Rb *r, const char **mrun)
{
	const char *run = journal_latest_run(&r->journal, JOURNAL_MIGRATE);

	if (run == NULL || journal_run_complete(&r->journal, run)
		|| journal_step(&r->journal, run, JOURNAL_STEP_ABORT) != NULL
		|| journal_step_done(&r->journal, run, MIG_STEP_APPLY) == NULL)
		return false;
	*mrun = run;
	r->mig.unproven = true;
	return true;
}

static int
find_run(Rb *r)
{
	const char *run = journal_latest_run(&r->journal, JOURNAL_ROLLBACK), *mrun = NULL;
	json_t *options = run ? journal_step_done(&r->journal, run, RB_STEP_OPTIONS) : NULL;

	if (options != NULL && !journal_run_complete(&r->journal, run)
		&& journal_step(&r->journal, run, JOURNAL_STEP_ABORT) == NULL)
		return resume(r, run, options);
	if (!journal_is_migrated(&r->journal, &mrun) && !unproven_migration(r, &mrun))
		return not_migrated(r);
	str_copy(r->mig.run, sizeof(r->mig.run), mrun);
	r->data = r->opts->data;
	/* the UTC stamp, as migrate's: it names the run's files
	 * (<service>_pre_rollback_<stamp>.dump), which the backups tools parse */
	return journal_new_run_id(&r->journal, NULL, r->run_id) ? -1 : EXIT_FAIL;
}

/* The apps are down from stop-apps to apply (downtime.h). */
static void
time_step(void *ctx, const char *name, double began, double ended)
{
	Rb *r = ctx;

	downtime_step(&r->down, name, began, ended,
				  strcmp(name, RB_STEP_STOP) == 0 && json_array_size(r->stopped) > 0,
				  strcmp(name, RB_STEP_APPLY) == 0 && !r->opts->no_apply);
}

void
rb_init(Rb *r, App *app, size_t index, const RollbackOptions *opts, bool dry_run)
{
	memset(r, 0, sizeof(*r));
	r->app = app;
	r->index = index;
	r->svc = &app->stack.services[index];
	r->opts = opts;
	r->dry_run = dry_run;
	r->lock = (Lock) LOCK_INIT;
	r->journal = (Journal) JOURNAL_INIT;
	r->rn = (Runner) { .journal = &r->journal, .op = JOURNAL_ROLLBACK, .run_id = r->run_id,
					   .ctx = r, .timed = time_step };
}

/* Open (or for --dry-run just read) the journal, find the run, load what
 * the migration left. -1 = go on, else the exit code. */
int
rb_begin(Rb *r)
{
	char what[128];
	bool exists = false;
	int rc;

	r->started = time(NULL);
	/* read-only first: nothing to roll back must leave no file behind */
	if (!journal_load(r->app->cfg.backups_dir, service_fsname(r->svc), &r->journal, &exists))
		return exit_hint_get();
	if ((rc = find_run(r)) >= 0)
		return rc;
	if (!r->dry_run)
	{
		journal_close(&r->journal);
		str_format(what, sizeof(what), "rollback %s", r->svc->name);
		if (!lock_acquire(r->app->cfg.root, what, &r->lock))
			return exit_hint_get();   /* busy 7, interrupted 130, else 1 */
		if (!journal_open(r->app->cfg.backups_dir, service_fsname(r->svc), &r->journal))
			return exit_hint_get();
		fs_clean_tmp(r->app->cfg.root);
		fs_clean_tmp(r->app->cfg.services_dir);
		fs_clean_tmp(r->app->cfg.overrides_dir);
		/* again, under the lock: another pgfold may have moved on meanwhile */
		r->resuming = false;
		if ((rc = find_run(r)) >= 0)
			return rc;
	}
	/* the containers' labels say how the project's compose runs and reads
	 * its variables: the original is parsed as it does (an unreachable
	 * engine is reported by the checks) */
	(void) app_engine(r->app);
	if (!rb_find_migration(r, &r->journal) || !rb_parse_original(r) || !rb_names(r))
		return exit_hint_get();
	if (!r->resuming && r->data == RB_DATA_FILE)
		str_copy(r->source, sizeof(r->source), r->opts->backup_file);
	if (!r->resuming && r->data == RB_DATA_LATEST && !rb_pick_latest(r, r->source, sizeof(r->source)))
		return exit_hint_get();
	return -1;
}

static bool
confirm(const Rb *r)
{
	StrBuf q = STRBUF_INIT, refusal = STRBUF_INIT;
	bool ok = sb_appendf(&q, "Roll %s back onto %s (data: %s)? Its apps are stopped meanwhile.",
						 r->svc->name, r->mig.container, rollback_data_name(r->data))
		&& sb_appendf(&refusal, "not rolling back %s", r->svc->name)
		&& runner_confirm(r->opts->yes, true, sb_str(&q), sb_str(&refusal));

	sb_free(&q);
	sb_free(&refusal);
	return ok;
}

/* A fresh run: every check first, nothing changed when one blocks. A
 * resumed run trusts its journal and needs only the engine and the shared
 * instance; each step checks its own state. */
static int
gate(Rb *r)
{
	Preflight pf;
	int rc = EXIT_OK;

	if (r->resuming)
	{
		if (!app_engine(r->app))
			return EXIT_ENGINE;
		return app_shared(r->app) ? EXIT_OK : EXIT_SHARED;
	}
	memset(&pf, 0, sizeof(pf));
	rb_checks(r, &pf);
	if (pf.state == STATE_BLOCKED)
	{
		rb_print_edits(r, stderr);
		preflight_print(stderr, &pf, r->app->opts->color);
		log_error("%s cannot be rolled back: %s", r->svc->name, pf.reason);
		rc = !pf.engine_reachable ? EXIT_ENGINE : !pf.shared_reachable ? EXIT_SHARED : EXIT_BLOCKED;
	}
	else if (pf.state == STATE_ATTENTION)
		preflight_print(stderr, &pf, r->app->opts->color);
	preflight_free(&pf);
	if (rc == EXIT_OK && !confirm(r))
		rc = exit_hint_get();
	return rc;
}

static bool
record_options(Rb *r)
{
	if (r->resuming)
		return true;

	json_t *f = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "migrate_run", r->mig.run,
						  "data", rollback_data_name(r->data), "source", r->source,
						  "drop_shared", r->opts->drop_shared, "no_apply", r->opts->no_apply,
						  "deep", r->opts->deep);
	bool ok = rb_record(r, RB_STEP_OPTIONS, f);

	json_decref(f);
	if (ok && r->mig.unproven)
	{
		/* `migrate` must not resume a run this rollback undoes */
		f = json_pack("{s:s}", "rolled_back_by", r->run_id);
		ok = journal_append(&r->journal, JOURNAL_MIGRATE, r->mig.run, JOURNAL_STEP_ABORT,
							JOURNAL_FAILED, f);
		json_decref(f);
	}
	if (ok && r->data == RB_DATA_LATEST)
		log_notice("--latest-backup: restoring %s", r->source[0] ? r->source
				   : "this run's pre-rollback dump (there is no other dump of the service)");
	return ok;
}

static void
undo(Rb *r)
{
	if (signals_interrupted())
		signals_clear();
	if (r->past_files)
	{
		/* the stack points at the dedicated database: nothing to undo */
		if (rb_step_done(r, RB_STEP_APPLY))
			log_notice("%s runs on %s again; re-run `pgfold rollback %s` to finish the clean-up",
					   r->svc->name, r->mig.container, r->svc->name);
		else
			log_notice("the apps of %s stay stopped until `pgfold rollback %s` has finished",
					   r->svc->name, r->svc->name);
		return;
	}
	/* the last step done says how far it got; a re-run starts a new run */
	size_t n = journal_count(&r->journal);
	json_t *last = n > 0 ? journal_record(&r->journal, n - 1) : NULL;
	json_t *f = json_pack("{s:s}", "after", last != NULL
						  && strcmp(rb_field(last, "run"), r->run_id) == 0
						  ? rb_field(last, "step") : "");

	log_notice("undoing: %s keeps pointing at the shared instance", r->service_rel);
	runner_undo(&r->rn, rb_steps(NULL), RB_STEPS_BEFORE_APPLY, f);
	json_decref(f);
	log_notice("nothing was rolled back%s%s", rb_step_done(r, RB_STEP_BACKUP)
			   ? "; the pre-rollback dump is kept in " : "",
			   rb_step_done(r, RB_STEP_BACKUP) ? r->dump : "");
}

static void
how_to_drop(const Rb *r)
{
	const Config *c = &r->app->cfg;

	printf("  shared    \"%s\" and role \"%s\" are kept on the shared instance; once you are "
		   "sure, drop them:\n", r->mig.shared_db, r->mig.role);
	if (c->shared_container[0] != '\0')
		printf("              docker exec %s psql -U %s -c 'DROP DATABASE \"%s\"' "
			   "-c 'DROP ROLE \"%s\"'\n", c->shared_container, c->pg_user, r->mig.shared_db,
			   r->mig.role);
	else
		printf("              psql -h %s -p %d -U %s -c 'DROP DATABASE \"%s\"' "
			   "-c 'DROP ROLE \"%s\"'\n", c->pg_host, c->pg_port, c->pg_user, r->mig.shared_db,
			   r->mig.role);
	printf("              rm %s/%s/%s.txt\n", c->root, SECRETS_DIR_REL, r->mig.role);
}

static void
summary(Rb *r)
{
	char took[32];
	const char *what[] = { "the shared database's current data", "the latest backup",
						   "the backup", "its pre-migration data (--original-data)" };

	stream_format_duration(difftime(time(NULL), r->started), took, sizeof(took));
	printf("rolled back %s: \"%s\" in %s holds %s\n", r->svc->name, r->mig.db, r->mig.container,
		   what[r->data]);
	if (r->data != RB_DATA_ORIGINAL)
		printf("  restored  %s\n", r->source[0] ? r->source : r->dump);
	if (r->report.tables > 0 || r->report.rows > 0)
		printf("  verified  %zu tables, %lld rows\n", r->report.tables, r->report.rows);
	printf("  backup    %s (the shared database before the rollback)\n", r->dump);
	printf("  service   %s is the original again; override kept as %s\n", r->service_rel,
		   r->override_saved);
	printf("  apps      %s\n", r->opts->no_apply ? "not started (--no-apply)" : "recreated");
	printf("  log       %s\n", r->log_path);
	printf("  took      %s\n", took);
	if (r->down.since > 0)
	{
		StrBuf down = STRBUF_INIT;

		downtime_format(&r->down, &down);
		printf("  apps down %s%s\n", sb_str(&down),
			   r->opts->no_apply ? " so far (they stay stopped)" : "");
		sb_free(&down);
	}
	if (r->opts->drop_shared)
		printf("  shared    \"%s\" dropped\n", r->mig.shared_db);
	else
		how_to_drop(r);
	log_info("rollback of %s complete", r->svc->name);
}

static bool
open_log(Rb *r)
{
	if (!journal_open_run_log(r->app->cfg.backups_dir, service_fsname(r->svc),
							  JOURNAL_ROLLBACK_FILE, r->run_id, r->log_path, sizeof(r->log_path)))
		return false;
	log_info("pgfold rollback %s: run %s%s, migration %s, data %s", r->svc->name, r->run_id,
			 r->resuming ? " (resuming)" : "", r->mig.run, rollback_data_name(r->data));
	if (r->resuming)
		log_notice("resuming the interrupted rollback of %s (run %s)", r->svc->name, r->run_id);
	return true;
}

int
rollback_run(App *app, size_t index, const RollbackOptions *opts)
{
	size_t n;
	const RunnerStep *steps = rb_steps(&n);
	Rb r;
	int rc;

	rb_init(&r, app, index, opts, false);
	if ((rc = rb_begin(&r)) >= 0)
		goto out;
	if (!open_log(&r))
	{
		rc = exit_hint_get();
		goto out;
	}
	if ((rc = gate(&r)) != EXIT_OK)
		goto out;
	if (!record_options(&r))
	{
		rc = exit_hint_get();
		goto out;
	}
	if (!runner_run(&r.rn, steps, n))
	{
		rc = exit_hint_get();
		undo(&r);
		goto out;
	}

	downtime_close_at(&r.down, clock_now());     /* --no-apply: still down */

	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:o}", "migrate_run", r.mig.run, "db", r.mig.db,
						  "container", r.mig.container, "dump", r.dump,
						  "apps_down", journal_downtime_json(&r.down));

	journal_complete(&r.journal, JOURNAL_ROLLBACK, r.run_id, f);
	json_decref(f);
	summary(&r);
	rc = EXIT_OK;
out:
	rb_free(&r);
	return rc;
}
