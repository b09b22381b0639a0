/*
 * connection.c — how an app service reaches its postgres.
 *
 * Three shapes are recognised in an app's `environment:`:
 *  - a URL variable (DATABASE_URL, *_DATABASE_URL, ..., or any value whose
 *    scheme is postgres/postgresql, also once interpolated);
 *  - a group of variables sharing a prefix around a *_HOST one (DB_HOST,
 *    DB_PORT, DB_USER, DB_PASSWORD, DB_NAME; POSTGRES_HOST ... _DATABASE;
 *    PGHOST ... PGDATABASE);
 *  - NocoDB's NC_DB=pg://host:port?u=USER&p=PASS&d=DB.
 * A setting counts only when its host names the target (the db service key,
 * its container name, localhost; or the shared instance once migrated): an
 * app whose host points elsewhere is not connected to this db.
 *
 * Spans come from the raw file bytes (for the rewriter); values come from
 * the interpolated string the app will see, split the same way, falling
 * back to interpolating each raw piece when the whole value does not
 * resolve (a ${VAR:?} elsewhere in the URL must not hide the host).
 */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "pgfold/log.h"

/* ---- variable names ---------------------------------------------------- */

static const char *const host_suffixes[] = { "HOSTNAME", "HOST", "SERVER", NULL };
static const char *const port_suffixes[] = { "PORT", NULL };
static const char *const user_suffixes[] = { "USER", "USERNAME", "LOGIN", NULL };
static const char *const pass_suffixes[] = { "PASSWORD", "PASS", "PASSWD", "PWD", NULL };
static const char *const db_suffixes[] = {
	"NAME", "DB", "DATABASE", "DBNAME", "DATABASE_NAME", "DB_NAME", NULL
};

static const char *const url_suffixes[] = {
	"DATABASE_URL", "DB_URL", "POSTGRES_URL", "POSTGRESQL_URL", "PG_URL",
	"DATABASE_URI", "DB_URI", "POSTGRES_URI", NULL
};

/* A URL variable: one of the names above, alone or as *_NAME. */
static bool
name_is_url_var(const char *name)
{
	for (size_t i = 0; url_suffixes[i]; i++)
	{
		const char *sfx = url_suffixes[i];
		size_t ln = strlen(name), ls = strlen(sfx);

		if (ln == ls && strcmp(name, sfx) == 0)
			return true;
		if (ln > ls && strcmp(name + ln - ls, sfx) == 0 && name[ln - ls - 1] == '_')
			return true;
	}
	return strcmp(name, "NC_DB") == 0;
}

/* Length of the host suffix name ends with (prefix must be non-empty), 0 if none. */
static size_t
host_suffix_len(const char *name)
{
	size_t ln = strlen(name);

	for (size_t i = 0; host_suffixes[i]; i++)
	{
		size_t ls = strlen(host_suffixes[i]);

		if (ln > ls && strcmp(name + ln - ls, host_suffixes[i]) == 0)
			return ls;
	}
	return 0;
}

/* ---- helpers shared with classify.c -------------------------------------- */

const char *
svc_var(const ComposeService *s, const char *name, int *env_index)
{
	if (env_index)
		*env_index = -1;
	for (size_t i = s->env_count; i-- > 0;)
	{
		if (s->env[i].name && strcmp(s->env[i].name, name) == 0)
		{
			if (env_index)
				*env_index = (int) i;
			return s->env[i].resolved;
		}
	}
	for (size_t f = s->env_file_count; s->env_file_vars && f-- > 0;)
	{
		const char *v = dotenv_get(&s->env_file_vars[f], name);

		if (v)
			return v;
	}
	return NULL;
}

/* Is name set in the service's `environment:` (with or without a value)? */
static bool
in_environment(const ComposeService *s, const char *name)
{
	for (size_t i = 0; i < s->env_count; i++)
		if (s->env[i].name && strcmp(s->env[i].name, name) == 0)
			return true;
	return false;
}

