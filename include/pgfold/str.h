/*
 * str.h — bounded string handling.
 *
 * StrBuf is a growable, always NUL-terminated byte buffer. The helpers
 * below replace strcpy/sprintf/atoi: every copy is bounded and reports
 * truncation instead of silently cutting an identifier or a path.
 */
#ifndef PGFOLD_STR_H
#define PGFOLD_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StrBuf
{
	char   *data;   /* NUL-terminated; NULL until the first append */
	size_t  len;
	size_t  cap;
} StrBuf;

#define STRBUF_INIT { NULL, 0, 0 }

bool sb_append(StrBuf *sb, const char *bytes, size_t len);
bool sb_appends(StrBuf *sb, const char *s);
bool sb_appendf(StrBuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool sb_appendc(StrBuf *sb, char c);
void sb_reset(StrBuf *sb);          /* keep the allocation, empty it */
void sb_free(StrBuf *sb);           /* release; safe on STRBUF_INIT */
void sb_free_secret(StrBuf *sb);    /* zero, then release */
const char *sb_str(const StrBuf *sb);   /* "" when empty */
/* Growth moves the bytes to a new block and zeroes the old one: a buffer
 * that held a secret leaves no copy behind. Tests only: hook sees each old
 * block, as it is, just before it is freed. */
void sb_set_release_hook(void (*hook)(const char *block, size_t size));
char *sb_steal(StrBuf *sb);         /* caller owns the returned string */

/* Copy src into dst[dstsize]; false (dst still terminated) on truncation. */
bool str_copy(char *dst, size_t dstsize, const char *src);

/* snprintf that reports truncation as failure. */
bool str_format(char *dst, size_t dstsize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Whole-string integer parse within [min, max]; no atoi. */
bool str_to_long(const char *s, long min, long max, long *out);

/* Whether s holds a control byte (below 0x20, or DEL). */
bool str_has_control(const char *s);

/* Value of one hex digit, -1 when c is not one. */
int str_hexval(char c);

/* Entries of a NULL-terminated string vector (argv, env); 0 for NULL. */
size_t str_vec_len(const char *const *v);
/* Free a NULL-terminated vector of owned strings, and the vector. */
void str_vec_free(char **v);

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/* strdup that aborts with a logged error on OOM instead of returning NULL. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n, size_t size);

#endif
