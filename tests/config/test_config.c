/*
 * test_config.c — stack root resolution and settings precedence.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgfold/config.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

static char root[64];

static void
write_env(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/.env", root);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void
setup(void)
{
	static const char *vars[] = {
		"PGFOLD_ROOT", "PG_HOST", "PG_PORT", "PG_USER", "PG_PASS",
		"PGFOLD_SHARED_CONTAINER", "PGFOLD_SHARED_HOST", "PGFOLD_SHARED_PORT",
		"PGFOLD_COMPOSE", "CFG_T_BASE",
	};

	log_set_level(LOG_FATAL);
	exit_hint_reset();
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	str_copy(root, sizeof(root), "/tmp/pgfold-config-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void
teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/.env", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", root);
	unlink(path);
	rmdir(root);
}

TestSuite(config_load, .init = setup, .fini = teardown);

Test(config_load, defaults_without_env_file)
{
	Config cfg;

	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.pg_host, "localhost");
	cr_assert_eq(cfg.pg_port, 5432);
	cr_assert_str_eq(cfg.pg_user, "admin");
	cr_assert_null(cfg.pg_pass);
	cr_assert_str_eq(cfg.shared_container, "postgres");
	cr_assert_str_eq(cfg.shared_host, "postgres");
	cr_assert_eq(cfg.shared_port, 5432);
	cr_assert_str_eq(cfg.compose_cmd, "");
	cr_assert_eq(cfg.root[0], '/');

	char want[PATH_MAX + 16];

	snprintf(want, sizeof(want), "%s/services", cfg.root);
	cr_assert_str_eq(cfg.services_dir, want);
	snprintf(want, sizeof(want), "%s/.env", cfg.root);
	cr_assert_str_eq(cfg.env_path, want);
	snprintf(want, sizeof(want), "%s/overrides", cfg.root);
	cr_assert_str_eq(cfg.overrides_dir, want);
	snprintf(want, sizeof(want), "%s/backups", cfg.root);
	cr_assert_str_eq(cfg.backups_dir, want);
	config_free(&cfg);
}

Test(config_load, env_file_values)
{
	Config cfg;

	write_env("PG_HOST=db.lan\nPG_PORT=5433\nPG_USER=root\nPG_PASS='s3cr#t'\n"
			  "PGFOLD_SHARED_HOST=pg\nPGFOLD_SHARED_PORT=6543\n"
			  "PGFOLD_COMPOSE=docker compose\n");
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.pg_host, "db.lan");
	cr_assert_eq(cfg.pg_port, 5433);
	cr_assert_str_eq(cfg.pg_user, "root");
	cr_assert_str_eq(cfg.pg_pass, "s3cr#t");
	cr_assert_str_eq(cfg.shared_host, "pg");
	cr_assert_eq(cfg.shared_port, 6543);
	cr_assert_str_eq(cfg.compose_cmd, "docker compose");
	cr_assert_str_eq(config_lookup(&cfg, "PG_USER"), "root");
	config_free(&cfg);
	cr_assert_null(cfg.pg_pass);
}

Test(config_load, environment_wins_over_env_file)
{
	Config cfg;

	write_env("PG_USER=fromfile\nPG_PASS=filepass\nOTHER=x\n");
	setenv("PG_USER", "fromenv", 1);
	setenv("PG_PASS", "envpass", 1);
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.pg_user, "fromenv");
	cr_assert_str_eq(cfg.pg_pass, "envpass");
	cr_assert_str_eq(config_lookup(&cfg, "PG_USER"), "fromenv");
	cr_assert_str_eq(config_var_lookup(&cfg, "OTHER"), "x");
	cr_assert_null(config_lookup(&cfg, "CFG_T_NOT_SET"));
	config_free(&cfg);
}

/* Children inherit pgfold's environment: PG_PASS must be gone from it once
 * read (README: never in an environment), the value kept in cfg only. */
Test(config_load, pg_pass_leaves_the_environment)
{
	Config cfg;

	write_env("PG_PASS=filepass\n");
	setenv("PG_PASS", "envpass", 1);
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.pg_pass, "envpass");
	cr_assert_null(getenv("PG_PASS"), "PG_PASS is still in the environment");
	cr_assert_str_eq(config_lookup(&cfg, "PG_PASS"), "filepass");
	config_free(&cfg);
}

Test(config_load, env_file_interpolates_like_compose)
{
	Config cfg;

	setenv("CFG_T_BASE", "base", 1);
	write_env("PG_USER=${CFG_T_BASE}_admin\nPG_HOST=${PG_USER}.lan\nX=$CFG_T_BASE\n");
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.pg_user, "base_admin");
	cr_assert_str_eq(cfg.pg_host, "base_admin.lan");
	cr_assert_str_eq(config_lookup(&cfg, "X"), "$CFG_T_BASE");
	config_free(&cfg);
}

