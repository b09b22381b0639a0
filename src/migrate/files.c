/*
 * files.c — every file a migration changes, computed before anything is
 * written: the new service file, the rollback override (from the ORIGINAL
 * file, never the edited one) and the stack .env with the password
 * variable. plan diffs them; migrate writes them.
 */
#include "pgfold/composecmd.h"
#include "pgfold/migrate.h"

#include "pgfold/fsutil.h"
#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

#define ENV_MAX_BYTES (1024 * 1024)

static bool
build_env(App *app, const RwServiceResult *rw, MigrationFiles *out)
{
	if (!fs_read_file_if_exists(out->env_path, ENV_MAX_BYTES, &out->env_old,
								&out->env_exists))
		return false;

	StrBuf cur = STRBUF_INIT;

	sb_append(&cur, sb_str(&out->env_old), out->env_old.len);
	for (size_t i = 0; i < rw->env_count; i++)
	{
		sb_reset(&out->env_new);
		if (!rewrite_env_file_set(sb_str(&cur), cur.len, rw->env[i].key, rw->env[i].value,
								  &out->env_new))
		{
			sb_free_secret(&cur);
			return false;
		}
		sb_reset(&cur);
		sb_append(&cur, sb_str(&out->env_new), out->env_new.len);
	}
	sb_reset(&out->env_new);
	sb_append(&out->env_new, sb_str(&cur), cur.len);
	sb_free_secret(&cur);
	return true;
}

bool
migration_files_build(App *app, const StackService *svc, const MigrationNames *names,
					  const char *password, MigrationFiles *out)
{
	char name[PATH_MAX];

	const ComposeInvocation *inv = app_invocation(app, (size_t) (svc - app->stack.services));

	memset(out, 0, sizeof(*out));
	if (!fs_relative_to(app->cfg.root, svc->path, out->service_rel, sizeof(out->service_rel))
		|| !str_copy(out->env_path, sizeof(out->env_path), inv->env_target)
		|| !fs_relative_to(app->cfg.root, inv->env_target, out->env_rel, sizeof(out->env_rel))
		|| !rewrite_override_name(service_fsname(svc), name, sizeof(name))
		|| !str_format(out->override_rel, sizeof(out->override_rel), "overrides/%s", name)
		|| !str_format(out->override_path, sizeof(out->override_path), "%s/%s",
					   app->cfg.overrides_dir, name))
	{
		log_error("%s: path too long", svc->path);
		return false;
	}

	size_t index = (size_t) (svc - app->stack.services);
	AcNew app_target = { app->cfg.shared_host, app->cfg.shared_port, names->role, password,
						 names->db };

	/* apps that read the db's settings from their own files; those of
	 * this file get their networks checked like the others */
	if (!appfiles_find(app, index, &app_target, &out->app_files))
		return false;

	const char **file_apps = xcalloc(out->app_files.count + 1, sizeof(char *));

	for (size_t i = 0, n = 0; i < out->app_files.count; i++)
		if (compose_find_service(&svc->file, out->app_files.items[i].app) != NULL)
			file_apps[n++] = out->app_files.items[i].app;
	migration_shared_net(app, index, &out->net);

	RwTarget target = {
		.host = app->cfg.shared_host,
		.port = app->cfg.shared_port,
		.role = names->role,
		.dbname = names->db,
		.password = password,
		.password_style = RW_PASSWORD_MIRROR,
		.apps_in_files = svc->apps_in_files,
		.net = out->net.container ? &out->net.rw : NULL,
		.file_apps = file_apps,
	};
	bool rewritten = rewrite_service_file(svc, &target, &out->service);

	free(file_apps);
	if (!rewritten)
		return false;

	/* the header shows the project's own command with the override last */
	const char *more[] = { out->override_path, NULL }, *up[] = { "up", "-d", NULL };
	char **argv = composecmd_argv(app, inv, more, up);
	StrBuf cmd = STRBUF_INIT;

	composecmd_line(argv, &cmd);
	composecmd_argv_free(argv);

	RwProvenance prov = { out->service_rel, out->override_rel, NULL, sb_str(&cmd) };
	bool ok = rewrite_rollback_override_added(svc, &prov, out->service.added,
											  out->service.added_count, &out->override_bytes);

	sb_free(&cmd);
	if (!ok)
		return false;
	return build_env(app, &out->service, out);
}

void
migration_files_free(MigrationFiles *files)
{
	rewrite_service_result_free(&files->service);
	sb_free(&files->override_bytes);
	sb_free_secret(&files->env_old);
	sb_free_secret(&files->env_new);
	appfiles_free(&files->app_files);
	migration_shared_net_free(&files->net);
}

/* The .env holds passwords: its diff shows which keys change, never values. */
static void
describe_env_change(const MigrationFiles *files, StrBuf *out)
{
	for (size_t i = 0; i < files->service.env_count; i++)
		sb_appendf(out, "--- a/%s\n+++ b/%s\n+%s=<generated password, %s>\n",
				   files->env_rel, files->env_rel, files->service.env[i].key, files->env_exists ? "mode 0600" : "new file, mode 0600");
}

bool
migration_files_diff(const StackService *svc, const MigrationFiles *files, StrBuf *out)
{
	char a[PATH_MAX + 2], b[PATH_MAX + 2];

	str_format(a, sizeof(a), "a/%s", files->service_rel);
	str_format(b, sizeof(b), "b/%s", files->service_rel);
	if (!rewrite_unified_diff(svc->file.bytes, svc->file.len, sb_str(&files->service.bytes),
							  files->service.bytes.len, a, b, out))
		return false;

	str_format(b, sizeof(b), "b/%s", files->override_rel);
	if (!rewrite_unified_diff(NULL, 0, sb_str(&files->override_bytes),
							  files->override_bytes.len, "/dev/null", b, out))
		return false;
	describe_env_change(files, out);
	return appfiles_diff(files, out);
}
