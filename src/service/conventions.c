/*
 * conventions.c — the connection settings of common self-hosted images, as
 * data reviewed like code: which variables each app reads its host, port,
 * user, password and database from, and what it assumes when one is unset.
 *
 * connection.c finds connections with generic heuristics (a *_HOST variable
 * and its siblings, a postgres URL); this table feeds it where those guess
 * wrong or cannot guess: prefixes that differ within one connection
 * (Zabbix's DB_SERVER_HOST + POSTGRES_USER), bare names (Odoo's HOST), a
 * JDBC URL with its user in another variable (Keycloak), and above all the
 * name and default of a setting the file does not write (most apps default
 * the port to 5432, so files set a host but no port). The rewriter then
 * adds a missing setting under its known name when the new value differs
 * from the app's default, and refuses only when no name is known.
 *
 * An app is matched by its image's repository path first (registry and tag
 * removed), then by a variable that only that app uses. A file's header can
 * name the variables of any other app (`# pgfold.user: DB_LOGIN`, ...); it
 * wins over the table, because the operator said so.
 *
 * Every entry was checked against the app's own code, documentation or
 * official compose files (2026-12): the defaults are what the app does
 * when the variable is unset; NULL where it is not known or not stable
 * across versions (n8n's user was "root", is now "postgres").
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct AppConvention
{
	const char *app;
	const char *images[4];     /* repository paths, NULL-ended */
	const char *anchor;        /* the host variable, or the URL variable when url */
	bool        url;
	bool        by_variable;   /* the anchor alone says which app this is */
	ConnNames   names;
	const char *note;          /* what plan must tell the operator, or NULL */
} AppConvention;

#define N(h, p, u, pw, d) { h, p, u, pw, d }

