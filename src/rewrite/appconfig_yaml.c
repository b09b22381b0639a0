/*
 * appconfig_yaml.c — Synapse's homeserver.yaml: the values of
 * `database.args` (host, port, user, password, database or dbname)
 * replaced in place, keys it lacks added under the same indentation,
 * everything else byte-identical. Read with libyaml (compose_yaml_mapping),
 * never by hand; the result is read again and must say exactly new.
 */
#include "pgfold/appconfig.h"

#include "pgfold/compose.h"
#include "pgfold/log.h"
#include "rw_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const ARGS_PATH[] = { "database", "args" };
static const char *const DB_PATH[] = { "database" };

static const YamlEntry *
entry(const YamlMapping *m, const char *key)
{
	for (size_t i = 0; i < m->count; i++)
		if (strcmp(m->entries[i].key, key) == 0)
			return &m->entries[i];
	return NULL;
}

static bool
host_is_old(const char *host, const AcOld *old)
{
	for (size_t i = 0; host != NULL && old->hosts[i] != NULL; i++)
		if (strcasecmp(host, old->hosts[i]) == 0)
			return true;
	return false;
}

/* value as a scalar of e's style (quotes included); a number for port. */
static bool
scalar(YamlStyle style, const char *value, bool number, StrBuf *out)
{
	if (number && style == YSTYLE_PLAIN)
		return sb_appends(out, value);
	switch (style)
	{
		case YSTYLE_SINGLE:
			return sb_appendc(out, '\'') && rw_encode_in_scalar(style, true, value, out) &&
				   sb_appendc(out, '\'');
		case YSTYLE_DOUBLE:
			return sb_appendc(out, '"') && rw_encode_in_scalar(style, true, value, out) &&
				   sb_appendc(out, '"');
		case YSTYLE_PLAIN:
			return rw_encode_in_scalar(style, true, value, out);
		default:
			return false;
	}
}

typedef struct Setting
{
	const char *key;       /* the key written, when it is added */
	const char *alt;       /* another key the app accepts (dbname) */
	const char *value;
	bool        number;
	bool        secret;
} Setting;

static bool
set_one(const char *path, const YamlMapping *args, const Setting *s, RwEdits *edits,
		StrBuf *added)
{
	const YamlEntry *e = entry(args, s->key);
	const YamlEntry *a = s->alt ? entry(args, s->alt) : NULL;
	StrBuf v = STRBUF_INIT;
	bool ok = true;

	if (e != NULL && a != NULL)
	{
		log_error("%s:%zu: database.args has both %s and %s; keep one and retry", path,
				  a->line, s->key, s->alt);
		return false;
	}
	if (e == NULL)
		e = a;
	if (e != NULL && e->value == NULL)
	{
		log_error("%s:%zu: database.args.%s is not a plain value; pgfold cannot rewrite it",
				  path, e->line, e->key);
		return false;
	}
	if (e != NULL)
	{
		ok = scalar(e->style, s->value, s->number, &v);
		if (!ok)
			log_error("%s:%zu: database.args.%s is written in a style (block scalar?) pgfold "
					  "cannot put the new %s in; write it as a quoted value and retry", path,
					  e->line, e->key, s->secret ? "password" : "value");
		ok = ok && rw_replace(edits, e->value_span.start, e->value_span.end, sb_str(&v), v.len);
	}
	else
	{
		for (size_t i = 0; i < args->indent; i++)
			sb_appendc(added, ' ');
		sb_appendf(added, "%s: ", s->key);
		ok = scalar(YSTYLE_PLAIN, s->value, s->number, added) && sb_appends(added, args->eol);
		if (!ok)
			log_error("%s: cannot write database.args.%s", path, s->key);
	}
	sb_free_secret(&v);
	return ok;
}

static bool
check_shape(const char *path, const char *bytes, size_t len, YamlMapping *args,
			bool *matched)
{
	YamlMapping db;
	bool found = false;
	char err[320];

	if (!compose_yaml_mapping(bytes, len, DB_PATH, 1, &db, &found, err, sizeof(err)))
	{
		log_error("%s:%s", path, err);
		return false;
	}
	const YamlEntry *name = found ? entry(&db, "name") : NULL;
	bool pg = name != NULL && name->value != NULL &&
		(strcmp(name->value, "psycopg2") == 0 || strcmp(name->value, "psycopg") == 0);

	compose_yaml_mapping_free(&db);
	if (!pg)
		return true;   /* sqlite, or no database section: not a postgres app file */
	if (!compose_yaml_mapping(bytes, len, ARGS_PATH, 2, args, &found, err, sizeof(err)))
	{
		log_error("%s:%s", path, err);
		return false;
	}
	return true;
}

