/*
 * preflight.c — the read-only checks of a migration; see preflight.h.
 *
 * The source is asked everything in one psql call (status runs this for
 * every service), the shared instance through the one libpq connection of
 * the App. Each check records a level and a detail that says what to do.
 */
#include "pgfold/composecmd.h"
#include "pgfold/preflight.h"

#include "pgfold/dbprops.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/migrate.h"
#include "pgfold/rewrite.h"
#include "pgfold/secrets.h"
#include "pgfold/stream.h"

#include "hazards.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Everything about the dedicated cluster that decides a migration,
 * including what its dump must not bring (hazards.h). */
static const char source_facts_sql[] =
	"SELECT 'version', current_setting('server_version_num'), '', '' "
	"UNION ALL SELECT 'db', d.datname, pg_catalog.pg_database_size(d.oid)::text, '' "
	"  FROM pg_catalog.pg_database d WHERE d.datallowconn AND NOT d.datistemplate "
	"UNION ALL SELECT 'self', pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype "
	"  FROM pg_catalog.pg_database d WHERE d.datname = current_database() "
	"UNION ALL SELECT 'idx', COALESCE(sum(pg_catalog.pg_relation_size(c.oid)), 0)::text, '', '' "
	"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"  WHERE c.relkind = 'i' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	"  AND n.nspname !~ '^pg_toast' "
	"UNION ALL SELECT 'ext', e.extname, e.extversion, '' FROM pg_catalog.pg_extension e "
	"  WHERE e.extname <> 'plpgsql'\n"
	"UNION ALL (" HAZARDS_SQL ")\n";

static const char user_tables_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
	"ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
	"AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n";

const char *
preflight_state_name(ServiceState state)
{
	static const char *const names[] = { "ready", "migrated", "attention", "blocked" };

	return names[state];
}

const char *
preflight_level_name(CheckLevel level)
{
	static const char *const names[] = { "ok", "info", "warn", "block" };

	return names[level];
}

/* add_check is the public preflight_add (rollback adds its own checks). */
#define add_check preflight_add

void
preflight_add(Preflight *pf, const char *name, CheckLevel level, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	pf->checks = xrealloc(pf->checks, pf->count + 1, sizeof(Check));
	pf->checks[pf->count++] = (Check) { xstrdup(name), level, xstrdup(detail) };
}

static void
strv_push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
read_source_row(const StackService *svc, SourceFacts *sf, const char *kind,
				const char *a, const char *b, const char *c)
{
	long v = 0;

	if (strcmp(kind, "version") == 0 && str_to_long(a, 0, 10000000, &v))
		sf->version_num = (int) v;
	else if (strcmp(kind, "db") == 0)
	{
		if (strcmp(a, svc->db_name) == 0)
		{
			if (str_to_long(b, 0, __LONG_MAX__, &v))
				sf->db_size = v;
		}
		else if (strcmp(a, "postgres") != 0)
			strv_push(&sf->other_dbs, &sf->other_db_count, a);
	}
	else if (strcmp(kind, "idx") == 0 && str_to_long(a, 0, __LONG_MAX__, &v))
		sf->index_bytes = v;
	else if (strcmp(kind, "self") == 0)
	{
		sf->encoding = xstrdup(a);
		sf->collate = xstrdup(b);
		sf->ctype = xstrdup(c);
	}
	else if (strcmp(kind, "ext") == 0)
	{
		strv_push(&sf->extension_versions, &sf->extension_count, b);
		sf->extension_count--;
		strv_push(&sf->extensions, &sf->extension_count, a);
	}
	else if (strcmp(kind, "hazard") == 0)
		preflight_hazard_add(&sf->hazards, a, b, c);
}

bool
preflight_source_job(App *app, size_t index, PgxRowsJob *job)
{
	const StackService *svc = &app->stack.services[index];
	const ContainerInfo *ci = app_db_container(app, index);

	memset(job, 0, sizeof(*job));
	/* a migrated file has no db service */
	if (svc->problem != NULL || svc->db_service < 0 || ci == NULL
		|| strcmp(ci->state, "running") != 0)
		return false;
	*job = (PgxRowsJob) { .container = ci->id, .user = svc->db_user, .db = svc->db_name,
						  .sql = source_facts_sql, .ncols = 4, .rows = PGROWS_INIT };
	return true;
}

