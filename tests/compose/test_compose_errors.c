/*
 * test_compose_errors.c — malformed and hostile input: every failure is one
 * clean `file:line:col: reason` line, never a crash; plus a mutation fuzz of
 * the fixtures (deterministic, so a failure can be replayed).
 */
#include "compose/compose_fixture.h"

#include <criterion/redirect.h>
#include <stdint.h>

#include "pgfold/exitcodes.h"

static void
quiet(void)
{
	log_set_level(LOG_FATAL);
}

TestSuite(compose_errors, .init = quiet);

typedef struct Bad
{
	const char *text;
	const char *where;     /* expected "line:col: " prefix after the path, or NULL */
	const char *reason;    /* substring of the reason */
} Bad;

static void
expect_error(const char *text, size_t len, const char *where, const char *reason)
{
	ComposeFile f;
	char path[512], prefix[600];

	cr_assert_not(parse_text("bad.yml", text, len, &f), "accepted:\n%s", text);
	cr_assert_neq(f.error[0], '\0');
	cr_assert_null(strchr(f.error, '\n'), "multi-line error: %s", f.error);
	fixture_path(path, sizeof(path), "bad.yml");
	cr_assert(str_has_prefix(f.error, path), "%s", f.error);
	if (where != NULL)
	{
		cr_assert(str_format(prefix, sizeof(prefix), "%s:%s", path, where));
		cr_assert(str_has_prefix(f.error, prefix), "want %s..., got %s", prefix, f.error);
	}
	if (reason != NULL)
		cr_assert(strstr(f.error, reason) != NULL, "want \"%s\" in: %s", reason, f.error);
	cr_assert_eq(f.service_count, 0);
	compose_free(&f);
}

Test(compose_errors, malformed_inputs)
{
	static const Bad bad[] = {
		{ "", "1:1: ", "empty file" },
		{ "# only a comment\n", "1:1: ", "empty file" },
		{ "- a list\n", "1:1: ", "not a mapping" },
		{ "just a scalar\n", "1:1: ", "not a mapping" },
		{ "version: '3'\n", "1:1: ", "no `services:`" },
		{ "services: [x]\n", "1:11: ", "`services` is not a mapping" },
		{ "services:\n", "1:10: ", "`services` is not a mapping" },
		{ "a: 1\n---\nb: 2\n", "2:1: ", "more than one YAML document" },
		{ "services:\n\tapp:\n    image: x\n", "2:1: ", "tab" },
		{ "services:\n  a:\n    image: x\n  a:\n    image: y\n", "4:3: ", "duplicate key \"a\"" },
		{ "services:\n  a:\n    image: x\n    image: y\n", "4:5: ", "duplicate key \"image\"" },
		{ "services:\n  a:\n    environment:\n      A: 1\n      A: 2\n", "5:7: ", "duplicate key \"A\"" },
		{ "services:\n  a:\n    depends_on:\n      db: {}\n      db: {}\n", "5:7: ", "duplicate" },
		{ "services: {}\nservices: {}\n", "2:1: ", "duplicate key \"services\"" },
		{ "services:\n  a: 5\n", "2:6: ", "not a mapping" },
		{ "services:\n  a:\n", "2:5: ", "not a mapping" },
		{ "services:\n  a:\n    image: [x]\n", "3:12: ", "must be a string" },
		{ "services:\n  a:\n    environment: 5\n", "3:18: ", "list or a mapping" },
		{ "services:\n  a:\n    environment:\n      - [x]\n", "4:9: ", "must be strings" },
		{ "services:\n  a:\n    environment:\n      - \"A B=1\"\n", "4:9: ", "whitespace" },
		{ "services:\n  a:\n    environment:\n      - =x\n", "4:9: ", "empty environment variable name" },
		{ "services:\n  a:\n    environment:\n      A: [1]\n", "4:10: ", "string, number or null" },
		{ "services:\n  a:\n    depends_on: db\n", "3:17: ", "list or a mapping" },
		{ "services:\n  a:\n    depends_on:\n      db: 1\n", "4:11: ", "condition" },
		{ "services:\n  a:\n    depends_on:\n      - {db: 1}\n", "4:9: ", "service names" },
		{ "services:\n  a:\n    volumes: x\n", "3:14: ", "must be a list" },
		{ "services:\n  a:\n    env_file: missing.env\n", "3:15: ", "missing.env" },
		{ "services:\n  a:\n    env_file: {x: 1}\n", "3:15: ", "env_file" },
		{ "services:\n  a:\n    env_file: ${NOPE:?need NOPE}\n", "3:15: ", "need NOPE" },
		{ "services:\n  a:\n    env_file: etc\n", "3:15: ", "not a file" },
		{ "services:\n  a:\n    image: *nope\n", "3:12: ", "undefined alias" },
		{ "services: {a: [}\n", NULL, "flow" },
		{ "services:\n  ? [a, b]\n  : {}\n", "2:5: ", "keys must be strings" },
		{ "services:\n  a:\n    image: \"\\0\"\n", "3:12: ", "NUL" },
		{ "services:\n  a:\n    image: \"unterminated\n", NULL, "quoted scalar" },
		{ "services:\n  a: &x\n    b: *x\n    image: [\n", NULL, NULL },
		{ "%YAML 9.9\n---\nservices: {}\n", NULL, NULL },
		{ "services:\n  a:\n   image: x\n  b: : :\n", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].text, strlen(bad[i].text), bad[i].where, bad[i].reason);
}

