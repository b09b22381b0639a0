/*
 * dbprops_psql.c — create a database with another one's properties inside
 * a dedicated container (rollback), by psql: the statements are pgfold's
 * own text holding only psql variable references (:"name", :'value'),
 * every name and value travels as a variable. See dbprops.h.
 */
#include "pgfold/dbprops.h"

#include "pgfold/log.h"
#include "pgfold/str.h"

#include <stdlib.h>
#include <string.h>

/* pgx_query takes at most 32 variables: db, role, name and the values. */
#define MAX_VALUES 28

typedef struct Vars
{
	char   *v[MAX_VALUES + 5];
	size_t  n;
} Vars;

static void
vars_add(Vars *vs, const char *name, const char *value)
{
	StrBuf b = STRBUF_INIT;

	sb_appendf(&b, "%s=%s", name, value);
	vs->v[vs->n++] = sb_steal(&b);
	vs->v[vs->n] = NULL;
}

static void
vars_free(Vars *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		free(vs->v[i]);
	vs->n = 0;
	vs->v[0] = NULL;
}

static bool
run(DockerClient *docker, const char *container, const char *user, const char *maint_db,
	const char *sql, Vars *vs)
{
	StrBuf out = STRBUF_INIT;
	bool ok = pgx_query(docker, container, user, maint_db, sql, (const char *const *) vs->v, &out);

	sb_free(&out);
	vars_free(vs);
	return ok;
}

bool
dbprops_create_container(DockerClient *docker, const char *container, const char *user,
						 const char *maint_db, const char *db, const char *owner,
						 const DbProps *p)
{
	StrBuf sql = STRBUF_INIT;
	Vars vs = { { NULL }, 0 };
	bool ok;

	vars_add(&vs, "db", db);
	sb_appends(&sql, "CREATE DATABASE :\"db\"");
	if (owner != NULL)
	{
		vars_add(&vs, "owner", owner);
		sb_appends(&sql, " OWNER :\"owner\"");
	}
	sb_appends(&sql, " TEMPLATE template0");
	if (p != NULL && p->known)
	{
		vars_add(&vs, "enc", p->encoding);
		vars_add(&vs, "coll", p->collate);
		vars_add(&vs, "ctyp", p->ctype);
		vars_add(&vs, "loc", p->locale);
		vars_add(&vs, "rules", p->icu_rules);
		sb_appends(&sql, " ENCODING :'enc' LC_COLLATE :'coll' LC_CTYPE :'ctyp'");
		if (p->provider == 'i')
			sb_appendf(&sql, " LOCALE_PROVIDER icu ICU_LOCALE :'loc'%s",
					   p->icu_rules[0] ? " ICU_RULES :'rules'" : "");
		else if (p->provider == 'b')
			sb_appends(&sql, " LOCALE_PROVIDER builtin BUILTIN_LOCALE :'loc'");
	}
	sb_appends(&sql, ";\n");
	ok = run(docker, container, user, maint_db, sb_str(&sql), &vs);
	sb_free(&sql);
	return ok;
}

/* "ALTER … SET :"n" TO :'v0', :'v1'" for one setting. */
static bool
set_statement(const char *head, const DbSetting *s, Vars *vs, StrBuf *sql)
{
	char **values = NULL, name[16];
	size_t n = 0;

	if (!dbprops_setting_values(s->name, s->value, &values, &n) || n > MAX_VALUES)
	{
		StrBuf a = STRBUF_INIT;

		log_error("setting %s has a value pgfold cannot carry (a list it cannot read, or of "
				  "more than %d elements); set it by hand", pg_display(&a, s->name), MAX_VALUES);
		sb_free(&a);
		dbprops_values_free(values, n);
		return false;
	}
	vars_add(vs, "n", s->name);
	sb_appendf(sql, "%s SET :\"n\" TO ", head);
	for (size_t i = 0; i < n; i++)
	{
		str_format(name, sizeof(name), "v%zu", i);
		vars_add(vs, name, values[i]);
		sb_appendf(sql, "%s:'%s'", i ? ", " : "", name);
	}
	sb_appends(sql, ";\n");
	dbprops_values_free(values, n);
	return true;
}

bool
dbprops_apply_container(DockerClient *docker, const char *container, const char *user,
						const char *maint_db, const char *db, const char *role,
						const DbProps *p)
{
	StrBuf sql = STRBUF_INIT;
	Vars vs = { { NULL }, 0 };
	bool ok = true;

	for (size_t i = 0; ok && i < p->db_setting_count; i++)
	{
		sb_reset(&sql);
		vars_add(&vs, "db", db);
		ok = set_statement("ALTER DATABASE :\"db\"", &p->db_settings[i], &vs, &sql)
			&& run(docker, container, user, maint_db, sb_str(&sql), &vs);
	}
	if (ok && p->comment != NULL)
	{
		vars_add(&vs, "db", db);
		vars_add(&vs, "c", p->comment);
		ok = run(docker, container, user, maint_db, "COMMENT ON DATABASE :\"db\" IS :'c';\n", &vs);
	}
	if (ok && p->connection_limit >= 0)
	{
		sb_reset(&sql);
		sb_appendf(&sql, "ALTER DATABASE :\"db\" CONNECTION LIMIT %d;\n", p->connection_limit);
		vars_add(&vs, "db", db);
		ok = run(docker, container, user, maint_db, sb_str(&sql), &vs);
	}
	for (size_t i = 0; ok && role != NULL && i < p->role_setting_count; i++)
	{
		sb_reset(&sql);
		vars_add(&vs, "db", db);
		vars_add(&vs, "role", role);
		ok = set_statement("ALTER ROLE :\"role\" IN DATABASE :\"db\"", &p->role_settings[i],
						   &vs, &sql)
			&& run(docker, container, user, maint_db, sb_str(&sql), &vs);
	}
	vars_free(&vs);
	sb_free(&sql);
	return ok;
}
