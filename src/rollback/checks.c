/*
 * checks.c — the rollback's pre-flight checks, read-only, shared by
 * `rollback --dry-run` (printed) and `rollback` (which refuses with exit 3
 * when one blocks): the service file against what migrate wrote, the
 * override through the operator's compose, the engine, the dedicated
 * container, the shared database, the dump the data comes from, versions
 * and disk space.
 */
#include "rb_internal.h"

#include "pgfold/composecmd.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* The service file now: as migrate wrote it, already the original (an
 * interrupted rollback restored it), or edited by someone since. */
bool
rb_service_state(Rb *r, StrBuf *current, bool *edited, bool *restored)
{
	char sha[FS_SHA256_HEX_LEN + 1];

	if (!fs_read_file(r->svc->path, COMPOSE_MAX_BYTES, current))
		return false;
	fs_sha256_bytes(current->data, current->len, sha);
	*restored = strcmp(sha, r->mig.original_sha) == 0;
	*edited = !*restored && strcmp(sha, r->mig.migrated_sha) != 0;
	return true;
}

/* Another db of the same file folded after this one (its key gone from
 * the file, its header line there): restoring this fold's original would
 * undo that fold's file too while its data lives on the shared instance.
 * NULL when there is none. */
const StackService *
rb_folded_later(const Rb *r)
{
	for (size_t i = 0; r->svc->db_key != NULL && i < r->app->stack.count; i++)
	{
		const StackService *s = &r->app->stack.services[i];

		if (s != r->svc && s->db_key != NULL && strcmp(s->path, r->svc->path) == 0
			&& s->db_service < 0 && s->meta_database_name != NULL)
			return s;
	}
	return NULL;
}

static void
check_service_file(Rb *r, Preflight *pf)
{
	StrBuf cur = STRBUF_INIT;
	bool edited = false, restored = false;
	const StackService *later = NULL;

	if (!rb_service_state(r, &cur, &edited, &restored))
		preflight_add(pf, "service file", CHECK_BLOCK, "%s cannot be read (see above)", r->service_rel);
	else if (edited && (later = rb_folded_later(r)) != NULL)
		preflight_add(pf, "service file", CHECK_BLOCK, "%s was folded after %s in %s: roll it back "
					  "first (`pgfold rollback %s`), then this one", later->name, r->svc->name,
					  r->service_rel, later->name);
	else if (restored)
		preflight_add(pf, "service file", CHECK_INFO, "%s is already the original", r->service_rel);
	else if (edited)
		preflight_add(pf, "service file", r->opts->yes ? CHECK_WARN : CHECK_BLOCK,
					  "%s was edited since the migration: the rollback replaces it with the original "
					  "(diff below)%s", r->service_rel,
					  r->opts->yes ? "; --yes accepts that" : "; re-run with --yes to accept that");
	else
		preflight_add(pf, "service file", CHECK_OK, "%s is as migrate wrote it; the original (sha256 "
					  "%.12s) is in %s", r->service_rel, r->mig.original_sha, r->mig.original_copy);
	sb_free_secret(&cur);
}

/* compose must accept the service file plus the override: that pair is
 * what brings the db service back. Its output is shown on failure. */
static void
check_override(Rb *r, Preflight *pf)
{
	const char *cfg[] = { "config", "-q", NULL };
	struct stat st;
	LogLevel level = log_get_level();
	char **argv;
	bool ok;

	if (stat(r->mig.override_path, &st) != 0)
	{
		preflight_add(pf, "override", CHECK_BLOCK, "%s is missing: nothing describes the db service "
					  "%s any more; restore it from your backups", r->override_rel, r->db_key);
		return;
	}
	argv = rb_compose_argv(r, true, cfg);
	/* a run has its log file open for compose's output; --dry-run has
	 * only the terminal */
	if (r->dry_run && level > LOG_INFO)
		log_set_level(LOG_INFO);
	ok = composecmd_run(argv, "compose config");
	log_set_level(level);
	composecmd_argv_free(argv);
	if (ok)
		preflight_add(pf, "override", CHECK_OK, "%s with %s passes `compose config`",
					  r->service_rel, r->override_rel);
	else
		preflight_add(pf, "override", CHECK_BLOCK, "%s with %s fails `compose config` (its "
					  "output is above, or in the log)", r->service_rel, r->override_rel);
}

static void
check_container(Rb *r, Preflight *pf)
{
	json_t *inspect = NULL;
	bool found = false;

	if (rb_retired_check(r, pf))
		return;
	if (!docker_inspect_container(r->app->docker, r->mig.container, &inspect, &found))
		preflight_add(pf, "dedicated db", CHECK_WARN, "cannot inspect %s (see above)", r->mig.container);
	else if (!found)
		preflight_add(pf, "dedicated db", CHECK_WARN, "no container %s: compose will create it, and "
					  "it finds the pre-migration data only if its volume still exists",
					  r->mig.container);
	else if (docker_inspect_running(inspect))
		preflight_add(pf, "dedicated db", CHECK_INFO, "%s is running already", r->mig.container);
	else
		preflight_add(pf, "dedicated db", CHECK_OK, "%s is stopped; compose starts it on its volume",
					  r->mig.container);
	json_decref(inspect);
}

