/*
 * classify.c — which compose service of a file is its dedicated postgres,
 * what compose calls its container, which user and database it was set up
 * with, and which app services connect to it (connection.c).
 *
 * The db service is found by image family first. Homelab files often run
 * helpers from the same image (and the demo stack runs its placeholder
 * apps from it), so among several postgres-image services the one that
 * looks like a server wins: it carries POSTGRES_* server settings and no
 * client settings of its own (DATABASE_URL, *_HOST). Only when no service
 * runs a known image do POSTGRES_USER / _PASSWORD / _DB alone identify it.
 * More than one candidate left is a problem the operator must resolve.
 *
 * Credentials: the app side is what must keep working, so when an app's
 * user, database or password differs from the db's POSTGRES_* (which only
 * apply when the data volume is first created) that is a warning and the
 * app's values win. A db that no app setting points at is a problem:
 * removing it would strand whatever uses it in a way we cannot see.
 */
#include "internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgfold/log.h"

/* ---- small list and message helpers ----------------------------------------- */

void
strlist_add_unique(char ***list, size_t *count, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return;
	for (size_t i = 0; i < *count; i++)
		if (strcmp((*list)[i], s) == 0)
			return;
	*list = xrealloc(*list, *count + 1, sizeof(char *));
	(*list)[(*count)++] = xstrdup(s);
}

