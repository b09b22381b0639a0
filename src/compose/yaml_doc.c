/*
 * yaml_doc.c — one mapping of an app's own YAML configuration file
 * (Synapse's homeserver.yaml `database.args`), read with libyaml (ytree)
 * and tied to byte spans so that src/rewrite can replace single values and
 * leave every other byte (comments, order, quoting) alone.
 */
#include "pgfold/compose.h"

#include "pgfold/str.h"
#include "ytree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
doc_error(char *error, size_t size, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static bool
doc_error(char *error, size_t size, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(error, size, "%zu:%zu: ", line, col);

	if (n >= 0 && (size_t) n < size)
	{
		va_start(ap, fmt);
		vsnprintf(error + n, size - (size_t) n, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* A mapping the app reads must say one thing: no repeated key, no merge
 * key, no alias (libyaml accepts all three; apps resolve them differently). */
static bool
check_map(const YNode *map, char *error, size_t size)
{
	for (size_t i = 0; i + 1 < map->count; i += 2)
	{
		const YNode *k = map->items[i], *v = map->items[i + 1];

		if (k->kind != YN_SCALAR)
			return doc_error(error, size, k->line, k->col, "a key that is not a scalar");
		if (strcmp(k->value, "<<") == 0)
			return doc_error(error, size, k->line, k->col, "merge key (<<): which settings "
							 "apply depends on the reader");
		if (v->kind == YN_ALIAS || v->props)
			return doc_error(error, size, v->line, v->col, "key \"%s\": an alias, anchor or "
							 "tag on the value", k->value);
		for (size_t j = 0; j < i; j += 2)
			if (map->items[j]->kind == YN_SCALAR && strcmp(map->items[j]->value, k->value) == 0)
				return doc_error(error, size, k->line, k->col, "key \"%s\" repeats the one on "
								 "line %zu", k->value, map->items[j]->line);
	}
	return true;
}

static size_t
line_start(const char *b, size_t pos)
{
	while (pos > 0 && b[pos - 1] != '\n' && b[pos - 1] != '\r')
		pos--;
	return pos;
}

static size_t
line_end(const char *b, size_t len, size_t pos)
{
	while (pos < len && b[pos] != '\n' && b[pos] != '\r')
		pos++;
	if (pos < len && b[pos] == '\r')
		pos++;
	if (pos < len && b[pos] == '\n')
		pos++;
	return pos;
}

static bool
fill(const char *b, size_t len, const YNode *map, YamlMapping *out)
{
	out->flow = map->flow;
	out->count = map->count / 2;
	out->entries = xcalloc(out->count + 1, sizeof(YamlEntry));
	out->eol = "\n";
	for (size_t i = 0; i < len; i++)
		if (b[i] == '\n')
		{
			out->eol = (i > 0 && b[i - 1] == '\r') ? "\r\n" : "\n";
			break;
		}
	for (size_t i = 0; i < out->count; i++)
	{
		const YNode *k = map->items[2 * i], *v = map->items[2 * i + 1];
		YamlEntry *e = &out->entries[i];

		e->key = xstrdup(k->value);
		e->line = k->line;
		e->style = v->style;
		e->value_span = (Span) { v->start, v->end };
		if (v->kind == YN_SCALAR)
			e->value = xstrdup(v->value);
		if (i == 0)
			out->indent = k->start - line_start(b, k->start);
		if (v->end > out->end)
			out->end = v->end;
	}
	/* through the line break of the last entry's last line (a trailing
	 * comment on it stays with it) */
	out->end = line_end(b, len, out->end);
	return true;
}

bool
compose_yaml_mapping(const char *bytes, size_t len, const char *const *path, size_t depth,
					 YamlMapping *out, bool *found, char *error, size_t error_size)
{
	YTree tree;
	YError yerr;
	size_t bom = 0;

	memset(out, 0, sizeof(*out));
	*found = false;
	error[0] = '\0';
	if (len > YAML_DOC_MAX_BYTES)
		return doc_error(error, error_size, 1, 1, "%zu bytes, more than the %d this reads",
						 len, YAML_DOC_MAX_BYTES);
	if (memchr(bytes, '\0', len) != NULL)
		return doc_error(error, error_size, 1, 1, "NUL byte: not a text file");
	if (len >= 3 && memcmp(bytes, "\xEF\xBB\xBF", 3) == 0)
		bom = 3;
	if (!ytree_parse(bytes + bom, len - bom, bom, &tree, &yerr))
		return doc_error(error, error_size, yerr.line, yerr.col, "%s", yerr.msg);

	const YNode *node = tree.root;
	bool ok = true;

	for (size_t d = 0; ok && node != NULL && d <= depth; d++)
	{
		if (node->kind != YN_MAP)
		{
			node = NULL;
			break;
		}
		ok = check_map(node, error, error_size);
		if (ok && d < depth)
			node = ynode_map_get(node, path[d]);
	}
	if (ok && node != NULL && node->kind == YN_MAP)
	{
		*found = true;
		fill(bytes, len, node, out);
	}
	ytree_free(&tree);
	return ok;
}

void
compose_yaml_mapping_free(YamlMapping *m)
{
	for (size_t i = 0; i < m->count; i++)
	{
		free(m->entries[i].key);
		if (m->entries[i].value != NULL)
		{
			/* may be a password */
			explicit_bzero(m->entries[i].value, strlen(m->entries[i].value));
			free(m->entries[i].value);
		}
	}
	free(m->entries);
	memset(m, 0, sizeof(*m));
}
