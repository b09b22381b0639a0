/*
 * dotenv.h — the stack's .env files and compose-style ${VAR} interpolation.
 *
 * dotenv syntax as compose reads it: KEY=VALUE, optional `export `, single
 * quotes (literal), double quotes (escapes \n \" \\, interpolation),
 * unquoted values with trailing ` # comment` stripped, blank and # lines.
 * Every byte is hostile: no size or nesting assumption without a check.
 */
#ifndef PGFOLD_DOTENV_H
#define PGFOLD_DOTENV_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/str.h"

typedef struct DotenvEntry
{
	char   *key;
	char   *value;
	size_t  line;          /* 1-based, for messages */
} DotenvEntry;

typedef struct Dotenv
{
	DotenvEntry *items;
	size_t       count;
	char        *origin;   /* path, for messages */
} Dotenv;

bool dotenv_parse(const char *text, size_t len, const char *origin, Dotenv *out);
/* missing_ok: a missing file is an empty Dotenv, not an error. */
bool dotenv_load(const char *path, bool missing_ok, Dotenv *out);
const char *dotenv_get(const Dotenv *env, const char *key);  /* last wins */
void dotenv_free(Dotenv *env);  /* zeroes values: they may hold passwords */

/* Lookup used by interpolation: returns NULL when unset. */
typedef const char *(*VarLookup)(void *ctx, const char *name);

/*
 * Expand compose interpolation in in[0..len): $VAR, ${VAR}, ${VAR:-def},
 * ${VAR-def}, ${VAR:?msg}, ${VAR?msg}, ${VAR:+alt}, ${VAR+alt}, nested in
 * defaults, and $$ for a literal $. On ${VAR:?msg} with VAR unset/empty or
 * a syntax error: false, with a one-line reason in err.
 */
bool dotenv_interpolate(const char *in, size_t len, VarLookup lookup, void *ctx,
						StrBuf *out, char *err, size_t errlen);

#endif
