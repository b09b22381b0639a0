/*
 * values.c — a connection's values as the app sees them: pieces of a URL
 * percent-decoded, raw pieces interpolated on their own, ports parsed, and
 * the secret ones zeroed when freed.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* %XX decoded; a malformed escape is kept as written. */
static char *
percent_decode(const char *s, size_t n)
{
	char *out = xcalloc(n + 1, 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
	{
		int hi, lo;

		if (s[i] == '%' && i + 2 < n && (hi = str_hexval(s[i + 1])) >= 0 &&
			(lo = str_hexval(s[i + 2])) >= 0)
		{
			out[o++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* A piece of text as a value; NULL for an absent (empty) span. */
char *
svc_piece(const char *text, Span sp, bool decode)
{
	if (sp.end <= sp.start)
		return NULL;
	if (decode)
		return percent_decode(text + sp.start, sp.end - sp.start);
	return xstrndup(text + sp.start, sp.end - sp.start);
}

/* A raw piece interpolated on its own; NULL when absent or failing. */
char *
svc_piece_interpolated(const Config *cfg, const char *bytes, Span sp, bool decode)
{
	if (sp.end <= sp.start)
		return NULL;

	StrBuf out = STRBUF_INIT;
	char err[256];

	if (!dotenv_interpolate(bytes + sp.start, sp.end - sp.start,
							cfg ? config_var_lookup : NULL, (void *) cfg, &out, err, sizeof(err)))
	{
		sb_free_secret(&out);
		return NULL;
	}

	char *v = decode ? percent_decode(sb_str(&out), out.len) : xstrdup(sb_str(&out));

	sb_free_secret(&out);
	return v;
}

void
svc_strip_brackets(char *host)
{
	size_t n = host ? strlen(host) : 0;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
	{
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
}

int
svc_parse_port(const char *s)
{
	long v;

	if (s == NULL || !str_to_long(s, 1, 65535, &v))
		return -1;
	return (int) v;
}

void
svc_free_secret(char **s)
{
	if (*s)
	{
		sodium_memzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
conn_values_free(ConnValues *v)
{
	free(v->user);
	svc_free_secret(&v->password);
	free(v->host);
	free(v->dbname);
	v->user = v->host = v->dbname = NULL;
	v->port = -1;
}

void
conn_ref_free(ConnRef *c)
{
	free(c->prefix);
	free(c->rule);
	c->prefix = c->rule = NULL;
	conn_values_free(&c->values);
}

