/*
 * test_dotenv.c — .env parsing as docker-compose 1.29 (python-dotenv 0.21)
 * reads it; expectations checked against `docker-compose config`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgfold/dotenv.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

static Dotenv
parse_ok(const char *text)
{
	Dotenv env;

	cr_assert(dotenv_parse(text, strlen(text), "t.env", &env), "parse failed: %s", text);
	return env;
}

static void
parse_fails(const char *text)
{
	Dotenv env;

	cr_assert_not(dotenv_parse(text, strlen(text), "t.env", &env), "should fail: %s", text);
	cr_assert_eq(env.count, 0);
	dotenv_free(&env);
}

static void
quiet(void)
{
	log_set_level(LOG_FATAL);
	unsetenv("DOTENV_T_X");
}

TestSuite(config_dotenv, .init = quiet);

Test(config_dotenv, basic_and_export)
{
	Dotenv env = parse_ok("A=1\nexport B=two\n  C = three  \nexport\tD=4\n");

	cr_assert_eq(env.count, 4);
	cr_assert_str_eq(dotenv_get(&env, "A"), "1");
	cr_assert_str_eq(dotenv_get(&env, "B"), "two");
	cr_assert_str_eq(dotenv_get(&env, "C"), "three");
	cr_assert_str_eq(dotenv_get(&env, "D"), "4");
	cr_assert_eq(env.items[2].line, 3);
	cr_assert_null(dotenv_get(&env, "E"));
	dotenv_free(&env);
}

Test(config_dotenv, key_named_export)
{
	Dotenv env = parse_ok("export=1\n");

	cr_assert_str_eq(dotenv_get(&env, "export"), "1");
	dotenv_free(&env);
}

Test(config_dotenv, blank_and_comment_lines)
{
	Dotenv env = parse_ok("\n# comment\n   # indented comment\n\nA=1 # trailing\n\n");

	cr_assert_eq(env.count, 1);
	cr_assert_str_eq(dotenv_get(&env, "A"), "1");
	cr_assert_eq(env.items[0].line, 5);
	dotenv_free(&env);
}

Test(config_dotenv, unquoted_comment_rules)
{
	Dotenv env = parse_ok("A=a#b # c\nB=#x\nC= #y\nD=x\t# tab comment\nE=  spaced value  \n");

	cr_assert_str_eq(dotenv_get(&env, "A"), "a#b");
	cr_assert_str_eq(dotenv_get(&env, "B"), "#x");
	cr_assert_str_eq(dotenv_get(&env, "C"), "#y");
	cr_assert_str_eq(dotenv_get(&env, "D"), "x");
	cr_assert_str_eq(dotenv_get(&env, "E"), "spaced value");
	dotenv_free(&env);
}

Test(config_dotenv, single_quotes_are_literal)
{
	setenv("DOTENV_T_X", "expanded", 1);

	Dotenv env = parse_ok("A='x # not a comment'\nB='${DOTENV_T_X} \\n'\nC='it\\'s'  # c\n");

	cr_assert_str_eq(dotenv_get(&env, "A"), "x # not a comment");
	cr_assert_str_eq(dotenv_get(&env, "B"), "${DOTENV_T_X} \\n");
	cr_assert_str_eq(dotenv_get(&env, "C"), "it's");
	cr_assert_eq(env.items[0].quote, '\'');
	dotenv_free(&env);
}

Test(config_dotenv, double_quotes_escape_and_expand)
{
	setenv("DOTENV_T_X", "expanded", 1);

	Dotenv env = parse_ok("A=\"a\\nb\\t\\\"q\\\" \\\\ \\x\"\nB=\"${DOTENV_T_X}#1\" # c\n");

	cr_assert_str_eq(dotenv_get(&env, "A"), "a\nb\t\"q\" \\ \\x");
	cr_assert_str_eq(dotenv_get(&env, "B"), "expanded#1");
	cr_assert_eq(env.items[1].quote, '"');
	dotenv_free(&env);
}

Test(config_dotenv, multiline_quoted_value_keeps_line_numbers)
{
	Dotenv env = parse_ok("A=\"line1\nline2\"\nB=2\n");

	cr_assert_str_eq(dotenv_get(&env, "A"), "line1\nline2");
	cr_assert_eq(env.items[1].line, 3);
	dotenv_free(&env);
}

Test(config_dotenv, bare_key_is_declared_without_value)
{
	Dotenv env = parse_ok("A=1\nLONE\nEMPTY=\nLONE2 # comment\n");

	cr_assert_eq(env.count, 4);
	cr_assert_null(env.items[1].value);
	cr_assert_null(dotenv_get(&env, "LONE"));
	cr_assert_str_eq(dotenv_get(&env, "EMPTY"), "");
	cr_assert_null(dotenv_get(&env, "LONE2"));
	dotenv_free(&env);
}

Test(config_dotenv, bare_key_overrides_earlier_value)
{
	Dotenv env = parse_ok("A=1\nA\n");

	cr_assert_null(dotenv_get(&env, "A"));
	dotenv_free(&env);
}

Test(config_dotenv, last_wins)
{
	Dotenv env = parse_ok("A=1\nA=2\n");

	cr_assert_str_eq(dotenv_get(&env, "A"), "2");
	dotenv_free(&env);
}

Test(config_dotenv, crlf_and_bom)
{
	Dotenv env = parse_ok("\xEF\xBB\xBF" "A=1\r\nB=\"two\"\r\nC=three # c\r\n\r\nD='x'\r\n");

	cr_assert_eq(env.count, 4);
	cr_assert_str_eq(dotenv_get(&env, "A"), "1");
	cr_assert_str_eq(dotenv_get(&env, "B"), "two");
	cr_assert_str_eq(dotenv_get(&env, "C"), "three");
	cr_assert_str_eq(dotenv_get(&env, "D"), "x");
	cr_assert_eq(env.items[3].line, 5);
	dotenv_free(&env);
}

Test(config_dotenv, lone_cr_ends_lines)
{
	Dotenv env = parse_ok("A=1\rB=2\r");

	cr_assert_str_eq(dotenv_get(&env, "A"), "1");
	cr_assert_str_eq(dotenv_get(&env, "B"), "2");
	cr_assert_eq(env.items[1].line, 2);
	dotenv_free(&env);
}

Test(config_dotenv, quoted_key_and_punctuation)
{
	Dotenv env = parse_ok("'QUOTED'=1\nA.B-c_d=2\n");

	cr_assert_str_eq(dotenv_get(&env, "QUOTED"), "1");
	cr_assert_str_eq(dotenv_get(&env, "A.B-c_d"), "2");
	dotenv_free(&env);
}

Test(config_dotenv, interpolation_like_python_dotenv)
{
	setenv("DOTENV_T_X", "fromenv", 1);

	Dotenv env = parse_ok("EMPTY=\n"
						  "A=${EMPTY:-x}\n"           /* :- acts like - : stays empty */
						  "B=$HOME-${NOPE_T:-dflt}\n" /* $NAME is literal */
						  "C=${DOTENV_T_X}\n"
						  "DOTENV_T_X=fromfile\n"
						  "D=${DOTENV_T_X}\n"         /* earlier lines beat the env */
						  "E=$${C}\n"
						  "F=${UNCLOSED\n");

	cr_assert_str_eq(dotenv_get(&env, "A"), "");
	cr_assert_str_eq(dotenv_get(&env, "B"), "$HOME-dflt");
	cr_assert_str_eq(dotenv_get(&env, "C"), "fromenv");
	cr_assert_str_eq(dotenv_get(&env, "D"), "fromfile");
	cr_assert_str_eq(dotenv_get(&env, "E"), "$fromenv");
	cr_assert_str_eq(dotenv_get(&env, "F"), "${UNCLOSED");
	dotenv_free(&env);
}

