/*
 * test_containers.c — matching one container list to the stack's services.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pgfold/service.h"

/* A hand-built stack: joplin (db key `db`, container joplin-db), odoo (key
 * `db` too, container odoo_postgres), nocodb (key root_db, no
 * container_name: compose names it), all under /stack with
 * --project-directory /stack (project "stack") or without ("services"). */
static char *projects[] = { (char *) "services", (char *) "stack" };

static ComposeService joplin_svcs[2], odoo_svcs[2], nocodb_svcs[2];
static StackService svcs[3];
static Stack stack;

static void
set_cs(ComposeService *cs, const char *key, const char *container_name)
{
	memset(cs, 0, sizeof(*cs));
	cs->key = (char *) key;
	cs->container_name = (char *) container_name;
	cs->container_name_raw = (char *) container_name;
}

static void
set_svc(StackService *s, const char *name, const char *path, ComposeService *cs)
{
	memset(s, 0, sizeof(*s));
	s->name = (char *) name;
	s->path = (char *) path;
	s->file.path = (char *) path;
	s->file.services = cs;
	s->file.service_count = 2;
	s->loaded = true;
	s->db_service = 1;
	s->projects = projects;
	s->project_count = 2;
}

static void
build_stack(void)
{
	set_cs(&joplin_svcs[0], "joplin", "joplin");
	set_cs(&joplin_svcs[1], "db", "joplin-db");
	set_cs(&odoo_svcs[0], "odoo", "odoo");
	set_cs(&odoo_svcs[1], "db", "odoo_postgres");
	set_cs(&nocodb_svcs[0], "nocodb", NULL);
	set_cs(&nocodb_svcs[1], "root_db", NULL);
	set_svc(&svcs[0], "joplin", "/stack/services/joplin.yml", joplin_svcs);
	set_svc(&svcs[1], "odoo", "/stack/services/odoo.yml", odoo_svcs);
	set_svc(&svcs[2], "nocodb", "/stack/services/nocodb.yml", nocodb_svcs);
	stack.services = svcs;
	stack.count = 3;
}

#define LABELS(svc, proj, files) \
	"\"Labels\": {\"com.docker.compose.service\": \"" svc "\", " \
	"\"com.docker.compose.project\": \"" proj "\", " \
	"\"com.docker.compose.project.working_dir\": \"/stack\", " \
	"\"com.docker.compose.project.config_files\": \"" files "\"}"

static const char *list_json =
	"["
	"{\"Id\": \"c1\", \"Names\": [\"/joplin-db\"], \"Image\": \"postgres:15\", \"State\": \"running\","
	" \"Status\": \"Up 2 minutes (healthy)\", " LABELS("db", "stack", "/stack/services/joplin.yml") "},"
	"{\"Id\": \"c2\", \"Names\": [\"/odoo_postgres\"], \"Image\": \"postgres:13\", \"State\": \"exited\","
	" \"Status\": \"Exited (0) 3 days ago\", " LABELS("db", "stack", "/stack/services/odoo.yml") "},"
	"{\"Id\": \"c3\", \"Names\": [\"/stack-root_db-1\"], \"Image\": \"postgres:16\", \"State\": \"running\","
	" \"Status\": \"Up 1 hour\", " LABELS("root_db", "stack", "/stack/services/nocodb.yml") "},"
	"{\"Id\": \"c4\", \"Names\": [\"/services_root_db_1\"], \"Image\": \"postgres:16\", \"State\": \"exited\","
	" \"Status\": \"Exited (0) 1 year ago\", \"Labels\": {}},"
	"{\"Id\": \"c5\", \"Names\": [\"/joplin-db-backup\"], \"Image\": \"prodrigestivill/postgres-backup-local\","
	" \"State\": \"running\", \"Status\": \"Up 2 minutes\", \"Labels\": {}},"
	"{\"Id\": \"c6\", \"Names\": [\"/joplin\"], \"Image\": \"joplin/server\", \"State\": \"running\","
	" \"Status\": \"Up 2 minutes\", " LABELS("joplin", "stack", "/stack/services/joplin.yml") "},"
	"{\"Id\": \"c7\", \"Names\": [\"/immich_postgres\"], \"Image\": \"postgres:14\", \"State\": \"running\","
	" \"Status\": \"Up 5 days (unhealthy)\", " LABELS("db", "stack", "/elsewhere/immich.yml") "},"
	"42, \"not an object\""
	"]";

static json_t *
load_list(const char *text)
{
	json_error_t err;
	json_t *list = json_loads(text, 0, &err);

	cr_assert_not_null(list, "bad test JSON: %s at %d", err.text, err.position);
	return list;
}

