/*
 * test_composecmd.c — the compose command pgfold runs reproduces the
 * project's own invocation (service.h: ComposeInvocation), with the compose
 * that created the containers.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "pgfold/composecmd.h"
#include "pgfold/migrate.h"
#include "pgfold/proc.h"

static char *files[] = { (char *) "/s/docker-compose.yml", (char *) "/s/services-enabled/a.yml" };
static char *envs[] = { (char *) "/s/services-enabled/.env" };

static void
invocation(ComposeInvocation *inv, const char *version)
{
	memset(inv, 0, sizeof(*inv));
	inv->project = (char *) "s";
	inv->project_dir = (char *) "/s";
	inv->files = files;
	inv->file_count = 2;
	inv->self = 1;
	inv->env_files = envs;
	inv->env_file_count = 1;
	inv->compose_version = (char *) version;
}

static char *
joined(char **argv)
{
	StrBuf b = STRBUF_INIT;

	composecmd_line(argv, &b);
	return sb_steal(&b);
}

Test(composecmd, the_projects_own_invocation_then_more_files)
{
	App app;
	ComposeInvocation inv;
	const char *more[] = { "overrides/a-dedicated-postgres.yml", NULL };
	const char *extra[] = { "config", "-q", NULL };

	memset(&app, 0, sizeof(app));
	str_copy(app.cfg.root, sizeof(app.cfg.root), "/s");
	str_copy(app.cfg.compose_cmd, sizeof(app.cfg.compose_cmd), "podman-compose");
	invocation(&inv, NULL);

	char **argv = composecmd_argv(&app, &inv, more, extra);
	char *line = joined(argv);

	cr_assert_str_eq(line, "podman-compose --project-directory /s -p s --env-file "
					 "/s/services-enabled/.env -f /s/docker-compose.yml -f /s/services-enabled/a.yml "
					 "-f /s/overrides/a-dedicated-postgres.yml config -q");
	free(line);
	composecmd_argv_free(argv);
}

/* Containers made by compose 1.29 are recreated by docker-compose, not by
 * the v2 plugin (which would name them -1, a second set), and the other
 * way round. */
Test(composecmd, the_compose_that_made_the_containers)
{
	App app;
	ComposeInvocation inv;

	memset(&app, 0, sizeof(app));
	str_copy(app.cfg.root, sizeof(app.cfg.root), "/s");
	if (proc_on_path("docker-compose"))
	{
		invocation(&inv, "1.29.2");

		char **argv = composecmd_argv(&app, &inv, NULL, NULL);

		cr_assert_str_eq(argv[0], "docker-compose");
		composecmd_argv_free(argv);
	}
	if (access("/usr/local/lib/docker/cli-plugins/docker-compose", X_OK) == 0)
	{
		invocation(&inv, "2.26.1");

		char **argv = composecmd_argv(&app, &inv, NULL, NULL);

		cr_assert_str_eq(argv[0], "docker");
		cr_assert_str_eq(argv[1], "compose");
		composecmd_argv_free(argv);
	}
}
