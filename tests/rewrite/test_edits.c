/*
 * test_edits.c — the byte-span editor and collection item deletion, on
 * hand-made spans.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/rewrite.h"

/* Span of the n-th (0-based) occurrence of needle in hay. */
static Span
find_span(const char *hay, const char *needle, int nth)
{
	const char *p = hay;

	for (;;)
	{
		p = strstr(p, needle);
		cr_assert_not_null(p, "'%s' not found", needle);
		if (nth-- == 0)
			break;
		p++;
	}
	return (Span) { (size_t) (p - hay), (size_t) (p - hay) + strlen(needle) };
}

/* Whole line(s) from the line holding needle through the line holding last. */
static Span
line_span(const char *hay, const char *needle, const char *last)
{
	Span a = find_span(hay, needle, 0);
	Span b = find_span(hay + a.start, last, 0);
	size_t s = a.start;
	size_t e = a.start + b.end;

	while (s > 0 && hay[s - 1] != '\n')
		s--;
	while (hay[e] != '\0' && hay[e] != '\n')
		e++;
	if (hay[e] == '\n')
		e++;
	return (Span) { s, e };
}

static char *
apply(const RwEdits *edits, const char *src)
{
	StrBuf out = STRBUF_INIT;

	cr_assert(rw_apply(edits, src, strlen(src), &out));
	return sb_steal(&out);
}

Test(rewrite_edits, replace_delete_insert_one_pass)
{
	const char *src = "0123456789";
	RwEdits e = RW_EDITS_INIT;

	cr_assert(rw_replace(&e, 7, 9, "XY", 2));
	cr_assert(rw_delete(&e, 1, 3));
	cr_assert(rw_insert(&e, 5, "+", 1));
	cr_assert(rw_insert(&e, 5, "-", 1));   /* same point: order of addition */
	cr_assert(rw_insert(&e, 10, "!", 1));

	char *got = apply(&e, src);

	cr_assert_str_eq(got, "034+-56XY9!");
	free(got);
	rw_edits_free(&e);
}

Test(rewrite_edits, insertion_at_span_boundaries_is_not_overlap)
{
	RwEdits e = RW_EDITS_INIT;

	cr_assert(rw_replace(&e, 2, 4, "ab", 2));
	cr_assert(rw_insert(&e, 2, "<", 1));
	cr_assert(rw_insert(&e, 4, ">", 1));

	char *got = apply(&e, "012345");

	cr_assert_str_eq(got, "01<ab>45");
	free(got);
	rw_edits_free(&e);
}

