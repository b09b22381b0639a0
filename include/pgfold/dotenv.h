/*
 * dotenv.h — the stack's .env files and compose-style ${VAR} interpolation.
 *
 * dotenv syntax as compose reads it: KEY=VALUE, optional `export `, single
 * quotes (literal), double quotes (escapes \n \" \\, interpolation),
 * unquoted values with trailing ` # comment` stripped, blank and # lines.
 * Every byte is hostile: no size or nesting assumption without a check.
 *
 * Details (docker-compose 1.29 reads .env and env_file with python-dotenv
 * 0.21; we follow it except where noted):
 * - A UTF-8 BOM is skipped; CRLF, LF and lone CR end lines. NUL bytes,
 *   invalid UTF-8, a bad key or an unterminated quote are errors
 *   (origin:line: reason, EXIT_USAGE); python-dotenv only warns and skips.
 * - Keys: [A-Za-z0-9_.-]+, optionally 'single-quoted'.
 * - A bare `KEY` line (no `=`) declares KEY without a value: the entry is
 *   kept with value == NULL and dotenv_get() returns NULL (unset), as
 *   compose does (`KEY: null`; in an env_file the shell's KEY is used).
 * - Quoted values may span lines. Double quotes decode \\ \' \" \a \b \f
 *   \n \r \t \v; single quotes decode only \\ and \'.
 * - Unquoted: trailing whitespace and anything from the first whitespace
 *   followed by `#` are removed (`a#b` keeps its #).
 * - Interpolation (INTERP_DOTENV): unquoted and double-quoted values expand
 *   ${NAME} and ${NAME:-default} only ($NAME and $$ stay literal; `:-` acts
 *   like `-`: an empty value is kept) against the earlier entries of the
 *   same file, then the process environment. Single-quoted values are
 *   literal: python-dotenv 0.21 expands them too, compose v2 does not; we
 *   take the literal reading (documented divergence from 1.29).
 */
#ifndef PGFOLD_DOTENV_H
#define PGFOLD_DOTENV_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/str.h"

typedef struct DotenvEntry
{
	char   *key;
	char   *value;         /* NULL for a bare `KEY` line */
	size_t  line;          /* 1-based, for messages */
	char    quote;         /* '\0', '\'' or '"': how the value was written */
} DotenvEntry;

typedef struct Dotenv
{
	DotenvEntry *items;
	size_t       count;
	char        *origin;   /* path, for messages */
	size_t       expanded; /* bytes of all values, after interpolation */
} Dotenv;

/* Bounds: a .env file larger than this is refused. */
#define DOTENV_MAX_BYTES   (1024 * 1024)
#define DOTENV_MAX_KEY     255
/*
 * ${...} lets a small file name a value many times (A=${B}${B}, C=${A}${A}
 * ...): the values of one file after interpolation, all together, may not
 * exceed DOTENV_MAX_EXPANDED, nor those of every file one stack reads (its
 * .env and each service's env_files, see dotenv_load_within) the stack cap.
 * Past either the file is refused (EXIT_USAGE) with one line naming it.
 */
#define DOTENV_MAX_EXPANDED        (4 * 1024 * 1024)
#define DOTENV_STACK_MAX_EXPANDED  (32 * 1024 * 1024)

bool dotenv_parse(const char *text, size_t len, const char *origin, Dotenv *out);
/* missing_ok: a missing file is an empty Dotenv, not an error. */
bool dotenv_load(const char *path, bool missing_ok, Dotenv *out);
/* dotenv_load for one file of a stack: its values after interpolation also
 * count against *stack_left (bytes the stack may still expand to,
 * DOTENV_STACK_MAX_EXPANDED to begin with), which they are taken from. */
bool dotenv_load_within(const char *path, bool missing_ok, size_t *stack_left, Dotenv *out);
const char *dotenv_get(const Dotenv *env, const char *key);  /* last wins */
void dotenv_free(Dotenv *env);  /* zeroes values: they may hold passwords */

/* Lookup used by interpolation: returns NULL when unset. */
typedef const char *(*VarLookup)(void *ctx, const char *name);

/*
 * Expand compose interpolation in in[0..len): $VAR, ${VAR}, ${VAR:-def},
 * ${VAR-def}, ${VAR:?msg}, ${VAR?msg}, ${VAR:+alt}, ${VAR+alt}, nested in
 * defaults, and $$ for a literal $. On ${VAR:?msg} with VAR unset/empty or
 * a syntax error: false, with a one-line reason in err.
 *
 * The result is appended to out; on failure out holds a partial result.
 * Names are [_A-Za-z][_A-Za-z0-9]*; an unset $VAR / ${VAR} expands to "";
 * a `$` not followed by `$`, a name or `{name` is an error (as in compose);
 * `}` outside ${...} is literal (docmost's stray `?schema=public}`).
 * Nesting is limited to INTERP_MAX_DEPTH, the output to INTERP_MAX_OUTPUT.
 * This is the compose v2 (compose-go) dialect: see dotenv_interpolate_dialect.
 */
bool dotenv_interpolate(const char *in, size_t len, VarLookup lookup, void *ctx,
						StrBuf *out, char *err, size_t errlen);

#define INTERP_MAX_DEPTH   16
#define INTERP_MAX_OUTPUT  (1024 * 1024)

typedef enum InterpDialect
{
	/* compose v2: nested ${...} in defaults, :+ and + (dotenv_interpolate). */
	INTERP_COMPOSE_V2 = 0,
	/*
	 * docker-compose 1.29 (Debian's): a default/message runs to the first `}`
	 * and is NOT expanded, so ${A:-${B:-x}} with A unset yields the literal
	 * "${B:-x}" (checked with `docker-compose config`); :+ and + are errors.
	 */
	INTERP_COMPOSE_V1,
	/*
	 * python-dotenv 0.21 inside .env/env_file values: only ${NAME} and
	 * ${NAME:-default} (default used only when NAME is unset); every other
	 * `$` is literal; never fails.
	 */
	INTERP_DOTENV
} InterpDialect;

bool dotenv_interpolate_dialect(const char *in, size_t len, InterpDialect dialect,
								VarLookup lookup, void *ctx, StrBuf *out,
								char *err, size_t errlen);
/* The same with at most max_out bytes of output (a budget the caller
 * shares between several values); exceeding it fails in every dialect. */
bool dotenv_interpolate_bounded(const char *in, size_t len, InterpDialect dialect,
								size_t max_out, VarLookup lookup, void *ctx, StrBuf *out,
								char *err, size_t errlen);

/*
 * True when in[0..len) means the same to compose v1 and v2: no ${...} nested
 * inside a braced default or message and no :+ / + operator. The rewriter
 * must only write portable values while docker-compose 1.29 may run them.
 */
bool dotenv_interpolation_portable(const char *in, size_t len);

#endif
