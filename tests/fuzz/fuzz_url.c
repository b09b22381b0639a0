/*
 * fuzz_url.c — the connection URL and NocoDB string parsers
 * (src/service/url.c) on raw service-file bytes. Every span lies within the
 * bytes given, in order (scheme < user < password < host < port < dbname <
 * query for a URL), and never starts inside the "://"; splitting a copy
 * with bytes before and after the range gives the same spans, shifted.
 */
#include "fuzz.h"

#include <string.h>

#include "pgfold/service.h"

static void
check_span(Span s, size_t start, size_t end, const char *what)
{
	FUZZ_CHECK(s.start <= s.end, "%s: [%zu, %zu)", what, s.start, s.end);
	FUZZ_CHECK(s.start == s.end || (s.start >= start && s.end <= end),
			   "%s: [%zu, %zu) outside [%zu, %zu)", what, s.start, s.end, start, end);
}

static void
check_parts(const ConnUrlParts *u, size_t start, size_t end)
{
	check_span(u->scheme, start, end, "scheme");
	check_span(u->user, start, end, "user");
	check_span(u->password, start, end, "password");
	check_span(u->host, start, end, "host");
	check_span(u->port, start, end, "port");
	check_span(u->dbname, start, end, "dbname");
	check_span(u->query, start, end, "query");
	FUZZ_CHECK(u->scheme.end > u->scheme.start, "no scheme");
}

static bool
same_shifted(const ConnUrlParts *a, const ConnUrlParts *b, size_t shift)
{
	const Span *sa[] = { &a->scheme, &a->user, &a->password, &a->host, &a->port, &a->dbname, &a->query };
	const Span *sb[] = { &b->scheme, &b->user, &b->password, &b->host, &b->port, &b->dbname, &b->query };

	for (size_t i = 0; i < 7; i++)
	{
		bool ea = sa[i]->start == sa[i]->end, eb = sb[i]->start == sb[i]->end;

		if (ea != eb || (!ea && (sa[i]->start + shift != sb[i]->start ||
								 sa[i]->end + shift != sb[i]->end)))
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();

	const char *s = (const char *) data;
	ConnUrlParts u, v;

	/* the same bytes in the middle of others: "X=" before, "\n" after */
	char *framed = malloc(size + 3);

	memcpy(framed, "X=", 2);
	memcpy(framed + 2, s, size);
	framed[size + 2] = '\n';

	bool ok = service_split_url(s, 0, size, &u);

	FUZZ_CHECK(ok == service_split_url(framed, 2, size + 2, &v), "framing changes the verdict");
	if (ok)
	{
		check_parts(&u, 0, size);
		FUZZ_CHECK(same_shifted(&u, &v, 2), "framing changes the spans");
		FUZZ_CHECK(u.host.start == u.host.end || u.host.start >= u.scheme.end + 3,
				   "host inside the scheme");
		FUZZ_CHECK(u.port.start == u.port.end || u.port.start > u.host.start, "port before host");
		FUZZ_CHECK(u.dbname.start == u.dbname.end || u.dbname.start >= u.host.end,
				   "dbname before host");
	}

	ok = service_split_nocodb(s, 0, size, &u);
	FUZZ_CHECK(ok == service_split_nocodb(framed, 2, size + 2, &v), "framing changes the verdict");
	if (ok)
	{
		check_parts(&u, 0, size);
		FUZZ_CHECK(same_shifted(&u, &v, 2), "framing changes the nocodb spans");
	}
	free(framed);
	return 0;
}