/* The env index of PREFIX + one of suffixes (last occurrence), or -1. */
static int
find_sibling(const ComposeService *s, const char *prefix, const char *const *suffixes,
			 const char **value_out)
{
	char name[256];

	*value_out = NULL;
	for (size_t k = 0; suffixes[k]; k++)
	{
		int idx;

		if (!str_format(name, sizeof(name), "%s%s", prefix, suffixes[k]))
			continue;
		*value_out = svc_var(s, name, &idx);
		if (idx >= 0 || *value_out)
			return idx;
	}
	return -1;
}

/* Does a *_HOST prefix look like database settings (not REDIS_HOST)? */
static bool
prefix_is_dbish(const ComposeService *s, const char *prefix)
{
	const char *v;

	if (strstr(prefix, "DB") || strstr(prefix, "PG") || strstr(prefix, "POSTGRES") ||
		strstr(prefix, "DATABASE"))
		return true;
	if (find_sibling(s, prefix, user_suffixes, &v) >= 0 || v)
		return true;
	if (find_sibling(s, prefix, pass_suffixes, &v) >= 0 || v)
		return true;
	return false;
}

static bool
scheme_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

/* postgres, postgresql, postgis (django-environ), pgsql, and SQLAlchemy's
 * driver forms (postgresql+asyncpg). */
static bool
scheme_is_postgres(const char *s, size_t n)
{
	static const char *const bases[] = { "postgresql", "postgres", "postgis", "pgsql", NULL };

	for (size_t k = 0; bases[k]; k++)
	{
		size_t bl = strlen(bases[k]);

		if (n >= bl && strncasecmp(s, bases[k], bl) == 0 && (n == bl || s[bl] == '+'))
			return true;
	}
	return false;
}

/* Does v start with a postgres (or NocoDB pg://) scheme? */
static bool
value_has_pg_scheme(const char *v)
{
	if (v == NULL)
		return false;

	size_t n = strnlen(v, 64);
	size_t j = svc_url_wrapper(v, n);
	const char *sep = NULL;

	for (size_t i = j; i + 2 < n; i++)
		if (v[i] == ':' && v[i + 1] == '/' && v[i + 2] == '/')
		{
			sep = v + i;
			break;
		}
	if (sep == NULL)
		return false;

	size_t sl = (size_t) (sep - v) - j;

	return scheme_is_postgres(v + j, sl) || scheme_is(v + j, sl, "pg");
}

bool
svc_is_client(const ComposeService *s)
{
	for (size_t i = 0; i < s->env_count; i++)
	{
		const EnvItem *e = &s->env[i];

		if (e->name == NULL)
			continue;
		if (name_is_url_var(e->name) || value_has_pg_scheme(e->raw) ||
			value_has_pg_scheme(e->resolved))
			return true;

		size_t hl = host_suffix_len(e->name);

		if (hl > 0)
		{
			char prefix[256];

			if (str_copy(prefix, sizeof(prefix), e->name))
			{
				prefix[strlen(prefix) - hl] = '\0';
				if (prefix_is_dbish(s, prefix))
					return true;
			}
		}
	}
	return false;
}

/* host is one of the target's names (service key, container name). */
static bool
host_names_target(const DbTarget *t, const char *host)
{
	if (host == NULL || host[0] == '\0')
		return false;
	for (size_t i = 0; i < t->count; i++)
		if (t->names[i] && strcasecmp(t->names[i], host) == 0)
			return true;
	return false;
}

static bool
host_matches(const DbTarget *t, const char *host)
{
	if (host == NULL || host[0] == '\0')
		return false;
	if (host_names_target(t, host))
		return true;
	/* an app sharing the db's network namespace (or the host's) reaches it
	 * on localhost; only a dedicated db can be meant by that */
	if (!t->shared && (strcasecmp(host, "localhost") == 0 ||
					   strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0))
		return true;
	return false;
}

/* ---- URL and NocoDB settings -------------------------------------------- */

