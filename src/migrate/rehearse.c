/*
 * rehearse.c — `pgfold plan SERVICE --rehearse`: the data part of a
 * migration, timed, while the apps keep running.
 *
 * The source is dumped (pg_dump reads one snapshot, so the apps may keep
 * writing) into a scratch database owned by a scratch NOLOGIN role, its
 * objects handed over, analysed as that role and verified, exactly as
 * migrate's stream, ownership, analyze and verify steps do; then the scratch
 * database, role and dump go. Nothing an app uses changes, the scratch
 * names can never be the final ones, and a rehearsal that was interrupted
 * (Ctrl-C) cleans up before it exits; one that was killed leaves them to the
 * next rehearsal, which drops them first.
 */
#include "run_internal.h"

#include "pgfold/dbprops.h"
#include "pgfold/downtime.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/pgcmd.h"
#include "pgfold/runner.h"
#include "pgfold/secrets.h"
#include "pgfold/signals.h"
#include "pgfold/stream.h"
#include "pgfold/verify.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REHEARSE_PREFIX "pgfold_rehearse_"

typedef struct Rehearsal
{
	App           *app;
	StackService  *svc;
	const Preflight *pf;
	const JobsPlan *jobs;          /* the same split and route as migrate */
	bool           deep;
	char           scratch[64];        /* database and role */
	char           dump[PATH_MAX];
	StreamResult   stream;
	VerifyReport   report;
	Inventory      src, dst;
} Rehearsal;

/* "pgfold_rehearse_<final name>", cut to PostgreSQL's 63 bytes. */
static void
scratch_name(const char *db, char out[64])
{
	str_format(out, 64, "%s%.*s", REHEARSE_PREFIX, 63 - (int) strlen(REHEARSE_PREFIX), db);
}

static bool
drop_scratch_role(Rehearsal *h)
{
	StrBuf sql = STRBUF_INIT;
	bool ok = sb_appends(&sql, "DROP ROLE IF EXISTS ")
		&& pg_quote_ident(h->app->shared, h->scratch, &sql)
		&& pg_exec(h->app->shared, "drop the rehearsal's role", sb_str(&sql));

	sb_free(&sql);
	return ok;
}

/* "<service>_rehearse_<stamp>.dump" (or .sha256/.partial after it): a
 * rehearsal's own file, by the exact shape journal_run_file gives it. */
static bool
rehearsal_file(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *rest;

	if (strncmp(name, prefix, n) != 0 || strlen(name + n) < JOURNAL_STAMP_LEN)
		return false;
	for (size_t i = 0; i < JOURNAL_STAMP_LEN; i++)
		if (!isdigit((unsigned char) name[n + i]) && name[n + i] != 'T' && name[n + i] != 'Z')
			return false;
	rest = name + n + JOURNAL_STAMP_LEN;
	return strcmp(rest, ".dump") == 0 || strcmp(rest, ".dump.sha256") == 0
		|| strcmp(rest, ".dump.partial") == 0;
}

/* The dumps of rehearsals killed before they could remove them. */
static bool
remove_stale_dumps(Rehearsal *h)
{
	char dir[PATH_MAX], prefix[PATH_MAX], path[PATH_MAX * 2];
	DIR *d;
	struct dirent *e;
	bool ok = true;

	if (!journal_dir_path(h->app->cfg.backups_dir, dir, sizeof(dir)))
		return false;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT;
	str_format(prefix, sizeof(prefix), "%s_rehearse_", service_fsname(h->svc));
	while ((e = readdir(d)) != NULL)
	{
		if (!rehearsal_file(e->d_name, prefix))
			continue;
		str_format(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0 && errno != ENOENT)
		{
			log_error("could not remove an earlier rehearsal's dump %s: %s", path,
					  strerror(errno));
			ok = false;
		}
	}
	closedir(d);
	return ok;
}

/* The scratch database first (its objects belong to the role), then the
 * role, then the dump and its checksum. Also what a killed rehearsal left. */
static bool
clean_up(Rehearsal *h)
{
	char side[PATH_MAX + 8];
	bool ok = pg_drop_database(h->app->shared, h->scratch, true) && drop_scratch_role(h);

	if (h->dump[0] != '\0')
	{
		str_format(side, sizeof(side), "%s.sha256", h->dump);
		if ((unlink(h->dump) != 0 && errno != ENOENT) || (unlink(side) != 0 && errno != ENOENT))
		{
			log_error("could not remove the rehearsal's dump %s: %s", h->dump, strerror(errno));
			ok = false;
		}
	}
	return ok;
}

