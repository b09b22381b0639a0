/*
 * test_analyze.c — classification on hand-built compose models: which
 * service is the db, its container names, and each app's connection with
 * exact spans into the file bytes.
 */
#include "fixture.h"

static const char docmost_yml[] =
	"services:\n"
	"  docmost:\n"
	"    image: pgfold-lab/postgres:15\n"
	"    environment:\n"
	"      - APP_URL=http://docmost.localhost\n"
	"      - DATABASE_URL=postgresql://${DOCMOST_POSTGRES_USER:-docmost}:${DOCMOST_POSTGRES_PASSWORD}"
	"@${DOCMOST_DB_CONTAINER_NAME:-docmost-db}:5432/docmost?schema=public}\n"
	"      - REDIS_URL=redis://docmost-redis:6379\n"
	"  docmost-db:\n"
	"    image: pgfold-lab/postgres:15\n"
	"    container_name: ${DOCMOST_DB_CONTAINER_NAME:-docmost-db}\n"
	"    environment:\n"
	"      - POSTGRES_DB=docmost\n"
	"      - POSTGRES_USER=${DOCMOST_POSTGRES_USER:-docmost}\n"
	"      - POSTGRES_PASSWORD=${DOCMOST_POSTGRES_PASSWORD}\n"
	"  docmost-redis:\n"
	"    image: pgfold-lab/postgres:15\n";

static void
docmost_fixture(Fixture *fx, const char *url_resolved)
{
	fx_init(fx, docmost_yml);

	ComposeService *app = fx_service(fx, "docmost", "pgfold-lab/postgres:15", NULL);

	fx_env(fx, app, "APP_URL", "http://docmost.localhost");
	fx_env(fx, app, "DATABASE_URL", url_resolved);
	fx_env(fx, app, "REDIS_URL", "redis://docmost-redis:6379");

	ComposeService *db = fx_service(fx, "docmost-db", "pgfold-lab/postgres:15", "docmost-db");

	db->container_name_raw = (char *) "${DOCMOST_DB_CONTAINER_NAME:-docmost-db}";
	fx_env(fx, db, "POSTGRES_DB", "docmost");
	fx_env(fx, db, "POSTGRES_USER", "docmost");
	fx_env(fx, db, "POSTGRES_PASSWORD", "s3cret");
	fx_service(fx, "docmost-redis", "pgfold-lab/postgres:15", NULL);
}

Test(service_analyze, docmost_url_with_interpolation)
{
	Fixture fx;

	docmost_fixture(&fx, "postgresql://docmost:s3cret@docmost-db:5432/docmost?schema=public}");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));

	StackService *s = &fx.svc;
	const char *b = s->file.bytes;

	cr_assert_null(s->problem, "%s", s->problem);
	/* three services run the postgres image; the server is the one with
	 * POSTGRES_* and no client settings */
	cr_assert_eq(s->db_service, 1);
	cr_assert_str_eq(s->db_container, "docmost-db");
	cr_assert_eq(s->db_container_candidate_count, 1);
	cr_assert_str_eq(s->db_image, "pgfold-lab/postgres:15");
	cr_assert_str_eq(s->db_image_family, "pgfold-lab/postgres");
	cr_assert_eq(s->db_image_major, 15);
	cr_assert_str_eq(s->db_user, "docmost");
	cr_assert_str_eq(s->db_name, "docmost");
	cr_assert_eq(s->db_env_db, 0);
	cr_assert_eq(s->db_env_user, 1);
	cr_assert_eq(s->db_env_password, 2);

	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_URL);
	cr_assert_eq(c->app, 0);
	cr_assert_eq(c->var, 1);
	cr_assert_not(c->indirect);
	cr_assert_not(c->shared);
	SPAN_EXPECT(b, s->file.len, c->url.scheme, "postgresql");
	SPAN_EXPECT(b, s->file.len, c->url.user, "${DOCMOST_POSTGRES_USER:-docmost}");
	SPAN_EXPECT(b, s->file.len, c->url.password, "${DOCMOST_POSTGRES_PASSWORD}");
	SPAN_EXPECT(b, s->file.len, c->url.host, "${DOCMOST_DB_CONTAINER_NAME:-docmost-db}");
	SPAN_EXPECT(b, s->file.len, c->url.port, "5432");
	SPAN_EXPECT(b, s->file.len, c->url.dbname, "docmost");
	SPAN_EXPECT(b, s->file.len, c->url.query, "schema=public}");
	cr_assert_str_eq(c->values.user, "docmost");
	cr_assert_str_eq(c->values.password, "s3cret");
	cr_assert_str_eq(c->values.host, "docmost-db");
	cr_assert_eq(c->values.port, 5432);
	cr_assert_str_eq(c->values.dbname, "docmost");
	cr_assert_eq(s->warning_count, 0, "%s", s->warning_count ? s->warnings[0] : "");

	/* projects: the stack root (--project-directory), then the file's directory */
	cr_assert_eq(s->project_count, 2);
	cr_assert_str_eq(s->projects[0], "stack");
	cr_assert_str_eq(s->projects[1], "services");
	fx_free(&fx);
}

