/*
 * test_conventions.c — the table of app conventions (src/service/
 * conventions.c), one case per app, on files shaped like the app's own
 * compose examples: which rule matched and says so, which variable holds
 * each piece, and what the rewrite adds when the shared instance listens
 * on 5433 (a setting the file leaves to the app's default) and leaves out
 * on 5432.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite/rwfx.h"

typedef struct ConvCase
{
	const char *name;                  /* file stem = role = database */
	const char *yaml;
	const char *app;                   /* the app service key */
	const char *rule;
	const char *vars[PIECE_COUNT];     /* variable holding each piece; NULL = unset */
	const char *values[PIECE_COUNT];   /* what the app uses (port as text); NULL = unknown */
	const char *on_5433[3];            /* exact lines the new file has on port 5433 */
	const char *not_on_5432;           /* a variable name the new file lacks on 5432 */
} ConvCase;

static const ConnRef *
app_conn(const StackService *svc, const char *app)
{
	for (size_t i = 0; i < svc->conn_count; i++)
		if (strcmp(svc->file.services[svc->conns[i].app].key, app) == 0)
			return &svc->conns[i];
	return NULL;
}

static const char *
piece_var(const StackService *svc, const ConnRef *c, ConnPiece piece)
{
	const int idx[PIECE_COUNT] = { c->host, c->port, c->user, c->password, c->dbname };
	const ComposeService *s = &svc->file.services[c->app];

	if (c->kind != CONN_PARTS && !(c->split_credentials &&
								   (piece == PIECE_USER || piece == PIECE_PASSWORD)))
		return s->env[c->var].name;
	return idx[piece] >= 0 ? s->env[idx[piece]].name : NULL;
}

static char *
rewrite_on(RwFx *fx, int port)
{
	RwTarget t = rwfx_target(fx);
	RwServiceResult res;
	char *out;

	t.port = port;
	cr_assert(rewrite_service_file(&fx->svc, &t, &res), "%s: rewrite on port %d refused",
			  fx->name, port);
	out = xstrdup(sb_str(&res.bytes));
	rewrite_service_result_free(&res);
	return out;
}

static void
run_case(const ConvCase *k)
{
	RwFx fx;

	cr_assert(rwfx_setup_bytes(&fx, k->name, k->yaml), "%s does not parse", k->name);
	cr_assert_null(fx.svc.problem, "%s: %s", k->name, fx.svc.problem);

	const ConnRef *c = app_conn(&fx.svc, k->app);

	cr_assert_not_null(c, "%s: no connection found for %s", k->name, k->app);
	cr_assert_str_eq(c->rule, k->rule, "%s: rule \"%s\"", k->name, c->rule);
	for (int p = 0; p < PIECE_COUNT; p++)
	{
		const char *got = piece_var(&fx.svc, c, (ConnPiece) p);

		if (k->vars[p] == NULL)
			cr_expect_null(got, "%s: piece %d is in %s, expected unset", k->name, p, got);
		else
			cr_expect(got && strcmp(got, k->vars[p]) == 0, "%s: piece %d is in %s, expected %s",
					  k->name, p, got ? got : "(unset)", k->vars[p]);
	}

	const char *vals[PIECE_COUNT] = {
		c->values.host, NULL, c->values.user, c->values.password, c->values.dbname
	};
	char port[16];

	str_format(port, sizeof(port), "%d", c->values.port);
	vals[PIECE_PORT] = c->values.port > 0 ? port : NULL;
	for (int p = 0; p < PIECE_COUNT; p++)
	{
		if (k->values[p] == NULL)
			cr_expect_null(vals[p], "%s: value %d is \"%s\", expected unknown", k->name, p, vals[p]);
		else
			cr_expect(vals[p] && strcmp(vals[p], k->values[p]) == 0,
					  "%s: value %d is \"%s\", expected \"%s\"", k->name, p,
					  vals[p] ? vals[p] : "(null)", k->values[p]);
	}

	char *on5433 = rewrite_on(&fx, 5433);

	for (size_t i = 0; i < 3 && k->on_5433[i]; i++)
		cr_expect_not_null(strstr(on5433, k->on_5433[i]), "%s: no \"%s\" on 5433 in:\n%s",
						   k->name, k->on_5433[i], on5433);
	free(on5433);
	if (k->not_on_5432)
	{
		char *on5432 = rewrite_on(&fx, 5432);

		cr_expect_null(strstr(on5432, k->not_on_5432), "%s: %s written on 5432:\n%s",
					   k->name, k->not_on_5432, on5432);
		free(on5432);
	}
	rwfx_teardown(&fx);
}

