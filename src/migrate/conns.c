/*
 * conns.c — how many connections a service needs, from evidence; see
 * preflight.h (ConnEvidence).
 *
 * A fixed CONNECTION LIMIT was a guess: a stock Zabbix server opens 28
 * sessions and, folded with a limit of 20, logged "too many connections
 * for role" forever while its fold was "verified". So the pre-flight looks
 * at what the dedicated server saw while the apps still run (a few samples
 * of pg_stat_activity through psql in its container), sizes the role with
 * headroom, and refuses when the shared instance cannot hold the limits of
 * every service folded into it.
 */
#include "pgfold/preflight.h"

#include "pgfold/log.h"
#include "pgfold/migrate.h"
#include "pgfold/secrets.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Marks the roles pgfold makes (COMMENT ON ROLE, secrets/role.c). */
#define PGFOLD_ROLE_COMMENT_PREFIX "pgfold:"

int
preflight_conn_limit(bool measured, long peak, long source_max)
{
	long limit;

	if (!measured || peak <= 0)
		return -1;
	limit = 2 * peak > peak + CONN_LIMIT_SLACK ? 2 * peak : peak + CONN_LIMIT_SLACK;
	if (source_max > 0 && limit > source_max)
		limit = source_max > peak ? source_max : peak;
	return limit > INT_MAX ? INT_MAX : (int) limit;
}

/* Who the apps log in as on the source: each app's user, else the db's. */
static void
app_users(const StackService *svc, StrBuf *out)
{
	for (size_t k = 0; k < svc->conn_count; k++)
	{
		const char *u = svc->conns[k].values.user;

		if (svc->conns[k].shared || u == NULL || u[0] == '\0' || strchr(u, '\n') != NULL)
			continue;
		/* each once: "\na\nb\n" */
		StrBuf probe = STRBUF_INIT;
		bool seen;

		sb_appendf(&probe, "\n%s\n", u);
		seen = out->len > 0 && strstr(sb_str(out), sb_str(&probe)) != NULL;
		if (!seen)
			sb_appendf(out, "%s%s\n", out->len ? "" : "\n", u);
		sb_free(&probe);
	}
	if (out->len == 0 && svc->db_user != NULL)
		sb_appendf(out, "\n%s\n", svc->db_user);
}

/* One psql run: settings, then CONN_SAMPLES counts CONN_SAMPLE_MS apart.
 * psql sends each statement on its own, so each count is its own
 * transaction and sees the sessions of that moment (a transaction keeps
 * one snapshot of pg_stat_activity). Only client backends count (the
 * logical replication launcher runs as the bootstrap superuser, often the
 * app's user; backend_type is read through to_jsonb, absent before 10).
 * Our own session, and any other pgfold's, is not the app's. */
static void
sample_sql(StrBuf *sql)
{
	sb_appends(sql, "SELECT 'settings', current_setting('max_connections'), "
			   "current_setting('superuser_reserved_connections');\n"
			   "SELECT 'reserved', coalesce(current_setting('reserved_connections', true), '0'), "
			   "current_setting('port');\n");
	for (int i = 0; i < CONN_SAMPLES; i++)
	{
		if (i > 0)
			sb_appendf(sql, "SELECT 'pause', '', '' FROM pg_catalog.pg_sleep(%d.%03d);\n",
					   CONN_SAMPLE_MS / 1000, CONN_SAMPLE_MS % 1000);
		sb_appends(sql, "SELECT 'sample', count(*)::text, '' FROM pg_catalog.pg_stat_activity a "
				   "WHERE usename = ANY (pg_catalog.string_to_array(:'users', E'\\n')) "
				   "AND coalesce(pg_catalog.to_jsonb(a) ->> 'backend_type', 'client backend') "
				   "= 'client backend' "
				   "AND pid <> pg_catalog.pg_backend_pid() "
				   "AND coalesce(application_name, '') <> '" PG_APPLICATION_NAME "';\n");
	}
}

