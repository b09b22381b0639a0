/*
 * config.h — the stack root and pgfold's settings.
 *
 * Root: --root, else $PGFOLD_ROOT, else the current directory. Settings come
 * from the process environment first, then <root>/.env (compose's own
 * precedence), then defaults. PG_PASS is a secret: it is kept out of logs
 * and passed to libpq in-process only.
 *
 * The root must exist and be a directory (else one error line, EXIT_USAGE);
 * it is stored as realpath(). <root>/.env may be missing; its values are
 * read as docker-compose 1.29 reads them (see dotenv.h: ${NAME} and
 * ${NAME:-def} expand against earlier .env lines, then the environment).
 * An empty value counts as unset (default applies) for every setting but
 * PGFOLD_SHARED_CONTAINER: set-but-empty means the shared instance is not a
 * container, while unset (or a bare `PGFOLD_SHARED_CONTAINER` line) means
 * "postgres". PG_PORT / PGFOLD_SHARED_PORT must be 1-65535 (else EXIT_USAGE).
 * PG_PASS unset or empty leaves pg_pass NULL (no default password). Once
 * read, PG_PASS is removed from the process environment so that no child
 * inherits it; config_lookup("PG_PASS") then sees <root>/.env only, as
 * the compose pgfold runs does.
 */
#ifndef PGFOLD_CONFIG_H
#define PGFOLD_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "pgfold/dotenv.h"

/*
 * How the stack's service files are laid out (PGFOLD_LAYOUT, else found):
 *   services  one directory of <service>.yml files: <root>/services, or
 *             OnRamp's <root>/services-enabled (links into
 *             services-available), or PGFOLD_SERVICES_DIR;
 *   apps      one directory per app (Dockge, Portainer, most `docker
 *             compose` users): <root>/<app>/compose.yaml (or compose.yml,
 *             docker-compose.yaml, docker-compose.yml) with its .env beside
 *             it; the app is the service, its directory the project's.
 */
typedef enum StackLayout
{
	LAYOUT_SERVICES = 0,
	LAYOUT_APPS
} StackLayout;

typedef struct Config
{
	char    root[PATH_MAX];          /* absolute */
	StackLayout layout;
	char    services_dir[PATH_MAX];  /* <root>/services (LAYOUT_APPS: the root) */
	char    overrides_dir[PATH_MAX]; /* <root>/overrides */
	char    backups_dir[PATH_MAX];   /* <root>/backups */
	char    env_path[PATH_MAX];      /* <root>/.env */

	char    pg_host[256];            /* PG_HOST, default localhost */
	int     pg_port;                 /* PG_PORT, default 5432 */
	char    pg_user[64];             /* PG_USER, default admin */
	char   *pg_pass;                 /* PG_PASS, secret, may be NULL */

	char    shared_container[256];   /* PGFOLD_SHARED_CONTAINER, default postgres; "" = none */
	char    shared_host[256];        /* PGFOLD_SHARED_HOST, default postgres */
	int     shared_port;             /* PGFOLD_SHARED_PORT, default 5432 */

	char    compose_cmd[512];        /* PGFOLD_COMPOSE, "" = detect */
	/* PGFOLD_ENV_FILES: the --env-file list the stack's compose is run
	 * with (comma-separated, relative to the root), for a compose that does
	 * not record it in its labels (1.29). Absolute, each one exists. */
	char  **env_files;
	size_t  env_file_count;

	Dotenv  dotenv;                  /* <root>/.env as read */
} Config;

bool config_load(const char *root_option, Config *cfg);

/* The compose file of an app directory (LAYOUT_APPS), in compose's own
 * order of preference, or NULL when it has none. Static storage. */
const char *config_app_compose_file(const char *dir);
void config_free(Config *cfg);

/* Environment, then <root>/.env; NULL when neither sets it. */
const char *config_lookup(const Config *cfg, const char *key);

/* VarLookup adapter over config_lookup (ctx = Config *). */
const char *config_var_lookup(void *ctx, const char *name);

#endif