static bool
create_scratch(Rehearsal *h)
{
	StrBuf sql = STRBUF_INIT;
	bool ok = sb_appends(&sql, "CREATE ROLE ")
		&& pg_quote_ident(h->app->shared, h->scratch, &sql)
		&& sb_appends(&sql, " NOLOGIN")
		&& pg_exec(h->app->shared, "create the rehearsal's role", sb_str(&sql));

	sb_free(&sql);
	ok = ok && dbprops_create_shared(h->app->shared, h->scratch, h->scratch, h->pf->props)
		&& secrets_isolate_database(h->app->shared, h->scratch, h->scratch);
	return ok;
}

static bool
stream_into_scratch(Rehearsal *h)
{
	const Config *cfg = &h->app->cfg;
	char stamp[JOURNAL_STAMP_LEN + 1], dir[PATH_MAX];
	PgCommand dump, restore;
	bool ok;

	memset(&dump, 0, sizeof(dump));
	memset(&restore, 0, sizeof(restore));
	ok = journal_stamp(time(NULL), stamp)
		&& journal_dir_path(cfg->backups_dir, dir, sizeof(dir))
		&& fs_mkdir_p(dir, JOURNAL_DIR_MODE)
		&& journal_run_file(cfg->backups_dir, service_fsname(h->svc), "rehearse_", stamp, ".dump",
							h->dump, sizeof(h->dump))
		&& pgcmd_dump_in_container(&dump, h->pf->db_container->name, h->svc->db_user,
								   h->svc->db_name)
		&& pgcmd_restore_shared_part(&restore, cfg, h->scratch, h->jobs->jobs > 1
									 ? PGCMD_PRE_DATA_AND_DATA : PGCMD_WHOLE);
	if (ok)
	{
		StreamSpec spec = {
			.client = h->app->docker,
			.producer = &dump.cmd,
			.backup_path = h->dump,
			.consumer = &restore.cmd,
			.expected_bytes = (uint64_t) h->pf->source.db_size,
			.progress_tty = isatty(STDERR_FILENO) && log_get_level() <= LOG_NOTICE,
			.run_id = stamp,
		};

		log_notice("rehearsing: streaming \"%s\" from %s into \"%s\" while the apps run",
				   h->svc->db_name, h->pf->db_container->name, h->scratch);
		ok = stream_run(&spec, &h->stream);
	}
	pgcmd_free(&dump);
	pgcmd_free(&restore);
	return ok;
}

/* migrate's post-data step: pg_restore -j from the dump just written */
static bool
post_data(Rehearsal *h)
{
	char file[PATH_MAX], stamp[JOURNAL_STAMP_LEN + 1];
	PgCommand cmd;
	StreamResult res;
	bool ok;

	if (!migrate_jobs_file(h->jobs, h->dump, file, sizeof(file))
		|| !journal_stamp(time(NULL), stamp)
		|| !pgcmd_restore_shared_post_data(&cmd, &h->app->cfg, h->scratch, file, h->jobs->jobs,
										   h->jobs->route == JOBS_ROUTE_LOCAL))
		return false;

	StreamSpec spec = {
		.client = h->app->docker,
		.input_file = "/dev/null",
		.consumer = &cmd.cmd,
		.run_id = stamp,
		.input_may_be_empty = true,
	};

	log_notice("rehearsing: pg_restore -j %d of the indexes, constraints and triggers (%s)",
			   h->jobs->jobs, migrate_jobs_route_name(h->jobs->route));
	ok = stream_run(&spec, &res);
	stream_result_free(&res);
	pgcmd_free(&cmd);
	return ok;
}

static void
phase(Rehearsal *h, json_t *phases, const char *name, double began)
{
	double secs = clock_now() - began;

	(void) h;
	json_object_set_new(phases, name, json_real(secs));
	runner_fault_point(name);   /* tests: a rehearsal killed after this phase */
}

/* Each phase of the data part of migrate, timed into phases. */
static bool
run_phases(Rehearsal *h, json_t *phases)
{
	double t = clock_now(), secs = 0;

	if (!create_scratch(h) || !stream_into_scratch(h))
		return false;
	phase(h, phases, MIG_STEP_STREAM, t);
	t = clock_now();
	if (h->jobs->jobs > 1)
	{
		if (!post_data(h))
			return false;
		phase(h, phases, MIG_STEP_POST_DATA, t);
		t = clock_now();
	}
	if (!secrets_hand_over(h->app, h->scratch, h->scratch, false))
		return false;
	phase(h, phases, MIG_STEP_OWNERSHIP, t);
	if (!dbprops_analyze(&h->app->cfg, h->scratch, h->scratch, &secs))
		return false;
	json_object_set_new(phases, MIG_STEP_ANALYZE, json_real(secs));
	t = clock_now();
	if (!verify_databases(h->app, h->pf->db_container->id, h->svc->db_user, h->svc->db_name,
						  h->scratch, NULL, h->deep, &h->report, &h->src, &h->dst))
		return false;
	phase(h, phases, MIG_STEP_VERIFY, t);
	return true;
}

