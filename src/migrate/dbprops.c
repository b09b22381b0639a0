/*
 * dbprops.c — read a database's properties (the same query on both sides),
 * create a database with them and apply them on the shared instance, and
 * list them for the verification. See dbprops.h.
 */
#include "pgfold/dbprops.h"

#include "pgfold/log.h"
#include "pgfold/str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * One text for every server version: the columns that only some majors
 * have (datlocprovider and daticulocale 15-16, datlocale 17, daticurules
 * 16, datcollversion 15) are read from to_jsonb(pg_database row), where a
 * missing one is NULL. ROLE is the role whose settings are read: psql's
 * :'role' in a container, $1 through libpq.
 */
#define PROPS_SQL(ROLE) \
	"WITH d AS (SELECT d.oid, d.encoding, d.datcollate, d.datctype, d.datallowconn, " \
	"  d.datconnlimit, pg_catalog.to_jsonb(d) AS j FROM pg_catalog.pg_database d " \
	"  WHERE d.datname = pg_catalog.current_database()), " \
	"r AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = " ROLE ") " \
	"SELECT 'encoding', '', pg_catalog.pg_encoding_to_char(encoding)::text FROM d " \
	"UNION ALL SELECT 'collate', '', datcollate::text FROM d " \
	"UNION ALL SELECT 'ctype', '', datctype::text FROM d " \
	"UNION ALL SELECT 'provider', '', coalesce(j->>'datlocprovider', 'c') FROM d " \
	"UNION ALL SELECT 'locale', '', coalesce(j->>'datlocale', j->>'daticulocale', '') FROM d " \
	"UNION ALL SELECT 'icu_rules', '', coalesce(j->>'daticurules', '') FROM d " \
	"UNION ALL SELECT 'allow_connections', '', datallowconn::text FROM d " \
	"UNION ALL SELECT 'connection_limit', '', datconnlimit::text FROM d " \
	"UNION ALL SELECT 'coll_version', '', coalesce(j->>'datcollversion', " \
	"  (SELECT pg_catalog.pg_collation_actual_version(c.oid) FROM pg_catalog.pg_collation c " \
	"   WHERE c.collprovider = 'c' AND c.collcollate = d.datcollate " \
	"   AND c.collencoding IN (-1, d.encoding) ORDER BY c.collencoding DESC LIMIT 1), '') FROM d " \
	"UNION ALL SELECT 'comment', '', x.c FROM (SELECT pg_catalog.shobj_description(d.oid, " \
	"  'pg_database') AS c FROM d) x WHERE x.c IS NOT NULL " \
	"UNION ALL SELECT 'db_setting', '', pg_catalog.unnest(s.setconfig) " \
	"  FROM pg_catalog.pg_db_role_setting s, d WHERE s.setdatabase = d.oid AND s.setrole = 0 " \
	"UNION ALL SELECT 'role_setting', CASE WHEN s.setdatabase = 0 THEN 'global' ELSE 'database' END, " \
	"  pg_catalog.unnest(s.setconfig) FROM pg_catalog.pg_db_role_setting s, d, r " \
	"  WHERE s.setrole = r.oid AND s.setdatabase IN (0, d.oid)\n"

static const char props_psql_sql[] = PROPS_SQL(":'role'");
static const char props_libpq_sql[] = PROPS_SQL("$1");

/* ---- rows ------------------------------------------------------------------ */

static void
setting_push(DbSetting **v, size_t *n, const char *entry, bool replace)
{
	const char *eq = strchr(entry, '=');
	size_t nlen = eq ? (size_t) (eq - entry) : strlen(entry);

	if (replace)
		for (size_t i = 0; i < *n; i++)
			if (strlen((*v)[i].name) == nlen && strncmp((*v)[i].name, entry, nlen) == 0)
			{
				free((*v)[i].value);
				(*v)[i].value = xstrdup(eq ? eq + 1 : "");
				return;
			}
	*v = xrealloc(*v, *n + 1, sizeof(DbSetting));
	(*v)[*n].name = xstrdup(entry);
	(*v)[*n].name[nlen] = '\0';
	(*v)[*n].value = xstrdup(eq ? eq + 1 : "");
	(*n)++;
}

