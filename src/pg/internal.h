/*
 * internal.h — helpers shared by the files of src/pg only.
 */
#ifndef PGFOLD_PG_INTERNAL_H
#define PGFOLD_PG_INTERNAL_H

#include <stddef.h>

#include "pgfold/str.h"

/* Append s double-quoted for a log line: control bytes, quotes and
 * backslashes escaped, capped at 200 bytes, so a hostile name can neither
 * forge a log line nor flood it. Returns sb_str(out). */
const char *pg_display(StrBuf *out, const char *s);

/* Copy a (possibly multi-line) message onto one line: runs of newlines and
 * tabs become "; " / " ", trailing blanks dropped, capped at max bytes. */
void pg_one_line(StrBuf *out, const char *msg, size_t len, size_t max);

#endif
