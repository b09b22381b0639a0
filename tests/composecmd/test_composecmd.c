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

/* A job's output waits in memory files, so a caller doing other work is
 * never what keeps compose from finishing: 300 KiB (more than a pipe
 * holds) arrive whole, stdout apart from stderr, and two jobs run at once. */
Test(composecmd, background_jobs_keep_their_output_apart)
{
	char *big[] = { (char *) "sh", (char *) "-c",
		(char *) "head -c 307200 /dev/zero | tr '\\0' x; echo 'said on stderr' >&2", NULL };
	char *fails[] = { (char *) "sh", (char *) "-c", (char *) "echo partial; exit 3", NULL };
	ComposeJob a, b;
	StrBuf out_a = STRBUF_INIT, out_b = STRBUF_INIT;

	cr_assert(composecmd_start(big, "big", true, true, &a));
	cr_assert(composecmd_start(fails, "fails", true, true, &b));
	cr_assert(!composecmd_finish(&b, &out_b), "exit 3 is a failure");
	cr_assert_str_eq(sb_str(&out_b), "partial\n");
	cr_assert(composecmd_finish(&a, &out_a));
	cr_assert_eq(out_a.len, 307200);
	cr_assert(strspn(sb_str(&out_a), "x") == 307200, "stderr never mixes into the captured stdout");
	cr_assert_eq(a.pid, -1);
	cr_assert_eq(a.out_fd, -1);
	sb_free(&out_a);
	sb_free(&out_b);
}

/* A program that is not there: one logged failure, no job left. */
Test(composecmd, a_job_that_cannot_start)
{
	char *none[] = { (char *) "pgfold-no-such-compose", NULL };
	ComposeJob j;
	StrBuf out = STRBUF_INIT;

	cr_assert(!composecmd_start(none, "missing", true, true, &j));
	cr_assert_eq(j.pid, -1);
	cr_assert(!composecmd_finish(&j, &out));
	cr_assert_eq(out.len, 0);
}

/* One big file with another db: `up -d` alone would start that db's
 * services too (and anything the operator stopped); the others are left
 * out by name, with our own db's slot. Alone in its file: plain `up -d`. */
Test(composecmd, up_leaves_the_other_dbs_services_alone)
{
	ComposeService services[4];
	StackService svc;
	ComposeInvocation inv;
	char *others[] = { (char *) "joplin", (char *) "db", NULL };
	char *none[] = { NULL };

	memset(services, 0, sizeof(services));
	services[0].key = (char *) "docmost";
	services[1].key = (char *) "docmost-db";
	services[2].key = (char *) "joplin";
	services[3].key = (char *) "db";
	memset(&svc, 0, sizeof(svc));
	svc.loaded = true;
	svc.file.services = services;
	svc.file.service_count = 4;
	invocation(&inv, NULL);
	inv.file_count = 1;

	char **up = composecmd_up_args(&inv, &svc, 1, others);
	char *line = joined(up);

	cr_assert_str_eq(line, "up -d --no-deps docmost");
	free(line);
	composecmd_argv_free(up);
	up = composecmd_up_args(&inv, &svc, 1, none);
	line = joined(up);
	cr_assert_str_eq(line, "up -d");
	free(line);
	composecmd_argv_free(up);
}
