/*
 * appfiles.c — apps that keep their database settings in their own files
 * (Synapse's homeserver.yaml, Gitea's app.ini, Radarr's config.xml): when
 * no app connects to the db through compose, the files every app service
 * of the compose project bind-mounts from under the stack root are read
 * for the db's names. Known formats are rewritten (src/rewrite/appconfig);
 * for the others the lines to change are listed (the pre-flight blocks).
 *
 * The project is the db file's and its invocation's other -f files: in an
 * OnRamp stack radarr-postgres.yml holds only the db, radarr.yml the app.
 * Every byte is hostile: symlinks are not followed, paths must stay under
 * the root, and files, depth and sizes are bounded.
 */
#include "pgfold/migrate.h"

#include "pgfold/config.h"
#include "pgfold/log.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct Search
{
	App          *app;
	const char   *root;         /* realpath of the stack root */
	AcOld         old;
	const char   *hosts[3];
	const AcNew  *target;
	AppFiles     *out;
	bool          ok;
} Search;

static bool
seen(const AppFiles *out, const char *path)
{
	for (size_t i = 0; i < out->count; i++)
		if (strcmp(out->items[i].path, path) == 0)
			return true;
	return false;
}

static AppFile *
add_file(Search *s, const char *path, const char *app_key)
{
	AppFiles *out = s->out;

	out->items = xrealloc(out->items, out->count + 1, sizeof(AppFile));

	AppFile *f = &out->items[out->count++];

	memset(f, 0, sizeof(*f));
	str_copy(f->path, sizeof(f->path), path);
	if (!fs_relative_to(s->app->cfg.root, path, f->rel, sizeof(f->rel)))
		str_copy(f->rel, sizeof(f->rel), path);
	f->app = xstrdup(app_key);
	return f;
}

static void
check_file(Search *s, const char *path, const char *app_key)
{
	StrBuf bytes = STRBUF_INIT, rewritten = STRBUF_INIT;
	AcRef *refs = NULL;
	size_t nrefs = 0;
	bool matched = false;

	if (seen(s->out, path) || ++s->out->scanned > APPFILES_MAX_FILES)
		return;
	if (!fs_read_file(path, APPCONFIG_MAX_BYTES, &bytes))
	{
		sb_free_secret(&bytes);
		return;     /* unreadable or too large: not a configuration file */
	}

	AcFormat format = appconfig_format(path, sb_str(&bytes), bytes.len);

	if (format != AC_FORMAT_UNKNOWN)
	{
		if (!appconfig_rewrite(format, path, sb_str(&bytes), bytes.len, &s->old, s->target,
							   &rewritten, &matched))
			s->ok = false;
	}
	if (s->ok && !matched)
		appconfig_find_refs(sb_str(&bytes), bytes.len, &s->old, s->target, &refs, &nrefs);
	if (s->ok && (matched || nrefs > 0))
	{
		AppFile *f = add_file(s, path, app_key);

		f->format = matched ? format : AC_FORMAT_UNKNOWN;
		f->rewrite = matched;
		f->old_bytes = bytes;
		bytes = (StrBuf) STRBUF_INIT;
		f->new_bytes = rewritten;
		rewritten = (StrBuf) STRBUF_INIT;
		fs_sha256_bytes(f->old_bytes.data ? f->old_bytes.data : "", f->old_bytes.len, f->old_sha);
		fs_sha256_bytes(f->new_bytes.data ? f->new_bytes.data : "", f->new_bytes.len, f->new_sha);
		f->refs = refs;
		f->ref_count = nrefs;
		refs = NULL;
		nrefs = 0;
	}
	appconfig_refs_free(refs, nrefs);
	sb_free_secret(&bytes);
	sb_free_secret(&rewritten);
}

