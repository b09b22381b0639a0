/*
 * service.h — what a service file means for pgfold: which compose service
 * is the dedicated postgres, which app services connect to it and how, and
 * what credentials and database they use.
 *
 * Everything here is computed from a parsed ComposeFile (compose.h) and is
 * pure: no engine, no database. Spans point into ComposeFile.bytes so the
 * rewriter can replace exactly the bytes of one piece of a connection
 * setting (a URL's host, a DB_HOST value) and leave every other byte alone.
 */
#ifndef PGFOLD_SERVICE_H
#define PGFOLD_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgfold/compose.h"
#include "pgfold/config.h"
#include "pgfold/dotenv.h"

typedef enum ConnKind
{
	CONN_URL = 0,     /* DATABASE_URL=postgres[ql]://user:pass@host:port/db?... */
	CONN_PARTS,       /* *_HOST, *_PORT, *_USER, *_PASSWORD, *_DB / *_NAME */
	CONN_NOCODB       /* NC_DB=pg://host:port?u=..&p=..&d=.. */
} ConnKind;

/*
 * A URL-ish value split into raw pieces; each span is into the bytes that
 * were split (the file bytes for a ConnRef). Empty span = absent. The host
 * span of an IPv6 literal includes its brackets. Pieces are split on the
 * top-level `:` `@` `/` `?` only: a `${...}` (nested too) is skipped as a
 * whole, and a `}` outside any `${` is ordinary text (docmost's stray one).
 */
typedef struct ConnUrlParts
{
	Span user, password, host, port, dbname;   /* empty span = absent */
	Span scheme;     /* "postgresql", "pg", ... */
	Span query;      /* after '?', excluding it; empty = none */
} ConnUrlParts;

/* A connection's settings as the app sees them (interpolated, URL pieces
 * percent-decoded). NULL / -1 = absent or not resolvable. */
typedef struct ConnValues
{
	char *user;
	char *password;   /* secret: zeroed when freed, never logged */
	char *host;       /* IPv6 without brackets */
	char *dbname;
	int   port;
} ConnValues;

/* The pieces of a connection, as ConnNames indexes them. */
typedef enum ConnPiece
{
	PIECE_HOST = 0,
	PIECE_PORT,
	PIECE_USER,
	PIECE_PASSWORD,
	PIECE_DBNAME,
	PIECE_COUNT
} ConnPiece;

/*
 * How an app names its connection settings and what it assumes when one is
 * unset: from a known image's convention (conventions.c), the file's
 * `# pgfold.*` header, or all NULL for the generic heuristics. A piece the
 * fold must change but the file does not set is added under var[] when the
 * new value differs from deflt[]; with no var[] known it is refused.
 */
typedef struct ConnNames
{
	const char *var[PIECE_COUNT];    /* NULL: no name known */
	const char *deflt[PIECE_COUNT];  /* NULL: the app's default is not known */
	bool        port_in_host;        /* the port is written as host:port (Gitea) */
	bool        dbname_by_app;       /* the app picks its database itself (Odoo) */
} ConnNames;

typedef struct ConnRef
{
	ConnKind      kind;
	size_t        app;         /* index into file.services */
	char         *prefix;      /* CONN_PARTS: e.g. "DB_" or "POSTGRES_" (owned) */
	int           var;         /* CONN_URL/NOCODB: index into env; -1 for PARTS */
	/* CONN_URL/NOCODB: pieces of env[var].value. CONN_PARTS: each piece is
	 * env[i].value of the variable holding it (same spans, for uniformity). */
	ConnUrlParts  url;
	/* CONN_PARTS: env indices, -1 when not in `environment:` (the value may
	 * still come from an env_file: see values) */
	int           host, port, user, password, dbname;
	/* CONN_PARTS: the host variable holds host:port (GITEA__database__HOST=
	 * db:5432). url.host/url.port are the two halves of its value when the
	 * bytes split at a top-level ':', else url.host is the whole value. */
	bool          host_with_port;
	/* The URL comes whole from interpolation (DATABASE_URL=${X}): no piece
	 * spans, only env[var].value; values come from the resolved string. */
	bool          indirect;
	/* It points at the shared instance (a migrated file), not a dedicated db. */
	bool          shared;
	/* CONN_URL whose user and password are separate variables (a JDBC URL:
	 * Keycloak's KC_DB_URL + KC_DB_USERNAME / KC_DB_PASSWORD): user and
	 * password index those variables, url.user / url.password span them. */
	bool          split_credentials;
	ConnNames     names;
	/* Which rule found it, for plan: "zabbix convention (image
	 * zabbix/zabbix-server-pgsql)", "generic DB_* variables" (owned). */
	char         *rule;
	ConnValues    values;
} ConnRef;

