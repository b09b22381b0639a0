/*
 * test_url.c — splitting raw connection URLs into exact byte spans.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pgfold/service.h"

/* The bytes of a span as a string (static buffer: one per call site). */
static const char *
slice(const char *bytes, Span s, char *buf, size_t bufsize)
{
	size_t n = s.end - s.start;

	cr_assert_leq(s.start, s.end);
	cr_assert_lt(n, bufsize);
	memcpy(buf, bytes + s.start, n);
	buf[n] = '\0';
	return buf;
}

#define EXPECT_PIECE(bytes, sp, want) \
	do { \
		char b_[512]; \
		cr_expect_str_eq(slice((bytes), (sp), b_, sizeof(b_)), (want), \
						 "%s: got '%s', want '%s'", #sp, b_, (want)); \
	} while (0)

static ConnUrlParts
split(const char *s)
{
	ConnUrlParts p;

	cr_assert(service_split_url(s, 0, strlen(s), &p), "not a URL: %s", s);
	return p;
}

Test(service_url, plain)
{
	const char *s = "postgresql://docmost:secret@docmost-db:5432/docmost";
	ConnUrlParts p = split(s);

	EXPECT_PIECE(s, p.scheme, "postgresql");
	EXPECT_PIECE(s, p.user, "docmost");
	EXPECT_PIECE(s, p.password, "secret");
	EXPECT_PIECE(s, p.host, "docmost-db");
	EXPECT_PIECE(s, p.port, "5432");
	EXPECT_PIECE(s, p.dbname, "docmost");
	EXPECT_PIECE(s, p.query, "");
}

Test(service_url, docmost_interpolation_and_stray_brace)
{
	const char *s = "postgresql://${DOCMOST_POSTGRES_USER:-docmost}:${DOCMOST_POSTGRES_PASSWORD}"
		"@${DOCMOST_DB_CONTAINER_NAME:-docmost-db}:5432/docmost?schema=public}";
	ConnUrlParts p = split(s);

	EXPECT_PIECE(s, p.user, "${DOCMOST_POSTGRES_USER:-docmost}");
	EXPECT_PIECE(s, p.password, "${DOCMOST_POSTGRES_PASSWORD}");
	EXPECT_PIECE(s, p.host, "${DOCMOST_DB_CONTAINER_NAME:-docmost-db}");
	EXPECT_PIECE(s, p.port, "5432");
	EXPECT_PIECE(s, p.dbname, "docmost");
	/* the stray brace stays in the query, untouched */
	EXPECT_PIECE(s, p.query, "schema=public}");
	cr_assert_eq(p.query.end, strlen(s));
}

Test(service_url, delimiters_inside_defaults_and_nesting)
{
	const char *s = "postgres://${U:-a:b@c}:${P:-${Q:-x/y?z}}@${H:-h:1}:${PORT:-5432}/${DB:-d?e}?sslmode=disable";
	ConnUrlParts p = split(s);

	EXPECT_PIECE(s, p.user, "${U:-a:b@c}");
	EXPECT_PIECE(s, p.password, "${P:-${Q:-x/y?z}}");
	EXPECT_PIECE(s, p.host, "${H:-h:1}");
	EXPECT_PIECE(s, p.port, "${PORT:-5432}");
	EXPECT_PIECE(s, p.dbname, "${DB:-d?e}");
	EXPECT_PIECE(s, p.query, "sslmode=disable");
}

Test(service_url, dollar_escape_and_unbraced_vars)
{
	const char *s = "postgres://$USER:pa$$word@$HOST/db";
	ConnUrlParts p = split(s);

	EXPECT_PIECE(s, p.user, "$USER");
	EXPECT_PIECE(s, p.password, "pa$$word");
	EXPECT_PIECE(s, p.host, "$HOST");
	EXPECT_PIECE(s, p.dbname, "db");
}

Test(service_url, ipv6_host)
{
	const char *s = "postgresql://u:p@[::1]:5433/app";
	ConnUrlParts p = split(s);

	EXPECT_PIECE(s, p.host, "[::1]");
	EXPECT_PIECE(s, p.port, "5433");
	EXPECT_PIECE(s, p.dbname, "app");

	const char *t = "postgresql://[fe80::1%25eth0]/app";

	p = split(t);
	EXPECT_PIECE(t, p.host, "[fe80::1%25eth0]");
	EXPECT_PIECE(t, p.port, "");
	EXPECT_PIECE(t, p.user, "");
}

Test(service_url, no_port_no_password_no_db)
{
	const char *s = "postgres://joplin@joplin-db/joplin";
	ConnUrlParts p = split(s);

	EXPECT_PIECE(s, p.user, "joplin");
	EXPECT_PIECE(s, p.password, "");
	EXPECT_PIECE(s, p.host, "joplin-db");
	EXPECT_PIECE(s, p.port, "");
	EXPECT_PIECE(s, p.dbname, "joplin");

	const char *t = "postgres://db";

	p = split(t);
	EXPECT_PIECE(t, p.host, "db");
	EXPECT_PIECE(t, p.dbname, "");
	EXPECT_PIECE(t, p.user, "");

	const char *u = "postgresql:///socketdb?host=/var/run/postgresql";

	p = split(u);
	EXPECT_PIECE(u, p.host, "");
	EXPECT_PIECE(u, p.dbname, "socketdb");
	EXPECT_PIECE(u, p.query, "host=/var/run/postgresql");
}

Test(service_url, percent_encoded_password_and_last_at)
{
	const char *s = "postgresql://app:p%40ss%3Aw%2Frd@db:5432/app?sslmode=disable&application_name=x";
	ConnUrlParts p = split(s);

	EXPECT_PIECE(s, p.password, "p%40ss%3Aw%2Frd");
	EXPECT_PIECE(s, p.host, "db");
	EXPECT_PIECE(s, p.query, "sslmode=disable&application_name=x");

	/* an unencoded '@' in the password: the last '@' ends the userinfo */
	const char *t = "postgresql://app:p@ss@db/app";

	p = split(t);
	EXPECT_PIECE(t, p.password, "p@ss");
	EXPECT_PIECE(t, p.host, "db");
}

Test(service_url, offsets_inside_larger_buffer)
{
	const char *s = "      - DATABASE_URL=postgres://a:b@h:1/d\n";
	size_t start = strlen("      - DATABASE_URL=");
	size_t end = strlen(s) - 1;
	ConnUrlParts p;

	cr_assert(service_split_url(s, start, end, &p));
	EXPECT_PIECE(s, p.user, "a");
	EXPECT_PIECE(s, p.dbname, "d");
	cr_assert_eq(p.dbname.end, end);
	cr_assert_eq(p.scheme.start, start);
}

Test(service_url, not_urls)
{
	ConnUrlParts p;
	const char *cases[] = { "", "db:5432", "://x", "postgres:/x", "${X:-a://b}", "plain" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_not(service_split_url(cases[i], 0, strlen(cases[i]), &p), "%s", cases[i]);
	cr_expect_not(service_split_url(NULL, 0, 0, &p));
}

Test(service_url, unterminated_interpolation_is_bounded)
{
	const char *s = "postgres://${USER:-x@h/db";
	ConnUrlParts p = split(s);

	/* everything after "${" is one unterminated piece: no '@' or '/' seen */
	EXPECT_PIECE(s, p.host, "${USER:-x@h/db");
	EXPECT_PIECE(s, p.user, "");
	cr_assert_eq(p.host.end, strlen(s));
}

Test(service_url, nocodb)
{
	const char *s = "pg://root_db:5432?u=${NC_USER:-nocodb}&p=${NC_PASS}&d=nocodb";
	ConnUrlParts p;

	cr_assert(service_split_nocodb(s, 0, strlen(s), &p));
	EXPECT_PIECE(s, p.scheme, "pg");
	EXPECT_PIECE(s, p.host, "root_db");
	EXPECT_PIECE(s, p.port, "5432");
	EXPECT_PIECE(s, p.user, "${NC_USER:-nocodb}");
	EXPECT_PIECE(s, p.password, "${NC_PASS}");
	EXPECT_PIECE(s, p.dbname, "nocodb");

	const char *t = "pg://${NC_DB_HOST:-db&x}?d=x&ssl=true&p=a%26b&u=u";

	cr_assert(service_split_nocodb(t, 0, strlen(t), &p));
	EXPECT_PIECE(t, p.host, "${NC_DB_HOST:-db&x}");
	EXPECT_PIECE(t, p.port, "");
	EXPECT_PIECE(t, p.dbname, "x");
	EXPECT_PIECE(t, p.password, "a%26b");
	EXPECT_PIECE(t, p.user, "u");
}
