/*
 * stack.c — every service file of the stack, loaded and classified.
 *
 * A file that cannot be parsed (or is ambiguous) stays in the list with its
 * problem, so `status` shows all 50 services and says what is wrong with
 * the one, instead of refusing to say anything.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

/* More files than this in services/ is not a homelab stack we understand. */
#define STACK_MAX_FILES 4096

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
is_service_file_name(const char *n)
{
	if (n[0] == '.')
		return false;
	return (str_has_suffix(n, ".yml") && strlen(n) > 4) ||
		(str_has_suffix(n, ".yaml") && strlen(n) > 5);
}

/* Names of the regular files (symlinks followed: stacks often link enabled
 * services in) ending .yml/.yaml, sorted. */
static bool
list_service_files(const char *dir, char ***names, size_t *count)
{
	DIR *d = opendir(dir);

	*names = NULL;
	*count = 0;
	if (d == NULL)
	{
		log_error("cannot read the services directory %s: %s (is --root, or PGFOLD_ROOT, "
				  "the stack's root?)", dir, strerror(errno));
		exit_hint_set(EXIT_USAGE);
		return false;
	}

	struct dirent *de;

	while ((de = readdir(d)) != NULL)
	{
		struct stat st;

		if (!is_service_file_name(de->d_name))
			continue;
		/* a dangling link stays in the list: status says what it points at */
		if (fstatat(dirfd(d), de->d_name, &st, 0) != 0
			? fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode)
			: !S_ISREG(st.st_mode))
			continue;
		if (*count >= STACK_MAX_FILES)
		{
			log_warn("more than %d service files in %s; the rest are ignored",
					 STACK_MAX_FILES, dir);
			break;
		}
		*names = xrealloc(*names, *count + 1, sizeof(char *));
		(*names)[(*count)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*count > 1)
		qsort(*names, *count, sizeof(char *), cmp_str);
	return true;
}

static char *
stem_of(const char *file)
{
	size_t n = strlen(file);
	size_t cut = str_has_suffix(file, ".yaml") ? 5 : 4;

	return xstrndup(file, n - cut);
}

static bool
stem_taken(const Stack *stack, const char *stem)
{
	for (size_t i = 0; i < stack->count; i++)
		if (strcmp(stack->services[i].name, stem) == 0)
			return true;
	return false;
}

const Config *
service_config(const Config *cfg, const StackService *svc, Config *scratch)
{
	if (svc->project_dir == NULL)
		return cfg;
	*scratch = *cfg;    /* shallow: nothing of it is freed through scratch */
	scratch->dotenv = svc->project_env;
	str_copy(scratch->env_path, sizeof(scratch->env_path),
			 svc->project_env.origin ? svc->project_env.origin : cfg->env_path);
	return scratch;
}

/* Parse and classify s->path with the variables and project directory its
 * compose uses (service_config). */
static bool
load_file(const Config *cfg, StackService *s, size_t *env_budget)
{
	Config scratch;
	const Config *vars = service_config(cfg, s, &scratch);
	/* quiet: one broken file must not fill every command's output; its
	 * problem carries the parser's line and status/plan show it */
	ComposeOptions opts;

	memset(&opts, 0, sizeof(opts));
	opts.quiet = true;
	/* env_file and relative volumes resolve against the project directory:
	 * the root, as pgfold runs compose, unless the labels said otherwise */
	opts.project_dir = s->project_dir ? s->project_dir : cfg->root;
	opts.env_budget = env_budget;
	if (!compose_load_opts(s->path, config_var_lookup, (void *) vars, &opts, &s->file))
	{
		StrBuf why = STRBUF_INIT;

		sb_appendf(&why, "the file cannot be parsed: %s",
				   s->file.error[0] ? s->file.error : "unknown error");
		s->problem = sb_steal(&why);
		log_debug("%s: %s", s->path, s->problem);
		return false;
	}
	s->loaded = true;
	service_analyze(vars, s);
	return true;
}

bool
stack_reload_service(const Config *cfg, StackService *s)
{
	/* read alone: the stack's .env and this file's env_files */
	size_t env_budget = DOTENV_STACK_MAX_EXPANDED - cfg->dotenv.expanded;

	service_analysis_clear(s);
	if (s->loaded)
		compose_free(&s->file);
	s->loaded = false;
	return load_file(cfg, s, &env_budget);
}