#define DB_BLOCK(key, image) \
	"  " key ":\n" \
	"    image: " image "\n" \
	"    environment:\n" \
	"      POSTGRES_USER: app\n" \
	"      POSTGRES_PASSWORD: s3cret\n" \
	"      POSTGRES_DB: app\n"

Test(service_conventions, zabbix_prefixes_differ_within_one_connection)
{
	static const ConvCase k = {
		"zabbix",
		"services:\n"
		"  zabbix-server:\n"
		"    image: zabbix/zabbix-server-pgsql:alpine-7.0-latest\n"
		"    environment:\n"
		"      DB_SERVER_HOST: postgres-server\n"
		"      POSTGRES_USER: zabbix\n"
		"      POSTGRES_PASSWORD: s3cret\n"
		"      POSTGRES_DB: zabbix\n"
		DB_BLOCK("postgres-server", "postgres:16"),
		"zabbix-server", "zabbix convention (image zabbix/zabbix-server-pgsql)",
		{ "DB_SERVER_HOST", NULL, "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB" },
		{ "postgres-server", "5432", "zabbix", "s3cret", "zabbix" },
		{ "      DB_SERVER_HOST: postgres\n      POSTGRES_USER: zabbix\n",
		  "      POSTGRES_DB: zabbix\n      DB_SERVER_PORT: \"5433\"\n", NULL },
		"DB_SERVER_PORT",
	};

	run_case(&k);
}

/* zabbix-docker's own compose file sets no DB_SERVER_HOST: the server
 * reaches "postgres-server", its default, and the user is its default */
Test(service_conventions, zabbix_default_host_and_user)
{
	static const ConvCase k = {
		"zabbix",
		"services:\n"
		"  zabbix-web:\n"
		"    image: zabbix/zabbix-web-nginx-pgsql:ubuntu-7.0-latest\n"
		"    environment:\n"
		"      POSTGRES_PASSWORD: s3cret\n"
		"      ZBX_SERVER_HOST: zabbix-server\n"
		DB_BLOCK("postgres-server", "postgres:16"),
		"zabbix-web", "zabbix convention (image zabbix/zabbix-web-nginx-pgsql)",
		{ NULL, NULL, NULL, "POSTGRES_PASSWORD", NULL },
		{ "postgres-server", "5432", "zabbix", "s3cret", "zabbix" },
		{ "      ZBX_SERVER_HOST: zabbix-server\n      DB_SERVER_HOST: \"postgres\"\n"
		  "      DB_SERVER_PORT: \"5433\"\n", NULL, NULL },
		"POSTGRES_USER: \"",
	};

	run_case(&k);
}

Test(service_conventions, authentik)
{
	static const ConvCase k = {
		"authentik",
		"services:\n"
		"  server:\n"
		"    image: ${AUTHENTIK_IMAGE:-ghcr.io/goauthentik/server}:${AUTHENTIK_TAG:-2025.2.1}\n"
		"    command: server\n"
		"    environment:\n"
		"      AUTHENTIK_POSTGRESQL__HOST: postgresql\n"
		"      AUTHENTIK_POSTGRESQL__USER: authentik\n"
		"      AUTHENTIK_POSTGRESQL__NAME: authentik\n"
		"      AUTHENTIK_POSTGRESQL__PASSWORD: s3cret\n"
		DB_BLOCK("postgresql", "docker.io/library/postgres:16-alpine"),
		"server", "authentik convention (image goauthentik/server)",
		{ "AUTHENTIK_POSTGRESQL__HOST", NULL, "AUTHENTIK_POSTGRESQL__USER",
		  "AUTHENTIK_POSTGRESQL__PASSWORD", "AUTHENTIK_POSTGRESQL__NAME" },
		{ "postgresql", "5432", "authentik", "s3cret", "authentik" },
		{ "      AUTHENTIK_POSTGRESQL__PORT: \"5433\"\n", NULL, NULL },
		"AUTHENTIK_POSTGRESQL__PORT",
	};

	run_case(&k);
}

