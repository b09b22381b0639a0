/*
 * proof.c — the steps about the apps' connections: "connections" journals
 * what the pre-flight measured (a resumed run sizes the role by it, not by
 * a new look at apps it has stopped meanwhile), and "proof" logs in as each
 * app would once compose has recreated it.
 *
 * The proof takes the settings from the recreated container itself (its
 * Config.Env: what compose resolved from the service file and .env, which is
 * exactly what the app got), maps host/port to how pgfold reaches the shared
 * instance (PGFOLD_SHARED_HOST:PORT in the app's view is PG_HOST:PG_PORT in
 * pgfold's), and runs a query as that role. A failure names the app and the
 * setting at fault; the data is then on the shared instance and the run is
 * not complete, so a re-run (after the fix) recreates the apps and proves
 * again, and rollback undoes it as any interrupted run.
 */
#include "run_internal.h"

#include "pgfold/appconfig.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/secrets.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
step_connections(Run *r)
{
	json_t *done = journal_step_done(&r->journal, r->run_id, MIG_STEP_CONNS);
	const ConnEvidence *ev = &r->pf.conns;

	if (done != NULL)
	{
		json_t *limit = json_object_get(done, "limit");

		r->conn_limit = json_is_integer(limit) ? (int) json_integer_value(limit) : -1;
		return true;
	}
	r->conn_limit = ev->limit;
	log_info("connections of %s: measured %s, peak %ld, source max %ld, source port %ld, "
			 "role limit %d%s, shared instance %ld usable, %ld committed", r->svc->name,
			 ev->measured ? "yes" : "no", ev->peak, ev->source_max, ev->source_port, ev->limit,
			 ev->overridden ? " (--connection-limit)" : "", ev->shared_usable,
			 ev->shared_committed);

	json_t *f = json_pack("{s:b, s:I, s:i, s:i, s:I, s:I, s:i, s:b, s:I, s:I}",
						  "measured", ev->measured, "peak", (json_int_t) ev->peak,
						  "samples", CONN_SAMPLES, "sample_ms", CONN_SAMPLE_MS,
						  "source_max", (json_int_t) ev->source_max,
						  "source_port", (json_int_t) ev->source_port,
						  "limit", ev->limit, "override", ev->overridden,
						  "shared_usable", (json_int_t) ev->shared_usable,
						  "shared_committed", (json_int_t) ev->shared_committed);
	bool ok = run_record(r, MIG_STEP_CONNS, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}

/* ---- the proof ----------------------------------------------------------- */

typedef struct AppSettings
{
	char *v[PIECE_COUNT];            /* as the app got them; NULL = unset */
	const char *name[PIECE_COUNT];   /* the variable that holds each */
} AppSettings;

static void
settings_free(AppSettings *s)
{
	for (int p = 0; p < PIECE_COUNT; p++)
	{
		if (s->v[p] != NULL)
			explicit_bzero(s->v[p], strlen(s->v[p]));
		free(s->v[p]);
	}
}

static int
hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
		return (ch | 0x20) - 'a' + 10;
	return -1;
}

static char *
percent_decode(const char *s, size_t n)
{
	StrBuf out = STRBUF_INIT;

	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0)
		{
			sb_appendc(&out, (char) (hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
			i += 2;
		}
		else
			sb_appendc(&out, s[i]);
	}
	return sb_steal(&out);
}

static char *
span_value(const char *bytes, Span sp, bool decode)
{
	if (sp.end <= sp.start)
		return NULL;
	return decode ? percent_decode(bytes + sp.start, sp.end - sp.start)
		: strndup(bytes + sp.start, sp.end - sp.start);
}

/* The variable of piece p in the app's model (set in the file, or the name
 * the fold adds it under). */
static const char *
piece_var(const StackService *svc, const ConnRef *c, ConnPiece p)
{
	const ComposeService *s = &svc->file.services[c->app];
	int idx[PIECE_COUNT] = { c->host, c->port, c->user, c->password, c->dbname };
	bool apart = c->kind == CONN_PARTS
		|| (c->split_credentials && (p == PIECE_USER || p == PIECE_PASSWORD));

	if (!apart)
		return c->var >= 0 && (size_t) c->var < s->env_count ? s->env[c->var].name : NULL;
	if (c->host_with_port && p == PIECE_PORT)
		return piece_var(svc, c, PIECE_HOST);
	if (idx[p] >= 0 && (size_t) idx[p] < s->env_count)
		return s->env[idx[p]].name;
	return c->names.var[p];
}

/* host:port in one value (Gitea); an IPv6 literal keeps its brackets off. */
static void
split_host_port(AppSettings *s)
{
	char *h = s->v[PIECE_HOST], *colon;

	if (h == NULL || (colon = strrchr(h, ':')) == NULL || (h[0] == '[' && colon < strchr(h, ']')))
		return;
	free(s->v[PIECE_PORT]);
	s->v[PIECE_PORT] = xstrdup(colon + 1);
	*colon = '\0';
}

