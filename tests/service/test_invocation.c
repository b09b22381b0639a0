/*
 * test_invocation.c — the compose invocation read from containers' labels
 * (invocation.c) and every dedicated postgres found on a host (discover.c),
 * on hand-built inputs and real files in a temporary stack.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/service.h"

static char root[PATH_MAX];
static Config cfg;
static StackService svc;
static ContainerInfo members[2];
static ServiceContainers sc;

static void
touch(const char *rel)
{
	char path[PATH_MAX];
	FILE *f;

	cr_assert(str_format(path, sizeof(path), "%s/%s", root, rel));
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs("services: {}\n", f);
	fclose(f);
}

static void
setup(void)
{
	char path[PATH_MAX];

	str_copy(root, sizeof(root), "/tmp/pgfold-inv-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	cr_assert(str_format(path, sizeof(path), "%s/services", root));
	cr_assert_eq(mkdir(path, 0755), 0);
	touch("base.yml");
	touch("services/app.yml");
	touch("services/other.yml");
	touch("services/.env");
	memset(&cfg, 0, sizeof(cfg));
	str_copy(cfg.root, sizeof(cfg.root), root);
	str_format(cfg.env_path, sizeof(cfg.env_path), "%s/.env", root);
	memset(&svc, 0, sizeof(svc));
	svc.name = (char *) "app";
	svc.path = xcalloc(1, PATH_MAX);
	cr_assert(str_format(svc.path, PATH_MAX, "%s/services/app.yml", root));
	memset(members, 0, sizeof(members));
	sc.members = members;
	sc.count = 2;
	sc.db = 1;
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	free(svc.path);
	if (str_format(cmd, sizeof(cmd), "rm -rf %s", root))
		cr_expect_eq(system(cmd), 0);
}

TestSuite(service_invocation, .init = setup, .fini = teardown);

/* A db container as compose labels it. */
static void
labelled(ContainerInfo *ci, const char *project, const char *wd, const char *files, const char *env)
{
	ci->match = MATCH_LABELS;
	ci->name = (char *) "app-db";
	ci->project = (char *) project;
	ci->working_dir = (char *) wd;
	ci->config_files = (char *) files;
	ci->environment_file = (char *) env;
}

static char *
under(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int k;
	char *b = buf[k++ % 4];

	cr_assert(str_format(b, PATH_MAX, "%s/%s", root, rel));
	return b;
}

/* compose 1.29 from the root with `-f services/app.yml`: the project
 * directory is services/, the file is recorded as typed. */
Test(service_invocation, compose_1_29_relative_file_and_its_project_directory)
{
	ComposeInvocation inv;
	char wd[PATH_MAX];

	str_copy(wd, sizeof(wd), under("services"));
	labelled(&members[1], "services", wd, "services/app.yml", NULL);
	service_invocation(&cfg, &svc, &sc, &inv);
	cr_assert_null(inv.problem, "%s", inv.problem);
	cr_assert_str_eq(inv.source, "app-db");
	cr_assert_str_eq(inv.project, "services");
	cr_assert_str_eq(inv.project_dir, wd);
	cr_assert_eq(inv.file_count, 1);
	cr_assert_str_eq(inv.files[0], under("services/app.yml"));
	cr_assert_eq(inv.env_file_count, 0);
	cr_assert_str_eq(inv.env_target, under("services/.env"));
	cr_assert(compose_invocation_has_own_env(&cfg, &inv));
	compose_invocation_free(&inv);
}

/* compose v2: absolute files in order, and its --env-file list; the last
 * env file receives new variables. */