/* immich's server defaults its host to "database", its db service key */
Test(service_conventions, immich_default_host)
{
	static const ConvCase k = {
		"immich",
		"services:\n"
		"  immich-server:\n"
		"    image: ghcr.io/immich-app/immich-server:${IMMICH_VERSION:-release}\n"
		"    environment:\n"
		"      DB_USERNAME: postgres\n"
		"      DB_PASSWORD: s3cret\n"
		"      DB_DATABASE_NAME: immich\n"
		DB_BLOCK("database", "ghcr.io/immich-app/postgres:14-vectorchord0.4.3"),
		"immich-server", "immich convention (image immich-app/immich-server)",
		{ NULL, NULL, "DB_USERNAME", "DB_PASSWORD", "DB_DATABASE_NAME" },
		{ "database", "5432", "postgres", "s3cret", "immich" },
		{ "      DB_USERNAME: immich\n", "      DB_HOSTNAME: \"postgres\"\n      DB_PORT: \"5433\"\n",
		  NULL },
		"DB_PORT",
	};

	run_case(&k);
}

/* paperless-ngx's compose sets the host only: user, password and name
 * default to "paperless"; only what differs is written */
Test(service_conventions, paperless_only_the_host)
{
	static const ConvCase k = {
		"paperless",
		"services:\n"
		"  webserver:\n"
		"    image: ghcr.io/paperless-ngx/paperless-ngx:latest\n"
		"    environment:\n"
		"      - PAPERLESS_REDIS=redis://broker:6379\n"
		"      - PAPERLESS_DBHOST=db\n"
		DB_BLOCK("db", "docker.io/library/postgres:17"),
		"webserver", "paperless-ngx convention (image paperless-ngx/paperless-ngx)",
		{ "PAPERLESS_DBHOST", NULL, NULL, NULL, NULL },
		{ "db", "5432", "paperless", "paperless", "paperless" },
		{ "      - PAPERLESS_DBHOST=postgres\n"
		  "      - \"PAPERLESS_DBPORT=5433\"\n"
		  "      - \"PAPERLESS_DBPASS=${PGFOLD_PAPERLESS_DB_PASSWORD:?missing in .env}\"\n",
		  NULL, NULL },
		"PAPERLESS_DBUSER",
	};

	run_case(&k);
}

Test(service_conventions, n8n)
{
	static const ConvCase k = {
		"n8n",
		"services:\n"
		"  n8n:\n"
		"    image: docker.n8n.io/n8nio/n8n\n"
		"    environment:\n"
		"      - DB_TYPE=postgresdb\n"
		"      - DB_POSTGRESDB_HOST=postgres\n"
		"      - DB_POSTGRESDB_DATABASE=n8n\n"
		"      - DB_POSTGRESDB_USER=n8n\n"
		"      - DB_POSTGRESDB_PASSWORD=s3cret\n"
		DB_BLOCK("postgres", "postgres:16"),
		"n8n", "n8n convention (image n8nio/n8n)",
		{ "DB_POSTGRESDB_HOST", NULL, "DB_POSTGRESDB_USER", "DB_POSTGRESDB_PASSWORD",
		  "DB_POSTGRESDB_DATABASE" },
		{ "postgres", "5432", "n8n", "s3cret", "n8n" },
		{ "      - \"DB_POSTGRESDB_PORT=5433\"\n", NULL, NULL },
		"DB_POSTGRESDB_PORT",
	};

	run_case(&k);
}

