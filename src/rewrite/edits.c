/*
 * edits.c — the byte-span editor: a list of replacements against the
 * original bytes, validated and applied in one pass, plus the collection
 * item deletion that keeps flow sequences and block keys valid YAML.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static bool
rw_add(RwEdits *edits, size_t start, size_t end, const char *bytes, size_t len)
{
	if (start > end)
	{
		log_error("internal error: edit span [%zu, %zu) is reversed", start, end);
		return false;
	}
	if (edits->count == edits->cap)
	{
		size_t cap = edits->cap ? edits->cap * 2 : 16;

		edits->items = xrealloc(edits->items, cap, sizeof(RwEdit));
		edits->cap = cap;
	}

	RwEdit *e = &edits->items[edits->count];

	e->start = start;
	e->end = end;
	e->bytes = len ? xstrndup(bytes, len) : NULL;
	e->len = len;
	e->seq = edits->count;
	edits->count++;
	return true;
}

bool
rw_replace(RwEdits *edits, size_t start, size_t end, const char *bytes, size_t len)
{
	return rw_add(edits, start, end, bytes, len);
}

bool
rw_delete(RwEdits *edits, size_t start, size_t end)
{
	return rw_add(edits, start, end, NULL, 0);
}

bool
rw_insert(RwEdits *edits, size_t at, const char *bytes, size_t len)
{
	return rw_add(edits, at, at, bytes, len);
}

void
rw_free_secret(char *s)
{
	if (s != NULL)
	{
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void
rw_edits_free(RwEdits *edits)
{
	for (size_t i = 0; i < edits->count; i++)
	{
		if (edits->items[i].bytes != NULL)
		{
			sodium_memzero(edits->items[i].bytes, edits->items[i].len);
			free(edits->items[i].bytes);
		}
	}
	free(edits->items);
	edits->items = NULL;
	edits->count = edits->cap = 0;
}

/* Order: by start; at one start insertions first; then order of addition. */
static int
edit_cmp(const void *pa, const void *pb)
{
	const RwEdit *a = *(const RwEdit *const *) pa;
	const RwEdit *b = *(const RwEdit *const *) pb;
	bool a_ins = a->start == a->end;
	bool b_ins = b->start == b->end;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a_ins != b_ins)
		return a_ins ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static const RwEdit **
sorted_edits(const RwEdits *edits)
{
	const RwEdit **order = xcalloc(edits->count, sizeof(*order));

	for (size_t i = 0; i < edits->count; i++)
		order[i] = &edits->items[i];
	qsort(order, edits->count, sizeof(*order), edit_cmp);
	return order;
}

bool
rw_apply(const RwEdits *edits, const char *src, size_t len, StrBuf *out)
{
	const RwEdit **order = sorted_edits(edits);
	size_t pos = 0;
	bool ok = true;

	/* Validate everything before producing a byte. */
	for (size_t i = 0; i < edits->count && ok; i++)
	{
		const RwEdit *e = order[i];

		if (e->end > len || e->start > e->end)
		{
			log_error("internal error: edit [%zu, %zu) outside the file (%zu bytes)",
					  e->start, e->end, len);
			ok = false;
		}
		else if (e->start < pos)
		{
			log_error("internal error: edits overlap at byte %zu (edit [%zu, %zu))",
					  e->start, e->start, e->end);
			ok = false;
		}
		else if (e->end > pos)
			pos = e->end;
	}

	pos = 0;
	for (size_t i = 0; i < edits->count && ok; i++)
	{
		const RwEdit *e = order[i];

		ok = sb_append(out, src + pos, e->start - pos) &&
			 sb_append(out, e->bytes ? e->bytes : "", e->len);
		pos = e->end;
	}
	if (ok)
		ok = sb_append(out, src + pos, len - pos);
	free(order);
	return ok;
}

size_t
rw_map_offset(const RwEdits *edits, size_t pos, bool after)
{
	size_t mapped = pos;

	for (size_t i = 0; i < edits->count; i++)
	{
		const RwEdit *e = &edits->items[i];
		bool before = e->end < pos || (e->end == pos && (e->start < pos || after));

		if (before)
			mapped = mapped - (e->end - e->start) + e->len;
	}
	return mapped;
}

const char *
rw_eol(const char *src, size_t len)
{
	const char *nl = memchr(src, '\n', len);

	if (nl != NULL && nl > src && nl[-1] == '\r')
		return "\r\n";
	return "\n";
}

bool
rw_span_valid(Span span, size_t len)
{
	return span.start <= span.end && span.end <= len;
}

bool
rw_is_line_span(const char *src, size_t len, Span span)
{
	if (!rw_span_valid(span, len) || span.start == span.end)
		return false;
	if (span.start > 0 && src[span.start - 1] != '\n')
		return false;
	return span.end == len || src[span.end - 1] == '\n';
}

size_t
rw_line_end(const char *src, size_t len, size_t pos)
{
	const char *nl = memchr(src + pos, '\n', len - pos);

	return nl ? (size_t) (nl - src) + 1 : len;
}