typedef struct StackService
{
	char        *name;           /* file stem: services/<name>.yml; "<stem>/<db_key>" when split */
	char        *path;
	/* A file with several dedicated postgres services is one entry per db
	 * (stack.c): db_key is the db service's key this entry folds, NULL
	 * for a file with one. fsname is the name's one form for the file
	 * system (journal, dumps, override, password variable): the name, or
	 * "<stem>--<db_key>", never a '/'. Both owned. */
	char        *db_key;
	char        *fsname;
	ComposeFile  file;
	bool         loaded;         /* file parsed */
	char        *problem;        /* why pgfold cannot handle it, or NULL */

	/* metadata header (pointers into file.meta) */
	const char  *meta_database;      /* "# database:" e.g. "postgres" once migrated */
	const char  *meta_database_name; /* "# database_name:" */
	/* "# pgfold.host:", "# pgfold.user:", ... "# pgfold.url:": the apps'
	 * variable names, when no known convention fits (conventions.c) */
	ConnNames    meta_names;
	const char  *meta_url;

	/* the dedicated postgres service, if any */
	int          db_service;         /* index into file.services, -1 = none */
	char        *db_container;       /* container_name, or compose's default */
	char        *db_image;
	const char  *db_image_family;    /* canonical family ("library/postgres"), static */
	int          db_image_major;     /* from the image tag, -1 unknown */
	char        *db_user;            /* POSTGRES_USER resolved, default postgres */
	char        *db_name;            /* POSTGRES_DB resolved, default = user */
	/* the db service's POSTGRES_USER / _PASSWORD / _DB in its env, -1 = not
	 * in `environment:` (may still come from an env_file, or the default) */
	int          db_env_user, db_env_password, db_env_db;

	/* Names compose may have given the db container, most likely first:
	 * container_name when set, else <project>-<key>-1 and the legacy
	 * <project>_<key>_1 for each project candidate. */
	char       **db_container_candidates;
	size_t       db_container_candidate_count;

	/* Compose project names this file may run under, most likely first:
	 * COMPOSE_PROJECT_NAME if set, the stack root's name (pgfold and
	 * OnRamp-style stacks run compose with --project-directory <root>),
	 * the file's directory name (compose's default for a bare -f). */
	char       **projects;
	size_t       project_count;

	/* app services that connect to it (or, once migrated, to the shared
	 * instance; ConnRef.shared) */
	ConnRef     *conns;
	size_t       conn_count;
	/* No app connects through compose (problem says so): the apps may
	 * read their settings from their own files (migrate's app file search
	 * then sets apps_in_files and clears problem). */
	bool         no_app_conn;
	bool         apps_in_files;

	/* Non-blocking findings (credential mismatches, unresolved values). */
	char       **warnings;
	size_t       warning_count;

	/* Where the operator's compose reads this file's variables, when its
	 * containers' labels say it is not the stack's <root>/.env (compose run
	 * from another project directory, or with --env-file): those files'
	 * entries in order (later wins), and the project directory that
	 * env_file and relative paths resolve against. project_dir NULL: the
	 * stack's <root>/.env and root. */
	Dotenv       project_env;
	char        *project_dir;
} StackService;

typedef struct Stack
{
	StackService *services;
	size_t        count;
} Stack;

/* Load every services/NAME.yml and .yaml (sorted); a file that cannot be
 * parsed is kept with .problem set so status can report it, not abort the
 * whole stack. False (logged) only when the services directory can't be read. */
bool stack_load(const Config *cfg, Stack *out);
void stack_free(Stack *stack);
StackService *stack_find(Stack *stack, const char *name);

/*
 * One big compose file with several dedicated dbs is one entry per db. The
 * services of entry index's file that belong to the OTHER entries: their
 * db, and the apps that connect to or wait for theirs and not for this
 * one's. Folding or rolling back this entry must neither stop nor start
 * them. Their keys, NULL-terminated (none for a file's only db): keys, not
 * slots, because rollback compares them with the file as it was before
 * the fold. Free with stack_others_free.
 */