static void
check_disk(Rb *r, Preflight *pf, int64_t size)
{
	uint64_t avail = 0;
	char need[32], have[32];

	if (!fs_free_space(r->app->cfg.backups_dir, &avail))
		return;
	stream_format_bytes((uint64_t) size, need, sizeof(need));
	stream_format_bytes(avail, have, sizeof(have));
	if (avail < (uint64_t) size / 2)
		preflight_add(pf, "disk space", CHECK_BLOCK, "%s free under %s for the pre-rollback dump of a "
					  "%s database; free some space", have, r->app->cfg.backups_dir, need);
	else if (avail < (uint64_t) size)
		preflight_add(pf, "disk space", CHECK_WARN, "%s free under %s, database is %s: the compressed "
					  "dump probably fits", have, r->app->cfg.backups_dir, need);
	else
		preflight_add(pf, "disk space", CHECK_OK, "%s free under %s (database %s)", have,
					  r->app->cfg.backups_dir, need);
}

static void
check_versions(Rb *r, Preflight *pf)
{
	int shared = 0;

	if (r->data == RB_DATA_ORIGINAL || r->orig.db_image_major < 0
		|| !pg_server_version_num(r->app->shared, &shared))
		return;
	if (shared / 10000 > r->orig.db_image_major)
		preflight_add(pf, "versions", CHECK_WARN, "the shared instance runs PostgreSQL %d, %s has %d: "
					  "an older pg_restore may not read the dump (it stops at the first error and "
					  "nothing is replaced)", shared / 10000, r->mig.container, r->orig.db_image_major);
	else
		preflight_add(pf, "versions", CHECK_OK, "PostgreSQL %d on the shared instance, %d in %s",
					  shared / 10000, r->orig.db_image_major, r->mig.container);
}

static void
check_shared(Rb *r, Preflight *pf)
{
	bool exists = false;
	int64_t size = 0;
	char human[32];

	if (!app_shared(r->app))
	{
		preflight_add(pf, "shared instance", CHECK_BLOCK, "cannot connect to %s:%d (see above)",
					  r->app->cfg.pg_host, r->app->cfg.pg_port);
		return;
	}
	if (!pg_database_exists(r->app->shared, r->mig.shared_db, &exists) || !exists)
	{
		preflight_add(pf, "shared database", CHECK_BLOCK, "\"%s\" does not exist on the shared instance: "
					  "the service's current data is not there; inspect before rolling back",
					  r->mig.shared_db);
		return;
	}
	pg_database_size(r->app->shared, r->mig.shared_db, &size);
	stream_format_bytes((uint64_t) size, human, sizeof(human));
	preflight_add(pf, "shared database", CHECK_OK, "\"%s\" (%s) will be dumped first to %s",
				  r->mig.shared_db, human, r->dump);
	check_versions(r, pf);
	check_disk(r, pf, size);
}

static void
check_dump(Preflight *pf, const char *what, const char *path)
{
	struct stat st;
	char size[32];

	if (stat(path, &st) != 0)
	{
		preflight_add(pf, "data", CHECK_BLOCK, "%s %s does not exist", what, path);
		return;
	}
	stream_format_bytes((uint64_t) st.st_size, size, sizeof(size));
	if (!fs_sha256_sidecar_verify(path))
		preflight_add(pf, "data", CHECK_BLOCK, "%s %s does not match its checksum (see above): "
					  "refusing to restore it", what, path);
	else
		preflight_add(pf, "data", CHECK_OK, "%s %s (%s, sha256 sidecar matches)", what, path, size);
}

static void
check_data(Rb *r, Preflight *pf)
{
	switch (r->data)
	{
		case RB_DATA_CURRENT:
			preflight_add(pf, "data", CHECK_OK, "the current data of \"%s\", through the pre-rollback "
						  "dump", r->mig.shared_db);
			break;
		case RB_DATA_LATEST:
			if (r->source[0] == '\0')
				preflight_add(pf, "data", CHECK_INFO, "no earlier dump of %s: the latest is this run's "
							  "pre-rollback dump (the current data)", r->svc->name);
			else
				check_dump(pf, "latest backup", r->source);
			break;
		case RB_DATA_FILE:
			check_dump(pf, "backup", r->source);
			break;
		case RB_DATA_ORIGINAL:
			preflight_add(pf, "data", CHECK_WARN, "--original-data: %s keeps its pre-migration data; "
						  "writes made since the migration (%s) will NOT be there (they stay in \"%s\" "
						  "and in the pre-rollback dump)", r->mig.container, r->mig.run,
						  r->mig.shared_db);
			break;
	}
}

void
rb_checks(Rb *r, Preflight *pf)
{
	preflight_add(pf, "migration", CHECK_OK, "run %s moved \"%s\" from %s to \"%s\" (role \"%s\")",
				  r->mig.run, r->mig.db, r->mig.container, r->mig.shared_db, r->mig.role);
	check_service_file(r, pf);
	rb_app_files_check(r, pf);
	check_override(r, pf);
	if (!app_engine(r->app))
	{
		pf->engine_reachable = false;
		preflight_add(pf, "engine", CHECK_BLOCK, "the Docker engine cannot be reached (see above)");
	}
	else
	{
		pf->engine_reachable = true;
		check_container(r, pf);
	}
	check_shared(r, pf);
	pf->shared_reachable = r->app->shared != NULL;
	check_data(r, pf);
	if (r->opts->drop_shared)
		preflight_add(pf, "drop shared", CHECK_INFO, "after everything succeeded: drop \"%s\", role "
					  "\"%s\" and its password file", r->mig.shared_db, r->mig.role);
	preflight_settle(pf);
}