static Span
env_value_span(const ComposeService *s, int idx)
{
	Span none = { 0, 0 };

	return idx >= 0 ? s->env[idx].value : none;
}

typedef struct UrlSplit
{
	bool          ok;
	ConnUrlParts  p;
} UrlSplit;

static bool
split_any(const char *text, size_t start, size_t end, ConnUrlParts *p)
{
	if (!service_split_url(text, start, end, p))
		return false;
	if (scheme_is(text + p->scheme.start, p->scheme.end - p->scheme.start, "pg"))
		return service_split_nocodb(text, start, end, p);
	return true;
}

/* The scheme decides: postgres/postgresql → URL, pg → NocoDB, else none. */
static bool
kind_from_scheme(const char *s, size_t n, ConnKind *kind)
{
	if (scheme_is_postgres(s, n))
		*kind = CONN_URL;
	else if (scheme_is(s, n, "pg"))
		*kind = CONN_NOCODB;
	else
		return false;
	return true;
}

static void
fill_values_from(const char *text, const ConnUrlParts *p, ConnValues *v)
{
	v->user = svc_piece(text, p->user, true);
	v->password = svc_piece(text, p->password, true);
	v->host = svc_piece(text, p->host, false);
	v->dbname = svc_piece(text, p->dbname, true);

	char *port = svc_piece(text, p->port, false);

	v->port = svc_parse_port(port);
	free(port);
}

static void
fill_values_interpolated(const Config *cfg, const char *bytes, const ConnUrlParts *p,
						 ConnValues *v)
{
	v->user = svc_piece_interpolated(cfg, bytes, p->user, true);
	v->password = svc_piece_interpolated(cfg, bytes, p->password, true);
	v->host = svc_piece_interpolated(cfg, bytes, p->host, false);
	v->dbname = svc_piece_interpolated(cfg, bytes, p->dbname, true);

	char *port = svc_piece_interpolated(cfg, bytes, p->port, false);

	v->port = svc_parse_port(port);
	free(port);
}

static void
push_conn(StackService *svc, ConnRef *c)
{
	svc->conns = xrealloc(svc->conns, svc->conn_count + 1, sizeof(ConnRef));
	svc->conns[svc->conn_count++] = *c;
}

/* Keycloak-style: the URL carries host, port and database; user and
 * password are the convention's own variables. */
static void
split_url_credentials(const ComposeService *s, const ConnNames *names, ConnRef *c)
{
	const char *v;

	c->split_credentials = true;
	free(c->values.user);
	svc_free_secret(&c->values.password);
	v = conv_piece(s, names, PIECE_USER, &c->user);
	c->values.user = v ? xstrdup(v) : NULL;
	v = conv_piece(s, names, PIECE_PASSWORD, &c->password);
	c->values.password = v ? xstrdup(v) : NULL;
	c->url.user = env_value_span(s, c->user);
	c->url.password = env_value_span(s, c->password);
}

static void
name_url_rule(const ComposeService *s, const AppConv *conv, ConnRef *c)
{
	const char *name = s->env[c->var].name;
	char rule[300];

	if (conv->found && conv->url && strcmp(name, conv->anchor) == 0)
	{
		c->names = conv->names;
		c->rule = xstrdup(conv->rule);
		if (conv->names.var[PIECE_USER] || conv->names.var[PIECE_PASSWORD])
			split_url_credentials(s, &conv->names, c);
		return;
	}
	if (c->kind == CONN_NOCODB)
		str_format(rule, sizeof(rule), "NocoDB's %s", name);
	else
		str_format(rule, sizeof(rule), "generic URL in %s", name);
	c->rule = xstrdup(rule);
}

