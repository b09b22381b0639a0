/*
 * appconfig_ini.c — Gitea/Forgejo's app.ini: the `[database]` section's
 * HOST (host or host:port), NAME, USER and PASSWD replaced in place, keys
 * it lacks added after its last key, every other byte identical. A line
 * scan with go-ini's reading rules (what Gitea uses): `;`/`#` comment
 * lines, `KEY = value`, an unquoted value ends at the first `#` or `;`,
 * "..." and `...` quote a value as is. Shapes it would have to guess at
 * (a repeated key or section, `"""` or `\` continuation) are refused.
 */
#include "pgfold/appconfig.h"

#include "pgfold/log.h"
#include "rw_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INI_MAX_KEYS 64

typedef struct IniKey
{
	char   key[64];
	Span   value;        /* the bytes the value replaces (quotes included) */
	char  *text;         /* the value as the app reads it */
	size_t line;
	size_t line_end;     /* just after its line break */
} IniKey;

typedef struct IniSection
{
	bool   found;
	size_t line;
	IniKey keys[INI_MAX_KEYS];
	size_t count;
	size_t insert_at;    /* after the last key's line (or the header's) */
	const char *eol;
} IniSection;

static void
section_free(IniSection *s)
{
	for (size_t i = 0; i < s->count; i++)
		rw_free_secret(s->keys[i].text);
	memset(s, 0, sizeof(*s));
}

static size_t
next_line(const char *b, size_t len, size_t pos, size_t *content_end)
{
	size_t e = pos;

	while (e < len && b[e] != '\n' && b[e] != '\r')
		e++;
	*content_end = e;
	if (e < len && b[e] == '\r')
		e++;
	if (e < len && b[e] == '\n')
		e++;
	return e;
}

/* One `KEY = value` line [s, e): the value's span and text (go-ini rules). */
static bool
parse_value(const char *path, size_t line, const char *b, size_t s, size_t e, IniKey *k)
{
	while (s < e && (b[s] == ' ' || b[s] == '\t'))
		s++;
	if (e - s >= 3 && memcmp(b + s, "\"\"\"", 3) == 0)
	{
		log_error("%s:%zu: %s is a multi-line (\"\"\") value; pgfold cannot rewrite it",
				  path, line, k->key);
		return false;
	}
	if (s < e && (b[s] == '"' || b[s] == '`'))
	{
		const char *close = memchr(b + s + 1, b[s], e - s - 1);

		if (close != NULL)
		{
			k->value = (Span) { s, (size_t) (close - b) + 1 };
			k->text = xstrndup(b + s + 1, (size_t) (close - b) - s - 1);
			return true;
		}
	}
	size_t v = s;

	while (v < e && b[v] != '#' && b[v] != ';')
		v++;
	while (v > s && (b[v - 1] == ' ' || b[v - 1] == '\t'))
		v--;
	if (v > s && b[v - 1] == '\\')
	{
		log_error("%s:%zu: %s ends with a line continuation (\\); pgfold cannot rewrite it",
				  path, line, k->key);
		return false;
	}
	k->value = (Span) { s, v };
	k->text = xstrndup(b + s, v - s);
	return true;
}

/* The [database] section of bytes (after a BOM); false (logged) on a shape
 * that reads ambiguously. */