Test(service_invocation, compose_v2_files_in_order_and_env_files)
{
	ComposeInvocation inv;
	char files[3 * PATH_MAX], envs[2 * PATH_MAX];

	cr_assert(str_format(files, sizeof(files), "%s,%s", under("base.yml"), under("services/app.yml")));
	cr_assert(str_format(envs, sizeof(envs), "%s", under("services/.env")));
	labelled(&members[1], "stack", root, files, envs);
	service_invocation(&cfg, &svc, &sc, &inv);
	cr_assert_null(inv.problem, "%s", inv.problem);
	cr_assert_eq(inv.file_count, 2);
	cr_assert_str_eq(inv.files[0], under("base.yml"));
	cr_assert_str_eq(inv.files[1], under("services/app.yml"));
	cr_assert_eq(inv.self, 1);
	cr_assert_eq(inv.env_file_count, 1);
	cr_assert_str_eq(inv.env_target, under("services/.env"));
	compose_invocation_free(&inv);
}

/* Labels of another file (a container matched by name only) say nothing
 * about this one: pgfold's defaults, the root and its .env. */
Test(service_invocation, labels_of_another_file_are_not_followed)
{
	ComposeInvocation inv;

	labelled(&members[1], "other", root, "services/other.yml", NULL);
	service_invocation(&cfg, &svc, &sc, &inv);
	cr_assert_null(inv.problem, "%s", inv.problem);
	cr_assert_null(inv.source);
	cr_assert_str_eq(inv.project, "other");    /* the db container's project still names it */
	cr_assert_str_eq(inv.project_dir, root);
	cr_assert_str_eq(inv.env_target, cfg.env_path);
	cr_assert_not(compose_invocation_has_own_env(&cfg, &inv));
	compose_invocation_free(&inv);
}

/* A file the labels name that no longer exists: one line naming it. */
Test(service_invocation, a_named_file_that_is_gone_is_a_problem)
{
	ComposeInvocation inv;

	labelled(&members[1], "stack", root, "base.yml,services/app.yml,gone.yml", NULL);
	service_invocation(&cfg, &svc, &sc, &inv);
	cr_assert_not_null(inv.problem);
	cr_assert_not_null(strstr(inv.problem, "app-db was created by compose with file gone.yml, "
							  "which no longer exists"), "%s", inv.problem);
	compose_invocation_free(&inv);
}

/* Nothing created yet: the root, the file alone, the root's .env. */
Test(service_invocation, no_containers_gives_the_defaults)
{
	ComposeInvocation inv;
	char *proj[] = { (char *) "stack" };

	svc.projects = proj;
	svc.project_count = 1;
	service_invocation(&cfg, &svc, NULL, &inv);
	svc.projects = NULL;
	svc.project_count = 0;
	cr_assert_str_eq(inv.project, "stack");
	cr_assert_str_eq(inv.project_dir, root);
	cr_assert_eq(inv.file_count, 1);
	cr_assert_str_eq(inv.files[0], svc.path);
	cr_assert_str_eq(inv.env_target, cfg.env_path);
	compose_invocation_free(&inv);
}

/* ---- discovery --------------------------------------------------------- */

#define CONTAINER(id, name, image, cmd, state, labels) \
	"{\"Id\": \"" id "\", \"Names\": [\"/" name "\"], \"Image\": \"" image "\", " \
	"\"Command\": \"" cmd "\", \"State\": \"" state "\", \"Labels\": {" labels "}}"
#define PROJ(p, s) "\"com.docker.compose.project\": \"" p "\", \"com.docker.compose.service\": \"" s "\""