static void
try_url(const Config *cfg, StackService *svc, size_t app, size_t i, const DbTarget *t,
		const AppConv *conv)
{
	const ComposeService *s = &svc->file.services[app];
	const EnvItem *e = &s->env[i];

	if (!e->has_value || e->raw == NULL || e->name == NULL)
		return;
	if (!name_is_url_var(e->name) && !value_has_pg_scheme(e->raw) &&
		!value_has_pg_scheme(e->resolved))
		return;

	/* spans are only meaningful when the file bytes are the raw value
	 * (no YAML escapes or folding in between) */
	const char *bytes = svc->file.bytes;
	size_t rl = strlen(e->raw);
	bool exact = e->value.end >= e->value.start && e->value.end <= svc->file.len &&
		e->value.end - e->value.start == rl && memcmp(bytes + e->value.start, e->raw, rl) == 0;

	UrlSplit raw, res;

	memset(&raw, 0, sizeof(raw));
	memset(&res, 0, sizeof(res));

	if (exact)
		raw.ok = split_any(bytes, e->value.start, e->value.end, &raw.p);
	if (e->resolved)
		res.ok = split_any(e->resolved, 0, strlen(e->resolved), &res.p);

	ConnKind kind;

	if (res.ok)
	{
		if (!kind_from_scheme(e->resolved + res.p.scheme.start,
							  res.p.scheme.end - res.p.scheme.start, &kind))
			return;
	}
	else if (raw.ok)
	{
		char *scheme = svc_piece_interpolated(cfg, bytes, raw.p.scheme, false);
		bool known = scheme && kind_from_scheme(scheme, strlen(scheme), &kind);

		free(scheme);
		if (!known)
			return;
	}
	else
		return;

	ConnRef c;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.app = app;
	c.var = (int) i;
	c.host = c.port = c.user = c.password = c.dbname = -1;
	c.shared = t->shared;
	c.values.port = -1;
	/* no usable piece spans: the whole URL comes from ${VAR} (or escapes) */
	c.indirect = !raw.ok;
	if (raw.ok)
		c.url = raw.p;

	if (res.ok)
		fill_values_from(e->resolved, &res.p, &c.values);
	else
		fill_values_interpolated(cfg, bytes, &raw.p, &c.values);
	svc_strip_brackets(c.values.host);

	if (!host_matches(t, c.values.host))
	{
		conn_ref_free(&c);
		return;
	}
	if (!exact)
		svc_warn(svc, "%s: %s is written with YAML escapes; pgfold cannot edit its pieces in place",
				 s->key, e->name);
	name_url_rule(s, conv, &c);
	push_conn(svc, &c);
}

/* ---- *_HOST groups ----------------------------------------------------------- */

/* "host:port" (one colon, a valid port after it) → host, port. */
static bool
split_host_port(const char *v, char **host, int *port)
{
	const char *colon = v ? strrchr(v, ':') : NULL;

	*host = NULL;
	*port = -1;
	if (colon == NULL || colon == v || strchr(v, ':') != colon)
		return false;
	*port = svc_parse_port(colon + 1);
	if (*port < 0)
		return false;
	*host = xstrndup(v, (size_t) (colon - v));
	return true;
}

/* The same split in the file bytes, when they can be split at a top-level
 * ':' (`${DB_HOST:-db}:5432` too); otherwise the host span stays the whole
 * value and ConnRef.host_with_port tells the rewriter so. */
static void
split_host_port_span(const StackService *svc, const EnvItem *e, Span *host, Span *port)
{
	const char *b = svc->file.bytes;
	size_t vs = e->value.start, ve = e->value.end, colon = ve;

	if (ve > svc->file.len || vs >= ve)
		return;
	for (size_t k = svc_scan_top(b, vs, ve, ":"); k < ve; k = svc_scan_top(b, k + 1, ve, ":"))
		colon = k;
	if (colon == ve || colon == vs)
		return;
	host->start = vs;
	host->end = colon;
	port->start = colon + 1;
	port->end = ve;
}

static bool
prefix_seen(const StackService *svc, size_t app, const char *prefix)
{
	for (size_t k = 0; k < svc->conn_count; k++)
		if (svc->conns[k].app == app && svc->conns[k].kind == CONN_PARTS &&
			strcmp(svc->conns[k].prefix, prefix) == 0)
			return true;
	return false;
}