/* a JDBC URL holds no user: KC_DB_USERNAME / KC_DB_PASSWORD do */
Test(service_conventions, keycloak_jdbc_url)
{
	static const ConvCase k = {
		"keycloak",
		"services:\n"
		"  keycloak:\n"
		"    image: quay.io/keycloak/keycloak:26.0\n"
		"    environment:\n"
		"      KC_DB: postgres\n"
		"      KC_DB_URL: jdbc:postgresql://keycloak-db:5432/keycloak\n"
		"      KC_DB_USERNAME: keycloak\n"
		"      KC_DB_PASSWORD: s3cret\n"
		DB_BLOCK("keycloak-db", "postgres:16"),
		"keycloak", "keycloak convention (image keycloak/keycloak)",
		{ "KC_DB_URL", "KC_DB_URL", "KC_DB_USERNAME", "KC_DB_PASSWORD", "KC_DB_URL" },
		{ "keycloak-db", "5432", "keycloak", "s3cret", "keycloak" },
		{ "      KC_DB_URL: jdbc:postgresql://postgres:5433/keycloak\n"
		  "      KC_DB_USERNAME: keycloak\n      KC_DB_PASSWORD: " RWFX_PASSWORD "\n",
		  NULL, NULL },
		NULL,
	};

	run_case(&k);
}

Test(service_conventions, keycloak_url_parts)
{
	static const ConvCase k = {
		"keycloak",
		"services:\n"
		"  keycloak:\n"
		"    image: keycloak/keycloak:25.0\n"
		"    environment:\n"
		"      KC_DB: postgres\n"
		"      KC_DB_URL_HOST: kc-postgres\n"
		"      KC_DB_USERNAME: keycloak\n"
		"      KC_DB_PASSWORD: s3cret\n"
		DB_BLOCK("kc-postgres", "postgres:16"),
		"keycloak", "keycloak convention (image keycloak/keycloak)",
		{ "KC_DB_URL_HOST", NULL, "KC_DB_USERNAME", "KC_DB_PASSWORD", NULL },
		{ "kc-postgres", "5432", "keycloak", "s3cret", "keycloak" },
		{ "      KC_DB_URL_PORT: \"5433\"\n", NULL, NULL },
		"KC_DB_URL_DATABASE",
	};

	run_case(&k);
}

/* the port travels in the host variable */
Test(service_conventions, gitea_host_without_port)
{
	static const ConvCase k = {
		"gitea",
		"services:\n"
		"  server:\n"
		"    image: docker.gitea.com/gitea:1.23\n"
		"    environment:\n"
		"      - GITEA__database__DB_TYPE=postgres\n"
		"      - GITEA__database__HOST=db\n"
		"      - GITEA__database__NAME=gitea\n"
		"      - GITEA__database__USER=gitea\n"
		"      - GITEA__database__PASSWD=s3cret\n"
		DB_BLOCK("db", "postgres:14"),
		"server", "gitea convention (variable GITEA__database__HOST)",
		{ "GITEA__database__HOST", NULL, "GITEA__database__USER", "GITEA__database__PASSWD",
		  "GITEA__database__NAME" },
		{ "db", "5432", "gitea", "s3cret", "gitea" },
		{ "      - GITEA__database__HOST=postgres:5433\n", NULL, NULL },
		"postgres:5432",
	};

	run_case(&k);
}

Test(service_conventions, forgejo_host_with_port)
{
	static const ConvCase k = {
		"forgejo",
		"services:\n"
		"  server:\n"
		"    image: codeberg.org/forgejo/forgejo:11\n"
		"    environment:\n"
		"      - FORGEJO__database__DB_TYPE=postgres\n"
		"      - FORGEJO__database__HOST=db:5432\n"
		"      - FORGEJO__database__NAME=forgejo\n"
		"      - FORGEJO__database__USER=forgejo\n"
		"      - FORGEJO__database__PASSWD=s3cret\n"
		DB_BLOCK("db", "postgres:16"),
		"server", "forgejo convention (image forgejo/forgejo)",
		{ "FORGEJO__database__HOST", NULL, "FORGEJO__database__USER", "FORGEJO__database__PASSWD",
		  "FORGEJO__database__NAME" },
		{ "db", "5432", "forgejo", "s3cret", "forgejo" },
		{ "      - FORGEJO__database__HOST=postgres:5433\n", NULL, NULL },
		NULL,
	};

	run_case(&k);
}

