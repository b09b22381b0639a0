/*
 * url.c — split connection URLs as they are written in a service file.
 *
 * The text is raw: it may hold compose interpolation anywhere, with
 * delimiters inside defaults (${DB_HOST:-db:5432}) and, in docmost's real
 * file, a stray `}` after the query. We split on top-level delimiters only,
 * skipping each ${...} as a whole (nested ones too) and $$ escapes; a `}`
 * that closes nothing is ordinary text. Spans index the bytes given, so the
 * rewriter can replace one piece and keep everything else byte for byte.
 */
#include "internal.h"

#include <string.h>
#include <strings.h>

/* End of the ${...} starting at i (b[i] == '$', b[i+1] == '{'): index after
 * its closing brace, or end when it never closes. */
static size_t
skip_braced(const char *b, size_t i, size_t end)
{
	size_t depth = 0;

	while (i < end)
	{
		if (b[i] == '$' && i + 1 < end && b[i + 1] == '$')
			i += 2;
		else if (b[i] == '$' && i + 1 < end && b[i + 1] == '{')
		{
			depth++;
			i += 2;
		}
		else if (b[i] == '}' && depth > 0)
		{
			i++;
			if (--depth == 0)
				return i;
		}
		else
			i++;
	}
	return end;
}

/* First index in [i, end) holding one of set outside any ${...}; end if none. */
size_t
svc_scan_top(const char *b, size_t i, size_t end, const char *set)
{
	while (i < end)
	{
		if (b[i] == '$' && i + 1 < end && b[i + 1] == '$')
		{
			i += 2;
			continue;
		}
		if (b[i] == '$' && i + 1 < end && b[i + 1] == '{')
		{
			i = skip_braced(b, i, end);
			continue;
		}
		if (b[i] != '\0' && strchr(set, b[i]) != NULL)
			return i;
		i++;
	}
	return end;
}

/* Last top-level occurrence of c in [i, end), or end. */
static size_t
scan_top_last(const char *b, size_t i, size_t end, char c)
{
	char set[2] = { c, '\0' };
	size_t found = end;

	for (size_t k = svc_scan_top(b, i, end, set); k < end; k = svc_scan_top(b, k + 1, end, set))
		found = k;
	return found;
}

static Span
span(size_t start, size_t end)
{
	Span s = { start, end };

	return s;
}

static void
split_hostport(const char *b, size_t h, size_t end, ConnUrlParts *out)
{
	if (h < end && b[h] == '[')
	{
		/* IPv6 literal: no interpolation inside, a plain search will do */
		const char *close = memchr(b + h, ']', end - h);

		if (close != NULL)
		{
			size_t r = (size_t) (close - b);

			out->host = span(h, r + 1);
			if (r + 1 < end && b[r + 1] == ':')
				out->port = span(r + 2, end);
			return;
		}
	}

	size_t c = svc_scan_top(b, h, end, ":");

	out->host = span(h, c);
	if (c < end)
		out->port = span(c + 1, end);
}

size_t
svc_url_wrapper(const char *s, size_t n)
{
	if (n > 5 && strncasecmp(s, "jdbc:", 5) == 0)
		return 5;
	if (n > 3 && strncasecmp(s, "db+", 3) == 0)
		return 3;
	return 0;
}

bool
service_split_url(const char *bytes, size_t start, size_t end, ConnUrlParts *out)
{
	memset(out, 0, sizeof(*out));
	if (bytes == NULL || start >= end)
		return false;
	start += svc_url_wrapper(bytes + start, end - start);

	const char *b = bytes;
	size_t colon = svc_scan_top(b, start, end, ":");

	if (colon == start || colon + 3 > end || b[colon + 1] != '/' || b[colon + 2] != '/')
		return false;
	out->scheme = span(start, colon);

	size_t a = colon + 3;
	size_t auth_end = svc_scan_top(b, a, end, "/?#");
	size_t at = scan_top_last(b, a, auth_end, '@');

	if (at < auth_end)
	{
		size_t c = svc_scan_top(b, a, at, ":");

		out->user = span(a, c);
		if (c < at)
			out->password = span(c + 1, at);
		a = at + 1;
	}
	split_hostport(b, a, auth_end, out);

	size_t q = auth_end;

	if (auth_end < end && b[auth_end] == '/')
	{
		q = svc_scan_top(b, auth_end + 1, end, "?#");
		out->dbname = span(auth_end + 1, q);
	}
	if (q < end && b[q] == '?')
	{
		size_t f = svc_scan_top(b, q + 1, end, "#");

		out->query = span(q + 1, f);
	}
	return true;
}

static bool
key_is(const char *b, size_t k, size_t e, const char *name)
{
	size_t n = strlen(name);

	return e - k == n && memcmp(b + k, name, n) == 0;
}

bool
service_split_nocodb(const char *bytes, size_t start, size_t end, ConnUrlParts *out)
{
	if (!service_split_url(bytes, start, end, out))
		return false;

	/* NocoDB puts credentials and the database in the query */
	const char *b = bytes;
	size_t qs = out->query.start, qe = out->query.end;

	for (size_t p = qs; p < qe;)
	{
		size_t amp = svc_scan_top(b, p, qe, "&");
		size_t eq = svc_scan_top(b, p, amp, "=");

		if (eq < amp)
		{
			Span v = span(eq + 1, amp);

			if (key_is(b, p, eq, "u") || key_is(b, p, eq, "user"))
				out->user = v;
			else if (key_is(b, p, eq, "p") || key_is(b, p, eq, "password"))
				out->password = v;
			else if (key_is(b, p, eq, "d") || key_is(b, p, eq, "database"))
				out->dbname = v;
		}
		p = amp + 1;
	}
	return true;
}