Test(service_analyze, unresolved_url_falls_back_to_pieces)
{
	Fixture fx;

	/* the whole URL failed to interpolate (say a ${X:?} in the password):
	 * the host still resolves on its own and the app still counts */
	docmost_fixture(&fx, NULL);
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_null(fx.svc.problem, "%s", fx.svc.problem);
	cr_assert_eq(fx.svc.conn_count, 1);

	const ConnRef *c = &fx.svc.conns[0];

	cr_assert_str_eq(c->values.host, "docmost-db");
	cr_assert_str_eq(c->values.user, "docmost");
	cr_assert_eq(c->values.port, 5432);
	/* unset variable: interpolates to empty, i.e. the app has no password */
	cr_assert(c->values.password == NULL || c->values.password[0] == '\0');
	cr_assert(fx_warned(&fx.svc, "password"));
	fx_free(&fx);
}

Test(service_analyze, password_mismatch_is_a_warning_without_the_secret)
{
	Fixture fx;

	docmost_fixture(&fx, "postgresql://docmost:other-secret@docmost-db:5432/docmost");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_null(fx.svc.problem);
	cr_assert(fx_warned(&fx.svc, "differs from POSTGRES_PASSWORD"));
	for (size_t i = 0; i < fx.svc.warning_count; i++)
	{
		cr_assert_null(strstr(fx.svc.warnings[i], "other-secret"));
		cr_assert_null(strstr(fx.svc.warnings[i], "s3cret"));
	}
	fx_free(&fx);
}

static const char joplin_yml[] =
	"services:\n"
	"  joplin:\n"
	"    image: joplin/server:latest\n"
	"    environment:\n"
	"      APP_PORT: 22300\n"
	"      POSTGRES_HOST: joplin-db\n"
	"      POSTGRES_PORT: 5432\n"
	"      POSTGRES_USER: ${JOPLIN_USER:-joplin}\n"
	"      POSTGRES_PASSWORD: \"${JOPLIN_PASSWORD}\"\n"
	"      POSTGRES_DATABASE: joplin\n"
	"  db:\n"
	"    image: postgres:16\n"
	"    container_name: joplin-db\n"
	"    environment:\n"
	"      POSTGRES_USER: ${JOPLIN_USER:-joplin}\n"
	"      POSTGRES_PASSWORD: \"${JOPLIN_PASSWORD}\"\n";

static void
joplin_fixture(Fixture *fx, const char *host)
{
	fx_init(fx, joplin_yml);

	ComposeService *app = fx_service(fx, "joplin", "joplin/server:latest", "joplin");

	fx_env(fx, app, "APP_PORT", "22300");
	fx_env(fx, app, "POSTGRES_HOST", host);
	fx_env(fx, app, "POSTGRES_PORT", "5432");
	fx_env(fx, app, "POSTGRES_USER", "joplin");
	fx_env(fx, app, "POSTGRES_PASSWORD", "pw");
	fx_env(fx, app, "POSTGRES_DATABASE", "joplin");

	ComposeService *db = fx_service(fx, "db", "postgres:16", "joplin-db");

	fx_env(fx, db, "POSTGRES_USER", "joplin");
	fx_env(fx, db, "POSTGRES_PASSWORD", "pw");
}

