/*
 * config.c — the stack root and pgfold's settings; see config.h.
 *
 * Precedence is compose's: the process environment wins over <root>/.env
 * (docker-compose 1.29 builds its Environment from .env, then updates it
 * with os.environ), then pgfold's defaults. An empty value counts as unset
 * for every setting except PGFOLD_SHARED_CONTAINER, where "" explicitly
 * means "the shared instance is not a container".
 */
#include "pgfold/config.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static bool
usage_error(void)
{
	exit_hint_set(EXIT_USAGE);
	return false;
}

/* Value and where it came from ("environment" or ".env:LINE"). */
static const char *
lookup_with_source(const Config *cfg, const char *key, char *src, size_t srclen)
{
	const char *v = getenv(key);

	if (v != NULL)
	{
		str_copy(src, srclen, "environment");
		return v;
	}
	for (size_t i = cfg->dotenv.count; i-- > 0;)
	{
		const DotenvEntry *e = &cfg->dotenv.items[i];

		if (strcmp(e->key, key) == 0)
		{
			str_format(src, srclen, "%s:%zu", cfg->env_path, e->line);
			return e->value;
		}
	}
	return NULL;
}

const char *
config_lookup(const Config *cfg, const char *key)
{
	const char *v = getenv(key);

	return v != NULL ? v : dotenv_get(&cfg->dotenv, key);
}

const char *
config_var_lookup(void *ctx, const char *name)
{
	return config_lookup((const Config *) ctx, name);
}

/* A plain setting: empty or unset takes the default. */
static bool
load_string(const Config *cfg, const char *key, const char *def, char *dst, size_t size)
{
	char src[PATH_MAX + 32];
	const char *v = lookup_with_source(cfg, key, src, sizeof(src));

	if (v == NULL || v[0] == '\0')
		v = def;
	if (str_has_control(v))
	{
		log_error("%s (%s) contains control characters", key, src);
		return usage_error();
	}
	if (!str_copy(dst, size, v))
	{
		log_error("%s (%s) is too long: at most %zu bytes", key, src, size - 1);
		return usage_error();
	}
	return true;
}

static bool
load_port(const Config *cfg, const char *key, int def, int *dst)
{
	char src[PATH_MAX + 32];
	const char *v = lookup_with_source(cfg, key, src, sizeof(src));
	long port = def;

	if (v != NULL && v[0] != '\0' && !str_to_long(v, 1, 65535, &port))
	{
		log_error("%s=\"%.40s%s\" (%s) is not a port number (1-65535)", key, v,
				  strlen(v) > 40 ? "..." : "", src);
		return usage_error();
	}
	*dst = (int) port;
	return true;
}

