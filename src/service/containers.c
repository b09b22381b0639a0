/*
 * containers.c — which running (or stopped) containers belong to which
 * service file, from ONE container list for the whole stack.
 *
 * Compose labels decide first: com.docker.compose.service names the key
 * and com.docker.compose.project.config_files names the file it came from
 * (several files use a key like `db`, and with --project-directory <root>
 * they even share the project). Without a config_files label the project
 * must be one this file may run under. The container name is the fallback
 * (container_name, or compose's <project>-<key>-1 / <project>_<key>_1), and
 * it must match exactly: `docmost-db-backup` is not `docmost-db`. Among
 * several, one started from this stack (working_dir label) and running wins.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_PROJECT      "com.docker.compose.project"
#define LABEL_SERVICE      "com.docker.compose.service"
#define LABEL_WORKING_DIR  "com.docker.compose.project.working_dir"
#define LABEL_CONFIG_FILES "com.docker.compose.project.config_files"
#define LABEL_ENV_FILES    "com.docker.compose.project.environment_file"
#define LABEL_VERSION      "com.docker.compose.version"
#define LABEL_CONFIG_HASH  "com.docker.compose.config-hash"

static const char *
jstr(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *
label(json_t *c, const char *key)
{
	return jstr(json_object_get(c, "Labels"), key);
}

static const char *
base_name(const char *path, size_t len, size_t *out_len)
{
	const char *b = path;

	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			b = path + i + 1;
	*out_len = (size_t) (path + len - b);
	return b;
}

/* Does a comma-separated config_files label name a file called like ours? */
static bool
config_files_name(const char *label_value, const char *our_path)
{
	size_t ol;
	const char *ours = base_name(our_path, strlen(our_path), &ol);

	for (const char *p = label_value; *p;)
	{
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t) (comma - p) : strlen(p);
		size_t bl;
		const char *b = base_name(p, len, &bl);

		if (bl == ol && memcmp(b, ours, ol) == 0)
			return true;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return false;
}

static bool
in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Names compose may give compose service j of svc. */
static void
name_candidates(const StackService *svc, size_t j, char ***out, size_t *n)
{
	const ComposeService *cs = &svc->file.services[j];
	char buf[512];

	if (cs->container_name || cs->container_name_raw)
	{
		strlist_add_unique(out, n, cs->container_name ? cs->container_name
						   : cs->container_name_raw);
		return;
	}
	for (size_t p = 0; p < svc->project_count; p++)
	{
		if (str_format(buf, sizeof(buf), "%s-%s-1", svc->projects[p], cs->key))
			strlist_add_unique(out, n, buf);
		if (str_format(buf, sizeof(buf), "%s_%s_1", svc->projects[p], cs->key))
			strlist_add_unique(out, n, buf);
	}
}

static bool
name_matches(json_t *c, char *const *cands, size_t n)
{
	json_t *names = json_object_get(c, "Names");
	size_t i;
	json_t *v;

	if (!json_is_array(names))
		return false;
	json_array_foreach(names, i, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;

		if (s && s[0] == '/')
			s++;
		if (in_list(cands, n, s))
			return true;
	}
	return false;
}

static ContainerMatch
match_one(const StackService *svc, size_t j, json_t *c, char *const *cands, size_t n)
{
	const ComposeService *cs = &svc->file.services[j];
	const char *service = label(c, LABEL_SERVICE);
	const char *files = label(c, LABEL_CONFIG_FILES);
	const char *project = label(c, LABEL_PROJECT);
	bool by_labels = false;

	if (service && cs->key && strcmp(service, cs->key) == 0)
	{
		if (files && files[0])
			by_labels = config_files_name(files, svc->path ? svc->path : svc->file.path);
		else
			by_labels = in_list(svc->projects, svc->project_count, project);
	}

	bool by_name = name_matches(c, cands, n);

	if (by_labels && by_name)
		return MATCH_BOTH;
	if (by_labels)
		return MATCH_LABELS;
	return by_name ? MATCH_NAME : MATCH_NONE;
}