/* An enabled service whose target was removed (OnRamp: services-enabled/x.yml
 * -> ../services-available/x.yml): one line saying so, not a parse error. */
static bool
dangling_link(StackService *s)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;

	if (stat(s->path, &st) == 0 || lstat(s->path, &st) != 0 || !S_ISLNK(st.st_mode))
		return false;
	n = readlink(s->path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';

	StrBuf why = STRBUF_INIT;

	sb_appendf(&why, "%s is a link to %s, which does not exist; restore the target or remove "
			   "the link", s->path, target);
	s->problem = sb_steal(&why);
	return true;
}

/* A fresh entry; db_key NULL for a file's only db (its stem names it),
 * else "<stem>/<db_key>" and, on disk, "<stem>--<db_key>". */
static StackService *
new_entry(Stack *stack, char *stem, const char *db_key)
{
	StackService *s = &stack->services[stack->count];
	StrBuf name = STRBUF_INIT, fsname = STRBUF_INIT;

	memset(s, 0, sizeof(*s));
	service_analysis_clear(s);   /* sets the -1 defaults */
	if (db_key == NULL)
	{
		s->name = stem;
		s->fsname = xstrdup(stem);
		return s;
	}
	s->db_key = xstrdup(db_key);
	sb_appendf(&name, "%s/%s", stem, db_key);
	sb_appendf(&fsname, "%s--%s", stem, db_key);
	s->name = sb_steal(&name);
	s->fsname = sb_steal(&fsname);
	free(stem);
	return s;
}

/* The stem with each control byte as '?': a file name is outside bytes,
 * and status prints names as they are. */
static char *
escaped_stem(const char *file)
{
	char *stem = stem_of(file);
	StrBuf out = STRBUF_INIT;

	for (const unsigned char *p = (const unsigned char *) stem; *p; p++)
		sb_appendc(&out, *p < 0x20 || *p == 0x7f ? '?' : (char) *p);
	free(stem);
	return sb_steal(&out);
}

static void
load_one(const Config *cfg, Stack *stack, const char *file, const char *db_key,
		 size_t *env_budget)
{
	if (str_has_control(file))
	{
		/* a newline in a name would forge output lines (status's table,
		 * log lines): listed, escaped, never acted on */
		StackService *bad = new_entry(stack, escaped_stem(file), NULL);
		StrBuf shown = STRBUF_INIT;

		sb_appendf(&shown, "%s/%s.yml", cfg->services_dir, bad->name);
		bad->path = sb_steal(&shown);
		bad->problem = xstrdup("its file name holds control bytes (shown as '?'): "
							   "rename the file to letters, digits, '.', '_' or '-'");
		stack->count++;
		return;
	}

	StackService *s = new_entry(stack, stem_of(file), db_key);
	StrBuf path = STRBUF_INIT;

	sb_appendf(&path, "%s/%s", cfg->services_dir, file);
	s->path = sb_steal(&path);

	if (db_key == NULL && stem_taken(stack, s->name))
	{
		/* x.yml and x.yaml: compose would run either; we would not know which */
		s->problem = xstrdup("both NAME.yml and NAME.yaml exist; keep one");
		stack->count++;
		return;
	}
	stack->count++;
	if (dangling_link(s))
		return;
	/* the env files the stack's compose is run with, when configured */
	if (cfg->env_file_count > 0
		&& !service_use_env(s, cfg->root, cfg->env_files, cfg->env_file_count, NULL))
	{
		s->problem = xstrdup("an env file of PGFOLD_ENV_FILES cannot be read (see above)");
		return;
	}
	load_file(cfg, s, env_budget);
}

