/*
 * compose_service.c — one service: scalar fields, depends_on, volumes.
 * environment and env_file are in compose_env.c.
 */
#include "compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/str.h"

/*
 * Line span of a block sequence entry: from the line holding its `-`
 * (normally the node's own line; `-` alone on a line is allowed too).
 */
static Span
seq_item_lines(const CCtx *c, const YNode *n)
{
	size_t p = n->start;

	while (p > 0 && (c->b[p - 1] == ' ' || c->b[p - 1] == '\t' ||
					 c->b[p - 1] == '\n' || c->b[p - 1] == '\r'))
		p--;

	size_t from = (p > 0 && c->b[p - 1] == '-') ? p - 1 : n->start;
	return cc_lines(c, from, n->end);
}

static size_t
max_end(const YNode *a, const YNode *b)
{
	return a->end > b->end ? a->end : b->end;
}

/* image / container_name / user / network_mode: a scalar or null. */
static bool
get_scalar(CCtx *c, const ComposeService *svc, const YNode *k, const YNode *v,
		   const char **out)
{
	*out = NULL;
	if (ynode_is_null(v))
		return true;
	if (v->kind != YN_SCALAR)
		return cc_error(c, v->line, v->col, "`%s` of service \"%.64s\" must be a string",
						k->value, svc->key);
	*out = v->value;
	return true;
}

/* Resolved value, or a copy of raw when resolution fails. */
static char *
resolve_or_raw(CCtx *c, const char *raw)
{
	char *error = NULL;
	char *r = cc_resolve(c, raw, &error);

	free(error);
	return r ? r : xstrdup(raw);
}

static bool
parse_depends(CCtx *c, ComposeService *svc, const YNode *key, const YNode *val)
{
	svc->depends_block = cc_lines(c, key->start, max_end(key, val));
	if (ynode_is_null(val) || val->kind == YN_ALIAS)
		return true;
	if (val->kind == YN_SEQ)
		svc->depends_form = FORM_LIST;
	else if (val->kind == YN_MAP)
	{
		svc->depends_form = FORM_MAP;
		if (!cc_check_keys(c, val, "depends_on"))
			return false;
	}
	else
		return cc_error(c, val->line, val->col,
						"depends_on of service \"%.64s\" must be a list or a mapping", svc->key);

	size_t step = svc->depends_form == FORM_MAP ? 2 : 1;

	svc->depends = xcalloc(val->count / step + 1, sizeof(DependsItem));
	for (size_t i = 0; i + step - 1 < val->count; i += step)
	{
		const YNode *k = val->items[i];
		const YNode *v = step == 2 ? val->items[i + 1] : NULL;
		const YNode *cond = NULL;

		if (k->kind == YN_ALIAS || (v != NULL && v->kind == YN_ALIAS))
			continue;
		if (k->kind != YN_SCALAR)
			return cc_error(c, k->line, k->col, "depends_on entries must be service names");
		if (v != NULL && v->kind == YN_MAP)
			cond = ynode_map_get(v, "condition");
		else if (v != NULL && !ynode_is_null(v))
			return cc_error(c, v->line, v->col,
							"depends_on \"%.64s\" must be a mapping such as {condition: ...}",
							k->value);

		DependsItem *d = &svc->depends[svc->depends_count++];
		size_t end = v ? max_end(k, v) : k->end;

		d->name = xstrdup(k->value);
		d->name_span = cc_inner(k);
		if (cond != NULL && cond->kind == YN_SCALAR)
			d->condition = xstrdup(cond->value);
		d->flow = val->flow;
		if (val->flow)
			d->item = (Span) { k->start, end };
		else if (v == NULL)
			d->item = seq_item_lines(c, k);
		else
			d->item = cc_lines(c, k->start, end);
	}
	for (size_t i = 0; i < svc->depends_count; i++)
	{
		DependsItem *d = &svc->depends[i];

		d->cut = !d->flow ? d->item
			: cc_flow_cut(i > 0 ? &svc->depends[i - 1].item : NULL, d->item,
						  i + 1 < svc->depends_count ? &svc->depends[i + 1].item : NULL);
	}
	return true;
}

/* Long-form volume: source:target[:ro], or target alone (tmpfs, anonymous). */
static char *
long_volume(const YNode *map)
{
	const YNode *src = ynode_map_get(map, "source");
	const YNode *dst = ynode_map_get(map, "target");
	const YNode *ro = ynode_map_get(map, "read_only");
	StrBuf sb = STRBUF_INIT;

	if (dst == NULL || dst->kind != YN_SCALAR)
		return NULL;
	if (src != NULL && src->kind == YN_SCALAR && src->value[0] != '\0')
		sb_appendf(&sb, "%s:", src->value);
	sb_appends(&sb, dst->value);
	if (ro != NULL && ro->kind == YN_SCALAR && strcmp(ro->value, "true") == 0)
		sb_appends(&sb, ":ro");
	return sb_steal(&sb);
}