static bool
scan(const char *path, const char *b, size_t len, IniSection *sec)
{
	size_t pos = (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0, line = 0;
	bool in = false;

	memset(sec, 0, sizeof(*sec));
	sec->eol = rw_eol(b, len);
	while (pos < len)
	{
		size_t ce, ne = next_line(b, len, pos, &ce), s = pos;

		line++;
		while (s < ce && (b[s] == ' ' || b[s] == '\t'))
			s++;
		if (s == ce || b[s] == '#' || b[s] == ';')
		{
			pos = ne;
			continue;
		}
		if (b[s] == '[')
		{
			const char *close = memchr(b + s, ']', ce - s);
			size_t n = close ? (size_t) (close - b) - s - 1 : 0;
			bool db = close != NULL && n == 8 && strncasecmp(b + s + 1, "database", 8) == 0;

			if (db && sec->found)
			{
				log_error("%s:%zu: a second [database] section (the first is on line %zu); "
						  "merge them and retry", path, line, sec->line);
				return false;
			}
			if (db)
				sec->found = true, sec->line = line, sec->insert_at = ne;
			in = db;
			pos = ne;
			continue;
		}
		if (in)
		{
			size_t d = s;

			while (d < ce && b[d] != '=' && b[d] != ':')
				d++;
			size_t ke = d;

			while (ke > s && (b[ke - 1] == ' ' || b[ke - 1] == '\t'))
				ke--;
			if (d < ce && ke > s && ke - s < sizeof(sec->keys[0].key))
			{
				IniKey *k = &sec->keys[sec->count];

				if (sec->count == INI_MAX_KEYS)
				{
					log_error("%s:%zu: more than %d keys in [database]", path, line,
							  INI_MAX_KEYS);
					return false;
				}
				memcpy(k->key, b + s, ke - s);
				k->key[ke - s] = '\0';
				for (size_t i = 0; i < sec->count; i++)
					if (strcasecmp(sec->keys[i].key, k->key) == 0)
					{
						log_error("%s:%zu: [database] sets %s twice (first on line %zu); "
								  "keep one and retry", path, line, k->key, sec->keys[i].line);
						return false;
					}
				k->line = line;
				k->line_end = ne;
				if (!parse_value(path, line, b, d + 1, ce, k))
					return false;
				sec->count++;
				sec->insert_at = ne;
			}
		}
		pos = ne;
	}
	return true;
}

static const IniKey *
find(const IniSection *sec, const char *key)
{
	for (size_t i = 0; i < sec->count; i++)
		if (strcasecmp(sec->keys[i].key, key) == 0)
			return &sec->keys[i];
	return NULL;
}

/* HOST's host part: "db:5432" -> db, "[::1]:5432" -> ::1, "/run/pg" as is. */
static void
split_host(const char *v, char *host, size_t size, bool *has_port)
{
	const char *colon = strrchr(v, ':');
	size_t n = strlen(v);

	*has_port = false;
	if (v[0] == '[' && strchr(v, ']') != NULL)
	{
		const char *close = strchr(v, ']');

		n = (size_t) (close - v) - 1;
		*has_port = close[1] == ':';
		v++;
	}
	else if (colon != NULL && colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1))
	{
		n = (size_t) (colon - v);
		*has_port = true;
	}
	if (n >= size)
		n = size - 1;
	memcpy(host, v, n);
	host[n] = '\0';
}

/* value as go-ini reads it back: as is when plain text would do, else in
 * backquotes (or double quotes); false when no quoting can hold it. */