static bool
gather_source(App *app, const StackService *svc, const ContainerInfo *ci,
			  const PreflightOptions *opts, SourceFacts *sf)
{
	PgRows own = PGROWS_INIT;
	const PgRows *rows = &own;
	bool light = opts->light;

	if (opts->source_answer != NULL && strcmp(opts->source_answer->container, ci->id) == 0)
	{
		if (!opts->source_answer->ok)
			return false;   /* logged when it was asked */
		rows = &opts->source_answer->rows;
	}
	else if (!pgx_query_rows(app->docker, ci->id, svc->db_user, svc->db_name,
							 source_facts_sql, NULL, 4, &own))
		return false;
	for (size_t r = 0; r < rows->nrows; r++)
		read_source_row(svc, sf, pg_rows_get(rows, r, 0), pg_rows_get(rows, r, 1),
						pg_rows_get(rows, r, 2), pg_rows_get(rows, r, 3));
	pg_rows_free(&own);
	sf->known = true;

	/* The default "postgres" database is normally empty; data there would
	 * not come along, so say so. */
	if (!light && strcmp(svc->db_name, "postgres") != 0)
	{
		if (pgx_query_rows(app->docker, ci->id, svc->db_user, "postgres",
						   user_tables_sql, NULL, 1, &own))
		{
			str_to_long(pg_rows_get(&own, 0, 0), 0, __LONG_MAX__, &sf->postgres_db_tables);
			pg_rows_free(&own);
		}
	}
	return true;
}

static void
check_service_file(Preflight *pf, const StackService *svc)
{
	if (svc->problem != NULL)
	{
		add_check(pf, "service file", CHECK_BLOCK, "%s", svc->problem);
		return;
	}
	add_check(pf, "service file", CHECK_OK, "%s: db service \"%s\", container \"%s\", "
			  "database \"%s\", user \"%s\", %zu app connection(s)", svc->path,
			  svc->file.services[svc->db_service].key, svc->db_container,
			  svc->db_name, svc->db_user, svc->conn_count);
	/* which rule read each app's settings: a known image's convention, the
	 * header's pgfold.* names, or the generic heuristics */
	for (size_t i = 0; i < svc->conn_count; i++)
		add_check(pf, "connection", CHECK_OK, "%s: connection settings: %s",
				  svc->file.services[svc->conns[i].app].key,
				  svc->conns[i].rule ? svc->conns[i].rule : "generic");
	for (size_t i = 0; i < svc->warning_count; i++)
		add_check(pf, "service file", CHECK_WARN, "%s", svc->warnings[i]);
	if (svc->conn_count == 0 && !svc->apps_in_files)
		add_check(pf, "app connections", CHECK_BLOCK,
				  "no app service connects to \"%s\": nothing would be switched over",
				  svc->file.services[svc->db_service].key);
}

/* The files migrate replaces (the service file, .env, the override): none
 * may lead out of the stack, or to another user's file, through a link. */
static void
check_links(Preflight *pf, App *app, size_t index, const StackService *svc)
{
	char name[NAME_MAX + 1], override[PATH_MAX], why[1024];
	/* the env file pgfold writes is where the project's compose reads */
	const char *paths[] = { svc->path, app_invocation(app, index)->env_target, override };

	if (!rewrite_override_name(service_fsname(svc), name, sizeof(name))
		|| !str_format(override, sizeof(override), "%s/%s", app->cfg.overrides_dir, name))
	{
		add_check(pf, "stack files", CHECK_BLOCK, "%s: no usable override name", svc->name);
		return;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!fs_link_check(app->cfg.root, paths[i], why, sizeof(why)))
			add_check(pf, "stack files", CHECK_BLOCK, "%s", why);
}

/*
 * Everything the files step would write, computed now with a placeholder
 * password: a setting pgfold cannot map, a shape it cannot edit, an
 * unreadable .env blocks here, with the rewriter's own words, before
 * migrate stops anything (before, migrate streamed and verified the whole
 * database and only then failed at the files step). The rewriter's
 * messages are captured, not printed: the check reports them.
 */
