/*
 * test_interpolate.c — compose interpolation in its three dialects.
 * The v1 rows were checked against Debian's docker-compose 1.29.2 `config`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pgfold/dotenv.h"

/* SET=value, EMPTY="", PG_USER=admin, U=docmost; everything else unset. */
static const char *
table_lookup(void *ctx, const char *name)
{
	(void) ctx;
	if (strcmp(name, "SET") == 0)
		return "value";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (strcmp(name, "PG_USER") == 0)
		return "admin";
	if (strcmp(name, "U") == 0)
		return "docmost";
	return NULL;
}

typedef struct Row
{
	const char *in;
	const char *v2;     /* NULL = error */
	const char *v1;     /* NULL = error */
} Row;

static const Row rows[] = {
	{ "plain text", "plain text", "plain text" },
	{ "", "", "" },
	{ "$SET", "value", "value" },
	{ "${SET}", "value", "value" },
	{ "x${SET}y$SET.z", "xvaluey" "value.z", "xvaluey" "value.z" },
	{ "$UNSET|${UNSET}", "|", "|" },
	{ "$$", "$", "$" },
	{ "a$$b", "a$b", "a$b" },
	{ "$${SET}", "${SET}", "${SET}" },
	{ "${UNSET:-def}", "def", "def" },
	{ "${EMPTY:-def}", "def", "def" },
	{ "${SET:-def}", "value", "value" },
	{ "${UNSET-def}", "def", "def" },
	{ "${EMPTY-def}", "", "" },
	{ "${UNSET:-}", "", "" },
	{ "${SET:?msg}", "value", "value" },
	{ "${UNSET:?msg}", NULL, NULL },
	{ "${EMPTY:?msg}", NULL, NULL },
	{ "${EMPTY?msg}", "", "" },
	{ "${UNSET?msg}", NULL, NULL },
	{ "${UNSET:?}", NULL, NULL },
	{ "${SET:+alt}", "alt", NULL },
	{ "${EMPTY:+alt}", "", NULL },
	{ "${UNSET:+alt}", "", NULL },
	{ "${EMPTY+alt}", "alt", NULL },
	{ "${UNSET+alt}", "", NULL },
	/* nesting: v2 expands it, docker-compose 1.29 leaves a literal */
	{ "${SERVICE_VAR:-${PG_USER:-admin}}", "admin", "${PG_USER:-admin}" },
	{ "${SERVICE_VAR:-${NOPE:-admin}}", "admin", "${NOPE:-admin}" },
	{ "${SET:-${PG_USER}}", "value", "value}" },
	{ "${A:-${B:-${C:-${D:-deep}}}}", "deep", "${B:-${C:-${D:-deep}}}" },
	{ "${UNSET:-a}b}", "ab}", "ab}" },
	/* docmost's real DATABASE_URL with its stray trailing brace */
	{ "postgresql://${U:-docmost}:${UNSET_PW}@${UNSET_C:-docmost-db}:5432/docmost?schema=public}",
	  "postgresql://docmost:@docmost-db:5432/docmost?schema=public}",
	  "postgresql://docmost:@docmost-db:5432/docmost?schema=public}" },
	{ "pg://h:5432?u=${U}&p=x&d=db", "pg://h:5432?u=docmost&p=x&d=db",
	  "pg://h:5432?u=docmost&p=x&d=db" },
	{ "}", "}", "}" },
	/* errors */
	{ "$", NULL, NULL },
	{ "abc$", NULL, NULL },
	{ "$1", NULL, NULL },
	{ "$ x", NULL, NULL },
	{ "${", NULL, NULL },
	{ "${SET", NULL, NULL },
	{ "${SET:-abc", NULL, NULL },
	{ "${}", NULL, NULL },
	{ "${1A}", NULL, NULL },
	{ "${SET:x}", NULL, NULL },
	{ "${SET#x}", NULL, NULL },
	{ "${UNSET:-${OTHER}", NULL, "${OTHER" },
};