char **stack_others_services(const Stack *stack, size_t index);
bool stack_others_has(char *const *others, const char *key);
void stack_others_free(char **others);

/* svc's name as it reaches the file system: journal, dumps, logs, the
 * override (svc->fsname; the name itself for an entry built by hand). */
const char *service_fsname(const StackService *svc);

/* The dedicated postgres services of svc's file (loaded): the keys
 * classify would choose among, then those its header records as folded
 * (`# database_name.<key>:`), each once, sorted. Owned strings
 * (strlist_free). Exposed for stack.c and tests. */
void service_db_keys(StackService *svc, char ***keys, size_t *count);

/* The header key that records the database a split entry was folded into:
 * "database_name", or "database_name.<db_key>" (out of size bytes). */
bool service_meta_dbname_key(const StackService *svc, char *out, size_t size);

/* Load svc->path again as its project reads it (svc->project_dir and
 * svc->project_env set by service_set_project_env), and classify it.
 * False when it cannot be parsed (svc->problem says why). */
bool stack_reload_service(const Config *cfg, StackService *svc);

/* The configuration svc's variables resolve against: cfg itself, or (when
 * its project reads other env files) a shallow copy of cfg in *scratch
 * whose dotenv is the project's. Valid while cfg and svc are. */
const Config *service_config(const Config *cfg, const StackService *svc, Config *scratch);

/* Classify one parsed file (svc->file loaded; exposed for tests). Clears a
 * previous analysis first. cfg may be NULL (tests): no COMPOSE_PROJECT_NAME,
 * shared host "postgres". False only when the file is not loaded. */
bool service_analyze(const Config *cfg, StackService *svc);
void service_analysis_clear(StackService *svc);

/* The repository path of an image reference: registry, tag and digest
 * removed, "library/" added to one-component names ("zabbix/zabbix-server-
 * pgsql", "library/odoo"). False when it is not a well-formed reference. */
bool service_image_repository(const char *image, char *out, size_t outsize);

/* Is this image reference a postgres server image we recognise? */
bool service_image_is_postgres(const char *image, int *major_out);
/* Its canonical family ("library/postgres", "postgis/postgis", ...), or NULL. */
const char *service_image_family(const char *image);

/* Split bytes[start, end) as a postgres URL (scheme://...; a "jdbc:" or
 * "db+" wrapper before the scheme is skipped); false when it has no
 * top-level "://". Spans are into bytes. */
bool service_split_url(const char *bytes, size_t start, size_t end,
					   ConnUrlParts *out);
/* NocoDB's pg://host:port?u=USER&p=PASS&d=DB (query keys may come in any
 * order); user/password/dbname spans are the query values. */
bool service_split_nocodb(const char *bytes, size_t start, size_t end,
						  ConnUrlParts *out);

/* compose's default project name for a directory name: lowercased, only
 * [a-z0-9_-] kept, leading '-'/'_' dropped. False when nothing is left. */
bool service_project_name(const char *dirname, char *out, size_t outsize);

void conn_values_free(ConnValues *values);

/* ---- containers ---------------------------------------------------------- */

typedef enum ContainerMatch
{
	MATCH_NONE = 0,
	MATCH_NAME,        /* by container name only */
	MATCH_LABELS,      /* by compose labels (service + project/config file) */
	MATCH_BOTH         /* labels and name agree */
} ContainerMatch;

typedef struct ContainerInfo
{
	ContainerMatch match;
	size_t       matches;      /* containers that matched; > 1 = ambiguous */
	char        *id;
	char        *name;         /* without the leading '/' */
	char        *image;
	char        *state;        /* running, exited, created, paused, ... */
	char        *status;       /* "Up 5 minutes (healthy)" as the engine says */
	char        *health;       /* healthy, unhealthy, starting; NULL = no check */
	/* its com.docker.compose.* labels, NULL when absent */
	char        *project;
	char        *working_dir;
	char        *config_files;
	char        *environment_file;   /* compose v2: the --env-file list */
	char        *compose_version;    /* the compose that created it ("1.29.2") */
	char        *config_hash;        /* compose's hash of the service's config then */
	/* when no container matched: one that holds this service's name but
	 * belongs to another stack's file ("name (project P, files F)") */
	char        *claimed_by;
	char        *service;
} ContainerInfo;

/* The containers of one service file: one slot per compose service. */
typedef struct ServiceContainers
{
	ContainerInfo *members;    /* parallel to file.services; match = NONE when not found */
	size_t         count;
	int            db;         /* index of the db slot (= db_service), -1 = none */
} ServiceContainers;

