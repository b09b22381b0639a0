/*
 * ytree.c — libyaml events to a node tree with byte spans; see ytree.h.
 *
 * No recursion over the input: open collections live on an explicit stack
 * bounded by YTREE_MAX_DEPTH, and the node count is bounded too, so a
 * hostile file costs at most a few MiB whatever its shape.
 */
#include "ytree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pgfold/str.h"

/* Character index (libyaml) to byte offset, with a checkpoint every
 * OM_STEP characters so a lookup scans at most OM_STEP characters. */
#define OM_STEP 256

typedef struct OffsetMap
{
	const unsigned char *s;
	size_t               len;
	size_t               base;
	bool                 ascii;
	size_t              *ck;      /* ck[k] = byte offset of char k*OM_STEP */
	size_t               nck;
} OffsetMap;

static size_t
utf8_width(unsigned char c)
{
	if (c >= 0xF0)
		return 4;
	if (c >= 0xE0)
		return 3;
	if (c >= 0xC0)
		return 2;
	return 1;
}

static void
om_init(OffsetMap *m, const char *s, size_t len, size_t base)
{
	size_t chars = 0;

	memset(m, 0, sizeof(*m));
	m->s = (const unsigned char *) s;
	m->len = len;
	m->base = base;
	m->ascii = true;
	for (size_t i = 0; i < len; i++)
		if (m->s[i] >= 0x80)
		{
			m->ascii = false;
			break;
		}
	if (m->ascii)
		return;

	m->ck = xcalloc(len / OM_STEP + 2, sizeof(size_t));
	for (size_t b = 0; b < len; chars++)
	{
		if (chars % OM_STEP == 0)
			m->ck[m->nck++] = b;
		b += utf8_width(m->s[b]);
	}
	if (chars % OM_STEP == 0)
		m->ck[m->nck++] = len;
}

static size_t
om_byte(const OffsetMap *m, size_t index)
{
	if (m->ascii)
		return m->base + (index < m->len ? index : m->len);

	size_t k = index / OM_STEP;

	if (k >= m->nck)
		return m->base + m->len;

	size_t b = m->ck[k];

	for (size_t c = k * OM_STEP; c < index && b < m->len; c++)
		b += utf8_width(m->s[b]);
	return m->base + (b < m->len ? b : m->len);
}

typedef struct Builder
{
	YTree      *tree;
	YError     *err;
	OffsetMap   om;
	YNode      *stack[YTREE_MAX_DEPTH];
	size_t      depth;
	int         docs;
	const char *src;      /* bytes without BOM */
	size_t      srclen;
} Builder;