Test(service_discover, servers_only_sorted_by_project)
{
	const char *text = "["
		CONTAINER("1", "zz-db", "postgres:16-alpine", "docker-entrypoint.sh postgres", "running",
				  PROJ("zeta", "db")) ","
		CONTAINER("2", "toolbox", "postgres:16", "docker-entrypoint.sh sleep infinity", "running",
				  PROJ("alpha", "toolbox")) ","
		CONTAINER("3", "alpha-run", "postgres:16", "docker-entrypoint.sh postgres", "exited",
				  PROJ("alpha", "db") ", \"com.docker.compose.oneoff\": \"True\"") ","
		CONTAINER("4", "cache", "redis:7", "redis-server", "running", PROJ("alpha", "redis")) ","
		CONTAINER("5", "alpha-db", "pgvector/pgvector:pg16", "docker-entrypoint.sh postgres",
				  "exited", PROJ("alpha", "db")) ","
		CONTAINER("6", "loose", "postgis/postgis:15-3.4", "docker-entrypoint.sh postgres", "running",
				  "")
		"]";
	json_error_t err;
	json_t *list = json_loads(text, 0, &err);
	HostPostgres *found;
	size_t n;

	cr_assert_not_null(list, "%s", err.text);
	cr_assert(service_discover_postgres(list, &found, &n));
	cr_assert_eq(n, 3, "found %zu", n);
	/* no project first, then alpha, then zeta */
	cr_assert_str_eq(found[0].container, "loose");
	cr_assert_null(found[0].project);
	cr_assert_eq(found[0].image_major, 15);
	cr_assert_str_eq(found[1].container, "alpha-db");
	cr_assert_str_eq(found[1].service, "db");
	cr_assert_str_eq(found[1].state, "exited");
	cr_assert_eq(found[1].image_major, 16);
	cr_assert_str_eq(found[2].container, "zz-db");
	cr_assert_str_eq(found[2].project, "zeta");
	host_postgres_free(found, n);
	json_decref(list);
}

Test(service_discover, not_a_list)
{
	json_t *obj = json_object();
	HostPostgres *found;
	size_t n;

	cr_assert_not(service_discover_postgres(obj, &found, &n));
	cr_assert_eq(n, 0);
	json_decref(obj);
}

/* ---- layouts ----------------------------------------------------------- */

/* An enabled service whose target is gone is listed with one line saying
 * so (OnRamp's services-enabled/ links), not dropped nor a parse error. */
Test(service_invocation, dangling_link_is_listed_with_its_target)
{
	char dir[PATH_MAX], link[PATH_MAX];
	Config c;
	Stack st;

	cr_assert(str_format(dir, sizeof(dir), "%s/services-enabled", root));
	cr_assert(str_format(link, sizeof(link), "rm -rf %s/services", root));
	cr_assert_eq(system(link), 0);
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert(str_format(link, sizeof(link), "%s/gone.yml", dir));
	cr_assert_eq(symlink("../services-available/gone.yml", link), 0);
	cr_assert(config_load(root, &c));
	cr_assert_str_eq(c.services_dir, dir);
	cr_assert(stack_load(&c, &st));
	cr_assert_eq(st.count, 1);
	cr_assert_str_eq(st.services[0].name, "gone");
	cr_assert_not_null(st.services[0].problem);
	cr_assert(strstr(st.services[0].problem, "gone.yml is a link to ../services-available/gone.yml, "
					 "which does not exist") != NULL, "%s", st.services[0].problem);
	stack_free(&st);
	config_free(&c);
}

/* One directory per app: found without configuration, the app directory's
 * name is the service, its compose file and .env are the ones read. */
Test(service_invocation, app_directories_are_found)
{
	char dir[PATH_MAX], path[PATH_MAX];
	Config c;
	Stack st;
	FILE *f;

	cr_assert(str_format(path, sizeof(path), "rm -rf %s/services %s/base.yml", root, root));
	cr_assert_eq(system(path), 0);
	cr_assert(str_format(dir, sizeof(dir), "%s/immich", root));
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert(str_format(path, sizeof(path), "%s/docker-compose.yml", dir));
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("services:\n  db:\n    image: postgres:16\n    container_name: ${DBC}\n", f);
	fclose(f);
	cr_assert(str_format(path, sizeof(path), "%s/.env", dir));
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("DBC=immich_postgres\n", f);
	fclose(f);
	cr_assert(config_load(root, &c));
	cr_assert_eq(c.layout, LAYOUT_APPS);
	cr_assert(stack_load(&c, &st));
	cr_assert_eq(st.count, 1);
	cr_assert_str_eq(st.services[0].name, "immich");
	cr_assert_str_eq(st.services[0].project_dir, dir);
	cr_assert_str_eq(st.services[0].db_container, "immich_postgres", "the app's .env was not read");
	stack_free(&st);
	config_free(&c);
}