Test(service_analyze, joplin_parts_key_differs_from_container)
{
	Fixture fx;

	joplin_fixture(&fx, "joplin-db");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));

	StackService *s = &fx.svc;
	const char *b = s->file.bytes;

	cr_assert_null(s->problem, "%s", s->problem);
	cr_assert_eq(s->db_service, 1);
	cr_assert_str_eq(s->db_container, "joplin-db");
	cr_assert_eq(s->db_image_major, 16);
	cr_assert_str_eq(s->db_user, "joplin");
	cr_assert_str_eq(s->db_name, "joplin");        /* POSTGRES_DB defaults to the user */
	cr_assert_eq(s->db_env_db, -1);

	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_PARTS);
	cr_assert_str_eq(c->prefix, "POSTGRES_");
	cr_assert_eq(c->var, -1);
	cr_assert_eq(c->host, 1);
	cr_assert_eq(c->port, 2);
	cr_assert_eq(c->user, 3);
	cr_assert_eq(c->password, 4);
	cr_assert_eq(c->dbname, 5);
	SPAN_EXPECT(b, s->file.len, c->url.host, "joplin-db");
	SPAN_EXPECT(b, s->file.len, c->url.port, "5432");
	SPAN_EXPECT(b, s->file.len, c->url.user, "${JOPLIN_USER:-joplin}");
	SPAN_EXPECT(b, s->file.len, c->url.password, "${JOPLIN_PASSWORD}");   /* inside the quotes */
	SPAN_EXPECT(b, s->file.len, c->url.dbname, "joplin");
	cr_assert_str_eq(c->values.host, "joplin-db");
	cr_assert_str_eq(c->values.dbname, "joplin");
	cr_assert_eq(c->values.port, 5432);
	cr_assert_eq(s->warning_count, 0, "%s", s->warning_count ? s->warnings[0] : "");
	fx_free(&fx);
}

Test(service_analyze, host_by_key_and_localhost)
{
	Fixture fx;

	joplin_fixture(&fx, "DB");   /* the service key, any case */
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_eq(fx.svc.conn_count, 1);
	fx_free(&fx);

	joplin_fixture(&fx, "localhost");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_eq(fx.svc.conn_count, 1);
	fx_free(&fx);
}

Test(service_analyze, host_elsewhere_is_not_connected)
{
	Fixture fx;

	joplin_fixture(&fx, "some-other-db");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_eq(fx.svc.conn_count, 0);
	cr_assert_eq(fx.svc.db_service, 1);
	cr_assert_not_null(fx.svc.problem);
	cr_assert_not_null(strstr(fx.svc.problem, "no app service connects"));
	fx_free(&fx);
}

Test(service_analyze, host_only_in_env_file_is_a_problem)
{
	Fixture fx;
	static const char *const kv[] = { "DB_HOST", "joplin-db", "DB_PASSWORD", "x", NULL };

	joplin_fixture(&fx, "joplin-db");
	fx_env_file(&fx, &fx.services[0], "netbox.env", kv);
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_not_null(fx.svc.problem);
	cr_assert_not_null(strstr(fx.svc.problem, "DB_HOST is set in env_file netbox.env"),
					   "%s", fx.svc.problem);
	fx_free(&fx);
}

static const char two_yml[] =
	"services:\n"
	"  app:\n"
	"    image: app\n"
	"  pg-main:\n"
	"    image: postgres:16\n"
	"    environment:\n"
	"      POSTGRES_PASSWORD: a\n"
	"  pg-cache:\n"
	"    image: postgis/postgis:16-3.4\n"
	"    environment:\n"
	"      POSTGRES_PASSWORD: b\n";

