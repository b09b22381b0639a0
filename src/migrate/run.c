/*
 * run.c — `pgfold migrate SERVICE`: order of the steps, resume after a
 * crash, undo after a failure, and the summary. See migrate.h.
 */
#include "run_internal.h"

#include "pgfold/verify.h"
#include "pgfold/composecmd.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/rewrite.h"
#include "pgfold/runner.h"
#include "pgfold/signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

bool
run_step_done(Run *r, const char *step)
{
	return journal_step_done(&r->journal, r->run_id, step) != NULL;
}

bool
run_record(Run *r, const char *step, JournalStatus status, json_t *fields)
{
	return runner_record(&r->rn, step, status, fields);
}

static bool
confirm(const Run *r)
{
	StrBuf q = STRBUF_INIT, refusal = STRBUF_INIT;
	bool ok = sb_appendf(&q, "Migrate %s (\"%s\" in %s) into \"%s\" on the shared instance? "
						 "Its apps will be stopped meanwhile.", r->svc->name, r->svc->db_name,
						 r->db_container_name, r->names.db)
		&& sb_appendf(&refusal, "not migrating %s", r->svc->name)
		&& runner_confirm(r->opts->yes, true, sb_str(&q), sb_str(&refusal));

	sb_free(&q);
	sb_free(&refusal);
	return ok;
}

/* A run that was interrupted (crash, kill -9, power loss) and not cleaned
 * up: its steps are resumed instead of starting over. */
static const char *
resumable_run(const Journal *j)
{
	const char *run = journal_latest_run(j, JOURNAL_MIGRATE);

	if (run == NULL || journal_run_complete(j, run)
		|| journal_step(j, run, JOURNAL_STEP_ABORT) != NULL)
		return NULL;
	return run;
}

/* The sha256 of the service file this run writes, journaled by the files
 * step before writing it; NULL when that step never began. */
static const char *
written_sha(Run *r)
{
	json_t *files = journal_step(&r->journal, r->run_id, MIG_STEP_FILES);

	return files ? json_string_value(json_object_get(files, "service_sha256")) : NULL;
}

/*
 * On resume the service file must be one this run knows: the original or
 * what it wrote. Anything else is someone's edit since the crash: shown
 * against the original (as rollback shows it) and left as it is, exit 3.
 */
static bool
refuse_edited(Run *r, const char *copy, bool files_done)
{
	StrBuf orig = STRBUF_INIT, diff = STRBUF_INIT;

	if (fs_read_file(copy, COMPOSE_MAX_BYTES, &orig)
		&& rewrite_file_diff(r->app->cfg.root, r->svc->path, r->svc->file.bytes, r->svc->file.len,
							 orig.data, orig.len, &diff))
		fprintf(stderr, "%s, from the file as it is to the original saved in %s:\n%s",
				r->svc->path, copy, diff.len ? sb_str(&diff) : "(no difference)\n");
	if (files_done)
		log_error("%s changed after the interrupted run %s rewrote it for the shared instance; "
				  "resuming would start the apps from it as it is: undo the edit (it is in the "
				  "diff above, among migrate's own changes), re-run `pgfold migrate %s`, and "
				  "make the change after the migration",
				  r->svc->path, r->run_id, r->svc->name);
	else
		log_error("%s changed after the run %s was interrupted: it is neither the original nor "
				  "what migrate wrote, and resuming would replace it with the original (diff "
				  "above): put the original back (cp %s %s), re-run `pgfold migrate %s`, and "
				  "make the change after the migration", r->svc->path, r->run_id, copy,
				  r->svc->path, r->svc->name);
	exit_hint_set(EXIT_BLOCKED);
	sb_free_secret(&orig);      /* service files may hold passwords */
	sb_free_secret(&diff);
	return false;
}

/* Before the files step is done, the service file must be the original: a
 * crash among its writes may have left the new one, which goes back. */
