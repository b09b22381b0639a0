/*
 * str.c — bounded strings; see str.h.
 */
#include "pgfold/str.h"
#include "pgfold/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static void
out_of_memory(size_t wanted)
{
	log_fatal("out of memory allocating %zu bytes", wanted);
	abort();
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);

	size_t bytes = n * size;
	void *q = realloc(p, bytes != 0 ? bytes : 1);

	if (q == NULL)
		out_of_memory(n * size);
	return q;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		out_of_memory(n + 1);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static void (*release_hook)(const char *block, size_t size);

static bool
sb_reserve(StrBuf *sb, size_t extra)
{
	if (extra > SIZE_MAX - sb->len - 1)
		return false;

	size_t need = sb->len + extra + 1;

	if (need <= sb->cap)
		return true;

	size_t cap = sb->cap ? sb->cap : 64;

	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;

	/* Not realloc: the old block may hold a password, .env text or the
	 * passfile line, and realloc would hand it back to the allocator as it
	 * is. Growth doubles, so the wiping costs about one more copy. */
	char *grown = xrealloc(NULL, cap, 1);

	if (sb->data != NULL)
	{
		memcpy(grown, sb->data, sb->len + 1);
		sodium_memzero(sb->data, sb->cap);
		if (release_hook != NULL)
			release_hook(sb->data, sb->cap);
		free(sb->data);
	}
	sb->data = grown;
	sb->cap = cap;
	return true;
}

void
sb_set_release_hook(void (*hook)(const char *block, size_t size))
{
	release_hook = hook;
}

bool
sb_append(StrBuf *sb, const char *bytes, size_t len)
{
	if (!sb_reserve(sb, len))
		return false;
	if (len > 0)
		memcpy(sb->data + sb->len, bytes, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
	return true;
}

bool
sb_appends(StrBuf *sb, const char *s)
{
	return sb_append(sb, s, strlen(s));
}

bool
sb_appendc(StrBuf *sb, char c)
{
	return sb_append(sb, &c, 1);
}

bool
sb_appendf(StrBuf *sb, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);

	if (n < 0)
		return false;
	if ((size_t) n < sizeof(small))
		return sb_append(sb, small, (size_t) n);

	if (!sb_reserve(sb, (size_t) n))
		return false;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t) n;
	return true;
}

void
sb_reset(StrBuf *sb)
{
	sb->len = 0;
	if (sb->data)
		sb->data[0] = '\0';
}

void
sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

void
sb_free_secret(StrBuf *sb)
{
	if (sb->data)
		sodium_memzero(sb->data, sb->cap);
	sb_free(sb);
}

size_t
str_vec_len(const char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

void
str_vec_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

const char *
sb_str(const StrBuf *sb)
{
	return sb->data ? sb->data : "";
}

char *
sb_steal(StrBuf *sb)
{
	char *p = sb->data ? sb->data : xstrdup("");

	sb->data = NULL;
	sb->len = sb->cap = 0;
	return p;
}

bool
str_copy(char *dst, size_t dstsize, const char *src)
{
	if (dstsize == 0)
		return false;

	size_t n = strlen(src);

	if (n >= dstsize)
	{
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

bool
str_format(char *dst, size_t dstsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(dst, dstsize, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t) n < dstsize;
}

bool
str_to_long(const char *s, long min, long max, long *out)
{
	/* strtol would skip leading blanks and accept "+"; we do not. */
	if (s == NULL || !((*s >= '0' && *s <= '9') || (*s == '-' && min < 0)))
		return false;

	char *end = NULL;

	errno = 0;
	long v = strtol(s, &end, 10);

	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

bool
str_has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

int
str_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
