/*
 * compose_networks.c — a service's `networks:` (list or map form) and
 * `extra_hosts:`, the top-level `networks:` mapping, and the networks a
 * service's container joins as compose names them (for the fold's check
 * that an app can reach the shared instance).
 */
#include "compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/str.h"

static size_t
max_end(const YNode *a, const YNode *b)
{
	return a->end > b->end ? a->end : b->end;
}

/* Column of the `-` in front of a block sequence item. */
static size_t
dash_col(const CCtx *c, const YNode *n)
{
	size_t p = n->start;

	while (p > 0 && (c->b[p - 1] == ' ' || c->b[p - 1] == '\t' || c->b[p - 1] == '\n'
					 || c->b[p - 1] == '\r'))
		p--;
	return (p > 0 && c->b[p - 1] == '-') ? cc_col(c, p - 1) : cc_col(c, n->start);
}

bool
compose_networks_parse(CCtx *c, ComposeService *svc, const YNode *key, const YNode *val)
{
	svc->networks_block = cc_lines(c, key->start, max_end(key, val));
	if (ynode_is_null(val) || val->kind == YN_ALIAS)
		return true;
	if (val->kind != YN_SEQ && val->kind != YN_MAP)
		return cc_error(c, val->line, val->col,
						"networks of service \"%.64s\" must be a list or a mapping", svc->key);
	if (val->kind == YN_MAP && !cc_check_keys(c, val, "networks"))
		return false;
	svc->networks_form = val->kind == YN_SEQ ? FORM_LIST : FORM_MAP;
	svc->networks_flow = val->flow;

	size_t step = val->kind == YN_MAP ? 2 : 1;

	svc->networks = xcalloc(val->count / step + 1, sizeof(char *));
	for (size_t i = 0; i < val->count; i += step)
	{
		const YNode *k = val->items[i];

		if (k->kind != YN_SCALAR)
			return cc_error(c, k->line, k->col, "networks entries must be network names");
		if (i == 0)
			svc->networks_indent = step == 1 ? dash_col(c, k) : cc_col(c, k->start);
		svc->networks[svc->network_count++] = xstrdup(k->value);
	}
	return true;
}

bool
compose_extra_hosts_parse(CCtx *c, ComposeService *svc, const YNode *val)
{
	if (ynode_is_null(val) || val->kind == YN_ALIAS)
		return true;
	if (val->kind != YN_SEQ && val->kind != YN_MAP)
		return cc_error(c, val->line, val->col,
						"extra_hosts of service \"%.64s\" must be a list or a mapping", svc->key);

	size_t step = val->kind == YN_MAP ? 2 : 1;

	svc->extra_hosts = xcalloc(val->count / step + 1, sizeof(char *));
	for (size_t i = 0; i + step - 1 < val->count; i += step)
	{
		const YNode *k = val->items[i], *v = step == 2 ? val->items[i + 1] : NULL;
		char *error = NULL, *r;

		if (k->kind != YN_SCALAR || (v != NULL && v->kind != YN_SCALAR))
			continue;
		if (v != NULL)
		{
			StrBuf sb = STRBUF_INIT;

			sb_appendf(&sb, "%s:%s", k->value, v->value);
			r = cc_resolve(c, sb_str(&sb), &error);
			sb_free(&sb);
		}
		else
			r = cc_resolve(c, k->value, &error);
		free(error);
		if (r != NULL)
			svc->extra_hosts[svc->extra_host_count++] = r;
	}
	return true;
}

bool
compose_top_networks_parse(CCtx *c, const YNode *key, const YNode *val)
{
	ComposeFile *f = c->file;

	f->networks_present = true;
	f->networks_block = cc_lines(c, key->start, max_end(key, val));
	if (ynode_is_null(val) || val->kind == YN_ALIAS)
		return true;
	if (val->kind != YN_MAP)
		return cc_error(c, val->line, val->col, "the top-level networks must be a mapping");
	if (!cc_check_keys(c, val, "networks"))
		return false;
	f->networks_flow = val->flow;
	f->networks = xcalloc(val->count / 2 + 1, sizeof(ComposeNetwork));
	for (size_t i = 0; i + 1 < val->count; i += 2)
	{
		const YNode *k = val->items[i], *v = val->items[i + 1];
		ComposeNetwork *n = &f->networks[f->network_count++];
		const YNode *name = v->kind == YN_MAP ? ynode_map_get(v, "name") : NULL;
		const YNode *ext = v->kind == YN_MAP ? ynode_map_get(v, "external") : NULL;
		char *error = NULL;

		n->key = xstrdup(k->value);
		if (ext != NULL && ext->kind == YN_SCALAR)
			n->external = strcmp(ext->value, "true") == 0 || strcmp(ext->value, "True") == 0;
		else if (ext != NULL && ext->kind == YN_MAP)
		{
			/* legacy `external: {name: x}` */
			n->external = true;
			if (name == NULL)
				name = ynode_map_get(ext, "name");
		}
		if (name != NULL && name->kind == YN_SCALAR)
		{
			n->name = cc_resolve(c, name->value, &error);
			free(error);
		}
	}
	return true;
}

void
compose_service_networks_free(ComposeService *svc)
{
	for (size_t i = 0; i < svc->network_count; i++)
		free(svc->networks[i]);
	free(svc->networks);
	for (size_t i = 0; i < svc->extra_host_count; i++)
		free(svc->extra_hosts[i]);
	free(svc->extra_hosts);
}

void
compose_networks_free(ComposeFile *file)
{
	for (size_t i = 0; i < file->network_count; i++)
	{
		free(file->networks[i].key);
		free(file->networks[i].name);
	}
	free(file->networks);
	file->networks = NULL;
	file->network_count = 0;
}

static const ComposeNetwork *
top(const ComposeFile *file, const char *key)
{
	for (size_t i = 0; i < file->network_count; i++)
		if (strcmp(file->networks[i].key, key) == 0)
			return &file->networks[i];
	return NULL;
}

void
compose_service_networks(const ComposeFile *file, const ComposeService *svc,
						 const char *project, char ***names, size_t *count, const char **mode)
{
	const char *def[] = { "default" };
	char *const *keys = svc->networks_form == FORM_ABSENT ? (char *const *) def : svc->networks;
	size_t n = svc->networks_form == FORM_ABSENT ? 1 : svc->network_count;

	*names = NULL;
	*count = 0;
	*mode = svc->network_mode;
	if (svc->network_mode != NULL)
		return;
	*names = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
	{
		const ComposeNetwork *t = top(file, keys[i]);
		StrBuf sb = STRBUF_INIT;

		if (t != NULL && t->name != NULL)
			sb_appends(&sb, t->name);
		else if (t != NULL && t->external)
			sb_appends(&sb, t->key);
		else
			sb_appendf(&sb, "%s_%s", project ? project : "", keys[i]);
		(*names)[(*count)++] = sb_steal(&sb);
	}
}
