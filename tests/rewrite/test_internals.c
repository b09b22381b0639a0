/*
 * test_internals.c — white-box tests of src/rewrite helpers that the
 * service module's own refusals keep the end-to-end tests from reaching:
 * the anchor and reference guards, value encoding, scalar decoding and
 * re-indentation.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/rewrite/rw_internal.h"

static Span
line_of(const char *s, const char *needle)
{
	const char *p = strstr(s, needle);
	size_t a, b;

	cr_assert_not_null(p);
	a = (size_t) (p - s);
	while (a > 0 && s[a - 1] != '\n')
		a--;
	b = (size_t) (p - s);
	while (s[b] && s[b] != '\n')
		b++;
	return (Span) { a, s[b] ? b + 1 : b };
}

Test(rewrite_internals, anchor_guard)
{
	const char *y =
		"services:\n"
		"  db:\n"
		"    restart: &rp unless-stopped   # &notananchor in a comment\n"
		"    labels: [\"a&b\"]\n"
		"  app:\n"
		"    restart: *rp\n";
	Span db = { line_of(y, "  db:").start, line_of(y, "labels").end };

	cr_assert_not(rw_guard_anchors("t.yml", y, strlen(y), db, "db"));

	const char *y2 =
		"services:\n"
		"  db:\n"
		"    restart: &rp unless-stopped\n"
		"    x: *rp\n"
		"  app:\n"
		"    restart: always   # *rp only in a comment? still refused: conservative\n";
	Span db2 = { line_of(y2, "  db:").start, line_of(y2, "x: *rp").end };

	/* the alias is used inside the block only... and in a comment outside:
	 * the guard is conservative and refuses */
	cr_assert_not(rw_guard_anchors("t.yml", y2, strlen(y2), db2, "db"));

	const char *y3 = "services:\n  db:\n    restart: &rp x\n    y: *rp\n  app:\n    image: a\n";
	Span db3 = { line_of(y3, "  db:").start, line_of(y3, "y: *rp").end };

	cr_assert(rw_guard_anchors("t.yml", y3, strlen(y3), db3, "db"));
}

Test(rewrite_internals, encode_rules)
{
	struct { YamlStyle st; bool whole; const char *raw; const char *want; } ok[] = {
		{ YSTYLE_PLAIN, true, "abc", "abc" },
		{ YSTYLE_PLAIN, true, "5432", "5432" },
		{ YSTYLE_PLAIN, true, "0123", "\"0123\"" },
		{ YSTYLE_PLAIN, true, "yes", "\"yes\"" },
		{ YSTYLE_PLAIN, true, "Null", "\"Null\"" },
		{ YSTYLE_PLAIN, true, "1.5", "\"1.5\"" },
		{ YSTYLE_PLAIN, true, "12:30", "\"12:30\"" },
		{ YSTYLE_PLAIN, true, "${X:?missing in .env}", "${X:?missing in .env}" },
		{ YSTYLE_PLAIN, true, "a\"b\\c #d", "\"a\\\"b\\\\c #d\"" },
		{ YSTYLE_PLAIN, false, "${X:?missing in .env}", "${X:?missing in .env}" },
		{ YSTYLE_SINGLE, false, "it's", "it''s" },
		{ YSTYLE_DOUBLE, false, "q\"b\\", "q\\\"b\\\\" },
	};
	struct { YamlStyle st; bool whole; const char *raw; } bad[] = {
		{ YSTYLE_PLAIN, false, "a #b" },
		{ YSTYLE_PLAIN, false, "a: b" },
		{ YSTYLE_PLAIN, false, "ends:" },
		{ YSTYLE_PLAIN, false, "" },
		{ YSTYLE_DOUBLE, false, "new\nline" },
		{ YSTYLE_LITERAL, false, "x" },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
	{
		StrBuf o = STRBUF_INIT;

		cr_assert(rw_encode_in_scalar(ok[i].st, ok[i].whole, ok[i].raw, &o), "%s", ok[i].raw);
		cr_assert_str_eq(sb_str(&o), ok[i].want);
		sb_free(&o);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		StrBuf o = STRBUF_INIT;

		cr_assert_not(rw_encode_in_scalar(bad[i].st, bad[i].whole, bad[i].raw, &o), "%s",
					  bad[i].raw);
		sb_free(&o);
	}

	StrBuf p = STRBUF_INIT;

	cr_assert(rw_pct_encode("a-b_c.d~e f@g:h/i%j$", &p));
	cr_assert_str_eq(sb_str(&p), "a-b_c.d~e%20f%40g%3Ah%2Fi%25j%24");
	sb_reset(&p);
	cr_assert(rw_compose_escape("a$b$$c", &p));
	cr_assert_str_eq(sb_str(&p), "a$$b$$$$c");
	sb_free(&p);
}

Test(rewrite_internals, scalar_decode)
{
	struct { const char *in; const char *out; } ok[] = {
		{ "plain value", "plain value" },
		{ "'it''s'", "it's" },
		{ "\"a\\\"b\\\\c\\tz\\x41\"", "a\"b\\c\tzA" },
		{ "''", "" },
	};
	const char *bad[] = { "'a'b'", "\"a\\u00e9\"", "|\n  x\n", "'two\nlines'" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
	{
		StrBuf o = STRBUF_INIT;

		cr_assert(rw_scalar_decode(ok[i].in, strlen(ok[i].in), &o), "%s", ok[i].in);
		cr_assert_str_eq(sb_str(&o), ok[i].out);
		sb_free(&o);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		StrBuf o = STRBUF_INIT;

		cr_assert_not(rw_scalar_decode(bad[i], strlen(bad[i]), &o), "%s", bad[i]);
		sb_free(&o);
	}
}

Test(rewrite_internals, reindent_keeps_relative_indentation)
{
	const char *y =
		"    # lead comment at 4\n"
		"      db:   # key at 6\n"
		"        command: |\n"
		"          line one\n"
		"\n"
		"            indented more\n"
		"        image: x\r\n";
	StrBuf o = STRBUF_INIT;

	cr_assert(rw_reindent(y, strlen(y), (Span) { 0, strlen(y) }, 6, 2, "\n", &o));
	cr_assert_str_eq(sb_str(&o),
					 "  # lead comment at 4\n"
					 "  db:   # key at 6\n"
					 "    command: |\n"
					 "      line one\n"
					 "\n"
					 "        indented more\n"
					 "    image: x\n");
	sb_free(&o);
}
