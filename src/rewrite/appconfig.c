/*
 * appconfig.c — which format an app's own configuration file is, the
 * rewrite of the known ones (appconfig_yaml.c, appconfig_ini.c), and the
 * lines of any file that name the old database (for the formats pgfold
 * does not know: the operator changes them, pgfold says where and how).
 */
#include "pgfold/appconfig.h"
#include "pgfold/refs.h"

#include "pgfold/log.h"
#include "rw_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>


static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

AcFormat
appconfig_format(const char *path, const char *bytes, size_t len)
{
	const char *b = base_name(path);

	if (str_has_suffix(b, ".yaml") || str_has_suffix(b, ".yml"))
		return memmem(bytes, len, "database", 8) != NULL ? AC_FORMAT_SYNAPSE_YAML
														 : AC_FORMAT_UNKNOWN;
	if (str_has_suffix(b, ".ini") || str_has_suffix(b, ".conf"))
	{
		/* a [database] section header at the start of a line */
		for (const char *p = bytes; p != NULL && (size_t) (p - bytes) < len;)
		{
			const char *hit = memmem(p, len - (size_t) (p - bytes), "[database]", 10);

			if (hit == NULL)
				break;
			const char *ls = hit;

			while (ls > bytes && (ls[-1] == ' ' || ls[-1] == '\t'))
				ls--;
			if (ls == bytes || ls[-1] == '\n' || ls[-1] == '\r' ||
				(ls - bytes == 3 && memcmp(bytes, "\xEF\xBB\xBF", 3) == 0))
				return AC_FORMAT_INI_DATABASE;
			p = hit + 10;
		}
	}
	return AC_FORMAT_UNKNOWN;
}

const char *
appconfig_format_name(AcFormat format)
{
	switch (format)
	{
		case AC_FORMAT_SYNAPSE_YAML: return "YAML database.args (Synapse)";
		case AC_FORMAT_INI_DATABASE: return "INI [database] (Gitea/Forgejo)";
		default: return "unknown format";
	}
}

bool
appconfig_rewrite(AcFormat format, const char *path, const char *bytes, size_t len,
				  const AcOld *old, const AcNew *new_db, StrBuf *out, bool *matched)
{
	*matched = false;
	if (len > APPCONFIG_MAX_BYTES || memchr(bytes, '\0', len) != NULL)
	{
		log_error("%s: %s; pgfold does not edit it", path, len > APPCONFIG_MAX_BYTES
				  ? "larger than 1 MiB" : "holds NUL bytes (not a text file)");
		return false;
	}
	switch (format)
	{
		case AC_FORMAT_SYNAPSE_YAML:
			return appconfig_yaml_rewrite(path, bytes, len, old, new_db, out, matched);
		case AC_FORMAT_INI_DATABASE:
			return appconfig_ini_rewrite(path, bytes, len, old, new_db, out, matched);
		default:
			log_error("internal error: %s: no rewriter for an unknown format", path);
			return false;
	}
}

bool
appconfig_read(AcFormat format, const char *path, const char *bytes, size_t len,
			   char *values[APPCONFIG_PIECES], const char *names[APPCONFIG_PIECES])
{
	for (int i = 0; i < APPCONFIG_PIECES; i++)
		values[i] = NULL, names[i] = NULL;
	if (len > APPCONFIG_MAX_BYTES || memchr(bytes, '\0', len) != NULL)
	{
		log_error("%s: not a text file of at most 1 MiB", path);
		return false;
	}
	switch (format)
	{
		case AC_FORMAT_SYNAPSE_YAML:
			return appconfig_yaml_read(path, bytes, len, values, names);
		case AC_FORMAT_INI_DATABASE:
			return appconfig_ini_read(path, bytes, len, values, names);
		default:
			log_error("internal error: %s: no reader for an unknown format", path);
			return false;
	}
}

void
appconfig_values_free(char *values[APPCONFIG_PIECES])
{
	for (int i = 0; i < APPCONFIG_PIECES; i++)
	{
		rw_free_secret(values[i]);
		values[i] = NULL;
	}
}