/* Two dbs of one file with the same POSTGRES_DB would both default to
 * that database (and role) on the shared instance: say so before either
 * is folded, not when the second finds the name taken. */
static void
check_sibling_names(Preflight *pf, App *app, const StackService *svc, const PreflightOptions *opts)
{
	for (size_t i = 0; opts->db == NULL && svc->db_key != NULL && i < app->stack.count; i++)
	{
		const StackService *s = &app->stack.services[i];

		if (s != svc && s->db_key != NULL && s->db_service >= 0 && s->db_name != NULL
			&& strcmp(s->path, svc->path) == 0 && strcmp(s->db_name, pf->names.db) == 0)
			add_check(pf, "names", CHECK_BLOCK, "%s and %s both use database \"%s\" (POSTGRES_DB); "
					  "they cannot share it on the shared instance: give this one another with "
					  "--db NAME", svc->name, s->name, pf->names.db);
	}
}

static void
check_rewrite(Preflight *pf, App *app, const StackService *svc)
{
	char why[1024];
	bool ok;

	pf->files = xcalloc(1, sizeof(MigrationFiles));
	log_capture_begin(why, sizeof(why));
	ok = migration_files_build(app, svc, &pf->names, PREFLIGHT_PASSWORD_PLACEHOLDER, pf->files);
	log_capture_end();
	if (!ok)
	{
		migration_files_free(pf->files);
		free(pf->files);
		pf->files = NULL;
		add_check(pf, "files", CHECK_BLOCK, "%s", why[0] ? why
				  : "the service file cannot be rewritten");
		return;
	}
	for (size_t i = 0; i < pf->files->service.warning_count; i++)
		add_check(pf, "files", CHECK_WARN, "%s", pf->files->service.warnings[i]);
}

static const ContainerInfo *
check_container(Preflight *pf, App *app, size_t index, const StackService *svc)
{
	const ContainerInfo *ci = app_db_container(app, index);

	const ContainerInfo *slot = &app->containers.services[index].members[svc->db_service];

	if (ci == NULL && slot->claimed_by != NULL)
	{
		add_check(pf, "source container", CHECK_BLOCK,
				  "the name %s is held by %s: two projects claim one container name; give "
				  "one of them another container_name", svc->db_container, slot->claimed_by);
		return NULL;
	}
	if (ci == NULL)
	{
		add_check(pf, "source container", CHECK_WARN,
				  "no container for \"%s\" (looked for %s); start it with compose first",
				  svc->file.services[svc->db_service].key, svc->db_container);
		return NULL;
	}
	if (app->containers.services[index].members[svc->db_service].matches > 1)
	{
		add_check(pf, "source container", CHECK_BLOCK,
				  "%zu containers match \"%s\"; remove the stale ones",
				  app->containers.services[index].members[svc->db_service].matches,
				  svc->db_container);
		return NULL;
	}
	if (strcmp(ci->state, "running") != 0)
	{
		add_check(pf, "source container", CHECK_WARN,
				  "%s is %s; start it with `docker start %s`", ci->name, ci->state, ci->name);
		return NULL;
	}
	add_check(pf, "source container", CHECK_OK, "%s is running (%s)", ci->name, ci->image);
	return ci;
}

/*
 * What runs is what the files say: compose's own hash of each service's
 * configuration (`config --hash`), as the same invocation computes it now,
 * against the one it put on the container. A file edited since `up` would
 * otherwise be folded from a state nobody ran, and the recreate would
 * bring the edit in unseen.
 *
 * Compose 1.x answers each question in about half a second (a Python
 * program starting), so both questions (which compose, and the hashes)
 * start here at once and their answers are read at the end of the
 * pre-flight, after the other checks and the connection samples.
 */
static void
start_config_hashes(Preflight *pf, App *app, size_t index, const ComposeInvocation *inv)
{
	const char *args[] = { "config", "--hash=*", NULL };
	char **argv;

	/* Only compose 1.x's `config --hash` is the hash its `up` labels
	 * containers with (measured). Compose 2.26's differs for a service with
	 * depends_on conditions even right after `up`, so comparing would block
	 * untouched stacks; another major than the creator's hashes another way. */
	if (inv->compose_version == NULL || strncmp(inv->compose_version, "1.", 2) != 0
		|| !composecmd_major_start(app, inv, &pf->hash_version))
		return;
	argv = composecmd_argv(app, inv, NULL, args);
	if (composecmd_start(argv, "compose config --hash", false, true, &pf->hash_config))
	{
		pf->hash_pending = true;
		pf->hash_index = index;
	}
	else
		composecmd_abandon(&pf->hash_version);
	composecmd_argv_free(argv);
}