Test(service_conventions, mattermost_datasource_url)
{
	static const ConvCase k = {
		"mattermost",
		"services:\n"
		"  mattermost:\n"
		"    image: mattermost/mattermost-team-edition:10.5\n"
		"    environment:\n"
		"      MM_SQLSETTINGS_DRIVERNAME: postgres\n"
		"      MM_SQLSETTINGS_DATASOURCE: postgres://mmuser:s3cret@mm-db:5432/mattermost?sslmode=disable&connect_timeout=10\n"
		DB_BLOCK("mm-db", "postgres:13-alpine"),
		"mattermost", "mattermost convention (image mattermost/mattermost-team-edition)",
		{ "MM_SQLSETTINGS_DATASOURCE", "MM_SQLSETTINGS_DATASOURCE", "MM_SQLSETTINGS_DATASOURCE",
		  "MM_SQLSETTINGS_DATASOURCE", "MM_SQLSETTINGS_DATASOURCE" },
		{ "mm-db", "5432", "mmuser", "s3cret", "mattermost" },
		{ "@postgres:5433/mattermost?sslmode=disable&connect_timeout=10\n", NULL, NULL },
		NULL,
	};

	run_case(&k);
}

/* plan must warn: an installed Nextcloud keeps its settings in config.php */
Test(service_conventions, nextcloud_warns_about_config_php)
{
	static const ConvCase k = {
		"nextcloud",
		"services:\n"
		"  app:\n"
		"    image: nextcloud:29-apache\n"
		"    environment:\n"
		"      - POSTGRES_HOST=db\n"
		"      - POSTGRES_DB=nextcloud\n"
		"      - POSTGRES_USER=nextcloud\n"
		"      - POSTGRES_PASSWORD=s3cret\n"
		DB_BLOCK("db", "postgres:16-alpine"),
		"app", "nextcloud convention (image library/nextcloud)",
		{ "POSTGRES_HOST", NULL, "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB" },
		{ "db", "5432", "nextcloud", "s3cret", "nextcloud" },
		{ "      - POSTGRES_HOST=postgres:5433\n", NULL, NULL },
		"postgres:5432",
	};
	RwFx fx;
	bool warned = false;

	run_case(&k);
	cr_assert(rwfx_setup_bytes(&fx, k.name, k.yaml));
	static const char want[] = "app: Nextcloud reads POSTGRES_* only when it installs: an "
		"installed instance keeps dbhost, dbuser, dbpassword and dbname in config/config.php";

	for (size_t i = 0; i < fx.svc.warning_count; i++)
		warned |= strncmp(fx.svc.warnings[i], want, sizeof(want) - 1) == 0;
	cr_expect(warned, "no config.php warning");
	rwfx_teardown(&fx);
}

Test(service_conventions, netbox)
{
	static const ConvCase k = {
		"netbox",
		"services:\n"
		"  netbox:\n"
		"    image: docker.io/netboxcommunity/netbox:v4.2\n"
		"    environment:\n"
		"      DB_HOST: postgres\n"
		"      DB_NAME: netbox\n"
		"      DB_USER: netbox\n"
		"      DB_PASSWORD: s3cret\n"
		DB_BLOCK("postgres", "docker.io/postgres:17-alpine"),
		"netbox", "netbox convention (image netboxcommunity/netbox)",
		{ "DB_HOST", NULL, "DB_USER", "DB_PASSWORD", "DB_NAME" },
		{ "postgres", "5432", "netbox", "s3cret", "netbox" },
		{ "      DB_PORT: \"5433\"\n", NULL, NULL },
		"DB_PORT",
	};

	run_case(&k);
}

