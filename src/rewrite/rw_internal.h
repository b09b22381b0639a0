/*
 * rw_internal.h — helpers shared by the files of src/rewrite/ (not API).
 */
#ifndef PGFOLD_RW_INTERNAL_H
#define PGFOLD_RW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/compose.h"
#include "pgfold/rewrite.h"
#include "pgfold/service.h"
#include "pgfold/str.h"

/* Hard bounds: every byte of a service file is hostile. */
#define RW_MAX_FILE   (4u * 1024u * 1024u)
#define RW_MAX_VALUE  4096u

/* Is span a whole-line span of src (starts a line, ends after a newline or
 * at EOF)? */
bool rw_is_line_span(const char *src, size_t len, Span span);
bool rw_span_valid(Span span, size_t len);

/* Column of the first non-blank byte of the line starting at pos. */
size_t rw_line_indent(const char *src, size_t len, size_t pos);

/* Append the line-span chunk src[span) to out re-indented so that its first
 * line starts at column `indent`; relative indentation is kept, line ends
 * are normalised to eol, a missing final newline is added. */
bool rw_reindent(const char *src, size_t len, Span span, size_t indent,
				 const char *eol, StrBuf *out);

/* New-file offset of original offset pos once edits are applied; `after`
 * places pos after insertions made exactly at pos. */
size_t rw_map_offset(const RwEdits *edits, size_t pos, bool after);

/* Decode one YAML scalar as written (plain, '...', "..."); false when it
 * uses a form this decoder does not know (block scalars, rare escapes). */
bool rw_scalar_decode(const char *bytes, size_t len, StrBuf *out);

/* Self-check of a rewritten file: parses as YAML, the db service key is
 * gone, no depends_on names it, and each checked env var (app, name) has
 * the decoded value given. */
typedef struct RwEnvCheck
{
	const char *app;
	const char *name;
	char       *value;    /* expected value, owned, may be secret */
} RwEnvCheck;

bool rw_check_output(const char *path, const char *bytes, size_t len,
					 const char *db_key, const RwEnvCheck *checks, size_t count);

#endif
