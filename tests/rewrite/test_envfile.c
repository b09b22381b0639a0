/*
 * test_envfile.c — rewrite_env_file_set: one variable set, every other
 * byte kept; values read back by pgfold's own dotenv parser.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/dotenv.h"
#include "pgfold/rewrite.h"

static char *
set(const char *env, const char *key, const char *value)
{
	StrBuf out = STRBUF_INIT;

	cr_assert(rewrite_env_file_set(env, env ? strlen(env) : 0, key, value, &out));
	return sb_steal(&out);
}

static void
assert_reads_back(const char *env, const char *key, const char *value)
{
	Dotenv d;

	cr_assert(dotenv_parse(env, strlen(env), ".env", &d));
	cr_assert_not_null(dotenv_get(&d, key));
	cr_assert_str_eq(dotenv_get(&d, key), value);
	dotenv_free(&d);
}

Test(rewrite_envfile, appends_and_keeps_other_lines)
{
	const char *env = "# stack settings\nPG_HOST=postgres\n\nPG_PASS='s3cr$t'  # admin\n";
	char *got = set(env, "PGFOLD_DOCMOST_DB_PASSWORD", "Abc123xyz");

	cr_assert_str_eq(got, "# stack settings\nPG_HOST=postgres\n\nPG_PASS='s3cr$t'  # admin\n"
						  "PGFOLD_DOCMOST_DB_PASSWORD=Abc123xyz\n");
	assert_reads_back(got, "PGFOLD_DOCMOST_DB_PASSWORD", "Abc123xyz");
	assert_reads_back(got, "PG_PASS", "s3cr$t");
	free(got);
}

Test(rewrite_envfile, no_final_newline_and_empty_file)
{
	char *got = set("A=1", "B", "2");

	cr_assert_str_eq(got, "A=1\nB=2\n");
	free(got);
	got = set("", "B", "2");
	cr_assert_str_eq(got, "B=2\n");
	free(got);
	got = set(NULL, "B", "2");
	cr_assert_str_eq(got, "B=2\n");
	free(got);
}

Test(rewrite_envfile, updates_in_place_keeping_export_and_crlf)
{
	const char *env = "A=1\r\nexport  KEY = old\r\n# KEY=commented\r\nKEYX=other\r\nZ=9\r\n";
	char *got = set(env, "KEY", "new");

	cr_assert_str_eq(got, "A=1\r\nexport KEY=new\r\n# KEY=commented\r\nKEYX=other\r\nZ=9\r\n");
	free(got);

	got = set("A=1\r\n", "B", "2");
	cr_assert_str_eq(got, "A=1\r\nB=2\r\n");
	free(got);
}

Test(rewrite_envfile, duplicates_all_updated)
{
	char *got = set("K=1\nX=2\nK=3\n", "K", "v");

	cr_assert_str_eq(got, "K=v\nX=2\nK=v\n");
	free(got);
}

Test(rewrite_envfile, quotes_values_that_need_it)
{
	char *got = set("", "P", "has space #and $dollar");

	cr_assert_str_eq(got, "P='has space #and $dollar'\n");
	assert_reads_back(got, "P", "has space #and $dollar");
	free(got);
	got = set("", "P", "it's");
	cr_assert_str_eq(got, "P=\"it's\"\n");
	assert_reads_back(got, "P", "it's");
	free(got);
	got = set("", "P", "postgres://u:p@h:5432/d?x=1");
	cr_assert_str_eq(got, "P=postgres://u:p@h:5432/d?x=1\n");
	free(got);
}

Test(rewrite_envfile, refuses_what_it_cannot_write)
{
	StrBuf out = STRBUF_INIT;

	cr_assert_not(rewrite_env_file_set("", 0, "P", "two\nlines", &out));
	cr_assert_not(rewrite_env_file_set("", 0, "P", "it's $X", &out));
	cr_assert_not(rewrite_env_file_set("", 0, "1BAD", "x", &out));
	cr_assert_not(rewrite_env_file_set("", 0, "BAD-KEY", "x", &out));
	cr_assert_eq(out.len, 0);
	sb_free(&out);
}

Test(rewrite_envfile, unset_removes_only_that_key)
{
	const char *env = "# keep\r\nA=1\r\nexport KEY='x'\r\nKEYX=2\r\nKEY=again\r\n# KEY=comment\r\nZ=9";
	StrBuf out = STRBUF_INIT;
	bool removed = false;

	cr_assert(rewrite_env_file_unset(env, strlen(env), "KEY", &out, &removed));
	cr_assert(removed);
	cr_assert_str_eq(sb_str(&out), "# keep\r\nA=1\r\nKEYX=2\r\n# KEY=comment\r\nZ=9");
	sb_reset(&out);
	cr_assert(rewrite_env_file_unset("A=1\n", 4, "KEY", &out, &removed));
	cr_assert_not(removed);
	cr_assert_str_eq(sb_str(&out), "A=1\n");
	sb_free(&out);

	/* set then unset gives the original back */
	char *set_bytes;
	StrBuf s = STRBUF_INIT;

	cr_assert(rewrite_env_file_set("A=1\n", 4, "PGFOLD_X_DB_PASSWORD", "pw", &s));
	set_bytes = sb_steal(&s);
	cr_assert(rewrite_env_file_unset(set_bytes, strlen(set_bytes), "PGFOLD_X_DB_PASSWORD", &out,
									 &removed));
	cr_assert_str_eq(sb_str(&out), "A=1\n");
	free(set_bytes);
	sb_free(&out);
}