/* the odoo image reads bare HOST / USER / PASSWORD; the database is
 * chosen in odoo, not in the environment */
Test(service_conventions, odoo_bare_names)
{
	static const ConvCase k = {
		"odoo",
		"services:\n"
		"  web:\n"
		"    image: odoo:17.0\n"
		"    environment:\n"
		"      - HOST=db\n"
		"      - USER=odoo\n"
		"      - PASSWORD=s3cret\n"
		"  db:\n"
		"    image: postgres:15\n"
		"    environment:\n"
		"      - POSTGRES_DB=odoo\n"
		"      - POSTGRES_PASSWORD=s3cret\n"
		"      - POSTGRES_USER=odoo\n",
		"web", "odoo convention (image library/odoo)",
		{ "HOST", NULL, "USER", "PASSWORD", NULL },
		{ "db", "5432", "odoo", "s3cret", NULL },
		{ "      - HOST=postgres\n", "      - \"PORT=5433\"\n", NULL },
		"PORT=",
	};

	run_case(&k);
}

Test(service_conventions, database_url_apps)
{
	static const char *const images[][2] = {
		{ "outlinewiki/outline:0.82", "outline convention (image outlinewiki/outline)" },
		{ "miniflux/miniflux:2.2.6", "miniflux convention (image miniflux/miniflux)" },
		{ "vaultwarden/server:1.33.2", "vaultwarden convention (image vaultwarden/server)" },
	};

	for (size_t i = 0; i < 3; i++)
	{
		char yaml[1024];
		ConvCase k = {
			"app", yaml, "app", images[i][1],
			{ "DATABASE_URL", "DATABASE_URL", "DATABASE_URL", "DATABASE_URL", "DATABASE_URL" },
			{ "db", NULL, "app", "s3cret", "app" },
			{ "DATABASE_URL: postgres://app:" RWFX_PASSWORD "@postgres:5433/app\n", NULL, NULL },
			"postgres:5432",
		};

		cr_assert(str_format(yaml, sizeof(yaml),
							 "services:\n"
							 "  app:\n"
							 "    image: %s\n"
							 "    environment:\n"
							 "      DATABASE_URL: postgres://app:s3cret@db/app\n"
							 DB_BLOCK("db", "postgres:16"), images[i][0]));
		run_case(&k);
	}
}

/* anything else: the file header names the variables */
Test(service_conventions, header_names_the_variables)
{
	static const ConvCase k = {
		"custom",
		"# pgfold.host: STORE_HOST\n"
		"# pgfold.port: STORE_PORT\n"
		"# pgfold.user: DB_LOGIN\n"
		"# pgfold.password: STORE_SECRET\n"
		"# pgfold.database: STORE_SCHEMA\n"
		"\n"
		"services:\n"
		"  app:\n"
		"    image: example.org/custom/app:3\n"
		"    environment:\n"
		"      STORE_HOST: db\n"
		"      DB_LOGIN: app\n"
		"      STORE_SECRET: s3cret\n"
		"      STORE_SCHEMA: app\n"
		DB_BLOCK("db", "postgres:16"),
		"app", "pgfold.* names in the file header",
		{ "STORE_HOST", NULL, "DB_LOGIN", "STORE_SECRET", "STORE_SCHEMA" },
		{ "db", "5432", "app", "s3cret", "app" },
		{ "      DB_LOGIN: custom\n", "      STORE_SCHEMA: custom\n      STORE_PORT: \"5433\"\n",
		  NULL },
		"STORE_PORT: ",
	};

	run_case(&k);
}