static void
check(const char *in, InterpDialect d, const char *want)
{
	StrBuf out = STRBUF_INIT;
	char err[256];
	bool ok = dotenv_interpolate_dialect(in, strlen(in), d, table_lookup, NULL,
										 &out, err, sizeof(err));

	if (want == NULL)
	{
		cr_assert_not(ok, "dialect %d: \"%s\" should fail, gave \"%s\"", d, in, sb_str(&out));
		cr_assert_neq(err[0], '\0', "an error needs a reason");
		cr_assert_null(strchr(err, '\n'));
	}
	else
	{
		cr_assert(ok, "dialect %d: \"%s\" failed: %s", d, in, err);
		cr_assert_str_eq(sb_str(&out), want, "dialect %d: \"%s\"", d, in);
	}
	sb_free(&out);
}

/* One test over the table: Criterion re-executes its workers, so params
 * holding pointers to static strings would not survive. */
Test(config_interpolate, table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
	{
		check(rows[i].in, INTERP_COMPOSE_V2, rows[i].v2);
		check(rows[i].in, INTERP_COMPOSE_V1, rows[i].v1);
	}
}

Test(config_interpolate, default_entry_point_is_v2)
{
	StrBuf out = STRBUF_INIT;
	char err[128];
	const char *in = "${SERVICE_VAR:-${PG_USER:-x}}";

	cr_assert(dotenv_interpolate(in, strlen(in), table_lookup, NULL, &out, err, sizeof(err)));
	cr_assert_str_eq(sb_str(&out), "admin");
	sb_free(&out);
}

Test(config_interpolate, appends_to_out)
{
	StrBuf out = STRBUF_INIT;

	sb_appends(&out, "pre:");
	cr_assert(dotenv_interpolate("$SET", 4, table_lookup, NULL, &out, NULL, 0));
	cr_assert_str_eq(sb_str(&out), "pre:value");
	sb_free(&out);
}

Test(config_interpolate, required_message_is_reported)
{
	StrBuf out = STRBUF_INIT;
	char err[256];
	const char *in = "${PG_PASS_NETBOX:?set PG_PASS_NETBOX in .env}";

	cr_assert_not(dotenv_interpolate(in, strlen(in), table_lookup, NULL, &out, err, sizeof(err)));
	cr_assert(strstr(err, "PG_PASS_NETBOX") != NULL);
	cr_assert(strstr(err, "set PG_PASS_NETBOX in .env") != NULL, "%s", err);
	sb_free(&out);
}

Test(config_interpolate, depth_is_limited)
{
	StrBuf in = STRBUF_INIT, out = STRBUF_INIT;
	char err[256];

	for (int i = 0; i < 100; i++)
		sb_appends(&in, "${X:-");
	sb_appends(&in, "end");
	for (int i = 0; i < 100; i++)
		sb_appends(&in, "}");
	cr_assert_not(dotenv_interpolate(in.data, in.len, table_lookup, NULL, &out, err, sizeof(err)));
	cr_assert(strstr(err, "nested") != NULL, "%s", err);

	/* Within the limit it works. */
	sb_reset(&in);
	sb_reset(&out);
	for (int i = 0; i < INTERP_MAX_DEPTH; i++)
		sb_appends(&in, "${X:-");
	sb_appends(&in, "end");
	for (int i = 0; i < INTERP_MAX_DEPTH; i++)
		sb_appends(&in, "}");
	cr_assert(dotenv_interpolate(in.data, in.len, table_lookup, NULL, &out, err, sizeof(err)), "%s", err);
	cr_assert_str_eq(sb_str(&out), "end");
	sb_free(&in);
	sb_free(&out);
}

static const char *
big_lookup(void *ctx, const char *name)
{
	return (const char *) ctx;
}

Test(config_interpolate, output_is_bounded)
{
	static char value[64 * 1024 + 1];
	StrBuf in = STRBUF_INIT, out = STRBUF_INIT;
	char err[256];

	memset(value, 'v', sizeof(value) - 1);
	for (int i = 0; i < 40; i++)
		sb_appends(&in, "$BIG");
	cr_assert_not(dotenv_interpolate(in.data, in.len, big_lookup, value, &out, err, sizeof(err)));
	cr_assert(strstr(err, "longer") != NULL, "%s", err);
	sb_free(&in);
	sb_free(&out);
}

/* What compose gives for `$<c>x}`: `$$` escapes, a name start begins a
 * name (none of "Ax".."zx" is set), `${` opens a braced name, anything else
 * is an invalid placeholder (compose refuses it). */
