/*
 * invocation.c — how the operator's compose runs a service file, read from
 * the labels compose put on the file's containers.
 *
 * Compose records its invocation on every container it creates: the
 * project, the project directory (working_dir, absolute), the -f files
 * (config_files, comma-separated; compose 1.29 writes them as given on its
 * command line, relative to wherever it ran, v2 absolute) and, v2, the
 * --env-file list (environment_file). A stack brought up with `docker-compose
 * -f services/x.yml up -d` from its root has services/ as project directory
 * and reads services/.env; recreating its apps with any other project
 * directory would give them other variables. So pgfold follows the labels
 * and falls back to its own convention (the stack root) only when nothing
 * was created yet.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/log.h"

/* Labels hold a few paths; anything longer is not something compose wrote. */
#define LABEL_LIST_MAX 64

static void
strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

static void
set_problem(ComposeInvocation *inv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_problem(ComposeInvocation *inv, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	if (inv->problem != NULL)
		return;   /* the first one says enough */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	inv->problem = xstrdup(buf);
}

/* Split a comma-separated label into resolved paths; a name that does not
 * resolve sets the problem. */
static void
label_paths(const ContainerInfo *ci, const char *list, const char *what,
			char ***out, size_t *count, ComposeInvocation *inv)
{
	char *copy = xstrdup(list);
	char *save = NULL;

	for (char *p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save))
	{
		if (*count >= LABEL_LIST_MAX)
		{
			set_problem(inv, "%s: its labels name more than %d %s", ci->name, LABEL_LIST_MAX, what);
			break;
		}

		char abs[PATH_MAX];

		if (!service_label_file(p, ci->working_dir, abs, sizeof(abs)))
		{
			set_problem(inv, "%s was created by compose with %s %s, which no longer exists "
						"(from %s); bring the project up again from where it lives",
						ci->name, what, p, ci->working_dir);
			continue;
		}
		strv_push(out, count, xstrdup(abs));
	}
	free(copy);
}

/* The member whose labels describe this file's invocation: the db
 * container first, then any other; only labels that name this file count
 * (a container matched by name alone may belong to something else). */
static const ContainerInfo *
labelled_member(const StackService *svc, const ServiceContainers *sc)
{
	if (sc == NULL)
		return NULL;
	for (size_t k = 0; k <= sc->count; k++)
	{
		/* k == 0: the db slot; then every slot in order */
		size_t j = k == 0 ? (size_t) sc->db : k - 1;

		if ((k == 0 && sc->db < 0) || j >= sc->count)
			continue;

		const ContainerInfo *ci = &sc->members[j];

		if (ci->match == MATCH_NONE || ci->config_files == NULL || ci->working_dir == NULL
			|| ci->project == NULL)
			continue;

		ComposeInvocation probe = { 0 };
		bool names_this = false;

		label_paths(ci, ci->config_files, "file", &probe.files, &probe.file_count, &probe);
		for (size_t f = 0; f < probe.file_count && !names_this; f++)
			names_this = service_same_file(probe.files[f], svc->path);
		compose_invocation_free(&probe);
		if (names_this)
			return ci;
	}
	return NULL;
}

/* pgfold's own convention; the project a matched db container runs under
 * (labels without a usable file list) still names the project. */
static void
defaults(const Config *cfg, const StackService *svc, const ServiceContainers *sc,
		 ComposeInvocation *out)
{
	StrBuf env = STRBUF_INIT;
	const ContainerInfo *db = sc != NULL && sc->db >= 0 && (size_t) sc->db < sc->count
		? &sc->members[sc->db] : NULL;

	char own[256];
	const char *base = svc->project_dir ? strrchr(svc->project_dir, '/') : NULL;

	if (db != NULL && db->match != MATCH_NONE && db->compose_version != NULL)
		out->compose_version = xstrdup(db->compose_version);
	if (db != NULL && db->match != MATCH_NONE && db->project != NULL)
		out->project = xstrdup(db->project);
	else if (base != NULL && service_project_name(base + 1, own, sizeof(own)))
		out->project = xstrdup(own);    /* an app directory names its project */
	else
		out->project = xstrdup(svc->project_count > 0 ? svc->projects[0] : svc->name);
	out->project_dir = xstrdup(svc->project_dir ? svc->project_dir : cfg->root);
	strv_push(&out->files, &out->file_count, xstrdup(svc->path));
	out->self = 0;
	if (svc->project_dir)
		sb_appendf(&env, "%s/.env", svc->project_dir);
	else
		sb_appends(&env, cfg->env_path);
	out->env_target = sb_steal(&env);
}