static void
walk(Search *s, const char *path, const char *app_key, int depth)
{
	struct stat st;

	if (!s->ok || s->out->scanned > APPFILES_MAX_FILES || lstat(path, &st) != 0)
		return;
	if (S_ISREG(st.st_mode))
	{
		if (st.st_size <= APPCONFIG_MAX_BYTES)
			check_file(s, path, app_key);
		return;
	}
	if (!S_ISDIR(st.st_mode) || depth >= APPFILES_MAX_DEPTH)
		return;     /* symlinks are not followed: they may lead out of the root */

	DIR *d = opendir(path);
	struct dirent *e;

	if (d == NULL)
		return;
	while (s->ok && (e = readdir(d)) != NULL && s->out->scanned <= APPFILES_MAX_FILES)
	{
		char sub[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (str_format(sub, sizeof(sub), "%s/%s", path, e->d_name))
			walk(s, sub, app_key, depth + 1);
	}
	closedir(d);
}

/* A short-form volume "SOURCE:TARGET[:MODE]" whose source is a path: that
 * path, resolved against dir, when it lies under the root. */
static bool
bind_source(const Search *s, const char *dir, const char *volume, char *out, size_t size)
{
	const char *colon = strchr(volume, ':');
	char src[PATH_MAX], joined[PATH_MAX];

	if (colon == NULL || (volume[0] != '.' && volume[0] != '/')
		|| (size_t) (colon - volume) >= sizeof(src))
		return false;
	memcpy(src, volume, (size_t) (colon - volume));
	src[colon - volume] = '\0';
	if (src[0] == '/' ? !str_copy(joined, sizeof(joined), src)
		: !str_format(joined, sizeof(joined), "%s/%s", dir, src))
		return false;
	if (realpath(joined, out) == NULL || strlen(out) >= size)
		return false;

	size_t n = strlen(s->root);

	return strncmp(out, s->root, n) == 0 && (out[n] == '/' || out[n] == '\0');
}

static void
search_compose(Search *s, const ComposeFile *f, int skip)
{
	for (size_t i = 0; s->ok && i < f->service_count; i++)
	{
		const ComposeService *svc = &f->services[i];

		if ((int) i == skip)
			continue;
		for (size_t v = 0; s->ok && v < svc->volume_count; v++)
		{
			char src[PATH_MAX];

			if (svc->volumes[v] != NULL && bind_source(s, f->dir ? f->dir : ".",
													   svc->volumes[v], src, sizeof(src)))
				walk(s, src, svc->key, 0);
		}
	}
}

/* The project's other files: parsed as compose reads them (their project
 * directory and variables), quietly; one that does not parse is skipped. */
static void
search_project(Search *s, size_t index)
{
	const ComposeInvocation *inv = app_invocation(s->app, index);
	const StackService *svc = &s->app->stack.services[index];
	Config scratch;
	const Config *cfg = service_config(&s->app->cfg, svc, &scratch);

	for (size_t i = 0; s->ok && i < inv->file_count; i++)
	{
		ComposeFile f;
		ComposeOptions o = { .quiet = true, .project_dir = inv->project_dir };
		char a[PATH_MAX], b[PATH_MAX];

		if (i == inv->self || (realpath(inv->files[i], a) != NULL
							   && realpath(svc->path, b) != NULL && strcmp(a, b) == 0))
			continue;
		memset(&f, 0, sizeof(f));
		if (compose_load_opts(inv->files[i], config_var_lookup, (void *) cfg, &o, &f))
			search_compose(s, &f, -1);
		compose_free(&f);
	}
}

bool
appfiles_find(App *app, size_t index, const AcNew *target, AppFiles *out)
{
	const StackService *svc = &app->stack.services[index];
	char root[PATH_MAX];
	Search s;

	memset(out, 0, sizeof(*out));
	if (svc->db_service < 0 || !svc->no_app_conn)
		return true;
	if (realpath(app->cfg.root, root) == NULL)
	{
		log_error("%s: %s", app->cfg.root, strerror(errno));
		return false;
	}
	memset(&s, 0, sizeof(s));
	s.app = app;
	s.root = root;
	s.target = target;
	s.out = out;
	s.ok = true;
	s.hosts[0] = svc->file.services[svc->db_service].key;
	s.hosts[1] = svc->db_container;
	s.old = (AcOld) { s.hosts, 5432, svc->db_user, svc->db_name };
	search_compose(&s, &svc->file, svc->db_service);
	search_project(&s, index);
	if (!s.ok)
		appfiles_free(out);
	return s.ok;
}

bool
appfiles_any(App *app, size_t index, size_t *count)
{
	AppFiles found;
	/* only the names matter here: a placeholder target */
	AcNew t = { app->cfg.shared_host, app->cfg.shared_port, "pgfold_probe",
				PREFLIGHT_PASSWORD_PLACEHOLDER, "pgfold_probe" };
	char why[256];
	bool ok;

	log_capture_begin(why, sizeof(why));
	ok = appfiles_find(app, index, &t, &found);
	log_capture_end();
	*count = ok ? found.count : 0;
	if (ok)
		appfiles_free(&found);
	/* a file that cannot be rewritten also says an app reads it: the
	 * files check reports why */
	return !ok || *count > 0;
}

void
appfiles_free(AppFiles *files)
{
	for (size_t i = 0; i < files->count; i++)
	{
		AppFile *f = &files->items[i];

		free(f->app);
		sb_free_secret(&f->old_bytes);
		sb_free_secret(&f->new_bytes);
		appconfig_refs_free(f->refs, f->ref_count);
	}
	free(files->items);
	memset(files, 0, sizeof(*files));
}
