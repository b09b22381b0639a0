/*
 * dotenv.c — .env / env_file parsing as docker-compose 1.29 does it
 * (python-dotenv 0.21), stricter on garbage; see dotenv.h for the rules.
 *
 * The parser is a single forward scan with no recursion; values are
 * interpolated afterwards in file order so that an entry sees only the
 * entries above it (python-dotenv's resolve_variables).
 */
#include "pgfold/dotenv.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

typedef struct Scanner
{
	const char *s;
	size_t      n;
	size_t      pos;
	size_t      line;      /* 1-based line of s[pos] */
	const char *origin;
} Scanner;

static bool
is_hspace(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static bool
is_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool
parse_error(const char *origin, size_t line, const char *reason)
{
	log_error("%s:%zu: %s", origin, line, reason);
	exit_hint_set(EXIT_USAGE);
	return false;
}

/* Advance one byte, counting CRLF, LF and a lone CR as one line break. */
static void
advance(Scanner *sc)
{
	char c = sc->s[sc->pos++];

	if (c == '\n' || (c == '\r' && (sc->pos >= sc->n || sc->s[sc->pos] != '\n')))
		sc->line++;
}

static bool
at_eol(const Scanner *sc)
{
	return sc->pos >= sc->n || sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r';
}

static void
skip_hspace(Scanner *sc)
{
	while (sc->pos < sc->n && is_hspace(sc->s[sc->pos]))
		sc->pos++;
}

static void
skip_to_eol(Scanner *sc)
{
	while (!at_eol(sc))
		sc->pos++;
}

/* Reject NUL bytes and invalid UTF-8 up front, with the line they are on. */
static bool
check_bytes(const char *s, size_t n, const char *origin)
{
	size_t line = 1;

	for (size_t i = 0; i < n;)
	{
		unsigned char c = (unsigned char) s[i];
		size_t need = 0;
		unsigned min = 0, cp;

		if (c == '\n')
			line++;
		if (c == '\0')
			return parse_error(origin, line, "NUL byte in file");
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			need = 1, min = 0x80, cp = c & 0x1F;
		else if ((c & 0xF0) == 0xE0)
			need = 2, min = 0x800, cp = c & 0x0F;
		else if ((c & 0xF8) == 0xF0)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return parse_error(origin, line, "invalid UTF-8");
		if (n - i - 1 < need)
			return parse_error(origin, line, "invalid UTF-8");
		for (size_t k = 1; k <= need; k++)
		{
			unsigned char d = (unsigned char) s[i + k];

			if ((d & 0xC0) != 0x80)
				return parse_error(origin, line, "invalid UTF-8");
			cp = (cp << 6) | (d & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return parse_error(origin, line, "invalid UTF-8");
		i += need + 1;
	}
	return true;
}

static char
decode_escape(char c, char quote)
{
	if (quote == '\'')
		return (c == '\\' || c == '\'') ? c : 0;
	switch (c)
	{
		case '\\': case '\'': case '"': return c;
		case 'a': return '\a';
		case 'b': return '\b';
		case 'f': return '\f';
		case 'n': return '\n';
		case 'r': return '\r';
		case 't': return '\t';
		case 'v': return '\v';
		default: return 0;
	}
}

/* A quoted value; sc->pos is on the opening quote. */
static bool
parse_quoted(Scanner *sc, StrBuf *val)
{
	char quote = sc->s[sc->pos];
	size_t start_line = sc->line;

	advance(sc);
	while (sc->pos < sc->n && sc->s[sc->pos] != quote)
	{
		char c = sc->s[sc->pos];

		if (c == '\\' && sc->pos + 1 < sc->n)
		{
			char next = sc->s[sc->pos + 1];
			char d = decode_escape(next, quote);

			advance(sc);
			advance(sc);
			if (d != 0)
				sb_appendc(val, d);
			else
			{
				sb_appendc(val, '\\');
				sb_appendc(val, next);
			}
			continue;
		}
		sb_appendc(val, c);
		advance(sc);
	}
	if (sc->pos >= sc->n)
		return parse_error(sc->origin, start_line, quote == '"'
						   ? "unterminated double-quoted value"
						   : "unterminated single-quoted value");
	advance(sc);             /* closing quote */
	return true;
}

/* Unquoted: the rest of the line minus `\s+#.*` and trailing whitespace. */
static void
parse_unquoted(Scanner *sc, StrBuf *val)
{
	size_t start = sc->pos;

	skip_to_eol(sc);

	size_t end = sc->pos;

	for (size_t i = start; i < end; i++)
	{
		if (sc->s[i] == '#' && i > start && is_hspace(sc->s[i - 1]))
		{
			end = i;
			break;
		}
	}
	while (end > start && is_hspace(sc->s[end - 1]))
		end--;
	sb_append(val, sc->s + start, end - start);
}

/* After a value or bare key: optional blanks and `# comment`, then EOL. */
static bool
finish_line(Scanner *sc, const char *what)
{
	skip_hspace(sc);
	if (sc->pos < sc->n && sc->s[sc->pos] == '#')
		skip_to_eol(sc);
	if (!at_eol(sc))
		return parse_error(sc->origin, sc->line, what);
	return true;
}

static bool
parse_key(Scanner *sc, char **key)
{
	size_t start, end;

	/* `export ` as the file's last bytes leaves nothing to read: the bytes
	 * are text[0, len), not a C string (tests/fuzz/fuzz_dotenv.c found the
	 * read one past them) */
	if (sc->pos < sc->n && sc->s[sc->pos] == '\'')
	{
		start = ++sc->pos;
		while (sc->pos < sc->n && sc->s[sc->pos] != '\'' && !at_eol(sc))
			sc->pos++;
		if (sc->pos >= sc->n || sc->s[sc->pos] != '\'')
			return parse_error(sc->origin, sc->line, "unterminated quoted key");
		end = sc->pos++;
	}
	else
	{
		start = sc->pos;
		while (sc->pos < sc->n && !at_eol(sc) && !is_hspace(sc->s[sc->pos]) &&
			   sc->s[sc->pos] != '=' && sc->s[sc->pos] != '#')
			sc->pos++;
		end = sc->pos;
	}
	if (end == start)
		return parse_error(sc->origin, sc->line, "invalid line (expected KEY=VALUE)");
	if (end - start > DOTENV_MAX_KEY)
		return parse_error(sc->origin, sc->line, "variable name too long");
	for (size_t i = start; i < end; i++)
		if (!is_key_char(sc->s[i]))
			return parse_error(sc->origin, sc->line,
							   "invalid variable name (allowed: A-Z a-z 0-9 _ . -)");
	*key = xstrndup(sc->s + start, end - start);
	return true;
}

static void
add_entry(Dotenv *env, size_t *cap, char *key, char *value, size_t line, char quote)
{
	if (env->count == *cap)
	{
		*cap = *cap ? *cap * 2 : 16;
		env->items = xrealloc(env->items, *cap, sizeof(DotenvEntry));
	}
	env->items[env->count++] = (DotenvEntry) {
		.key = key, .value = value, .line = line, .quote = quote
	};
}

/* One logical line (a quoted value may span several). */
static bool
parse_binding(Scanner *sc, Dotenv *env, size_t *cap)
{
	size_t line = sc->line;
	char *key = NULL;
	char quote = '\0';
	StrBuf val = STRBUF_INIT;
	bool has_value = false;

	if (sc->n - sc->pos > 6 && memcmp(sc->s + sc->pos, "export", 6) == 0 &&
		is_hspace(sc->s[sc->pos + 6]))
	{
		sc->pos += 6;
		skip_hspace(sc);
	}
	if (sc->pos < sc->n && sc->s[sc->pos] == '#')
	{
		skip_to_eol(sc);
		return true;
	}
	if (!parse_key(sc, &key))
		return false;
	skip_hspace(sc);
	if (sc->pos < sc->n && sc->s[sc->pos] == '=')
	{
		sc->pos++;
		skip_hspace(sc);
		has_value = true;
		if (sc->pos < sc->n && (sc->s[sc->pos] == '"' || sc->s[sc->pos] == '\''))
		{
			quote = sc->s[sc->pos];
			if (!parse_quoted(sc, &val) ||
				!finish_line(sc, "unexpected text after the closing quote"))
				goto fail;
		}
		else
			parse_unquoted(sc, &val);
	}
	else if (!finish_line(sc, "invalid line (expected KEY=VALUE)"))
		goto fail;

	add_entry(env, cap, key, has_value ? sb_steal(&val) : NULL, line, quote);
	return true;

fail:
	free(key);
	sb_free_secret(&val);
	return false;
}

/*
 * python-dotenv's lookup: entries above this one first (the last of a key
 * wins), then the environment. The entries above are indexed by key, so a
 * lookup costs the same however many there are: scanning them all made a
 * 1 MiB file of `Kn=${B}` lines take half a minute. The hash is keyed at
 * random (SipHash) because the keys are hostile too: chosen collisions
 * would bring the scan back.
 */
typedef struct EarlierCtx
{
	const Dotenv *env;
	size_t       *slots;   /* entry index + 1, 0 when free; open addressing */
	size_t        mask;    /* slots - 1; at most half of them used */
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
} EarlierCtx;

static void
earlier_init(EarlierCtx *ec, const Dotenv *env)
{
	size_t n = 16;

	while (n < 2 * env->count)
		n *= 2;
	ec->env = env;
	ec->slots = xcalloc(n, sizeof(size_t));
	ec->mask = n - 1;
	if (sodium_init() < 0)
		memset(ec->hash_key, 0, sizeof(ec->hash_key));
	else
		crypto_shorthash_keygen(ec->hash_key);
}

static size_t *
earlier_slot(const EarlierCtx *ec, const char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t at = 0;

	crypto_shorthash(h, (const unsigned char *) key, strlen(key), ec->hash_key);
	memcpy(&at, h, sizeof(at));
	for (size_t i = (size_t) at & ec->mask;; i = (i + 1) & ec->mask)
		if (ec->slots[i] == 0 || strcmp(ec->env->items[ec->slots[i] - 1].key, key) == 0)
			return &ec->slots[i];
}

static const char *
earlier_lookup(void *ctx, const char *name)
{
	const EarlierCtx *ec = ctx;
	size_t at = *earlier_slot(ec, name);

	if (at == 0)
		return getenv(name);
	return ec->env->items[at - 1].value ? ec->env->items[at - 1].value : "";
}

/* One line: which file, which cap, what to do. */
static bool
expansion_refused(const Dotenv *env, const DotenvEntry *e, bool stack_cap)
{
	if (stack_cap)
		log_error("%s:%zu: ${...} expansion makes the values of this stack's env files "
				  "larger than %d MiB, pgfold's cap for one stack: reference large values "
				  "fewer times", env->origin, e->line, DOTENV_STACK_MAX_EXPANDED >> 20);
	else
		log_error("%s:%zu: ${...} expansion makes the values of this file larger than %d MiB, "
				  "pgfold's cap for one env file: reference large values fewer times",
				  env->origin, e->line, DOTENV_MAX_EXPANDED >> 20);
	exit_hint_set(EXIT_USAGE);
	return false;
}

/* e's value expanded against the entries above it, in at most left bytes. */
static bool
interpolate_one(DotenvEntry *e, EarlierCtx *ec, size_t left)
{
	StrBuf out = STRBUF_INIT;

	/* The dotenv dialect fails only past the bound. */
	if (!dotenv_interpolate_bounded(e->value, strlen(e->value), INTERP_DOTENV, left,
									earlier_lookup, ec, &out, NULL, 0))
	{
		sb_free_secret(&out);
		return false;
	}
	sodium_memzero(e->value, strlen(e->value));
	free(e->value);
	e->value = sb_steal(&out);
	return true;
}

/* Every value counts, expanded or not; the expansion itself may only
 * produce what is left, so memory stays bounded while it runs. */
static bool
interpolate_values(Dotenv *env, size_t *stack_left)
{
	size_t file_left = DOTENV_MAX_EXPANDED;
	EarlierCtx ec;
	bool ok = true;

	earlier_init(&ec, env);
	for (size_t i = 0; i < env->count; i++)
	{
		DotenvEntry *e = &env->items[i];
		bool stack_cap = stack_left != NULL && *stack_left < file_left;
		size_t left = stack_cap ? *stack_left : file_left, len = 0;

		if (e->value != NULL && e->quote != '\'' && strstr(e->value, "${") != NULL)
			ok = interpolate_one(e, &ec, left);
		if (e->value != NULL)
			len = strlen(e->value);
		if (!ok || len > left)
		{
			ok = expansion_refused(env, e, stack_cap);
			break;
		}
		file_left -= len;
		if (stack_left != NULL)
			*stack_left -= len;
		env->expanded += len;
		*earlier_slot(&ec, e->key) = i + 1;
	}
	free(ec.slots);
	sodium_memzero(ec.hash_key, sizeof(ec.hash_key));
	return ok;
}

static bool
parse_within(const char *text, size_t len, const char *origin, size_t *stack_left, Dotenv *out)
{
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	out->origin = xstrdup(origin ? origin : "(env)");
	Scanner sc = { text, len, 0, 1, out->origin };

	if (len > DOTENV_MAX_BYTES)
	{
		parse_error(out->origin, 1, "file too large");
		goto fail;
	}

	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		sc.pos = 3;
	if (!check_bytes(text + sc.pos, len - sc.pos, out->origin))
		goto fail;

	for (;;)
	{
		/* Blank lines and leading whitespace, as python-dotenv's \s*. */
		while (sc.pos < sc.n && (is_hspace(sc.s[sc.pos]) || sc.s[sc.pos] == '\n' ||
								 sc.s[sc.pos] == '\r'))
			advance(&sc);
		if (sc.pos >= sc.n)
			break;
		if (!parse_binding(&sc, out, &cap))
			goto fail;
	}
	if (!interpolate_values(out, stack_left))
		goto fail;
	return true;

fail:
	dotenv_free(out);
	return false;
}

bool
dotenv_parse(const char *text, size_t len, const char *origin, Dotenv *out)
{
	return parse_within(text, len, origin, NULL, out);
}

bool
dotenv_load(const char *path, bool missing_ok, Dotenv *out)
{
	return dotenv_load_within(path, missing_ok, NULL, out);
}

bool
dotenv_load_within(const char *path, bool missing_ok, size_t *stack_left, Dotenv *out)
{
	memset(out, 0, sizeof(*out));

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
	{
		if (errno == ENOENT && missing_ok)
		{
			out->origin = xstrdup(path);
			return true;
		}
		log_error("cannot read env file \"%s\": %s", path, strerror(errno));
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		log_error("env file \"%s\" is not a regular file", path);
		exit_hint_set(EXIT_USAGE);
		close(fd);
		return false;
	}
	if (st.st_size > DOTENV_MAX_BYTES)
	{
		log_error("env file \"%s\" is larger than %d bytes", path, DOTENV_MAX_BYTES);
		exit_hint_set(EXIT_USAGE);
		close(fd);
		return false;
	}

	/* Read to EOF with a bound: the size may change under us. */
	size_t cap = (size_t) st.st_size + 1, len = 0;
	char *buf = xcalloc(cap, 1);

	for (;;)
	{
		if (len == cap)
		{
			if (cap > DOTENV_MAX_BYTES)
				break;
			/* not realloc: the old block (maybe passwords) is wiped first */
			char *bigger = xcalloc(cap * 2, 1);

			memcpy(bigger, buf, cap);
			sodium_memzero(buf, cap);
			free(buf);
			buf = bigger;
			cap *= 2;
		}

		ssize_t r = read(fd, buf + len, cap - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			log_error("cannot read env file \"%s\": %s", path, strerror(errno));
			exit_hint_set(EXIT_USAGE);
			sodium_memzero(buf, cap);
			free(buf);
			close(fd);
			return false;
		}
		if (r == 0)
			break;
		len += (size_t) r;
	}
	close(fd);

	bool ok = parse_within(buf, len, path, stack_left, out);

	sodium_memzero(buf, cap);       /* it may hold passwords */
	free(buf);
	return ok;
}

const char *
dotenv_get(const Dotenv *env, const char *key)
{
	if (env == NULL || key == NULL)
		return NULL;
	for (size_t i = env->count; i-- > 0;)
		if (strcmp(env->items[i].key, key) == 0)
			return env->items[i].value;
	return NULL;
}

void
dotenv_free(Dotenv *env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; i < env->count; i++)
	{
		free(env->items[i].key);
		if (env->items[i].value != NULL)
		{
			sodium_memzero(env->items[i].value, strlen(env->items[i].value));
			free(env->items[i].value);
		}
	}
	free(env->items);
	free(env->origin);
	memset(env, 0, sizeof(*env));
}
