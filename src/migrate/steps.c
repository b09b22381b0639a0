/*
 * steps.c — what each migration step does. Every step either was recorded
 * as done in the journal (and is then checked and skipped) or is redone from
 * a clean state; see run.c for the order and for failure handling.
 */
#include "run_internal.h"

#include "pgfold/verify.h"
#include "pgfold/composecmd.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/pgcmd.h"
#include "pgfold/secrets.h"
#include "pgfold/signals.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STOP_TIMEOUT_S 30

static const char *
field(json_t *rec, const char *key)
{
	return rec ? json_string_value(json_object_get(rec, key)) : NULL;
}

bool
step_save_original(Run *r)
{
	json_t *done = journal_step_done(&r->journal, r->run_id, MIG_STEP_SAVE);
	char sha[FS_SHA256_HEX_LEN + 1];

	if (done != NULL)
	{
		str_copy(r->original_copy, sizeof(r->original_copy), field(done, "copy"));
		str_copy(r->original_sha, sizeof(r->original_sha), field(done, "sha256"));
		if (!fs_sha256_file(r->original_copy, sha, NULL) || strcmp(sha, r->original_sha) != 0)
		{
			log_error("the saved original %s is missing or changed (sha256 %s, journal says %s); "
					  "restore it from your own backups before going on", r->original_copy,
					  sha, r->original_sha);
			return false;
		}
		return true;
	}
	if (!journal_run_file(r->app->cfg.backups_dir, service_fsname(r->svc), "", r->run_id, ".yml",
						  r->original_copy, sizeof(r->original_copy))
		|| !fs_write_atomic(r->original_copy, r->svc->file.bytes, r->svc->file.len, 0640))
		return false;
	fs_sha256_bytes(r->svc->file.bytes, r->svc->file.len, r->original_sha);

	json_t *f = json_pack("{s:s, s:s, s:s}", "copy", r->original_copy, "sha256", r->original_sha,
						  "service_file", r->svc->path);
	bool ok = run_record(r, MIG_STEP_SAVE, JOURNAL_DONE, f);

	json_decref(f);
	log_info("saved %s to %s (sha256 %s)", r->svc->path, r->original_copy, r->original_sha);
	return ok;
}

