/*
 * migrate.h — moving one service's database into the shared instance.
 *
 * The same code computes what `plan` prints and what `migrate` does: the
 * SQL (migration_sql_*), the new files (migration_files_*) and the compose
 * commands (composecmd.h), so the plan is exactly what will run.
 *
 * Order of the steps (each journaled; see docs/MIGRATE.md):
 *   connections (what the pre-flight measured), save-original, stop-apps,
 *   role, create-temp, stream, ownership, verify, files (service file, .env,
 *   override), cutover (rename), apply, proof (each app's settings log in).
 * Files are written before the cutover so that any failure up to and
 * including the rename can be undone completely (original file restored,
 * temporary database dropped, apps restarted). After the rename the data
 * lives in the shared instance: a failure then leaves the apps stopped and
 * a re-run finishes the job, because restarting them on the dedicated
 * database would let the two copies diverge.
 */
#ifndef PGFOLD_MIGRATE_H
#define PGFOLD_MIGRATE_H

#include <limits.h>
#include <stdbool.h>

#include "pgfold/app.h"
#include "pgfold/appconfig.h"
#include "pgfold/fsutil.h"
#include "pgfold/preflight.h"
#include "pgfold/rewrite.h"
#include "pgfold/str.h"

/* `user create`'s default; migrate sizes the role from evidence
 * (preflight.h: CONN_LIMIT_FROM_EVIDENCE). */
#define MIGRATE_DEFAULT_CONNECTION_LIMIT 20

/* --jobs auto (the default): jobs.c decides from the source and the route. */
#define MIGRATE_JOBS_AUTO 0
#define MIGRATE_JOBS_MAX 64

typedef struct MigrateOptions
{
	const char *db;                /* --db */
	const char *role;              /* --role */
	int         connection_limit;  /* --connection-limit, or CONN_LIMIT_FROM_EVIDENCE */
	bool        yes;               /* --yes */
	bool        no_apply;          /* --no-apply: print compose commands */
	bool        deep;              /* --deep: content hashes */
	bool        keep_app_stopped;  /* --keep-app-stopped */
	bool        verify_only;       /* --verify on a migrated service */
	bool        dry_run;           /* --dry-run = plan */
	bool        ignore_migration_state;  /* --ignore-migration-state */
	bool        drop_grants;       /* --drop-grants */
	bool        with_roles;        /* --with-roles */
	bool        files_edited;      /* --files-edited: the operator changed the
									* app files pgfold cannot rewrite */
	bool        rehearse;          /* plan --rehearse */
	int         jobs;              /* --jobs N, or MIGRATE_JOBS_AUTO */
	bool        json;
} MigrateOptions;

/* `plan SERVICE` / `migrate SERVICE --dry-run`. Returns the exit code. */
int migrate_plan(App *app, size_t index, const MigrateOptions *opts);

/* ---- --jobs (src/migrate/jobs.c) --------------------------------------- */

/* How the dump file reaches the pg_restore -j of the post-data section. */
typedef enum JobsRoute
{
	JOBS_ROUTE_PIPE,    /* none: jobs 1, the pipe restores the whole archive */
	JOBS_ROUTE_MOUNT,   /* a bind mount of the shared container holds it */
	JOBS_ROUTE_LOCAL,   /* this host's pg_restore, over TCP */
} JobsRoute;

typedef struct JobsPlan
{
	int       jobs;               /* 1: one pipe, the whole archive */
	JobsRoute route;
	char      dir[PATH_MAX];      /* MOUNT: the journal dir inside the shared container */
	char      why[PATH_MAX + 512];/* for plan and the log */
} JobsPlan;

/* The automatic rule (docs/BENCHMARKS.md, "--jobs"): JOBS_AUTO_JOBS when
 * the source holds at least JOBS_AUTO_MIN_BYTES, its indexes are at least
 * JOBS_AUTO_MIN_INDEX_PCT % of it and the shared server has at least
 * JOBS_AUTO_MIN_CORES cores (-1: not known); else 1. On 2 cores a single
 * pg_restore's index builds already take both (parallel maintenance
 * workers): measured, -j 2 did not pay there. Pure. */
#define JOBS_AUTO_MIN_BYTES      ((int64_t) 256 << 20)
#define JOBS_AUTO_MIN_INDEX_PCT  25
#define JOBS_AUTO_MIN_CORES      4
#define JOBS_AUTO_JOBS           2
int migrate_jobs_auto(int64_t db_size, int64_t index_bytes, int cores);
const char *migrate_jobs_route_name(JobsRoute route);   /* "pipe", "bind-mount", "local" */

/* Decide the jobs and route for requested (--jobs N, or MIGRATE_JOBS_AUTO)
 * from the pre-flight's source facts and the routes there are. An explicit
 * N > 1 with no route: one error naming the fix, exit hint EXIT_USAGE,
 * false (before anything is stopped); auto falls back to 1, jp->why says. */
bool migrate_jobs_decide(App *app, const Preflight *pf, int requested, JobsPlan *jp);
/* The path that pg_restore -j reads for the dump written at dump. */
bool migrate_jobs_file(const JobsPlan *jp, const char *dump, char *out, size_t size);

/* `plan SERVICE --rehearse` (rehearse.c), once the plan could go ahead:
 * the data part of the migration (stream, ownership, analyze, verify) into
 * a scratch database and role while the apps run, timed, then dropped.
 * Prints the phases, or with opts->json sets *out to them. Exit code. */
