/*
 * test_compose_vs_compose.c — resolve every fixture the way pgfold does and
 * compare with `docker-compose -f FILE config` (compose 1.29, no engine
 * needed): container names, images and each service's final environment
 * (env_file + environment:, interpolation, value-less entries).
 *
 * Skipped when docker-compose is not installed. Services that use merge
 * keys or aliases are not compared: pgfold deliberately does not model them.
 */
#include "compose/compose_fixture.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *
env_lookup(void *ctx, const char *name)
{
	(void) ctx;
	return getenv(name);
}

static bool
have_docker_compose(char *path, size_t size)
{
	const char *p = getenv("PATH");

	while (p != NULL && *p)
	{
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t) (colon - p) : strlen(p);

		if (n > 0 && str_format(path, size, "%.*s/docker-compose", (int) n, p) &&
			access(path, X_OK) == 0)
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

/* Run docker-compose config; its stdout into out (NUL-terminated). */
static bool
compose_config(const char *bin, const char *project, const char *file, char *out,
			   size_t size, size_t *len)
{
	char tmpl[] = "/tmp/pgfold-dc-XXXXXX";
	int fd = mkstemp(tmpl);
	pid_t pid;
	int status;
	ssize_t r;

	cr_assert_geq(fd, 0);
	unlink(tmpl);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
	{
		int devnull = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(devnull, 2);
		if (project != NULL)
			execl(bin, "docker-compose", "--no-ansi", "--project-directory", project,
				  "-f", file, "config", (char *) NULL);
		else
			execl(bin, "docker-compose", "--no-ansi", "-f", file, "config", (char *) NULL);
		_exit(127);             /* never return into the runner */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	lseek(fd, 0, SEEK_SET);
	r = read(fd, out, size - 1);
	close(fd);
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return false;
	out[r] = '\0';
	*len = (size_t) r;
	return true;
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
	char bin[PATH_MAX];
	static char out[1 << 20];
	ComposeOptions v1 = { .dialect = INTERP_COMPOSE_V1, .quiet = true };
	int compared = 0;

	log_set_level(LOG_FATAL);
	if (!have_docker_compose(bin, sizeof(bin)))
		cr_skip_test("docker-compose is not installed");
	set_stack_env();

	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		char rel[512], path[PATH_MAX];
		size_t len;
		ComposeFile mine, theirs;

		fixture_path(rel, sizeof(rel), fixture_name(n));
		cr_assert_not_null(realpath(rel, path));
		cr_assert(compose_config(bin, NULL, path, out, sizeof(out), &len),
				  "docker-compose config failed on %s", path);
		/* compose's output escapes $ as $$; no lookup needed to read it */
		cr_assert(compose_parse_opts("compose-output.yml", out, len, NULL, NULL, &v1, &theirs),
				  "%s", theirs.error);
		cr_assert(compose_load_opts(path, env_lookup, NULL, &v1, &mine), "%s", mine.error);
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

/* pgfold runs `docker-compose --project-directory ROOT -f services/x.yml`:
 * env_file then resolves against ROOT, and so must ComposeOptions.project_dir. */
Test(compose_vs_compose, project_directory_matches, .timeout = 60)
{
	char bin[PATH_MAX], rel[512], path[PATH_MAX], root[PATH_MAX];
	static char out[1 << 16];
	size_t len;
	ComposeFile mine, theirs;
	ComposeOptions opts = { .dialect = INTERP_COMPOSE_V1, .quiet = true };

	log_set_level(LOG_FATAL);
	if (!have_docker_compose(bin, sizeof(bin)))
		cr_skip_test("docker-compose is not installed");
	set_stack_env();
	fixture_path(rel, sizeof(rel), "project");
	cr_assert_not_null(realpath(rel, root));
	fixture_path(rel, sizeof(rel), "project/services/app.yml");
	cr_assert_not_null(realpath(rel, path));

	for (int with_root = 0; with_root < 2; with_root++)
	{
		cr_assert(compose_config(bin, with_root ? root : NULL, path, out, sizeof(out), &len));
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
