/*
 * appfiles.c — the apps' own configuration files a migration rewrote
 * (homeserver.yaml, app.ini: the migration journal's files record lists
 * each with its saved original and both sha256): put back byte for byte
 * from the saved copy in the rollback's files step, after checking the
 * copy is intact and the file is still what migrate wrote (an edit since
 * needs --yes, as for the service file); put back as found when that step
 * fails.
 */
#include "rb_internal.h"

#include "pgfold/appconfig.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

static bool
entry(json_t *e, const char **path, const char **copy, const char **old, const char **wrote)
{
	*path = rb_field(e, "path");
	*copy = rb_field(e, "copy");
	*old = rb_field(e, "sha256");
	*wrote = rb_field(e, "new_sha256");
	return *path && *copy && *old && *wrote;
}

bool
rb_app_files_restore(Rb *r)
{
	json_t *e;
	size_t i, n = json_array_size(r->mig.app_files);

	if (n == 0)
		return true;
	if (r->app_found == NULL)
	{
		r->app_found = xcalloc(n, sizeof(StrBuf));
		r->app_found_count = n;
	}
	json_array_foreach(r->mig.app_files, i, e)
	{
		const char *path, *copy, *old, *wrote;
		char sha[FS_SHA256_HEX_LEN + 1], csha[FS_SHA256_HEX_LEN + 1];
		StrBuf orig = STRBUF_INIT, cur = STRBUF_INIT;

		if (!entry(e, &path, &copy, &old, &wrote))
		{
			log_error("the journal's record of migration %s lists an app file without its "
					  "path, copy or sha256; inspect %s", r->mig.run, r->journal.path);
			exit_hint_set(EXIT_BLOCKED);
			return false;
		}
		if (!fs_read_file(path, APPCONFIG_MAX_BYTES, &cur))
			return false;
		fs_sha256_bytes(cur.data ? cur.data : "", cur.len, sha);
		if (strcmp(sha, old) == 0)
		{
			sb_free_secret(&cur);
			continue;      /* already the original */
		}
		if (strcmp(sha, wrote) != 0 && !r->opts->yes)
		{
			log_error("%s was edited since the migration (it is neither what migrate wrote nor "
					  "the original saved in %s); the rollback would replace it with the "
					  "original: re-run with --yes to accept that", path, copy);
			exit_hint_set(EXIT_BLOCKED);
			sb_free_secret(&cur);
			return false;
		}
		if (!fs_read_file(copy, APPCONFIG_MAX_BYTES, &orig))
		{
			sb_free_secret(&cur);
			return false;
		}
		fs_sha256_bytes(orig.data ? orig.data : "", orig.len, csha);
		if (strcmp(csha, old) != 0)
		{
			log_error("the saved original %s of %s changed (sha256 %s, the journal says %s); "
					  "restore %s from your own backups", copy, path, csha, old, path);
			sb_free_secret(&orig);
			sb_free_secret(&cur);
			return false;
		}
		sb_free_secret(&r->app_found[i]);
		r->app_found[i] = cur;
		r->files_written = true;

		bool ok = fs_write_like(path, path, orig.data ? orig.data : "", orig.len, false);

		sb_free_secret(&orig);
		if (!ok)
			return false;
		log_notice("restored %s from %s", path, copy);
	}
	return true;
}

/* The pre-flight: each app file as migrate wrote it (or already the
 * original), its saved copy intact; an edit since blocks without --yes. */
void
rb_app_files_check(Rb *r, Preflight *pf)
{
	json_t *e;
	size_t i;

	json_array_foreach(r->mig.app_files, i, e)
	{
		const char *path, *copy, *old, *wrote;
		char sha[FS_SHA256_HEX_LEN + 1], csha[FS_SHA256_HEX_LEN + 1];

		if (!entry(e, &path, &copy, &old, &wrote))
		{
			preflight_add(pf, "app file", CHECK_BLOCK, "the journal lists an app file without "
						  "its path, copy or sha256");
			continue;
		}
		if (!fs_sha256_file(copy, csha, NULL) || strcmp(csha, old) != 0)
			preflight_add(pf, "app file", CHECK_BLOCK, "the saved original %s of %s is missing or "
						  "changed; restore %s from your own backups", copy, path, path);
		else if (!fs_sha256_file(path, sha, NULL))
			preflight_add(pf, "app file", CHECK_BLOCK, "%s cannot be read (see above)", path);
		else if (strcmp(sha, old) == 0)
			preflight_add(pf, "app file", CHECK_INFO, "%s is already the original", path);
		else if (strcmp(sha, wrote) != 0)
			preflight_add(pf, "app file", r->opts->yes ? CHECK_WARN : CHECK_BLOCK,
						  "%s was edited since the migration: the rollback replaces it with the "
						  "original saved in %s%s", path, copy,
						  r->opts->yes ? "; --yes accepts that" : "; re-run with --yes to accept that");
		else
			preflight_add(pf, "app file", CHECK_OK, "%s is as migrate wrote it; the original is "
						  "in %s", path, copy);
	}
}

void
rb_app_files_undo(Rb *r)
{
	json_t *e;
	size_t i;

	json_array_foreach(r->mig.app_files, i, e)
	{
		const char *path, *copy, *old, *wrote;

		if (i >= r->app_found_count || r->app_found[i].data == NULL
			|| !entry(e, &path, &copy, &old, &wrote))
			continue;
		if (fs_write_like(path, path, r->app_found[i].data, r->app_found[i].len, false))
			log_notice("put %s back as migrate wrote it", path);
	}
}

void
rb_app_files_describe(const Rb *r, StrBuf *out)
{
	json_t *e;
	size_t i;

	json_array_foreach(r->mig.app_files, i, e)
	{
		const char *path, *copy, *old, *wrote;

		if (entry(e, &path, &copy, &old, &wrote))
			sb_appendf(out, "restore %s from %s (sha256 %s)\n", path, copy, old);
	}
}

static bool
file_app(const Rb *r, const char *key)
{
	size_t i;
	json_t *e;

	json_array_foreach(r->mig.app_files, i, e)
		if (rb_field(e, "app") && strcmp(rb_field(e, "app"), key) == 0)
			return true;
	return false;
}

/* The running containers of the migration's project whose service reads a
 * file migrate rewrote and is not one of this file's (those are stopped
 * with the file's containers): stopped, so that nothing writes to the
 * shared database while its data moves back. */
bool
rb_app_files_stop_apps(Rb *r, json_t *ids, json_t *names)
{
	size_t i;
	json_t *c;

	if (json_array_size(r->mig.app_files) == 0 || r->app->container_list == NULL)
		return true;
	json_array_foreach(r->app->container_list, i, c)
	{
		const char *id, *svc, *name;

		if (!app_project_running(c, r->mig.project, ids, &id, &svc, &name) || !file_app(r, svc))
			continue;
		if (!app_stop_reader(r->app, id, name, "a file the migration rewrote", ids, names))
			return false;
		json_array_append_new(r->file_apps, json_string(id));
	}
	return true;
}

/* After the compose up of this file: those apps started again; they read
 * their restored file. */
void
rb_app_files_start_apps(Rb *r)
{
	app_start_again(r->app, r->file_apps);
}