Test(service_analyze, two_postgres_services_is_a_problem)
{
	Fixture fx;

	fx_init(&fx, two_yml);
	fx_service(&fx, "app", "app", NULL);
	fx_env(&fx, fx_service(&fx, "pg-main", "postgres:16", NULL), "POSTGRES_PASSWORD", "a");
	fx_env(&fx, fx_service(&fx, "pg-cache", "postgis/postgis:16-3.4", NULL), "POSTGRES_PASSWORD", "b");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_eq(fx.svc.db_service, -1);
	cr_assert_not_null(fx.svc.problem);
	cr_assert(strncmp(fx.svc.problem, "two postgres services: pg-main, pg-cache", 40) == 0,
			  "%s", fx.svc.problem);
	fx_free(&fx);
}

static const char nocodb_yml[] =
	"services:\n"
	"  nocodb:\n"
	"    image: nocodb/nocodb\n"
	"    environment:\n"
	"      NC_DB: \"pg://root_db:5432?u=${NC_USER:-nocodb}&p=${NC_PASS}&d=root_db\"\n"
	"  root_db:\n"
	"    image: mycorp/custom-pg:1\n"
	"    environment:\n"
	"      POSTGRES_USER: nocodb\n"
	"      POSTGRES_DB: root_db\n"
	"      POSTGRES_PASSWORD: pw\n";

Test(service_analyze, nocodb_and_default_container_names_and_env_detection)
{
	Fixture fx;

	fx_init(&fx, nocodb_yml);
	fx_env(&fx, fx_service(&fx, "nocodb", "nocodb/nocodb", NULL), "NC_DB",
		   "pg://root_db:5432?u=nocodb&p=pw&d=root_db");

	ComposeService *db = fx_service(&fx, "root_db", "mycorp/custom-pg:1", NULL);

	fx_env(&fx, db, "POSTGRES_USER", "nocodb");
	fx_env(&fx, db, "POSTGRES_DB", "root_db");
	fx_env(&fx, db, "POSTGRES_PASSWORD", "pw");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));

	StackService *s = &fx.svc;
	const char *b = s->file.bytes;

	cr_assert_null(s->problem, "%s", s->problem);
	cr_assert_eq(s->db_service, 1);
	/* an unknown image recognised by its POSTGRES_* settings: a warning */
	cr_assert(fx_warned(s, "not one pgfold knows"));
	cr_assert_eq(s->db_image_major, -1);
	cr_assert_null(s->db_image_family);
	/* compose's names, both spellings, for each project candidate */
	cr_assert_str_eq(s->db_container, "stack-root_db-1");
	cr_assert_eq(s->db_container_candidate_count, 4);
	cr_assert_str_eq(s->db_container_candidates[1], "stack_root_db_1");
	cr_assert_str_eq(s->db_container_candidates[2], "services-root_db-1");
	cr_assert_str_eq(s->db_container_candidates[3], "services_root_db_1");
	cr_assert_str_eq(s->db_user, "nocodb");
	cr_assert_str_eq(s->db_name, "root_db");

	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_NOCODB);
	cr_assert_eq(c->var, 0);
	SPAN_EXPECT(b, s->file.len, c->url.host, "root_db");
	SPAN_EXPECT(b, s->file.len, c->url.port, "5432");
	SPAN_EXPECT(b, s->file.len, c->url.user, "${NC_USER:-nocodb}");
	SPAN_EXPECT(b, s->file.len, c->url.password, "${NC_PASS}");
	SPAN_EXPECT(b, s->file.len, c->url.dbname, "root_db");
	cr_assert_str_eq(c->values.user, "nocodb");
	cr_assert_str_eq(c->values.password, "pw");
	cr_assert_str_eq(c->values.dbname, "root_db");
	fx_free(&fx);
}

static const char migrated_yml[] =
	"# description: an app\n"
	"# database: postgres\n"
	"services:\n"
	"  app:\n"
	"    image: app\n"
	"    environment:\n"
	"      DATABASE_URL: ${APP_DATABASE_URL}\n"
	"      OTHER_URL: postgres://u:p@elsewhere/x\n";