void
dbprops_add_row(DbProps *p, const char *kind, const char *scope, const char *value)
{
	long v = 0;

	if (strcmp(kind, "encoding") == 0)
		p->encoding = xstrdup(value);
	else if (strcmp(kind, "collate") == 0)
		p->collate = xstrdup(value);
	else if (strcmp(kind, "ctype") == 0)
		p->ctype = xstrdup(value);
	else if (strcmp(kind, "provider") == 0)
		p->provider = value[0] ? value[0] : 'c';
	else if (strcmp(kind, "locale") == 0)
		p->locale = xstrdup(value);
	else if (strcmp(kind, "icu_rules") == 0)
		p->icu_rules = xstrdup(value);
	else if (strcmp(kind, "coll_version") == 0)
		p->coll_version = xstrdup(value);
	else if (strcmp(kind, "comment") == 0)
		p->comment = xstrdup(value);
	else if (strcmp(kind, "allow_connections") == 0)
		p->allow_connections = strcmp(value, "t") == 0 || strcmp(value, "true") == 0;
	else if (strcmp(kind, "connection_limit") == 0 && str_to_long(value, -1, 1L << 30, &v))
		p->connection_limit = (int) v;
	else if (strcmp(kind, "db_setting") == 0)
		setting_push(&p->db_settings, &p->db_setting_count, value, false);
	else if (strcmp(kind, "role_setting") == 0 && strcmp(scope, "global") == 0)
		setting_push(&p->role_settings, &p->role_setting_count, value, true);
	else if (strcmp(kind, "role_setting") == 0)
		setting_push(&p->scoped, &p->scoped_count, value, true);
}

static int
cmp_setting(const void *a, const void *b)
{
	return strcmp(((const DbSetting *) a)->name, ((const DbSetting *) b)->name);
}

