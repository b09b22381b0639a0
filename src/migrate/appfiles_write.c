/*
 * appfiles_write.c — the app files of a migration (appfiles.c) on disk:
 * their originals saved to the backups (mode 0600: they hold the old
 * password) and journaled with their sha256 before any is rewritten, the
 * rewrite, the undo of a failed run, the
 * restore of an interrupted one, and the diffs plan shows (passwords
 * masked). The rewritten file keeps its mode and owner: the app reads it
 * as before, and it held the old password in clear with that mode.
 */
#include "run_internal.h"

#include "pgfold/composecmd.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- plan ------------------------------------------------------------------ */

/* Where a diff line names a secret (a password, and the other secrets
 * such files hold next to it: Synapse's macaroon_secret_key, form_secret,
 * registration_shared_secret, tokens); n when it names none. */
static size_t
secret_word(const char *line, size_t n)
{
	static const char *const words[] = { "pass", "secret", "key", "token" };

	for (size_t k = 1; k < n; k++)
		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			if (k + strlen(words[w]) <= n && strncasecmp(line + k, words[w], strlen(words[w])) == 0)
				return k;
	return n;
}

/* A diff line that sets a secret shows `<secret>` for its value. */
static void
mask_line(const char *line, size_t n, StrBuf *out)
{
	size_t k = secret_word(line, n);

	if (n == 0 || k >= n || line[0] == '@' || (n >= 3 && (memcmp(line, "---", 3) == 0
														   || memcmp(line, "+++", 3) == 0)))
	{
		sb_append(out, line, n);
		return;
	}
	size_t d = k;

	while (d < n && line[d] != ':' && line[d] != '=')
		d++;
	if (d == n)
	{
		sb_append(out, line, n);
		return;
	}
	sb_append(out, line, d + 1);
	sb_appends(out, " <secret>");
	if (line[n - 1] == '\n')
		sb_appendc(out, '\n');
}

bool
appfiles_diff(const MigrationFiles *files, StrBuf *out)
{
	for (size_t i = 0; i < files->app_files.count; i++)
	{
		const AppFile *f = &files->app_files.items[i];
		StrBuf d = STRBUF_INIT;
		char a[PATH_MAX + 2], b[PATH_MAX + 2];

		if (!f->rewrite)
			continue;
		str_format(a, sizeof(a), "a/%s", f->rel);
		str_format(b, sizeof(b), "b/%s", f->rel);
		if (!rewrite_unified_diff(f->old_bytes.data, f->old_bytes.len, f->new_bytes.data,
								  f->new_bytes.len, a, b, &d))
		{
			sb_free_secret(&d);
			return false;
		}
		for (size_t p = 0; p < d.len;)
		{
			const char *nl = memchr(d.data + p, '\n', d.len - p);
			size_t n = nl ? (size_t) (nl - d.data) - p + 1 : d.len - p;

			mask_line(d.data + p, n, out);
			p += n;
		}
		sb_free_secret(&d);
	}
	return true;
}

/* ---- migrate --------------------------------------------------------------- */

/* The journal's list: {path, copy, sha256, new_sha256} per rewritten file;
 * the copies written now (before any file changes). */
json_t *
steps_app_files_save(Run *r)
{
	json_t *list = json_array();
	AppFiles *af = &r->files.app_files;

	for (size_t i = 0; i < af->count; i++)
	{
		AppFile *f = &af->items[i];
		char ext[64], copy[PATH_MAX];

		if (!f->rewrite)
			continue;
		if (!str_format(ext, sizeof(ext), ".appfile-%zu", i + 1)
			|| !journal_run_file(r->app->cfg.backups_dir, service_fsname(r->svc), "", r->run_id,
								 ext, copy, sizeof(copy))
			|| !fs_write_atomic(copy, f->old_bytes.data ? f->old_bytes.data : "",
								f->old_bytes.len, 0600))
		{
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "path", f->path,
											  "copy", copy, "sha256", f->old_sha,
											  "new_sha256", f->new_sha, "app", f->app));
	}
	return list;
}

bool
steps_app_files_write(Run *r)
{
	AppFiles *af = &r->files.app_files;

	for (size_t i = 0; i < af->count; i++)
	{
		AppFile *f = &af->items[i];

		if (!f->rewrite)
			continue;
		if (!fs_write_like(f->path, f->path, f->new_bytes.data, f->new_bytes.len, false))
			return false;
		log_notice("rewrote %s (%s, %s) for the shared instance", f->rel, f->app,
				   appconfig_format_name(f->format));
	}
	/* tests: a crash with the app files rewritten, the service file not */
	runner_fault_point("app-files");
	return true;
}