/* The pieces besides the host: the convention's variables when it names
 * this host variable, else the generic siblings of its prefix. */
static void
fill_parts(const ComposeService *s, const AppConv *conv, ConnRef *c, bool embedded)
{
	static const char *const *const suffixes[PIECE_COUNT] = {
		NULL, port_suffixes, user_suffixes, pass_suffixes, db_suffixes
	};
	int *idx[PIECE_COUNT] = { &c->host, &c->port, &c->user, &c->password, &c->dbname };
	char *vals[PIECE_COUNT] = { NULL };

	for (int k = PIECE_PORT; k < PIECE_COUNT; k++)
	{
		const char *v;

		if (conv != NULL)
			v = conv_piece(s, &conv->names, (ConnPiece) k, idx[k]);
		else
			*idx[k] = find_sibling(s, c->prefix, suffixes[k], &v);
		vals[k] = v ? xstrdup(v) : NULL;
	}
	/* the port written with the host is the one the app uses */
	if (!embedded)
		c->values.port = svc_parse_port(vals[PIECE_PORT]);
	free(vals[PIECE_PORT]);
	c->values.user = vals[PIECE_USER];
	c->values.password = vals[PIECE_PASSWORD];
	c->values.dbname = vals[PIECE_DBNAME];
	c->url.port = env_value_span(s, c->port);
	c->url.user = env_value_span(s, c->user);
	c->url.password = env_value_span(s, c->password);
	c->url.dbname = env_value_span(s, c->dbname);
	if (conv != NULL)
	{
		c->names = conv->names;
		c->rule = xstrdup(conv->rule);
	}
	else
	{
		char rule[300];

		str_format(rule, sizeof(rule), "generic %s* variables", c->prefix);
		c->rule = xstrdup(rule);
	}
}

static void
parts_init(ConnRef *c, size_t app, const char *prefix, const DbTarget *t)
{
	memset(c, 0, sizeof(*c));
	c->kind = CONN_PARTS;
	c->app = app;
	c->var = -1;
	c->host = c->port = c->user = c->password = c->dbname = -1;
	c->prefix = xstrdup(prefix);
	c->shared = t->shared;
	c->values.port = -1;
}

static void
try_parts(StackService *svc, size_t app, size_t i, const DbTarget *t, const AppConv *conv)
{
	const ComposeService *s = &svc->file.services[app];
	const EnvItem *e = &s->env[i];
	/* the convention names this very variable as the app's host */
	bool named = conv->found && !conv->url && e->name && strcmp(e->name, conv->anchor) == 0;
	size_t hl = e->name ? host_suffix_len(e->name) : 0;
	char prefix[256];

	if ((hl == 0 && !named) || !str_copy(prefix, sizeof(prefix), e->name))
		return;
	prefix[strlen(prefix) - hl] = '\0';
	if (prefix_seen(svc, app, prefix))
		return;

	const char *host = e->resolved;
	char *embedded_host = NULL;
	int embedded_port = -1;

	if (!host_matches(t, host))
	{
		/* GITEA__database__HOST=db:5432 */
		if (!split_host_port(host, &embedded_host, &embedded_port) ||
			!host_matches(t, embedded_host))
		{
			free(embedded_host);
			return;
		}
	}

	ConnRef c;

	parts_init(&c, app, prefix, t);
	c.host = (int) i;
	c.values.host = embedded_host ? embedded_host : xstrdup(host);
	c.host_with_port = embedded_host != NULL;
	c.values.port = embedded_port;
	c.url.host = env_value_span(s, c.host);
	fill_parts(s, named ? conv : NULL, &c, c.host_with_port);
	if (c.host_with_port)
		split_host_port_span(svc, e, &c.url.host, &c.url.port);
	push_conn(svc, &c);
}