Test(service_analyze, migrated_file_points_at_shared_and_indirect_url)
{
	Fixture fx;

	fx_init(&fx, migrated_yml);
	fx_meta(&fx, "description", "an app");
	fx_meta(&fx, "database", "postgres");

	ComposeService *app = fx_service(&fx, "app", "app", NULL);

	fx_env(&fx, app, "DATABASE_URL", "postgresql://app:p%40ss@postgres:5432/app");
	fx_env(&fx, app, "OTHER_URL", "postgres://u:p@elsewhere/x");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));

	StackService *s = &fx.svc;

	cr_assert_null(s->problem, "%s", s->problem);
	cr_assert_str_eq(s->meta_database, "postgres");
	cr_assert_null(s->meta_database_name);
	cr_assert_eq(s->db_service, -1);
	cr_assert_eq(s->conn_count, 1);

	const ConnRef *c = &s->conns[0];

	cr_assert(c->shared);
	cr_assert(c->indirect);
	cr_assert_eq(c->var, 0);
	cr_assert_eq(c->url.host.end, 0);
	cr_assert_str_eq(c->values.password, "p@ss");   /* percent-decoded */
	cr_assert_str_eq(c->values.host, "postgres");
	fx_free(&fx);
}

static const char v6_yml[] =
	"services:\n"
	"  app:\n"
	"    image: app\n"
	"    network_mode: service:db\n"
	"    environment:\n"
	"      - MYAPP_DATABASE_URL=postgresql://app:a%2Fb@[::1]/appdb\n"
	"  db:\n"
	"    image: docker.io/library/postgres:17.2-alpine\n"
	"    environment:\n"
	"      - POSTGRES_USER=app\n"
	"      - POSTGRES_PASSWORD=a/b\n";

Test(service_analyze, ipv6_localhost_and_prefixed_url_name)
{
	Fixture fx;

	fx_init(&fx, v6_yml);
	fx_env(&fx, fx_service(&fx, "app", "app", NULL), "MYAPP_DATABASE_URL",
		   "postgresql://app:a%2Fb@[::1]/appdb");

	ComposeService *db = fx_service(&fx, "db", "docker.io/library/postgres:17.2-alpine", NULL);

	fx_env(&fx, db, "POSTGRES_USER", "app");
	fx_env(&fx, db, "POSTGRES_PASSWORD", "a/b");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_null(fx.svc.problem, "%s", fx.svc.problem);
	cr_assert_eq(fx.svc.db_image_major, 17);
	cr_assert_eq(fx.svc.conn_count, 1);

	const ConnRef *c = &fx.svc.conns[0];

	SPAN_EXPECT(fx.svc.file.bytes, fx.svc.file.len, c->url.host, "[::1]");
	cr_assert_str_eq(c->values.host, "::1");
	cr_assert_str_eq(c->values.password, "a/b");
	cr_assert_eq(c->values.port, -1);
	/* POSTGRES_DB unset: defaults to the user; the app asks for appdb */
	cr_assert_str_eq(fx.svc.db_name, "app");
	cr_assert(fx_warned(&fx.svc, "database 'appdb'"));
	cr_assert_not(fx_warned(&fx.svc, "password"));
	fx_free(&fx);
}

Test(service_analyze, not_loaded_and_no_postgres)
{
	Fixture fx;

	fx_init(&fx, two_yml);
	fx.svc.loaded = false;
	cr_assert_not(service_analyze(&fx.cfg, &fx.svc));
	fx_free(&fx);

	fx_init(&fx, two_yml);
	fx_service(&fx, "app", "app", NULL);
	cr_assert(service_analyze(NULL, &fx.svc));
	cr_assert_eq(fx.svc.db_service, -1);
	cr_assert_null(fx.svc.problem);
	cr_assert_eq(fx.svc.conn_count, 0);
	cr_assert_eq(fx.svc.project_count, 1);   /* no cfg: no root candidate */
	fx_free(&fx);
}