static bool
berror(Builder *b, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool
berror(Builder *b, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;

	b->err->line = line;
	b->err->col = col;
	va_start(ap, fmt);
	vsnprintf(b->err->msg, sizeof(b->err->msg), fmt, ap);
	va_end(ap);
	return false;
}

static YNode *
new_node(Builder *b, YNodeKind kind, const yaml_mark_t *start)
{
	YTree *t = b->tree;

	if (t->nall >= YTREE_MAX_NODES)
	{
		berror(b, start->line + 1, start->column + 1,
			   "more than %d YAML nodes", YTREE_MAX_NODES);
		return NULL;
	}
	if (t->nall == t->cap)
	{
		t->cap = t->cap ? t->cap * 2 : 64;
		t->all = xrealloc(t->all, t->cap, sizeof(YNode *));
	}

	YNode *n = xcalloc(1, sizeof(YNode));

	t->all[t->nall++] = n;
	n->kind = kind;
	n->start = om_byte(&b->om, start->index);
	n->line = start->line + 1;
	n->col = start->column + 1;
	return n;
}

/* Skip `&anchor` / `!tag` properties and the blanks after them. */
static size_t
skip_props(const Builder *b, size_t pos)
{
	const char *s = b->src;
	size_t base = b->om.base, i = pos - base;

	while (i < b->srclen && (s[i] == '&' || s[i] == '!'))
	{
		while (i < b->srclen && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			i++;
		while (i < b->srclen && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			i++;
	}
	return base + i;
}

static void
set_props(Builder *b, YNode *n, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor != NULL)
	{
		YTree *t = b->tree;

		n->anchor = xstrdup((const char *) anchor);
		t->has_anchors = true;
		if (t->nanchors < YTREE_MAX_ANCHORS)
		{
			if (t->anchors == NULL)
				t->anchors = xcalloc(YTREE_MAX_ANCHORS, sizeof(YNode *));
			t->anchors[t->nanchors] = n;
		}
		t->nanchors++;          /* checked by the caller */
	}
	if (tag != NULL)
		n->tag = xstrdup((const char *) tag);
	if (anchor != NULL || tag != NULL)
	{
		n->props = true;
		n->start = skip_props(b, n->start);
	}
}

static void
add_item(YNode *parent, YNode *child)
{
	/* Grow in powers of two: count 0,1,2,4,8... triggers a realloc. */
	if ((parent->count & (parent->count - 1)) == 0)
		parent->items = xrealloc(parent->items, parent->count ? parent->count * 2 : 1,
								 sizeof(YNode *));
	parent->items[parent->count++] = child;
}

static bool
attach(Builder *b, YNode *n)
{
	if (b->depth == 0)
	{
		if (b->tree->root != NULL)
			return berror(b, n->line, n->col, "more than one root node");
		b->tree->root = n;
		return true;
	}
	add_item(b->stack[b->depth - 1], n);
	return true;
}

/* The latest definition wins, as in YAML. */
static YNode *
find_anchor(const YTree *t, const char *name)
{
	for (size_t i = t->nanchors < YTREE_MAX_ANCHORS ? t->nanchors : YTREE_MAX_ANCHORS; i-- > 0;)
		if (strcmp(t->anchors[i]->anchor, name) == 0)
			return t->anchors[i];
	return NULL;
}

static bool
check_anchor_count(Builder *b, const YNode *n)
{
	if (b->tree->nanchors > YTREE_MAX_ANCHORS)
		return berror(b, n->line, n->col, "more than %d YAML anchors", YTREE_MAX_ANCHORS);
	return true;
}

static YamlStyle
scalar_style(yaml_scalar_style_t s)
{
	switch (s)
	{
		case YAML_SINGLE_QUOTED_SCALAR_STYLE: return YSTYLE_SINGLE;
		case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return YSTYLE_DOUBLE;
		case YAML_LITERAL_SCALAR_STYLE: return YSTYLE_LITERAL;
		case YAML_FOLDED_SCALAR_STYLE: return YSTYLE_FOLDED;
		default: return YSTYLE_PLAIN;
	}
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
on_scalar(Builder *b, const yaml_event_t *ev)
{
	YNode *n = new_node(b, YN_SCALAR, &ev->start_mark);
	size_t vlen = ev->data.scalar.length;

	if (n == NULL)
		return false;
	if (memchr(ev->data.scalar.value, '\0', vlen) != NULL)
		return berror(b, n->line, n->col, "NUL character in a YAML value");
	n->value = xstrndup((const char *) ev->data.scalar.value, vlen);
	n->style = scalar_style(ev->data.scalar.style);
	n->end = om_byte(&b->om, ev->end_mark.index);
	set_props(b, n, ev->data.scalar.anchor, ev->data.scalar.tag);
	/* A block scalar's end mark lies after its trailing blank lines. */
	if (n->style == YSTYLE_LITERAL || n->style == YSTYLE_FOLDED)
		while (n->end > n->start && is_blank(b->src[n->end - b->om.base - 1]))
			n->end--;
	if (n->end < n->start)
		n->end = n->start;
	return check_anchor_count(b, n) && attach(b, n);
}

static bool
on_alias(Builder *b, const yaml_event_t *ev)
{
	YNode *n = new_node(b, YN_ALIAS, &ev->start_mark);

	if (n == NULL)
		return false;
	n->value = xstrdup((const char *) ev->data.alias.anchor);
	n->end = om_byte(&b->om, ev->end_mark.index);
	if (++b->tree->naliases > YTREE_MAX_ALIASES)
		return berror(b, n->line, n->col, "more than %d YAML aliases", YTREE_MAX_ALIASES);
	n->target = find_anchor(b->tree, n->value);
	b->tree->has_aliases = true;
	if (n->target == NULL)
		return berror(b, n->line, n->col, "undefined alias *%.64s", n->value);
	return attach(b, n);
}

static bool
on_start(Builder *b, const yaml_event_t *ev, YNodeKind kind)
{
	YNode *n = new_node(b, kind, &ev->start_mark);

	if (n == NULL)
		return false;
	if (b->depth >= YTREE_MAX_DEPTH)
		return berror(b, n->line, n->col, "YAML nested deeper than %d levels",
					  YTREE_MAX_DEPTH);
	if (kind == YN_SEQ)
	{
		n->flow = ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
		set_props(b, n, ev->data.sequence_start.anchor, ev->data.sequence_start.tag);
	}
	else
	{
		n->flow = ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
		set_props(b, n, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
	}
	n->end = n->start;
	if (!check_anchor_count(b, n) || !attach(b, n))
		return false;
	b->stack[b->depth++] = n;
	return true;
}

static void
on_end(Builder *b, const yaml_event_t *ev)
{
	YNode *n = b->stack[--b->depth];

	if (n->flow)
		n->end = om_byte(&b->om, ev->end_mark.index);
	else
	{
		/* Block collection: up to its last content byte. */
		for (size_t i = 0; i < n->count; i++)
			if (n->items[i]->end > n->end)
				n->end = n->items[i]->end;
	}
}

static bool
parser_error(Builder *b, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";

	if (p->context != NULL)
		return berror(b, p->problem_mark.line + 1, p->problem_mark.column + 1,
					  "%s %s", problem, p->context);
	return berror(b, p->problem_mark.line + 1, p->problem_mark.column + 1, "%s", problem);
}

static bool
on_event(Builder *b, const yaml_event_t *ev, bool *done)
{
	switch (ev->type)
	{
		case YAML_DOCUMENT_START_EVENT:
			if (b->docs++ > 0)
				return berror(b, ev->start_mark.line + 1, ev->start_mark.column + 1,
							  "more than one YAML document in the file");
			return true;
		case YAML_SCALAR_EVENT:
			return on_scalar(b, ev);
		case YAML_ALIAS_EVENT:
			return on_alias(b, ev);
		case YAML_SEQUENCE_START_EVENT:
			return on_start(b, ev, YN_SEQ);
		case YAML_MAPPING_START_EVENT:
			return on_start(b, ev, YN_MAP);
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (b->depth > 0)
				on_end(b, ev);
			return true;
		case YAML_STREAM_END_EVENT:
			*done = true;
			return true;
		default:
			return true;
	}
}

bool
ytree_parse(const char *bytes, size_t len, size_t base, YTree *out, YError *err)
{
	Builder b = { .tree = out, .err = err, .src = bytes, .srclen = len };
	yaml_parser_t parser;
	bool ok = true, done = false;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	om_init(&b.om, bytes, len, base);
	if (!yaml_parser_initialize(&parser))
	{
		free(b.om.ck);
		return berror(&b, 1, 1, "cannot initialise the YAML parser");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *) bytes, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (ok && !done)
	{
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev))
		{
			ok = parser_error(&b, &parser);
			break;
		}
		ok = on_event(&b, &ev, &done);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	free(b.om.ck);
	if (!ok)
		ytree_free(out);
	return ok;
}

void
ytree_free(YTree *tree)
{
	for (size_t i = 0; i < tree->nall; i++)
	{
		YNode *n = tree->all[i];

		free(n->value);
		free(n->anchor);
		free(n->tag);
		free(n->items);
		free(n);
	}
	free(tree->all);
	free(tree->anchors);
	memset(tree, 0, sizeof(*tree));
}

const YNode *
ynode_map_get(const YNode *map, const char *key)
{
	if (map == NULL || map->kind != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->count; i += 2)
		if (map->items[i]->kind == YN_SCALAR && strcmp(map->items[i]->value, key) == 0)
			return map->items[i + 1];
	return NULL;
}

bool
ynode_is_null(const YNode *n)
{
	if (n == NULL)
		return true;
	if (n->kind != YN_SCALAR || n->style != YSTYLE_PLAIN || n->tag != NULL)
		return false;
	return n->value[0] == '\0' || strcmp(n->value, "~") == 0 ||
		strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
		strcmp(n->value, "NULL") == 0;
}

bool
ynode_has_alias(const YNode *n)
{
	/* Iterative walk with a bounded explicit stack (tree depth <= MAX). */
	const YNode *stack[YTREE_MAX_DEPTH + 1];
	size_t idx[YTREE_MAX_DEPTH + 1];
	size_t depth = 0;

	if (n == NULL)
		return false;
	if (n->kind == YN_ALIAS)
		return true;
	stack[0] = n;
	idx[0] = 0;
	depth = 1;
	while (depth > 0)
	{
		const YNode *top = stack[depth - 1];

		if (idx[depth - 1] >= top->count)
		{
			depth--;
			continue;
		}

		const YNode *child = top->items[idx[depth - 1]++];

		if (child->kind == YN_ALIAS)
			return true;
		if (child->count > 0 && depth <= YTREE_MAX_DEPTH)
		{
			stack[depth] = child;
			idx[depth] = 0;
			depth++;
		}
	}
	return false;
}
