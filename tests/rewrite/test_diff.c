/*
 * test_diff.c — rewrite_unified_diff: same hunks as GNU `diff -u` on plain
 * cases, and on random edits a patch that `patch` applies to give exactly
 * the new bytes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "pgfold/rewrite.h"

static char *
udiff(const char *a, const char *b)
{
	StrBuf out = STRBUF_INIT;

	cr_assert(rewrite_unified_diff(a, a ? strlen(a) : 0, b, strlen(b), "a/services/x.yml",
								   "b/services/x.yml", &out));
	return out.data ? sb_steal(&out) : xstrdup("");
}

static void
write_file(const char *path, const char *s, size_t n)
{
	FILE *fp = fopen(path, "wb");

	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(s, 1, n, fp), n);
	cr_assert_eq(fclose(fp), 0);
}

static char *
read_file(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	StrBuf sb = STRBUF_INIT;
	char buf[4096];
	size_t r;

	cr_assert_not_null(fp, "%s", path);
	while ((r = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_append(&sb, buf, r);
	fclose(fp);
	*n = sb.len;
	return sb.data ? sb_steal(&sb) : xstrdup("");
}

static char *
make_tmpdir(void)
{
	char tmpl[] = "/tmp/pgfold-diff-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	return xstrdup(tmpl);
}

/* GNU diff's hunks (headers dropped) for the same two texts. */
static char *
gnu_hunks(const char *dir, const char *a, const char *b)
{
	StrBuf path = STRBUF_INIT, out = STRBUF_INIT;

	sb_appendf(&path, "%s/old", dir);
	write_file(path.data, a, strlen(a));
	sb_reset(&path);
	sb_appendf(&path, "%s/new", dir);
	write_file(path.data, b, strlen(b));
	lab_sh_capture(&out, "cd %s && diff -u old new | tail -n +3", dir);
	sb_free(&path);
	return out.data ? sb_steal(&out) : xstrdup("");
}

static const char *
hunks_of(const char *ours)
{
	const char *p = strstr(ours, "\n+++ ");

	cr_assert_not_null(p);
	return strchr(p + 1, '\n') + 1;
}

Test(rewrite_diff, identical_is_empty)
{
	char *d = udiff("a\nb\n", "a\nb\n");

	cr_assert_str_eq(d, "");
	free(d);
}

Test(rewrite_diff, headers_and_new_file)
{
	char *d = udiff(NULL, "x: 1\ny: 2\n");

	cr_assert_str_eq(d, "--- /dev/null\n+++ b/services/x.yml\n@@ -0,0 +1,2 @@\n+x: 1\n+y: 2\n");
	free(d);
}

/* A file is labelled by its path under the stack root, as plan shows it;
 * one outside the root (or a root that is only a prefix of its name) by
 * its whole path. */
Test(rewrite_diff, file_diff_labels_the_path_under_the_root)
{
	StrBuf out = STRBUF_INIT;

	cr_assert(rewrite_file_diff("/srv/stack", "/srv/stack/services/x.yml", "a\n", 2, "b\n", 2,
								&out));
	cr_assert_str_eq(sb_str(&out),
					 "--- a/services/x.yml\n+++ b/services/x.yml\n@@ -1 +1 @@\n-a\n+b\n");
	sb_reset(&out);
	cr_assert(rewrite_file_diff("/srv/stack", "/srv/stack2/x.yml", "a\n", 2, "b\n", 2, &out));
	cr_assert_str_eq(sb_str(&out),
					 "--- a//srv/stack2/x.yml\n+++ b//srv/stack2/x.yml\n@@ -1 +1 @@\n-a\n+b\n");
	sb_reset(&out);
	cr_assert(rewrite_file_diff("/srv/stack", "/srv/stack/x.yml", "a\n", 2, "a\n", 2, &out));
	cr_assert_str_eq(sb_str(&out), "");
	sb_free(&out);
}

Test(rewrite_diff, matches_gnu_diff_on_plain_cases)
{
	static const char *const cases[][2] = {
		{ "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n",
		  "1\n2\n3\n4\n5\nSIX\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n18\n19\n20\n" },
		{ "1\n2\n3\n4\n5\n6\n7\n8\n", "0\n1\n2\n3\n4\n5\n6\n7\n8\n" },
		{ "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n" },
		{ "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\n7\n8" },
		{ "1\n2\n3", "1\n2\n4" },
		{ "only\n", "" },
		{ "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nB\nc\nd\ne\nf\ng\nh\nI\nj\n" },       /* merged hunk */
		{ "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n", "A\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\n" }, /* two hunks */
		{ "x\r\ny\r\nz\r\n", "x\r\ny2\r\nz\r\n" },
	};
	char *dir = make_tmpdir();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char *ours = udiff(cases[i][0], cases[i][1]);
		char *gnu = gnu_hunks(dir, cases[i][0], cases[i][1]);

		cr_assert(strncmp(ours, "--- a/services/x.yml\n+++ b/services/x.yml\n", 42) == 0);
		cr_assert_str_eq(hunks_of(ours), gnu, "case %zu:\nours:\n%s\ngnu:\n%s", i, ours, gnu);
		free(ours);
		free(gnu);
	}
	lab_sh("rm -rf %s", dir);
	free(dir);
}

Test(rewrite_diff, random_edits_patch_back_exactly)
{
	char *dir = make_tmpdir();
	unsigned seed = 12345;

	for (int round = 0; round < 60; round++)
	{
		StrBuf a = STRBUF_INIT, b = STRBUF_INIT;
		int n = 1 + (int) (rand_r(&seed) % 40);

		for (int i = 0; i < n; i++)
		{
			int r = (int) (rand_r(&seed) % 10);
			char line[32];

			snprintf(line, sizeof(line), "line %d\n", (int) (rand_r(&seed) % 6));
			sb_appends(&a, line);
			if (r == 0)
				continue;                       /* deleted */
			if (r == 1)
				sb_appends(&b, "changed\n");
			else
				sb_appends(&b, line);
			if (r == 2)
				sb_appends(&b, "inserted\n");
		}
		if (round % 7 == 0 && b.len > 0)
			b.data[--b.len] = '\0';             /* no final newline */

		StrBuf d = STRBUF_INIT, p = STRBUF_INIT;
		size_t got_len;

		cr_assert(rewrite_unified_diff(a.data, a.len, sb_str(&b), b.len, "a/f", "b/f", &d));
		sb_appendf(&p, "%s/f", dir);
		write_file(p.data, a.data, a.len);
		sb_appends(&p, ".patch");
		write_file(p.data, sb_str(&d), d.len);
		if (d.len > 0)
			cr_assert_eq(lab_sh("cd %s && patch -s -p1 --no-backup-if-mismatch f < f.patch", dir), 0,
					 "round %d:\n%s", round, sb_str(&d));

		sb_reset(&p);
		sb_appendf(&p, "%s/f", dir);

		char *got = read_file(p.data, &got_len);
		cr_assert_eq(got_len, b.len, "round %d", round);
		cr_assert(memcmp(got, sb_str(&b), b.len) == 0, "round %d", round);
		free(got);
		sb_free(&a);
		sb_free(&b);
		sb_free(&d);
		sb_free(&p);
	}
	lab_sh("rm -rf %s", dir);
	free(dir);
}