static void
settings_free(DbSetting *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

void
dbprops_settle(DbProps *p)
{
	StrBuf e = STRBUF_INIT;

	/* IN DATABASE over global, as at a session's start */
	for (size_t i = 0; i < p->scoped_count; i++)
	{
		sb_reset(&e);
		sb_appendf(&e, "%s=%s", p->scoped[i].name, p->scoped[i].value);
		setting_push(&p->role_settings, &p->role_setting_count, sb_str(&e), true);
	}
	sb_free(&e);
	settings_free(p->scoped, p->scoped_count);
	p->scoped = NULL;
	p->scoped_count = 0;
	if (p->db_setting_count > 1)
		qsort(p->db_settings, p->db_setting_count, sizeof(DbSetting), cmp_setting);
	if (p->role_setting_count > 1)
		qsort(p->role_settings, p->role_setting_count, sizeof(DbSetting), cmp_setting);
#define DEF(f) if (p->f == NULL) p->f = xstrdup("")
	DEF(encoding);
	DEF(collate);
	DEF(ctype);
	DEF(locale);
	DEF(icu_rules);
	DEF(coll_version);
#undef DEF
	if (p->provider == '\0')
		p->provider = 'c';
	p->known = true;
}

void
dbprops_free(DbProps *p)
{
	free(p->encoding);
	free(p->collate);
	free(p->ctype);
	free(p->locale);
	free(p->icu_rules);
	free(p->coll_version);
	free(p->comment);
	settings_free(p->db_settings, p->db_setting_count);
	settings_free(p->role_settings, p->role_setting_count);
	settings_free(p->scoped, p->scoped_count);
	memset(p, 0, sizeof(*p));
}

static void
props_init(DbProps *p)
{
	memset(p, 0, sizeof(*p));
	p->connection_limit = -1;
	p->allow_connections = true;
}

bool
dbprops_read_container(DockerClient *docker, const char *container, const char *user,
					   const char *db, DbProps *out)
{
	PgRows rows = PGROWS_INIT;
	StrBuf v = STRBUF_INIT;
	const char *vars[] = { NULL, NULL };
	bool ok;

	props_init(out);
	sb_appendf(&v, "role=%s", user ? user : "postgres");
	vars[0] = sb_str(&v);
	ok = pgx_query_rows(docker, container, user, db, props_psql_sql, vars, 3, &rows);
	for (size_t r = 0; ok && r < rows.nrows; r++)
		dbprops_add_row(out, pg_rows_get(&rows, r, 0), pg_rows_get(&rows, r, 1),
						pg_rows_get(&rows, r, 2));
	pg_rows_free(&rows);
	sb_free(&v);
	if (ok)
		dbprops_settle(out);
	return ok;
}

bool
dbprops_read_shared(App *app, const char *db, const char *role, DbProps *out)
{
	const char *params[1] = { role ? role : "" };
	PGconn *conn = NULL;
	PGresult *res = NULL;
	bool ok;

	props_init(out);
	ok = pg_connect_shared(&app->cfg, db, &conn)
		&& pg_query(conn, "read the database's properties", props_libpq_sql, 1, params, &res);
	for (int r = 0; ok && r < PQntuples(res); r++)
		dbprops_add_row(out, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
	PQclear(res);
	pg_disconnect(conn);
	if (ok)
		dbprops_settle(out);
	return ok;
}

void
dbprops_describe_locale(const DbProps *p, StrBuf *out)
{
	StrBuf a = STRBUF_INIT;

	if (p->provider == 'i')
		sb_appendf(out, "ICU %s", pg_display(&a, p->locale));
	else if (p->provider == 'b')
		sb_appendf(out, "builtin %s", pg_display(&a, p->locale));
	else
	{
		sb_appendf(out, "libc LC_COLLATE %s", pg_display(&a, p->collate));
		sb_reset(&a);
		sb_appendf(out, " LC_CTYPE %s", pg_display(&a, p->ctype));
	}
	sb_free(&a);
}

/* ---- a setting's value ------------------------------------------------------ */

/* Settings whose value is a list of quoted elements (GUC_LIST_QUOTE), as
 * pg_dump's variable_is_guc_list_quote lists them. */
static bool
list_quoted(const char *name)
{
	static const char *const names[] = {
		"local_preload_libraries", "search_path", "session_preload_libraries",
		"shared_preload_libraries", "temp_tablespaces", "unix_socket_directories", NULL
	};

	for (size_t i = 0; names[i]; i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* SplitGUCList: elements separated by commas, blanks around them ignored,
 * an element in double quotes taken as it is ("" is one quote). */
static bool
split_list(const char *s, char ***out, size_t *count)
{
	StrBuf cur = STRBUF_INIT;

	while (is_space(*s))
		s++;
	if (*s == '\0')
		return true;
	for (;;)
	{
		sb_reset(&cur);
		if (*s == '"')
		{
			for (s++;; s++)
			{
				if (*s == '\0')
					goto bad;
				if (*s == '"' && s[1] != '"')
					break;
				if (*s == '"')
					s++;
				sb_appendc(&cur, *s);
			}
			s++;
		}
		else
		{
			const char *start = s, *end;

			while (*s != '\0' && *s != ',' && !is_space(*s))
				s++;
			end = s;
			if (end == start)
				goto bad;
			sb_append(&cur, start, (size_t) (end - start));
		}
		while (is_space(*s))
			s++;
		*out = xrealloc(*out, *count + 1, sizeof(char *));
		(*out)[(*count)++] = xstrdup(sb_str(&cur));
		if (*s == '\0')
			break;
		if (*s != ',')
			goto bad;
		s++;
		while (is_space(*s))
			s++;
	}
	sb_free(&cur);
	return true;
bad:
	sb_free(&cur);
	return false;
}

bool
dbprops_setting_values(const char *name, const char *value, char ***out, size_t *count)
{
	*out = NULL;
	*count = 0;
	if (list_quoted(name))
	{
		if (!split_list(value, out, count))
		{
			dbprops_values_free(*out, *count);
			*out = NULL;
			*count = 0;
			return false;
		}
		if (*count > 0)
			return true;
	}
	*out = xrealloc(NULL, 1, sizeof(char *));
	(*out)[0] = xstrdup(value);
	*count = 1;
	return true;
}

void
dbprops_values_free(char **values, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(values[i]);
	free(values);
}

/* ---- the shared instance ------------------------------------------------------ */

bool
dbprops_create_sql(PGconn *conn, const char *db, const char *owner, const DbProps *p,
				   StrBuf *out)
{
	bool ok = sb_appends(out, "CREATE DATABASE ") && pg_quote_ident(conn, db, out);

	if (ok && owner != NULL)
		ok = sb_appends(out, " OWNER ") && pg_quote_ident(conn, owner, out);
	ok = ok && sb_appends(out, " TEMPLATE template0");
	if (!ok || p == NULL || !p->known)
		return ok;
	ok = sb_appends(out, " ENCODING ") && pg_quote_literal(conn, p->encoding, out)
		&& sb_appends(out, " LC_COLLATE ") && pg_quote_literal(conn, p->collate, out)
		&& sb_appends(out, " LC_CTYPE ") && pg_quote_literal(conn, p->ctype, out);
	if (ok && p->provider == 'i')
	{
		ok = sb_appends(out, " LOCALE_PROVIDER icu ICU_LOCALE ")
			&& pg_quote_literal(conn, p->locale, out);
		if (ok && p->icu_rules[0] != '\0')
			ok = sb_appends(out, " ICU_RULES ") && pg_quote_literal(conn, p->icu_rules, out);
	}
	else if (ok && p->provider == 'b')
		ok = sb_appends(out, " LOCALE_PROVIDER builtin BUILTIN_LOCALE ")
			&& pg_quote_literal(conn, p->locale, out);
	return ok;
}

bool
dbprops_create_shared(PGconn *admin, const char *db, const char *owner, const DbProps *p)
{
	StrBuf sql = STRBUF_INIT, what = STRBUF_INIT, d = STRBUF_INIT;
	bool ok = dbprops_create_sql(admin, db, owner, p, &sql);

	sb_appendf(&what, "create database %s", pg_display(&d, db));
	if (ok && p != NULL && p->known)
	{
		sb_appends(&what, " with ");
		dbprops_describe_locale(p, &what);
	}
	ok = ok && pg_exec(admin, sb_str(&what), sb_str(&sql));
	sb_free(&sql);
	sb_free(&what);
	sb_free(&d);
	return ok;
}

/* "<quoted name> TO <literal>[, <literal>...]" */
static bool
set_clause(PGconn *conn, const DbSetting *s, StrBuf *out)
{
	char **values = NULL;
	size_t n = 0;
	bool ok = dbprops_setting_values(s->name, s->value, &values, &n);

	if (!ok)
	{
		StrBuf a = STRBUF_INIT, b = STRBUF_INIT;

		log_error("setting %s has a value pgfold cannot read as a list: %s",
				  pg_display(&a, s->name), pg_display(&b, s->value));
		sb_free(&a);
		sb_free(&b);
		return false;
	}
	ok = pg_quote_ident(conn, s->name, out) && sb_appends(out, " TO ");
	for (size_t i = 0; ok && i < n; i++)
		ok = (i == 0 || sb_appends(out, ", ")) && pg_quote_literal(conn, values[i], out);
	dbprops_values_free(values, n);
	return ok;
}

/* One statement per string (a value may hold ";" and newlines: they are
 * never split from a text). */
typedef struct Stmts
{
	char  **v;
	size_t  n;
} Stmts;

static void
stmts_push(Stmts *st, StrBuf *sql)
{
	st->v = xrealloc(st->v, st->n + 1, sizeof(char *));
	st->v[st->n++] = sb_steal(sql);
}

static void
stmts_free(Stmts *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->v[i]);
	free(st->v);
}

static bool
build_statements(PGconn *conn, const char *db, const char *role, const DbProps *p, Stmts *st)
{
	StrBuf qdb = STRBUF_INIT, qrole = STRBUF_INIT, sql = STRBUF_INIT;
	bool ok = pg_quote_ident(conn, db, &qdb)
		&& (role == NULL || pg_quote_ident(conn, role, &qrole));

	for (size_t i = 0; ok && i < p->db_setting_count; i++)
		if ((ok = sb_appendf(&sql, "ALTER DATABASE %s SET ", sb_str(&qdb))
			 && set_clause(conn, &p->db_settings[i], &sql)))
			stmts_push(st, &sql);
	if (ok && p->comment != NULL
		&& (ok = sb_appendf(&sql, "COMMENT ON DATABASE %s IS ", sb_str(&qdb))
			&& pg_quote_literal(conn, p->comment, &sql)))
		stmts_push(st, &sql);
	if (ok && p->connection_limit >= 0
		&& (ok = sb_appendf(&sql, "ALTER DATABASE %s CONNECTION LIMIT %d", sb_str(&qdb),
							p->connection_limit)))
		stmts_push(st, &sql);
	for (size_t i = 0; ok && role != NULL && i < p->role_setting_count; i++)
		if ((ok = sb_appendf(&sql, "ALTER ROLE %s IN DATABASE %s SET ", sb_str(&qrole),
							 sb_str(&qdb))
			 && set_clause(conn, &p->role_settings[i], &sql)))
			stmts_push(st, &sql);
	sb_free(&qdb);
	sb_free(&qrole);
	sb_free(&sql);
	return ok;
}

bool
dbprops_apply_sql(PGconn *conn, const char *db, const char *role, const DbProps *p,
				  StrBuf *out)
{
	Stmts st = { NULL, 0 };
	bool ok = build_statements(conn, db, role, p, &st);

	for (size_t i = 0; ok && i < st.n; i++)
		sb_appendf(out, "%s;\n", st.v[i]);
	stmts_free(&st);
	return ok;
}

bool
dbprops_apply_shared(PGconn *admin, const char *db, const char *role, const DbProps *p)
{
	Stmts st = { NULL, 0 };
	bool ok = build_statements(admin, db, role, p, &st);

	for (size_t i = 0; ok && i < st.n; i++)
		ok = pg_exec(admin, "carry a property of the database", st.v[i]);
	stmts_free(&st);
	return ok;
}

/* ---- verification ------------------------------------------------------------------ */

void
dbprops_inventory(const DbProps *p, Inventory *inv)
{
	char provider[2] = { p->provider, '\0' }, limit[24];

	if (!p->known)
		return;
	str_format(limit, sizeof(limit), "%d", p->connection_limit);
	inventory_add(inv, "database", "", "encoding", p->encoding);
	inventory_add(inv, "database", "", "LC_COLLATE", p->collate);
	inventory_add(inv, "database", "", "LC_CTYPE", p->ctype);
	inventory_add(inv, "database", "", "locale provider", provider);
	inventory_add(inv, "database", "", "locale", p->locale);
	inventory_add(inv, "database", "", "ICU rules", p->icu_rules);
	inventory_add(inv, "database", "", "comment", p->comment ? p->comment : "(none)");
	inventory_add(inv, "database", "", "connection limit", limit);
	inventory_add(inv, "database", "", "allow connections", p->allow_connections ? "t" : "f");
	for (size_t i = 0; i < p->db_setting_count; i++)
		inventory_add(inv, "database setting", "", p->db_settings[i].name,
					  p->db_settings[i].value);
	for (size_t i = 0; i < p->role_setting_count; i++)
		inventory_add(inv, "role setting", "", p->role_settings[i].name,
					  p->role_settings[i].value);
	inventory_sort(inv);
}
