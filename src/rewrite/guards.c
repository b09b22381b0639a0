/*
 * guards.c — reasons not to remove the db service block: YAML anchors it
 * defines that other parts of the file use, and other services that reach
 * it by links, volumes_from, network_mode/pid/ipc `service:` or extends.
 * depends_on is edited, not guarded. Removing the block anyway would leave
 * a file compose (or YAML) rejects, which is what the reference tool did.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <string.h>

static bool
anchor_char(char c)
{
	return c != '\0' && strchr(" \t\r\n,[]{}", c) == NULL;
}

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		   c == '_' || c == '-' || c == '.';
}

/* Is `*name` used anywhere in src outside [skip)? */
static bool
alias_used_outside(const char *src, size_t len, Span skip, const char *name, size_t n)
{
	for (size_t i = 0; i + n < len; i++)
	{
		if (i >= skip.start && i < skip.end)
		{
			i = skip.end - 1;
			continue;
		}
		if (src[i] == '*' && memcmp(src + i + 1, name, n) == 0 &&
			(i + 1 + n == len || !anchor_char(src[i + 1 + n])) &&
			(i == 0 || !anchor_char(src[i - 1]) || src[i - 1] == ':'))
			return true;
	}
	return false;
}

bool
rw_guard_anchors(const char *path, const char *src, size_t len, Span block,
				 const char *db_key)
{
	for (size_t i = block.start; i < block.end; i++)
	{
		if (src[i] == '#' && (i == block.start || src[i - 1] == ' ' || src[i - 1] == '\n'))
		{
			while (i < block.end && src[i] != '\n')   /* comment: skip the line */
				i++;
			continue;
		}
		if (src[i] != '&' || (i > block.start && strchr(" \t:-[,", src[i - 1]) == NULL))
			continue;

		size_t s = i + 1, e = s;

		while (e < block.end && anchor_char(src[e]))
			e++;
		if (e > s && alias_used_outside(src, len, block, src + s, e - s))
		{
			log_error("%s: service %s defines the YAML anchor &%.*s that other parts of the "
					  "file use; removing it would break the file. Move the anchor out of "
					  "the db service (e.g. to an x- key) and retry", path, db_key,
					  (int) (e - s), src + s);
			return false;
		}
	}
	return true;
}

/* Does line [s, e) name key as a whole token (service:key, - key, key:alias)? */
static bool
line_names(const char *src, size_t s, size_t e, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = s; i + n <= e; i++)
	{
		if (src[i] == '#' && (i == s || src[i - 1] == ' '))
			return false;
		if (memcmp(src + i, key, n) == 0 &&
			(i == s || !name_char(src[i - 1])) && (i + n == e || !name_char(src[i + n])))
			return true;
	}
	return false;
}

static const char *const reaching_keys[] = {
	"links", "external_links", "volumes_from", "network_mode", "pid", "ipc", "extends", NULL
};

/* The key of a `key:` line (after indentation), if it is one of reaching_keys. */
static const char *
reaching_key(const char *src, size_t s, size_t e)
{
	for (size_t k = 0; reaching_keys[k] != NULL; k++)
	{
		size_t n = strlen(reaching_keys[k]);

		if (s + n < e && memcmp(src + s, reaching_keys[k], n) == 0 && src[s + n] == ':')
			return reaching_keys[k];
	}
	return NULL;
}

bool
rw_guard_references(const char *path, const ComposeFile *f, size_t db)
{
	const ComposeService *dbs = &f->services[db];

	for (size_t i = 0; i < f->service_count; i++)
	{
		const ComposeService *s = &f->services[i];
		const char *current = NULL;     /* reaching key we are inside, if any */
		size_t current_indent = 0;

		if (i == db || !rw_span_valid(s->block, f->len))
			continue;
		for (size_t pos = s->block.start; pos < s->block.end;)
		{
			const char *nl = memchr(f->bytes + pos, '\n', s->block.end - pos);
			size_t end = nl ? (size_t) (nl - f->bytes) : s->block.end;
			size_t ind = rw_line_indent(f->bytes, end, pos);
			size_t text = pos + ind;

			if (text < end && f->bytes[text] != '#')
			{
				const char *k = reaching_key(f->bytes, text, end);

				if (k != NULL)
				{
					current = k;
					current_indent = ind;
				}
				else if (current != NULL && ind <= current_indent && f->bytes[text] != '-')
					current = NULL;
				if (current != NULL && line_names(f->bytes, text, end, dbs->key))
				{
					log_error("%s: service %s reaches %s through %s; pgfold would leave it "
							  "pointing at a removed service. Remove that reference (the "
							  "shared instance is reached by host name) and retry",
							  path, s->key, dbs->key, current);
					return false;
				}
			}
			pos = nl ? end + 1 : s->block.end;
		}
	}
	return true;
}

static bool
inside_edit(const RwEdits *edits, size_t pos)
{
	for (size_t i = 0; i < edits->count; i++)
		if (pos >= edits->items[i].start && pos < edits->items[i].end)
			return true;
	return false;
}

static size_t
line_number(const char *src, size_t pos)
{
	size_t n = 1;

	for (size_t i = 0; i < pos; i++)
		n += src[i] == '\n';
	return n;
}

/* Mentions of name as a whole token in non-comment text of service s,
 * outside the edits; one warning per line. */
static void
scan_mentions(const char *path, const ComposeFile *f, const ComposeService *s,
			  const RwEdits *edits, const char *name, char ***out, size_t *count)
{
	size_t n = strlen(name);

	for (size_t pos = s->block.start; n > 0 && pos < s->block.end;)
	{
		const char *nl = memchr(f->bytes + pos, '\n', s->block.end - pos);
		size_t end = nl ? (size_t) (nl - f->bytes) : s->block.end;

		for (size_t i = pos; i + n <= end; i++)
		{
			if (f->bytes[i] == '#' && (i == pos || f->bytes[i - 1] == ' ' || f->bytes[i - 1] == '\t'))
				break;   /* the rest of the line is a comment */
			if (memcmp(f->bytes + i, name, n) != 0 || inside_edit(edits, i) ||
				(i > pos && name_char(f->bytes[i - 1])) ||
				(i + n < end && name_char(f->bytes[i + n])))
				continue;

			StrBuf w = STRBUF_INIT;

			sb_appendf(&w, "%s:%zu: service %s still mentions %s; pgfold left it as it is: "
					   "check that it does not need the removed database service",
					   path, line_number(f->bytes, i), s->key, name);
			log_warn("%s", sb_str(&w));
			*out = xrealloc(*out, *count + 1, sizeof(char *));
			(*out)[(*count)++] = sb_steal(&w);
			break;
		}
		pos = nl ? end + 1 : s->block.end;
	}
}

void
rw_warn_mentions(const char *path, const StackService *svc, const RwEdits *edits,
				 char ***out, size_t *count)
{
	const ComposeFile *f = &svc->file;
	const ComposeService *db = &f->services[svc->db_service];
	const char *names[2] = { db->key, svc->db_container };

	for (size_t i = 0; i < f->service_count; i++)
	{
		if (i == (size_t) svc->db_service)
			continue;
		for (int k = 0; k < 2; k++)
			if (names[k] != NULL && (k == 0 || strcmp(names[0], names[1]) != 0))
				scan_mentions(path, f, &f->services[i], edits, names[k], out, count);
	}
}
