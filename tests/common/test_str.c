/*
 * test_str.c — bounded string helpers.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pgfold/str.h"

Test(str, copy_reports_truncation)
{
	char buf[4];

	cr_assert(str_copy(buf, sizeof(buf), "abc"));
	cr_assert_str_eq(buf, "abc");
	cr_assert_not(str_copy(buf, sizeof(buf), "abcd"));
	cr_assert_str_eq(buf, "abc");
}

Test(str, format_reports_truncation)
{
	char buf[8];

	cr_assert(str_format(buf, sizeof(buf), "%d-%s", 42, "x"));
	cr_assert_str_eq(buf, "42-x");
	cr_assert_not(str_format(buf, sizeof(buf), "%s", "123456789"));
}

Test(str, to_long_is_strict)
{
	long v = 0;

	cr_assert(str_to_long("5432", 1, 65535, &v));
	cr_assert_eq(v, 5432);
	cr_assert_not(str_to_long("5432x", 1, 65535, &v));
	cr_assert_not(str_to_long("", 1, 65535, &v));
	cr_assert_not(str_to_long("70000", 1, 65535, &v));
	cr_assert_not(str_to_long(" 1", 1, 65535, &v));
}

Test(str, strbuf_grows_and_formats)
{
	StrBuf sb = STRBUF_INIT;

	cr_assert_str_eq(sb_str(&sb), "");
	for (int i = 0; i < 1000; i++)
		cr_assert(sb_appendf(&sb, "%04d", i));
	cr_assert_eq(sb.len, 4000);
	cr_assert(strncmp(sb.data + 3996, "0999", 4) == 0);
	sb_reset(&sb);
	cr_assert_eq(sb.len, 0);
	cr_assert(sb_append(&sb, "a\0b", 3));
	cr_assert_eq(sb.len, 3);
	sb_free(&sb);
}

static size_t released, released_dirty;

static void
on_release(const char *block, size_t size)
{
	released++;
	for (size_t i = 0; i < size; i++)
		if (block[i] != '\0')
		{
			released_dirty++;
			return;
		}
}

/* A buffer holding a password (the passfile line, .env text) grows: each
 * block it leaves is all zeroes when it goes back to the allocator, and
 * the content moved intact. */
Test(str, strbuf_growth_wipes_the_block_it_leaves)
{
	StrBuf sb = STRBUF_INIT;

	sb_set_release_hook(on_release);
	sb_appends(&sb, "localhost:5432:*:admin:");
	for (int i = 0; i < 300; i++)
		sb_appends(&sb, "s3cr3t-");
	sb_set_release_hook(NULL);
	cr_assert_geq(released, 5, "only %zu blocks left behind", released);
	cr_assert_eq(released_dirty, 0, "%zu of %zu old blocks still hold bytes", released_dirty,
				 released);
	cr_assert_eq(sb.len, 23 + 300 * 7);
	cr_assert(strncmp(sb.data + 23 + 299 * 7, "s3cr3t-", 8) == 0);
	sb_free_secret(&sb);
}
