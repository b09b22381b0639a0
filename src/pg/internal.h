/*
 * internal.h — helpers shared by the files of src/pg only.
 */
#ifndef PGFOLD_PG_INTERNAL_H
#define PGFOLD_PG_INTERNAL_H

#include <stddef.h>

#include "pgfold/str.h"

/* pg_display() is public, in pg.h. */

/* Copy a (possibly multi-line) message onto one line: runs of newlines and
 * tabs become "; " / " ", trailing blanks dropped, capped at max bytes. */
void pg_one_line(StrBuf *out, const char *msg, size_t len, size_t max);

#endif