Test(compose_errors, bytes_that_are_not_yaml_text)
{
	static const char nul[] = "services:\n  a:\n    image: x\0y\n";
	static const char bad_utf8[] = "services:\n  a:\n    image: \xff\xfe\n";
	static const char utf16[] = "\xff\xfes\0e\0r\0v\0";
	static const char surrogate[] = "services: {a: {image: \xed\xa0\x80}}\n";
	static const char overlong[] = "services: {a: {image: \xc0\xaf}}\n";
	static const char ctrl[] = "services:\n  a:\n    image: x\x01y\n";

	expect_error(nul, sizeof(nul) - 1, "3:13: ", "NUL");
	expect_error(bad_utf8, sizeof(bad_utf8) - 1, "3:12: ", "UTF-8");
	expect_error(utf16, sizeof(utf16) - 1, "1:1: ", "UTF-8");
	expect_error(surrogate, sizeof(surrogate) - 1, NULL, "UTF-8");
	expect_error(overlong, sizeof(overlong) - 1, NULL, "UTF-8");
	expect_error(ctrl, sizeof(ctrl) - 1, NULL, NULL);
}

Test(compose_errors, size_and_depth_bounds)
{
	size_t n = COMPOSE_MAX_BYTES + 1;
	char *big = malloc(n + 1);

	memset(big, '#', n);
	big[n] = '\0';
	expect_error(big, n, NULL, "larger than");
	free(big);

	StrBuf deep = STRBUF_INIT;

	sb_appends(&deep, "services: {a: {image: x, labels: ");
	for (int i = 0; i < 200; i++)
		sb_appendc(&deep, '[');
	for (int i = 0; i < 200; i++)
		sb_appendc(&deep, ']');
	sb_appends(&deep, "}}\n");
	expect_error(deep.data, deep.len, NULL, "nested deeper");
	sb_free(&deep);

	/* many nodes in one flow sequence */
	StrBuf wide = STRBUF_INIT;

	sb_appends(&wide, "services: {a: {image: x}}\nx-labels: [");
	for (int i = 0; i < 250000; i++)
		sb_appends(&wide, "1,");
	sb_appends(&wide, "1]\n");
	expect_error(wide.data, wide.len, NULL, "YAML nodes");
	sb_free(&wide);
}

Test(compose_errors, big_maps_are_checked_fast, .timeout = 20)
{
	StrBuf s = STRBUF_INIT;
	ComposeFile f;

	sb_appends(&s, "services:\n  a:\n    environment:\n");
	for (int i = 0; i < 60000; i++)
		sb_appendf(&s, "      K%d: v\n", i);
	cr_assert(parse_text("big.yml", s.data, s.len, &f), "%s", f.error);
	cr_assert_eq(f.services[0].env_count, 60000);
	compose_free(&f);

	/* duplicates: the earliest second occurrence is reported */
	sb_appends(&s, "      K59999: again\n      K5: again\n");
	expect_error(s.data, s.len, "60004:7: ", "duplicate key \"K59999\" in environment (first at line 60003)");
	sb_free(&s);
}