/* no convention: the generic heuristics, and no name for a missing port */
Test(service_conventions, generic_fallback_refuses_an_unnamed_port)
{
	static const char yaml[] =
		"services:\n"
		"  app:\n"
		"    image: example.org/app:1\n"
		"    environment:\n"
		"      DB_HOST: db\n"
		"      DB_USER: app\n"
		"      DB_PASSWORD: s3cret\n"
		"      DB_NAME: app\n"
		DB_BLOCK("db", "postgres:16");
	RwFx fx;
	RwServiceResult res;
	char want[1024];

	cr_assert(rwfx_setup_bytes(&fx, "generic", yaml));
	cr_assert_eq(fx.svc.conn_count, 1);
	cr_assert_str_eq(fx.svc.conns[0].rule, "generic DB_* variables");

	RwTarget t = rwfx_target(&fx);

	t.port = 5433;
	cr_redirect_stderr();
	cr_assert_not(rewrite_service_file(&fx.svc, &t, &res));
	fflush(stderr);
	cr_assert(str_format(want, sizeof(want), "pgfold: error: %s: service app sets DB_HOST but not "
						 "its PORT setting in environment:, and pgfold knows no name for it; add "
						 "it (or name it with `# pgfold.port: VAR` in the file header) and "
						 "retry\n", fx.path));
	cr_assert_stderr_eq_str(want);
	rwfx_teardown(&fx);
}

Test(service_conventions, unknown_header_key_is_a_problem)
{
	RwFx fx;

	cr_assert(rwfx_setup_bytes(&fx, "typo", "# pgfold.usr: DB_LOGIN\n\nservices:\n  app:\n"
							   "    image: example.org/app:1\n    environment:\n      DB_HOST: db\n"
							   DB_BLOCK("db", "postgres:16")));
	cr_assert_str_eq(fx.svc.problem, "header line `# pgfold.usr:` is not a key pgfold knows "
					 "(pgfold.host, pgfold.port, pgfold.user, pgfold.password, pgfold.database, "
					 "pgfold.url)");
	rwfx_teardown(&fx);
}