static bool
restore_original_if_changed(Run *r)
{
	MigrationRecord m;
	char sha[FS_SHA256_HEX_LEN + 1];
	StrBuf orig = STRBUF_INIT;
	const char *copy = m.save.copy;

	if (!journal_read_migration(&r->journal, r->run_id, &m))
		return false;
	if (!m.save.done || m.files.done)
		return true;
	fs_sha256_bytes(r->svc->file.bytes, r->svc->file.len, sha);
	if (copy[0] == '\0' || m.save.sha256[0] == '\0' || strcmp(sha, m.save.sha256) == 0)
		return true;
	if (written_sha(r) == NULL || strcmp(sha, written_sha(r)) != 0)
		return refuse_edited(r, copy, false);

	bool ok = fs_read_file(copy, 16 * 1024 * 1024, &orig)
		&& fs_write_like(r->svc->path, r->svc->path, orig.data, orig.len, false);

	sb_free_secret(&orig);
	if (!ok)
		return false;
	log_notice("restored %s from %s (an interrupted run had started to rewrite it)",
			   r->svc->path, copy);
	stack_free(&r->app->stack);
	if (!stack_load(&r->app->cfg, &r->app->stack))
		return false;
	r->svc = &r->app->stack.services[r->index];
	return true;
}

/* After the files step the service file stays as the step wrote it. */
static bool
service_file_as_written(Run *r)
{
	char sha[FS_SHA256_HEX_LEN + 1];
	const char *wrote = written_sha(r);

	fs_sha256_bytes(r->svc->file.bytes, r->svc->file.len, sha);
	if (wrote != NULL && strcmp(sha, wrote) == 0)
		return true;
	return refuse_edited(r, r->original_copy, true);
}

/* After the files step the service file no longer names the db service:
 * everything the remaining steps need comes from the journal. */
static bool
load_from_journal(Run *r)
{
	MigrationRecord m;

	if (!journal_read_migration(&r->journal, r->run_id, &m))
		return false;
	if (!m.role.done || !m.save.done || !m.stop.done)
	{
		log_error("journal of %s is inconsistent (files written, earlier steps missing); "
				  "inspect %s", r->svc->name, r->journal.dir);
		return false;
	}
	if (m.role.db[0] == '\0' || m.role.tmp_db[0] == '\0' || m.role.role[0] == '\0'
		|| m.role.source_container[0] == '\0' || m.role.project[0] == '\0'
		|| m.save.copy[0] == '\0')
	{
		log_error("journal of %s lacks the names this run needs; inspect %s", r->svc->name,
				  r->journal.dir);
		return false;
	}
	str_copy(r->names.db, sizeof(r->names.db), m.role.db);
	str_copy(r->names.tmp_db, sizeof(r->names.tmp_db), m.role.tmp_db);
	str_copy(r->names.role, sizeof(r->names.role), m.role.role);
	str_copy(r->db_container_name, sizeof(r->db_container_name), m.role.source_container);
	str_copy(r->project, sizeof(r->project), m.role.project);
	str_copy(r->original_copy, sizeof(r->original_copy), m.save.copy);
	if (!service_file_as_written(r))
		return false;
	str_copy(r->db_container, sizeof(r->db_container), r->db_container_name);
	r->stopped = json_incref(m.stop.containers);
	r->file_apps = json_incref(m.stop.file_apps);
	r->files_written = false;   /* done and durable: nothing to undo */
	return app_engine(r->app) && app_shared(r->app);
}

static int
preflight_gate(Run *r)
{
	PreflightOptions po = { .db = r->opts->db, .role = r->opts->role,
							.connection_limit = r->opts->connection_limit,
							.ignore_migration_state = r->opts->ignore_migration_state,
							.drop_grants = r->opts->drop_grants,
							.with_roles = r->opts->with_roles,
							.files_edited = r->opts->files_edited };

	preflight_run(r->app, r->index, &po, &r->pf);
	if (r->pf.state == STATE_BLOCKED)
	{
		preflight_print(stderr, &r->pf, r->app->opts->color);
		log_error("%s cannot be migrated: %s", r->svc->name, r->pf.reason);
		return EXIT_BLOCKED;
	}
	if (!r->pf.engine_reachable)
		return EXIT_ENGINE;
	if (!r->pf.shared_reachable)
		return EXIT_SHARED;
	if (!r->pf.source.known || r->pf.db_container == NULL)
	{
		preflight_print(stderr, &r->pf, r->app->opts->color);
		log_error("%s cannot be migrated now: %s", r->svc->name,
				  r->pf.reason ? r->pf.reason : "its database does not answer");
		return EXIT_BLOCKED;
	}
	/* an explicit --jobs N with no route is refused here, before anything stops */
	if (!migrate_jobs_decide(r->app, &r->pf, r->opts->jobs, &r->jobs))
		return exit_hint_get();
	log_info("%s", r->jobs.why);
	r->names = r->pf.names;
	str_copy(r->db_container, sizeof(r->db_container), r->pf.db_container->id);
	str_copy(r->db_container_name, sizeof(r->db_container_name), r->pf.db_container->name);
	str_copy(r->project, sizeof(r->project), composecmd_project(r->app, r->index));
	guard_log_before(r);
	return EXIT_OK;
}