/* Read the result back: every setting must say what was written. */
static bool
verify(const char *path, const char *bytes, size_t len, const Setting *set, size_t n)
{
	YamlMapping args;
	bool found = false, ok;
	char err[320];

	ok = compose_yaml_mapping(bytes, len, ARGS_PATH, 2, &args, &found, err, sizeof(err)) && found;
	for (size_t i = 0; ok && i < n; i++)
	{
		const YamlEntry *e = entry(&args, set[i].key);

		if (e == NULL && set[i].alt != NULL)
			e = entry(&args, set[i].alt);
		ok = e != NULL && e->value != NULL && strcmp(e->value, set[i].value) == 0;
	}
	compose_yaml_mapping_free(&args);
	if (!ok)
		log_error("internal error: %s: the rewritten database.args do not read back as "
				  "written; nothing was changed", path);
	return ok;
}

bool
appconfig_yaml_rewrite(const char *path, const char *bytes, size_t len, const AcOld *old,
					   const AcNew *new_db, StrBuf *out, bool *matched)
{
	YamlMapping args;
	bool ok;

	memset(&args, 0, sizeof(args));
	*matched = false;
	if (!check_shape(path, bytes, len, &args, matched))
		return false;

	const YamlEntry *host = entry(&args, "host");

	*matched = host != NULL && host_is_old(host->value, old);
	if (!*matched)
	{
		compose_yaml_mapping_free(&args);
		return true;
	}
	if (args.flow)
	{
		log_error("%s:%zu: database.args is a flow mapping ({...}); write it in block style "
				  "and retry", path, host->line);
		compose_yaml_mapping_free(&args);
		return false;
	}

	char port[16];

	snprintf(port, sizeof(port), "%d", new_db->port);

	Setting set[] = {
		{ "host", NULL, new_db->host, false, false },
		{ "port", NULL, port, true, false },
		{ "user", NULL, new_db->user, false, false },
		{ "password", NULL, new_db->password, false, true },
		{ "database", "dbname", new_db->dbname, false, false },
	};
	size_t n = sizeof(set) / sizeof(set[0]);
	RwEdits edits = RW_EDITS_INIT;
	StrBuf added = STRBUF_INIT;

	ok = true;
	for (size_t i = 0; ok && i < n; i++)
		ok = set_one(path, &args, &set[i], &edits, &added);
	size_t start = out->len;

	ok = ok && rw_ac_apply(&edits, bytes, len, args.end, args.eol, &added, out);
	ok = ok && verify(path, out->data + start, out->len - start, set, n);
	if (!ok)
		rw_ac_discard(out, start);
	rw_edits_free(&edits);
	sb_free_secret(&added);
	compose_yaml_mapping_free(&args);
	return ok;
}

bool
appconfig_yaml_read(const char *path, const char *bytes, size_t len,
					char *values[APPCONFIG_PIECES], const char *names[APPCONFIG_PIECES])
{
	static const char *const keys[APPCONFIG_PIECES] = { "host", "port", "user", "password",
														"database" };
	YamlMapping args;
	bool found = false;
	char err[320];

	for (int i = 0; i < APPCONFIG_PIECES; i++)
		values[i] = NULL;
	if (!compose_yaml_mapping(bytes, len, ARGS_PATH, 2, &args, &found, err, sizeof(err)))
	{
		log_error("%s:%s", path, err);
		return false;
	}
	for (int i = 0; found && i < APPCONFIG_PIECES; i++)
	{
		const YamlEntry *e = entry(&args, keys[i]);

		if (e == NULL && i == 4)
			e = entry(&args, "dbname");
		names[i] = i == 4 && e != NULL && strcmp(e->key, "dbname") == 0 ? "database.args.dbname"
			: (const char *const[]) { "database.args.host", "database.args.port",
									  "database.args.user", "database.args.password",
									  "database.args.database" }[i];
		if (e != NULL && e->value != NULL)
			values[i] = xstrdup(e->value);
	}
	if (values[1] == NULL)
		values[1] = xstrdup("5432");
	compose_yaml_mapping_free(&args);
	return true;
}
