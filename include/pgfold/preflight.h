/*
 * preflight.h — every read-only check that decides whether a service can be
 * migrated, shared by `status` (one line per service), `plan` (the full
 * report) and `migrate` (which refuses with exit 3 when anything blocks).
 * Nothing here changes anything anywhere.
 */
#ifndef PGFOLD_PREFLIGHT_H
#define PGFOLD_PREFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "pgfold/app.h"
#include "pgfold/composecmd.h"
#include "pgfold/guard.h"
#include "pgfold/pg.h"

typedef enum CheckLevel
{
	CHECK_OK = 0,
	CHECK_INFO,       /* worth saying, changes nothing */
	CHECK_WARN,       /* attention: review, does not block */
	CHECK_BLOCK       /* the migration cannot go ahead */
} CheckLevel;

typedef struct Check
{
	char       *name;
	CheckLevel  level;
	char       *detail;
} Check;

typedef enum ServiceState
{
	STATE_READY = 0,
	STATE_MIGRATED,
	STATE_ATTENTION,
	STATE_BLOCKED
} ServiceState;

/*
 * What a database holds that pgfold must not restore as the shared
 * instance's admin (hazards.c): event triggers, functions in C or an
 * untrusted language, functions the restore itself would call, and
 * subscriptions. One line per finding, each naming the object and what to
 * do; extension members are not findings.
 *
 * Checked twice: on the dedicated database before anything changes (plan,
 * migrate and db migrate-from refuse with exit 3), and on the restored
 * copy before the admin hands it over (secrets_hand_over). The first is
 * the early refusal that names what to fix; only the second sees what was
 * actually restored (a superuser of the source can add objects after the
 * first check, or hide them from it).
 */
typedef struct DumpHazards
{
	char   **lines;
	size_t   count;
} DumpHazards;

/* How many one error message lists (plan shows every one). */
#define DUMP_HAZARDS_SHOWN 5

/* One row of the hazards query (kind, name, detail) as a line. */
void preflight_hazard_add(DumpHazards *h, const char *kind, const char *name,
						  const char *detail);
/* Ask db in container (psql as user) / the database conn is connected to. */
bool preflight_source_hazards(DockerClient *docker, const char *container,
							  const char *user, const char *db, DumpHazards *out);
bool preflight_restored_hazards(PGconn *conn, DumpHazards *out);
/* True when h is empty; else one error "<in> holds ...: <lines>; then
 * re-run. <then>", exit hint 3, false. */
bool preflight_hazards_none(const DumpHazards *h, const char *in, const char *then);
void preflight_hazards_free(DumpHazards *h);

/* What the dedicated cluster holds, from one psql call. */
typedef struct SourceFacts
{
	bool     known;
	int      version_num;
	int64_t  db_size;
	int64_t  index_bytes;        /* its user indexes (what post-data rebuilds); 0 none/unknown */
	char    *encoding;
	char    *collate;
	char    *ctype;
	char   **other_dbs;          /* non-template databases besides ours and "postgres" */
	size_t   other_db_count;
	char   **extensions;         /* in our database, plpgsql excluded */
	char   **extension_versions;
	size_t   extension_count;
	long     postgres_db_tables; /* user tables in the "postgres" db (when not ours) */
	DumpHazards hazards;         /* in our database */
} SourceFacts;

/* The names a migration uses on the shared instance. */
typedef struct MigrationNames
{
	char db[64];        /* final database name */
	char tmp_db[64];    /* <db>__pgfold_incoming */
	char role[64];
} MigrationNames;

/* The question pre-flight asks the dedicated database of service index,
 * set up in *job for pgx_query_rows_many (false: it has none to ask, or
 * its container does not run). After app_engine. */
bool preflight_source_job(App *app, size_t index, PgxRowsJob *job);

/*
 * The connections of a service, from evidence (conns.c): the peak of the
 * app's sessions on the dedicated server, sampled while the apps run, its
 * usable max_connections, the port it listens on, and what the shared
 * instance has room for. The role's CONNECTION LIMIT follows from them
 * (preflight_conn_limit), or from --connection-limit.
 */
#define CONN_SAMPLES     5      /* samples of pg_stat_activity ... */
#define CONN_SAMPLE_MS 200      /* ... this far apart */

typedef struct ConnEvidence
{
	bool  measured;          /* the samples ran */
	long  peak;              /* most sessions of the app's user(s) in one sample */
	long  source_max;        /* max_connections - superuser_reserved [- reserved]; -1 unknown */
	long  source_port;       /* SHOW port on the dedicated server; -1 unknown */
	int   limit;             /* the role's CONNECTION LIMIT; -1 none */
	bool  overridden;        /* by --connection-limit */
	long  shared_usable;     /* the same max on the shared instance; -1 unknown */
	long  shared_committed;  /* sum of the limits of pgfold's other roles there */
	long  shared_roles;      /* how many of them have a limit */
} ConnEvidence;

/* --connection-limit not given: the limit comes from the evidence. */
#define CONN_LIMIT_FROM_EVIDENCE (-2)
/* Headroom rule: max(2 x peak, peak + CONN_LIMIT_SLACK). */
#define CONN_LIMIT_SLACK 10

/*
 * The rule: nothing measured, or no session of the app's user seen (an app
 * that was not running): no limit (-1). Else max(2 x peak, peak + 10),
 * never above source_max (what the app could ever have had on the source;
 * <= 0 unknown) and never below the peak itself.
 */
