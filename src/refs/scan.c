/*
 * scan.c — the one whole-word matcher and line scanner of refs.h, with
 * secrets kept out of what is shown.
 */
#include "pgfold/refs.h"

#include "pgfold/str.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool
word_byte(char c)
{
	return isalnum((unsigned char) c) || c == '_' || c == '-' || c == '.';
}

bool
refs_has_word(const char *b, size_t s, size_t e, const char *word)
{
	size_t n = word != NULL ? strlen(word) : 0;

	if (n == 0)
		return false;
	for (size_t i = s; i + n <= e; i++)
		if (memcmp(b + i, word, n) == 0 && (i == s || !word_byte(b[i - 1]))
			&& (i + n == e || !word_byte(b[i + n])))
			return true;
	return false;
}

bool
refs_next_line(const char *bytes, size_t len, size_t *pos, size_t *start, size_t *end)
{
	size_t e = *pos;

	if (*pos >= len)
		return false;
	while (e < len && bytes[e] != '\n' && bytes[e] != '\r')
		e++;
	*start = *pos;
	*end = e;
	if (e < len && bytes[e] == '\r')
		e++;
	if (e < len && bytes[e] == '\n')
		e++;
	*pos = e;
	return true;
}

/* scheme://user:PASSWORD@ -> scheme://user:***@, in place (shorter or
 * equal), for every URL of the line. */
static void
mask_url_passwords(char *t)
{
	char *p = t;

	while ((p = strstr(p, "://")) != NULL)
	{
		char *user = p + 3, *colon, *at;
		size_t span = strcspn(user, "/ \t\"'");

		at = memchr(user, '@', span);
		colon = at ? memchr(user, ':', (size_t) (at - user)) : NULL;
		if (colon != NULL && at - colon > 1)
		{
			memmove(colon + 4, at, strlen(at) + 1);
			memcpy(colon + 1, "***", 3);
			at = colon + 4;
		}
		p = at ? at : user;
	}
}

char *
refs_line_text(const char *line, size_t n)
{
	char *t = xstrndup(line, n > REFS_TEXT_MAX ? REFS_TEXT_MAX : n);

	for (char *c = t; *c; c++)
		if ((unsigned char) *c < 0x20 && *c != '\t')
			*c = ' ';
	mask_url_passwords(t);
	if (strcasestr(t, "pass") || strcasestr(t, "secret") || strcasestr(t, "token"))
	{
		free(t);
		t = xstrdup("(holds a secret: not shown)");
	}
	return t;
}

static void
add_hit(RefsResult *out, RefKind kind, const char *file, size_t line, const char *text,
		size_t n, const char *name)
{
	for (size_t i = 0; i < out->count; i++)
		if (out->hits[i].line == line && strcmp(out->hits[i].file, file) == 0)
			return;     /* a file under both the stack root and a PATH */
	if (out->count >= REFS_MAX_HITS)
	{
		out->truncated = true;
		return;
	}
	out->hits = xrealloc(out->hits, out->count + 1, sizeof(RefHit));
	out->hits[out->count++] = (RefHit) { kind, xstrdup(file), line, refs_line_text(text, n),
										 xstrdup(name) };
}

void
refs_scan_bytes(const char *bytes, size_t len, const char *const *names, size_t name_count,
				RefKind kind, const char *file, RefsResult *out)
{
	size_t pos = 0, line = 0, b, e;

	if (memchr(bytes, '\0', len) != NULL)
	{
		out->skipped++;
		return;
	}
	while (refs_next_line(bytes, len, &pos, &b, &e))
	{
		line++;
		for (size_t i = 0; i < name_count; i++)
			if (refs_has_word(bytes, b, e, names[i]))
			{
				add_hit(out, kind, file, line, bytes + b, e - b, names[i]);
				break;
			}
	}
}

const char *
refs_kind_name(RefKind kind)
{
	static const char *const names[] = { "crontab", "cron", "systemd", "stack", "files" };

	return names[kind];
}

const char *
refs_kind_hint(RefKind kind)
{
	static const char *const hints[] = {
		"edit with `crontab -e` (as the same user)",
		"edit the file as root; cron reads it again by itself",
		"edit the unit (or `systemctl edit UNIT`), then `systemctl daemon-reload` and restart it",
		"migrate rewrites the service file it folds; edit the others, then `compose up -d` them",
		"edit the file, then restart what reads it",
	};

	return hints[kind];
}

void
refs_free(RefsResult *r)
{
	for (size_t i = 0; i < r->count; i++)
	{
		free(r->hits[i].file);
		free(r->hits[i].text);
		free(r->hits[i].name);
	}
	free(r->hits);
	memset(r, 0, sizeof(*r));
}