/* The phases a rehearsal times, as migrate's journal names them. */
static const char *const rehearsed_phases[] = {
	MIG_STEP_STREAM, MIG_STEP_POST_DATA, MIG_STEP_OWNERSHIP, MIG_STEP_ANALYZE, MIG_STEP_VERIFY, NULL
};

static void
print_rehearsal(const Rehearsal *h, json_t *phases, double data_secs, double overhead,
				size_t folds)
{
	char bytes[32];
	const char *key;
	json_t *v;

	stream_format_bytes(h->stream.bytes, bytes, sizeof(bytes));
	printf("\nRehearsal of %s (the apps kept running; nothing they use changed):\n", h->svc->name);
	json_object_foreach(phases, key, v)
		printf("  %-10s %.1f s\n", key, json_real_value(v));
	if (h->jobs->jobs > 1)
		printf("  jobs       %d (%s)\n", h->jobs->jobs, migrate_jobs_route_name(h->jobs->route));
	printf("  backup     %s written in %.1f s (the dump migrate keeps; this one was removed)\n",
		   bytes, h->stream.seconds);
	if (h->report.diff_count == 0)
		printf("  verified   %zu tables, %lld rows, %zu items identical\n", h->report.tables,
			   h->report.rows, h->report.items);
	else
		printf("  verified   %zu difference(s) from the running source: writes the apps made "
			   "after the dump's snapshot (a real run stops them first)\n",
			   h->report.diff_count);
	if (folds > 0)
		printf("  downtime   about %.1f s: the data %.1f s, stopping the apps and bringing them "
			   "back %.1f s (median of %zu earlier fold%s on this stack)\n", data_secs + overhead,
			   data_secs, overhead, folds, folds == 1 ? "" : "s");
	else
		printf("  downtime   about %.1f s for the data, plus the time the apps take to stop "
			   "(each up to its grace period) and to start (no earlier fold on this stack "
			   "measured it)\n", data_secs);
}

static double
sum_phases(json_t *phases)
{
	const char *key;
	json_t *v;
	double total = 0;

	json_object_foreach(phases, key, v)
		total += json_real_value(v);
	return total;
}

int
migrate_rehearse(App *app, size_t index, const Preflight *pf, const MigrateOptions *opts,
				 const JobsPlan *jobs, json_t **out)
{
	Rehearsal h;
	json_t *phases = json_object();
	bool ok;
	int rc = EXIT_OK;

	memset(&h, 0, sizeof(h));
	h.app = app;
	h.svc = &app->stack.services[index];
	h.pf = pf;
	h.jobs = jobs;
	h.deep = opts->deep;
	scratch_name(pf->names.db, h.scratch);
	/* what a rehearsal killed earlier left behind */
	ok = clean_up(&h) && remove_stale_dumps(&h);
	ok = ok && run_phases(&h, phases);
	if (!ok)
		rc = signals_interrupted() ? EXIT_INTERRUPTED : exit_hint_get();
	if (signals_interrupted())
		signals_clear();
	if (!clean_up(&h))
	{
		log_error("the rehearsal of %s left \"%s\" (database and role) on the shared instance: "
				  "the next `pgfold plan %s --rehearse` drops them", h.svc->name, h.scratch,
				  h.svc->name);
		rc = rc != EXIT_OK ? rc : EXIT_FAIL;
	}
	else if (rc != EXIT_OK)
		log_error("the rehearsal of %s did not finish; nothing of it is left on the shared "
				  "instance", h.svc->name);
	if (rc == EXIT_OK)
	{
		double data = sum_phases(phases), overhead = 0;
		size_t folds = 0;
		bool known = journal_apps_overhead(app->cfg.backups_dir, rehearsed_phases, &overhead,
										   &folds);

		if (opts->json)
			*out = json_pack("{s:o, s:f, s:o, s:o, s:I, s:I, s:I, s:b, s:i, s:s}", "phases",
							 json_incref(phases), "data_seconds", data,
							 "apps_overhead_seconds", known ? json_real(overhead) : json_null(),
							 "downtime_seconds", known ? json_real(data + overhead) : json_null(),
							 "earlier_folds", (json_int_t) folds,
							 "dump_bytes", (json_int_t) h.stream.bytes,
							 "differences", (json_int_t) h.report.diff_count,
							 "identical", h.report.diff_count == 0, "jobs", jobs->jobs,
							 "route", migrate_jobs_route_name(jobs->route));
		else
			print_rehearsal(&h, phases, data, overhead, folds);
	}
	json_decref(phases);
	stream_result_free(&h.stream);
	verify_report_free(&h.report);
	inventory_free(&h.src);
	inventory_free(&h.dst);
	return rc;
}
