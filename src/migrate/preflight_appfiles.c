/*
 * preflight_appfiles.c — the pre-flight of a service whose apps read the
 * db's settings from their own files (appfiles.c): such a file makes the
 * service foldable although no app connects through compose; a known
 * format is shown as rewritten, an unknown one blocks (exit 3) with
 * file:line of every reference and the change to make, until the
 * operator made them and says so with --files-edited.
 */
#include "pgfold/migrate.h"

#include "pgfold/log.h"
#include "pgfold/secrets.h"

#include <stdlib.h>
#include <string.h>

void
preflight_adopt_app_files(App *app, size_t index, const PreflightOptions *opts)
{
	StackService *svc = &app->stack.services[index];
	size_t n = 0;

	if (!svc->no_app_conn || svc->problem == NULL)
		return;
	/* --files-edited: the operator pointed the apps' files at the shared
	 * instance already, so they may no longer name the db */
	if (!appfiles_any(app, index, &n) && !opts->files_edited)
		return;
	free(svc->problem);
	svc->problem = NULL;
	svc->apps_in_files = true;
}

void
preflight_app_files(Preflight *pf, App *app, const StackService *svc,
					const PreflightOptions *opts)
{
	const AppFiles *af = pf->files ? &pf->files->app_files : NULL;
	size_t unknown = 0, rewritten = 0;
	char pwfile[PATH_MAX];

	if (!svc->apps_in_files || af == NULL)
		return;    /* the files check already says why nothing was built */
	if (!secrets_password_path(app->cfg.root, pf->names.role, pwfile, sizeof(pwfile)))
		str_copy(pwfile, sizeof(pwfile), "etc/.db_passwords/<role>.txt");
	for (size_t i = 0; i < af->count; i++)
	{
		const AppFile *f = &af->items[i];

		if (f->rewrite)
		{
			rewritten++;
			preflight_add(pf, "app file", CHECK_OK, "%s (service %s, %s): host, port, user, "
						  "password and database rewritten for the shared instance; rollback "
						  "restores it byte for byte", f->rel, f->app,
						  appconfig_format_name(f->format));
			continue;
		}
		unknown++;
		for (size_t k = 0; k < f->ref_count; k++)
			preflight_add(pf, "app file", opts->files_edited ? CHECK_WARN : CHECK_BLOCK,
						  "%s:%zu: %s | change: %s", f->rel, f->refs[k].line, f->refs[k].text,
						  f->refs[k].change);
		preflight_add(pf, "app file", opts->files_edited ? CHECK_WARN : CHECK_BLOCK,
					  "%s (service %s) names the dedicated database in a format pgfold does not "
					  "rewrite: make the changes above (and set its password to the one in %s: "
					  "create that file, mode 0600, with a password of your choice if it does not "
					  "exist; migrate gives the role that password), then re-run with "
					  "--files-edited%s", f->rel, f->app, pwfile,
					  opts->files_edited ? " (given: going on; these lines still name it)" : "");
	}
	if (opts->files_edited)
		preflight_add(pf, "app file", CHECK_WARN, "--files-edited: the apps' own files you "
					  "changed point at the shared instance (host %s, port %d, database \"%s\", "
					  "user \"%s\"); rollback does not undo your edits", app->cfg.shared_host,
					  app->cfg.shared_port, pf->names.db, pf->names.role);
	else if (rewritten + unknown == 0)
		preflight_add(pf, "app connections", CHECK_BLOCK, "no app file names \"%s\" any more",
					  svc->file.services[svc->db_service].key);
}

void
preflight_after_rewrite(Preflight *pf, App *app, const StackService *svc,
						const PreflightOptions *opts)
{
	preflight_app_files(pf, app, svc, opts);
	preflight_networks(pf, app, svc);
}