Test(rewrite_edits, overlap_rejected)
{
	struct { size_t s1, e1, s2, e2; } bad[] = {
		{ 1, 5, 4, 6 },   /* tail overlap */
		{ 1, 5, 2, 3 },   /* nested */
		{ 1, 5, 1, 5 },   /* identical */
		{ 1, 5, 3, 3 },   /* insertion strictly inside */
		{ 0, 9, 8, 9 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		RwEdits e = RW_EDITS_INIT;
		StrBuf out = STRBUF_INIT;

		cr_assert(rw_replace(&e, bad[i].s1, bad[i].e1, "x", 1));
		cr_assert(rw_replace(&e, bad[i].s2, bad[i].e2, "y", 1));
		cr_assert_not(rw_apply(&e, "0123456789", 10, &out), "case %zu", i);
		cr_assert_eq(out.len, 0, "nothing produced on a rejected edit list");
		rw_edits_free(&e);
		sb_free(&out);
	}
}

Test(rewrite_edits, out_of_range_rejected)
{
	RwEdits e = RW_EDITS_INIT;
	StrBuf out = STRBUF_INIT;

	cr_assert(rw_delete(&e, 3, 11));
	cr_assert_not(rw_apply(&e, "0123456789", 10, &out));
	cr_assert_not(rw_delete(&e, 5, 4), "reversed span refused when added");
	rw_edits_free(&e);
	sb_free(&out);
}

Test(rewrite_edits, empty_edit_list_is_identity)
{
	RwEdits e = RW_EDITS_INIT;
	char *got = apply(&e, "a: b\n");

	cr_assert_str_eq(got, "a: b\n");
	free(got);
}

/* --- flow sequence deletion ---------------------------------------- */

static char *
drop_flow(const char *src, const char *const *names, size_t n, const char *drop)
{
	RwItem items[8];
	RwEdits e = RW_EDITS_INIT;
	Span block = line_span(src, "depends_on", "depends_on");

	for (size_t i = 0; i < n; i++)
	{
		items[i].span = find_span(src, names[i], 0);
		items[i].flow = true;
		items[i].drop = strstr(drop, names[i]) != NULL;
	}
	cr_assert(rw_delete_items(&e, src, strlen(src), block, items, n, "depends_on"));

	char *got = apply(&e, src);

	rw_edits_free(&e);
	return got;
}

Test(rewrite_edits, flow_delete_first_middle_last)
{
	const char *src = "    depends_on: [alpha, bravo, charlie]\n    image: x\n";
	const char *names[] = { "alpha", "bravo", "charlie" };
	char *got;

	got = drop_flow(src, names, 3, "alpha");
	cr_assert_str_eq(got, "    depends_on: [bravo, charlie]\n    image: x\n");
	free(got);
	got = drop_flow(src, names, 3, "bravo");
	cr_assert_str_eq(got, "    depends_on: [alpha, charlie]\n    image: x\n");
	free(got);
	got = drop_flow(src, names, 3, "charlie");
	cr_assert_str_eq(got, "    depends_on: [alpha, bravo]\n    image: x\n");
	free(got);
	got = drop_flow(src, names, 3, "alpha charlie");
	cr_assert_str_eq(got, "    depends_on: [bravo]\n    image: x\n");
	free(got);
	got = drop_flow(src, names, 3, "alpha bravo");
	cr_assert_str_eq(got, "    depends_on: [charlie]\n    image: x\n");
	free(got);
	got = drop_flow(src, names, 3, "bravo charlie");
	cr_assert_str_eq(got, "    depends_on: [alpha]\n    image: x\n");
	free(got);
}

Test(rewrite_edits, flow_delete_only_item_removes_key)
{
	const char *src = "  app:\n    depends_on: [db]\n    image: x\n";
	const char *names[] = { "db" };
	char *got = drop_flow(src, names, 1, "db");

	cr_assert_str_eq(got, "  app:\n    image: x\n");
	free(got);

	const char *src2 = "  app:\n    depends_on: [db, cache]\n    image: x\n";
	const char *names2[] = { "db", "cache" };

	got = drop_flow(src2, names2, 2, "db cache");
	cr_assert_str_eq(got, "  app:\n    image: x\n");
	free(got);
}

Test(rewrite_edits, flow_delete_quoted_tight_and_multiline)
{
	const char *src = "x:\n  depends_on: [\"db\",'redis',web]\n";
	const char *names[] = { "\"db\"", "'redis'", "web" };
	char *got = drop_flow(src, names, 3, "\"db\"");

	cr_assert_str_eq(got, "x:\n  depends_on: ['redis',web]\n");
	free(got);
	got = drop_flow(src, names, 3, "'redis'");
	cr_assert_str_eq(got, "x:\n  depends_on: [\"db\",web]\n");
	free(got);

	const char *ml = "x:\n  depends_on: [\n    cache,\n    db,\n  ]\n";
	const char *mn[] = { "cache", "db" };

	got = drop_flow(ml, mn, 2, "db");
	cr_assert_str_eq(got, "x:\n  depends_on: [\n    cache,\n  ]\n");
	free(got);
	got = drop_flow(ml, mn, 2, "cache");
	cr_assert_str_eq(got, "x:\n  depends_on: [\n    db,\n  ]\n");
	free(got);
}

Test(rewrite_edits, flow_with_comment_refused)
{
	const char *src = "x:\n  depends_on: [cache, # the db\n    db]\n";
	RwItem items[2] = {
		{ find_span(src, "cache", 0), true, false },
		{ find_span(src, "db]", 0), true, true },
	};
	RwEdits e = RW_EDITS_INIT;

	items[1].span.end--;
	cr_assert_not(rw_delete_items(&e, src, strlen(src), line_span(src, "depends_on", "db]"),
								  items, 2, "depends_on"));
	rw_edits_free(&e);
}

/* --- block deletion -------------------------------------------------- */

Test(rewrite_edits, block_list_delete_item_and_last_item_removes_key)
{
	const char *src =
		"  app:\n"
		"    depends_on:\n"
		"      - db\n"
		"      - redis\n"
		"    image: x\n";
	RwItem items[2] = {
		{ line_span(src, "- db", "- db"), false, true },
		{ line_span(src, "- redis", "- redis"), false, false },
	};
	Span block = line_span(src, "depends_on", "- redis");
	RwEdits e = RW_EDITS_INIT;

	cr_assert(rw_delete_items(&e, src, strlen(src), block, items, 2, "depends_on"));

	char *got = apply(&e, src);

	cr_assert_str_eq(got, "  app:\n    depends_on:\n      - redis\n    image: x\n");
	free(got);
	rw_edits_free(&e);

	items[1].drop = true;
	cr_assert(rw_delete_items(&e, src, strlen(src), block, items, 2, "depends_on"));
	got = apply(&e, src);
	cr_assert_str_eq(got, "  app:\n    image: x\n");
	free(got);
	rw_edits_free(&e);
}

Test(rewrite_edits, block_map_with_condition_delete)
{
	const char *src =
		"  app:\n"
		"    depends_on:\n"
		"      redis:\n"
		"        condition: service_started\n"
		"      db:\n"
		"        condition: service_healthy\n"
		"    image: x\n";
	RwItem items[2] = {
		{ line_span(src, "redis:", "service_started"), false, false },
		{ line_span(src, "db:", "service_healthy"), false, true },
	};
	RwEdits e = RW_EDITS_INIT;

	cr_assert(rw_delete_items(&e, src, strlen(src), line_span(src, "depends_on", "service_healthy"),
							  items, 2, "depends_on"));

	char *got = apply(&e, src);

	cr_assert_str_eq(got, "  app:\n    depends_on:\n      redis:\n        condition: service_started\n"
						  "    image: x\n");
	free(got);
	rw_edits_free(&e);
}

Test(rewrite_edits, block_item_must_be_line_span)
{
	const char *src = "a:\n  - db\n";
	RwItem items[2] = {
		{ find_span(src, "db", 0), false, true },
		{ { 0, 0 }, false, false },
	};
	RwEdits e = RW_EDITS_INIT;

	items[1].span = (Span) { strlen(src), strlen(src) };
	cr_assert_not(rw_delete_items(&e, src, strlen(src), (Span) { 0, strlen(src) }, items, 2, "x"));
	rw_edits_free(&e);
}

Test(rewrite_edits, crlf_file_deletions_keep_crlf)
{
	const char *src =
		"services:\r\n"
		"  app:\r\n"
		"    depends_on:\r\n"
		"      - db\r\n"
		"    image: x\r\n"
		"  other:\r\n"
		"    depends_on: [db, app]\r\n";
	RwItem a[1] = { { line_span(src, "- db", "- db"), false, true } };
	RwItem b[2] = {
		{ find_span(src, "db, ", 0), true, true },
		{ find_span(src, "app]", 0), true, false },
	};
	RwEdits e = RW_EDITS_INIT;

	b[0].span.end -= 2;
	b[1].span.end -= 1;
	cr_assert_str_eq(rw_eol(src, strlen(src)), "\r\n");
	cr_assert(rw_delete_items(&e, src, strlen(src), line_span(src, "depends_on", "- db"),
							  a, 1, "depends_on"));
	cr_assert(rw_delete_items(&e, src, strlen(src), line_span(src, "depends_on: [", "[db"),
							  b, 2, "depends_on"));

	char *got = apply(&e, src);

	cr_assert_str_eq(got,
					 "services:\r\n"
					 "  app:\r\n"
					 "    image: x\r\n"
					 "  other:\r\n"
					 "    depends_on: [app]\r\n");
	free(got);
	rw_edits_free(&e);
	cr_assert_str_eq(rw_eol("a\nb\r\n", 5), "\n");
}
