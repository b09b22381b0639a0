/*
 * files.c — the migration directory: names, reading, sums, statements.
 * See schema.h.
 */
#include "pgfold/schema.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const suffixes[SCHEMA_KIND_COUNT] = { ".up.sql", ".down.sql", ".check.sql" };

const char *
schema_kind_suffix(SchemaKind kind)
{
	return (unsigned) kind < SCHEMA_KIND_COUNT ? suffixes[kind] : "";
}

bool
schema_name_parse(const char *base, char version[SCHEMA_VERSION_MAX + 1],
				  char name[SCHEMA_NAME_MAX + 1], SchemaKind *kind)
{
	size_t len = strlen(base), v = 0, n;
	const char *us;

	for (int k = 0; k < SCHEMA_KIND_COUNT; k++)
	{
		size_t sl = strlen(suffixes[k]);

		if (len <= sl || strcmp(base + len - sl, suffixes[k]) != 0)
			continue;
		while (isdigit((unsigned char) base[v]))
			v++;
		if (v == 0 || v > SCHEMA_VERSION_MAX || base[v] != '_')
			return false;
		us = base + v + 1;
		n = (size_t) (base + len - sl - us);
		if (n == 0 || n > SCHEMA_NAME_MAX)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char) us[i]) && us[i] != '_' && us[i] != '-')
				return false;
		memcpy(version, base, v);
		version[v] = '\0';
		memcpy(name, us, n);
		name[n] = '\0';
		*kind = (SchemaKind) k;
		return true;
	}
	return false;
}

