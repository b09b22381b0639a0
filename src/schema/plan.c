/*
 * plan.c — which files up, down and goto run, from the directory and the
 * state table; and whether the applied files are still the ones that ran.
 */
#include "pgfold/schema.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
add(SchemaPlan *p, const SchemaFile *f, SchemaKind kind)
{
	p->items = xrealloc(p->items, p->count + 1, sizeof(SchemaStep));
	p->items[p->count].file = f;
	p->items[p->count].kind = kind;
	p->count++;
}

static bool
add_down(const SchemaDir *d, const SchemaApplied *a, SchemaPlan *p)
{
	const SchemaFile *f = schema_dir_find(d, a->version);

	if (f == NULL)
	{
		log_error("version %s (%s) is applied but its files are gone from %s; restore "
				  "%s_%s.down.sql to revert it", a->version, a->name, d->path, a->version,
				  a->name);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (!f->has[SCHEMA_DOWN])
	{
		log_error("%s/%s_%s.down.sql is missing: version %s cannot be reverted by pgfold; "
				  "write the file (then `pgfold schema hash`) or restore the backup taken "
				  "before it", d->path, f->version, f->name, f->version);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	add(p, f, SCHEMA_DOWN);
	return true;
}

bool
schema_plan(const SchemaDir *d, const SchemaState *st, SchemaGo go, long count,
			const char *version, SchemaPlan *out)
{
	memset(out, 0, sizeof(*out));
	if (go == SCHEMA_GO_TO && strspn(version, "0123456789") != strlen(version))
	{
		log_error("goto takes a version (digits), not \"%s\"", version);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (go == SCHEMA_GO_TO && schema_version_cmp(version, "0") != 0
		&& schema_dir_find(d, version) == NULL)
	{
		log_error("no migration has version %s in %s (see `pgfold schema status`)", version,
				  d->path);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (go == SCHEMA_GO_DOWN || go == SCHEMA_GO_TO)
	{
		long n = go == SCHEMA_GO_DOWN ? (count > 0 ? count : 1) : -1;

		for (size_t i = st->count; i-- > 0 && n != 0;)
		{
			const SchemaApplied *a = &st->items[i];

			if (!a->applied)
				continue;
			if (go == SCHEMA_GO_TO && schema_version_cmp(a->version, version) <= 0)
				break;
			if (!add_down(d, a, out))
			{
				schema_plan_free(out);
				return false;
			}
			n--;
		}
	}
	if (go == SCHEMA_GO_UP || go == SCHEMA_GO_TO)
	{
		long n = go == SCHEMA_GO_UP && count > 0 ? count : -1;

		for (size_t i = 0; i < d->count && n != 0; i++)
		{
			const SchemaFile *f = &d->files[i];

			if (go == SCHEMA_GO_TO && schema_version_cmp(f->version, version) > 0)
				break;
			if (schema_state_applied(st, f->version) != NULL)
				continue;
			add(out, f, SCHEMA_UP);
			n--;
		}
	}
	return true;
}

void
schema_plan_free(SchemaPlan *p)
{
	free(p->items);
	memset(p, 0, sizeof(*p));
}

const char *
schema_file_status(const SchemaFile *f, const SchemaState *st)
{
	const SchemaApplied *a = schema_state_applied(st, f->version);

	if (a == NULL)
		return "pending";
	/* baseline and force rows carry no checksum of a file that ran */
	if (a->checksum[0] != '\0' && strcmp(a->kind, "up") == 0
		&& strcmp(a->checksum, f->sum[SCHEMA_UP]) != 0)
		return "changed";
	return "applied";
}

bool
schema_applied_unchanged(const SchemaDir *d, const SchemaState *st, json_t *problems)
{
	bool ok = true;

	for (size_t i = 0; i < d->count; i++)
	{
		const SchemaFile *f = &d->files[i];
		char msg[512];

		if (strcmp(schema_file_status(f, st), "changed") != 0)
			continue;
		str_format(msg, sizeof(msg), "%s/%s_%s.up.sql changed after it was applied (sha256 "
				   "%.12s..., applied as %.12s...); put it back as it was (git checkout) and "
				   "write a new migration for the change", d->path, f->version, f->name,
				   f->sum[SCHEMA_UP], schema_state_applied(st, f->version)->checksum);
		log_error("%s", msg);
		if (problems != NULL)
			json_array_append_new(problems, json_string(msg));
		ok = false;
	}
	if (!ok)
		exit_hint_set(EXIT_VERIFY);
	return ok;
}