Test(config_load, shared_container_unset_vs_empty)
{
	Config cfg;

	write_env("PGFOLD_SHARED_CONTAINER=\n");
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.shared_container, "");
	config_free(&cfg);

	write_env("PGFOLD_SHARED_CONTAINER\n");       /* declared, no value = unset */
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.shared_container, "postgres");
	config_free(&cfg);

	write_env("PGFOLD_SHARED_CONTAINER=shared-pg\n");
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.shared_container, "shared-pg");
	config_free(&cfg);

	/* An empty environment value also wins over .env. */
	setenv("PGFOLD_SHARED_CONTAINER", "", 1);
	cr_assert(config_load(root, &cfg));
	cr_assert_str_eq(cfg.shared_container, "");
	config_free(&cfg);
}

Test(config_load, bad_container_name)
{
	Config cfg;

	write_env("PGFOLD_SHARED_CONTAINER=\"bad name\"\n");
	cr_assert_not(config_load(root, &cfg));
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);
}

Test(config_load, bad_ports)
{
	static const char *bad[] = { "0", "65536", "abc", "54 32", "-1", "+5432", "5432x" };
	Config cfg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		exit_hint_reset();
		setenv("PG_PORT", bad[i], 1);
		cr_assert_not(config_load(root, &cfg), "PG_PORT=%s accepted", bad[i]);
		cr_assert_eq(exit_hint_get(), EXIT_USAGE);
	}
	unsetenv("PG_PORT");
	write_env("PGFOLD_SHARED_PORT=99999\n");
	cr_assert_not(config_load(root, &cfg));

	write_env("PG_PORT=\n");                   /* empty = default */
	cr_assert(config_load(root, &cfg));
	cr_assert_eq(cfg.pg_port, 5432);
	config_free(&cfg);

	write_env("PG_PORT=65535\n");
	cr_assert(config_load(root, &cfg));
	cr_assert_eq(cfg.pg_port, 65535);
	config_free(&cfg);
}

Test(config_load, bad_port_error_is_one_line)
{
	Config cfg;

	log_set_level(LOG_ERROR);
	cr_redirect_stderr();
	setenv("PG_PORT", "nope", 1);
	cr_assert_not(config_load(root, &cfg));
	fflush(stderr);
	cr_assert_stderr_eq_str("pgfold: error: PG_PORT=\"nope\" (environment) is not a port number (1-65535)\n");
}

Test(config_load, missing_root)
{
	Config cfg;

	cr_assert_not(config_load("/nonexistent/pgfold/root", &cfg));
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);
}

Test(config_load, root_must_be_directory)
{
	Config cfg;
	char path[128];

	snprintf(path, sizeof(path), "%s/file", root);
	fclose(fopen(path, "w"));
	cr_assert_not(config_load(path, &cfg));
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);
	exit_hint_reset();
	cr_assert_not(config_load("", &cfg));
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);
}

Test(config_load, root_from_env_then_cwd)
{
	Config cfg;
	char real[PATH_MAX];

	cr_assert_not_null(realpath(root, real));
	setenv("PGFOLD_ROOT", root, 1);
	cr_assert(config_load(NULL, &cfg));
	cr_assert_str_eq(cfg.root, real);
	config_free(&cfg);

	/* --root wins over PGFOLD_ROOT */
	cr_assert(config_load("/", &cfg));
	cr_assert_str_eq(cfg.root, "/");
	config_free(&cfg);

	unsetenv("PGFOLD_ROOT");
	cr_assert_eq(chdir(root), 0);
	cr_assert(config_load(NULL, &cfg));
	cr_assert_str_eq(cfg.root, real);
	config_free(&cfg);

	setenv("PGFOLD_ROOT", "/nonexistent/x", 1);
	cr_assert_not(config_load(NULL, &cfg));
}

Test(config_load, relative_root_becomes_absolute)
{
	Config cfg;
	char real[PATH_MAX];

	cr_assert_not_null(realpath(root, real));
	cr_assert_eq(chdir("/tmp"), 0);
	cr_assert(config_load(root + strlen("/tmp/"), &cfg));
	cr_assert_str_eq(cfg.root, real);
	config_free(&cfg);
}

Test(config_load, malformed_env_file_fails)
{
	Config cfg;

	write_env("PG_USER=ok\nthis is not valid\n");
	cr_assert_not(config_load(root, &cfg));
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);
}

Test(config_load, too_long_value)
{
	Config cfg;
	char buf[400];

	memset(buf, 'u', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	setenv("PG_USER", buf, 1);
	cr_assert_not(config_load(root, &cfg));
	setenv("PG_USER", "a\nb", 1);
	cr_assert_not(config_load(root, &cfg));
}