static bool
parse_volumes(CCtx *c, ComposeService *svc, const YNode *val)
{
	if (ynode_is_null(val) || val->kind == YN_ALIAS)
		return true;
	if (val->kind != YN_SEQ)
		return cc_error(c, val->line, val->col,
						"volumes of service \"%.64s\" must be a list", svc->key);
	svc->volumes = xcalloc(val->count + 1, sizeof(char *));
	for (size_t i = 0; i < val->count; i++)
	{
		const YNode *v = val->items[i];
		char *s = NULL;

		if (v->kind == YN_SCALAR)
			s = xstrdup(v->value);
		else if (v->kind == YN_MAP)
			s = long_volume(v);
		if (s != NULL)
			svc->volumes[svc->volume_count++] = s;
	}
	return true;
}

static bool
parse_field(CCtx *c, ComposeService *svc, const YNode *k, const YNode *v)
{
	const char *name = k->value, *s = NULL;

	if (strcmp(name, "<<") == 0)
	{
		svc->uses_merge = true;
		return true;
	}
	if (v->kind == YN_ALIAS)
		return true;            /* uses_alias is set; the value is not modelled */

	if (strcmp(name, "image") == 0)
	{
		if (!get_scalar(c, svc, k, v, &s))
			return false;
		if (s != NULL)
		{
			svc->image_raw = xstrdup(s);
			svc->image = resolve_or_raw(c, s);
		}
	}
	else if (strcmp(name, "container_name") == 0)
	{
		if (!get_scalar(c, svc, k, v, &s))
			return false;
		if (s != NULL)
		{
			svc->container_name_raw = xstrdup(s);
			svc->container_name = resolve_or_raw(c, s);
		}
	}
	else if (strcmp(name, "user") == 0 || strcmp(name, "network_mode") == 0)
	{
		if (!get_scalar(c, svc, k, v, &s))
			return false;
		if (s != NULL)
			*(name[0] == 'u' ? &svc->user : &svc->network_mode) = resolve_or_raw(c, s);
	}
	else if (strcmp(name, "environment") == 0)
		return compose_env_parse(c, k, v, svc);
	else if (strcmp(name, "env_file") == 0)
		return compose_env_files_parse(c, v, svc);
	else if (strcmp(name, "depends_on") == 0)
		return parse_depends(c, svc, k, v);
	else if (strcmp(name, "volumes") == 0)
		return parse_volumes(c, svc, v);
	else if (strcmp(name, "networks") == 0)
		return compose_networks_parse(c, svc, k, v);
	else if (strcmp(name, "extra_hosts") == 0)
		return compose_extra_hosts_parse(c, svc, v);
	return true;
}

bool
compose_service_parse(CCtx *c, const YNode *key, const YNode *val, ComposeService *svc)
{
	char what[128];

	svc->key = xstrdup(key->value);
	svc->key_span = (Span) { key->start, key->end };
	if (val->kind == YN_ALIAS)
	{
		svc->uses_alias = true;
		return true;
	}
	if (val->kind != YN_MAP)
		return cc_error(c, val->line, val->col, "service \"%.64s\" is not a mapping", svc->key);
	snprintf(what, sizeof(what), "service \"%.64s\"", svc->key);
	if (!cc_check_keys(c, val, what))
		return false;
	svc->uses_alias = ynode_has_alias(val);
	for (size_t i = 0; i + 1 < val->count; i += 2)
		if (!parse_field(c, svc, val->items[i], val->items[i + 1]))
			return false;
	return true;
}

void
compose_service_free(ComposeService *svc)
{
	free(svc->key);
	free(svc->image);
	free(svc->image_raw);
	free(svc->container_name);
	free(svc->container_name_raw);
	free(svc->user);
	free(svc->network_mode);
	compose_env_free(svc);
	for (size_t i = 0; i < svc->depends_count; i++)
	{
		free(svc->depends[i].name);
		free(svc->depends[i].condition);
	}
	free(svc->depends);
	for (size_t i = 0; i < svc->volume_count; i++)
		free(svc->volumes[i]);
	free(svc->volumes);
	compose_service_networks_free(svc);
	memset(svc, 0, sizeof(*svc));
}