static const char *
want_dollar(int c)
{
	if (c == '$')
		return "$x}";
	if (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return "}";
	if (c == '{')
		return "";
	return NULL;
}

/* ...and for `${<c>}`: a one-letter name (only U is set) or an error. */
static const char *
want_braced(int c)
{
	if (c == 'U')
		return "docmost";
	if (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return "";
	return NULL;
}

/* ...and in a .env file, where compose's dotenv reader looks up whatever
 * stands between the braces and never refuses (`${}}`: an empty name, then
 * a literal brace); `${:}` is a modifier with no name and stays as written. */
static const char *
want_dotenv_braced(int c)
{
	if (c == 'U')
		return "docmost";
	if (c == ':')
		return "${:}";
	return c == '}' ? "}" : "";
}

static void
expect_interpolation(const char *in, InterpDialect dialect, const char *want, int c)
{
	StrBuf out = STRBUF_INIT;
	char err[128] = "";
	bool ok = dotenv_interpolate_dialect(in, strlen(in), dialect, table_lookup, NULL, &out, err,
										 sizeof(err));

	if (want != NULL)
	{
		cr_expect(ok, "byte 0x%02x: refused (%s)", c, err);
		cr_expect_str_eq(sb_str(&out), ok ? want : sb_str(&out), "byte 0x%02x", c);
	}
	else
	{
		cr_expect_not(ok, "byte 0x%02x: accepted as \"%s\"", c, sb_str(&out));
		cr_expect_neq(err[0], '\0', "byte 0x%02x: refused without a reason", c);
	}
	sb_free(&out);
}

Test(config_interpolate, every_byte_after_a_dollar)
{
	for (int c = 1; c < 256; c++)
	{
		char in[8] = { '$', (char) c, 'x', '}', '\0' };
		char in2[8] = { '$', '{', (char) c, '}', '\0' };

		expect_interpolation(in, INTERP_COMPOSE_V2, want_dollar(c), c);
		expect_interpolation(in2, INTERP_COMPOSE_V2, want_braced(c), c);
		expect_interpolation(in2, INTERP_DOTENV, want_dotenv_braced(c), c);
	}
}

typedef struct DRow
{
	const char *in;
	const char *want;
} DRow;

Test(config_interpolate, dotenv_dialect)
{
	static const DRow drows[] = {
		{ "${SET}", "value" },
		{ "$SET", "$SET" },
		{ "$$", "$$" },
		{ "${EMPTY:-d}", "" },
		{ "${UNSET:-d}", "d" },
		{ "${UNSET-d}", "" },          /* name "UNSET-d" */
		{ "${UNSET:?m}", "${UNSET:?m}" },
		{ "${UNSET", "${UNSET" },
		{ "a${SET}b${UNSET}c", "avaluebc" },
		{ "${A:-${B:-x}}", "${B:-x}" },
		{ "$", "$" },
	};

	for (size_t i = 0; i < sizeof(drows) / sizeof(drows[0]); i++)
	{
		StrBuf out = STRBUF_INIT;

		cr_assert(dotenv_interpolate_dialect(drows[i].in, strlen(drows[i].in), INTERP_DOTENV,
											 table_lookup, NULL, &out, NULL, 0));
		cr_assert_str_eq(sb_str(&out), drows[i].want, "in: %s", drows[i].in);
		sb_free(&out);
	}
}

Test(config_interpolate, portability)
{
	static const char *portable[] = {
		"plain", "$A ${A} $$ ${A:-x} ${A-x} ${A:?m} ${A?m}",
		"postgresql://${U:-docmost}@h:5432/db?schema=public}",
		"${PG_USER_DOCMOST:-admin}",
	};
	static const char *not_portable[] = {
		"${SERVICE_VAR:-${PG_USER:-admin}}", "${A:+x}", "${A+x}", "${A:-$$}",
		"${A:-$B}", "${", "${A", "${A:-x",
	};

	for (size_t i = 0; i < sizeof(portable) / sizeof(portable[0]); i++)
		cr_assert(dotenv_interpolation_portable(portable[i], strlen(portable[i])), "%s", portable[i]);
	for (size_t i = 0; i < sizeof(not_portable) / sizeof(not_portable[0]); i++)
		cr_assert_not(dotenv_interpolation_portable(not_portable[i], strlen(not_portable[i])),
					  "%s", not_portable[i]);
}
