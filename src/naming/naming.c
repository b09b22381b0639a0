/*
 * naming.c — the naming rule of naming.h: template, normalization,
 * truncation with a hash suffix, reserved names.
 */
#include "pgfold/naming.h"

#include "pgfold/fsutil.h"
#include "pgfold/str.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_HEX 8

static bool
name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Cut to fit 63 - len(suffix) bytes with '_' + 8 hex of the SHA-256 of
 * whole, then the suffix. */
static void
cut_with_hash(const char *name, const char *whole, const char *suffix,
			  char out[NAMING_MAX + 1])
{
	char hex[FS_SHA256_HEX_LEN + 1];
	size_t keep = NAMING_MAX - strlen(suffix) - 1 - HASH_HEX;

	fs_sha256_bytes(whole, strlen(whole), hex);
	hex[HASH_HEX] = '\0';
	str_format(out, NAMING_MAX + 1, "%.*s_%s%s", (int) keep, name, hex, suffix);
}

bool
naming_normalize(const char *text, char out[NAMING_MAX + 1], bool *changed, bool *truncated)
{
	StrBuf b = STRBUF_INIT;
	bool alnum = false;

	*changed = false;
	*truncated = false;
	for (const unsigned char *p = (const unsigned char *) text; *p; p++)
	{
		unsigned char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char) (c - 'A' + 'a');
		if ((c & 0xC0) == 0x80 && p != (const unsigned char *) text && (p[-1] & 0x80))
		{
			*changed = true;       /* a UTF-8 continuation: its character has its '_' */
			continue;
		}
		if (!name_byte(c))
			c = '_';
		if (c != *p)
			*changed = true;
		alnum = alnum || c != '_';
		sb_append(&b, (const char *) &c, 1);
	}
	out[0] = '\0';
	if (!alnum)
	{
		sb_free(&b);
		return false;
	}
	if (b.len > NAMING_MAX)
	{
		cut_with_hash(b.data, b.data, "", out);
		*truncated = true;
	}
	else
		str_copy(out, NAMING_MAX + 1, b.data);
	sb_free(&b);
	return true;
}

bool
naming_reserved(const char *name, const char *admin_role)
{
	static const char *const reserved[] = { "postgres", "template0", "template1" };

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return true;
	if (strncmp(name, "pg_", 3) == 0)
		return true;
	return admin_role != NULL && admin_role[0] != '\0' && strcmp(name, admin_role) == 0;
}

bool
naming_valid(const char *name, const char *admin_role, char *why, size_t why_len)
{
	char norm[NAMING_MAX + 1];
	bool changed, truncated;

	if (name[0] == '\0')
	{
		str_format(why, why_len, "is empty");
		return false;
	}
	if (!naming_normalize(name, norm, &changed, &truncated))
	{
		str_format(why, why_len, "has no letter or digit");
		return false;
	}
	if (changed || truncated)
	{
		str_format(why, why_len, "is not a name the rule keeps (lowercase a-z, 0-9 and '_', "
				   "at most %d bytes): use \"%s\"", NAMING_MAX, norm);
		return false;
	}
	if (naming_reserved(name, admin_role))
	{
		str_format(why, why_len, "is reserved (postgres, template0, template1, pg_*, "
				   "and the admin role%s%s)", admin_role ? " " : "", admin_role ? admin_role : "");
		return false;
	}
	return true;
}

bool
naming_with_suffix(const char *name, const char *suffix, char out[NAMING_MAX + 1])
{
	if (strlen(suffix) + 1 + HASH_HEX >= NAMING_MAX)
		return false;
	if (strlen(name) + strlen(suffix) <= NAMING_MAX)
		return str_format(out, NAMING_MAX + 1, "%s%s", name, suffix);
	cut_with_hash(name, name, suffix, out);
	return true;
}

const char *
naming_login_user(void)
{
	const char *u = getenv("PGUSER");
	struct passwd *pw;

	if (u != NULL && u[0] != '\0')
		return u;
	pw = getpwuid(geteuid());
	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
		return pw->pw_name;
	u = getenv("USER");
	return u != NULL && u[0] != '\0' ? u : "user";
}

static const char *
database_name(const NamingInputs *in, const char **from)
{
	if (in->meta_database_name != NULL && in->meta_database_name[0] != '\0')
	{
		*from = "the file's \"# database_name:\"";
		return in->meta_database_name;
	}
	if (in->postgres_db != NULL && in->postgres_db[0] != '\0')
	{
		*from = "the dedicated container's POSTGRES_DB";
		return in->postgres_db;
	}
	*from = "the service name";
	return in->service != NULL ? in->service : "";
}

/* Expand the template's placeholders into b; false with err on an unknown
 * or unterminated one. */
static bool
expand(const NamingInputs *in, const char *tmpl, StrBuf *b, const char **from,
	   char *err, size_t err_len)
{
	for (const char *p = tmpl; *p; p++)
	{
		const char *end;
		size_t n;

		if (*p != '{')
		{
			sb_append(b, p, 1);
			continue;
		}
		end = strchr(p, '}');
		if (end == NULL)
		{
			str_format(err, err_len, "%s \"%s\": '{' without '}'", NAMING_TEMPLATE_VAR, tmpl);
			return false;
		}
		n = (size_t) (end - p - 1);
		if (n == 13 && strncmp(p + 1, "database_name", n) == 0)
			sb_appendf(b, "%s", database_name(in, from));
		else if (n == 7 && strncmp(p + 1, "service", n) == 0)
			sb_appendf(b, "%s", in->service ? in->service : "");
		else if (n == 4 && strncmp(p + 1, "user", n) == 0)
			sb_appendf(b, "%s", in->user ? in->user : naming_login_user());
		else
		{
			str_format(err, err_len, "%s \"%s\": unknown placeholder {%.*s} (known: "
					   "{database_name}, {service}, {user})", NAMING_TEMPLATE_VAR, tmpl,
					   (int) (n > 40 ? 40 : n), p + 1);
			return false;
		}
		p = end;
	}
	return true;
}

bool
naming_apply(const NamingInputs *in, NamingResult *out, char *err, size_t err_len)
{
	const char *tmpl = in->template_text && in->template_text[0] ? in->template_text
		: NAMING_DEFAULT_TEMPLATE;
	StrBuf b = STRBUF_INIT;
	bool ok;

	memset(out, 0, sizeof(*out));
	out->template_text = tmpl;
	ok = expand(in, tmpl, &b, &out->database_from, err, err_len);
	if (ok)
	{
		str_format(out->expanded, sizeof(out->expanded), "%.*s",
				   (int) (sizeof(out->expanded) - 1), b.data ? b.data : "");
		ok = naming_normalize(b.data ? b.data : "", out->name, &out->changed, &out->truncated);
		if (!ok)
			str_format(err, err_len, "%s \"%s\" gives \"%.64s\": no letter or digit in it",
					   NAMING_TEMPLATE_VAR, tmpl, b.data ? b.data : "");
	}
	if (ok && naming_reserved(out->name, in->admin_role))
	{
		str_format(err, err_len, "the rule gives \"%s\", a reserved name (postgres, template0, "
				   "template1, pg_*, the admin role): set %s or pass --db",
				   out->name, NAMING_TEMPLATE_VAR);
		ok = false;
	}
	sb_free(&b);
	return ok;
}
