/*
 * diff.c — `diff -u` output for plan / --dry-run. Common leading and
 * trailing lines are trimmed, the middle is aligned with a bounded LCS
 * table (service files are small; past the bound the middle is shown as
 * replaced, which is still a correct patch). Hunks follow GNU diff: three
 * lines of context, ranges as `start,count` (`start` alone for one line,
 * the line before and `,0` for none), `\ No newline at end of file`.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_CONTEXT   3
#define DIFF_MAX_CELLS (4u * 1024u * 1024u)

typedef struct Line
{
	const char *p;
	size_t      n;     /* including the newline, if any */
} Line;

typedef enum Op { OP_EQ, OP_DEL, OP_INS } Op;

typedef struct Step
{
	Op     op;
	size_t a;     /* line index in old (EQ, DEL) */
	size_t b;     /* line index in new (EQ, INS) */
} Step;

static Line *
split_lines(const char *s, size_t len, size_t *count)
{
	size_t n = 0, cap = 64;
	Line *lines = xcalloc(cap, sizeof(Line));

	for (size_t pos = 0; s != NULL && pos < len;)
	{
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t end = nl ? (size_t) (nl - s) + 1 : len;

		if (n == cap)
		{
			cap *= 2;
			lines = xrealloc(lines, cap, sizeof(Line));
		}
		lines[n++] = (Line) { s + pos, end - pos };
		pos = end;
	}
	*count = n;
	return lines;
}

static bool
line_eq(const Line *x, const Line *y)
{
	return x->n == y->n && memcmp(x->p, y->p, x->n) == 0;
}

/* Edit script for a[lo_a, hi_a) vs b[lo_b, hi_b), appended to steps. */
static void
align_middle(const Line *a, size_t lo_a, size_t hi_a, const Line *b, size_t lo_b,
			 size_t hi_b, Step *steps, size_t *ns)
{
	size_t n = hi_a - lo_a, m = hi_b - lo_b;
	uint32_t *t = NULL;

	if (n > 0 && m > 0 && (n + 1) <= DIFF_MAX_CELLS / (m + 1))
	{
		/* t[i][j] = LCS length of a[lo_a+i..] and b[lo_b+j..] */
		t = xcalloc((n + 1) * (m + 1), sizeof(uint32_t));
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				t[i * (m + 1) + j] = line_eq(&a[lo_a + i], &b[lo_b + j])
					? t[(i + 1) * (m + 1) + j + 1] + 1
					: (t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]
					   ? t[(i + 1) * (m + 1) + j] : t[i * (m + 1) + j + 1]);
	}

	size_t i = 0, j = 0;

	while (i < n || j < m)
	{
		if (t != NULL && i < n && j < m && line_eq(&a[lo_a + i], &b[lo_b + j]))
		{
			steps[(*ns)++] = (Step) { OP_EQ, lo_a + i, lo_b + j };
			i++;
			j++;
		}
		else if (i < n && (j == m || t == NULL ||
						   t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]))
			steps[(*ns)++] = (Step) { OP_DEL, lo_a + i++, lo_b + j };
		else
			steps[(*ns)++] = (Step) { OP_INS, lo_a + i, lo_b + j++ };
	}
	free(t);
}

static bool
emit_line(StrBuf *out, char mark, const Line *l)
{
	bool ok = sb_appendc(out, mark) && sb_append(out, l->p, l->n);

	if (ok && (l->n == 0 || l->p[l->n - 1] != '\n'))
		ok = sb_appends(out, "\n\\ No newline at end of file\n");
	return ok;
}

static bool
emit_range(StrBuf *out, char sign, size_t start, size_t count)
{
	/* start is the 0-based first line; GNU prints the line before for none */
	if (count == 0)
		return sb_appendf(out, "%c%zu,0", sign, start);
	if (count == 1)
		return sb_appendf(out, "%c%zu", sign, start + 1);
	return sb_appendf(out, "%c%zu,%zu", sign, start + 1, count);
}

static bool
emit_hunk(StrBuf *out, const Step *steps, size_t from, size_t to, const Line *a, const Line *b)
{
	size_t na = 0, nb = 0;
	size_t sa = steps[from].a, sb = steps[from].b;
	bool ok;

	for (size_t k = from; k < to; k++)
	{
		na += steps[k].op != OP_INS;
		nb += steps[k].op != OP_DEL;
	}
	ok = sb_appends(out, "@@ ") && emit_range(out, '-', sa, na) && sb_appendc(out, ' ') &&
		 emit_range(out, '+', sb, nb) && sb_appends(out, " @@\n");
	for (size_t k = from; ok && k < to; k++)
	{
		if (steps[k].op == OP_EQ)
			ok = emit_line(out, ' ', &a[steps[k].a]);
		else if (steps[k].op == OP_DEL)
			ok = emit_line(out, '-', &a[steps[k].a]);
		else
			ok = emit_line(out, '+', &b[steps[k].b]);
	}
	return ok;
}

bool
rewrite_unified_diff(const char *old, size_t oldlen, const char *new_bytes, size_t newlen,
					 const char *a_label, const char *b_label, StrBuf *out)
{
	if (old == NULL)
		oldlen = 0;
	if (oldlen == newlen && (oldlen == 0 || memcmp(old, new_bytes, oldlen) == 0))
		return true;

	size_t na, nb;
	Line *a = split_lines(old, oldlen, &na);
	Line *b = split_lines(new_bytes, newlen, &nb);
	Step *steps = xcalloc(na + nb + 1, sizeof(Step));
	size_t ns = 0, pre = 0, suf = 0;

	while (pre < na && pre < nb && line_eq(&a[pre], &b[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && line_eq(&a[na - 1 - suf], &b[nb - 1 - suf]))
		suf++;
	for (size_t k = 0; k < pre; k++)
		steps[ns++] = (Step) { OP_EQ, k, k };
	align_middle(a, pre, na - suf, b, pre, nb - suf, steps, &ns);
	for (size_t k = suf; k > 0; k--)
		steps[ns++] = (Step) { OP_EQ, na - k, nb - k };

	bool ok = sb_appendf(out, "--- %s\n+++ %s\n", old ? a_label : "/dev/null", b_label);

	for (size_t k = 0; ok && k < ns;)
	{
		if (steps[k].op == OP_EQ)
		{
			k++;
			continue;
		}

		/* a hunk: from context before this change through the last change
		 * that is at most 2*context equal lines away, plus context */
		size_t from = k > DIFF_CONTEXT ? k - DIFF_CONTEXT : 0;
		size_t last = k;

		for (size_t x = k + 1, eq = 0; x < ns; x++)
		{
			if (steps[x].op == OP_EQ)
			{
				if (++eq > 2 * DIFF_CONTEXT)
					break;
			}
			else
			{
				last = x;
				eq = 0;
			}
		}

		size_t to = last + 1 + DIFF_CONTEXT < ns ? last + 1 + DIFF_CONTEXT : ns;

		ok = emit_hunk(out, steps, from, to, a, b);
		k = last + 1;
	}
	free(steps);
	free(a);
	free(b);
	return ok;
}

bool
rewrite_file_diff(const char *root, const char *path, const char *cur, size_t curlen,
				  const char *want, size_t wantlen, StrBuf *out)
{
	char a[PATH_MAX + 2], b[PATH_MAX + 2];
	size_t n = strlen(root);

	if (strncmp(path, root, n) == 0 && path[n] == '/')
		path += n + 1;
	return str_format(a, sizeof(a), "a/%s", path) && str_format(b, sizeof(b), "b/%s", path)
		&& rewrite_unified_diff(cur, curlen, want, wantlen, a, b, out);
}