size_t
rw_line_indent(const char *src, size_t len, size_t pos)
{
	size_t col = 0;

	while (pos + col < len && src[pos + col] == ' ')
		col++;
	return col;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Widen a flow item span over its quotes if the caller gave the inside. */
static Span
flow_scalar(const char *src, size_t len, Span s)
{
	if (s.start > 0 && s.end < len &&
		(src[s.start - 1] == '"' || src[s.start - 1] == '\'') &&
		src[s.end] == src[s.start - 1])
	{
		s.start--;
		s.end++;
	}
	return s;
}

/* Between two flow items: blanks and exactly one comma, nothing else. */
static bool
flow_gap_ok(const char *src, size_t from, size_t to)
{
	int commas = 0;

	for (size_t i = from; i < to; i++)
	{
		if (src[i] == ',')
			commas++;
		else if (!is_blank(src[i]))
			return false;
	}
	return commas == 1;
}

static bool
flow_ends_ok(const char *src, size_t len, Span first, Span last)
{
	size_t i = first.start;

	while (i > 0 && is_blank(src[i - 1]))
		i--;
	if (i == 0 || src[i - 1] != '[')
		return false;

	size_t j = last.end;

	while (j < len && is_blank(src[j]))
		j++;
	if (j < len && src[j] == ',')   /* [a, b,] is valid YAML */
		j++;
	while (j < len && is_blank(src[j]))
		j++;
	return j < len && src[j] == ']';
}

static bool
delete_flow(RwEdits *edits, const char *src, size_t len, const RwItem *items,
			size_t count, const char *what)
{
	Span *sp = xcalloc(count, sizeof(Span));
	bool ok = true;

	for (size_t i = 0; i < count && ok; i++)
	{
		sp[i] = flow_scalar(src, len, items[i].span);
		if (!items[i].flow || !rw_span_valid(sp[i], len) || sp[i].start == sp[i].end ||
			(i > 0 && !flow_gap_ok(src, sp[i - 1].end, sp[i].start)))
			ok = false;
	}
	if (ok && !flow_ends_ok(src, len, sp[0], sp[count - 1]))
		ok = false;
	if (!ok)
	{
		log_error("cannot edit the flow sequence %s at byte %zu safely (comments, mixed "
				  "or flow-mapping items); write it in block form and retry",
				  what, items[0].span.start);
		free(sp);
		return false;
	}

	size_t i = 0;

	while (ok && i < count)
	{
		if (!items[i].drop)
		{
			i++;
			continue;
		}

		size_t last = i;

		while (last + 1 < count && items[last + 1].drop)
			last++;
		if (i == 0)   /* leading run: up to the next kept item */
			ok = rw_delete(edits, sp[0].start, sp[last + 1].start);
		else          /* after a kept item: its comma through the run */
			ok = rw_delete(edits, sp[i - 1].end, sp[last].end);
		i = last + 1;
	}
	free(sp);
	return ok;
}

bool
rw_delete_items(RwEdits *edits, const char *src, size_t len, Span key_block,
				const RwItem *items, size_t count, const char *what)
{
	size_t drops = 0;
	size_t flows = 0;

	for (size_t i = 0; i < count; i++)
	{
		drops += items[i].drop;
		flows += items[i].flow;
		if (i > 0 && items[i].span.start < items[i - 1].span.end)
		{
			log_error("internal error: %s items out of order", what);
			return false;
		}
	}
	if (drops == 0)
		return true;
	if (drops == count)
	{
		/* Nothing would remain: the key goes with its items. */
		if (!rw_is_line_span(src, len, key_block) ||
			items[0].span.start < key_block.start ||
			items[count - 1].span.end > key_block.end)
		{
			log_error("internal error: %s block span [%zu, %zu) does not hold its items",
					  what, key_block.start, key_block.end);
			return false;
		}
		return rw_delete(edits, key_block.start, key_block.end);
	}
	if (flows == count)
		return delete_flow(edits, src, len, items, count, what);
	if (flows != 0)
	{
		log_error("internal error: %s mixes flow and block items", what);
		return false;
	}
	for (size_t i = 0; i < count; i++)
	{
		if (!items[i].drop)
			continue;
		if (!rw_is_line_span(src, len, items[i].span))
		{
			log_error("internal error: %s item [%zu, %zu) is not a line span",
					  what, items[i].span.start, items[i].span.end);
			return false;
		}
		if (!rw_delete(edits, items[i].span.start, items[i].span.end))
			return false;
	}
	return true;
}

bool
rw_reindent(const char *src, size_t len, Span span, size_t base, size_t indent,
			const char *eol, StrBuf *out)
{
	if (!rw_span_valid(span, len))
		return false;
	if (base == RW_FIRST_LINE)
		base = rw_line_indent(src, span.end, span.start);

	size_t pos = span.start;
	bool ok = true;

	while (ok && pos < span.end)
	{
		const char *nl = memchr(src + pos, '\n', span.end - pos);
		size_t line_end = nl ? (size_t) (nl - src) : span.end;
		size_t text_end = line_end;

		if (text_end > pos && src[text_end - 1] == '\r')
			text_end--;

		size_t col = rw_line_indent(src, text_end, pos);

		if (col == text_end - pos)          /* blank line */
			ok = sb_appends(out, eol);
		else
		{
			/* Lines less indented than base (lead comments) are clamped
			 * at the new indent. */
			size_t keep = col > base ? col - base : 0;

			for (size_t k = 0; ok && k < indent + keep; k++)
				ok = sb_appendc(out, ' ');
			ok = ok && sb_append(out, src + pos + col, text_end - pos - col) &&
				 sb_appends(out, eol);
		}
		pos = nl ? line_end + 1 : span.end;
	}
	return ok;
}