int preflight_conn_limit(bool measured, long peak, long source_max);

typedef struct PreflightOptions
{
	const char *db;           /* --db */
	const char *role;         /* --role */
	bool        light;        /* status: skip the costlier checks */
	/* status: the source's answer, asked with every other service's at
	 * once (preflight_source_job); NULL = ask now */
	const PgxRowsJob *source_answer;
	int         connection_limit;  /* --connection-limit, or CONN_LIMIT_FROM_EVIDENCE */
	bool        ignore_migration_state;   /* --ignore-migration-state */
	bool        drop_grants;  /* --drop-grants */
	bool        with_roles;   /* --with-roles */
	bool        files_edited; /* --files-edited */
} PreflightOptions;

typedef struct Preflight
{
	Check          *checks;
	size_t          count;
	ServiceState    state;
	const char     *reason;       /* the first blocking/attention detail */
	MigrationNames  names;
	SourceFacts     source;
	ConnEvidence    conns;
	int             shared_version_num;
	bool            shared_reachable;
	bool            engine_reachable;
	bool            role_exists;
	bool            role_password_file;  /* and it logs in */
	bool            tmp_db_exists;
	/* guard.h: the runners' state tables and the other roles of the
	 * source (not read in light mode) */
	RunnerStates    runners;
	bool            runners_known;
	OtherRoles      roles;
	bool            roles_known;
	const ContainerInfo *db_container;
	/* The files the migration would write, built by the pre-flight's dry
	 * run with a placeholder password (plan shows their diffs); NULL when
	 * the service cannot be rewritten (a blocking check says why). */
	struct MigrationFiles *files;
	/* The source database's locale and settings (dbprops.h), read by
	 * preflight_check_properties; NULL when they could not be. */
	struct DbProps *props;
	/* compose's `version` and `config --hash`, asked early and answered
	 * at the end of the pre-flight (preflight.c) */
	ComposeJob      hash_version, hash_config;
	bool            hash_pending;
	size_t          hash_index;
} Preflight;

/* Shown in place of the password a migration will generate. */
#define PREFLIGHT_PASSWORD_PLACEHOLDER "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"

#define TMP_DB_SUFFIX "__pgfold_incoming"

/* Compute the names: --db, else the naming rule (naming.h, PGFOLD_DB_NAME);
 * the role is --role, else the database's name; the temporary database is
 * the name plus TMP_DB_SUFFIX, cut with a hash suffix to fit 63 bytes
 * (preflight_names.c). False with a logged error when a name is unusable. */
bool preflight_names(const App *app, const StackService *svc, const PreflightOptions *opts,
					 MigrationNames *out);

/* The "names" check: what the names are and why (`pgfold name` says more). */
void preflight_names_check(Preflight *pf, const App *app, const StackService *svc,
						   const PreflightOptions *opts);

/* The naming rule applied to svc with the stack's PGFOLD_DB_NAME and
 * admin role; false with the reason in err. */
struct NamingResult;
bool preflight_name_rule(const App *app, const StackService *svc, struct NamingResult *out,
						 char *err, size_t err_len);

/* Sample the source's sessions and settings, set pf->conns and add the
 * "connections" checks (one blocks when the shared instance has no room);
 * called by preflight_run once the source answered (conns.c). */
void preflight_connections(App *app, const StackService *svc, const PreflightOptions *opts,
						   Preflight *pf);

/* Run every check for svc (app_open done; engine and shared tried here). */
bool preflight_run(App *app, size_t index, const PreflightOptions *opts,
				   Preflight *out);
void preflight_free(Preflight *pf);

/* The source's locale can be created on the shared instance and no
 * setting loads code (preflight_props.c); fills pf->props. */
void preflight_check_properties(Preflight *pf, App *app, const StackService *svc);

/* Apps configured by their own files (preflight_appfiles.c): when no app
 * connects through compose but an app file names the db (or with
 * --files-edited), the service's problem is cleared and apps_in_files
 * set; then each file is reported (an unknown format blocks). */
void preflight_adopt_app_files(App *app, size_t index, const PreflightOptions *opts);
void preflight_app_files(Preflight *pf, App *app, const StackService *svc,
						 const PreflightOptions *opts);
/* Can each app reach the shared instance after the fold (networks.c)? */
void preflight_networks(Preflight *pf, App *app, const StackService *svc);
/* Both, on the files the pre-flight's dry run built. */
void preflight_after_rewrite(Preflight *pf, App *app, const StackService *svc,
							 const PreflightOptions *opts);

/* For other commands' checks (rollback): add one (detail from fmt), and set
 * state/reason from the worst level present (block, then warn). */
void preflight_add(Preflight *pf, const char *name, CheckLevel level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void preflight_settle(Preflight *pf);

const char *preflight_state_name(ServiceState state);
const char *preflight_level_name(CheckLevel level);

/* The checks of guard.h ("migration state", "other roles"), on the
 * running source (guard_checks.c). */
void preflight_check_guard(Preflight *pf, App *app, const StackService *svc,
						   const PreflightOptions *opts);

/* The checks as text lines (plan) or JSON (status --json, plan --json). */
void preflight_print(FILE *out, const Preflight *pf, bool color);
json_t *preflight_json(const StackService *svc, const Preflight *pf);

#endif