void
strlist_free(char ***list, size_t *count)
{
	for (size_t i = 0; i < *count; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*count = 0;
}

void
svc_warn(StackService *svc, const char *fmt, ...)
{
	StrBuf sb = STRBUF_INIT;
	va_list ap;
	char small[1024];

	va_start(ap, fmt);
	vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	sb_appends(&sb, small);
	svc->warnings = xrealloc(svc->warnings, svc->warning_count + 1, sizeof(char *));
	svc->warnings[svc->warning_count++] = sb_steal(&sb);
}

/* The first problem wins: it is the one the operator must fix first. */
void
svc_problem(StackService *svc, const char *fmt, ...)
{
	va_list ap;
	char small[1024];

	if (svc->problem)
		return;
	va_start(ap, fmt);
	vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	svc->problem = xstrdup(small);
}

/* ---- project names ------------------------------------------------------------- */

static bool
normalize_project(const char *in, bool strip_leading, char *out, size_t outsize)
{
	size_t o = 0;

	if (in == NULL || outsize == 0)
		return false;
	for (const char *p = in; *p; p++)
	{
		char c = (*p >= 'A' && *p <= 'Z') ? (char) (*p - 'A' + 'a') : *p;
		bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';

		if (!keep || (strip_leading && o == 0 && (c == '_' || c == '-')))
			continue;
		if (o + 1 >= outsize)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0;
}

bool
service_project_name(const char *dirname, char *out, size_t outsize)
{
	return normalize_project(dirname, true, out, outsize);
}

/* The last path component of dir ("/a/b/" → "b"), resolved when it is "."
 * or "..". */
static bool
dir_basename(const char *dir, char *out, size_t outsize)
{
	char real[PATH_MAX];

	if (dir == NULL || dir[0] == '\0')
		return false;

	const char *d = dir;
	size_t n = strlen(d);

	while (n > 1 && d[n - 1] == '/')
		n--;

	const char *slash = memrchr(d, '/', n);
	const char *base = slash ? slash + 1 : d;
	size_t bl = (size_t) (d + n - base);

	if ((bl == 1 && base[0] == '.') || (bl == 2 && base[0] == '.' && base[1] == '.'))
	{
		if (realpath(dir, real) == NULL)
			return false;
		return dir_basename(real, out, outsize);
	}
	if (bl + 1 > outsize)
		return false;
	memcpy(out, base, bl);
	out[bl] = '\0';
	return true;
}

static void
add_project_variants(StackService *svc, const char *name)
{
	char p[256];

	/* compose v2 drops leading '-'/'_', 1.29 keeps them: record both */
	if (normalize_project(name, true, p, sizeof(p)))
		strlist_add_unique(&svc->projects, &svc->project_count, p);
	if (normalize_project(name, false, p, sizeof(p)))
		strlist_add_unique(&svc->projects, &svc->project_count, p);
}

static void
compute_projects(const Config *cfg, StackService *svc)
{
	char base[PATH_MAX];

	if (cfg)
	{
		const char *env = config_lookup(cfg, "COMPOSE_PROJECT_NAME");

		if (env && env[0])
			add_project_variants(svc, env);
	}
	/* pgfold runs compose with --project-directory <root>, as OnRamp-style
	 * stacks do: the root's name first; the file's directory is compose's
	 * default when an operator runs `-f services/x.yml` alone */
	if (cfg && dir_basename(cfg->root, base, sizeof(base)))
		add_project_variants(svc, base);

	/* file.dir is the project directory compose was given; the file's own
	 * directory is what compose defaults to without one */
	char filedir[PATH_MAX];
	const char *slash = svc->path ? strrchr(svc->path, '/') : NULL;

	if (slash != NULL && (size_t) (slash - svc->path) < sizeof(filedir))
	{
		memcpy(filedir, svc->path, (size_t) (slash - svc->path));
		filedir[slash - svc->path] = '\0';
		if (dir_basename(filedir, base, sizeof(base)))
			add_project_variants(svc, base);
	}
	else if (dir_basename(svc->file.dir, base, sizeof(base)))
		add_project_variants(svc, base);
}

#define META_DBNAME "database_name"

/* ---- which service is the db ---------------------------------------------------- */

static const char *const server_vars[] = {
	"POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_HOST_AUTH_METHOD",
	"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_INITDB_ARGS", "PGDATA", NULL
};

static bool
has_server_env(const ComposeService *s)
{
	for (size_t i = 0; server_vars[i]; i++)
	{
		int idx;

		if (svc_var(s, server_vars[i], &idx) != NULL || idx >= 0)
			return true;
	}
	return false;
}

typedef struct Candidates
{
	size_t idx[64];
	size_t count;
	size_t total;   /* may exceed what idx holds */
} Candidates;

static void
cand_add(Candidates *c, size_t i)
{
	if (c->count < sizeof(c->idx) / sizeof(c->idx[0]))
		c->idx[c->count++] = i;
	c->total++;
}

static void
report_ambiguous(StackService *svc, const Candidates *c)
{
	StrBuf sb = STRBUF_INIT;

	if (c->total == 2)
		sb_appends(&sb, "two postgres services: ");
	else
		sb_appendf(&sb, "%zu postgres services: ", c->total);
	for (size_t i = 0; i < c->count; i++)
		sb_appendf(&sb, "%s%s", i ? ", " : "", svc->file.services[c->idx[i]].key);
	/* stack_load splits such a file (one entry per db); this is a file read alone */
	sb_appends(&sb, " (address each as FILE/DBSERVICE)");
	svc_problem(svc, "%s", sb_str(&sb));
	sb_free(&sb);
}

typedef struct DbCandidates
{
	Candidates family, strong, nonclient, byenv;
} DbCandidates;

/* The services that may be the dedicated db, strongest evidence first;
 * NULL when none. */
static const Candidates *
pick_db_candidates(const StackService *svc, DbCandidates *dc, bool *by_env)
{
	const ComposeFile *f = &svc->file;
	Candidates *family = &dc->family, *strong = &dc->strong;
	Candidates *nonclient = &dc->nonclient, *byenv = &dc->byenv;

	memset(dc, 0, sizeof(*dc));
	*by_env = false;

	for (size_t i = 0; i < f->service_count; i++)
	{
		const ComposeService *s = &f->services[i];
		bool client = svc_is_client(s);

		if (service_image_is_postgres(s->image, NULL))
		{
			cand_add(family, i);
			if (!client)
				cand_add(nonclient, i);
			if (!client && has_server_env(s))
				cand_add(strong, i);
		}
		else if (!client && has_server_env(s))
			cand_add(byenv, i);
	}

	const Candidates *pick = NULL;
	/* A file pgfold migrated names the shared instance in its header: any
	 * postgres-image service left in it without server settings is an app
	 * or a tool run from that image, not a forgotten dedicated database. */
	bool migrated = svc->meta_database != NULL && strcmp(svc->meta_database, "postgres") == 0;

	if (strong->total > 0)
		pick = strong;
	else if (migrated)
		pick = NULL;
	else if (nonclient->total > 0)
		pick = nonclient;
	else if (family->total > 0)
		pick = family;
	else if (byenv->total > 0)
	{
		pick = byenv;
		*by_env = true;
	}
	return pick;
}

/* Index of the db service, -1 when none (or ambiguous: problem set). An
 * entry of a split file (db_key) has its db fixed: -1 once it is folded. */
static int
find_db_service(StackService *svc, bool *by_env)
{
	DbCandidates dc;
	const Candidates *pick = pick_db_candidates(svc, &dc, by_env);

	if (svc->db_key != NULL)
	{
		for (size_t i = 0; pick != NULL && i < pick->count; i++)
			if (strcmp(svc->file.services[pick->idx[i]].key, svc->db_key) == 0)
				return (int) pick->idx[i];
		*by_env = false;
		return -1;
	}
	if (pick == NULL)
		return -1;
	if (pick->total > 1)
	{
		report_ambiguous(svc, pick);
		return -1;
	}
	return (int) pick->idx[0];
}

/* ---- the db's settings ------------------------------------------------------------ */

static void
fill_db(const Config *cfg, StackService *svc, bool by_env)
{
	const ComposeService *db = &svc->file.services[svc->db_service];
	char name[512];

	svc->db_image = db->image ? xstrdup(db->image) : NULL;
	svc->db_image_family = service_image_family(db->image);
	service_image_is_postgres(db->image, &svc->db_image_major);
	if (by_env)
		svc_warn(svc, "%s: recognised as postgres by its POSTGRES_* settings; image '%s' is "
				 "not one pgfold knows, so its major is unknown", db->key,
				 db->image ? db->image : "(none)");

	if (db->container_name)
		strlist_add_unique(&svc->db_container_candidates,
						   &svc->db_container_candidate_count, db->container_name);
	else if (db->container_name_raw)
	{
		svc_warn(svc, "%s: container_name '%s' does not resolve; using it as written",
				 db->key, db->container_name_raw);
		strlist_add_unique(&svc->db_container_candidates,
						   &svc->db_container_candidate_count, db->container_name_raw);
	}
	else
	{
		for (size_t p = 0; p < svc->project_count; p++)
		{
			if (str_format(name, sizeof(name), "%s-%s-1", svc->projects[p], db->key))
				strlist_add_unique(&svc->db_container_candidates,
								   &svc->db_container_candidate_count, name);
			if (str_format(name, sizeof(name), "%s_%s_1", svc->projects[p], db->key))
				strlist_add_unique(&svc->db_container_candidates,
								   &svc->db_container_candidate_count, name);
		}
	}
	if (svc->db_container_candidate_count > 0)
		svc->db_container = xstrdup(svc->db_container_candidates[0]);

	const char *user = svc_var(db, "POSTGRES_USER", &svc->db_env_user);
	const char *dbname = svc_var(db, "POSTGRES_DB", &svc->db_env_db);

	svc_var(db, "POSTGRES_PASSWORD", &svc->db_env_password);
	svc->db_user = xstrdup(user && user[0] ? user : "postgres");
	svc->db_name = xstrdup(dbname && dbname[0] ? dbname : svc->db_user);
	(void) cfg;
}

/* ---- connections ---------------------------------------------------------------- */

static void
find_connections(const Config *cfg, StackService *svc)
{
	const char *names[64];
	size_t n = 0;
	DbTarget t;

	memset(&t, 0, sizeof(t));
	if (svc->db_service >= 0)
	{
		const ComposeService *db = &svc->file.services[svc->db_service];

		names[n++] = db->key;
		if (db->container_name_raw && !db->container_name)
			names[n++] = db->container_name_raw;
		for (size_t i = 0; i < svc->db_container_candidate_count && n < 64; i++)
			names[n++] = svc->db_container_candidates[i];
		t.db = svc->db_service;
	}
	else
	{
		/* a migrated file: its apps point at the shared instance */
		names[n++] = cfg && cfg->shared_host[0] ? cfg->shared_host : "postgres";
		if (cfg && cfg->shared_container[0])
			names[n++] = cfg->shared_container;
		t.shared = true;
		t.db = -1;
	}
	t.names = names;
	t.count = n;

	for (size_t i = 0; i < svc->file.service_count; i++)
		if ((int) i != svc->db_service)
			conn_find(cfg, svc, i, &t);
}

/* ---- analysis --------------------------------------------------------------------- */

void
service_analysis_clear(StackService *svc)
{
	free(svc->problem);
	svc->problem = NULL;
	svc->meta_database = svc->meta_database_name = NULL;
	memset(&svc->meta_names, 0, sizeof(svc->meta_names));
	svc->meta_url = NULL;
	svc->db_service = -1;
	free(svc->db_container);
	free(svc->db_image);
	free(svc->db_user);
	free(svc->db_name);
	svc->db_container = svc->db_image = svc->db_user = svc->db_name = NULL;
	svc->db_image_family = NULL;
	svc->db_image_major = -1;
	svc->db_env_user = svc->db_env_password = svc->db_env_db = -1;
	strlist_free(&svc->db_container_candidates, &svc->db_container_candidate_count);
	strlist_free(&svc->projects, &svc->project_count);
	for (size_t i = 0; i < svc->conn_count; i++)
		conn_ref_free(&svc->conns[i]);
	free(svc->conns);
	svc->conns = NULL;
	svc->conn_count = 0;
	svc->no_app_conn = false;
	svc->apps_in_files = false;
	strlist_free(&svc->warnings, &svc->warning_count);
}

/* Anchors and merge keys can bring settings in that the model does not see
 * (an `environment: *common` may hold a DATABASE_URL), and the rewriter
 * must not edit bytes an alias shares with other services. */
static void
check_yaml_reuse(StackService *svc)
{
	for (size_t i = 0; i < svc->file.service_count; i++)
	{
		const ComposeService *s = &svc->file.services[i];

		if (s->uses_merge || s->uses_alias)
			svc_problem(svc, "service '%s' uses YAML %s; pgfold cannot see or edit its settings "
						"reliably: expand it into plain settings first", s->key,
						s->uses_merge ? "merge keys (<<:)" : "aliases (*name)");
	}
}

bool
service_meta_dbname_key(const StackService *svc, char *out, size_t size)
{
	return svc->db_key ? str_format(out, size, "%s.%s", META_DBNAME, svc->db_key)
		: str_copy(out, size, META_DBNAME);
}

/* `# database_name:` names the database of a file's one db; each db of a
 * split file has its own line (`# database_name.<key>:`), which is also
 * how the file remembers a db it no longer holds. */
static void
read_meta(StackService *svc)
{
	char dbname_key[256];

	if (!service_meta_dbname_key(svc, dbname_key, sizeof(dbname_key)))
		dbname_key[0] = '\0';
	for (size_t i = 0; i < svc->file.meta_count; i++)
	{
		const MetaEntry *m = &svc->file.meta[i];

		if (m->key == NULL)
			continue;
		if (strcasecmp(m->key, "database") == 0)
			svc->meta_database = m->value;
		else if (strcasecmp(m->key, dbname_key) == 0)
			svc->meta_database_name = m->value;
	}
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
service_db_keys(StackService *svc, char ***keys, size_t *count)
{
	DbCandidates dc;
	bool by_env;
	const Candidates *pick;

	*keys = NULL;
	*count = 0;
	if (!svc->loaded)
		return;
	read_meta(svc);      /* a migrated header changes which candidates count */
	pick = pick_db_candidates(svc, &dc, &by_env);
	for (size_t i = 0; pick != NULL && i < pick->count; i++)
		strlist_add_unique(keys, count, svc->file.services[pick->idx[i]].key);
	for (size_t i = 0; i < svc->file.meta_count; i++)
	{
		const char *k = svc->file.meta[i].key;

		if (k != NULL && strncasecmp(k, META_DBNAME ".", sizeof(META_DBNAME)) == 0
			&& k[sizeof(META_DBNAME)] != '\0')
			strlist_add_unique(keys, count, k + sizeof(META_DBNAME));
	}
	/* by key: the same order before and after a fold moves a db to the header */
	if (*count > 1)
		qsort(*keys, *count, sizeof(char *), cmp_key);
}

bool
service_analyze(const Config *cfg, StackService *svc)
{
	service_analysis_clear(svc);
	if (!svc->loaded)
		return false;

	bool by_env = false;

	read_meta(svc);
	if (!conv_read_meta(svc))
		return true;    /* the operator's names are unusable: say so first */
	compute_projects(cfg, svc);
	svc->db_service = find_db_service(svc, &by_env);
	if (svc->problem)
		return true;    /* ambiguous: which db would the apps' hosts name? */
	if (svc->db_service >= 0)
		fill_db(cfg, svc, by_env);
	find_connections(cfg, svc);
	check_yaml_reuse(svc);

	if (svc->db_service >= 0)
	{
		size_t dedicated = 0;

		for (size_t i = 0; i < svc->conn_count; i++)
			dedicated += !svc->conns[i].shared;
		/* only when it is the file's one problem: clearing it must not
		 * hide another */
		svc->no_app_conn = dedicated == 0 && svc->problem == NULL;
		if (dedicated == 0)
			svc_problem(svc, "no app service connects to postgres service '%s' through a setting "
						"pgfold recognises (DATABASE_URL, DB_HOST, POSTGRES_HOST, NC_DB ...); "
						"migrating it would strand whatever uses it",
						svc->file.services[svc->db_service].key);
		conn_check_credentials(svc);
	}
	return true;
}