/* An app of a known image that sets no host variable uses its default
 * host (immich's "database", zabbix's "postgres-server"): when that is the
 * db's own name, it connects through it. A default of localhost proves
 * nothing (n8n and others then run on SQLite). */
static void
try_implicit(StackService *svc, size_t app, const DbTarget *t, const AppConv *conv)
{
	const ComposeService *s = &svc->file.services[app];
	const char *host = conv->names.deflt[PIECE_HOST];
	ConnRef c;

	if (!conv->found || !conv->implicit || !host_names_target(t, host))
		return;
	for (size_t k = 0; k < svc->conn_count; k++)
		if (svc->conns[k].app == app)
			return;
	parts_init(&c, app, conv->anchor, t);
	c.values.host = xstrdup(host);
	fill_parts(s, conv, &c, false);
	push_conn(svc, &c);
}

/* An app reading its user or password from a file (Zabbix's
 * POSTGRES_PASSWORD_FILE): pgfold writes variables, not secret files. */
static void
check_secret_files(StackService *svc, size_t app, const AppConv *conv)
{
	const ComposeService *s = &svc->file.services[app];
	static const ConnPiece pieces[] = { PIECE_USER, PIECE_PASSWORD };

	for (size_t k = 0; conv->found && k < 2; k++)
	{
		char name[200];
		int idx;

		if (conv->names.var[pieces[k]] == NULL ||
			!str_format(name, sizeof(name), "%s_FILE", conv->names.var[pieces[k]]))
			continue;
		if (svc_var(s, name, &idx) != NULL || idx >= 0)
			svc_problem(svc, "%s: reads its database %s from a file (%s); pgfold sets "
						"variables, not secret files: set %s instead and retry", s->key,
						pieces[k] == PIECE_USER ? "user" : "password", name,
						conv->names.var[pieces[k]]);
	}
}

/* ---- settings pgfold cannot edit --------------------------------------------- */

/* A host setting naming the target that lives only in an env_file: the
 * rewriter edits the service file, so migrating would strand the app. */
static void
check_env_files(StackService *svc, size_t app, const DbTarget *t)
{
	const ComposeService *s = &svc->file.services[app];

	for (size_t f = 0; s->env_file_vars && f < s->env_file_count; f++)
	{
		const Dotenv *d = &s->env_file_vars[f];

		for (size_t k = 0; k < d->count; k++)
		{
			const DotenvEntry *de = &d->items[k];

			if (de->key == NULL || de->value == NULL || in_environment(s, de->key))
				continue;

			bool names_db = false;
			ConnUrlParts p;

			if (host_suffix_len(de->key) > 0)
				names_db = host_matches(t, de->value);
			else if (value_has_pg_scheme(de->value) &&
					 split_any(de->value, 0, strlen(de->value), &p))
			{
				char *h = svc_piece(de->value, p.host, false);

				svc_strip_brackets(h);
				names_db = host_matches(t, h);
				free(h);
			}
			if (names_db)
				svc_problem(svc, "%s: %s is set in env_file %s, which pgfold does not edit; "
							"move it into the service's environment:",
							s->key, de->key, s->env_files ? s->env_files[f] : "?");
		}
	}
}

void
conn_find(const Config *cfg, StackService *svc, size_t app, const DbTarget *t)
{
	const ComposeService *s = &svc->file.services[app];
	size_t before = svc->conn_count;
	AppConv conv;

	conv_for_app(svc, app, &conv);
	for (size_t i = 0; i < s->env_count; i++)
		try_url(cfg, svc, app, i, t, &conv);
	for (size_t i = 0; i < s->env_count; i++)
		try_parts(svc, app, i, t, &conv);
	try_implicit(svc, app, t, &conv);
	check_env_files(svc, app, t);
	if (svc->conn_count > before && !t->shared)
	{
		check_secret_files(svc, app, &conv);
		if (conv.note != NULL)
			svc_warn(svc, "%s: %s", s->key, conv.note);
	}
}