/* an added variable: the rollback override sets it back to the default */
Test(service_conventions, override_restores_an_added_port)
{
	RwFx fx;
	RwServiceResult res;
	StrBuf ov = STRBUF_INIT;
	RwProvenance prov = { "services/netbox.yml", "overrides/netbox-dedicated-postgres.yml",
						  "2026-12-01T00:00:00Z", NULL };

	cr_assert(rwfx_setup_bytes(&fx, "netbox",
							   "services:\n  netbox:\n    image: netboxcommunity/netbox:v4.2\n"
							   "    environment:\n      - DB_HOST=postgres\n      - DB_USER=netbox\n"
							   "      - DB_PASSWORD=s3cret\n      - DB_NAME=netbox\n"
							   DB_BLOCK("postgres", "postgres:17")));

	RwTarget t = rwfx_target(&fx);

	t.port = 5433;
	cr_assert(rewrite_service_file(&fx.svc, &t, &res));
	cr_assert_eq(res.added_count, 1);
	cr_assert_str_eq(res.added[0].app, "netbox");
	cr_assert_str_eq(res.added[0].key, "DB_PORT");
	cr_assert_str_eq(res.added[0].restore, "5432");
	cr_assert(rewrite_rollback_override_added(&fx.svc, &prov, res.added, res.added_count, &ov));
	cr_assert_not_null(strstr(sb_str(&ov), "  netbox:\n    environment:\n      - DB_HOST=postgres\n"
							  "      - DB_USER=netbox\n      - DB_PASSWORD=s3cret\n"
							  "      - DB_NAME=netbox\n      - \"DB_PORT=5432\"\n"), "%s", sb_str(&ov));
	sb_free(&ov);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

/* an app that sets nothing at all: an `environment:` block is created, and
 * the override sets each added variable back to the image's default */
Test(service_conventions, app_without_environment_gets_one)
{
	RwFx fx;
	RwServiceResult res;
	StrBuf ov = STRBUF_INIT;
	RwProvenance prov = { "services/zabbix.yml", "overrides/zabbix-dedicated-postgres.yml",
						  "2026-12-01T00:00:00Z", NULL };

	cr_assert(rwfx_setup_bytes(&fx, "zabbix",
							   "services:\n"
							   "  zabbix-server:\n"
							   "    image: zabbix/zabbix-server-pgsql:alpine-7.0-latest\n"
							   "    depends_on:\n"
							   "      - postgres-server\n"
							   DB_BLOCK("postgres-server", "postgres:16")));
	cr_assert_null(fx.svc.problem, "%s", fx.svc.problem);

	RwTarget t = rwfx_target(&fx);

	t.port = 5433;
	cr_assert(rewrite_service_file(&fx.svc, &t, &res));
	cr_assert_str_eq(sb_str(&res.bytes),
					 "# database: postgres\n"
					 "# database_name: zabbix\n"
					 "services:\n"
					 "  zabbix-server:\n"
					 "    environment:\n"
					 "      - \"DB_SERVER_HOST=postgres\"\n"
					 "      - \"DB_SERVER_PORT=5433\"\n"
					 "      - \"POSTGRES_PASSWORD=${PGFOLD_ZABBIX_DB_PASSWORD:?missing in .env}\"\n"
					 "    image: zabbix/zabbix-server-pgsql:alpine-7.0-latest\n");
	cr_assert(rewrite_rollback_override_added(&fx.svc, &prov, res.added, res.added_count, &ov));
	cr_assert_not_null(strstr(sb_str(&ov), "  zabbix-server:\n    environment:\n"
							  "      - \"DB_SERVER_HOST=postgres-server\"\n"
							  "      - \"DB_SERVER_PORT=5432\"\n"
							  "      - \"POSTGRES_PASSWORD=zabbix\"\n"
							  "    depends_on:\n      - postgres-server\n"), "%s", sb_str(&ov));
	sb_free(&ov);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

/* immich as its own compose file has it: the settings in the env_file */
Test(service_conventions, settings_in_an_env_file_are_refused)
{
	static const char yaml[] =
		"services:\n"
		"  immich-server:\n"
		"    image: ghcr.io/immich-app/immich-server:release\n"
		"    env_file:\n"
		"      - .env\n"
		DB_BLOCK("database", "ghcr.io/immich-app/postgres:14");
	static const char env[] = "DB_USERNAME=postgres\n";
	RwFx fx;
	RwServiceResult res;
	char want[1024];

	cr_assert(rwfx_setup_bytes(&fx, "immich", yaml));
	rwfx_write(fx.dir, ".env", env, strlen(env));
	rwfx_free_svc(&fx.svc);
	cr_assert(rwfx_reparse(&fx, yaml, strlen(yaml), &fx.svc));
	cr_assert_null(fx.svc.problem, "%s", fx.svc.problem);
	cr_assert_eq(fx.svc.conn_count, 1);
	cr_assert_str_eq(fx.svc.conns[0].values.user, "postgres");

	RwTarget t = rwfx_target(&fx);

	cr_redirect_stderr();
	cr_assert_not(rewrite_service_file(&fx.svc, &t, &res));
	fflush(stderr);
	cr_assert(str_format(want, sizeof(want), "pgfold: error: %s: DB_USERNAME of service "
						 "immich-server is set in an env_file, which pgfold does not edit; move it "
						 "into the service's environment: and retry\n", fx.path));
	cr_assert_stderr_eq_str(want);
	rwfx_teardown(&fx);
}

/* n8n without DB_POSTGRESDB_HOST runs on SQLite: its default host,
 * localhost, does not make it a client of the file's postgres */
Test(service_conventions, default_localhost_is_no_connection)
{
	RwFx fx;

	cr_assert(rwfx_setup_bytes(&fx, "n8n",
							   "services:\n"
							   "  n8n:\n"
							   "    image: docker.n8n.io/n8nio/n8n\n"
							   "    environment:\n"
							   "      N8N_HOST: n8n.example.org\n"
							   "  app:\n"
							   "    image: example.org/app:1\n"
							   "    environment:\n"
							   "      DATABASE_URL: postgres://app:s3cret@db/app\n"
							   DB_BLOCK("db", "postgres:16")));
	cr_assert_null(fx.svc.problem, "%s", fx.svc.problem);
	cr_assert_eq(fx.svc.conn_count, 1);
	cr_assert_str_eq(fx.svc.file.services[fx.svc.conns[0].app].key, "app");
	rwfx_teardown(&fx);
}