/* Docker's container-name rule; "" is allowed and means "no container". */
static bool
valid_container_name(const char *s)
{
	if (s[0] == '\0')
		return true;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
		  (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static bool
load_shared_container(Config *cfg)
{
	char src[PATH_MAX + 32];
	const char *v = lookup_with_source(cfg, "PGFOLD_SHARED_CONTAINER", src, sizeof(src));

	/* Unset (or a bare `PGFOLD_SHARED_CONTAINER` line) takes the default;
	 * set-but-empty is kept: the shared instance is not a container. */
	if (v == NULL)
		v = "postgres";
	if (!valid_container_name(v) ||
		!str_copy(cfg->shared_container, sizeof(cfg->shared_container), v))
	{
		log_error("PGFOLD_SHARED_CONTAINER (%s) is not a valid container name", src);
		return usage_error();
	}
	return true;
}

static bool
resolve_root(const char *root_option, Config *cfg)
{
	const char *root = root_option, *from = "--root";
	char cwd[PATH_MAX], real[PATH_MAX];
	struct stat st;

	if (root != NULL && root[0] == '\0')
	{
		log_error("--root is empty");
		return usage_error();
	}
	if (root == NULL)
	{
		root = getenv("PGFOLD_ROOT");
		from = "PGFOLD_ROOT";
	}
	if (root == NULL || root[0] == '\0')
	{
		if (getcwd(cwd, sizeof(cwd)) == NULL)
		{
			log_error("cannot determine the current directory: %s", strerror(errno));
			return usage_error();
		}
		root = cwd;
		from = "current directory";
	}
	if (realpath(root, real) == NULL)
	{
		log_error("stack root \"%s\" (%s): %s", root, from, strerror(errno));
		return usage_error();
	}
	if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
	{
		log_error("stack root \"%s\" (%s) is not a directory", root, from);
		return usage_error();
	}
	if (!str_copy(cfg->root, sizeof(cfg->root), real) ||
		!str_format(cfg->services_dir, sizeof(cfg->services_dir), "%s/services", real) ||
		!str_format(cfg->overrides_dir, sizeof(cfg->overrides_dir), "%s/overrides", real) ||
		!str_format(cfg->backups_dir, sizeof(cfg->backups_dir), "%s/backups", real) ||
		!str_format(cfg->env_path, sizeof(cfg->env_path), "%s/.env", real))
	{
		log_error("stack root \"%s\" is too long", real);
		return usage_error();
	}
	return true;
}

const char *
config_app_compose_file(const char *dir)
{
	static const char *const names[] = {
		"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
	};
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (str_format(path, sizeof(path), "%s/%s", dir, names[i])
			&& stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return names[i];
	return NULL;
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Does any directory right under root hold a compose file? */
static bool
has_app_dirs(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *de;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL)
	{
		char path[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		found = str_format(path, sizeof(path), "%s/%s", root, de->d_name) && is_dir(path)
			&& config_app_compose_file(path) != NULL;
	}
	closedir(d);
	return found;
}

static bool
set_dir(const Config *cfg, const char *value, char *out, size_t size, const char *what)
{
	bool ok = value[0] == '/' ? str_copy(out, size, value)
		: str_format(out, size, "%s/%s", cfg->root, value);

	if (!ok)
		log_error("%s \"%s\" is too long", what, value);
	return ok;
}

static bool
load_env_files(Config *cfg)
{
	const char *list = config_lookup(cfg, "PGFOLD_ENV_FILES");
	char *copy, *save = NULL;
	bool ok = true;

	if (list == NULL || list[0] == '\0')
		return true;
	copy = xstrdup(list);
	for (char *p = strtok_r(copy, ",", &save); p != NULL && ok; p = strtok_r(NULL, ",", &save))
	{
		char path[PATH_MAX];
		struct stat st;

		ok = set_dir(cfg, p, path, sizeof(path), "PGFOLD_ENV_FILES entry");
		if (ok && (stat(path, &st) != 0 || !S_ISREG(st.st_mode)))
		{
			log_error("PGFOLD_ENV_FILES names %s, which is not a file; list the env files "
					  "your compose is run with (--env-file), relative to %s", path, cfg->root);
			ok = false;
		}
		if (ok)
		{
			cfg->env_files = xrealloc(cfg->env_files, cfg->env_file_count + 1, sizeof(char *));
			cfg->env_files[cfg->env_file_count++] = xstrdup(path);
		}
	}
	free(copy);
	return ok ? true : usage_error();
}

static bool load_overrides_dir(Config *cfg, const char *overrides);

/* PGFOLD_LAYOUT / PGFOLD_SERVICES_DIR / PGFOLD_OVERRIDES_DIR, else what the
 * root holds: services/, OnRamp's services-enabled/, or app directories. */
static bool
load_layout(Config *cfg)
{
	const char *layout = config_lookup(cfg, "PGFOLD_LAYOUT");
	const char *services = config_lookup(cfg, "PGFOLD_SERVICES_DIR");
	const char *overrides = config_lookup(cfg, "PGFOLD_OVERRIDES_DIR");
	char path[PATH_MAX];

	if (layout != NULL && layout[0] != '\0' && strcmp(layout, "services") != 0
		&& strcmp(layout, "apps") != 0)
	{
		log_error("PGFOLD_LAYOUT is \"%s\"; use services (a directory of <service>.yml files) "
				  "or apps (one directory per app)", layout);
		return usage_error();
	}
	if (services != NULL && services[0] != '\0')
	{
		if (!set_dir(cfg, services, cfg->services_dir, sizeof(cfg->services_dir),
					 "PGFOLD_SERVICES_DIR"))
			return usage_error();
	}
	else if (layout != NULL && strcmp(layout, "apps") == 0)
		cfg->layout = LAYOUT_APPS;
	else if ((layout == NULL || layout[0] == '\0') && !is_dir(cfg->services_dir))
	{
		if (str_format(path, sizeof(path), "%s/services-enabled", cfg->root) && is_dir(path))
		{
			str_copy(cfg->services_dir, sizeof(cfg->services_dir), path);
			if (str_format(path, sizeof(path), "%s/overrides-available", cfg->root) && is_dir(path))
				str_copy(cfg->overrides_dir, sizeof(cfg->overrides_dir), path);
		}
		else if (has_app_dirs(cfg->root))
			cfg->layout = LAYOUT_APPS;
	}
	if (cfg->layout == LAYOUT_APPS)
		str_copy(cfg->services_dir, sizeof(cfg->services_dir), cfg->root);
	return load_env_files(cfg) && load_overrides_dir(cfg, overrides);
}

static bool
load_overrides_dir(Config *cfg, const char *overrides)
{
	if (overrides != NULL && overrides[0] != '\0'
		&& !set_dir(cfg, overrides, cfg->overrides_dir, sizeof(cfg->overrides_dir),
					"PGFOLD_OVERRIDES_DIR"))
		return usage_error();
	return true;
}

bool
config_load(const char *root_option, Config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!resolve_root(root_option, cfg) ||
		!dotenv_load(cfg->env_path, true, &cfg->dotenv) ||
		!load_layout(cfg))
		goto fail;

	if (!load_string(cfg, "PG_HOST", "localhost", cfg->pg_host, sizeof(cfg->pg_host)) ||
		!load_port(cfg, "PG_PORT", 5432, &cfg->pg_port) ||
		!load_string(cfg, "PG_USER", "admin", cfg->pg_user, sizeof(cfg->pg_user)) ||
		!load_shared_container(cfg) ||
		!load_string(cfg, "PGFOLD_SHARED_HOST", "postgres", cfg->shared_host,
					 sizeof(cfg->shared_host)) ||
		!load_port(cfg, "PGFOLD_SHARED_PORT", 5432, &cfg->shared_port) ||
		!load_string(cfg, "PGFOLD_COMPOSE", "", cfg->compose_cmd, sizeof(cfg->compose_cmd)))
		goto fail;

	const char *pass = config_lookup(cfg, "PG_PASS");

	/* Never echoed anywhere; an empty password counts as none. */
	if (pass != NULL && pass[0] != '\0')
		cfg->pg_pass = xstrdup(pass);
	/* every child (compose, psql, pg_restore) inherits our environment */
	unsetenv("PG_PASS");
	return true;

fail:
	config_free(cfg);
	return false;
}

void
config_free(Config *cfg)
{
	if (cfg == NULL)
		return;
	if (cfg->pg_pass != NULL)
	{
		sodium_memzero(cfg->pg_pass, strlen(cfg->pg_pass));
		free(cfg->pg_pass);
		cfg->pg_pass = NULL;
	}
	dotenv_free(&cfg->dotenv);
	for (size_t i = 0; i < cfg->env_file_count; i++)
		free(cfg->env_files[i]);
	free(cfg->env_files);
	cfg->env_files = NULL;
	cfg->env_file_count = 0;
}
