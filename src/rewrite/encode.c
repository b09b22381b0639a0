/*
 * encode.c — writing a value into an existing YAML scalar without changing
 * what the rest of the scalar, or the file, means: percent-encoding for URL
 * pieces, compose's `$$`, and the escaping of each quoting style. Values
 * that a style cannot hold safely are refused (or, for a whole plain map
 * value, double-quoted), never written in a way that changes type or
 * structure.
 */
#include "rw_internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

bool
rw_pct_encode(const char *s, StrBuf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	bool ok = true;

	for (const unsigned char *p = (const unsigned char *) s; ok && *p; p++)
	{
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			ok = sb_appendc(out, (char) *p);
		else
			ok = sb_appendc(out, '%') && sb_appendc(out, hex[*p >> 4]) &&
				 sb_appendc(out, hex[*p & 15]);
	}
	return ok;
}

bool
rw_compose_escape(const char *s, StrBuf *out)
{
	bool ok = true;

	for (const char *p = s; ok && *p; p++)
		ok = *p == '$' ? sb_append(out, "$$", 2) : sb_appendc(out, *p);
	return ok;
}

/* Can s sit inside (or be) a plain scalar in block context unchanged? */
static bool
plain_syntax_safe(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || str_has_control(s) || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':')
		return false;
	return strstr(s, ": ") == NULL && strstr(s, " #") == NULL;
}

/* Would YAML 1.1 (PyYAML, what compose 1.29 uses) read s as a string, or
 * as an int that prints back as s? Conservative: when unsure, no. */
static bool
yaml11_keeps_text(const char *s)
{
	static const char *const words[] = {
		"y", "n", "yes", "no", "true", "false", "on", "off", "null", NULL
	};
	size_t n = strlen(s);

	if (n > 0 && n < 19 && (s[0] != '0' || n == 1) && strspn(s, "0123456789") == n)
		return true;
	if (!isalpha((unsigned char) s[0]) && s[0] != '$' && s[0] != '/')
		return false;
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

bool
rw_yaml_double_quote(const char *s, StrBuf *out)
{
	bool ok = sb_appendc(out, '"');

	if (str_has_control(s))
		return false;
	for (const char *p = s; ok && *p; p++)
	{
		if (*p == '"' || *p == '\\')
			ok = sb_appendc(out, '\\');
		ok = ok && sb_appendc(out, *p);
	}
	return ok && sb_appendc(out, '"');
}

bool
rw_encode_in_scalar(YamlStyle style, bool whole_map_value, const char *raw, StrBuf *out)
{
	if (strlen(raw) > RW_MAX_VALUE || str_has_control(raw))
		return false;
	switch (style)
	{
		case YSTYLE_DOUBLE:
			for (const char *p = raw; *p; p++)
				if (!((*p == '"' || *p == '\\') ? sb_appendc(out, '\\') : true) ||
					!sb_appendc(out, *p))
					return false;
			return true;
		case YSTYLE_SINGLE:
			for (const char *p = raw; *p; p++)
				if (!(*p == '\'' ? sb_appendc(out, '\'') : true) || !sb_appendc(out, *p))
					return false;
			return true;
		case YSTYLE_PLAIN:
			if (whole_map_value && !(plain_syntax_safe(raw) && yaml11_keeps_text(raw)))
				return rw_yaml_double_quote(raw, out);
			return plain_syntax_safe(raw) && sb_appends(out, raw);
		case YSTYLE_LITERAL:
		case YSTYLE_FOLDED:
		default:
			return false;
	}
}

static bool
decode_double(const char *b, size_t n, StrBuf *out)
{
	bool ok = true;

	for (size_t i = 0; ok && i < n; i++)
	{
		if (b[i] == '\n' || b[i] == '\r')
			return false;            /* folding: not ours to second-guess */
		if (b[i] != '\\')
		{
			ok = sb_appendc(out, b[i]);
			continue;
		}
		if (++i >= n)
			return false;
		switch (b[i])
		{
			case '\\': case '"': case '/': ok = sb_appendc(out, b[i]); break;
			case 't': ok = sb_appendc(out, '\t'); break;
			case 'n': ok = sb_appendc(out, '\n'); break;
			case 'r': ok = sb_appendc(out, '\r'); break;
			case ' ': ok = sb_appendc(out, ' '); break;
			case 'x':
			{
				int hi = i + 2 < n ? str_hexval(b[i + 1]) : -1;
				int lo = i + 2 < n ? str_hexval(b[i + 2]) : -1;

				if (hi < 0 || lo < 0 || hi * 16 + lo >= 0x80)
					return false;
				ok = sb_appendc(out, (char) (hi * 16 + lo));
				i += 2;
				break;
			}
			default:
				return false;
		}
	}
	return ok;
}

bool
rw_scalar_decode(const char *bytes, size_t len, StrBuf *out)
{
	if (len >= 2 && bytes[0] == '"' && bytes[len - 1] == '"')
		return decode_double(bytes + 1, len - 2, out);
	if (len >= 2 && bytes[0] == '\'' && bytes[len - 1] == '\'')
	{
		bool ok = true;

		for (size_t i = 1; ok && i + 1 < len; i++)
		{
			char c = bytes[i];

			if (c == '\n' || c == '\r')
				return false;
			if (c == '\'')
			{
				if (i + 2 < len && bytes[i + 1] == '\'')
					i++;              /* '' is one quote */
				else
					return false;
			}
			ok = sb_appendc(out, c);
		}
		return ok;
	}
	if (len > 0 && (bytes[0] == '|' || bytes[0] == '>' || bytes[0] == '"' || bytes[0] == '\''))
		return false;
	if (memchr(bytes, '\n', len) != NULL)
		return false;
	return sb_append(out, bytes, len);
}