int migrate_rehearse(App *app, size_t index, const Preflight *pf, const MigrateOptions *opts,
					 const JobsPlan *jobs, json_t **out);

/* `migrate SERVICE`. Returns the exit code. */
int migrate_run(App *app, size_t index, const MigrateOptions *opts);

/* The steps in order, as runner.h runs them (steps_table.c); the first
 * MIGRATE_STEPS_BEFORE_CUTOVER can be undone, the rest are finished by a
 * re-run. Tests crash the run after each (PGFOLD_FAULT_AFTER, runner.h). */
#define MIGRATE_STEPS_BEFORE_CUTOVER 14
struct RunnerStep;
const struct RunnerStep *migrate_steps(size_t *n);

/* ---- SQL (src/migrate/sql.c) ------------------------------------------- */

/* The statements, for printing; the role's password shows as a placeholder. */
struct DbProps;
bool migration_sql_describe(PGconn *conn, const MigrationNames *names,
							const struct DbProps *props, int connection_limit,
							StrBuf *out);

/* Create the temporary database owned by the role, closed to PUBLIC, with
 * the source's encoding and locale (props NULL: the server's defaults). */
bool migration_create_temp(PGconn *admin, const MigrationNames *names,
						   const struct DbProps *props);

/* ---- apps configured by their own files (src/migrate/appfiles.c) ------- */

/* One file an app of the project reads (a bind mount under the stack root)
 * that names the dedicated database. */
typedef struct AppFile
{
	char      path[PATH_MAX];   /* absolute */
	char      rel[PATH_MAX];    /* under the stack root, for messages */
	char     *app;              /* the compose service that mounts it */
	AcFormat  format;
	bool      rewrite;          /* known format: new_bytes replaces it */
	StrBuf    old_bytes;        /* as found (may hold the old password) */
	StrBuf    new_bytes;        /* secret: the new password */
	char      old_sha[FS_SHA256_HEX_LEN + 1];
	char      new_sha[FS_SHA256_HEX_LEN + 1];
	AcRef    *refs;             /* unknown format: the lines to change */
	size_t    ref_count;
} AppFile;

typedef struct AppFiles
{
	AppFile *items;
	size_t   count;
	size_t   scanned;           /* files read */
} AppFiles;

/* Limits of the search: hostile trees are bounded. */
#define APPFILES_MAX_FILES 2000
#define APPFILES_MAX_DEPTH 4

/*
 * The files of every app service of the project of service index (its own
 * file and the project's other -f files: an OnRamp db file may hold only
 * the db) that bind-mount something under the stack root: each file there
 * naming the db (service key or container name, with its port, user or
 * database) is rewritten for target when its format is known, else its
 * references are listed. False (logged) when a file naming it cannot be
 * rewritten safely.
 */
bool appfiles_find(App *app, size_t index, const AcNew *target, AppFiles *out);
void appfiles_free(AppFiles *files);
/* Unified diffs of the app files migrate rewrites (password values
 * masked), and the references of the others; appended to out. */
struct MigrationFiles;
bool appfiles_diff(const struct MigrationFiles *files, StrBuf *out);
/* Does any app of the project read a file that names the db? For the
 * pre-flight of a service whose compose file holds no connection. */
bool appfiles_any(App *app, size_t index, size_t *count);

/* ---- networks (src/migrate/networks.c) -------------------------------- */

/* The shared instance's networking as the fold needs it. */
typedef struct SharedNet
{
	bool        container;   /* PGFOLD_SHARED_CONTAINER names a container that exists */
	char       *mode;        /* its NetworkMode */
	char      **names;       /* its networks */
	size_t      count;
	char        project[256];/* the apps' compose project */
	RwSharedNet rw;          /* for the rewriter (points into the above) */
} SharedNet;

/* Inspect the shared container (after app_engine); not a container, or
 * no engine: container false. Never fails. */
void migration_shared_net(App *app, size_t index, SharedNet *out);
void migration_shared_net_free(SharedNet *net);

/* ---- files (src/migrate/files.c) --------------------------------------- */

typedef struct MigrationFiles
{
	char            service_rel[PATH_MAX];   /* services/x.yml */
	char            override_rel[PATH_MAX];  /* overrides/x-dedicated-postgres.yml */
	char            override_path[PATH_MAX];
	RwServiceResult service;                 /* new service file bytes */
	StrBuf          override_bytes;
	char            env_path[PATH_MAX];      /* where compose reads variables
											  * (ComposeInvocation.env_target) */
	char            env_rel[PATH_MAX];       /* the same, for messages and diffs */
	StrBuf          env_old;                 /* env_path as it is */
	StrBuf          env_new;                 /* with the password variable */
	bool            env_exists;
	AppFiles        app_files;               /* apps configured by their files */
	SharedNet       net;                     /* the shared instance's networks */
} MigrationFiles;

/* Compute every new file; password may be a placeholder (plan). */
bool migration_files_build(App *app, const StackService *svc,
						   const MigrationNames *names, const char *password,
						   MigrationFiles *out);
void migration_files_free(MigrationFiles *files);

/* Unified diffs of every file that would change (secrets masked). */
bool migration_files_diff(const StackService *svc, const MigrationFiles *files,
						  StrBuf *out);

#endif