static void
finish_config_hashes(Preflight *pf, App *app)
{
	if (!pf->hash_pending)
		return;
	pf->hash_pending = false;

	const StackService *svc = &app->stack.services[pf->hash_index];
	const ServiceContainers *sc = &app->containers.services[pf->hash_index];
	bool v1 = composecmd_major_finish(&pf->hash_version) == 1;
	StrBuf out = STRBUF_INIT;
	bool ok = composecmd_finish(&pf->hash_config, &out) && v1;

	for (size_t j = 0; ok && j < sc->count && j < svc->file.service_count; j++)
	{
		const ContainerInfo *ci = &sc->members[j];
		const char *key = svc->file.services[j].key;
		char want[160];

		if (ci->match == MATCH_NONE || ci->config_hash == NULL
			|| !str_format(want, sizeof(want), "%s %s\n", key, ci->config_hash))
			continue;
		if (strstr(sb_str(&out), want) == NULL)
			add_check(pf, "compose project", CHECK_BLOCK,
					  "%s was created from another configuration of service '%s' than %s says "
					  "now (compose's config-hash differs): bring the project up with its "
					  "current files first, or put the file back", ci->name, key, svc->path);
	}
	sb_free(&out);
}

/* pgfold runs compose as the project's own invocation did (labels). */
static void
check_invocation(Preflight *pf, App *app, size_t index, bool light)
{
	const ComposeInvocation *inv = app_invocation(app, index);

	if (inv->problem != NULL)
	{
		add_check(pf, "compose project", CHECK_BLOCK, "%s", inv->problem);
		return;
	}
	if (inv->source == NULL)
		return;
	add_check(pf, "compose project", CHECK_OK,
			  "\"%s\" in %s, %zu file(s), variables from %s (as %s was created)",
			  inv->project, inv->project_dir, inv->file_count, inv->env_target, inv->source);
	if (!light)
		start_config_hashes(pf, app, index, inv);
}

static void
check_source(Preflight *pf, const StackService *svc)
{
	const SourceFacts *sf = &pf->source;
	char size[32];

	stream_format_bytes((uint64_t) sf->db_size, size, sizeof(size));
	add_check(pf, "source database", CHECK_OK, "\"%s\" on PostgreSQL %d.%d, %s",
			  svc->db_name, sf->version_num / 10000, sf->version_num % 100, size);
	if (sf->other_db_count > 0)
	{
		StrBuf list = STRBUF_INIT;

		for (size_t i = 0; i < sf->other_db_count; i++)
			sb_appendf(&list, "%s\"%s\"", i ? ", " : "", sf->other_dbs[i]);
		add_check(pf, "other databases", CHECK_BLOCK,
				  "the dedicated cluster also holds %s: pgfold moves one database per "
				  "service; move the others first with `pgfold db migrate-from`", sb_str(&list));
		sb_free(&list);
	}
	if (sf->postgres_db_tables > 0)
		add_check(pf, "other databases", CHECK_WARN,
				  "the \"postgres\" database of the dedicated cluster has %ld table(s); "
				  "they will not be moved", sf->postgres_db_tables);
}

/* Named in plan, one check per object, so the operator sees what to drop. */
static void
check_dump(Preflight *pf, const StackService *svc)
{
	const DumpHazards *h = &pf->source.hazards;

	if (h->count == 0)
		add_check(pf, "dump contents", CHECK_OK, "nothing in \"%s\" runs code as the shared "
				  "instance's admin (no event trigger, no C or untrusted-language function, "
				  "no function the restore calls)", svc->db_name);
	for (size_t i = 0; i < h->count; i++)
		add_check(pf, "dump contents", CHECK_BLOCK, "%s", h->lines[i]);
}