bool
step_stop_apps(Run *r)
{
	json_t *done = journal_step_done(&r->journal, r->run_id, MIG_STEP_STOP);

	if (done != NULL)
	{
		r->stopped = json_incref(json_object_get(done, "containers"));
		r->file_apps = json_incref(json_object_get(done, "file_apps"));
		return r->stopped != NULL;
	}

	json_t *names = json_array();

	r->stopped = json_array();
	r->file_apps = json_array();
	if (!app_stop_containers(r->app, r->index, r->svc->db_service, r->stopped, names)
		|| !steps_stop_file_apps(r, r->stopped, names))
	{
		json_decref(names);
		return false;
	}

	json_t *f = json_pack("{s:O, s:o, s:O}", "containers", r->stopped, "names", names,
						  "file_apps", r->file_apps);
	bool ok = run_record(r, MIG_STEP_STOP, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}

void
steps_restart_apps(Run *r)
{
	app_start_containers(r->app, r->stopped);
}

bool
step_role(Run *r)
{
	bool was_done = journal_step_done(&r->journal, r->run_id, MIG_STEP_ROLE) != NULL;
	SecretsRoleRequest req = {
		.root = r->app->cfg.root,
		.role = r->names.role,
		.connection_limit = r->conn_limit,
		.rotate = false,
	};
	SecretsRoleAction action = 0;

	sb_reset(&r->password);
	if (!secrets_create_or_reuse_role(r->app->shared, &req, &action, &r->password))
		return false;
	r->role_created = (action == SECRETS_ROLE_CREATED
					   || action == SECRETS_ROLE_CREATED_FROM_FILE) && !was_done;
	r->password_file_created = action == SECRETS_ROLE_CREATED && !was_done;
	log_notice("role \"%s\": %s", r->names.role, secrets_role_action_name(action));
	if (was_done)
		return true;

	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
						  "role", r->names.role, "action", secrets_role_action_name(action),
						  "db", r->names.db, "tmp_db", r->names.tmp_db,
						  "source_container", r->db_container_name,
						  "source_user", r->svc->db_user, "source_db", r->svc->db_name,
						  "project", r->project);
	bool ok = run_record(r, MIG_STEP_ROLE, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}

void
steps_drop_created_role(Run *r)
{
	StrBuf sql = STRBUF_INIT;
	char path[PATH_MAX];

	/* a copy kept for inspection is the role's: a re-run drops the copy
	 * and finds the role again by its password file */
	if (!r->role_created || r->keep_tmp || r->app->shared == NULL)
		return;
	if (sb_appends(&sql, "DROP ROLE IF EXISTS ") && pg_quote_ident(r->app->shared, r->names.role, &sql)
		&& pg_exec(r->app->shared, "drop the role this run created", sb_str(&sql))
		&& r->password_file_created
		&& secrets_password_path(r->app->cfg.root, r->names.role, path, sizeof(path))
		&& unlink(path) != 0 && errno != ENOENT)
		log_warn("could not remove %s: %s", path, strerror(errno));
	sb_free(&sql);
}

static bool
temp_exists(Run *r, bool *exists)
{
	return pg_database_exists(r->app->shared, r->names.tmp_db, exists);
}

/* Pre-flight looked at the source while its apps still ran; now that they
 * are stopped nothing else writes to it, so the dump holds what this look
 * sees (a resumed run is checked again here as well). */
static bool
source_still_restorable(Run *r)
{
	DumpHazards h;
	bool ok = preflight_source_hazards(r->app->docker, r->db_container_name, r->svc->db_user,
									   r->svc->db_name, &h)
		&& preflight_hazards_none(&h, r->db_container_name,
								  "Nothing was restored; the apps start again on it.");

	preflight_hazards_free(&h);
	return ok;
}

/* A done stream is trusted when it restored the whole archive, or when
 * the post-data step that completes it is done too. A temporary database a
 * crashed run left without its indexes and constraints is restored again
 * from the start (the temp db dropped first): its post-data may have run
 * halfway, and pg_restore cannot resume that. */
static bool
stream_complete(Run *r, json_t *done)
{
	json_int_t jobs = json_integer_value(json_object_get(done, "jobs"));

	if (jobs <= 1 || run_step_done(r, MIG_STEP_POST_DATA))
		return true;
	log_notice("the interrupted run restored \"%s\" without its indexes, constraints and "
			   "triggers and did not finish them: restoring it again", r->names.tmp_db);
	return false;
}

bool
step_stream(Run *r)
{
	json_t *done = journal_step_done(&r->journal, r->run_id, MIG_STEP_STREAM);
	bool exists = false, split = r->jobs.jobs > 1;

	if (done != NULL && temp_exists(r, &exists) && exists && stream_complete(r, done))
	{
		str_copy(r->dump_path, sizeof(r->dump_path), field(done, "dump"));
		return true;
	}

	PgCommand dump, restore;
	bool ok = false;

	memset(&dump, 0, sizeof(dump));
	memset(&restore, 0, sizeof(restore));
	if (!source_still_restorable(r)
		|| !journal_run_file(r->app->cfg.backups_dir, service_fsname(r->svc), "", r->run_id, ".dump",
							 r->dump_path, sizeof(r->dump_path))
		|| !steps_source_props(r)
		|| !migration_create_temp(r->app->shared, &r->names, r->pf.props)
		|| !pgcmd_dump_in_container(&dump, r->db_container_name, r->svc->db_user, r->svc->db_name)
		|| !pgcmd_restore_shared_part(&restore, &r->app->cfg, r->names.tmp_db,
									  split ? PGCMD_PRE_DATA_AND_DATA : PGCMD_WHOLE))
		goto out;

	StreamSpec spec = {
		.client = r->app->docker,
		.producer = &dump.cmd,
		.backup_path = r->dump_path,
		.consumer = &restore.cmd,
		.expected_bytes = (uint64_t) r->pf.source.db_size,
		.progress_tty = isatty(STDERR_FILENO) && log_get_level() <= LOG_NOTICE,
		.run_id = r->run_id,
	};

	log_notice("streaming \"%s\" from %s into \"%s\"%s", r->svc->db_name, r->db_container_name,
			   r->names.tmp_db, split ? " (tables and data; indexes and constraints next)" : "");
	if (!stream_run(&spec, &r->stream))
		goto out;

	json_t *f = json_pack("{s:s, s:s, s:I, s:f, s:f, s:i, s:s, s:s}", "dump", r->dump_path,
						  "sha256", r->stream.sha256, "bytes", (json_int_t) r->stream.bytes,
						  "seconds", r->stream.seconds, "cpu_seconds", r->stream.cpu_seconds,
						  "jobs", r->jobs.jobs, "route", migrate_jobs_route_name(r->jobs.route),
						  "sections", split ? "pre-data,data" : "all");

	ok = run_record(r, MIG_STEP_STREAM, JOURNAL_DONE, f);
	json_decref(f);
out:
	pgcmd_free(&dump);
	pgcmd_free(&restore);
	return ok;
}

static bool
post_data_record(Run *r, int jobs, const char *route, double seconds)
{
	json_t *f = json_pack("{s:i, s:s, s:f}", "jobs", jobs, "route", route, "seconds", seconds);
	bool ok = run_record(r, MIG_STEP_POST_DATA, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}

/* The post-data section (indexes, constraints, triggers) with pg_restore -j
 * from the dump the stream just wrote; nothing when the stream restored the
 * whole archive. A failure leaves the temp db to the stream's undo. */
bool
step_post_data(Run *r)
{
	json_t *stream = journal_step_done(&r->journal, r->run_id, MIG_STEP_STREAM);
	json_int_t jobs = json_integer_value(json_object_get(stream, "jobs"));
	char file[PATH_MAX];
	PgCommand cmd;
	StreamResult res;
	bool ok;

	if (run_step_done(r, MIG_STEP_POST_DATA))
		return true;
	if (jobs <= 1)
		return post_data_record(r, 1, migrate_jobs_route_name(JOBS_ROUTE_PIPE), 0);
	/* the stream of this process wrote it with r->jobs (stream_complete) */
	if (!migrate_jobs_file(&r->jobs, r->dump_path, file, sizeof(file))
		|| !pgcmd_restore_shared_post_data(&cmd, &r->app->cfg, r->names.tmp_db, file,
										   r->jobs.jobs, r->jobs.route == JOBS_ROUTE_LOCAL))
		return false;

	StreamSpec spec = {
		.client = r->app->docker,
		.input_file = "/dev/null",
		.consumer = &cmd.cmd,
		.run_id = r->run_id,
		.input_may_be_empty = true,
	};

	log_notice("building the indexes, constraints and triggers of \"%s\" with pg_restore -j %d "
			   "(%s: %s)", r->names.tmp_db, r->jobs.jobs, migrate_jobs_route_name(r->jobs.route),
			   file);
	ok = stream_run(&spec, &res);
	if (ok)
	{
		r->post_data_seconds = res.seconds;
		ok = post_data_record(r, r->jobs.jobs, migrate_jobs_route_name(r->jobs.route),
							  res.seconds);
	}
	stream_result_free(&res);
	pgcmd_free(&cmd);
	return ok;
}

void
steps_drop_temp(Run *r)
{
	if (r->keep_tmp)
	{
		log_notice("kept \"%s\" for inspection; a re-run drops it", r->names.tmp_db);
		return;
	}
	if (r->app->shared != NULL)
		pg_drop_database(r->app->shared, r->names.tmp_db, true);
}

/* A service role is never a superuser: one now means the restore made it
 * one (secrets_hand_over refuses, and undo drops a role this run made). */
bool
step_ownership(Run *r)
{
	if (journal_step_done(&r->journal, r->run_id, MIG_STEP_OWNERSHIP) != NULL)
		return true;
	return secrets_hand_over(r->app, r->names.tmp_db, r->names.role, true)
		&& run_record(r, MIG_STEP_OWNERSHIP, JOURNAL_DONE, NULL);
}

bool
step_verify(Run *r)
{
	if (journal_step_done(&r->journal, r->run_id, MIG_STEP_VERIFY) != NULL)
		return true;
	if (!verify_databases(r->app, r->db_container, r->svc->db_user, r->svc->db_name,
						  r->names.tmp_db, r->names.role, r->opts->deep, &r->report,
						  &r->src_inv, &r->dst_inv))
		return false;
	if (r->report.diff_count > 0)
	{
		verify_report_print(stderr, &r->report, r->db_container_name, r->names.tmp_db);
		log_error("verification failed: %zu difference(s) between \"%s\" in %s and \"%s\"; "
				  "nothing was switched over", r->report.diff_count, r->svc->db_name,
				  r->db_container_name, r->names.tmp_db);
		exit_hint_set(EXIT_VERIFY);
		r->keep_tmp = true;
		return false;
	}
	log_notice("verified: %zu tables, %lld rows, %zu items identical%s", r->report.tables,
			   r->report.rows, r->report.items, r->opts->deep ? " (with content hashes)" : "");

	json_t *f = json_pack("{s:I, s:I, s:I, s:b}", "tables", (json_int_t) r->report.tables,
						  "rows", (json_int_t) r->report.rows, "items", (json_int_t) r->report.items,
						  "deep", r->opts->deep);
	bool ok = run_record(r, MIG_STEP_VERIFY, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}

static bool
write_env(Run *r)
{
	MigrationFiles *mf = &r->files;

	if (mf->service.env_count == 0)
		return true;
	return fs_write_atomic(mf->env_path, mf->env_new.data, mf->env_new.len, 0600);
}

static bool
step_files_started(Run *r, json_t *app_files)
{
	json_t *f = json_pack("{s:s, s:O}", "service_sha256", r->new_sha, "app_files", app_files);
	bool ok = run_record(r, MIG_STEP_FILES, JOURNAL_STARTED, f);

	json_decref(f);
	return ok;
}

bool
step_files(Run *r)
{
	MigrationFiles *mf = &r->files;

	if (journal_step_done(&r->journal, r->run_id, MIG_STEP_FILES) != NULL)
		return true;
	if (!migration_files_build(r->app, r->svc, &r->names, sb_str(&r->password), mf))
		return false;
	r->files_built = true;
	fs_sha256_bytes(mf->service.bytes.data, mf->service.bytes.len, r->new_sha);
	/* journaled before the writes, so that a resume after a crash among
	 * them tells the file pgfold wrote from an operator's edit (run.c) */
	json_t *app_files = steps_app_files_save(r);

	if (app_files == NULL || !step_files_started(r, app_files))
	{
		json_decref(app_files);
		return false;
	}

	/* The service file goes last: until it changes, nothing points at the
	 * shared database, and the override or .env entry alone are inert. */
	r->files_written = true;
	if (!fs_mkdir_p(r->app->cfg.overrides_dir, 0755)
		|| !fs_write_like(mf->override_path, r->svc->path, mf->override_bytes.data,
						  mf->override_bytes.len, mf->service.original_literal_password)
		|| !write_env(r)
		|| !steps_app_files_write(r)
		|| !fs_write_like(r->svc->path, r->svc->path, mf->service.bytes.data,
						  mf->service.bytes.len, mf->service.literal_password))
	{
		json_decref(app_files);
		return false;
	}

	json_t *keys = json_array();

	for (size_t i = 0; i < mf->service.env_count; i++)
		json_array_append_new(keys, json_string(mf->service.env[i].key));

	json_t *f = json_pack("{s:s, s:s, s:o, s:s, s:o}", "service_sha256", r->new_sha,
						  "override", mf->override_path, "env_keys", keys,
						  "env_file", mf->env_path, "app_files", app_files);
	bool ok = run_record(r, MIG_STEP_FILES, JOURNAL_DONE, f);

	json_decref(f);
	log_notice("rewrote %s, wrote %s", r->svc->path, mf->override_path);
	return ok;
}

void
steps_undo_files(Run *r)
{
	StrBuf orig = STRBUF_INIT;

	if (!r->files_written)
		return;
	if (fs_read_file(r->original_copy, 16 * 1024 * 1024, &orig)
		&& fs_write_like(r->svc->path, r->svc->path, orig.data, orig.len, false))
		log_notice("restored %s from %s", r->svc->path, r->original_copy);
	sb_free_secret(&orig);
	if (r->files_built)
	{
		steps_app_files_undo(r);
		if (unlink(r->files.override_path) != 0 && errno != ENOENT)
			log_warn("could not remove %s: %s", r->files.override_path, strerror(errno));
		if (r->files.service.env_count > 0)
		{
			if (r->files.env_exists)
				fs_write_atomic(r->files.env_path, r->files.env_old.data,
								r->files.env_old.len, 0600);
			else if (unlink(r->files.env_path) != 0 && errno != ENOENT)
				log_warn("could not remove %s: %s", r->files.env_path, strerror(errno));
		}
	}
}

bool
step_cutover(Run *r)
{
	bool tmp = false, final = false;

	if (journal_step_done(&r->journal, r->run_id, MIG_STEP_CUTOVER) != NULL)
	{
		r->cutover_done = true;
		return true;
	}
	if (!temp_exists(r, &tmp) || !pg_database_exists(r->app->shared, r->names.db, &final))
		return false;
	if (tmp && final)
	{
		log_error("both \"%s\" and \"%s\" exist on the shared instance; someone created \"%s\" "
				  "during the migration: resolve it, then re-run", r->names.tmp_db, r->names.db,
				  r->names.db);
		return false;
	}
	if (tmp && (!pg_terminate_connections(r->app->shared, r->names.tmp_db, NULL)
				|| !pg_rename_database(r->app->shared, r->names.tmp_db, r->names.db)))
		return false;
	if (!tmp && !final)
	{
		log_error("neither \"%s\" nor \"%s\" exists on the shared instance: the restored data "
				  "is gone; roll back with `pgfold rollback %s`", r->names.tmp_db, r->names.db,
				  r->svc->name);
		return false;
	}
	r->cutover_done = true;

	json_t *f = json_pack("{s:s}", "db", r->names.db);
	bool ok = run_record(r, MIG_STEP_CUTOVER, JOURNAL_DONE, f);

	json_decref(f);
	log_notice("\"%s\" is live on the shared instance", r->names.db);
	return ok;
}

static void
print_commands(Run *r, char *const *up)
{
	StrBuf line = STRBUF_INIT;

	composecmd_line(up, &line);
	printf("start the apps on the shared instance with:\n  %s\n", sb_str(&line));
	if (r->opts->no_apply)
		printf("then stop the dedicated database container (keep its volume):\n"
			   "  docker stop %s\n", r->db_container_name);
	sb_free(&line);
}

/* Done, unless the apps were recreated but their connection proof is not
 * done: a re-run after a fix (a password in .env) must recreate them with
 * it, and compose up recreates only what changed. */
static bool
apply_done(Run *r)
{
	json_t *done = journal_step_done(&r->journal, r->run_id, MIG_STEP_APPLY);

	if (done == NULL)
		return false;
	if (!json_is_true(json_object_get(done, "applied")) || run_step_done(r, MIG_STEP_PROOF)
		|| r->opts->no_apply || r->opts->keep_app_stopped)
		return true;
	log_notice("the apps of %s were recreated but not proven to log in: recreating them "
			   "with the settings as they are now", r->svc->name);
	return false;
}

bool
step_apply(Run *r)
{
	if (apply_done(r))
		return true;

	const ComposeInvocation *inv = app_invocation(r->app, r->index);
	/* the file on disk no longer has the db service (r->svc may still be
	 * the model of the original: skip its db slot) */
	char **others = stack_others_services(&r->app->stack, r->index);
	char **up = composecmd_up_args(inv, r->svc, r->svc->db_service, others);
	char **argv = composecmd_argv(r->app, inv, NULL, (const char *const *) up);
	bool ok = true;

	if (r->opts->no_apply || r->opts->keep_app_stopped)
		print_commands(r, argv);
	else
		ok = composecmd_run(argv, "compose up");
	composecmd_argv_free(argv);
	composecmd_argv_free(up);
	stack_others_free(others);

	if (ok && !r->opts->no_apply)
	{
		log_notice("stopping %s (its volume is kept)", r->db_container_name);
		ok = docker_stop_container(r->app->docker, r->db_container, STOP_TIMEOUT_S);
	}
	if (!ok)
	{
		log_error("the data is on the shared instance and %s points at it, but the apps "
				  "could not be switched over; fix the cause above and re-run `pgfold migrate %s` "
				  "(it resumes here), or `pgfold rollback %s`", r->svc->path, r->svc->name,
				  r->svc->name);
		return false;
	}

	json_t *f = json_pack("{s:b}", "applied", !r->opts->no_apply && !r->opts->keep_app_stopped);

	ok = run_record(r, MIG_STEP_APPLY, JOURNAL_DONE, f);
	json_decref(f);
	return ok;
}