Test(config_dotenv, errors_carry_file_and_line)
{
	parse_fails("A=1\n=novalue\n");
	parse_fails("A=1\nKEY VALUE\n");
	parse_fails("BAD$KEY=1\n");
	parse_fails("A=\"unterminated\nB=2\n");
	parse_fails("A='unterminated\n");
	parse_fails("A=\"x\" trailing\n");
}

Test(config_dotenv, rejects_nul_and_bad_utf8)
{
	Dotenv env;
	static const char nul[] = "A=1\nB=x\0y\n";

	cr_assert_not(dotenv_parse(nul, sizeof(nul) - 1, "t.env", &env));
	cr_assert_not(dotenv_parse("A=\xff\n", 4, "t.env", &env));
	cr_assert_not(dotenv_parse("A=\xc3\n", 4, "t.env", &env));
	cr_assert_not(dotenv_parse("A=\xed\xa0\x80\n", 6, "t.env", &env)); /* surrogate */
	cr_assert(dotenv_parse("A=caf\xc3\xa9\n", 7, "t.env", &env));
	cr_assert_str_eq(dotenv_get(&env, "A"), "caf\xc3\xa9");
	dotenv_free(&env);
}

Test(config_dotenv, error_sets_usage_hint)
{
	Dotenv env;

	exit_hint_reset();
	cr_assert_not(dotenv_parse("not valid\n", 10, "t.env", &env));
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);
}

Test(config_dotenv, key_too_long)
{
	char buf[600];

	memset(buf, 'K', 300);
	memcpy(buf + 300, "=1\n", 4);
	parse_fails(buf);
}

Test(config_dotenv, huge_value_is_bounded)
{
	size_t n = DOTENV_MAX_BYTES + 10;
	char *big = malloc(n + 1);
	Dotenv env;

	memset(big, 'x', n);
	memcpy(big, "A=", 2);
	big[n] = '\0';
	cr_assert_not(dotenv_parse(big, n, "t.env", &env));
	/* Just under the bound parses. */
	big[DOTENV_MAX_BYTES - 1] = '\0';
	cr_assert(dotenv_parse(big, DOTENV_MAX_BYTES - 1, "t.env", &env));
	cr_assert_eq(strlen(dotenv_get(&env, "A")), DOTENV_MAX_BYTES - 3);
	dotenv_free(&env);
	free(big);
}

Test(config_dotenv, load_missing_and_present)
{
	char dir[] = "/tmp/pgfold-dotenv-XXXXXX";
	char path[256];
	Dotenv env;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.env", dir);
	cr_assert(dotenv_load(path, true, &env));
	cr_assert_eq(env.count, 0);
	dotenv_free(&env);
	cr_assert_not(dotenv_load(path, false, &env));

	FILE *f = fopen(path, "w");

	fputs("PG_USER=admin\n", f);
	fclose(f);
	cr_assert(dotenv_load(path, false, &env));
	cr_assert_str_eq(dotenv_get(&env, "PG_USER"), "admin");
	cr_assert_str_eq(env.origin, path);
	dotenv_free(&env);

	/* A directory is not an env file. */
	cr_assert_not(dotenv_load(dir, true, &env));
	unlink(path);
	rmdir(dir);
}

Test(config_dotenv, free_is_idempotent)
{
	Dotenv env = parse_ok("A=1\n");

	dotenv_free(&env);
	dotenv_free(&env);
	cr_assert_eq(env.count, 0);
}
