/*
 * sum.c — <dir>/pgfold.sum: one line per migration file with the SHA-256 of
 * its normalised bytes, under a first line "h1:<sha256 of those lines>", so
 * an edit of a file, of the sum file, a file added or removed without
 * `pgfold schema hash` is caught before anything runs.
 */
#include "pgfold/schema.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
list_lines(const SchemaDir *d, StrBuf *out)
{
	char base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];

	for (size_t i = 0; i < d->count; i++)
		for (int k = 0; k < SCHEMA_KIND_COUNT; k++)
			if (d->files[i].has[k] && schema_file_name(&d->files[i], (SchemaKind) k, base,
													   sizeof(base)))
				sb_appendf(out, "%s  %s\n", d->files[i].sum[k], base);
}

void
schema_sum_text(const SchemaDir *d, StrBuf *out)
{
	StrBuf lines = STRBUF_INIT;
	char h[FS_SHA256_HEX_LEN + 1];

	list_lines(d, &lines);
	schema_sum(sb_str(&lines), lines.len, h);
	sb_reset(out);
	sb_appendf(out, "h1:%s\n%s", h, sb_str(&lines));
	sb_free(&lines);
}

bool
schema_sum_write(const SchemaDir *d)
{
	char path[PATH_MAX];
	StrBuf text = STRBUF_INIT;
	bool ok;

	if (!str_format(path, sizeof(path), "%s/%s", d->path, SCHEMA_SUM_FILE))
		return false;
	schema_sum_text(d, &text);
	ok = fs_write_atomic(path, sb_str(&text), text.len, 0644);
	sb_free(&text);
	return ok;
}

void
schema_problem(json_t *problems, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	if (problems != NULL)
		json_array_append_new(problems, json_string(msg));
}

/* The sum the file has, or NULL when the line is not in lines. */
static const char *
line_sum(const char *lines, const char *base, char out[FS_SHA256_HEX_LEN + 1])
{
	size_t bl = strlen(base);

	for (const char *p = lines; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
	{
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t) (nl - p) : strlen(p);

		if (len == FS_SHA256_HEX_LEN + 2 + bl && strncmp(p + FS_SHA256_HEX_LEN, "  ", 2) == 0
			&& strncmp(p + FS_SHA256_HEX_LEN + 2, base, bl) == 0)
		{
			memcpy(out, p, FS_SHA256_HEX_LEN);
			out[FS_SHA256_HEX_LEN] = '\0';
			return out;
		}
	}
	return NULL;
}

bool
schema_sum_check(const SchemaDir *d, json_t *problems)
{
	char path[PATH_MAX], base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16], h[FS_SHA256_HEX_LEN + 1];
	char want[FS_SHA256_HEX_LEN + 1];
	StrBuf have = STRBUF_INIT, now = STRBUF_INIT;
	bool exists = false, ok = true;
	const char *lines;

	if (!str_format(path, sizeof(path), "%s/%s", d->path, SCHEMA_SUM_FILE)
		|| !fs_read_file_if_exists(path, SCHEMA_FILE_MAX_BYTES, &have, &exists))
		return false;
	if (!exists)
	{
		schema_problem(problems, "%s is missing: run `pgfold schema hash` once the files are as they "
				"should be", path);
		exit_hint_set(EXIT_VERIFY);
		sb_free(&have);
		return false;
	}
	schema_sum_text(d, &now);
	if (strcmp(sb_str(&have), sb_str(&now)) == 0)
	{
		sb_free(&have);
		sb_free(&now);
		return true;
	}
	/* say precisely what differs */
	lines = strchr(sb_str(&have), '\n');
	lines = lines ? lines + 1 : "";
	schema_sum(lines, strlen(lines), h);
	if (strncmp(sb_str(&have), "h1:", 3) != 0 || strncmp(sb_str(&have) + 3, h, 64) != 0)
	{
		schema_problem(problems, "%s was edited by hand (its h1: line does not match its lines); "
				"re-create it with `pgfold schema hash`", path);
		ok = false;
	}
	for (size_t i = 0; i < d->count; i++)
		for (int k = 0; k < SCHEMA_KIND_COUNT; k++)
		{
			if (!d->files[i].has[k]
				|| !schema_file_name(&d->files[i], (SchemaKind) k, base, sizeof(base)))
				continue;
			if (line_sum(lines, base, want) == NULL)
				schema_problem(problems, "%s/%s is not in %s (added after the last `pgfold schema "
						"hash`); run it if the file is meant to be there", d->path, base,
						SCHEMA_SUM_FILE);
			else if (strcmp(want, d->files[i].sum[k]) != 0)
				schema_problem(problems, "%s/%s changed since `pgfold schema hash` (sha256 %.12s..., "
						"was %.12s...); if it was already applied, revert it and write a new "
						"migration instead; if not, run `pgfold schema hash`", d->path, base,
						d->files[i].sum[k], want);
			else
				continue;
			ok = false;
		}
	for (const char *p = lines; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
	{
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t) (nl - p) : strlen(p);
		char version[SCHEMA_VERSION_MAX + 1], name[SCHEMA_NAME_MAX + 1];
		SchemaKind kind;
		const SchemaFile *f;

		if (len <= FS_SHA256_HEX_LEN + 2 || len - FS_SHA256_HEX_LEN - 2 >= sizeof(base))
			continue;
		memcpy(base, p + FS_SHA256_HEX_LEN + 2, len - FS_SHA256_HEX_LEN - 2);
		base[len - FS_SHA256_HEX_LEN - 2] = '\0';
		if (schema_name_parse(base, version, name, &kind)
			&& ((f = schema_dir_find(d, version)) == NULL || !f->has[kind]))
		{
			schema_problem(problems, "%s/%s is listed in %s but missing; restore it (a migration that "
					"ran stays in the history) or run `pgfold schema hash`", d->path, base,
					SCHEMA_SUM_FILE);
			ok = false;
		}
	}
	if (ok)
		schema_problem(problems, "%s does not match the files; run `pgfold schema hash`", path);
	exit_hint_set(EXIT_VERIFY);
	sb_free(&have);
	sb_free(&now);
	return false;
}
