/*
 * added.c — connection settings the new file adds to an app: the file did
 * not write them (the app used its default: no DB_SERVER_PORT means 5432),
 * and the fold needs another value. Each is appended to the app's
 * `environment:` in that block's own form and indentation, as a
 * double-quoted scalar (any value is safe there), and read back with the
 * rest of the file. The rollback override sets it back to the default.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

bool
rw_add_var(RwCtx *c, size_t app, const char *name, const StrBuf *raw, const char *restore)
{
	for (size_t i = 0; i < c->nadds; i++)
	{
		RwAdd *a = &c->adds[i];

		if (a->app != app || strcmp(a->name, name) != 0)
			continue;
		if (strcmp(a->raw, sb_str(raw)) == 0)
			return true;
		log_error("%s: two connections of service %s need %s set to different values; "
				  "pgfold cannot satisfy both", c->path, c->f->services[app].key, name);
		return false;
	}
	c->adds = xrealloc(c->adds, c->nadds + 1, sizeof(RwAdd));
	c->adds[c->nadds++] = (RwAdd) {
		app, xstrdup(name), xstrndup(sb_str(raw), raw->len), xstrdup(restore)
	};
	return true;
}

void
rw_adds_free(RwCtx *c)
{
	for (size_t i = 0; i < c->nadds; i++)
	{
		free(c->adds[i].name);
		rw_free_secret(c->adds[i].raw);
		free(c->adds[i].restore);
	}
	free(c->adds);
	c->adds = NULL;
	c->nadds = 0;
}

/* Where an app's new items go: at, their column, their form, and whether
 * an `environment:` key must come first (key_col: its column). */
typedef struct AddPlace
{
	size_t at;
	size_t col;
	bool   map;
	bool   need_key;
	size_t key_col;
} AddPlace;

bool
rw_new_key_place(const ComposeFile *f, const ComposeService *app, size_t *at, size_t *col)
{
	const char *b = f->bytes;
	size_t len = f->len, p = app->key_span.end;

	if (app->flow || !rw_span_valid(app->key_span, len) || !rw_span_valid(app->block, len))
		return false;
	/* `key:` and nothing but a comment after it: a block mapping */
	while (p < len && (b[p] == '"' || b[p] == '\''))
		p++;
	if (p >= len || b[p] != ':')
		return false;
	for (p++; p < len && (b[p] == ' ' || b[p] == '\t'); p++)
		;
	if (p < len && b[p] != '\n' && b[p] != '\r' && b[p] != '#')
		return false;
	*at = rw_line_end(b, len, p);
	for (size_t q = *at; q < app->block.end; q = rw_line_end(b, len, q))
	{
		size_t k = rw_line_indent(b, len, q);

		if (q + k < len && b[q + k] != '\n' && b[q + k] != '\r' && b[q + k] != '#')
		{
			*col = k;
			return k > app->indent;
		}
	}
	return false;
}

/* An app without `environment:`: the key first, its items two columns in. */
static bool
place_new_block(RwCtx *c, const ComposeService *app, AddPlace *pl)
{
	if (!rw_new_key_place(c->f, app, &pl->at, &pl->key_col))
		return false;
	pl->col = pl->key_col + 2;
	pl->need_key = true;
	return true;
}

static bool
place_for(RwCtx *c, const ComposeService *app, AddPlace *pl)
{
	const char *b = c->f->bytes;
	size_t len = c->f->len;
	bool has_block = app->env_block.end > app->env_block.start &&
		rw_span_valid(app->env_block, len);

	memset(pl, 0, sizeof(*pl));
	if (app->env_flow)
		return false;
	if (!has_block)
		return place_new_block(c, app, pl);
	pl->at = app->env_block.end;
	pl->map = app->env_form == FORM_MAP;
	if (app->env_count > 0)
		pl->col = rw_line_indent(b, len, app->env[app->env_count - 1].item.start);
	else
		pl->col = rw_line_indent(b, len, app->env_block.start) + 2;   /* `environment:` alone */
	return true;
}

static bool
add_item(const AddPlace *pl, const RwAdd *a, const char *eol, StrBuf *out)
{
	StrBuf scalar = STRBUF_INIT;
	bool ok = sb_appendf(out, "%*s", (int) pl->col, "");

	if (pl->map)
		ok = ok && sb_appends(out, a->name) && sb_appends(out, ": ") &&
			 rw_yaml_double_quote(a->raw, out);
	else
		ok = ok && sb_appends(&scalar, a->name) && sb_appendc(&scalar, '=') &&
			 sb_appends(&scalar, a->raw) && sb_appends(out, "- ") &&
			 rw_yaml_double_quote(sb_str(&scalar), out);
	ok = ok && sb_appends(out, eol);
	sb_free_secret(&scalar);
	return ok;
}

static bool
emit_app(RwCtx *c, size_t app_index, const char *eol)
{
	const ComposeService *app = &c->f->services[app_index];
	const char *b = c->f->bytes;
	StrBuf text = STRBUF_INIT;
	AddPlace pl;
	bool ok;

	if (!place_for(c, app, &pl))
	{
		const char *name = "";

		for (size_t i = 0; i < c->nadds && name[0] == '\0'; i++)
			if (c->adds[i].app == app_index)
				name = c->adds[i].name;
		log_error("%s: pgfold must add %s to service %s, but its environment is not a block "
				  "pgfold can extend (flow style or no settings block); write `environment:` "
				  "as a block list and retry", c->path, name, app->key);
		return false;
	}
	/* a last line without its line break */
	ok = pl.at == 0 || b[pl.at - 1] == '\n' || sb_appends(&text, eol);
	if (ok && pl.need_key)
		ok = sb_appendf(&text, "%*senvironment:%s", (int) pl.key_col, "", eol);
	for (size_t i = 0; ok && i < c->nadds; i++)
		if (c->adds[i].app == app_index)
			ok = add_item(&pl, &c->adds[i], eol, &text);
	ok = ok && rw_insert(&c->edits, pl.at, sb_str(&text), text.len);
	sb_free_secret(&text);
	return ok;
}

bool
rw_emit_adds(RwCtx *c)
{
	const char *eol = rw_eol(c->f->bytes, c->f->len);

	for (size_t a = 0; a < c->f->service_count; a++)
	{
		bool any = false;

		for (size_t i = 0; i < c->nadds && !any; i++)
			any = c->adds[i].app == a;
		if (any && !emit_app(c, a, eol))
			return false;
	}
	return true;
}