static bool
is_running(json_t *c)
{
	const char *state = jstr(c, "State");

	return state && strcmp(state, "running") == 0;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* healthy / unhealthy / starting, from the Health summary newer engines
 * send, else from the Status text ("Up 2 minutes (healthy)"). */
static char *
health_of(json_t *c)
{
	const char *h = jstr(json_object_get(c, "Health"), "Status");
	const char *status = jstr(c, "Status");

	if (h && h[0] && strcmp(h, "none") != 0)
		return xstrdup(h);
	if (status == NULL)
		return NULL;
	if (strstr(status, "(unhealthy)"))
		return xstrdup("unhealthy");
	if (strstr(status, "(healthy)"))
		return xstrdup("healthy");
	if (strstr(status, "(health: starting)"))
		return xstrdup("starting");
	return NULL;
}

static void
fill_info(ContainerInfo *info, json_t *c, ContainerMatch m)
{
	json_t *names = json_object_get(c, "Names");
	json_t *first = json_is_array(names) ? json_array_get(names, 0) : NULL;
	const char *name = json_is_string(first) ? json_string_value(first) : NULL;

	if (name && name[0] == '/')
		name++;
	info->match = m;
	info->id = dup_or_null(jstr(c, "Id"));
	info->name = dup_or_null(name);
	info->image = dup_or_null(jstr(c, "Image"));
	info->state = dup_or_null(jstr(c, "State"));
	info->status = dup_or_null(jstr(c, "Status"));
	info->health = health_of(c);
	info->project = dup_or_null(label(c, LABEL_PROJECT));
	info->working_dir = dup_or_null(label(c, LABEL_WORKING_DIR));
	info->config_files = dup_or_null(label(c, LABEL_CONFIG_FILES));
	info->environment_file = dup_or_null(label(c, LABEL_ENV_FILES));
	info->compose_version = dup_or_null(label(c, LABEL_VERSION));
	info->config_hash = dup_or_null(label(c, LABEL_CONFIG_HASH));
	info->service = dup_or_null(label(c, LABEL_SERVICE));
}

static void
info_free(ContainerInfo *info)
{
	free(info->id);
	free(info->name);
	free(info->image);
	free(info->state);
	free(info->status);
	free(info->health);
	free(info->project);
	free(info->working_dir);
	free(info->config_files);
	free(info->environment_file);
	free(info->compose_version);
	free(info->config_hash);
	free(info->service);
	memset(info, 0, sizeof(*info));
}

/* Was it started from this stack: compose's working_dir is the stack root
 * (the services directory's parent) or the services directory itself? A
 * container of the same file in another checkout matches too, but ranks
 * below. No label: assume so. */
static bool
from_this_stack(const StackService *svc, json_t *c)
{
	const char *wd = label(c, LABEL_WORKING_DIR);
	const char *dir = svc->file.dir;

	if (wd == NULL || dir == NULL || strcmp(wd, dir) == 0)
		return true;

	const char *slash = strrchr(dir, '/');
	size_t parent = slash ? (size_t) (slash - dir) : 0;

	if (slash == dir)
		return strcmp(wd, "/") == 0;
	return slash && strlen(wd) == parent && strncmp(wd, dir, parent) == 0;
}

/* How good a match is: the kind of match, then from this stack, then running. */
static int
rank(const StackService *svc, json_t *c, ContainerMatch m)
{
	return (int) m * 4 + (from_this_stack(svc, c) ? 2 : 0) + (is_running(c) ? 1 : 0);
}

/* The best container for compose service j of svc. */
static void
match_member(const StackService *svc, size_t j, json_t *list, ContainerInfo *info)
{
	char **cands = NULL;
	size_t n = 0, i;
	json_t *c, *best = NULL;
	ContainerMatch best_m = MATCH_NONE;
	int best_rank = -1;
	size_t ours = 0;

	name_candidates(svc, j, &cands, &n);
	json_array_foreach(list, i, c)
	{
		if (!json_is_object(c))
			continue;

		ContainerMatch m = match_one(svc, j, c, cands, n);

		if (m == MATCH_NONE)
			continue;
		info->matches++;
		if (from_this_stack(svc, c))
			ours++;

		int r = rank(svc, c, m);

		if (r > best_rank)
		{
			best = c;
			best_m = m;
			best_rank = r;
		}
	}
	strlist_free(&cands, &n);

	/* Copies started from another checkout of the same file are not this
	 * stack's: only this stack's own copies make a match ambiguous. */
	size_t matches = ours > 0 ? ours : info->matches;

	if (best)
		fill_info(info, best, best_m);
	info->matches = matches;
}

bool
stack_match_containers(const Stack *stack, json_t *list, StackContainers *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_array(list))
		return false;
	out->services = xcalloc(stack->count ? stack->count : 1, sizeof(ServiceContainers));
	out->count = stack->count;
	for (size_t i = 0; i < stack->count; i++)
	{
		const StackService *svc = &stack->services[i];
		ServiceContainers *sc = &out->services[i];

		sc->db = svc->db_service;
		if (!svc->loaded)
		{
			sc->db = -1;
			continue;
		}
		sc->count = svc->file.service_count;
		sc->members = xcalloc(sc->count ? sc->count : 1, sizeof(ContainerInfo));
		for (size_t j = 0; j < sc->count; j++)
			match_member(svc, j, list, &sc->members[j]);
	}
	return true;
}

void
stack_containers_free(StackContainers *sc)
{
	for (size_t i = 0; i < sc->count; i++)
	{
		for (size_t j = 0; j < sc->services[i].count; j++)
			info_free(&sc->services[i].members[j]);
		free(sc->services[i].members);
	}
	free(sc->services);
	memset(sc, 0, sizeof(*sc));
}

const ContainerInfo *
stack_containers_db(const StackContainers *sc, size_t i)
{
	if (sc == NULL || i >= sc->count)
		return NULL;

	const ServiceContainers *s = &sc->services[i];

	if (s->db < 0 || (size_t) s->db >= s->count || s->members[s->db].match == MATCH_NONE)
		return NULL;
	return &s->members[s->db];
}
