/*
 * test_demo.c — the demo stack (the services directory and demo.env.example) loaded
 * the way pgfold loads a stack, and every connection's spans checked by
 * slicing the file bytes. Also: docker-compose accepts each demo file.
 *
 * Runs from the repository root (as `make unit` / `make check` do).
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "pgfold/config.h"
#include "pgfold/service.h"
#include "span.h"

static char tmp_root[PATH_MAX];

/* A copy of the demo stack in a temporary root, with the demo .env, plus
 * files the loader must skip or report. */
static void
make_demo_root(void)
{
	char tmpl[] = "/tmp/pgfold-svc-demo-XXXXXX";

	cr_assert(access("services/docmost.yml", R_OK) == 0,
			  "run the tests from the repository root (services/docmost.yml not found)");
	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert(str_copy(tmp_root, sizeof(tmp_root), tmpl));
	cr_assert_eq(lab_sh("mkdir -p %s/services && cp services/*.yml services/*.env %s/services/ && "
						"cp demo.env.example %s/.env && "
						"printf 'services:\\n  x: [\\n' > %s/services/broken.yml && "
						"printf 'services: {}\\n' > %s/services/.hidden.yml && "
						"printf 'not yaml' > %s/services/notes.txt",
						tmp_root, tmp_root, tmp_root, tmp_root, tmp_root, tmp_root), 0);
}

static void
remove_demo_root(void)
{
	if (tmp_root[0])
		lab_sh("rm -rf %s", tmp_root);
}

static const char *
env_name(const StackService *s, const ConnRef *c, int idx)
{
	return s->file.services[c->app].env[idx].name;
}

static void
no_warnings(const StackService *s)
{
	for (size_t i = 0; i < s->warning_count; i++)
		cr_expect_fail("%s: unexpected warning: %s", s->name, s->warnings[i]);
}

static void
check_docmost(StackService *s)
{
	cr_assert_eq(s->db_service, 1);
	cr_assert_str_eq(s->file.services[1].key, "docmost-db");
	cr_assert_str_eq(s->db_container, "docmost-db");
	cr_assert_str_eq(s->db_user, "docmost");
	cr_assert_str_eq(s->db_name, "docmost");
	cr_assert_eq(s->db_image_major, 15);
	cr_assert_str_eq(s->db_image_family, "pgfold-lab/postgres");
	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_URL);
	cr_assert_str_eq(s->file.services[c->app].key, "docmost");
	cr_assert_str_eq(env_name(s, c, c->var), "DATABASE_URL");
	cr_assert_not(c->indirect);
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.scheme, "postgresql");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.user, "${DOCMOST_POSTGRES_USER:-docmost}");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.password, "${DOCMOST_POSTGRES_PASSWORD}");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.host, "${DOCMOST_DB_CONTAINER_NAME:-docmost-db}");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.port, "5432");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.dbname, "docmost");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.query, "schema=public}");
	/* the stray brace ends the value: nothing after the query */
	cr_assert_eq(c->url.query.end, s->file.services[c->app].env[c->var].value.end);
	cr_assert_str_eq(c->values.user, "docmost");
	cr_assert_str_eq(c->values.password, "docmost-demo-password");
	cr_assert_str_eq(c->values.host, "docmost-db");
	cr_assert_eq(c->values.port, 5432);
	cr_assert_str_eq(c->values.dbname, "docmost");
	no_warnings(s);
}

static void
check_geo(StackService *s)
{
	cr_assert_eq(s->db_service, 1);
	cr_assert_str_eq(s->db_container, "geo-db");
	cr_assert_str_eq(s->db_image_family, "pgfold-lab/postgis");
	cr_assert_eq(s->db_image_major, 15);
	cr_assert_str_eq(s->db_user, "geo");
	cr_assert_str_eq(s->db_name, "geo");
	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_URL);
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.user, "geo");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.password, "${GEO_DB_PASSWORD}");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.host, "geo-db");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.port, "");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.dbname, "geo");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.query, "sslmode=disable");
	cr_assert_str_eq(c->values.password, "geo-demo-password");
	cr_assert_eq(c->values.port, -1);
	no_warnings(s);
}