static const AppConvention table[] = {
	/* docker-entrypoint.sh: DB_SERVER_HOST:-postgres-server, _PORT:-5432,
	 * POSTGRES_USER / _PASSWORD:-zabbix, POSTGRES_DB:-zabbix */
	{ "zabbix", { "zabbix/zabbix-server-pgsql", "zabbix/zabbix-web-nginx-pgsql",
				  "zabbix/zabbix-web-apache-pgsql", NULL },
	  "DB_SERVER_HOST", false, true,
	  { N("DB_SERVER_HOST", "DB_SERVER_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"),
		N("postgres-server", "5432", "zabbix", "zabbix", "zabbix"), false, false }, NULL },
	/* authentik/lib/default.yml: host localhost, name/user authentik; the
	 * port defaults to 5432 (docs) */
	{ "authentik", { "goauthentik/server", "beryju/authentik", NULL },
	  "AUTHENTIK_POSTGRESQL__HOST", false, true,
	  { N("AUTHENTIK_POSTGRESQL__HOST", "AUTHENTIK_POSTGRESQL__PORT", "AUTHENTIK_POSTGRESQL__USER",
		  "AUTHENTIK_POSTGRESQL__PASSWORD", "AUTHENTIK_POSTGRESQL__NAME"),
		N("localhost", "5432", "authentik", NULL, "authentik"), false, false }, NULL },
	/* immich server: DB_URL wins over the parts; DB_HOSTNAME || 'database',
	 * DB_PORT || 5432, DB_USERNAME / DB_PASSWORD || 'postgres',
	 * DB_DATABASE_NAME || 'immich' */
	{ "immich", { "immich-app/immich-server", "altran1502/immich-server", NULL },
	  "DB_URL", true, false, { N(NULL, NULL, NULL, NULL, NULL), N(NULL, NULL, NULL, NULL, NULL),
							   false, false }, NULL },
	{ "immich", { "immich-app/immich-server", "altran1502/immich-server", NULL },
	  "DB_HOSTNAME", false, false,
	  { N("DB_HOSTNAME", "DB_PORT", "DB_USERNAME", "DB_PASSWORD", "DB_DATABASE_NAME"),
		N("database", "5432", "postgres", "postgres", "immich"), false, false }, NULL },
	/* paperless settings.py: no host = SQLite; PORT only when set (libpq:
	 * 5432); NAME / USER / PASS default "paperless" */
	{ "paperless-ngx", { "paperless-ngx/paperless-ngx", "paperlessngx/paperless-ngx", NULL },
	  "PAPERLESS_DBHOST", false, true,
	  { N("PAPERLESS_DBHOST", "PAPERLESS_DBPORT", "PAPERLESS_DBUSER", "PAPERLESS_DBPASS",
		  "PAPERLESS_DBNAME"),
		N(NULL, "5432", "paperless", "paperless", "paperless"), false, false }, NULL },
	/* @n8n/config database.config.ts: localhost, 5432, '' password, n8n */
	{ "n8n", { "n8nio/n8n", NULL },
	  "DB_POSTGRESDB_HOST", false, true,
	  { N("DB_POSTGRESDB_HOST", "DB_POSTGRESDB_PORT", "DB_POSTGRESDB_USER", "DB_POSTGRESDB_PASSWORD",
		  "DB_POSTGRESDB_DATABASE"),
		N("localhost", "5432", NULL, "", "n8n"), false, false }, NULL },
	/* Keycloak: KC_DB_URL (JDBC, no user in it) or KC_DB_URL_HOST / _PORT /
	 * _DATABASE (default jdbc:postgresql://localhost/keycloak); user and
	 * password always apart */
	{ "keycloak", { "keycloak/keycloak", NULL },
	  "KC_DB_URL", true, true,
	  { N(NULL, NULL, "KC_DB_USERNAME", "KC_DB_PASSWORD", NULL), N(NULL, NULL, NULL, NULL, NULL),
		false, false }, NULL },
	{ "keycloak", { "keycloak/keycloak", NULL },
	  "KC_DB_URL_HOST", false, true,
	  { N("KC_DB_URL_HOST", "KC_DB_URL_PORT", "KC_DB_USERNAME", "KC_DB_PASSWORD", "KC_DB_URL_DATABASE"),
		N("localhost", "5432", NULL, NULL, "keycloak"), false, false }, NULL },
	/* app.ini [database] through the image's environment-to-ini: HOST is
	 * host:port (no port: the driver's 5432), NAME gitea, USER root, PASSWD '' */
	{ "gitea", { "gitea/gitea", "forgejo/forgejo", NULL },
	  "GITEA__database__HOST", false, true,
	  { N("GITEA__database__HOST", NULL, "GITEA__database__USER", "GITEA__database__PASSWD",
		  "GITEA__database__NAME"),
		N(NULL, "5432", "root", "", "gitea"), true, false }, NULL },
	{ "forgejo", { "forgejo/forgejo", NULL },
	  "FORGEJO__database__HOST", false, true,
	  { N("FORGEJO__database__HOST", NULL, "FORGEJO__database__USER", "FORGEJO__database__PASSWD",
		  "FORGEJO__database__NAME"),
		N(NULL, "5432", "root", "", "forgejo"), true, false }, NULL },
	/* a libpq URL: postgres://user:pass@host:5432/db?sslmode=... */
	{ "mattermost", { "mattermost/mattermost-team-edition", "mattermost/mattermost-enterprise-edition",
					  NULL },
	  "MM_SQLSETTINGS_DATASOURCE", true, true,
	  { N(NULL, NULL, NULL, NULL, NULL), N(NULL, NULL, NULL, NULL, NULL), false, false }, NULL },
	/* the image's autoconfig.php: POSTGRES_HOST may carry :port */
	{ "nextcloud", { "library/nextcloud", NULL },
	  "POSTGRES_HOST", false, false,
	  { N("POSTGRES_HOST", NULL, "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"),
		N(NULL, "5432", NULL, NULL, NULL), true, false },
	  "Nextcloud reads POSTGRES_* only when it installs: an installed instance keeps dbhost, "
	  "dbuser, dbpassword and dbname in config/config.php; change them there too "
	  "(occ config:system:set)" },
	/* netbox-docker configuration.py: DB_HOST localhost, DB_PORT '' (5432),
	 * DB_NAME netbox, DB_USER '' (libpq's default: unknown) */
	{ "netbox", { "netboxcommunity/netbox", "linuxserver/netbox", NULL },
	  "DB_HOST", false, false,
	  { N("DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME"),
		N("localhost", "5432", NULL, "", "netbox"), false, false }, NULL },
	/* the odoo image's entrypoint: HOST:-db, PORT:-5432, USER / PASSWORD:-odoo;
	 * the database is chosen in odoo itself, not in the environment */
	{ "odoo", { "library/odoo", NULL },
	  "HOST", false, false,
	  { N("HOST", "PORT", "USER", "PASSWORD", NULL), N("db", "5432", "odoo", "odoo", NULL),
		false, true }, NULL },
	{ "outline", { "outlinewiki/outline", NULL }, "DATABASE_URL", true, false,
	  { N(NULL, NULL, NULL, NULL, NULL), N(NULL, NULL, NULL, NULL, NULL), false, false }, NULL },
	{ "miniflux", { "miniflux/miniflux", NULL }, "DATABASE_URL", true, false,
	  { N(NULL, NULL, NULL, NULL, NULL), N(NULL, NULL, NULL, NULL, NULL), false, false }, NULL },
	{ "vaultwarden", { "vaultwarden/server", NULL }, "DATABASE_URL", true, false,
	  { N(NULL, NULL, NULL, NULL, NULL), N(NULL, NULL, NULL, NULL, NULL), false, false }, NULL },
};

#undef N

/* Header keys naming an app's variables; the index is the ConnPiece. */
static const char *const meta_keys[PIECE_COUNT] = {
	"pgfold.host", "pgfold.port", "pgfold.user", "pgfold.password", "pgfold.database"
};
#define META_URL "pgfold.url"

/* Is name set for the app, in `environment:` or an env_file? */
static bool
app_sets(const ComposeService *s, const char *name)
{
	int idx;

	return svc_var(s, name, &idx) != NULL || idx >= 0;
}