/* The apps stop in stop-apps (when this process stops them, before the
 * cut-over) and run again once compose started them: apply, then
 * start-file-apps for apps of other files; with --no-apply or
 * --keep-app-stopped they stay down to the end of the run. */
static void
time_step(void *ctx, const char *name, double began, double ended)
{
	Run *r = ctx;
	bool opens = strcmp(name, MIG_STEP_STOP) == 0 && json_array_size(r->stopped) > 0
		&& !run_step_done(r, MIG_STEP_CUTOVER);
	bool closes = strcmp(name, MIG_STEP_START_FILE_APPS) == 0 && !r->opts->no_apply
		&& !r->opts->keep_app_stopped;

	downtime_step(&r->down, name, began, ended, opens, closes);
}

static void
undo(Run *r)
{
	if (r->cutover_done && run_step_done(r, MIG_STEP_APPLY))
		return;     /* the apps run on the shared instance; the proof said what is wrong */
	if (r->cutover_done)
	{
		log_error("the apps of %s stay stopped: the data already lives on the shared instance "
				  "and restarting them on the dedicated database would let the two diverge; "
				  "re-run `pgfold migrate %s` to finish", r->svc->name, r->svc->name);
		return;
	}
	/* the shared instance may have gone away (that may be why the run
	 * failed): its undo waits a little for it, else leaves it to a re-run,
	 * which drops what this one created there first */
	if (r->app->shared != NULL && !pg_shared_alive(&r->app->cfg, &r->app->shared, 15))
		log_notice("the shared instance cannot be reached: role \"%s\" and \"%s\", if this run "
				   "created them there, are taken over or dropped by the next `pgfold migrate %s`",
				   r->names.role, r->names.tmp_db, r->svc->name);
	runner_undo(&r->rn, migrate_steps(NULL), MIGRATE_STEPS_BEFORE_CUTOVER, NULL);
	if (run_step_done(r, MIG_STEP_STREAM))
		log_notice("nothing was switched over; the dump is kept in %s", r->dump_path);
	else
		log_notice("nothing was switched over");
}

static void
summary(Run *r)
{
	char bytes[32], rate[32], took[32];
	double secs = clock_now() - r->started;

	stream_format_bytes(r->stream.bytes, bytes, sizeof(bytes));
	stream_format_bytes(r->stream.seconds > 0 ? (uint64_t) ((double) r->stream.bytes / r->stream.seconds) : 0,
						rate, sizeof(rate));
	stream_format_duration(secs, took, sizeof(took));
	printf("migrated %s: \"%s\" from %s is now \"%s\" on the shared instance (role \"%s\")\n",
		   r->svc->name, r->svc->db_name ? r->svc->db_name : r->names.db, r->db_container_name,
		   r->names.db, r->names.role);
	if (r->stream.bytes > 0)
		printf("  archive   %s in %.1f s (%s/s), sha256 %s\n", bytes, r->stream.seconds, rate,
			   r->stream.sha256);
	if (r->post_data_seconds >= 0)
		printf("  post-data indexes, constraints, triggers in %.1f s with pg_restore -j %d (%s)\n",
			   r->post_data_seconds, r->jobs.jobs, migrate_jobs_route_name(r->jobs.route));
	if (r->report.items > 0)
		printf("  verified  %zu tables, %lld rows, %zu items identical\n", r->report.tables,
			   r->report.rows, r->report.items);
	if (r->analyze_seconds >= 0)
		printf("  analyzed  in %.1f s (statistics ready before the apps start)\n",
			   r->analyze_seconds);
	printf("  proof     %s\n", r->proof_skipped
		   ? "not done: the apps were not started; check that they log in once they run"
		   : "every app logged in with its own settings and read its data");
	printf("  backup    %s\n", r->dump_path[0] ? r->dump_path : "(from an earlier attempt)");
	printf("  log       %s\n", r->log_path);
	printf("  took      %s\n", took);
	if (r->down.since > 0)
	{
		StrBuf down = STRBUF_INIT;

		downtime_format(&r->down, &down);
		printf("  apps down %s%s\n", sb_str(&down), r->opts->no_apply || r->opts->keep_app_stopped
			   ? " so far (they stay stopped)" : "");
		sb_free(&down);
	}
	printf("  rollback  pgfold rollback %s\n", r->svc->name);
	migrate_refs_summary(r->app, r->db_container_name, r->svc->db_name, r->names.db);
	guard_summary(r);
	log_info("migration of %s complete in %.1f s", r->svc->name, secs);
}

