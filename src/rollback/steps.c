/*
 * steps.c — the rollback's data steps, up to the swap: stop the apps, dump
 * the shared database, bring the dedicated container back, restore into a
 * temporary database inside it, verify, swap. Each step either was
 * journaled as done (then it is checked and skipped) or is redone from a
 * clean state; rb_undo_data reverses them after a failure.
 */
#include "rb_internal.h"

#include "pgfold/verify.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/pgcmd.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STOP_TIMEOUT_S 30

static bool
progress_tty(void)
{
	return isatty(STDERR_FILENO) && log_get_level() <= LOG_NOTICE;
}

bool
rb_step_stop_apps(Rb *r)
{
	json_t *done = rb_done(r, RB_STEP_STOP);
	json_t *names;

	if (done != NULL)
	{
		r->stopped = json_incref(json_object_get(done, "containers"));
		r->file_apps = json_incref(json_object_get(done, "file_apps"));
		return r->stopped != NULL;
	}
	if (!app_engine(r->app))
		return false;
	names = json_array();
	r->stopped = json_array();
	r->file_apps = json_array();
	/* the migrated file holds only the apps (and their helpers); apps of
	 * the project's other files that read a file migrate rewrote too */
	if (!app_stop_containers(r->app, r->index, -1, r->stopped, names)
		|| !rb_app_files_stop_apps(r, r->stopped, names))
	{
		json_decref(names);
		return false;
	}

	json_t *f = json_pack("{s:O, s:o, s:O}", "containers", r->stopped, "names", names,
						  "file_apps", r->file_apps);
	bool ok = rb_record(r, RB_STEP_STOP, f);

	json_decref(f);
	return ok;
}

/* Tables and rows of an inventory, counted as verify_compare counts a
 * source. */
static void
count(const Inventory *inv, RbCounts *out)
{
	VerifyReport self;

	verify_compare(inv, inv, &self);
	out->known = true;
	out->tables = (long long) self.tables;
	out->rows = self.rows;
	verify_report_free(&self);
}

/* The shared database as the apps left it, streamed out of the shared
 * side with the one pg_dump command migrate uses, into a checksummed file;
 * its counts are journaled so a later --backup of it can be verified. */
bool
rb_step_backup(Rb *r)
{
	json_t *done = rb_done(r, RB_STEP_BACKUP);
	PgCommand dump;
	Inventory inv = { NULL, 0 };
	int64_t size = 0;
	bool ok = false;

	if (done != NULL && fs_sha256_sidecar_read(r->dump, r->dump_sha)
		&& strcmp(r->dump_sha, rb_field(done, "sha256") ? rb_field(done, "sha256") : "") == 0)
	{
		r->backup_counts.known = json_is_integer(json_object_get(done, "rows"));
		r->backup_counts.tables = json_integer_value(json_object_get(done, "tables"));
		r->backup_counts.rows = json_integer_value(json_object_get(done, "rows"));
		r->backup_counts.server_version =
			(int) json_integer_value(json_object_get(done, "server_version"));
		return true;
	}
	if (done != NULL)
		log_warn("%s is not what this rollback wrote; dumping \"%s\" again", r->dump,
				 r->mig.shared_db);
	memset(&dump, 0, sizeof(dump));
	if (!app_shared(r->app) || !pgcmd_dump_shared(&dump, &r->app->cfg, r->mig.shared_db))
	{
		pgcmd_free(&dump);
		return false;
	}
	pg_database_size(r->app->shared, r->mig.shared_db, &size);

	StreamSpec spec = {
		.client = r->app->docker,
		.producer = &dump.cmd,
		.backup_path = r->dump,
		.expected_bytes = size > 0 ? (uint64_t) size : 0,
		.progress_tty = progress_tty(),
		.run_id = r->run_id,
	};

	log_notice("dumping \"%s\" from the shared instance to %s", r->mig.shared_db, r->dump);
	if (stream_run(&spec, &r->backup_stream)
		&& verify_shared_inventory(r->app, r->mig.shared_db, false, &inv)
		&& pg_server_version_num(r->app->shared, &r->backup_counts.server_version))
	{
		count(&inv, &r->backup_counts);
		str_copy(r->dump_sha, sizeof(r->dump_sha), r->backup_stream.sha256);

		json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:f, s:I, s:I, s:i}", "dump", r->dump,
							  "sha256", r->dump_sha, "db", r->mig.shared_db,
							  "bytes", (json_int_t) r->backup_stream.bytes,
							  "seconds", r->backup_stream.seconds,
							  "tables", (json_int_t) r->backup_counts.tables,
							  "rows", (json_int_t) r->backup_counts.rows,
							  "server_version", r->backup_counts.server_version);

		ok = rb_record(r, RB_STEP_BACKUP, f);
		json_decref(f);
	}
	inventory_free(&inv);
	pgcmd_free(&dump);
	return ok;
}