static bool
ini_value(const char *v, bool was_quoted, char quote, StrBuf *out)
{
	bool plain = v[0] != '\0' && v[0] != ' ' && v[0] != '\t' && v[strlen(v) - 1] != ' '
		&& strpbrk(v, "#;\"`\\\r\n") == NULL && v[0] != '[';

	for (const char *p = v; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			return false;
	if (was_quoted && strchr(v, quote) == NULL)
		return sb_appendc(out, quote) && sb_appends(out, v) && sb_appendc(out, quote);
	if (plain)
		return sb_appends(out, v);
	if (strchr(v, '`') == NULL)
		return sb_appendc(out, '`') && sb_appends(out, v) && sb_appendc(out, '`');
	if (strchr(v, '"') == NULL)
		return sb_appendc(out, '"') && sb_appends(out, v) && sb_appendc(out, '"');
	return false;
}

static bool
set_key(const char *path, const char *src, const IniSection *sec, const char *key,
		const char *value, RwEdits *edits, StrBuf *added)
{
	const IniKey *k = find(sec, key);
	StrBuf v = STRBUF_INIT;
	bool ok;

	if (k != NULL)
	{
		char q = k->value.end > k->value.start ? src[k->value.start] : '\0';
		bool quoted = (q == '"' || q == '`') && k->value.end - k->value.start >= 2;

		ok = ini_value(value, quoted, q, &v)
			&& rw_replace(edits, k->value.start, k->value.end, sb_str(&v), v.len);
		if (!ok)
			log_error("%s:%zu: the new %s cannot be written in app.ini quoting", path,
					  k->line, key);
	}
	else
	{
		ok = sb_appendf(added, "%s = ", key) && ini_value(value, false, '\0', added)
			&& sb_appends(added, sec->eol);
		if (!ok)
			log_error("%s: the new %s cannot be written in app.ini quoting", path, key);
	}
	sb_free_secret(&v);
	return ok;
}

static bool
verify(const char *path, const char *bytes, size_t len, const char *const *keys,
	   const char *const *values, size_t n)
{
	IniSection sec;
	bool ok = scan(path, bytes, len, &sec) && sec.found;

	for (size_t i = 0; ok && i < n; i++)
	{
		const IniKey *k = find(&sec, keys[i]);

		ok = k != NULL && strcmp(k->text, values[i]) == 0;
	}
	section_free(&sec);
	if (!ok)
		log_error("internal error: %s: the rewritten [database] does not read back as "
				  "written; nothing was changed", path);
	return ok;
}

bool
appconfig_ini_rewrite(const char *path, const char *bytes, size_t len, const AcOld *old,
					  const AcNew *new_db, StrBuf *out, bool *matched)
{
	IniSection sec;
	char host[256];
	bool has_port = false, ok = true;

	*matched = false;
	if (!scan(path, bytes, len, &sec))
	{
		section_free(&sec);
		return false;
	}
	const IniKey *type = find(&sec, "DB_TYPE"), *h = find(&sec, "HOST");

	if (h != NULL && (type == NULL || strcasecmp(type->text, "postgres") == 0))
	{
		split_host(h->text, host, sizeof(host), &has_port);
		for (size_t i = 0; old->hosts[i] != NULL; i++)
			*matched = *matched || strcasecmp(host, old->hosts[i]) == 0;
	}
	if (!*matched)
	{
		section_free(&sec);
		return true;
	}

	char hostport[300];

	if (has_port || new_db->port != 5432)
		ok = str_format(hostport, sizeof(hostport), strchr(new_db->host, ':') ? "[%s]:%d" : "%s:%d",
						new_db->host, new_db->port);
	else
		ok = str_copy(hostport, sizeof(hostport), new_db->host);

	const char *keys[] = { "HOST", "NAME", "USER", "PASSWD" };
	const char *values[] = { hostport, new_db->dbname, new_db->user, new_db->password };
	size_t n = sizeof(keys) / sizeof(keys[0]);
	RwEdits edits = RW_EDITS_INIT;
	StrBuf added = STRBUF_INIT;
	size_t start = out->len;

	for (size_t i = 0; ok && i < n; i++)
		ok = set_key(path, bytes, &sec, keys[i], values[i], &edits, &added);
	ok = ok && rw_ac_apply(&edits, bytes, len, sec.insert_at, sec.eol, &added, out);
	ok = ok && verify(path, out->data + start, out->len - start, keys, values, n);
	if (!ok)
		rw_ac_discard(out, start);
	rw_edits_free(&edits);
	sb_free_secret(&added);
	section_free(&sec);
	return ok;
}

bool
appconfig_ini_read(const char *path, const char *bytes, size_t len,
				   char *values[APPCONFIG_PIECES], const char *names[APPCONFIG_PIECES])
{
	static const char *const keys[] = { "HOST", "HOST", "USER", "PASSWD", "NAME" };
	IniSection sec;
	char host[256];
	bool has_port = false;

	for (int i = 0; i < APPCONFIG_PIECES; i++)
	{
		values[i] = NULL;
		names[i] = (const char *const[]) { "[database] HOST", "[database] HOST (its port)",
										   "[database] USER", "[database] PASSWD",
										   "[database] NAME" }[i];
	}
	if (!scan(path, bytes, len, &sec))
	{
		section_free(&sec);
		return false;
	}
	for (int i = 0; i < APPCONFIG_PIECES; i++)
	{
		const IniKey *k = find(&sec, keys[i]);

		if (k == NULL)
			continue;
		if (i == 0)
		{
			split_host(k->text, host, sizeof(host), &has_port);
			values[0] = xstrdup(host);
			if (has_port)
				values[1] = xstrdup(strrchr(k->text, ':') + 1);
		}
		else if (i > 1)
			values[i] = xstrdup(k->text);
	}
	if (values[1] == NULL)
		values[1] = xstrdup("5432");
	section_free(&sec);
	return true;
}
