/*
 * compose_env.c — a service's environment (list, map, flow) and env_file.
 *
 * Resolution follows docker-compose 1.29 (config.py resolve_environment):
 * env_file values first, `environment:` entries override them; an entry
 * without a value takes the compose Environment's value (lookup), not the
 * env_file's. ${VAR} in the YAML sees lookup only; ${VAR} inside an
 * env_file sees earlier lines of that file and the process environment.
 */
#include "compose_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "pgfold/str.h"

static void
free_secret(char *s)
{
	if (s != NULL)
	{
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/* compose rejects whitespace in names; `=` would split differently. */
static bool
check_name(CCtx *c, const YNode *n, const char *name)
{
	if (name[0] == '\0')
		return cc_error(c, n->line, n->col, "empty environment variable name");
	for (const char *p = name; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '=')
			return cc_error(c, n->line, n->col,
							"environment variable name \"%.64s\" may not contain whitespace or '='",
							name);
	return true;
}

/* A value-less entry takes the compose Environment's value (or stays unset). */
static void
resolve_item(CCtx *c, EnvItem *e)
{
	if (e->has_value)
		e->resolved = cc_resolve(c, e->raw, &e->error);
	else
	{
		const char *v = c->lookup ? c->lookup(c->lctx, e->name) : NULL;

		e->resolved = cc_strdup_or_null(v);
	}
}

/* `- KEY=value`, `- "KEY=value"`, `- KEY`. */
static bool
item_from_list(CCtx *c, const YNode *n, bool flow, EnvItem *e)
{
	const char *eq = strchr(n->value, '=');
	Span inner = cc_inner(n);
	const char *src_eq = inner.end > inner.start
		? memchr(c->b + inner.start, '=', inner.end - inner.start) : NULL;

	e->name = eq ? xstrndup(n->value, (size_t) (eq - n->value)) : xstrdup(n->value);
	if (!check_name(c, n, e->name))
		return false;
	e->has_value = eq != NULL;
	e->raw = eq ? xstrdup(eq + 1) : NULL;
	e->style = n->style;
	e->scalar = (Span) { n->start, n->end };
	e->flow = flow;
	if (src_eq != NULL && eq != NULL)
	{
		size_t at = (size_t) (src_eq - c->b);

		e->name_span = (Span) { inner.start, at };
		e->value = (Span) { at + 1, inner.end };
	}
	else
	{
		e->name_span = inner;
		e->value = (Span) { inner.end, inner.end };
	}
	return true;
}

/* Just after the `:` that follows a mapping key (for `KEY:` with no value). */
static size_t
after_colon(const CCtx *c, const YNode *k)
{
	size_t p = k->end;

	while (p < c->len && (c->b[p] == ' ' || c->b[p] == '\t'))
		p++;
	return (p < c->len && c->b[p] == ':') ? p + 1 : k->end;
}

/* `KEY: value`, `KEY: "value"`, `KEY:`, `KEY: 5432`. */
static bool
item_from_map(CCtx *c, const YNode *k, const YNode *v, bool flow, EnvItem *e)
{
	e->name = xstrdup(k->value);
	if (!check_name(c, k, e->name))
		return false;
	e->name_span = cc_inner(k);
	e->flow = flow;
	if (ynode_is_null(v))
	{
		e->style = YSTYLE_PLAIN;
		if (v->end > v->start)                  /* ~ or null */
			e->scalar = e->value = (Span) { v->start, v->end };
		else
		{
			size_t at = after_colon(c, k);

			e->scalar = e->value = (Span) { at, at };
		}
		return true;
	}
	if (v->kind != YN_SCALAR)
		return cc_error(c, v->line, v->col,
						"environment value of %.64s must be a string, number or null", e->name);
	e->has_value = true;
	e->raw = xstrdup(v->value);
	e->style = v->style;
	e->scalar = (Span) { v->start, v->end };
	e->value = cc_inner(v);
	return true;
}

/* Column of the first item: the `-` or the key in block style. */
static size_t
item_indent(const CCtx *c, const EnvItem *e, const YNode *first)
{
	if (e->flow)
		return cc_col(c, first->start);

	size_t p = e->item.start;

	while (p < c->len && (c->b[p] == ' ' || c->b[p] == '\t'))
		p++;
	return p - e->item.start;
}

bool
compose_env_parse(CCtx *c, const YNode *key, const YNode *val, ComposeService *svc)
{
	size_t end = val->end > key->end ? val->end : key->end;

	svc->env_block = cc_lines(c, key->start, end);
	if (ynode_is_null(val) || val->kind == YN_ALIAS)
		return true;
	if (val->kind == YN_SCALAR)
		return cc_error(c, val->line, val->col,
						"environment of service \"%.64s\" must be a list or a mapping", svc->key);
	if (val->kind == YN_MAP && !cc_check_keys(c, val, "environment"))
		return false;

	bool map = val->kind == YN_MAP;
	size_t step = map ? 2 : 1;
	const YNode *first = NULL;

	svc->env_form = map ? FORM_MAP : FORM_LIST;
	svc->env_flow = val->flow;
	svc->env = xcalloc(val->count / step + 1, sizeof(EnvItem));
	for (size_t i = 0; i + step - 1 < val->count; i += step)
	{
		const YNode *k = val->items[i], *v = map ? val->items[i + 1] : NULL;
		EnvItem *e = &svc->env[svc->env_count];

		if (k->kind == YN_ALIAS || (v != NULL && v->kind == YN_ALIAS))
			continue;
		if (k->kind != YN_SCALAR)
			return cc_error(c, k->line, k->col, "environment entries must be strings");
		svc->env_count++;
		if (!(map ? item_from_map(c, k, v, val->flow, e) : item_from_list(c, k, val->flow, e)))
			return false;

		size_t iend = v && v->end > k->end ? v->end : k->end;

		if (val->flow)
			e->item = (Span) { k->start, iend };
		else if (map)
			e->item = cc_lines(c, k->start, iend);
		else
		{
			/* The line of the `-` through the scalar's last line. */
			size_t p = k->start;

			while (p > 0 && (c->b[p - 1] == ' ' || c->b[p - 1] == '\t' ||
							 c->b[p - 1] == '\r' || c->b[p - 1] == '\n'))
				p--;
			e->item = cc_lines(c, (p > 0 && c->b[p - 1] == '-') ? p - 1 : k->start, iend);
		}
		if (first == NULL)
		{
			first = k;
			svc->env_item_indent = item_indent(c, e, k);
		}
		resolve_item(c, e);
	}
	for (size_t i = 0; i < svc->env_count; i++)
	{
		EnvItem *e = &svc->env[i];

		e->cut = !e->flow ? e->item
			: cc_flow_cut(i > 0 ? &svc->env[i - 1].item : NULL, e->item,
						  i + 1 < svc->env_count ? &svc->env[i + 1].item : NULL);
	}
	return true;
}

/* ---- env_file ------------------------------------------------------------ */

static bool
load_env_file(CCtx *c, ComposeService *svc, const YNode *at, const char *raw, bool required)
{
	char *error = NULL;
	char *path = cc_resolve(c, raw, &error);
	char *full;
	struct stat st;
	Dotenv *d = &svc->env_file_vars[svc->env_file_count];

	if (path == NULL)
	{
		cc_error(c, at->line, at->col, "env_file \"%.128s\": %s", raw, error);
		free(error);
		return false;
	}
	full = (path[0] == '/') ? xstrdup(path) : NULL;
	if (full == NULL)
	{
		StrBuf sb = STRBUF_INIT;

		sb_appendf(&sb, "%s/%s", c->file->dir, path);
		full = sb_steal(&sb);
	}
	free(path);
	svc->env_files[svc->env_file_count++] = xstrdup(raw);

	bool ok = true;

	if (stat(full, &st) != 0)
	{
		if (errno == ENOENT && !required)
		{
			d->origin = full;          /* an empty Dotenv */
			return true;
		}
		ok = cc_error(c, at->line, at->col, "env_file %s: %s", full, strerror(errno));
	}
	else if (!S_ISREG(st.st_mode))
		ok = cc_error(c, at->line, at->col, "env_file %s is not a file", full);
	else if ((size_t) st.st_size > COMPOSE_MAX_ENV_FILE_BYTES - c->env_file_bytes)
		ok = cc_error(c, at->line, at->col, "env_files of this file exceed %d bytes",
					  COMPOSE_MAX_ENV_FILE_BYTES);
	else if (!dotenv_load_within(full, false, c->env_budget, d))
		ok = cc_error(c, at->line, at->col, "env_file %s cannot be read (see above)", full);
	else
		c->env_file_bytes += (size_t) st.st_size;
	free(full);
	if (!ok)
		return false;

	/* A bare `KEY` line takes the compose Environment's value. */
	for (size_t i = 0; i < d->count; i++)
		if (d->items[i].value == NULL && c->lookup != NULL)
			d->items[i].value = cc_strdup_or_null(c->lookup(c->lctx, d->items[i].key));
	return true;
}

/* env_file: a path, a list of paths, or (compose v2) {path:, required:}. */
bool
compose_env_files_parse(CCtx *c, const YNode *val, ComposeService *svc)
{
	const YNode *const *items = &val;
	size_t n = 1;

	if (ynode_is_null(val) || val->kind == YN_ALIAS)
		return true;
	if (val->kind == YN_SEQ)
	{
		items = (const YNode *const *) val->items;
		n = val->count;
	}
	else if (val->kind != YN_SCALAR)
		return cc_error(c, val->line, val->col, "env_file must be a path or a list of paths");
	if (n > COMPOSE_MAX_ENV_FILES)
		return cc_error(c, val->line, val->col, "more than %d env_files", COMPOSE_MAX_ENV_FILES);

	svc->env_files = xcalloc(n + 1, sizeof(char *));
	svc->env_file_vars = xcalloc(n + 1, sizeof(Dotenv));
	for (size_t i = 0; i < n; i++)
	{
		const YNode *it = items[i], *p = it;
		bool required = true;

		if (it->kind == YN_MAP)
		{
			const YNode *req = ynode_map_get(it, "required");

			p = ynode_map_get(it, "path");
			required = !(req != NULL && req->kind == YN_SCALAR && strcmp(req->value, "false") == 0);
		}
		if (p == NULL || p->kind != YN_SCALAR)
			return cc_error(c, it->line, it->col, "env_file entries must be paths");
		if (!load_env_file(c, svc, p, p->value, required))
			return false;
	}
	return true;
}

void
compose_env_free(ComposeService *svc)
{
	for (size_t i = 0; i < svc->env_count; i++)
	{
		EnvItem *e = &svc->env[i];

		free(e->name);
		free_secret(e->raw);            /* may be a password */
		free_secret(e->resolved);
		free(e->error);
	}
	free(svc->env);
	for (size_t i = 0; i < svc->env_file_count; i++)
	{
		free(svc->env_files[i]);
		dotenv_free(&svc->env_file_vars[i]);
	}
	free(svc->env_files);
	free(svc->env_file_vars);
}