Test(service_analyze, project_names)
{
	char out[64];

	cr_assert(service_project_name("My Stack.v2", out, sizeof(out)));
	cr_assert_str_eq(out, "mystackv2");
	cr_assert(service_project_name("_-services", out, sizeof(out)));
	cr_assert_str_eq(out, "services");
	cr_assert_not(service_project_name("..", out, sizeof(out)));
	cr_assert_not(service_project_name("abcdef", out, 4));
}

Test(service_analyze, yaml_merge_keys_are_a_problem)
{
	Fixture fx;

	joplin_fixture(&fx, "joplin-db");
	fx.services[0].uses_merge = true;
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_not_null(fx.svc.problem);
	cr_assert_not_null(strstr(fx.svc.problem, "'joplin' uses YAML merge keys"), "%s", fx.svc.problem);
	/* the rest of the analysis is still there for status */
	cr_assert_eq(fx.svc.db_service, 1);
	cr_assert_eq(fx.svc.conn_count, 1);
	fx_free(&fx);
}

Test(service_analyze, unresolved_password_warning_says_why)
{
	Fixture fx;

	joplin_fixture(&fx, "joplin-db");
	free(fx.services[0].env[4].resolved);
	fx.services[0].env[4].resolved = NULL;
	fx.services[0].env[4].error = (char *) "JOPLIN_PASSWORD: set it in .env";
	cr_assert(service_analyze(&fx.cfg, &fx.svc));
	cr_assert_null(fx.svc.problem, "%s", fx.svc.problem);
	cr_assert(fx_warned(&fx.svc, "POSTGRES_PASSWORD has no password that resolves "
						"(JOPLIN_PASSWORD: set it in .env)"));
	fx_free(&fx);
}

static const char apps_yml[] =
	"services:\n"
	"  gitea:\n"
	"    image: gitea/gitea\n"
	"    environment:\n"
	"      - GITEA__database__DB_TYPE=postgres\n"
	"      - GITEA__database__HOST=${GITEA_DB_HOST:-db}:5432\n"
	"      - GITEA__database__NAME=gitea\n"
	"      - GITEA__database__USER=gitea\n"
	"      - GITEA__database__PASSWD=pw\n"
	"  keycloak:\n"
	"    image: quay.io/keycloak/keycloak\n"
	"    environment:\n"
	"      KC_DB_URL: jdbc:postgresql://db:5432/keycloak\n"
	"  worker:\n"
	"    image: someone/worker\n"
	"    environment:\n"
	"      CELERY_RESULT_BACKEND: db+postgresql+psycopg2://u:pw@db/results\n"
	"      SQLALCHEMY_URL: postgresql+asyncpg://gitea:pw@db/gitea\n"
	"  immich:\n"
	"    image: ghcr.io/immich-app/immich-server\n"
	"    environment:\n"
	"      DB_HOSTNAME: db\n"
	"      DB_USERNAME: gitea\n"
	"      DB_PASSWORD: pw\n"
	"      DB_DATABASE_NAME: gitea\n"
	"      REDIS_HOSTNAME: redis\n"
	"  paperless:\n"
	"    image: paperless-ngx\n"
	"    environment:\n"
	"      PAPERLESS_DBHOST: db\n"
	"      PAPERLESS_DBPASS: pw\n"
	"  db:\n"
	"    image: postgres:16\n"
	"    environment:\n"
	"      POSTGRES_USER: gitea\n"
	"      POSTGRES_PASSWORD: pw\n";