static void
check_versions(Preflight *pf)
{
	int src = pf->source.version_num / 10000, dst = pf->shared_version_num / 10000;

	if (src > dst)
		add_check(pf, "versions", CHECK_BLOCK,
				  "source is PostgreSQL %d, shared is %d: a dump from a newer major cannot be "
				  "restored into an older server; upgrade the shared instance first", src, dst);
	else
		add_check(pf, "versions", CHECK_OK, "PostgreSQL %d -> %d", src, dst);
}

static void
check_extensions(Preflight *pf, App *app)
{
	for (size_t i = 0; i < pf->source.extension_count; i++)
	{
		bool available = false;
		StrBuf version = STRBUF_INIT;

		if (!pg_extension_available(app->shared, pf->source.extensions[i], &available, &version))
			add_check(pf, "extensions", CHECK_BLOCK, "could not check extension \"%s\"",
					  pf->source.extensions[i]);
		else if (!available)
			add_check(pf, "extensions", CHECK_BLOCK,
					  "extension \"%s\" %s is used by the source but not available on the "
					  "shared instance; install it there (e.g. a postgis image) first",
					  pf->source.extensions[i], pf->source.extension_versions[i]);
		else
			add_check(pf, "extensions", CHECK_OK, "\"%s\" %s available on shared (%s)",
					  pf->source.extensions[i], pf->source.extension_versions[i],
					  sb_str(&version));
		sb_free(&version);
	}
}

/* What an image family brings that the shared instance must have too. */
static const struct
{
	const char *family;
	const char *extension;
	const char *what;
} image_extensions[] = {
	{ "postgis/postgis", "postgis", "PostGIS" },
	{ "pgvector/pgvector", "vector", "pgvector" },
	{ "ankane/pgvector", "vector", "pgvector" },
	{ "immich-app/postgres", "vector", "pgvector" },
	{ "tensorchord/pgvecto-rs", "vectors", "pgvecto.rs" },
	{ "timescale/timescaledb", "timescaledb", "TimescaleDB" },
	{ "timescale/timescaledb-ha", "timescaledb", "TimescaleDB" },
	{ "pgfold-lab/postgis", "postgis", "PostGIS" },
};

/* The db container is not running, so its catalog cannot be asked: its
 * image's tag and family still tell a newer major or a needed extension,
 * decided here rather than after the operator started it. */
static void
check_image_hints(Preflight *pf, App *app, const StackService *svc)
{
	int dst = pf->shared_version_num / 10000;

	if (svc->db_image == NULL)
		return;
	if (svc->db_image_major > dst)
		add_check(pf, "versions", CHECK_BLOCK,
				  "image %s is PostgreSQL %d, shared is %d: a dump from a newer major cannot be "
				  "restored into an older server; upgrade the shared instance first",
				  svc->db_image, svc->db_image_major, dst);
	for (size_t i = 0; svc->db_image_family != NULL
		 && i < sizeof(image_extensions) / sizeof(image_extensions[0]); i++)
	{
		bool available = false;
		StrBuf version = STRBUF_INIT;

		if (strcmp(svc->db_image_family, image_extensions[i].family) != 0)
			continue;
		if (pg_extension_available(app->shared, image_extensions[i].extension, &available, &version)
			&& !available)
			add_check(pf, "extensions", CHECK_BLOCK,
					  "needs %s (image %s): extension \"%s\" is not available on the shared "
					  "instance; install it there first", image_extensions[i].what, svc->db_image,
					  image_extensions[i].extension);
		sb_free(&version);
	}
}

