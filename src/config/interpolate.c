/*
 * interpolate.c — compose-style ${VAR} expansion; see dotenv.h.
 *
 * Three dialects share one scanner: compose v2 (nesting, :+ and +),
 * docker-compose 1.29 (a default runs to the first `}` and is literal) and
 * python-dotenv 0.21 inside .env files (only ${NAME} and ${NAME:-def}, every
 * other `$` literal). Recursion only happens for nested defaults in the v2
 * dialect and is bounded by INTERP_MAX_DEPTH; output by INTERP_MAX_OUTPUT (or the
 * caller's smaller bound: dotenv_interpolate_bounded).
 */
#include "pgfold/dotenv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 255

typedef struct Interp
{
	InterpDialect dialect;
	VarLookup     lookup;
	void         *ctx;
	StrBuf       *out;
	size_t        base_len;  /* out->len on entry: the bound is on what we add */
	size_t        max_out;   /* at most this many bytes added */
	char         *err;
	size_t        errlen;
} Interp;

static bool
fail(Interp *ip, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool
fail(Interp *ip, const char *fmt, ...)
{
	va_list ap;

	if (ip->err != NULL && ip->errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(ip->err, ip->errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool
emit(Interp *ip, const char *bytes, size_t n)
{
	if (n > ip->max_out || ip->out->len - ip->base_len > ip->max_out - n)
		return fail(ip, "value longer than %zu bytes after interpolation", ip->max_out);
	return sb_append(ip->out, bytes, n) ||
		fail(ip, "value too long after interpolation");
}

static bool
emits(Interp *ip, const char *s)
{
	return s == NULL || emit(ip, s, strlen(s));
}

static bool
is_name_start(char c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static size_t
name_len(const char *s, size_t n)
{
	size_t k = 0;

	if (n == 0 || !is_name_start(s[0]))
		return 0;
	while (k < n && is_name_char(s[k]))
		k++;
	return k;
}

/* Look a name up; NULL when unset. Names longer than NAME_MAX_LEN are unset. */
static const char *
lookup_name(Interp *ip, const char *name, size_t n)
{
	char buf[NAME_MAX_LEN + 1];

	if (ip->lookup == NULL || n > NAME_MAX_LEN)
		return NULL;
	memcpy(buf, name, n);
	buf[n] = '\0';
	return ip->lookup(ip->ctx, buf);
}

static bool expand_compose(Interp *ip, const char *s, size_t n, int depth);

/*
 * Find the `}` closing a braced argument that starts at s. v2 nests on
 * `${` and skips `$$`; v1 stops at the first `}`. Returns n when missing.
 */
static size_t
find_close(InterpDialect dialect, const char *s, size_t n)
{
	size_t p = 0, nest = 0;

	while (p < n)
	{
		if (dialect == INTERP_COMPOSE_V2 && s[p] == '$' && p + 1 < n &&
			(s[p + 1] == '$' || s[p + 1] == '{'))
		{
			if (s[p + 1] == '{')
				nest++;
			p += 2;
			continue;
		}
		if (s[p] == '}')
		{
			if (nest == 0)
				return p;
			nest--;
		}
		p++;
	}
	return n;
}

/* The default/alternative text: expanded in v2, literal in v1. */
static bool
emit_argument(Interp *ip, const char *arg, size_t n, int depth)
{
	if (ip->dialect == INTERP_COMPOSE_V2)
		return expand_compose(ip, arg, n, depth + 1);
	return emit(ip, arg, n);
}

/* s points just after "${"; *used receives how many bytes were consumed. */
static bool
expand_braced(Interp *ip, const char *s, size_t n, int depth, size_t *used)
{
	size_t k = name_len(s, n);

	if (k == 0)
		return memchr(s, '}', n) == NULL
			? fail(ip, "unterminated ${ in interpolation")
			: fail(ip, "invalid variable name in ${...}");
	if (k > NAME_MAX_LEN)
		return fail(ip, "variable name longer than %d characters", NAME_MAX_LEN);
	if (k >= n)
		return fail(ip, "unterminated ${%.*s", (int) k, s);

	const char *val = lookup_name(ip, s, k);
	size_t p = k;

	if (s[p] == '}')
	{
		*used = p + 1;
		return emits(ip, val);
	}

	bool colon = s[p] == ':';

	if (colon)
		p++;
	if (p >= n)
		return fail(ip, "unterminated ${%.*s", (int) k, s);

	char op = s[p];

	if (op != '-' && op != '?' && op != '+')
		return fail(ip, "invalid interpolation format in ${%.*s...}", (int) k, s);
	if (op == '+' && ip->dialect == INTERP_COMPOSE_V1)
		return fail(ip, "${%.*s%s+...} needs compose v2 (docker-compose 1.29 rejects it)",
					(int) k, s, colon ? ":" : "");
	p++;

	size_t close = p + find_close(ip->dialect, s + p, n - p);

	if (close >= n)
		return fail(ip, "unterminated ${%.*s", (int) k, s);
	*used = close + 1;

	const char *arg = s + p;
	size_t arglen = close - p;
	bool set = val != NULL;
	bool nonempty = set && val[0] != '\0';

	switch (op)
	{
		case '-':
			if (colon ? !nonempty : !set)
				return emit_argument(ip, arg, arglen, depth);
			return emits(ip, val);
		case '+':
			if (colon ? nonempty : set)
				return emit_argument(ip, arg, arglen, depth);
			return true;
		default:                /* '?' */
			if (colon ? nonempty : set)
				return emits(ip, val);
			if (arglen == 0)
				return fail(ip, "required variable %.*s is missing a value",
							(int) k, s);
			return fail(ip, "required variable %.*s is missing a value: %.*s",
						(int) k, s, (int) (arglen > 200 ? 200 : arglen), arg);
	}
}

static bool
expand_compose(Interp *ip, const char *s, size_t n, int depth)
{
	size_t i = 0, lit = 0;

	if (depth > INTERP_MAX_DEPTH)
		return fail(ip, "interpolation nested deeper than %d levels", INTERP_MAX_DEPTH);

	while (i < n)
	{
		if (s[i] != '$')
		{
			i++;
			continue;
		}
		if (!emit(ip, s + lit, i - lit))
			return false;
		if (i + 1 >= n)
			return fail(ip, "'$' at the end of a value (write $$ for a literal $)");

		char c = s[i + 1];

		if (c == '$')
		{
			if (!emit(ip, "$", 1))
				return false;
			i += 2;
		}
		else if (c == '{')
		{
			size_t used = 0;

			if (!expand_braced(ip, s + i + 2, n - i - 2, depth, &used))
				return false;
			i += 2 + used;
		}
		else if (is_name_start(c))
		{
			size_t k = name_len(s + i + 1, n - i - 1);

			if (k > NAME_MAX_LEN)
				return fail(ip, "variable name longer than %d characters", NAME_MAX_LEN);
			if (!emits(ip, lookup_name(ip, s + i + 1, k)))
				return false;
			i += 1 + k;
		}
		else
			return fail(ip, "invalid interpolation: '$' must be followed by $, "
						"a name or {name} (write $$ for a literal $)");
		lit = i;
	}
	return emit(ip, s + lit, i - lit);
}

/*
 * First index >= from whose byte is in set (n when none). *memo is the
 * answer of the previous call: it still holds when it is not behind from,
 * as nothing in set lies before it. Callers ask with growing from, so a
 * whole value is scanned once however many `${` it holds (an unclosed
 * `${${${...` was rescanned to its end from each one: quadratic).
 */
static size_t
next_of(const char *s, size_t n, size_t from, const char *set, size_t *memo)
{
	size_t k = from;

	if (*memo >= from)
		return *memo;
	while (k < n && (s[k] == '\0' || strchr(set, s[k]) == NULL))
		k++;
	*memo = k;
	return k;
}

/*
 * python-dotenv's regex \$\{([^}:]*)(?::-([^}]*))?\} applied left to right;
 * text that does not match it, `$` included, is copied as is.
 */
static bool
expand_dotenv(Interp *ip, const char *s, size_t n)
{
	size_t i = 0, lit = 0, stop_memo = 0, close_memo = 0;

	while (i + 1 < n)
	{
		if (s[i] != '$' || s[i + 1] != '{')
		{
			i++;
			continue;
		}

		size_t p = next_of(s, n, i + 2, "}:", &stop_memo), end = 0;
		const char *def = NULL;
		size_t deflen = 0;

		if (p < n && s[p] == '}')
			end = p + 1;
		else if (p + 1 < n && s[p] == ':' && s[p + 1] == '-')
		{
			size_t q = next_of(s, n, p + 2, "}", &close_memo);

			if (q < n)
			{
				def = s + p + 2;
				deflen = q - p - 2;
				end = q + 1;
			}
		}
		if (end == 0)
		{
			i++;
			continue;
		}

		const char *val = lookup_name(ip, s + i + 2, p - i - 2);

		if (!emit(ip, s + lit, i - lit))
			return false;
		if (val != NULL ? !emits(ip, val) : (def != NULL && !emit(ip, def, deflen)))
			return false;
		i = lit = end;
	}
	return emit(ip, s + lit, n - lit);
}

bool
dotenv_interpolate_bounded(const char *in, size_t len, InterpDialect dialect, size_t max_out,
						   VarLookup lookup, void *ctx, StrBuf *out, char *err, size_t errlen)
{
	Interp ip = {
		.dialect = dialect, .lookup = lookup, .ctx = ctx, .out = out,
		.base_len = out->len, .max_out = max_out, .err = err, .errlen = errlen
	};

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* Make sure out is a valid string even when nothing is appended. */
	if (!sb_append(out, "", 0))
		return fail(&ip, "value too long");
	if (dialect == INTERP_DOTENV)
		return expand_dotenv(&ip, in, len);
	return expand_compose(&ip, in, len, 0);
}

bool
dotenv_interpolate_dialect(const char *in, size_t len, InterpDialect dialect,
						   VarLookup lookup, void *ctx, StrBuf *out,
						   char *err, size_t errlen)
{
	return dotenv_interpolate_bounded(in, len, dialect, INTERP_MAX_OUTPUT, lookup, ctx, out,
									  err, errlen);
}

bool
dotenv_interpolate(const char *in, size_t len, VarLookup lookup, void *ctx,
				   StrBuf *out, char *err, size_t errlen)
{
	return dotenv_interpolate_dialect(in, len, INTERP_COMPOSE_V2, lookup, ctx,
									  out, err, errlen);
}

bool
dotenv_interpolation_portable(const char *in, size_t len)
{
	size_t i = 0;

	while (i < len)
	{
		if (in[i] != '$' || i + 1 >= len)
		{
			i++;
			continue;
		}
		if (in[i + 1] != '{')
		{
			i += 2;             /* $$ or $NAME: the same everywhere */
			continue;
		}

		size_t p = i + 2;
		size_t k = name_len(in + p, len - p);

		p += k;
		if (k == 0 || p >= len)
			return false;
		if (in[p] == '}')
		{
			i = p + 1;
			continue;
		}
		if (in[p] == ':')
			p++;
		if (p >= len || in[p] == '+' || (in[p] != '-' && in[p] != '?'))
			return false;
		p++;

		/* v1 ends the argument at the first `}`, v2 too when it holds no `$`. */
		const char *close = memchr(in + p, '}', len - p);

		if (close == NULL || memchr(in + p, '$', (size_t) (close - (in + p))) != NULL)
			return false;
		i = (size_t) (close - in) + 1;
	}
	return true;
}