static void
check_joplin(StackService *s)
{
	cr_assert_eq(s->db_service, 1);
	cr_assert_str_eq(s->file.services[1].key, "db");
	cr_assert_str_eq(s->db_container, "joplin-db");
	cr_assert_str_eq(s->db_user, "joplin");
	cr_assert_str_eq(s->db_name, "joplin");
	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_PARTS);
	cr_assert_str_eq(c->prefix, "POSTGRES_");
	cr_assert_str_eq(env_name(s, c, c->host), "POSTGRES_HOST");
	cr_assert_str_eq(env_name(s, c, c->port), "POSTGRES_PORT");
	cr_assert_str_eq(env_name(s, c, c->user), "POSTGRES_USER");
	cr_assert_str_eq(env_name(s, c, c->password), "POSTGRES_PASSWORD");
	cr_assert_str_eq(env_name(s, c, c->dbname), "POSTGRES_DATABASE");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.host, "joplin-db");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.port, "5432");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.user, "${JOPLIN_POSTGRES_USER:-joplin}");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.password, "${JOPLIN_POSTGRES_PASSWORD}");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.dbname, "${JOPLIN_POSTGRES_DATABASE:-joplin}");
	cr_assert_str_eq(c->values.password, "joplin-demo-password");
	cr_assert_str_eq(c->values.dbname, "joplin");
	no_warnings(s);
}

static void
check_netbox(StackService *s)
{
	cr_assert_eq(s->db_service, 2);
	cr_assert_str_eq(s->file.services[2].key, "netbox-postgresql");
	cr_assert_str_eq(s->db_container, "netbox_postgresql");
	cr_assert_str_eq(s->db_user, "netbox");
	cr_assert_str_eq(s->db_name, "netbox");
	cr_assert_eq(s->conn_count, 2);   /* netbox and netbox-worker */
	for (size_t i = 0; i < 2; i++)
	{
		const ConnRef *c = &s->conns[i];

		cr_assert_eq(c->kind, CONN_PARTS);
		cr_assert_eq(c->app, i);
		cr_assert_str_eq(c->prefix, "DB_");
		SPAN_EXPECT(s->file.bytes, s->file.len, c->url.host, "netbox_postgresql");
		SPAN_EXPECT(s->file.bytes, s->file.len, c->url.dbname, "netbox");
		SPAN_EXPECT(s->file.bytes, s->file.len, c->url.user, "netbox");
		SPAN_EXPECT(s->file.bytes, s->file.len, c->url.password, "${PG_PASS_NETBOX:?set PG_PASS_NETBOX in .env}");
		cr_assert_eq(c->port, -1);
		/* env values are not URL-encoded: kept as they are */
		cr_assert_str_eq(c->values.password, "nb-p@ss:w0rd/with%chars");
	}
	no_warnings(s);
}

static void
check_nocodb(StackService *s)
{
	char want[PATH_MAX];

	cr_assert_eq(s->db_service, 1);
	cr_assert_str_eq(s->file.services[1].key, "root_db");
	/* no container_name: compose's name under the stack root's name (as
	 * pgfold runs compose), the legacy spelling, then under the file's
	 * directory name */
	char name[PATH_MAX + 32];

	cr_assert(service_project_name(strrchr(tmp_root, '/') + 1, want, sizeof(want)));
	cr_assert_str_eq(s->projects[0], want);
	cr_assert_str_eq(s->projects[1], "services");
	cr_assert(str_format(name, sizeof(name), "%s-root_db-1", want));
	cr_assert_str_eq(s->db_container, name);
	cr_assert_eq(s->db_container_candidate_count, 4);
	cr_assert(str_format(name, sizeof(name), "%s_root_db_1", want));
	cr_assert_str_eq(s->db_container_candidates[1], name);
	cr_assert_str_eq(s->db_container_candidates[2], "services-root_db-1");
	cr_assert_str_eq(s->db_container_candidates[3], "services_root_db_1");
	cr_assert_str_eq(s->db_user, "nocodb");
	cr_assert_str_eq(s->db_name, "root_db");
	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_NOCODB);
	cr_assert_str_eq(env_name(s, c, c->var), "NC_DB");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.scheme, "pg");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.host, "root_db");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.port, "5432");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.user, "nocodb");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.password, "${NOCODB_DB_PASSWORD}");
	SPAN_EXPECT(s->file.bytes, s->file.len, c->url.dbname, "root_db");
	cr_assert_str_eq(c->values.password, "nocodb-demo-password");
	no_warnings(s);
}

