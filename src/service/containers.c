/*
 * containers.c — which running (or stopped) containers belong to which
 * service file, from ONE container list for the whole stack.
 *
 * Compose labels decide first: com.docker.compose.service names the key
 * and com.docker.compose.project.config_files names the files it came from
 * (several files use a key like `db`, and with --project-directory <root>
 * they even share the project), resolved against the working_dir label: a
 * container of another stack's file of the same name and key is not this
 * stack's, even when nothing of ours is running. Without a config_files
 * label the project must be one this file may run under. The container name is the fallback
 * (container_name, or compose's <project>-<key>-1 / <project>_<key>_1), and
 * it must match exactly: `docmost-db-backup` is not `docmost-db`. Among
 * several, one started from this stack (working_dir label) and running wins.
 */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* path made absolute-clean: "//", "/./" and "dir/.." folded away. False
 * when it is not absolute or does not fit. */
static bool
path_clean(const char *path, char *out, size_t size)
{
	size_t o = 0;

	if (path == NULL || path[0] != '/' || size < 2)
		return false;
	for (const char *p = path; *p;)
	{
		while (*p == '/')
			p++;

		const char *e = strchrnul(p, '/');
		size_t n = (size_t) (e - p);

		if (n == 0 || (n == 1 && p[0] == '.'))
			;
		else if (n == 2 && p[0] == '.' && p[1] == '.')
		{
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		}
		else
		{
			if (o + 1 + n + 1 > size)
				return false;
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return true;
}

/* The same file: the same clean path, or (links, bind mounts) the same
 * inode when both exist. */
bool
service_same_file(const char *a, const char *b)
{
	char ca[PATH_MAX], cb[PATH_MAX];
	struct stat sa, sb;

	if (path_clean(a, ca, sizeof(ca)) && path_clean(b, cb, sizeof(cb)) && strcmp(ca, cb) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
		sa.st_ino == sb.st_ino;
}

/* Is the config_files entry [p, p+len) our file? An absolute entry (compose
 * v2) is compared as it is; a relative one (1.29 writes -f as given, from
 * where it ran: the working_dir, or a parent of it when --project-directory
 * or the file's own directory made that the working_dir) against wd and
 * each of its parents. */
static bool
entry_is(const char *p, size_t len, const char *wd, const char *ours)
{
	char entry[PATH_MAX], dir[PATH_MAX], joined[PATH_MAX * 2];

	if (len == 0 || len >= sizeof(entry))
		return false;
	memcpy(entry, p, len);
	entry[len] = '\0';
	if (entry[0] == '/')
		return service_same_file(entry, ours);
	if (!path_clean(wd, dir, sizeof(dir)))
		return false;
	for (;;)
	{
		if (str_format(joined, sizeof(joined), "%s/%s", strcmp(dir, "/") ? dir : "", entry) &&
			service_same_file(joined, ours))
			return true;
		if (strcmp(dir, "/") == 0)
			return false;

		char *slash = strrchr(dir, '/');

		slash[slash == dir ? 1 : 0] = '\0';
	}
}

bool
service_label_file(const char *entry, const char *wd, char *out, size_t size)
{
	char dir[PATH_MAX], joined[PATH_MAX * 2];
	struct stat st;

	if (entry[0] == '/')
		return stat(entry, &st) == 0 && S_ISREG(st.st_mode) && str_copy(out, size, entry);
	if (wd == NULL || !path_clean(wd, dir, sizeof(dir)))
		return false;
	for (;;)
	{
		if (str_format(joined, sizeof(joined), "%s/%s", strcmp(dir, "/") ? dir : "", entry)
			&& stat(joined, &st) == 0 && S_ISREG(st.st_mode))
			return str_copy(out, size, joined);
		if (strcmp(dir, "/") == 0)
			return false;

		char *slash = strrchr(dir, '/');

		slash[slash == dir ? 1 : 0] = '\0';
	}
}

/* Which stack's file the container came from, by its labels: compose
 * records the files it read and where it ran. Two stacks with the same
 * file and key names on one engine are told apart here, never by names. */
typedef enum Owner
{
	OWNER_UNKNOWN = 0,   /* no config_files (or no working_dir for relative ones) */
	OWNER_THIS,
	OWNER_OTHER
} Owner;

static Owner
label_owner(const StackService *svc, const char *files, const char *wd)
{
	const char *ours = svc->path ? svc->path : svc->file.path;
	bool relative = false;

	if (files == NULL || files[0] == '\0' || ours == NULL)
		return OWNER_UNKNOWN;
	for (const char *p = files; *p;)
	{
		const char *comma = strchrnul(p, ',');

		relative |= p[0] != '/';
		if (entry_is(p, (size_t) (comma - p), wd, ours))
			return OWNER_THIS;
		p = *comma ? comma + 1 : comma;
	}
	return relative && (wd == NULL || wd[0] != '/') ? OWNER_UNKNOWN : OWNER_OTHER;
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
	Owner owner = label_owner(svc, files, label(c, LABEL_WORKING_DIR));
	bool by_labels = false;

	/* another stack's container, whatever its name */
	if (owner == OWNER_OTHER)
		return MATCH_NONE;
	if (service && cs->key && strcmp(service, cs->key) == 0)
	{
		if (owner == OWNER_THIS)
			by_labels = true;
		else if (files && files[0])
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
	free(info->claimed_by);
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
	Owner owner = label_owner(svc, label(c, LABEL_CONFIG_FILES), wd);

	if (owner != OWNER_UNKNOWN)
		return owner == OWNER_THIS;
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
/* "<name> (project P, files F)" of a container that holds a name this
 * file gives but belongs to another stack's file. */
static char *
claimant(json_t *c)
{
	json_t *names = json_object_get(c, "Names");
	json_t *first = json_is_array(names) ? json_array_get(names, 0) : NULL;
	const char *name = json_is_string(first) ? json_string_value(first) : "?";
	const char *project = label(c, LABEL_PROJECT);
	const char *files = label(c, LABEL_CONFIG_FILES);
	StrBuf b = STRBUF_INIT;

	sb_appendf(&b, "%s (project %s, files %s)", name[0] == '/' ? name + 1 : name,
			   project ? project : "?", files ? files : "?");
	return sb_steal(&b);
}

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
		{
			/* our name, another stack's labels: say who holds it */
			if (info->claimed_by == NULL && name_matches(c, cands, n))
				info->claimed_by = claimant(c);
			continue;
		}
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