/* The env files the configuration names (PGFOLD_ENV_FILES) stand for the
 * --env-file list a compose 1.29 does not record. */
static void
configured_env_files(const Config *cfg, ComposeInvocation *out)
{
	if (out->env_file_count > 0 || cfg->env_file_count == 0)
		return;
	for (size_t i = 0; i < cfg->env_file_count; i++)
		strv_push(&out->env_files, &out->env_file_count, xstrdup(cfg->env_files[i]));
	free(out->env_target);
	out->env_target = xstrdup(cfg->env_files[cfg->env_file_count - 1]);
}

void
service_invocation(const Config *cfg, const StackService *svc, const ServiceContainers *sc,
				   ComposeInvocation *out)
{
	const ContainerInfo *ci = labelled_member(svc, sc);
	StrBuf env = STRBUF_INIT;

	memset(out, 0, sizeof(*out));
	if (ci == NULL)
	{
		defaults(cfg, svc, sc, out);
		configured_env_files(cfg, out);
		return;
	}
	out->source = xstrdup(ci->name);
	out->compose_version = ci->compose_version ? xstrdup(ci->compose_version) : NULL;
	out->project = xstrdup(ci->project);
	out->project_dir = xstrdup(ci->working_dir);
	label_paths(ci, ci->config_files, "file", &out->files, &out->file_count, out);
	for (size_t f = 0; f < out->file_count; f++)
		if (service_same_file(out->files[f], svc->path))
			out->self = f;
	if (ci->environment_file != NULL && ci->environment_file[0] != '\0')
		label_paths(ci, ci->environment_file, "env file", &out->env_files,
					&out->env_file_count, out);
	if (out->env_file_count > 0)
		sb_appends(&env, out->env_files[out->env_file_count - 1]);
	else
		sb_appendf(&env, "%s/.env", out->project_dir);
	out->env_target = sb_steal(&env);
	configured_env_files(cfg, out);
}

void
compose_invocation_free(ComposeInvocation *inv)
{
	for (size_t i = 0; i < inv->file_count; i++)
		free(inv->files[i]);
	free(inv->files);
	for (size_t i = 0; i < inv->env_file_count; i++)
		free(inv->env_files[i]);
	free(inv->env_files);
	free(inv->project);
	free(inv->project_dir);
	free(inv->env_target);
	free(inv->source);
	free(inv->compose_version);
	free(inv->problem);
	memset(inv, 0, sizeof(*inv));
}

bool
compose_invocation_has_own_env(const Config *cfg, const ComposeInvocation *inv)
{
	return inv->env_file_count > 0 || strcmp(inv->project_dir, cfg->root) != 0;
}

/* Move every entry of src to the end of dst (dotenv_get: last wins, as
 * compose lets a later --env-file win). */
static void
dotenv_move_into(Dotenv *dst, Dotenv *src)
{
	dst->items = xrealloc(dst->items, dst->count + src->count + 1, sizeof(DotenvEntry));
	memcpy(dst->items + dst->count, src->items, src->count * sizeof(DotenvEntry));
	dst->count += src->count;
	free(src->items);
	src->items = NULL;
	src->count = 0;
	dotenv_free(src);
}

bool
service_use_env(StackService *svc, const char *dir, char *const *files, size_t count,
				 const char *default_env)
{
	size_t n = count > 0 ? count : 1;
	Dotenv merged = { 0 };

	merged.origin = xstrdup(count > 0 ? files[count - 1] : default_env);
	for (size_t i = 0; i < n; i++)
	{
		Dotenv one = { 0 };
		/* compose's default .env may be absent; an --env-file it was given may not */
		bool ok = count > 0 ? dotenv_load(files[i], false, &one)
			: dotenv_load(default_env, true, &one);

		if (!ok)
		{
			dotenv_free(&merged);
			return false;
		}
		dotenv_move_into(&merged, &one);
	}
	dotenv_free(&svc->project_env);
	free(svc->project_dir);
	svc->project_env = merged;
	svc->project_dir = xstrdup(dir);
	return true;
}

bool
service_set_project_env(StackService *svc, const ComposeInvocation *inv)
{
	return service_use_env(svc, inv->project_dir, inv->env_files, inv->env_file_count,
							inv->env_target);
}

bool
service_use_project_dir(StackService *svc, const char *dir)
{
	StrBuf env = STRBUF_INIT;
	bool ok;

	sb_appendf(&env, "%s/.env", dir);
	ok = service_use_env(svc, dir, NULL, 0, sb_str(&env));
	sb_free(&env);
	return ok;
}