Test(service_demo, stack_loads_and_every_connection_is_exact, .fini = remove_demo_root)
{
	Config cfg;
	Stack stack;

	make_demo_root();
	cr_assert(config_load(tmp_root, &cfg));
	cr_assert(stack_load(&cfg, &stack));

	static const char *const names[] = { "broken", "docmost", "geo", "joplin", "netbox", "nocodb" };

	cr_assert_eq(stack.count, 6, "%zu services", stack.count);
	for (size_t i = 0; i < 6; i++)
		cr_assert_str_eq(stack.services[i].name, names[i]);

	StackService *broken = stack_find(&stack, "broken");

	cr_assert_not(broken->loaded);
	cr_assert_not_null(broken->problem);
	cr_assert(strncmp(broken->problem, "the file cannot be parsed: ", 27) == 0, "%s", broken->problem);
	cr_assert_not_null(strstr(broken->problem, "broken.yml:3:"), "%s", broken->problem);
	cr_assert_eq(broken->db_service, -1);

	for (size_t i = 1; i < 6; i++)
	{
		StackService *s = &stack.services[i];

		cr_assert(s->loaded, "%s did not parse: %s", s->name, s->problem);
		cr_assert_null(s->problem, "%s: %s", s->name, s->problem);
		cr_assert_null(s->meta_database);
	}
	check_docmost(stack_find(&stack, "docmost"));
	check_geo(stack_find(&stack, "geo.yml"));
	check_joplin(stack_find(&stack, "joplin"));
	check_netbox(stack_find(&stack, "netbox"));
	check_nocodb(stack_find(&stack, "nocodb"));
	cr_assert_null(stack_find(&stack, "nope"));
	cr_assert_null(stack_find(&stack, ".hidden"));

	stack_free(&stack);
	cr_assert_eq(stack.count, 0);
	config_free(&cfg);
}

Test(service_demo, missing_services_dir_fails, .fini = remove_demo_root)
{
	Config cfg;
	Stack stack;
	char tmpl[] = "/tmp/pgfold-svc-empty-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert(str_copy(tmp_root, sizeof(tmp_root), tmpl));
	cr_assert(config_load(tmp_root, &cfg));
	cr_assert_not(stack_load(&cfg, &stack));
	config_free(&cfg);
}

/* compose itself (1.29, or v2: PGFOLD_TEST_COMPOSE) accepts every demo
 * file, run as pgfold runs it (--project-directory <root>, the demo .env at
 * the root). Needs only the compose binary, not the engine. */
Test(service_demo, docker_compose_config_accepts_demo_files, .fini = remove_demo_root)
{
	static const char *const files[] = { "docmost", "geo", "joplin", "netbox", "nocodb" };

	if (getenv("PGFOLD_TEST_UNIT_ONLY") && strcmp(getenv("PGFOLD_TEST_UNIT_ONLY"), "1") == 0)
		cr_skip_test("PGFOLD_TEST_UNIT_ONLY=1");
	lab_compose_require();
	make_demo_root();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		cr_expect_eq(lab_sh("cd %s && %s --project-directory . -f services/%s.yml "
							"config -q", tmp_root, lab_compose(), files[i]), 0,
					 "%s config rejects services/%s.yml", lab_compose(), files[i]);
}