/*
 * --verify on a migrated service: compare the dedicated database (its
 * container still exists, stopped) with the live one. It is started for the
 * comparison and stopped again; rows written since the migration show up as
 * differences, which is what an operator asking this wants to see.
 */
static int
verify_migrated(Run *r, const char *run)
{
	MigrationRecord m;
	const char *container = m.role.source_container, *user = m.role.source_user;
	const char *src_db = m.role.source_db, *db = m.role.db;
	json_t *inspect = NULL;
	bool found = false, was_running, ok;

	if (!journal_read_migration(&r->journal, run, &m))
		return EXIT_FAIL;
	if (container[0] == '\0' || user[0] == '\0' || src_db[0] == '\0' || db[0] == '\0')
	{
		log_error("the journal of %s does not name the dedicated container; cannot verify",
				  r->svc->name);
		return EXIT_FAIL;
	}
	if (!app_engine(r->app) || !docker_inspect_container(r->app->docker, container, &inspect, &found))
		return exit_hint_get();
	if (!found)
	{
		log_error("the dedicated container %s no longer exists: nothing to verify against", container);
		return EXIT_FAIL;
	}
	was_running = docker_inspect_running(inspect);
	json_decref(inspect);
	if (!was_running && !docker_start_container(r->app->docker, container))
		return exit_hint_get();
	ok = pgx_wait_ready(r->app->docker, container, user, src_db, 60)
		&& verify_databases(r->app, container, user, src_db, db,
							m.role.role[0] ? m.role.role : NULL, r->opts->deep,
							&r->report, &r->src_inv, &r->dst_inv);
	if (!was_running)
		docker_stop_container(r->app->docker, container, 30);
	if (!ok)
		return exit_hint_get();
	verify_report_print(stdout, &r->report, container, db);
	return r->report.diff_count == 0 ? EXIT_OK : EXIT_VERIFY;
}

static int
already_migrated(Run *r, const char *run)
{
	if (r->opts->verify_only && run != NULL)
		return verify_migrated(r, run);
	printf("%s: already migrated (database \"%s\" on the shared instance)\n", r->svc->name,
		   r->svc->meta_database_name ? r->svc->meta_database_name : "?");
	if (r->opts->verify_only)
		log_warn("no migration of %s in the journal: nothing to verify against", r->svc->name);
	return EXIT_OK;
}