bool
rw_ac_apply(RwEdits *edits, const char *bytes, size_t len, size_t at, const char *eol,
			const StrBuf *added, StrBuf *out)
{
	bool ok = true;

	if (added->len > 0 && at == len && len > 0 && bytes[len - 1] != '\n'
		&& bytes[len - 1] != '\r')
		ok = rw_insert(edits, len, eol, strlen(eol));
	ok = ok && (added->len == 0 || rw_insert(edits, at, added->data, added->len));
	return ok && rw_apply(edits, bytes, len, out);
}

void
rw_ac_discard(StrBuf *out, size_t start)
{
	if (out->len <= start)
		return;
	explicit_bzero(out->data + start, out->len - start);
	out->len = start;
	out->data[start] = '\0';
}

/* ---- references ---------------------------------------------------------- */

/* Bytes a host name, user or database name is made of: a match must not
 * be part of a longer one (`db` in `db2`, `mydb`, `db.example.org`). */
/* Does line [s, e) hold word as a whole word? The matcher of `pgfold refs`,
 * so both searches agree on what a reference is. */
static bool
has_word(const char *b, size_t s, size_t e, const char *word)
{
	return refs_has_word(b, s, e, word);
}

static bool
file_has_word(const char *b, size_t len, const char *word)
{
	return word != NULL && has_word(b, 0, len, word);
}

static void
add_change(StrBuf *c, const char *what, const char *from, const char *to)
{
	sb_appendf(c, "%s%s `%s` -> `%s`", c->len ? "; " : "", what, from, to);
}

bool
appconfig_find_refs(const char *bytes, size_t len, const AcOld *old, const AcNew *new_db,
					AcRef **refs, size_t *count)
{
	char port_old[16], port_new[16];
	bool host = false;

	snprintf(port_old, sizeof(port_old), "%d", old->port);
	snprintf(port_new, sizeof(port_new), "%d", new_db->port);
	if (len > APPCONFIG_MAX_BYTES || memchr(bytes, '\0', len) != NULL)
		return true;    /* not a text configuration file */
	for (size_t i = 0; old->hosts[i] != NULL; i++)
		host = host || file_has_word(bytes, len, old->hosts[i]);
	/* a service key alone (`db`) is too common a word: the file must also
	 * name the port, user or database the app used */
	if (!host || !(file_has_word(bytes, len, port_old) || file_has_word(bytes, len, old->user)
				   || file_has_word(bytes, len, old->dbname)))
		return true;

	size_t pos = 0, line = 0, cap = *count, s, e;

	/* lines and their shown text as `pgfold refs` has them */
	while (*count < APPCONFIG_MAX_REFS && refs_next_line(bytes, len, &pos, &s, &e))
	{
		line++;

		StrBuf change = STRBUF_INIT;

		for (size_t i = 0; old->hosts[i] != NULL; i++)
			if (has_word(bytes, s, e, old->hosts[i]))
			{
				add_change(&change, "host", old->hosts[i], new_db->host);
				break;
			}
		if (old->port != new_db->port && has_word(bytes, s, e, port_old))
			add_change(&change, "port", port_old, port_new);
		if (old->user && strcmp(old->user, new_db->user) != 0 && has_word(bytes, s, e, old->user))
			add_change(&change, "user", old->user, new_db->user);
		if (old->dbname && strcmp(old->dbname, new_db->dbname) != 0
			&& has_word(bytes, s, e, old->dbname))
			add_change(&change, "database", old->dbname, new_db->dbname);
		if (change.len > 0)
		{
			if (*count == cap)
			{
				cap = cap ? cap * 2 : 8;
				*refs = xrealloc(*refs, cap, sizeof(AcRef));
			}
			(*refs)[*count] = (AcRef) { line, refs_line_text(bytes + s, e - s), sb_steal(&change) };
			(*count)++;
		}
		sb_free(&change);
	}
	return true;
}

void
appconfig_refs_free(AcRef *refs, size_t count)
{
	for (size_t i = 0; i < count; i++)
	{
		free(refs[i].text);
		free(refs[i].change);
	}
	free(refs);
}