static bool
image_listed(const AppConvention *c, const char *repo)
{
	for (size_t i = 0; i < sizeof(c->images) / sizeof(c->images[0]) && c->images[i]; i++)
		if (strcasecmp(c->images[i], repo) == 0)
			return true;
	return false;
}

static void
conv_from_entry(const AppConvention *e, const char *why, AppConv *out)
{
	memset(out, 0, sizeof(*out));
	out->found = true;
	out->names = e->names;
	out->anchor = e->anchor;
	out->url = e->url;
	out->note = e->note;
	snprintf(out->rule, sizeof(out->rule), "%s convention (%s)", e->app, why);
}

static bool
var_name_valid(const char *s)
{
	if (s == NULL || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			  *p == '_' || *p == '.' || *p == '-'))
			return false;
	return strlen(s) < 128;
}

/* The file header's `# pgfold.*` names into svc->meta_names / meta_url;
 * false (problem set) when a key is unknown or a value is not a name. */
bool
conv_read_meta(StackService *svc)
{
	ConnNames *m = &svc->meta_names;
	bool any = false;

	memset(m, 0, sizeof(*m));
	svc->meta_url = NULL;
	for (size_t i = 0; i < svc->file.meta_count; i++)
	{
		const MetaEntry *e = &svc->file.meta[i];
		int piece = -1;

		if (e->key == NULL || strncasecmp(e->key, "pgfold.", 7) != 0)
			continue;
		for (int k = 0; k < PIECE_COUNT; k++)
			if (strcasecmp(e->key, meta_keys[k]) == 0)
				piece = k;
		if (piece < 0 && strcasecmp(e->key, META_URL) != 0)
		{
			svc_problem(svc, "header line `# %s:` is not a key pgfold knows (pgfold.host, "
						"pgfold.port, pgfold.user, pgfold.password, pgfold.database, pgfold.url)",
						e->key);
			return false;
		}
		if (!var_name_valid(e->value))
		{
			svc_problem(svc, "header line `# %s: %s` does not name a variable", e->key,
						e->value ? e->value : "");
			return false;
		}
		if (piece >= 0)
			m->var[piece] = e->value;
		else
			svc->meta_url = e->value;
		any = true;
	}
	if (any && svc->meta_url == NULL && m->var[PIECE_HOST] == NULL)
	{
		svc_problem(svc, "the `# pgfold.*` header names no host or URL variable: add "
					"`# pgfold.host: VAR` or `# pgfold.url: VAR`");
		return false;
	}
	/* libpq and nearly every client: an unset port is 5432 */
	if (any)
		m->deflt[PIECE_PORT] = "5432";
	return true;
}

bool
conv_for_app(const StackService *svc, size_t app, AppConv *out)
{
	const ComposeService *s = &svc->file.services[app];
	const size_t n = sizeof(table) / sizeof(table[0]);
	char repo[600], why[700];

	memset(out, 0, sizeof(*out));
	/* the operator's word first */
	const char *meta_anchor = svc->meta_url ? svc->meta_url : svc->meta_names.var[PIECE_HOST];

	if (meta_anchor != NULL && app_sets(s, meta_anchor))
	{
		out->found = true;
		out->names = svc->meta_names;
		out->anchor = meta_anchor;
		out->url = svc->meta_url != NULL;
		snprintf(out->rule, sizeof(out->rule), "pgfold.* names in the file header");
		return true;
	}
	if (service_image_repository(s->image, repo, sizeof(repo)))
	{
		const AppConvention *implicit = NULL;

		for (size_t i = 0; i < n; i++)
		{
			if (!image_listed(&table[i], repo))
				continue;
			if (app_sets(s, table[i].anchor))
			{
				snprintf(why, sizeof(why), "image %s", repo);
				conv_from_entry(&table[i], why, out);
				return true;
			}
			if (implicit == NULL && !table[i].url && table[i].names.deflt[PIECE_HOST])
				implicit = &table[i];
		}
		if (implicit != NULL)
		{
			snprintf(why, sizeof(why), "image %s", repo);
			conv_from_entry(implicit, why, out);
			out->implicit = true;
			return true;
		}
	}
	for (size_t i = 0; i < n; i++)
	{
		if (table[i].by_variable && app_sets(s, table[i].anchor))
		{
			snprintf(why, sizeof(why), "variable %s", table[i].anchor);
			conv_from_entry(&table[i], why, out);
			return true;
		}
	}
	return false;
}

/* The variable holding piece for an app following conv: its env index
 * (-1 when not in `environment:`), its value (environment, env_file, else
 * the app's default when the variable is unset; NULL when unknown). */
const char *
conv_piece(const ComposeService *s, const ConnNames *names, ConnPiece piece, int *idx)
{
	const char *v = NULL;

	*idx = -1;
	if (names->var[piece] != NULL)
		v = svc_var(s, names->var[piece], idx);
	if (v == NULL && *idx < 0)
		v = names->deflt[piece];
	return v;
}