Test(compose_errors, one_long_line_is_linear, .timeout = 20)
{
	StrBuf s = STRBUF_INIT;
	ComposeFile f;

	/* ~800 KiB on one line: geometry must not rescan the line per entry */
	sb_appends(&s, "services: {");
	for (int i = 0; i < 12000; i++)
		sb_appendf(&s, "%ss%d: {image: x, environment: [A=1, B=2], depends_on: [s0]}",
				   i ? ", " : "", i);
	sb_appends(&s, "}");
	cr_assert(parse_text("long.yml", s.data, s.len, &f), "%s", f.error);
	cr_assert_eq(f.service_count, 12000);
	cr_assert(f.services[11999].flow);
	SPAN_EXPECT(f.bytes, f.len, f.services[11999].env[1].cut, ", B=2");
	compose_free(&f);
	sb_free(&s);
}

Test(compose_errors, anchor_and_alias_counts_are_bounded, .timeout = 20)
{
	StrBuf s = STRBUF_INIT;

	sb_appends(&s, "services: {a: {image: x}}\nx-list:\n");
	for (int i = 0; i < 1100; i++)
		sb_appendf(&s, "  - &a%d %d\n", i, i);
	expect_error(s.data, s.len, NULL, "anchors");

	sb_reset(&s);
	sb_appends(&s, "x-a: &a 1\nservices: {a: {image: x}}\nx-list:\n");
	for (int i = 0; i < 10001; i++)
		sb_appends(&s, "  - *a\n");
	expect_error(s.data, s.len, NULL, "aliases");
	sb_free(&s);
}

