/*
 * create.c — `pgfold schema create NAME`: a new pair of files, then
 * pgfold.sum rewritten. See schema.h.
 */
#include "pgfold/schema.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

/* The next version: the UTC stamp, or max + 1 in the same width when the
 * directory numbers its files (000001, 000002...). */
void
schema_next_version(const SchemaDir *d, time_t now, char *out, size_t size)
{
	struct tm tm;

	if (d->count > 0 && strlen(d->files[d->count - 1].version) < 14)
	{
		const char *last = d->files[d->count - 1].version;
		long v = 0;

		if (str_to_long(last, 0, 999999999999L, &v)
			&& str_format(out, size, "%0*ld", (int) strlen(last), v + 1))
			return;
	}
	gmtime_r(&now, &tm);
	strftime(out, size, "%Y%m%d%H%M%S", &tm);
}

bool
schema_create(const char *dir, const char *name, char up[PATH_MAX], char down[PATH_MAX])
{
	char version[SCHEMA_VERSION_MAX + 1], check[SCHEMA_NAME_MAX + 1], probe[PATH_MAX];
	char *path[2] = { up, down };
	SchemaDir d;
	SchemaKind kind;

	if (!str_format(probe, sizeof(probe), "1_%s.up.sql", name)
		|| !schema_name_parse(probe, version, check, &kind))
	{
		log_error("schema create: a name is letters, digits, _ and - (at most %d bytes), not "
				  "\"%s\"", SCHEMA_NAME_MAX, name);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (!fs_mkdir_p(dir, 0755) || !schema_dir_load(dir, &d))
		return false;
	schema_next_version(&d, time(NULL), version, sizeof(version));
	schema_dir_free(&d);
	for (int k = 0; k < 2; k++)
	{
		StrBuf text = STRBUF_INIT;
		bool ok;

		if (!str_format(path[k], PATH_MAX, "%s/%s_%s%s", dir, version, name,
						schema_kind_suffix(k == 0 ? SCHEMA_UP : SCHEMA_DOWN)))
			return false;
		if (access(path[k], F_OK) == 0)
		{
			log_error("%s exists already", path[k]);
			exit_hint_set(EXIT_FAIL);
			return false;
		}
		if (k == 0)
			sb_appendf(&text, "-- %s_%s up: the change. Runs in one transaction with its state "
					   "row;\n-- a file that needs none declares `%s`.\n\n", version, name,
					   SCHEMA_NO_TX_DIRECTIVE);
		else
			sb_appendf(&text, "-- %s_%s down: undoes the up file exactly.\n\n", version, name);
		ok = fs_write_atomic(path[k], sb_str(&text), text.len, 0644);
		sb_free(&text);
		if (!ok)
			return false;
	}
	if (!schema_dir_load(dir, &d))
		return false;
	bool ok = schema_sum_write(&d);

	schema_dir_free(&d);
	return ok;
}