static void
check_role(Preflight *pf, App *app)
{
	StrBuf password = STRBUF_INIT;
	bool found = false, matches = false;

	if (!pg_role_exists(app->shared, pf->names.role, &pf->role_exists))
		return;
	if (!pf->role_exists)
	{
		add_check(pf, "role", CHECK_OK, "role \"%s\" will be created", pf->names.role);
		return;
	}
	/* A crash between CREATE ROLE and the rename of its password file
	 * leaves "<role>.txt.pending": the secrets module recovers it. */
	if (secrets_password_pending(app->cfg.root, pf->names.role))
	{
		pf->role_password_file = true;
		add_check(pf, "role", CHECK_INFO, "role \"%s\" exists with a password left pending "
				  "by an interrupted run: it will be checked and recovered", pf->names.role);
		return;
	}
	if (secrets_read_password_file(app->cfg.root, pf->names.role, &password, &found) && found
		&& secrets_password_matches(app->shared, pf->names.role, sb_str(&password), &matches)
		&& matches)
	{
		pf->role_password_file = true;
		add_check(pf, "role", CHECK_OK, "role \"%s\" exists and its password file logs in: "
				  "it will be reused", pf->names.role);
	}
	else
		add_check(pf, "role", CHECK_BLOCK,
				  "role \"%s\" exists on the shared instance but %s; pgfold never replaces a "
				  "password another service may use: pick another name with --role, or "
				  "`pgfold user create %s --rotate` if it is yours", pf->names.role,
				  found ? "its password file does not log in" : "there is no password file for it",
				  pf->names.role);
	sb_free_secret(&password);
}

static void
check_shared_names(Preflight *pf, App *app)
{
	bool exists = false;

	if (pg_database_exists(app->shared, pf->names.db, &exists) && exists)
		add_check(pf, "target database", CHECK_BLOCK,
				  "database \"%s\" already exists on the shared instance; choose another "
				  "name with --db or drop it", pf->names.db);
	else
		add_check(pf, "target database", CHECK_OK, "\"%s\" is free", pf->names.db);
	if (pg_database_exists(app->shared, pf->names.tmp_db, &pf->tmp_db_exists) && pf->tmp_db_exists)
		add_check(pf, "leftover", CHECK_INFO, "\"%s\" from an interrupted run will be dropped",
				  pf->names.tmp_db);
	check_role(pf, app);
}

static void
check_disk(Preflight *pf, App *app)
{
	uint64_t avail = 0;
	char need[32], have[32];

	if (!fs_free_space(app->cfg.backups_dir, &avail))
		return;
	stream_format_bytes((uint64_t) pf->source.db_size, need, sizeof(need));
	stream_format_bytes(avail, have, sizeof(have));
	/* A custom-format dump is compressed, usually well below the database
	 * size; below half of it there is surely no room. */
	if (avail < (uint64_t) pf->source.db_size / 2)
		add_check(pf, "disk space", CHECK_BLOCK, "%s free under %s for a dump of a %s "
				  "database; free some space", have, app->cfg.backups_dir, need);
	else if (avail < (uint64_t) pf->source.db_size)
		add_check(pf, "disk space", CHECK_WARN, "%s free under %s, database is %s: the "
				  "compressed dump probably fits", have, app->cfg.backups_dir, need);
	else
		add_check(pf, "disk space", CHECK_OK, "%s free under %s (database %s)", have,
				  app->cfg.backups_dir, need);
}

void
preflight_settle(Preflight *pf)
{
	pf->state = STATE_READY;
	for (size_t i = 0; i < pf->count; i++)
	{
		if (pf->checks[i].level == CHECK_BLOCK)
		{
			pf->state = STATE_BLOCKED;
			pf->reason = pf->checks[i].detail;
			return;
		}
	}
	for (size_t i = 0; i < pf->count; i++)
	{
		if (pf->checks[i].level == CHECK_WARN)
		{
			pf->state = STATE_ATTENTION;
			pf->reason = pf->checks[i].detail;
			return;
		}
	}
}

/* In a one-project stack (OnRamp) the shared postgres is a service file of
 * the stack like any other: never a candidate for folding into itself. */
static bool
is_shared_instance(App *app, size_t index)
{
	const StackService *svc = &app->stack.services[index];
	const ContainerInfo *ci = app->container_list ? app_db_container(app, index) : NULL;
	const char *shared = app->cfg.shared_container;

	if (shared[0] == '\0')
		return false;
	return (svc->db_container != NULL && strcmp(svc->db_container, shared) == 0)
		|| (ci != NULL && ci->name != NULL && strcmp(ci->name, shared) == 0);
}

static bool
service_is_migrated(const StackService *svc)
{
	return svc->db_service < 0 && svc->meta_database != NULL
		&& strcmp(svc->meta_database, "postgres") == 0;
}

