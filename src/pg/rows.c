/*
 * rows.c — split psql's `-A -t -z -0` output; see pg.h for why NUL.
 *
 * Every field is followed by one NUL byte (field separator, record
 * separator and the final record terminator are all NUL). Text values can
 * never contain NUL, so the only thing the bytes cannot say is where rows
 * end: the caller's column count says it.
 */
#include "pgfold/pg.h"

#include <stdlib.h>
#include <string.h>

#include "pgfold/log.h"

bool
pg_rows_parse(const char *data, size_t len, size_t ncols, PgRows *out)
{
	size_t nfields = 0;

	memset(out, 0, sizeof(*out));
	if (ncols == 0)
	{
		log_error("psql output: internal error, zero columns requested");
		return false;
	}
	if (len == 0)
	{
		out->ncols = ncols;
		return true;            /* no rows */
	}
	if (data[len - 1] != '\0')
	{
		log_error("psql output is truncated: its last field is not terminated "
				  "(%zu bytes)", len);
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\0')
			nfields++;
	if (nfields % ncols != 0)
	{
		log_error("psql output has %zu fields, not a whole number of %zu-column rows",
				  nfields, ncols);
		return false;
	}

	out->buf = xcalloc(len, 1);
	memcpy(out->buf, data, len);
	out->cells = xcalloc(nfields, sizeof(char *));
	out->ncols = ncols;
	out->nrows = nfields / ncols;

	char *p = out->buf;

	for (size_t f = 0; f < nfields; f++)
	{
		out->cells[f] = p;
		p += strlen(p) + 1;
	}
	return true;
}

const char *
pg_rows_get(const PgRows *rows, size_t row, size_t col)
{
	if (rows->cells == NULL || row >= rows->nrows || col >= rows->ncols)
		return NULL;
	return rows->cells[row * rows->ncols + col];
}

void
pg_rows_free(PgRows *rows)
{
	free(rows->cells);
	free(rows->buf);
	memset(rows, 0, sizeof(*rows));
}