/* LAYOUT_APPS: the directories under root that hold a compose file, sorted. */
static bool
list_app_dirs(const char *root, char ***names, size_t *count)
{
	DIR *d = opendir(root);
	struct dirent *de;

	*names = NULL;
	*count = 0;
	if (d == NULL)
	{
		log_error("cannot read the stack root %s: %s", root, strerror(errno));
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	while ((de = readdir(d)) != NULL && *count < STACK_MAX_FILES)
	{
		char path[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.' || !str_format(path, sizeof(path), "%s/%s", root, de->d_name)
			|| stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || config_app_compose_file(path) == NULL)
			continue;
		*names = xrealloc(*names, *count + 1, sizeof(char *));
		(*names)[(*count)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*count > 1)
		qsort(*names, *count, sizeof(char *), cmp_str);
	return true;
}

/* An app directory: the service is named after it, its compose file is the
 * service file, and compose's defaults there (the directory, its .env) are
 * how the file is read until its containers' labels say otherwise. */
static void
load_app(const Config *cfg, Stack *stack, const char *dir, const char *db_key,
		 size_t *env_budget)
{
	StackService *s = new_entry(stack, xstrdup(dir), db_key);
	StrBuf path = STRBUF_INIT, appdir = STRBUF_INIT;

	stack->count++;
	sb_appendf(&appdir, "%s/%s", cfg->root, dir);
	sb_appendf(&path, "%s/%s", sb_str(&appdir), config_app_compose_file(sb_str(&appdir)));
	s->path = sb_steal(&path);
	if (service_use_project_dir(s, sb_str(&appdir)))
		load_file(cfg, s, env_budget);
	else
		s->problem = xstrdup("its .env cannot be read (see above)");
	sb_free(&appdir);
}

static void
entry_free(StackService *s)
{
	service_analysis_clear(s);
	if (s->loaded)
		compose_free(&s->file);
	free(s->name);
	free(s->db_key);
	free(s->fsname);
	free(s->path);
	dotenv_free(&s->project_env);
	free(s->project_dir);
	memset(s, 0, sizeof(*s));
}

/* One file (or app directory): one entry, or one per dedicated db when it
 * holds several (each loaded again with its db fixed: the analysis, the
 * apps that connect and every name on disk are that db's own). */
static void
load_entry(const Config *cfg, Stack *out, size_t *cap, const char *name, size_t *env_budget)
{
	bool apps = cfg->layout == LAYOUT_APPS;
	size_t at = out->count, before = *env_budget, least = *env_budget;
	char **keys = NULL;
	size_t nkeys = 0;

	if (apps)
		load_app(cfg, out, name, NULL, env_budget);
	else
		load_one(cfg, out, name, NULL, env_budget);
	if (out->count > at)
		service_db_keys(&out->services[at], &keys, &nkeys);
	if (nkeys > 1)
	{
		entry_free(&out->services[at]);
		out->count = at;
		if (*cap < at + nkeys)
		{
			*cap = at + nkeys;
			out->services = xrealloc(out->services, *cap, sizeof(StackService));
		}
		/* the same file read again: its env files count once */
		for (size_t k = 0; k < nkeys; k++)
		{
			size_t budget = before;

			if (apps)
				load_app(cfg, out, name, keys[k], &budget);
			else
				load_one(cfg, out, name, keys[k], &budget);
			least = budget < least ? budget : least;
		}
		*env_budget = least;
	}
	strlist_free(&keys, &nkeys);
}

bool
stack_load(const Config *cfg, Stack *out)
{
	char **names;
	size_t count, cap;
	/* the stack's .env counts first, then every env_file in file order */
	size_t env_budget = DOTENV_STACK_MAX_EXPANDED - cfg->dotenv.expanded;
	bool apps = cfg->layout == LAYOUT_APPS;

	memset(out, 0, sizeof(*out));
	if (!(apps ? list_app_dirs(cfg->root, &names, &count)
		  : list_service_files(cfg->services_dir, &names, &count)))
		return false;

	cap = count ? count : 1;
	out->services = xcalloc(cap, sizeof(StackService));
	for (size_t i = 0; i < count; i++)
	{
		if (out->count == cap)
		{
			cap *= 2;
			out->services = xrealloc(out->services, cap, sizeof(StackService));
		}
		load_entry(cfg, out, &cap, names[i], &env_budget);
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return true;
}

void
stack_free(Stack *stack)
{
	for (size_t i = 0; i < stack->count; i++)
		entry_free(&stack->services[i]);
	free(stack->services);
	memset(stack, 0, sizeof(*stack));
}

const char *
service_fsname(const StackService *svc)
{
	return svc->fsname ? svc->fsname : svc->name;
}

/* By stem ("docmost") or file name ("docmost.yml"). */
StackService *
stack_find(Stack *stack, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < stack->count; i++)
	{
		StackService *s = &stack->services[i];
		const char *slash = strrchr(s->path, '/');
		const char *file = slash ? slash + 1 : s->path;

		if (strcmp(s->name, name) == 0 || strcmp(file, name) == 0)
			return s;
	}
	return NULL;
}

static int
service_slot(const StackService *svc, const char *key)
{
	for (size_t i = 0; key != NULL && i < svc->file.service_count; i++)
		if (strcmp(svc->file.services[i].key, key) == 0)
			return (int) i;
	return -1;
}

/* Is this connection the entry's own? Found through a dedicated db's
 * names it is; pointing at the shared instance (a folded entry), every
 * folded entry's apps do, so the database it names decides (unknown: it
 * may be, and counts as the entry's: stopping too much loses nothing). */
static bool
conn_is_entrys(const StackService *svc, const ConnRef *c)
{
	if (!c->shared || svc->meta_database_name == NULL || c->values.dbname == NULL)
		return true;
	return strcmp(c->values.dbname, svc->meta_database_name) == 0;
}

static bool
connects_to(const StackService *svc, const char *key)
{
	for (size_t k = 0; k < svc->conn_count; k++)
		if (svc->conns[k].app < svc->file.service_count && conn_is_entrys(svc, &svc->conns[k])
			&& strcmp(svc->file.services[svc->conns[k].app].key, key) == 0)
			return true;
	return false;
}

/* Does service slot i of svc's file wait for a db of another entry and
 * not for svc's own? */
static bool
waits_only_for_other(const StackService *svc, size_t i, const char *other_db)
{
	const ComposeService *cs = &svc->file.services[i];
	const char *own = svc->db_service >= 0 ? svc->file.services[svc->db_service].key : NULL;
	bool other = false;

	for (size_t d = 0; d < cs->depends_count; d++)
	{
		if (own != NULL && strcmp(cs->depends[d].name, own) == 0)
			return false;
		other = other || strcmp(cs->depends[d].name, other_db) == 0;
	}
	return other;
}

/* One other entry of the same file: its db, the apps that connect to it
 * and not to ours, and those that wait for it and not for ours. */
static void
mark_entry(const StackService *svc, const StackService *other, bool *mask)
{
	const char *other_db = other->db_key;
	int slot = service_slot(svc, other_db);

	if (slot >= 0 && slot != svc->db_service)
		mask[slot] = true;
	for (size_t k = 0; k < other->conn_count; k++)
	{
		if (other->conns[k].app >= other->file.service_count
			|| !conn_is_entrys(other, &other->conns[k]))
			continue;

		const char *key = other->file.services[other->conns[k].app].key;
		int at = service_slot(svc, key);

		if (at >= 0 && at != svc->db_service && !connects_to(svc, key))
			mask[at] = true;
	}
	for (size_t i = 0; i < svc->file.service_count; i++)
		if ((int) i != svc->db_service && !mask[i] && !connects_to(svc, svc->file.services[i].key)
			&& waits_only_for_other(svc, i, other_db))
			mask[i] = true;
}

char **
stack_others_services(const Stack *stack, size_t index)
{
	const StackService *svc = &stack->services[index];
	size_t n = svc->file.service_count, k = 0;
	bool *mask = xcalloc(n ? n : 1, sizeof(bool));
	char **keys = xcalloc(n + 1, sizeof(char *));

	/* the file's only db: every service is its own */
	for (size_t j = 0; svc->db_key != NULL && svc->loaded && j < stack->count; j++)
	{
		const StackService *other = &stack->services[j];

		if (j != index && other->db_key != NULL && other->loaded
			&& strcmp(other->path, svc->path) == 0)
			mark_entry(svc, other, mask);
	}
	for (size_t i = 0; i < n; i++)
		if (mask[i])
			keys[k++] = xstrdup(svc->file.services[i].key);
	free(mask);
	return keys;
}

bool
stack_others_has(char *const *others, const char *key)
{
	for (size_t i = 0; others != NULL && others[i] != NULL; i++)
		if (strcmp(others[i], key) == 0)
			return true;
	return false;
}

void
stack_others_free(char **others)
{
	str_vec_free(others);
}