/* What the recreated container of c's app holds, piece by piece. */
static void
read_settings(const StackService *svc, const ConnRef *c, json_t *inspect, AppSettings *s)
{
	for (int p = 0; p < PIECE_COUNT; p++)
		s->name[p] = piece_var(svc, c, (ConnPiece) p);
	if (c->kind == CONN_PARTS)
	{
		for (int p = 0; p < PIECE_COUNT; p++)
		{
			const char *v = s->name[p] ? docker_inspect_env(inspect, s->name[p]) : NULL;

			if (v != NULL && !(c->host_with_port && p == PIECE_PORT))
				s->v[p] = xstrdup(v);
		}
		if (c->host_with_port)
			split_host_port(s);
	}
	else
	{
		const char *url = s->name[PIECE_HOST] ? docker_inspect_env(inspect, s->name[PIECE_HOST]) : NULL;
		ConnUrlParts parts;
		bool split = url != NULL && (c->kind == CONN_NOCODB
									 ? service_split_nocodb(url, 0, strlen(url), &parts)
									 : service_split_url(url, 0, strlen(url), &parts));

		if (split)
		{
			Span sp[PIECE_COUNT] = { parts.host, parts.port, parts.user, parts.password, parts.dbname };

			for (int p = 0; p < PIECE_COUNT; p++)
				s->v[p] = span_value(url, sp[p], p != PIECE_PORT);
			if (s->v[PIECE_HOST] != NULL && s->v[PIECE_HOST][0] == '[')
			{
				size_t n = strlen(s->v[PIECE_HOST]);

				memmove(s->v[PIECE_HOST], s->v[PIECE_HOST] + 1, n);
				if (n >= 2 && s->v[PIECE_HOST][n - 2] == ']')
					s->v[PIECE_HOST][n - 2] = '\0';
			}
		}
		for (int p = PIECE_USER; c->split_credentials && p <= PIECE_PASSWORD; p++)
		{
			const char *v = s->name[p] ? docker_inspect_env(inspect, s->name[p]) : NULL;

			free(s->v[p]);
			s->v[p] = v ? xstrdup(v) : NULL;
		}
	}
	/* what the app assumes for a setting it is not given */
	for (int p = 0; p < PIECE_COUNT; p++)
	{
		if ((s->v[p] == NULL || s->v[p][0] == '\0') && c->names.deflt[p] != NULL)
		{
			free(s->v[p]);
			s->v[p] = xstrdup(c->names.deflt[p]);
		}
	}
	if (s->v[PIECE_PORT] == NULL || s->v[PIECE_PORT][0] == '\0')
	{
		free(s->v[PIECE_PORT]);
		s->v[PIECE_PORT] = xstrdup("5432");   /* libpq's, and nearly every client's */
	}
}

/* The running container of app service key in the run's project. */
static bool
find_app_container(Run *r, const char *key, json_t **inspect)
{
	char project[300], service[300];
	json_t *list = NULL;
	bool found = false, ok;

	*inspect = NULL;
	str_format(project, sizeof(project), "com.docker.compose.project=%s", r->project);
	str_format(service, sizeof(service), "com.docker.compose.service=%s", key);

	DockerFilter filter = { .labels = (const char *const[]) { project, service, NULL },
							.status = "running" };

	ok = docker_list_containers(r->app->docker, &filter, &list);
	if (ok && json_array_size(list) > 0)
	{
		const char *id = json_string_value(json_object_get(json_array_get(list, 0), "Id"));

		ok = id != NULL && docker_inspect_container(r->app->docker, id, inspect, &found) && found;
	}
	json_decref(list);
	return ok && *inspect != NULL;
}

static const char *const piece_words[PIECE_COUNT] = { "host", "port", "user", "password", "database" };

static bool
proof_failed(Run *r, const char *app, const AppSettings *s, ConnPiece p, const char *why)
{
	log_error("connection proof failed for app %s: %s (%s, as compose gave it to the "
			  "container) %s; the data is on the shared instance and %s points at it: fix the "
			  "setting and re-run `pgfold migrate %s` (it recreates the apps and proves again), "
			  "or `pgfold rollback %s`", app, piece_words[p], s->name[p] ? s->name[p] : "unset",
			  why, r->svc->path, r->svc->name, r->svc->name);
	exit_hint_set(EXIT_VERIFY);
	return false;
}

