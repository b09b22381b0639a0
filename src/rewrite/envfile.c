/*
 * envfile.c — set one KEY=value in .env bytes and keep every other line
 * byte for byte (comments, order, quoting, line endings). compose 1.29 reads
 * .env with python-dotenv: unquoted values lose a ` #` comment and are
 * interpolated, single-quoted ones are literal. So a value is written bare
 * only when it is made of harmless characters, else single-quoted.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <ctype.h>
#include <string.h>

static bool
key_valid(const char *k)
{
	if (k == NULL || !(isalpha((unsigned char) k[0]) || k[0] == '_') || strlen(k) > 255)
		return false;
	for (const char *p = k; *p; p++)
		if (!isalnum((unsigned char) *p) && *p != '_')
			return false;
	return true;
}

static bool
encode_value(const char *key, const char *v, StrBuf *out)
{
	static const char bare[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,=?&-";
	size_t n = strlen(v);

	for (const unsigned char *p = (const unsigned char *) v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
		{
			log_error("the value for %s in .env contains a control character or newline; "
					  "refusing to write it", key);
			return false;
		}
	if (n > RW_MAX_VALUE)
	{
		log_error("the value for %s in .env is too long (%zu bytes)", key, n);
		return false;
	}
	if (strspn(v, bare) == n)
		return sb_append(out, v, n);
	if (strchr(v, '\'') == NULL)
		return sb_appendc(out, '\'') && sb_append(out, v, n) && sb_appendc(out, '\'');
	if (strpbrk(v, "\"\\$`") == NULL)
		return sb_appendc(out, '"') && sb_append(out, v, n) && sb_appendc(out, '"');
	log_error("the value for %s mixes quotes and $ in a way .env cannot hold literally; "
			  "refusing to write it", key);
	return false;
}

/* If line [s, e) (no newline) assigns key, set *export_len to the length of
 * its `export ` prefix (0 if none) and return true. */
static bool
line_assigns(const char *b, size_t s, size_t e, const char *key, size_t *export_len)
{
	size_t i = s, n = strlen(key);

	while (i < e && (b[i] == ' ' || b[i] == '\t'))
		i++;
	*export_len = 0;
	if (e - i > 7 && memcmp(b + i, "export", 6) == 0 && (b[i + 6] == ' ' || b[i + 6] == '\t'))
	{
		i += 7;
		while (i < e && (b[i] == ' ' || b[i] == '\t'))
			i++;
		*export_len = 1;
	}
	if (e - i < n || memcmp(b + i, key, n) != 0)
		return false;
	i += n;
	while (i < e && (b[i] == ' ' || b[i] == '\t'))
		i++;
	return i < e && b[i] == '=';
}

bool
rewrite_env_file_set(const char *env, size_t len, const char *key, const char *value,
					 StrBuf *out)
{
	StrBuf assign = STRBUF_INIT;
	bool ok = true, found = false;

	if (!key_valid(key))
	{
		log_error("'%s' is not a valid .env variable name", key ? key : "");
		return false;
	}
	if (len > RW_MAX_FILE)
	{
		log_error(".env is too large (%zu bytes)", len);
		return false;
	}
	if (value == NULL || !sb_appendf(&assign, "%s=", key) || !encode_value(key, value, &assign))
	{
		sb_free_secret(&assign);
		return false;
	}

	const char *eol = rw_eol(env ? env : "", env ? len : 0);

	for (size_t pos = 0; ok && env != NULL && pos < len;)
	{
		const char *nl = memchr(env + pos, '\n', len - pos);
		size_t end = nl ? (size_t) (nl - env) : len;
		size_t text_end = end > pos && env[end - 1] == '\r' ? end - 1 : end;
		size_t export_len;

		if (line_assigns(env, pos, text_end, key, &export_len))
		{
			found = true;
			ok = (export_len == 0 || sb_appends(out, "export ")) &&
				 sb_append(out, sb_str(&assign), assign.len) &&
				 sb_append(out, env + text_end, (nl ? end + 1 : end) - text_end);
		}
		else
			ok = sb_append(out, env + pos, (nl ? end + 1 : end) - pos);
		pos = nl ? end + 1 : len;
	}
	if (ok && !found)
	{
		if (env != NULL && len > 0 && env[len - 1] != '\n')
			ok = sb_appends(out, eol);
		ok = ok && sb_append(out, sb_str(&assign), assign.len) && sb_appends(out, eol);
	}
	sb_free_secret(&assign);
	return ok;
}

bool
rewrite_env_file_unset(const char *env, size_t len, const char *key, StrBuf *out,
					   bool *removed)
{
	size_t export_len;

	*removed = false;
	if (!key_valid(key))
	{
		log_error("'%s' is not a valid .env variable name", key ? key : "");
		return false;
	}
	for (size_t pos = 0; env != NULL && pos < len;)
	{
		const char *nl = memchr(env + pos, '\n', len - pos);
		size_t end = nl ? (size_t) (nl - env) : len;
		size_t text_end = end > pos && env[end - 1] == '\r' ? end - 1 : end;
		size_t next = nl ? end + 1 : len;

		if (line_assigns(env, pos, text_end, key, &export_len))
			*removed = true;
		else if (!sb_append(out, env + pos, next - pos))
			return false;
		pos = next;
	}
	return true;
}