bool
preflight_run(App *app, size_t index, const PreflightOptions *opts, Preflight *pf)
{
	StackService *svc = &app->stack.services[index];

	memset(pf, 0, sizeof(*pf));
	/* first: the containers' labels may say the file is read with another
	 * project's variables, and the file is then read again with them */
	pf->engine_reachable = app_engine(app);
	if (service_is_migrated(svc))
	{
		pf->state = STATE_MIGRATED;
		add_check(pf, "service file", CHECK_OK, "already migrated to database \"%s\"",
				  svc->meta_database_name ? svc->meta_database_name : "?");
		return true;
	}
	preflight_adopt_app_files(app, index, opts);
	bool shared_itself = svc->db_service >= 0 && is_shared_instance(app, index);

	/* first: it says more than "no app connects to it" */
	if (shared_itself)
		add_check(pf, "shared instance", CHECK_BLOCK,
				  "this file runs the shared instance itself (container %s, "
				  "PGFOLD_SHARED_CONTAINER); pgfold folds the other services into it",
				  app->cfg.shared_container);
	check_service_file(pf, svc);
	check_links(pf, app, index, svc);
	if (svc->problem != NULL || svc->db_service < 0 || shared_itself)
	{
		preflight_settle(pf);
		return true;
	}
	if (!preflight_names(app, svc, opts, &pf->names))
		add_check(pf, "names", CHECK_BLOCK, "database or role name unusable (see above)");
	else
	{
		preflight_names_check(pf, app, svc, opts);
		check_sibling_names(pf, app, svc, opts);
		check_rewrite(pf, app, svc);
		preflight_after_rewrite(pf, app, svc, opts);
	}

	if (!pf->engine_reachable)
		add_check(pf, "engine", CHECK_BLOCK, "the Docker engine cannot be reached (see above)");
	else
	{
		pf->db_container = check_container(pf, app, index, svc);
		check_invocation(pf, app, index, opts->light);
	}

	if (pf->db_container != NULL)
	{
		if (gather_source(app, svc, pf->db_container, opts, &pf->source))
		{
			check_source(pf, svc);
			check_dump(pf, svc);
			if (!opts->light)
				preflight_check_guard(pf, app, svc, opts);
		}
		else
			add_check(pf, "source database", CHECK_WARN, "%s does not answer queries (see above)",
					  pf->db_container->name);
	}

	pf->shared_reachable = app_shared(app);
	if (!pf->shared_reachable)
		add_check(pf, "shared instance", CHECK_WARN, "cannot connect to %s:%d (see above)",
				  app->cfg.pg_host, app->cfg.pg_port);
	else if (pg_server_version_num(app->shared, &pf->shared_version_num))
	{
		if (pf->source.known)
		{
			check_versions(pf);
			check_extensions(pf, app);
			if (!opts->light)
				preflight_check_properties(pf, app, svc);
		}
		else
			check_image_hints(pf, app, svc);
		if (pf->names.db[0] != '\0')
			check_shared_names(pf, app);
	}
	if (!opts->light)
		preflight_connections(app, svc, opts, pf);    /* conns.c */
	if (!opts->light && pf->source.known)
		check_disk(pf, app);
	finish_config_hashes(pf, app);
	preflight_settle(pf);
	return true;
}

void
preflight_free(Preflight *pf)
{
	if (pf->hash_pending)
	{
		composecmd_abandon(&pf->hash_version);
		composecmd_abandon(&pf->hash_config);
	}
	for (size_t i = 0; i < pf->count; i++)
	{
		free(pf->checks[i].name);
		free(pf->checks[i].detail);
	}
	free(pf->checks);
	strv_free(pf->source.other_dbs, pf->source.other_db_count);
	strv_free(pf->source.extensions, pf->source.extension_count);
	strv_free(pf->source.extension_versions, pf->source.extension_count);
	preflight_hazards_free(&pf->source.hazards);
	guard_runners_free(&pf->runners);
	guard_roles_free(&pf->roles);
	free(pf->source.encoding);
	free(pf->source.collate);
	free(pf->source.ctype);
	if (pf->props != NULL)
		dbprops_free(pf->props);
	free(pf->props);
	if (pf->files != NULL)
	{
		migration_files_free(pf->files);
		free(pf->files);
	}
	memset(pf, 0, sizeof(*pf));
}