/* A query as the role, on its database: who am I, and one of its tables. */
static bool
query_as_app(Run *r, const char *app, const AppSettings *s, PGconn *conn)
{
	static const char who[] = "SELECT current_user, current_database()";
	static const char table[] =
		"SELECT pg_catalog.format('SELECT count(*) FROM (SELECT 1 FROM %I.%I LIMIT 1) t', "
		"n.nspname, c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
		"ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND pg_catalog.has_table_privilege(c.oid, 'SELECT') ORDER BY 1 LIMIT 1";
	PGresult *res = NULL;
	StrBuf read = STRBUF_INIT;
	bool ok = pg_query(conn, "connection proof", who, 0, NULL, &res) && PQntuples(res) == 1;

	if (ok && (strcmp(PQgetvalue(res, 0, 0), s->v[PIECE_USER]) != 0
			   || strcmp(PQgetvalue(res, 0, 1), s->v[PIECE_DBNAME]) != 0))
		ok = proof_failed(r, app, s, PIECE_USER, "logs in as another role than it names");
	if (res != NULL)
		PQclear(res);
	res = NULL;
	if (ok && pg_query(conn, "connection proof: find a table", table, 0, NULL, &res)
		&& PQntuples(res) == 1)
	{
		sb_appends(&read, PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
		ok = pg_query(conn, "connection proof: read a table", sb_str(&read), 0, NULL, &res);
		if (ok)
			log_info("connection proof: %s read %s", app, sb_str(&read));
	}
	if (res != NULL)
		PQclear(res);
	sb_free(&read);
	return ok;
}

/* Checked as the admin first, so that the error names the setting; then a
 * real login with exactly those values. */
static bool
prove_one(Run *r, const char *app, const AppSettings *s)
{
	const Config *cfg = &r->app->cfg;
	char want_port[16];
	bool exists = false, matches = false;
	PGconn *conn = NULL;
	StrBuf err = STRBUF_INIT, why = STRBUF_INIT;
	bool ok;

	str_format(want_port, sizeof(want_port), "%d", cfg->shared_port);
	if (s->v[PIECE_HOST] == NULL || strcasecmp(s->v[PIECE_HOST], cfg->shared_host) != 0)
	{
		sb_appendf(&why, "is \"%s\", not the shared instance's PGFOLD_SHARED_HOST \"%s\"",
				   s->v[PIECE_HOST] ? s->v[PIECE_HOST] : "", cfg->shared_host);
		ok = proof_failed(r, app, s, PIECE_HOST, sb_str(&why));
		goto out;
	}
	if (strcmp(s->v[PIECE_PORT], want_port) != 0)
	{
		sb_appendf(&why, "is %s, not the shared instance's PGFOLD_SHARED_PORT %s",
				   s->v[PIECE_PORT], want_port);
		ok = proof_failed(r, app, s, PIECE_PORT, sb_str(&why));
		goto out;
	}
	if (s->v[PIECE_USER] == NULL || !pg_role_exists(r->app->shared, s->v[PIECE_USER], &exists)
		|| !exists)
	{
		sb_appendf(&why, "names role \"%s\", which does not exist on the shared instance "
				   "(the fold made \"%s\")", s->v[PIECE_USER] ? s->v[PIECE_USER] : "",
				   r->names.role);
		ok = proof_failed(r, app, s, PIECE_USER, sb_str(&why));
		goto out;
	}
	if (s->v[PIECE_DBNAME] == NULL
		|| !pg_database_exists(r->app->shared, s->v[PIECE_DBNAME], &exists) || !exists)
	{
		sb_appendf(&why, "names database \"%s\", which does not exist on the shared instance "
				   "(the fold made \"%s\")", s->v[PIECE_DBNAME] ? s->v[PIECE_DBNAME] : "",
				   r->names.db);
		ok = proof_failed(r, app, s, PIECE_DBNAME, sb_str(&why));
		goto out;
	}
	if (s->v[PIECE_PASSWORD] == NULL
		|| !secrets_password_matches(r->app->shared, s->v[PIECE_USER], s->v[PIECE_PASSWORD],
									 &matches) || !matches)
	{
		sb_appendf(&why, "does not log in as role \"%s\"%s", s->v[PIECE_USER],
				   s->v[PIECE_PASSWORD] ? "" : " (it is unset)");
		ok = proof_failed(r, app, s, PIECE_PASSWORD, sb_str(&why));
		goto out;
	}

	PgConnParams params = { .host = cfg->pg_host, .port = cfg->pg_port,
							.user = s->v[PIECE_USER], .password = s->v[PIECE_PASSWORD],
							.dbname = s->v[PIECE_DBNAME] };

	if (!pg_connect_params(&params, &conn, &err))
	{
		sb_appendf(&why, "with the other settings does not log in at %s:%d: %s", cfg->pg_host,
				   cfg->pg_port, sb_str(&err));
		ok = proof_failed(r, app, s, PIECE_HOST, sb_str(&why));
		goto out;
	}
	ok = query_as_app(r, app, s, conn);
	if (ok)
		log_notice("connection proof: %s logs in as \"%s\" on \"%s\" and reads its data",
				   app, s->v[PIECE_USER], s->v[PIECE_DBNAME]);
out:
	pg_disconnect(conn);
	sb_free(&err);
	sb_free(&why);
	return ok;
}

static bool
record_proof(Run *r, bool proved, const char *why, json_t *apps)
{
	json_t *f = json_pack("{s:b, s:s?, s:O}", "proved", proved, "not_done", why, "apps", apps);
	bool ok = run_record(r, MIG_STEP_PROOF, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}

/* Apps configured by their own files (appfiles.c): each file the fold
 * rewrote, read from disk now as its app reads it, must log in as well. */
static bool
prove_app_files(Run *r, json_t *apps)
{
	json_t *files = journal_step_done(&r->journal, r->run_id, MIG_STEP_FILES);
	json_t *list = files ? json_object_get(files, "app_files") : NULL, *e;
	size_t i;
	bool ok = true;

	json_array_foreach(list, i, e)
	{
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *app = json_string_value(json_object_get(e, "app"));
		char labels[PIECE_COUNT][PATH_MAX + 64], rel[PATH_MAX];
		const char *names[PIECE_COUNT];
		StrBuf bytes = STRBUF_INIT;
		AppSettings s;

		if (path == NULL || app == NULL)
			continue;
		memset(&s, 0, sizeof(s));
		if (!fs_relative_to(r->app->cfg.root, path, rel, sizeof(rel)))
			str_copy(rel, sizeof(rel), path);
		ok = fs_read_file(path, APPCONFIG_MAX_BYTES, &bytes)
			&& appconfig_read(appconfig_format(path, sb_str(&bytes), bytes.len), path,
							  sb_str(&bytes), bytes.len, s.v, names);
		sb_free_secret(&bytes);
		if (!ok)
		{
			log_error("connection proof failed for app %s: %s cannot be read as it was written "
					  "(see above); fix it and re-run `pgfold migrate %s`, or `pgfold rollback %s`",
					  app, rel, r->svc->name, r->svc->name);
			exit_hint_set(EXIT_VERIFY);
			settings_free(&s);
			break;
		}
		for (int p = 0; p < PIECE_COUNT; p++)
		{
			str_format(labels[p], sizeof(labels[p]), "%s in %s", names[p] ? names[p] : "?", rel);
			s.name[p] = labels[p];
		}
		ok = prove_one(r, app, &s);
		if (ok)
			json_array_append_new(apps, json_pack("{s:s, s:s, s:s, s:s}", "app", app, "file", rel,
												  "user", s.v[PIECE_USER],
												  "database", s.v[PIECE_DBNAME]));
		settings_free(&s);
		if (!ok)
			break;
	}
	return ok;
}

bool
step_proof(Run *r)
{
	json_t *apps;
	bool ok = true;

	if (journal_step_done(&r->journal, r->run_id, MIG_STEP_PROOF) != NULL)
		return true;
	apps = json_array();
	if (r->opts->no_apply || r->opts->keep_app_stopped)
	{
		r->proof_skipped = true;
		log_warn("connection proof not done: the apps were not started (%s); once they run, "
				 "check that they log in", r->opts->no_apply ? "--no-apply" : "--keep-app-stopped");
		ok = record_proof(r, false, "apps not started", apps);
		json_decref(apps);
		return ok;
	}
	for (size_t k = 0; ok && k < r->svc->conn_count; k++)
	{
		const ConnRef *c = &r->svc->conns[k];
		const char *key = r->svc->file.services[c->app].key;
		AppSettings s;
		json_t *inspect = NULL;

		memset(&s, 0, sizeof(s));
		/* the original file's model: an app already on the shared instance
		 * is not this fold's */
		if (c->shared && r->svc->db_service >= 0)
			continue;
		if (!find_app_container(r, key, &inspect))
		{
			log_error("connection proof failed for app %s: no running container of it in "
					  "project %s after compose up; see `docker ps -a` and its logs, then re-run "
					  "`pgfold migrate %s` or `pgfold rollback %s`", key, r->project,
					  r->svc->name, r->svc->name);
			exit_hint_set(EXIT_VERIFY);
			ok = false;
			break;
		}
		read_settings(r->svc, c, inspect, &s);
		ok = prove_one(r, key, &s);
		if (ok)
			json_array_append_new(apps, json_pack("{s:s, s:s, s:s}", "app", key,
												  "user", s.v[PIECE_USER],
												  "database", s.v[PIECE_DBNAME]));
		settings_free(&s);
		json_decref(inspect);
	}
	ok = ok && prove_app_files(r, apps);
	if (ok)
		ok = record_proof(r, true, NULL, apps);
	json_decref(apps);
	return ok;
}