static bool
sample_source(App *app, const StackService *svc, const char *container, ConnEvidence *ev)
{
	StrBuf users = STRBUF_INIT, var = STRBUF_INIT, sql = STRBUF_INIT;
	PgRows rows = PGROWS_INIT;
	long max = -1, su = -1, reserved = 0, v;
	bool ok;

	app_users(svc, &users);
	sb_appendf(&var, "users=%s", sb_str(&users));
	sample_sql(&sql);
	ok = pgx_query_rows(app->docker, container, svc->db_user, svc->db_name, sb_str(&sql),
						(const char *const[]) { sb_str(&var), NULL }, 3, &rows);
	for (size_t r = 0; ok && r < rows.nrows; r++)
	{
		const char *kind = pg_rows_get(&rows, r, 0);
		const char *a = pg_rows_get(&rows, r, 1), *b = pg_rows_get(&rows, r, 2);

		if (strcmp(kind, "settings") == 0)
		{
			str_to_long(a, 0, 1000000, &max);
			str_to_long(b, 0, 1000000, &su);
		}
		else if (strcmp(kind, "reserved") == 0)
		{
			str_to_long(a, 0, 1000000, &reserved);
			if (str_to_long(b, 1, 65535, &v))
				ev->source_port = v;
		}
		else if (strcmp(kind, "sample") == 0 && str_to_long(a, 0, 1000000, &v))
		{
			ev->measured = true;
			if (v > ev->peak)
				ev->peak = v;
		}
	}
	if (max > 0 && su >= 0)
		ev->source_max = max - su - reserved > 0 ? max - su - reserved : 0;
	pg_rows_free(&rows);
	sb_free(&users);
	sb_free(&var);
	sb_free(&sql);
	return ok;
}

/* The roles of this stack's password files (made by pgfold before roles
 * carried its comment), "/"-separated: a file name holds no '/'. */
static void
password_file_roles(const char *root, StrBuf *out)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *e;

	if (!str_format(dir, sizeof(dir), "%s/%s", root, SECRETS_DIR_REL) || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
	{
		size_t n = strlen(e->d_name);

		if (n > 4 && e->d_name[0] != '.' && strcmp(e->d_name + n - 4, ".txt") == 0)
			sb_appendf(out, "%s%.*s", out->len ? "/" : "", (int) (n - 4), e->d_name);
	}
	closedir(d);
}

/* The shared instance's usable max_connections and the limits of pgfold's
 * roles other than ours. */
static bool
shared_room(App *app, const char *role, ConnEvidence *ev)
{
	static const char sql[] =
		"SELECT current_setting('max_connections')::int "
		"  - current_setting('superuser_reserved_connections')::int "
		"  - coalesce(current_setting('reserved_connections', true), '0')::int, "
		"  (SELECT count(*) FROM pg_catalog.pg_roles r WHERE r.rolconnlimit >= 0 "
		"    AND r.rolname <> $1 AND (pg_catalog.shobj_description(r.oid, 'pg_authid') "
		"    LIKE '" PGFOLD_ROLE_COMMENT_PREFIX "%' "
		"    OR r.rolname = ANY (pg_catalog.string_to_array($2, '/')))), "
		"  (SELECT coalesce(sum(r.rolconnlimit), 0) FROM pg_catalog.pg_roles r "
		"    WHERE r.rolconnlimit >= 0 AND r.rolname <> $1 "
		"    AND (pg_catalog.shobj_description(r.oid, 'pg_authid') "
		"    LIKE '" PGFOLD_ROLE_COMMENT_PREFIX "%' "
		"    OR r.rolname = ANY (pg_catalog.string_to_array($2, '/'))))";
	StrBuf names = STRBUF_INIT;
	PGresult *res = NULL;
	bool ok;

	password_file_roles(app->cfg.root, &names);
	ok = pg_query(app->shared, "read the connection limits of the shared instance", sql, 2,
				  (const char *const[]) { role, sb_str(&names) }, &res);
	if (ok && PQntuples(res) == 1)
	{
		str_to_long(PQgetvalue(res, 0, 0), -1000000, 1000000, &ev->shared_usable);
		str_to_long(PQgetvalue(res, 0, 1), 0, LONG_MAX, &ev->shared_roles);
		str_to_long(PQgetvalue(res, 0, 2), 0, LONG_MAX, &ev->shared_committed);
	}
	if (res != NULL)
		PQclear(res);
	sb_free(&names);
	return ok;
}

/* The app's setting that holds the port, for a warning. */
static const char *
port_setting(const StackService *svc, const ConnRef *c)
{
	const ComposeService *s = &svc->file.services[c->app];
	int idx = c->kind == CONN_PARTS && !c->host_with_port ? c->port : c->var;

	if (c->kind == CONN_PARTS && c->host_with_port)
		idx = c->host;
	return idx >= 0 && (size_t) idx < s->env_count ? s->env[idx].name : "its port setting";
}