int
schema_version_cmp(const char *a, const char *b)
{
	size_t la, lb;

	while (*a == '0' && a[1] != '\0')
		a++;
	while (*b == '0' && b[1] != '\0')
		b++;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* ---- reading ---------------------------------------------------------- */

void
schema_normalise(const char *bytes, size_t len, StrBuf *out)
{
	size_t i = 0;

	sb_reset(out);
	sb_append(out, "", 0);
	if (len >= 3 && memcmp(bytes, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	for (; i < len; i++)
	{
		if (bytes[i] == '\r')
		{
			sb_appendc(out, '\n');
			if (i + 1 < len && bytes[i + 1] == '\n')
				i++;
		}
		else
			sb_appendc(out, bytes[i]);
	}
}

bool
schema_read(const char *path, StrBuf *out)
{
	StrBuf raw = STRBUF_INIT;

	if (!fs_read_file(path, SCHEMA_FILE_MAX_BYTES, &raw))
	{
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (memchr(sb_str(&raw), '\0', raw.len) != NULL)
	{
		log_error("%s holds a NUL byte: not an SQL file", path);
		exit_hint_set(EXIT_USAGE);
		sb_free(&raw);
		return false;
	}
	schema_normalise(sb_str(&raw), raw.len, out);
	sb_free(&raw);
	return true;
}

void
schema_sum(const char *bytes, size_t len, char hex[FS_SHA256_HEX_LEN + 1])
{
	fs_sha256_bytes(bytes, len, hex);
}

/* ---- the directory ---------------------------------------------------- */

static int
file_cmp(const void *a, const void *b)
{
	return schema_version_cmp(((const SchemaFile *) a)->version,
							  ((const SchemaFile *) b)->version);
}

bool
schema_file_name(const SchemaFile *f, SchemaKind kind, char *out, size_t size)
{
	return str_format(out, size, "%s_%s%s", f->version, f->name, schema_kind_suffix(kind));
}

bool
schema_file_path(const SchemaDir *d, const SchemaFile *f, SchemaKind kind, char *out,
				 size_t size)
{
	char base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];

	return schema_file_name(f, kind, base, sizeof(base))
		&& str_format(out, size, "%s/%s", d->path, base);
}

const SchemaFile *
schema_dir_find(const SchemaDir *d, const char *version)
{
	for (size_t i = 0; i < d->count; i++)
		if (schema_version_cmp(d->files[i].version, version) == 0)
			return &d->files[i];
	return NULL;
}

static SchemaFile *
entry_for(SchemaDir *d, const char *version, const char *name, const char *base)
{
	for (size_t i = 0; i < d->count; i++)
	{
		SchemaFile *f = &d->files[i];

		if (schema_version_cmp(f->version, version) != 0)
			continue;
		if (strcmp(f->name, name) != 0)
		{
			log_error("%s/%s: version %s is already taken by %s_%s; every version has one "
					  "name (rename one of them to a new version)", d->path, base, version,
					  f->version, f->name);
			exit_hint_set(EXIT_USAGE);
			return NULL;
		}
		return f;
	}
	if (d->count >= SCHEMA_FILES_MAX)
	{
		log_error("%s: more than %d migrations", d->path, SCHEMA_FILES_MAX);
		exit_hint_set(EXIT_USAGE);
		return NULL;
	}
	d->files = xrealloc(d->files, d->count + 1, sizeof(SchemaFile));
	memset(&d->files[d->count], 0, sizeof(SchemaFile));
	str_copy(d->files[d->count].version, sizeof(d->files[0].version), version);
	str_copy(d->files[d->count].name, sizeof(d->files[0].name), name);
	return &d->files[d->count++];
}

static bool
add_file(SchemaDir *d, const char *base)
{
	char version[SCHEMA_VERSION_MAX + 1], name[SCHEMA_NAME_MAX + 1], path[PATH_MAX];
	SchemaKind kind;
	SchemaFile *f;
	StrBuf sql = STRBUF_INIT;

	if (!schema_name_parse(base, version, name, &kind))
	{
		if (str_has_suffix(base, ".sql"))
		{
			log_error("%s/%s: not a migration name; use <version>_<name>.up.sql, .down.sql or "
					  ".check.sql (version: digits; name: letters, digits, _ and -)", d->path,
					  base);
			exit_hint_set(EXIT_USAGE);
			return false;
		}
		return true;    /* pgfold.sum, README, seeds/ ... */
	}
	if ((f = entry_for(d, version, name, base)) == NULL)
		return false;
	if (!str_format(path, sizeof(path), "%s/%s", d->path, base) || !schema_read(path, &sql))
		return false;
	f->has[kind] = true;
	schema_sum(sb_str(&sql), sql.len, f->sum[kind]);
	sb_free(&sql);
	return true;
}

bool
schema_dir_load(const char *dir, SchemaDir *out)
{
	DIR *dh;
	struct dirent *e;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if (!str_copy(out->path, sizeof(out->path), dir))
	{
		log_error("migration directory path too long: %s", dir);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if ((dh = opendir(dir)) == NULL)
	{
		log_error("cannot read the migration directory %s: %s; create the first migration "
				  "with `pgfold schema create NAME ...` or give --dir", dir, strerror(errno));
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	while (ok && (e = readdir(dh)) != NULL)
		if (e->d_name[0] != '.')
			ok = add_file(out, e->d_name);
	closedir(dh);
	if (!ok)
	{
		schema_dir_free(out);
		return false;
	}
	qsort(out->files, out->count, sizeof(SchemaFile), file_cmp);
	for (size_t i = 0; i < out->count; i++)
		if (!out->files[i].has[SCHEMA_UP])
		{
			log_error("%s: %s_%s has no .up.sql file; every migration starts with one", dir,
					  out->files[i].version, out->files[i].name);
			exit_hint_set(EXIT_USAGE);
			schema_dir_free(out);
			return false;
		}
	return true;
}

void
schema_dir_free(SchemaDir *d)
{
	free(d->files);
	memset(d, 0, sizeof(*d));
}

/* ---- directives and statements ------------------------------------------ */

bool
schema_no_transaction(const char *sql)
{
	size_t n = strlen(SCHEMA_NO_TX_DIRECTIVE);

	for (const char *p = sql; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
	{
		const char *s = p;

		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, SCHEMA_NO_TX_DIRECTIVE, n) == 0)
		{
			s += n;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s == '\n' || *s == '\0')
				return true;
		}
	}
	return false;
}

static void
push_stmt(SchemaStmts *out, const char *from, const char *to, size_t line)
{
	bool code = false;
	const char *p = from;

	/* drop statements of only comments and blanks */
	while (p < to)
	{
		if (isspace((unsigned char) *p))
			p++;
		else if (p + 1 < to && p[0] == '-' && p[1] == '-')
		{
			while (p < to && *p != '\n')
				p++;
		}
		else if (p + 1 < to && p[0] == '/' && p[1] == '*')
		{
			const char *e = strstr(p + 2, "*/");

			p = e && e < to ? e + 2 : to;
		}
		else
		{
			code = true;
			break;
		}
	}
	if (!code)
		return;
	/* the statement starts at its first code byte: leading comments go */
	for (; from < p; from++)
		if (*from == '\n')
			line++;
	while (to > from && isspace((unsigned char) to[-1]))
		to--;
	out->items = xrealloc(out->items, out->count + 1, sizeof(SchemaStmt));
	out->items[out->count].text = xstrndup(from, (size_t) (to - from));
	out->items[out->count].line = line;
	out->count++;
}

static bool
word_at(const char *p, const char *start, const char *w)
{
	size_t n = strlen(w);

	return (p == start || !(isalnum((unsigned char) p[-1]) || p[-1] == '_'))
		&& strncasecmp(p, w, n) == 0 && !(isalnum((unsigned char) p[n]) || p[n] == '_');
}

bool
schema_split(const char *sql, const char *path, SchemaStmts *out)
{
	const char *p = sql, *begin = sql;
	size_t line = 1, begin_line = 1;
	int atomic = 0;         /* inside BEGIN ATOMIC ... END (SQL-standard bodies) */

	memset(out, 0, sizeof(*out));
	while (*p)
	{
		size_t start_line = line;

		if (*p == '\n')
		{
			line++;
			p++;
		}
		else if (p[0] == '-' && p[1] == '-')
		{
			while (*p && *p != '\n')
				p++;
		}
		else if (p[0] == '/' && p[1] == '*')
		{
			int depth = 1;

			for (p += 2; *p && depth > 0; p++)
			{
				if (*p == '\n')
					line++;
				else if (p[0] == '/' && p[1] == '*')
					depth++, p++;
				else if (p[0] == '*' && p[1] == '/')
					depth--, p++;
			}
			if (depth > 0)
				goto unterminated;
		}
		else if (*p == '\'' || *p == '"')
		{
			char q = *p++;

			for (;;)
			{
				if (*p == '\0')
					goto unterminated;
				if (*p == '\n')
					line++;
				if (*p == q && p[1] == q)
					p += 2;
				else if (*p == q)
				{
					p++;
					break;
				}
				else
					p++;
			}
		}
		else if (*p == '$' && (p == sql || !(isalnum((unsigned char) p[-1]) || p[-1] == '_')))
		{
			const char *t = p + 1;

			while (isalnum((unsigned char) *t) || *t == '_')
				t++;
			if (*t != '$' || isdigit((unsigned char) p[1]))
			{
				p++;
				continue;
			}
			size_t tl = (size_t) (t - p + 1);
			const char *end = t + 1;

			for (;; end++)
			{
				if (*end == '\0')
				{
					line = start_line;
					goto unterminated;
				}
				if (*end == '\n')
					line++;
				if (*end == '$' && strncmp(end, p, tl) == 0)
					break;
			}
			p = end + tl;
		}
		else if (word_at(p, sql, "ATOMIC"))
		{
			atomic++;
			p += 6;
		}
		else if (atomic > 0 && word_at(p, sql, "END"))
		{
			/* END of CASE inside an atomic body does not end it; a CASE
			 * opens one more level */
			atomic--;
			p += 3;
		}
		else if (atomic > 0 && word_at(p, sql, "CASE"))
		{
			atomic++;
			p += 4;
		}
		else if (*p == ';' && atomic == 0)
		{
			push_stmt(out, begin, p, begin_line);
			begin = ++p;
			begin_line = line;
		}
		else
			p++;
	}
	push_stmt(out, begin, p, begin_line);
	return true;

unterminated:
	log_error("%s: unterminated quote, dollar quote or comment starting near line %zu; fix the "
			  "file", path, line);
	exit_hint_set(EXIT_USAGE);
	schema_stmts_free(out);
	return false;
}

void
schema_stmts_free(SchemaStmts *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->items[i].text);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

/* The end of the literal starting at q ('...', E'...', $tag$...$tag$), or
 * NULL when q starts none. */
static const char *
literal_end(const char *q)
{
	bool esc = *q == 'E' || *q == 'e';

	if (*q == '$')
	{
		const char *t = q + 1, *e;

		while (isalnum((unsigned char) *t) || *t == '_')
			t++;
		if (*t != '$')
			return NULL;
		for (e = t + 1; *e; e++)
			if (strncmp(e, q, (size_t) (t - q + 1)) == 0)
				return e + (t - q + 1);
		return e;
	}
	if (esc)
		q++;
	if (*q != '\'')
		return NULL;
	for (q++; *q; q++)
	{
		if (esc && *q == '\\' && q[1])
			q++;
		else if (*q == '\'' && q[1] == '\'')
			q++;
		else if (*q == '\'')
			return q + 1;
	}
	return q;
}

void
schema_redact(const char *stmt, StrBuf *out)
{
	const char *p = stmt;

	sb_reset(out);
	sb_append(out, "", 0);
	while (*p)
	{
		if (strncasecmp(p, "PASSWORD", 8) == 0
			&& (p == stmt || !(isalnum((unsigned char) p[-1]) || p[-1] == '_')))
		{
			const char *q = p + 8, *end;

			while (*q == ' ' || *q == '\t' || *q == '\n')
				q++;
			if ((end = literal_end(q)) != NULL)
			{
				sb_appends(out, "PASSWORD '***'");
				p = end;
				continue;
			}
		}
		sb_appendc(out, *p++);
	}
}