Test(service_containers, labels_name_fallback_and_lookalikes)
{
	StackContainers sc;
	json_t *list = load_list(list_json);

	build_stack();
	cr_assert(stack_match_containers(&stack, list, &sc));
	cr_assert_eq(sc.count, 3);

	/* joplin: labels and name agree; the backup look-alike is not it */
	const ContainerInfo *db = stack_containers_db(&sc, 0);

	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "c1");
	cr_assert_str_eq(db->name, "joplin-db");
	cr_assert_eq(db->match, MATCH_BOTH);
	cr_assert_eq(db->matches, 1);
	cr_assert_str_eq(db->state, "running");
	cr_assert_str_eq(db->health, "healthy");
	cr_assert_str_eq(db->project, "stack");
	cr_assert_str_eq(db->working_dir, "/stack");
	cr_assert_str_eq(db->config_files, "/stack/services/joplin.yml");
	cr_assert_str_eq(db->service, "db");

	const ContainerInfo *app = &sc.services[0].members[0];

	cr_assert_str_eq(app->id, "c6");
	cr_assert_eq(app->match, MATCH_BOTH);
	cr_assert_null(app->health);

	/* odoo: key `db` too, told apart by config_files; stopped is still found */
	db = stack_containers_db(&sc, 1);
	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "c2");
	cr_assert_str_eq(db->state, "exited");
	cr_assert_eq(db->matches, 1);
	cr_assert_eq(sc.services[1].members[0].match, MATCH_NONE);
	cr_assert_null(sc.services[1].members[0].id);

	/* nocodb: compose-named; an old legacy-named container also matches by
	 * name, the labelled running one wins and the count says two */
	db = stack_containers_db(&sc, 2);
	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "c3");
	cr_assert_eq(db->match, MATCH_BOTH);
	cr_assert_eq(db->matches, 2);

	stack_containers_free(&sc);
	cr_assert_null(sc.services);
	json_decref(list);
}

Test(service_containers, name_only_prefers_running)
{
	StackContainers sc;
	json_t *list = load_list(
		"[{\"Id\": \"old\", \"Names\": [\"/joplin-db\"], \"State\": \"exited\", \"Labels\": null},"
		" {\"Id\": \"new\", \"Names\": [\"/other\", \"/joplin-db\"], \"State\": \"running\","
		"  \"Health\": {\"Status\": \"starting\"}}]");

	build_stack();
	cr_assert(stack_match_containers(&stack, list, &sc));

	const ContainerInfo *db = stack_containers_db(&sc, 0);

	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "new");
	cr_assert_str_eq(db->name, "other");     /* first name, as the engine lists it */
	cr_assert_eq(db->match, MATCH_NAME);
	cr_assert_eq(db->matches, 2);
	cr_assert_str_eq(db->health, "starting");
	cr_assert_null(db->project);
	cr_assert_null(stack_containers_db(&sc, 1));
	cr_assert_null(stack_containers_db(&sc, 2));
	cr_assert_null(stack_containers_db(&sc, 99));
	stack_containers_free(&sc);
	json_decref(list);
}

Test(service_containers, no_config_files_label_uses_project)
{
	StackContainers sc;
	json_t *list = load_list(
		"[{\"Id\": \"a\", \"Names\": [\"/whatever\"], \"State\": \"running\", \"Labels\":"
		"  {\"com.docker.compose.service\": \"root_db\", \"com.docker.compose.project\": \"services\"}},"
		" {\"Id\": \"b\", \"Names\": [\"/x\"], \"State\": \"running\", \"Labels\":"
		"  {\"com.docker.compose.service\": \"root_db\", \"com.docker.compose.project\": \"foreign\"}}]");

	build_stack();
	cr_assert(stack_match_containers(&stack, list, &sc));

	const ContainerInfo *db = stack_containers_db(&sc, 2);

	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "a");
	cr_assert_eq(db->match, MATCH_LABELS);
	cr_assert_eq(db->matches, 1);
	stack_containers_free(&sc);
	json_decref(list);
}

Test(service_containers, unloaded_services_and_bad_input)
{
	StackContainers sc;
	json_t *list = load_list("[]");

	build_stack();
	svcs[1].loaded = false;
	cr_assert(stack_match_containers(&stack, list, &sc));
	cr_assert_eq(sc.services[1].count, 0);
	cr_assert_eq(sc.services[1].db, -1);
	cr_assert_null(stack_containers_db(&sc, 0));
	stack_containers_free(&sc);
	json_decref(list);

	json_t *obj = json_object();

	cr_assert_not(stack_match_containers(&stack, obj, &sc));
	json_decref(obj);
}

Test(service_containers, this_stack_beats_another_checkout)
{
	StackContainers sc;
	/* same file name and key, labels only; one from another checkout
	 * (running), one from this stack's root (stopped) */
	json_t *list = load_list(
		"[{\"Id\": \"foreign\", \"Names\": [\"/a\"], \"State\": \"running\", \"Labels\":"
		"  {\"com.docker.compose.service\": \"root_db\", \"com.docker.compose.project\": \"x\","
		"   \"com.docker.compose.project.working_dir\": \"/old/stack\","
		"   \"com.docker.compose.project.config_files\": \"services/nocodb.yml\"}},"
		" {\"Id\": \"ours\", \"Names\": [\"/b\"], \"State\": \"exited\", \"Labels\":"
		"  {\"com.docker.compose.service\": \"root_db\", \"com.docker.compose.project\": \"x\","
		"   \"com.docker.compose.project.working_dir\": \"/stack\","
		"   \"com.docker.compose.project.config_files\": \"services/nocodb.yml\"}}]");

	build_stack();
	svcs[2].file.dir = (char *) "/stack/services";
	cr_assert(stack_match_containers(&stack, list, &sc));

	const ContainerInfo *db = stack_containers_db(&sc, 2);

	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "ours");
	cr_assert_eq(db->match, MATCH_LABELS);
	/* the other checkout's copy is not a rival: no ambiguity */
	cr_assert_eq(db->matches, 1);
	cr_assert_str_eq(db->working_dir, "/stack");
	stack_containers_free(&sc);
	json_decref(list);
}