/* An app that names a port the source does not listen on would not reach
 * it today either: worth a look, as plan always said, but now against the
 * port the server really uses (PGPORT, -c port=, command:). */
static void
check_ports(Preflight *pf, const StackService *svc)
{
	long port = pf->conns.source_port;

	if (port <= 0)
		return;
	for (size_t k = 0; k < svc->conn_count; k++)
	{
		const ConnRef *c = &svc->conns[k];

		if (!c->shared && c->values.port > 0 && c->values.port != port)
			preflight_add(pf, "connections", CHECK_WARN,
						  "%s: %s uses port %d; the db container listens on %ld",
						  svc->file.services[c->app].key, port_setting(svc, c), c->values.port,
						  port);
	}
}

static void
describe_limit(Preflight *pf, const StackService *svc)
{
	const ConnEvidence *ev = &pf->conns;
	StrBuf s = STRBUF_INIT;

	if (ev->measured)
		sb_appendf(&s, "peak %ld session(s) of the app's user in %d samples over %.1f s; ",
				   ev->peak, CONN_SAMPLES, (CONN_SAMPLES - 1) * CONN_SAMPLE_MS / 1000.0);
	else
		sb_appends(&s, "sessions not measured (the source did not answer); ");
	if (ev->source_max >= 0)
		sb_appendf(&s, "%s allows %ld (max_connections minus reserved)", pf->db_container
				   ? pf->db_container->name : svc->db_container, ev->source_max);
	if (ev->source_port > 0)
		sb_appendf(&s, ", listens on port %ld", ev->source_port);
	if (ev->overridden)
		sb_appendf(&s, "; role limit %d (--connection-limit)", ev->limit);
	else if (ev->limit < 0)
		sb_appends(&s, "; role without a connection limit (no session seen: nothing to size it by)");
	else
		sb_appendf(&s, "; role limit %d (max(2 x %ld, %ld + %d)%s)", ev->limit, ev->peak,
				   ev->peak, CONN_LIMIT_SLACK,
				   ev->source_max > 0 && ev->limit == ev->source_max && ev->limit < 2 * ev->peak
				   ? ", capped at the source's max" : "");
	preflight_add(pf, "connections", CHECK_OK, "%s", sb_str(&s));
	sb_free(&s);
}

/* The limits of every service folded into the shared instance, ours
 * included, must fit in what it accepts. */
static void
check_room(Preflight *pf, App *app)
{
	const ConnEvidence *ev = &pf->conns;
	long ours = ev->limit > 0 ? ev->limit : 0;
	long need = ev->shared_committed + ours;

	if (ev->shared_usable < 0)
		return;
	if (need > ev->shared_usable)
		preflight_add(pf, "shared connections", CHECK_BLOCK,
					  "the connection limits of the %ld role(s) pgfold folded into the shared "
					  "instance (%ld) plus this one's (%ld) come to %ld, more than the %ld "
					  "connections it accepts (max_connections minus reserved): raise "
					  "max_connections on the shared instance%s%s (then restart it), or give "
					  "this role a smaller --connection-limit",
					  ev->shared_roles, ev->shared_committed, ours, need, ev->shared_usable,
					  app->cfg.shared_container[0] ? ", container " : "",
					  app->cfg.shared_container);
	else
		preflight_add(pf, "shared connections", CHECK_OK,
					  "%ld of %ld connections committed to pgfold's %ld other role(s); this "
					  "one adds %ld", ev->shared_committed, ev->shared_usable, ev->shared_roles,
					  ours);
}

void
preflight_connections(App *app, const StackService *svc, const PreflightOptions *opts,
					  Preflight *pf)
{
	ConnEvidence *ev = &pf->conns;

	ev->source_max = ev->source_port = ev->shared_usable = -1;
	if (pf->db_container != NULL && pf->source.known)
		sample_source(app, svc, pf->db_container->id, ev);
	ev->overridden = opts->connection_limit != CONN_LIMIT_FROM_EVIDENCE;
	ev->limit = ev->overridden ? opts->connection_limit
		: preflight_conn_limit(ev->measured, ev->peak, ev->source_max);
	describe_limit(pf, svc);
	check_ports(pf, svc);
	if (pf->shared_reachable && app->shared != NULL && pf->names.role[0] != '\0'
		&& shared_room(app, pf->names.role, ev))
		check_room(pf, app);
}