/* A failed run: every app file back as it was (its bytes are in memory). */
void
steps_app_files_undo(Run *r)
{
	AppFiles *af = &r->files.app_files;
	char sha[FS_SHA256_HEX_LEN + 1];

	for (size_t i = 0; i < af->count; i++)
	{
		AppFile *f = &af->items[i];

		if (!f->rewrite || !fs_sha256_file(f->path, sha, NULL) || strcmp(sha, f->new_sha) != 0)
			continue;
		if (fs_write_like(f->path, f->path, f->old_bytes.data ? f->old_bytes.data : "",
						  f->old_bytes.len, false))
			log_notice("restored %s", f->rel);
	}
}

/*
 * An interrupted run whose files step began but did not finish: each app
 * file it may have rewritten (its sha256 is the journaled new one) goes
 * back from the saved copy, so that the step starts again from the
 * originals. A file that is neither is someone's edit: refused, exit 3.
 */
bool
steps_app_files_resume(Run *r)
{
	json_t *rec = journal_step(&r->journal, r->run_id, MIG_STEP_FILES);
	json_t *list = rec ? json_object_get(rec, "app_files") : NULL, *e;
	size_t i;

	if (list == NULL || run_step_done(r, MIG_STEP_FILES))
		return true;
	json_array_foreach(list, i, e)
	{
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *copy = json_string_value(json_object_get(e, "copy"));
		const char *old = json_string_value(json_object_get(e, "sha256"));
		const char *wrote = json_string_value(json_object_get(e, "new_sha256"));
		char sha[FS_SHA256_HEX_LEN + 1];
		StrBuf orig = STRBUF_INIT;

		if (path == NULL || copy == NULL || old == NULL || wrote == NULL
			|| !fs_sha256_file(path, sha, NULL))
			return false;
		if (strcmp(sha, old) == 0)
			continue;
		if (strcmp(sha, wrote) != 0)
		{
			log_error("%s changed after the run %s was interrupted: it is neither the original "
					  "(saved in %s) nor what migrate wrote; put the original back (cp %s %s) "
					  "and re-run `pgfold migrate %s`", path, r->run_id, copy, copy, path,
					  r->svc->name);
			exit_hint_set(EXIT_BLOCKED);
			return false;
		}

		bool ok = fs_read_file(copy, APPCONFIG_MAX_BYTES, &orig)
			&& fs_write_like(path, path, orig.data ? orig.data : "", orig.len, false);

		sb_free_secret(&orig);
		if (!ok)
			return false;
		log_notice("restored %s from %s (an interrupted run had rewritten it)", path, copy);
	}
	return true;
}

/* ---- the apps that read them ------------------------------------------------ */

/*
 * The running containers of the project's app services that read an app
 * file (an app of another -f file of the project is not among the
 * service's own containers): stopped with them, so that nothing writes to
 * the dedicated database during the copy, and started again by the apply
 * (compose up of the project), when they read their rewritten file.
 */
bool
steps_stop_file_apps(Run *r, json_t *ids, json_t *names)
{
	AppFiles af;
	AcNew t = { r->app->cfg.shared_host, r->app->cfg.shared_port, "pgfold_probe",
				PREFLIGHT_PASSWORD_PLACEHOLDER, "pgfold_probe" };
	const char *project = composecmd_project(r->app, r->index);
	bool ok = true;

	if (!r->svc->apps_in_files || r->app->container_list == NULL || project == NULL)
		return true;
	if (!appfiles_find(r->app, r->index, &t, &af))
		return false;
	for (size_t k = 0; ok && k < af.count; k++)
	{
		size_t i;
		json_t *c;

		json_array_foreach(r->app->container_list, i, c)
		{
			const char *id, *svc, *name;

			if (!app_project_running(c, project, ids, &id, &svc, &name)
				|| strcmp(svc, af.items[k].app) != 0)
				continue;
			if (!(ok = app_stop_reader(r->app, id, name, af.items[k].rel, ids, names)))
				break;
			if (r->file_apps != NULL && compose_find_service(&r->svc->file, svc) == NULL)
				json_array_append_new(r->file_apps, json_string(id));
		}
	}
	appfiles_free(&af);
	return ok;
}

/*
 * The last step: the apps of the project's other files stopped for the
 * fold, which the compose up of this file's services does not start,
 * started again (they read their rewritten file then). Not journaled:
 * starting a running container changes nothing.
 */
bool
step_start_file_apps(Run *r)
{
	if (r->opts->no_apply || r->opts->keep_app_stopped || r->file_apps == NULL)
		return true;
	app_start_again(r->app, r->file_apps);
	return true;
}
