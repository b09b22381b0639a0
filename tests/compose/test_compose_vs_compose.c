/*
 * test_compose_vs_compose.c — resolve every fixture the way pgfold does and
 * compare with `docker-compose -f FILE config` (compose 1.29, or v2's
 * `docker compose` with PGFOLD_TEST_COMPOSE=v2; no engine needed):
 * container names, images and each service's final environment (env_file +
 * environment:, interpolation, value-less entries).
 *
 * Skipped when docker-compose (v1) is not installed. Services that use merge
 * keys or aliases are not compared: pgfold deliberately does not model them.
 */
#include "compose/compose_fixture.h"

#include <limits.h>

#include "lab.h"

static const char *
env_lookup(void *ctx, const char *name)
{
	(void) ctx;
	return getenv(name);
}

/* The dialect pgfold must read the fixtures in to match the compose under
 * test (PGFOLD_TEST_COMPOSE). */
static InterpDialect
dialect(void)
{
	return lab_compose_version() == LAB_COMPOSE_V2 ? INTERP_COMPOSE_V2 : INTERP_COMPOSE_V1;
}

/* Run `<compose> [--project-directory project] -f file config`; its stdout
 * into out (NUL-terminated). */
static bool
compose_config(const char *project, const char *file, char *out, size_t size, size_t *len)
{
	StrBuf cmd = STRBUF_INIT, got = STRBUF_INIT;
	bool ok;

	sb_appends(&cmd, lab_compose());
	if (project != NULL)
	{
		sb_appends(&cmd, " --project-directory ");
		lab_quote(&cmd, project);
	}
	sb_appends(&cmd, " -f ");
	lab_quote(&cmd, file);
	sb_appends(&cmd, " config 2>/dev/null");
	ok = lab_sh_capture(&got, "%s", sb_str(&cmd)) && got.len < size;
	if (ok)
	{
		memcpy(out, sb_str(&got), got.len + 1);
		*len = got.len;
	}
	sb_free(&cmd);
	sb_free(&got);
	return ok;
}

static void
set_stack_env(void)
{
	static const char *const names[] = {
		"HOST_DOMAIN", "DOCMOST_POSTGRES_PASSWORD", "DOCMOST_APP_SECRET", "PG_PASS_NETBOX",
		"NOCODB_DB_PASS", "SUPERUSER_EMAIL", "APP_DB_PASS", "DOCMOST_DB_PASS",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		setenv(names[i], fixture_lookup(NULL, names[i]), 1);
	unsetenv("PGDATA");
	unsetenv("COMPOSE_FILE");
	unsetenv("COMPOSE_PROJECT_NAME");
}

static void
compare_service(const ComposeService *mine, const ComposeService *theirs, const char *file)
{
	if (theirs->container_name != NULL)
		cr_assert_str_eq(mine->container_name, theirs->container_name, "%s %s", file, mine->key);
	if (theirs->image != NULL)
		cr_assert_str_eq(mine->image, theirs->image, "%s %s", file, mine->key);

	/* every variable compose passes, with its value */
	for (size_t i = 0; i < theirs->env_count; i++)
	{
		const EnvItem *t = &theirs->env[i];
		const char *m = compose_env_effective(mine, t->name);

		if (!t->has_value)
			cr_assert_null(m, "%s %s %s: compose has null, pgfold \"%s\"", file, mine->key, t->name, m);
		else
		{
			cr_assert_not_null(m, "%s %s %s: pgfold has none, compose \"%s\"", file, mine->key,
							   t->name, t->raw);
			cr_assert_str_eq(m, t->resolved, "%s %s %s", file, mine->key, t->name);
		}
	}
	/* and nothing else */
	for (size_t i = 0; i < mine->env_count; i++)
		cr_assert_not_null(compose_find_env(theirs, mine->env[i].name), "%s %s: extra %s",
						   file, mine->key, mine->env[i].name);
	for (size_t f = 0; f < mine->env_file_count; f++)
		for (size_t i = 0; i < mine->env_file_vars[f].count; i++)
			cr_assert_not_null(compose_find_env(theirs, mine->env_file_vars[f].items[i].key),
							   "%s %s: extra %s", file, mine->key, mine->env_file_vars[f].items[i].key);
}

Test(compose_vs_compose, resolution_matches_docker_compose_config, .timeout = 180)
{
	static char out[1 << 20];
	ComposeOptions opts = { .dialect = dialect(), .quiet = true };
	int compared = 0;

	log_set_level(LOG_FATAL);
	lab_compose_require();
	set_stack_env();

	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		char rel[512], path[PATH_MAX];
		size_t len;
		ComposeFile mine, theirs;

		fixture_path(rel, sizeof(rel), fixture_name(n));
		cr_assert_not_null(realpath(rel, path));
		cr_assert(compose_config(NULL, path, out, sizeof(out), &len),
				  "%s config failed on %s", lab_compose(), path);
		/* compose's output escapes $ as $$; no lookup needed to read it */
		cr_assert(compose_parse_opts("compose-output.yml", out, len, NULL, NULL, &opts, &theirs),
				  "%s", theirs.error);
		cr_assert(compose_load_opts(path, env_lookup, NULL, &opts, &mine), "%s", mine.error);
		cr_assert_eq(mine.service_count, theirs.service_count, "%s", path);

		for (size_t i = 0; i < mine.service_count; i++)
		{
			const ComposeService *m = &mine.services[i];

			if (m->uses_merge || m->uses_alias)
				continue;
			compare_service(m, need_service(&theirs, m->key), fixture_name(n));
			compared++;
		}
		compose_free(&mine);
		compose_free(&theirs);
	}
	cr_assert_gt(compared, 15);
}

/* pgfold runs `<compose> --project-directory ROOT -f services/x.yml`:
 * env_file then resolves against ROOT, and so must ComposeOptions.project_dir. */
Test(compose_vs_compose, project_directory_matches, .timeout = 60)
{
	char rel[512], path[PATH_MAX], root[PATH_MAX];
	static char out[1 << 16];
	size_t len;
	ComposeFile mine, theirs;
	ComposeOptions opts = { .dialect = dialect(), .quiet = true };

	log_set_level(LOG_FATAL);
	lab_compose_require();
	set_stack_env();
	fixture_path(rel, sizeof(rel), "project");
	cr_assert_not_null(realpath(rel, root));
	fixture_path(rel, sizeof(rel), "project/services/app.yml");
	cr_assert_not_null(realpath(rel, path));

	for (int with_root = 0; with_root < 2; with_root++)
	{
		cr_assert(compose_config(with_root ? root : NULL, path, out, sizeof(out), &len));
		cr_assert(compose_parse_opts("compose-output.yml", out, len, NULL, NULL, &opts, &theirs),
				  "%s", theirs.error);
		opts.project_dir = with_root ? root : NULL;
		cr_assert(compose_load_opts(path, env_lookup, NULL, &opts, &mine), "%s", mine.error);
		compare_service(&mine.services[0], need_service(&theirs, "app"), "project/services/app.yml");
		cr_assert_str_eq(compose_env_effective(&mine.services[0], "WHERE"),
						 with_root ? "project-root" : "services-dir");
		opts.project_dir = NULL;
		compose_free(&mine);
		compose_free(&theirs);
	}
}
