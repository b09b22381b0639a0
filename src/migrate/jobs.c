/*
 * jobs.c — `--jobs N|auto`: how many pg_restore jobs build the post-data
 * section (indexes, constraints, triggers) and how the dump file reaches
 * that pg_restore.
 *
 * The stream stays one pipe (pg_dump -> backup file + SHA-256 ->
 * pg_restore), so dumping and restoring still overlap; with jobs > 1 that
 * pipe restores only the pre-data and data sections, and then `pg_restore
 * -j N --section=post-data` reads the file just written: the part a single
 * pg_restore runs one item at a time runs N at a time. A post-data item has
 * no data block, so the missing data offsets of a piped archive do not
 * matter. The file reaches that pg_restore by one of two routes:
 *   bind mount  the shared container mounts a directory holding the
 *               journal directory: exec pg_restore there, on its own path;
 *   local       this host's pg_restore (major >= the source's) reaching the
 *               shared instance over TCP, as the shared connection does.
 * With neither, jobs is 1: `--jobs auto` says so in plan, `--jobs N` is
 * refused before anything is stopped.
 */
#include "pgfold/migrate.h"

#include "pgfold/exitcodes.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/pgcmd.h"
#include "pgfold/stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
migrate_jobs_route_name(JobsRoute route)
{
	static const char *const names[] = { "pipe", "bind-mount", "local" };

	return names[route];
}

int
migrate_jobs_auto(int64_t db_size, int64_t index_bytes, int cores)
{
	if (db_size < JOBS_AUTO_MIN_BYTES || index_bytes <= 0 || cores < JOBS_AUTO_MIN_CORES)
		return 1;
	return index_bytes * 100 >= db_size * JOBS_AUTO_MIN_INDEX_PCT ? JOBS_AUTO_JOBS : 1;
}

/* The shared server's cores as its container sees them (nproc), -1 when
 * not known. */
static int
container_cores(App *app)
{
	const char *argv[] = { "nproc", NULL };
	DockerExecSpec spec = { .cmd = argv };
	StrBuf out = STRBUF_INIT;
	long n = -1;
	int rc = -1;

	if (app->docker != NULL && app->cfg.shared_container[0] != '\0'
		&& docker_exec_capture(app->docker, app->cfg.shared_container, &spec, NULL, 0, 256, &out,
							   NULL, &rc) && rc == 0)
	{
		char *nl = strchr(out.data ? out.data : "", '\n');

		if (nl != NULL)
			*nl = '\0';
		if (!str_to_long(sb_str(&out), 1, 4096, &n))
			n = -1;
	}
	sb_free(&out);
	return (int) n;
}

/* This host's cores, when the shared instance is on it (loopback). */
static int
local_cores(const Config *cfg)
{
	long n;

	if (strcmp(cfg->pg_host, "127.0.0.1") != 0 && strcmp(cfg->pg_host, "localhost") != 0
		&& strcmp(cfg->pg_host, "::1") != 0)
		return -1;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 && n < 4096 ? (int) n : -1;
}

/* The cores the shared server builds indexes with: its container's, else
 * this host's when it listens on loopback; -1 unknown. */
static int
shared_cores(App *app)
{
	int n = container_cores(app);

	return n > 0 ? n : local_cores(&app->cfg);
}

/* The journal directory as this host spells it, canonical (a bind mount's
 * Source is compared with it); it may not exist yet (plan on a new stack):
 * then the backups directory's canonical path plus the subdirectory. */
static bool
journal_dir_canonical(const Config *cfg, char *out, size_t size)
{
	char dir[PATH_MAX], *real;

	if (!journal_dir_path(cfg->backups_dir, dir, sizeof(dir)))
		return false;
	if ((real = realpath(dir, NULL)) == NULL && (real = realpath(cfg->backups_dir, NULL)) != NULL)
	{
		bool ok = str_format(out, size, "%s/%s", real, JOURNAL_SUBDIR);

		free(real);
		return ok;
	}
	if (real == NULL)
		return false;

	bool ok = str_copy(out, size, real);

	free(real);
	return ok;
}

/* Route (a): a bind mount of the shared container holds the journal dir. */
static bool
mount_route(App *app, JobsPlan *jp)
{
	const char *shared = app->cfg.shared_container;
	char host[PATH_MAX];
	json_t *inspect = NULL;
	bool found = false, ok;

	if (shared[0] == '\0' || app->docker == NULL
		|| !journal_dir_canonical(&app->cfg, host, sizeof(host))
		|| !docker_inspect_container(app->docker, shared, &inspect, &found) || !found)
		return false;
	ok = docker_inspect_bind_path(inspect, host, jp->dir, sizeof(jp->dir));
	json_decref(inspect);
	return ok;
}

/* Route (b): a local pg_restore new enough, and the shared instance
 * reachable from this host (the pre-flight connected to it). */