Test(service_analyze, real_world_shapes)
{
	Fixture fx;

	fx_init(&fx, apps_yml);

	ComposeService *g = fx_service(&fx, "gitea", "gitea/gitea", NULL);

	fx_env(&fx, g, "GITEA__database__DB_TYPE", "postgres");
	fx_env(&fx, g, "GITEA__database__HOST", "db:5432");
	fx_env(&fx, g, "GITEA__database__NAME", "gitea");
	fx_env(&fx, g, "GITEA__database__USER", "gitea");
	fx_env(&fx, g, "GITEA__database__PASSWD", "pw");
	fx_env(&fx, fx_service(&fx, "keycloak", "quay.io/keycloak/keycloak", NULL), "KC_DB_URL",
		   "jdbc:postgresql://db:5432/keycloak");

	ComposeService *w = fx_service(&fx, "worker", "someone/worker", NULL);

	fx_env(&fx, w, "CELERY_RESULT_BACKEND", "db+postgresql+psycopg2://u:pw@db/results");
	fx_env(&fx, w, "SQLALCHEMY_URL", "postgresql+asyncpg://gitea:pw@db/gitea");

	ComposeService *im = fx_service(&fx, "immich", "ghcr.io/immich-app/immich-server", NULL);

	fx_env(&fx, im, "DB_HOSTNAME", "db");
	fx_env(&fx, im, "DB_USERNAME", "gitea");
	fx_env(&fx, im, "DB_PASSWORD", "pw");
	fx_env(&fx, im, "DB_DATABASE_NAME", "gitea");
	fx_env(&fx, im, "REDIS_HOSTNAME", "redis");

	ComposeService *pl = fx_service(&fx, "paperless", "paperless-ngx", NULL);

	fx_env(&fx, pl, "PAPERLESS_DBHOST", "db");
	fx_env(&fx, pl, "PAPERLESS_DBPASS", "pw");

	ComposeService *db = fx_service(&fx, "db", "postgres:16", NULL);

	fx_env(&fx, db, "POSTGRES_USER", "gitea");
	fx_env(&fx, db, "POSTGRES_PASSWORD", "pw");
	cr_assert(service_analyze(&fx.cfg, &fx.svc));

	StackService *s = &fx.svc;
	const char *b = s->file.bytes;

	cr_assert_null(s->problem, "%s", s->problem);
	cr_assert_eq(s->db_service, 5);
	/* gitea (host:port), keycloak (jdbc), worker (celery's db+ and the
	 * SQLAlchemy driver form), immich, paperless */
	cr_assert_eq(s->conn_count, 6, "%zu", s->conn_count);

	const ConnRef *c = &s->conns[0];

	cr_assert_eq(c->kind, CONN_PARTS);
	cr_assert_str_eq(c->prefix, "GITEA__database__");
	cr_assert(c->host_with_port);
	SPAN_EXPECT(b, s->file.len, c->url.host, "${GITEA_DB_HOST:-db}");
	SPAN_EXPECT(b, s->file.len, c->url.port, "5432");
	SPAN_EXPECT(b, s->file.len, c->url.password, "pw");
	cr_assert_str_eq(c->values.host, "db");
	cr_assert_eq(c->values.port, 5432);
	cr_assert_str_eq(c->values.dbname, "gitea");

	c = &s->conns[1];
	cr_assert_eq(c->kind, CONN_URL);
	SPAN_EXPECT(b, s->file.len, c->url.scheme, "postgresql");
	SPAN_EXPECT(b, s->file.len, c->url.host, "db");
	SPAN_EXPECT(b, s->file.len, c->url.dbname, "keycloak");

	c = &s->conns[2];
	cr_assert_eq(c->app, 2);
	cr_assert_str_eq(s->file.services[2].env[c->var].name, "CELERY_RESULT_BACKEND");
	SPAN_EXPECT(b, s->file.len, c->url.scheme, "postgresql+psycopg2");
	SPAN_EXPECT(b, s->file.len, c->url.dbname, "results");

	c = &s->conns[3];
	cr_assert_eq(c->app, 2);
	cr_assert_str_eq(s->file.services[2].env[c->var].name, "SQLALCHEMY_URL");
	SPAN_EXPECT(b, s->file.len, c->url.scheme, "postgresql+asyncpg");

	c = &s->conns[4];
	cr_assert_str_eq(c->prefix, "DB_");
	cr_assert_not(c->host_with_port);
	cr_assert_str_eq(c->values.user, "gitea");
	cr_assert_str_eq(c->values.dbname, "gitea");
	SPAN_EXPECT(b, s->file.len, c->url.dbname, "gitea");

	c = &s->conns[5];
	cr_assert_str_eq(c->prefix, "PAPERLESS_DB");
	cr_assert_eq(c->password, 1);
	cr_assert_eq(c->user, -1);
	fx_free(&fx);
}