bool
rb_step_start_db(Rb *r)
{
	json_t *done = rb_done(r, RB_STEP_START_DB);

	/* always: after a crash or a reboot it may be stopped again */
	if (!rb_db_up(r))
		return false;
	if (done != NULL)
	{
		r->started_db = r->started_db || json_is_true(json_object_get(done, "started"));
		return true;
	}

	json_t *f = json_pack("{s:s, s:s, s:s, s:b}", "container", r->mig.container,
						  "id", r->container, "service", r->db_key, "started", r->started_db);
	bool ok = rb_record(r, RB_STEP_START_DB, f);

	json_decref(f);
	return ok;
}

static const char *
source_path(const Rb *r)
{
	return r->source[0] != '\0' ? r->source : r->dump;
}

/* pg_restore inside the dedicated container, fed from the dump file over
 * exec stdin, into a fresh temporary database owned by POSTGRES_USER. */
bool
rb_step_restore(Rb *r)
{
	json_t *done = rb_done(r, RB_STEP_RESTORE);
	const char *src = source_path(r);
	char sha[FS_SHA256_HEX_LEN + 1];
	PgCommand restore;
	struct stat st;
	bool exists = false, ok = false;

	if (r->data == RB_DATA_ORIGINAL || rb_step_done(r, RB_STEP_SWAP))
		return true;
	if (done != NULL)
	{
		if (!rb_db_exists(r, r->tmp_db, &exists))
			return false;
		if (exists)
			return true;
		log_notice("\"%s\" is gone from %s; restoring again", r->tmp_db, r->mig.container);
	}
	/* checked in pre-flight; checked again right before it is read */
	if (!fs_sha256_sidecar_verify(src) || !fs_sha256_sidecar_read(src, sha))
	{
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	/* the server that made the dump: this run's, or as the journal says */
	RbCounts made = r->backup_counts;

	if (r->source[0] != '\0' && !rb_dump_counts(r, sha, &made))
		return false;
	memset(&restore, 0, sizeof(restore));
	if (!rb_db_create_tmp(r) || !rb_db_fit_for(r, made.server_version)
		|| !pgcmd_restore_in_container(&restore, r->container, r->mig.user, r->tmp_db))
	{
		pgcmd_free(&restore);
		return false;
	}

	StreamSpec spec = {
		.client = r->app->docker,
		.input_file = src,
		.expect_sha256 = sha,   /* the bytes streamed, not only the file checked above */
		.consumer = &restore.cmd,
		.expected_bytes = stat(src, &st) == 0 ? (uint64_t) st.st_size : 0,
		.progress_tty = progress_tty(),
		.run_id = r->run_id,
	};

	log_notice("restoring %s into \"%s\" in %s", src, r->tmp_db, r->mig.container);
	if (stream_run(&spec, &r->restore_stream) && rb_db_finish_tmp(r))
	{
		json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:f}", "source", src, "sha256", sha,
							  "tmp_db", r->tmp_db, "bytes", (json_int_t) r->restore_stream.bytes,
							  "seconds", r->restore_stream.seconds);

		ok = rb_record(r, RB_STEP_RESTORE, f);
		json_decref(f);
	}
	pgcmd_free(&restore);
	return ok;
}

static bool
mismatch(Rb *r, const char *db, const char *against)
{
	log_error("verification failed: \"%s\" in %s does not match %s; nothing was replaced", db,
			  r->mig.container, against);
	exit_hint_set(EXIT_VERIFY);
	r->keep_tmp = r->data != RB_DATA_ORIGINAL;
	return false;
}

/* Against the live shared database: the apps are stopped, so it is still
 * exactly what was dumped. */
static bool
verify_live(Rb *r)
{
	char label[320];

	if (!verify_databases(r->app, r->container, r->mig.user, r->tmp_db, r->mig.shared_db,
						  r->mig.role, r->opts->deep, &r->report, &r->src_inv, &r->dst_inv))
		return false;
	if (r->report.diff_count == 0)
		return true;
	str_format(label, sizeof(label), "%s:%s", r->mig.container, r->tmp_db);
	verify_report_print(stderr, &r->report, label, r->mig.shared_db);
	return mismatch(r, r->tmp_db, "the shared database");
}

/* Against what pgfold counted in the dump's source when it made it. */
static bool
verify_recorded(Rb *r, const char *db, const RbCounts *want, const char *what)
{
	RbCounts got;

	if (!rb_db_inventory(r, db, false, &r->src_inv))
		return false;
	count(&r->src_inv, &got);
	r->report.tables = (size_t) got.tables;
	r->report.rows = got.rows;
	r->report.items = r->src_inv.count;
	if (!want->known)
	{
		log_warn("pgfold has no record of %s: checked only that it restored completely "
				 "(%lld tables, %lld rows)", what, got.tables, got.rows);
		return true;
	}
	if (got.tables == want->tables && got.rows == want->rows)
		return true;
	log_error("\"%s\" in %s has %lld tables, %lld rows; pgfold counted %lld tables, %lld rows "
			  "in %s", db, r->mig.container, got.tables, got.rows, want->tables, want->rows, what);
	return mismatch(r, db, what);
}