static bool
local_route(const Preflight *pf, int *major)
{
	*major = pgcmd_local_restore_major();
	return pf->shared_reachable && *major > 0 && *major >= pf->source.version_num / 10000;
}

static void
say(JobsPlan *jp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(JobsPlan *jp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(jp->why, sizeof(jp->why), fmt, ap);
	va_end(ap);
}

/* "index share 41 % of 880.0 MiB" */
static void
describe_source(const Preflight *pf, char *out, size_t size)
{
	char bytes[32];
	int64_t pct = pf->source.db_size > 0 ? pf->source.index_bytes * 100 / pf->source.db_size : 0;

	stream_format_bytes((uint64_t) pf->source.db_size, bytes, sizeof(bytes));
	str_format(out, size, "indexes %lld %% of %s", (long long) pct, bytes);
}

bool
migrate_jobs_decide(App *app, const Preflight *pf, int requested, JobsPlan *jp)
{
	int want = requested, major = -1, cores = -1;
	char src[96], rule[192], opt[32];

	memset(jp, 0, sizeof(*jp));
	jp->jobs = 1;
	jp->route = JOBS_ROUTE_PIPE;
	describe_source(pf, src, sizeof(src));
	if (requested == MIGRATE_JOBS_AUTO)
		str_copy(opt, sizeof(opt), "--jobs auto");
	else
		str_format(opt, sizeof(opt), "--jobs %d", requested);
	if (requested == MIGRATE_JOBS_AUTO)
	{
		/* only asked when the rest of the rule holds */
		if (migrate_jobs_auto(pf->source.db_size, pf->source.index_bytes, INT_MAX) > 1)
			cores = shared_cores(app);
		str_format(rule, sizeof(rule), "auto takes %d from %d MiB with indexes >= %d %% on a "
				   "shared server with >= %d cores", JOBS_AUTO_JOBS,
				   (int) (JOBS_AUTO_MIN_BYTES >> 20), JOBS_AUTO_MIN_INDEX_PCT, JOBS_AUTO_MIN_CORES);
		if (cores > 0)
			str_format(rule + strlen(rule), sizeof(rule) - strlen(rule), "; it has %d", cores);
		else if (migrate_jobs_auto(pf->source.db_size, pf->source.index_bytes, INT_MAX) > 1)
			str_format(rule + strlen(rule), sizeof(rule) - strlen(rule),
					   "; its cores are not known");
		want = migrate_jobs_auto(pf->source.db_size, pf->source.index_bytes, cores);
		if (want <= 1)
		{
			say(jp, "--jobs auto: 1 (%s; %s): one pipe restores the whole archive", src, rule);
			return true;
		}
	}
	else if (requested <= 1)
	{
		say(jp, "--jobs 1: one pipe restores the whole archive");
		return true;
	}
	if (mount_route(app, jp))
		jp->route = JOBS_ROUTE_MOUNT;
	else if (local_route(pf, &major))
		jp->route = JOBS_ROUTE_LOCAL;
	if (jp->route != JOBS_ROUTE_PIPE)
	{
		jp->jobs = want;
		if (jp->route == JOBS_ROUTE_MOUNT)
			say(jp, "%s: %d (%s), the dump read in %s at %s", opt, want, src,
				app->cfg.shared_container, jp->dir);
		else
			say(jp, "%s: %d (%s), the dump read by this host's pg_restore %d over %s:%d",
				opt, want, src, major, app->cfg.pg_host, app->cfg.pg_port);
		return true;
	}

	char host[PATH_MAX] = "backups/" JOURNAL_SUBDIR;
	int need = pf->source.version_num > 0 ? pf->source.version_num / 10000 : 0;

	journal_dir_canonical(&app->cfg, host, sizeof(host));
	if (requested == MIGRATE_JOBS_AUTO)
	{
		say(jp, "--jobs auto: 1, though %d would pay (%s): no route for the dump to a "
			"pg_restore -j (bind-mount %s into %s, or install a local pg_restore %d or newer)",
			want, src, host, app->cfg.shared_container[0] ? app->cfg.shared_container
			: "the shared container", need);
		return true;
	}
	log_error("--jobs %d needs the dump file readable by a pg_restore -j: bind-mount %s (or a "
			  "directory holding it) into %s, or install a local pg_restore %d or newer that "
			  "reaches the shared instance at %s:%d; or use --jobs 1. Nothing was stopped",
			  requested, host, app->cfg.shared_container[0] ? app->cfg.shared_container
			  : "the shared container", need, app->cfg.pg_host, app->cfg.pg_port);
	exit_hint_set(EXIT_USAGE);
	return false;
}

bool
migrate_jobs_file(const JobsPlan *jp, const char *dump, char *out, size_t size)
{
	const char *base = strrchr(dump, '/');

	if (jp->route != JOBS_ROUTE_MOUNT)
		return str_copy(out, size, dump);
	return str_format(out, size, "%s/%s", jp->dir, base ? base + 1 : dump);
}