typedef struct StackContainers
{
	ServiceContainers *services;   /* parallel to Stack.services */
	size_t             count;
} StackContainers;

/*
 * Match one GET /containers/json?all=1 array to the stack's services. A
 * container whose config_files label (relative entries resolved against its
 * working_dir label and that directory's parents) does not name this file
 * is another stack's and never matches, not even by name. Otherwise it
 * belongs to a compose service when its labels name that service key and
 * its config_files name this file (by path; by basename when the labels
 * cannot be resolved) or, with no config_files label, its project is one of
 * svc->projects; otherwise when its name is exactly the service's container
 * name (container_name, or a default-name candidate). The best match wins:
 * labels+name, labels, name; then one started from this stack; then a
 * running container over a stopped one. ContainerInfo.matches counts the
 * containers that matched and were started from this stack (or all of
 * them when none was): > 1 means stale copies of this stack exist. Reads
 * no engine (it may stat the files the labels name).
 */
bool stack_match_containers(const Stack *stack, json_t *list, StackContainers *out);
void stack_containers_free(StackContainers *sc);

/* The db container of stack->services[i] or NULL when none matched. */
const ContainerInfo *stack_containers_db(const StackContainers *sc, size_t i);

/* ---- every dedicated postgres on the host (status --all) ------------------ */

typedef struct HostPostgres
{
	char   *id, *container, *image, *state;
	int     image_major;          /* from the tag, -1 unknown */
	/* compose labels, NULL when absent */
	char   *project, *service, *working_dir, *config_files;
	/* measured in the running container (NULL / -1 when not measured) */
	char   *database, *version, *extensions, *locale;
	long long size_bytes;
} HostPostgres;

/* The containers of list (GET /containers/json?all=1) that run a postgres
 * image pgfold knows, one-off containers left out, sorted by project and
 * name. False only when list is not an array. */
bool service_discover_postgres(json_t *list, HostPostgres **out, size_t *count);
void host_postgres_free(HostPostgres *found, size_t count);

/* ---- how the operator's compose runs a file ----------------------------- */

/*
 * The compose invocation a service file's containers were created with, as
 * their labels record it (project, working_dir, config_files and, compose
 * v2, environment_file), so that pgfold's compose recreates those
 * containers as the operator's own command would: the same project, project
 * directory, files in the same order and env files. Without such labels
 * (nothing created yet): the stack root as project directory and the file
 * alone, which is how pgfold's own stacks run.
 */
typedef struct ComposeInvocation
{
	char   *project;
	char   *project_dir;      /* absolute */
	char  **files;            /* -f, absolute, in order; one is the service file */
	size_t  file_count;
	size_t  self;             /* index of the service file in files */
	char  **env_files;        /* --env-file, absolute, in order; none: compose's default */
	size_t  env_file_count;
	char   *env_target;       /* where a variable pgfold adds goes: the last env file,
							   * else <project_dir>/.env */
	char   *source;           /* container whose labels said so; NULL: defaults */
	char   *compose_version;  /* the compose that created the containers, NULL unknown */
	char   *problem;          /* why it cannot be reproduced, or NULL */
} ComposeInvocation;

/* From the labels of svc's containers in sc (may be NULL), else defaults.
 * Pure apart from stat/realpath on the named files. Never fails: a file the
 * labels name that no longer exists, or labels of another file, set problem. */
void service_invocation(const Config *cfg, const StackService *svc,
						const ServiceContainers *sc, ComposeInvocation *out);
void compose_invocation_free(ComposeInvocation *inv);
/* Does inv read variables from other files than <root>/.env? */
bool compose_invocation_has_own_env(const Config *cfg, const ComposeInvocation *inv);
/* Load inv's env files (or <project_dir>/.env) into svc->project_env and
 * set svc->project_dir; false (logged) when a file cannot be read. */
bool service_set_project_env(StackService *svc, const ComposeInvocation *inv);
/* The same for compose's defaults in dir: <dir>/.env (may be absent). */
bool service_use_project_dir(StackService *svc, const char *dir);
/* Replace svc's project variables with those files, in order (or, with
 * none, the optional default_env) and its project directory with dir. */
bool service_use_env(StackService *svc, const char *dir, char *const *files, size_t count,
					 const char *default_env);

#endif