Test(compose_errors, alias_bombs_are_not_expanded)
{
	StrBuf s = STRBUF_INIT;

	sb_appends(&s, "x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'z'; c++)
		sb_appendf(&s, "x-%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c,
				   c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
	sb_appends(&s, "services:\n  a:\n    image: x\n    labels: *z\n");

	ComposeFile f;

	cr_assert(parse_text("bomb.yml", s.data, s.len, &f), "%s", f.error);
	cr_assert(f.services[0].uses_alias);
	compose_free(&f);
	sb_free(&s);
}

Test(compose_errors, missing_file)
{
	ComposeFile f;

	exit_hint_reset();
	cr_assert_not(compose_load("/nonexistent/pgfold/x.yml", NULL, NULL, &f));
	cr_assert(strstr(f.error, "/nonexistent/pgfold/x.yml") != NULL, "%s", f.error);
	cr_assert_eq(exit_hint_get(), EXIT_USAGE);

	char dir[512];

	fixture_path(dir, sizeof(dir), "etc");
	cr_assert_not(compose_load(dir, NULL, NULL, &f));
	cr_assert(strstr(f.error, "not a regular file") != NULL, "%s", f.error);
}

Test(compose_errors, one_logged_line_unless_quiet)
{
	ComposeFile f;
	ComposeOptions q = { .dialect = INTERP_COMPOSE_V2, .quiet = true };

	log_set_level(LOG_ERROR);
	cr_redirect_stderr();
	cr_assert_not(compose_parse_opts("q.yml", "services: 1\n", 12, NULL, NULL, &q, &f));
	cr_assert_not(compose_parse("x.yml", "services: 1\n", 12, NULL, NULL, &f));
	fflush(stderr);
	cr_assert_stderr_eq_str("pgfold: error: x.yml:1:11: `services` is not a mapping\n");
}

/* ---- mutation fuzz ---------------------------------------------------- */

static uint64_t
rnd(uint64_t *state)
{
	/* xorshift64*: deterministic, seeded per fixture */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

static const char *const tokens[] = {
	"\n", "\r\n", "\t", " ", "#", ":", "- ", "{", "}", "[", "]", ",", "\"", "'", "&a ", "*a",
	"<<: *a\n", "!!str ", "---\n", "...\n", "${", "}", "$$", "|\n", ">-\n", "\\", "\xc3\xa9",
	"\xf0\x9f\x90\x98", "\xff", "\0", "? ", "%TAG ! x\n", "  ", "=", "null", "~",
};

static void
mutate(char *buf, size_t *len, size_t cap, uint64_t *st)
{
	int ops = 1 + (int) (rnd(st) % 4);

	for (int k = 0; k < ops && *len > 0; k++)
	{
		size_t at = rnd(st) % *len;

		switch (rnd(st) % 5)
		{
			case 0:             /* flip a byte */
				buf[at] = (char) (rnd(st) & 0xff);
				break;
			case 1:             /* delete a run */
			{
				size_t n = 1 + rnd(st) % 16;

				if (n > *len - at)
					n = *len - at;
				memmove(buf + at, buf + at + n, *len - at - n);
				*len -= n;
				break;
			}
			case 2:             /* insert a YAML-significant token */
			{
				size_t t = rnd(st) % (sizeof(tokens) / sizeof(tokens[0]));
				size_t n = tokens[t][0] == '\0' ? 1 : strlen(tokens[t]);  /* the NUL token */

				if (*len + n >= cap)
					break;
				memmove(buf + at + n, buf + at, *len - at);
				memcpy(buf + at, tokens[t], n);
				*len += n;
				break;
			}
			case 3:             /* truncate */
				*len = at;
				break;
			default:            /* duplicate a run (duplicate keys, nesting) */
			{
				size_t n = 1 + rnd(st) % 64;

				if (n > *len - at)
					n = *len - at;
				if (*len + n >= cap)
					break;
				memmove(buf + at + n, buf + at, *len - at);
				*len += n;
				break;
			}
		}
	}
}

static void
check_result(const ComposeFile *f, bool ok)
{
	if (!ok)
	{
		cr_assert_neq(f->error[0], '\0');
		cr_assert_null(strchr(f->error, '\n'));
		return;
	}
	for (size_t i = 0; i < f->service_count; i++)
	{
		const ComposeService *s = &f->services[i];

		cr_assert(s->block.start <= s->block.end && s->block.end <= f->len);
		cr_assert(s->lead.start <= s->lead.end && s->lead.end <= f->len);
		for (size_t j = 0; j < s->env_count; j++)
		{
			cr_assert(s->env[j].item.start <= s->env[j].item.end && s->env[j].item.end <= f->len);
			cr_assert(s->env[j].value.start <= s->env[j].value.end && s->env[j].value.end <= f->len);
			cr_assert(s->env[j].cut.start <= s->env[j].cut.end && s->env[j].cut.end <= f->len);
		}
		for (size_t j = 0; j < s->depends_count; j++)
			cr_assert(s->depends[j].cut.start <= s->depends[j].cut.end && s->depends[j].cut.end <= f->len);
	}
}

Test(compose_errors, mutation_fuzz, .timeout = 120)
{
	long rounds = 300;
	int accepted = 0, rejected = 0;

	if (getenv("PGFOLD_FUZZ_ROUNDS") != NULL)
		cr_assert(str_to_long(getenv("PGFOLD_FUZZ_ROUNDS"), 1, 1000000, &rounds));

	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		size_t len0;
		char *orig = read_fixture(fixture_name(n), &len0);
		size_t cap = len0 * 2 + 256;
		char *buf = malloc(cap);
		uint64_t st = 0x9E3779B97F4A7C15ULL ^ (n + 1);

		for (long r = 0; r < rounds; r++)
		{
			size_t len = len0;
			ComposeFile f;

			memcpy(buf, orig, len0);
			mutate(buf, &len, cap, &st);

			bool ok = parse_text(fixture_name(n), buf, len, &f);

			check_result(&f, ok);
			ok ? accepted++ : rejected++;
			compose_free(&f);
		}
		free(buf);
		free(orig);
	}
	/* Both outcomes must be exercised for the fuzz to mean anything. */
	cr_assert_gt(accepted, 50);
	cr_assert_gt(rejected, 50);
}

Test(compose_errors, random_garbage, .timeout = 60)
{
	uint64_t st = 42;
	char buf[4096];

	for (int r = 0; r < 300; r++)
	{
		size_t len = rnd(&st) % sizeof(buf);
		ComposeFile f;
		bool printable = r % 2 == 0;

		for (size_t i = 0; i < len; i++)
			buf[i] = printable ? " :-#\n{}[],'\"&*!|>abc$"[rnd(&st) % 22] : (char) (rnd(&st) & 0xff);

		bool ok = parse_text("garbage.yml", buf, len, &f);

		check_result(&f, ok);
		compose_free(&f);
	}
}