bool
rb_step_verify(Rb *r)
{
	RbCounts want;
	bool ok;
	const char *against;

	if (rb_step_done(r, RB_STEP_VERIFY) || rb_step_done(r, RB_STEP_SWAP))
		return true;
	if (r->data == RB_DATA_ORIGINAL)
	{
		json_t *v = journal_step_done(&r->journal, r->mig.run, MIG_STEP_VERIFY);

		want.known = v != NULL;
		want.tables = v ? json_integer_value(json_object_get(v, "tables")) : 0;
		want.rows = v ? json_integer_value(json_object_get(v, "rows")) : 0;
		against = "recorded at migration";
		ok = verify_recorded(r, r->mig.db, &want, "it when it was migrated");
	}
	else if (r->source[0] == '\0')
	{
		against = "shared";
		ok = verify_live(r);
	}
	else
	{
		if (r->opts->deep)
			log_warn("--deep compares against a live database only; %s is checked by counts",
					 r->source);
		const char *sha = rb_field(rb_done(r, RB_STEP_RESTORE), "sha256");

		against = "recorded counts";
		char what[PATH_MAX + 48];

		str_format(what, sizeof(what), "the source of %s when it was made", r->source);
		ok = rb_dump_counts(r, sha != NULL ? sha : "", &want)
			&& verify_recorded(r, r->tmp_db, &want, what);
	}
	if (!ok)
		return false;
	log_notice("verified: %zu tables, %lld rows%s", r->report.tables, r->report.rows,
			   r->opts->deep && r->source[0] == '\0' && r->data != RB_DATA_ORIGINAL
			   ? " (with content hashes)" : "");

	json_t *f = json_pack("{s:s, s:I, s:I, s:I, s:b}", "against", against,
						  "tables", (json_int_t) r->report.tables, "rows", (json_int_t) r->report.rows,
						  "items", (json_int_t) r->report.items, "deep", r->opts->deep);

	ok = rb_record(r, RB_STEP_VERIFY, f);
	json_decref(f);
	return ok;
}

/* Old database aside, restored one in. Every state a crash between the
 * two renames can leave is recognised and finished. */
bool
rb_step_swap(Rb *r)
{
	bool db = false, tmp = false, aside = false;

	if (r->data == RB_DATA_ORIGINAL)
		return true;
	if (rb_step_done(r, RB_STEP_SWAP))
	{
		r->swapped = true;
		return true;
	}
	if (!rb_db_exists(r, r->mig.db, &db) || !rb_db_exists(r, r->tmp_db, &tmp)
		|| !rb_db_exists(r, r->aside_db, &aside))
		return false;
	if (!tmp && !(db && aside))
	{
		log_error("\"%s\" is gone from %s before the swap; re-run to restore it again",
				  r->tmp_db, r->mig.container);
		return false;
	}
	if (tmp && db && aside)
	{
		log_error("\"%s\" already exists in %s (left by an earlier rollback?): inspect it, drop "
				  "it, then re-run", r->aside_db, r->mig.container);
		return false;
	}
	if (tmp && db && !rb_db_rename(r, r->mig.db, r->aside_db))
		return false;
	r->swapped = true;
	if (tmp && !rb_db_rename(r, r->tmp_db, r->mig.db))
		return false;
	if (db || aside)
		log_notice("\"%s\" in %s now holds the restored data; the old one is kept as \"%s\" "
				   "until the rollback has finished", r->mig.db, r->mig.container, r->aside_db);
	else
		log_notice("\"%s\" in %s now holds the restored data", r->mig.db, r->mig.container);

	json_t *f = json_pack("{s:s, s:s, s:b}", "db", r->mig.db, "aside", r->aside_db,
						  "had_old", db || aside);
	bool ok = rb_record(r, RB_STEP_SWAP, f);

	json_decref(f);
	return ok;
}

/* Before the files step: put the dedicated cluster back as it was (the
 * restored database dropped, or kept for inspection after a verification
 * mismatch) and stop the container if this rollback started it. */
void
rb_undo_data(Rb *r)
{
	bool db = false, tmp = false, aside = false;

	if (r->container[0] == '\0' || r->app->docker == NULL)
		return;
	if ((r->swapped || rb_step_done(r, RB_STEP_SWAP))
		&& rb_db_exists(r, r->mig.db, &db) && rb_db_exists(r, r->tmp_db, &tmp)
		&& rb_db_exists(r, r->aside_db, &aside))
	{
		if (db && !tmp)
			rb_db_rename(r, r->mig.db, r->tmp_db);
		if (aside)
			rb_db_rename(r, r->aside_db, r->mig.db);
	}
	if (r->keep_tmp)
		log_notice("kept \"%s\" in %s for inspection; a re-run drops it", r->tmp_db,
				   r->mig.container);
	else if (r->data != RB_DATA_ORIGINAL)
		rb_db_drop(r, r->tmp_db);
	if (r->started_db)
		rb_db_stop(r);
}