/* Two stacks with services/docmost.yml and the same db key on one engine
 * (issue 8): stack b at /b/stack, its db container docmost-db-b. */
static ComposeService two_svcs[2];
static StackService two_svc;
static Stack two;

static void
build_stack_b(void)
{
	set_cs(&two_svcs[0], "docmost", "docmost-b");
	set_cs(&two_svcs[1], "docmost-db", "docmost-db-b");
	set_svc(&two_svc, "docmost", "/b/stack/services/docmost.yml", two_svcs);
	two_svc.file.dir = (char *) "/b/stack";
	two.services = &two_svc;
	two.count = 1;
}

#define CONTAINER(id, name, state, proj, wd, files) \
	"{\"Id\": \"" id "\", \"Names\": [\"/" name "\"], \"State\": \"" state "\", \"Labels\":" \
	" {\"com.docker.compose.service\": \"docmost-db\", \"com.docker.compose.project\": \"" proj \
	"\", \"com.docker.compose.project.working_dir\": \"" wd "\"," \
	" \"com.docker.compose.project.config_files\": \"" files "\"}}"

/* compose 1.29 run the common way, `docker-compose -f services/docmost.yml
 * up -d` from the root: working_dir is <root>/services, config_files is
 * relative. Before, b's own container did not count as b's (working_dir
 * not the root) and a's matched by file name: "2 containers match". */
Test(service_containers, two_stacks_same_file_and_key)
{
	StackContainers sc;
	json_t *list = load_list(
		"[" CONTAINER("a-db", "docmost-db-a", "running", "stack", "/a/stack",
					  "services/docmost.yml") ","
		CONTAINER("b-db", "docmost-db-b", "running", "services", "/b/stack/services",
				  "services/docmost.yml") "]");

	build_stack_b();
	cr_assert(stack_match_containers(&two, list, &sc));

	const ContainerInfo *db = stack_containers_db(&sc, 0);

	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "b-db");
	cr_assert_eq(db->match, MATCH_BOTH);
	cr_assert_eq(db->matches, 1, "%zu containers match", db->matches);
	stack_containers_free(&sc);
	json_decref(list);
}

/* b not started yet: a's container is not b's (before, b took it: plan
 * and migrate would have dumped a's database) */
Test(service_containers, other_stacks_container_is_never_ours)
{
	StackContainers sc;
	json_t *list = load_list(
		"[" CONTAINER("a-db", "docmost-db-a", "running", "stack", "/a/stack",
					  "services/docmost.yml") ","
		CONTAINER("a2-db", "docmost-db-b", "running", "a2", "/srv/a2",
				  "/srv/a2/services/docmost.yml") "]");

	build_stack_b();
	cr_assert(stack_match_containers(&two, list, &sc));
	/* not even the one holding our container name: its labels say whose */
	cr_assert_null(stack_containers_db(&sc, 0));
	/* and that is said: two projects claim one name */
	const ContainerInfo *slot = &sc.services[0].members[sc.services[0].db];

	cr_assert_not_null(slot->claimed_by);
	cr_assert_str_eq(slot->claimed_by, "docmost-db-b (project a2, files /srv/a2/services/docmost.yml)");
	stack_containers_free(&sc);
	json_decref(list);
}

/* compose v2: absolute config_files, one project of several files */
Test(service_containers, absolute_config_files)
{
	StackContainers sc;
	json_t *list = load_list(
		"[" CONTAINER("a-db", "docmost-db-a", "running", "stack", "/a/stack",
					  "/a/stack/docker-compose.yml,/a/stack/services/docmost.yml") ","
		CONTAINER("b-db", "stack-docmost-db-1", "running", "stack", "/b/stack",
				  "/b/stack/docker-compose.yml,/b/stack/./services/../services/docmost.yml") "]");

	build_stack_b();
	set_cs(&two_svcs[1], "docmost-db", NULL);
	cr_assert(stack_match_containers(&two, list, &sc));

	const ContainerInfo *db = stack_containers_db(&sc, 0);

	cr_assert_not_null(db);
	cr_assert_str_eq(db->id, "b-db");
	cr_assert_eq(db->match, MATCH_BOTH);
	cr_assert_eq(db->matches, 1);
	stack_containers_free(&sc);
	json_decref(list);
}
