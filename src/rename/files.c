/*
 * files.c — the service file of a renamed database: its `# database_name:`
 * header and the connection settings of its apps, edited in place (the
 * rest of the file keeps its bytes).
 */
#include "pgfold/rename.h"

#include "pgfold/log.h"
#include "pgfold/rewrite.h"

#include <string.h>

StackService *
rename_find_service(App *app, const char *db)
{
	for (size_t i = 0; i < app->stack.count; i++)
	{
		StackService *s = &app->stack.services[i];

		if (s->meta_database_name == NULL || strcmp(s->meta_database_name, db) != 0)
			continue;
		for (size_t c = 0; c < s->conn_count; c++)
			if (s->conns[c].shared)
				return s;
	}
	return NULL;
}

static bool
span_is(const char *bytes, Span sp, const char *text)
{
	size_t n = strlen(text);

	return sp.end > sp.start && sp.end - sp.start == n && memcmp(bytes + sp.start, text, n) == 0;
}

/* One piece of a connection: replaced when it is `from` as written;
 * a warning when the app gets `from` some other way (${VAR}, env_file). */
static bool
piece(const StackService *svc, const ConnRef *c, Span sp, const char *value, const char *what,
	  const char *from, const char *to, RwEdits *e, int *edits)
{
	const char *bytes = svc->file.bytes;

	for (size_t i = 0; i < e->count; i++)
		if (e->items[i].start == sp.start && e->items[i].end == sp.end)
			return true;    /* two connections read the same variable */
	if (span_is(bytes, sp, from))
	{
		(*edits)++;
		return rw_replace(e, sp.start, sp.end, to, strlen(to));
	}
	if (value != NULL && strcmp(value, from) == 0)
		log_warn("%s: the %s of app %s is \"%s\" but not written as such in %s (a variable or "
				 "an env_file sets it): change it to \"%s\" there yourself", svc->name, what,
				 svc->file.services[c->app].key, from, svc->path, to);
	return true;
}

bool
rename_service_bytes(const StackService *svc, const char *from, const char *to, bool role,
					 StrBuf *out, int *edits)
{
	RwEdits e = RW_EDITS_INIT;
	bool ok = true;

	*edits = 0;
	for (size_t i = 0; ok && i < svc->file.meta_count; i++)
	{
		const MetaEntry *m = &svc->file.meta[i];

		if (strncmp(m->key, "database_name", 13) == 0 && (m->key[13] == '\0' || m->key[13] == '.')
			&& span_is(svc->file.bytes, m->value_span, from))
		{
			ok = rw_replace(&e, m->value_span.start, m->value_span.end, to, strlen(to));
			(*edits)++;
		}
	}
	for (size_t i = 0; ok && i < svc->conn_count; i++)
	{
		const ConnRef *c = &svc->conns[i];

		if (!c->shared)
			continue;
		ok = piece(svc, c, c->url.dbname, c->values.dbname, "database", from, to, &e, edits)
			&& (!role || piece(svc, c, c->url.user, c->values.user, "user", from, to, &e, edits));
	}
	ok = ok && rw_apply(&e, svc->file.bytes, svc->file.len, out);
	rw_edits_free(&e);
	return ok;
}