static int
begin(Run *r)
{
	const char *run;
	char what[128];
	bool exists = false;

	str_format(what, sizeof(what), "migrate %s", r->svc->name);
	if (!lock_acquire(r->app->cfg.root, what, &r->lock))
		return exit_hint_get();   /* busy 7, interrupted 130, else 1 */
	if (!journal_open(r->app->cfg.backups_dir, service_fsname(r->svc), &r->journal))
		return EXIT_FAIL;
	(void) exists;
	/* temporary files of crashed runs next to the files we replace */
	fs_clean_tmp(r->app->cfg.root);
	fs_clean_tmp(r->app->cfg.services_dir);
	fs_clean_tmp(r->app->cfg.overrides_dir);

	run = resumable_run(&r->journal);
	{
		const char *done = NULL;

		if (run == NULL && journal_is_migrated(&r->journal, &done))
			return already_migrated(r, done);
	}
	if (run == NULL && r->svc->db_service < 0 && r->svc->meta_database != NULL)
		return already_migrated(r, NULL);

	r->resuming = run != NULL;
	if (r->resuming)
		str_copy(r->run_id, sizeof(r->run_id), run);
	else if (!journal_new_run_id(&r->journal, NULL, r->run_id))
		return EXIT_FAIL;
	/* one log per run: a resumed run appends to the one it started */
	if (!journal_open_run_log(r->app->cfg.backups_dir, service_fsname(r->svc), "", r->run_id,
							  r->log_path, sizeof(r->log_path)))
		return EXIT_FAIL;
	log_info("pgfold migrate %s: run %s%s", r->svc->name, r->run_id,
			 r->resuming ? " (resuming)" : "");
	if (r->resuming)
		log_notice("resuming the interrupted migration of %s (run %s)", r->svc->name, r->run_id);
	return -1;
}

int
migrate_run(App *app, size_t index, const MigrateOptions *opts)
{
	size_t n;
	const RunnerStep *steps = migrate_steps(&n);
	Run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.app = app;
	r.index = index;
	r.svc = &app->stack.services[index];
	r.opts = opts;
	r.started = clock_now();
	r.analyze_seconds = -1;
	r.post_data_seconds = -1;
	r.lock = (Lock) LOCK_INIT;
	r.journal = (Journal) JOURNAL_INIT;

	rc = begin(&r);
	if (rc >= 0)
		goto out;
	r.rn = (Runner) { .journal = &r.journal, .op = JOURNAL_MIGRATE, .run_id = r.run_id,
					  .ctx = &r, .timed = time_step };

	if (r.resuming && run_step_done(&r, MIG_STEP_FILES))
	{
		if (!load_from_journal(&r))
		{
			rc = exit_hint_get();
			goto out;
		}
	}
	else
	{
		if (!steps_app_files_resume(&r) || !restore_original_if_changed(&r))
		{
			rc = exit_hint_get();
			goto out;
		}
		rc = preflight_gate(&r);
		if (rc != EXIT_OK || !confirm(&r))
		{
			rc = rc != EXIT_OK ? rc : exit_hint_get();
			if (r.resuming)
				undo(&r);
			goto out;
		}
		if (!runner_run(&r.rn, steps, MIGRATE_STEPS_BEFORE_CUTOVER))
		{
			rc = exit_hint_get();
			undo(&r);
			goto out;
		}
	}
	if (!runner_run(&r.rn, steps + MIGRATE_STEPS_BEFORE_CUTOVER, n - MIGRATE_STEPS_BEFORE_CUTOVER))
	{
		rc = exit_hint_get();
		undo(&r);
		goto out;
	}

	downtime_close_at(&r.down, clock_now());     /* --no-apply: still down */

	struct rusage self;
	json_t *f;

	/* make bench reads it: GNU time's figure also holds the children */
	getrusage(RUSAGE_SELF, &self);
	f = json_pack("{s:s, s:s, s:s, s:o, s:I}", "db", r.names.db, "role", r.names.role,
				  "dump", r.dump_path, "apps_down", journal_downtime_json(&r.down),
				  "peak_rss_kib", (json_int_t) self.ru_maxrss);

	journal_complete(&r.journal, JOURNAL_MIGRATE, r.run_id, f);
	json_decref(f);
	summary(&r);
	rc = EXIT_OK;
out:
	if (r.files_built)
		migration_files_free(&r.files);
	stream_result_free(&r.stream);
	verify_report_free(&r.report);
	inventory_free(&r.src_inv);
	inventory_free(&r.dst_inv);
	sb_free_secret(&r.password);
	json_decref(r.stopped);
	json_decref(r.carry_map);
	json_decref(r.file_apps);
	preflight_free(&r.pf);
	journal_close(&r.journal);
	lock_release(&r.lock);
	return rc;
}
