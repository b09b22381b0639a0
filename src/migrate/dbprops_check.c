/*
 * dbprops_check.c — can a server give a new database another one's
 * locale, did the collation version change on the way, and the ANALYZE
 * that gives a restored database its statistics. See dbprops.h.
 */
#include "pgfold/clock.h"
#include "pgfold/dbprops.h"

#include "pgfold/log.h"
#include "pgfold/str.h"

#include <string.h>
#include <strings.h>
#include <time.h>

const char *
dbprops_refused_setting(const DbProps *p)
{
	const DbSetting *lists[2] = { p->db_settings, p->role_settings };
	size_t counts[2] = { p->db_setting_count, p->role_setting_count };

	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < counts[l]; i++)
			if (strcasecmp(lists[l][i].name, "session_preload_libraries") == 0
				|| strcasecmp(lists[l][i].name, "local_preload_libraries") == 0)
				return lists[l][i].name;
	return NULL;
}

/* Why a server of version `version` cannot have the provider at all. */
static bool
provider_missing(const DbProps *p, int version, const char *where, StrBuf *why)
{
	if (p->provider == 'i' && version < 150000)
		sb_appendf(why, "the database uses the ICU locale provider, which %s (PostgreSQL %d) "
				   "does not have for databases (15 and later do): use a PostgreSQL 15+ "
				   "server built with ICU", where, version / 10000);
	else if (p->provider == 'b' && version < 170000)
		sb_appendf(why, "the database uses the builtin locale provider, which %s (PostgreSQL "
				   "%d) does not have (17 and later do): upgrade it to PostgreSQL 17+", where,
				   version / 10000);
	else if (p->provider != 'c' && p->provider != 'i' && p->provider != 'b')
		sb_appendf(why, "the database uses locale provider '%c', which pgfold does not know",
				   p->provider);
	else
		return false;
	return true;
}

static void
fix_for(const DbProps *p, const char *where, const char *failed, StrBuf *why)
{
	StrBuf loc = STRBUF_INIT;

	dbprops_describe_locale(p, &loc);
	sb_appendf(why, "the database's locale (%s) cannot be created on %s (%s): ", sb_str(&loc),
			   where, failed);
	if (p->provider == 'i')
		sb_appends(why, "use a server built with ICU (PostgreSQL 15+ --with-icu)");
	else
		sb_appendf(why, "generate the locale there (Debian images: `localedef -i <lang_COUNTRY> "
				   "-f UTF-8 <lang_COUNTRY>.UTF-8`, or add it to /etc/locale.gen and run "
				   "locale-gen, in the image) and restart it");
	sb_appends(why, ", then re-run");
	sb_free(&loc);
}

/* One statement on conn, quietly; its primary message into err. */
static bool
quiet(PGconn *conn, const char *sql, StrBuf *err)
{
	return pg_try(conn, sql, 0, NULL, NULL, err);
}

bool
dbprops_locale_ok_shared(PGconn *conn, const DbProps *p, const char *where, bool *ok,
						 StrBuf *why)
{
	StrBuf sql = STRBUF_INIT, err = STRBUF_INIT;
	int version = 0;
	bool asked;

	*ok = true;
	if (!p->known || !pg_server_version_num(conn, &version))
		return p->known ? false : true;
	if (provider_missing(p, version, where, why))
	{
		*ok = false;
		return true;
	}
	asked = sb_appends(&sql, "CREATE COLLATION pg_temp.pgfold_locale_probe_c (provider = libc, "
					   "lc_collate = ")
		&& pg_quote_literal(conn, p->collate, &sql) && sb_appends(&sql, ", lc_ctype = ")
		&& pg_quote_literal(conn, p->ctype, &sql) && sb_appends(&sql, ")");
	if (asked && quiet(conn, "BEGIN", &err))
	{
		*ok = quiet(conn, sb_str(&sql), &err);
		if (*ok && p->provider != 'c')
		{
			sb_reset(&sql);
			sb_appendf(&sql, "CREATE COLLATION pg_temp.pgfold_locale_probe_l (provider = %s, "
					   "locale = ", p->provider == 'i' ? "icu" : "builtin");
			*ok = pg_quote_literal(conn, p->locale, &sql) && sb_appends(&sql, ")")
				&& quiet(conn, sb_str(&sql), &err);
		}
		quiet(conn, "ROLLBACK", NULL);
	}
	else if (asked)
	{
		log_error("cannot ask %s about locales: %s", where, sb_str(&err));
		asked = false;
	}
	if (asked && !*ok)
		fix_for(p, where, sb_str(&err), why);
	sb_free(&sql);
	sb_free(&err);
	return asked;
}

bool
dbprops_locale_ok_container(DockerClient *docker, const char *container, const char *user,
							const char *maint_db, const DbProps *p, bool *ok, StrBuf *why)
{
	static const char probe_sql[] =
		"BEGIN;\n"
		"CREATE COLLATION pg_temp.pgfold_locale_probe_c (provider = libc, lc_collate = :'coll', "
		"lc_ctype = :'ctyp');\n";
	StrBuf sql = STRBUF_INIT, out = STRBUF_INIT, c1 = STRBUF_INIT, c2 = STRBUF_INIT;
	StrBuf c3 = STRBUF_INIT, where = STRBUF_INIT;
	char err[1024] = "";
	int version = 0;
	const char *vars[4];

	*ok = true;
	if (!p->known)
		return true;
	if (!pgx_server_version_num(docker, container, user, &version))
		return false;
	sb_appendf(&where, "container %s", container);
	if (provider_missing(p, version, sb_str(&where), why))
	{
		*ok = false;
		sb_free(&where);
		return true;
	}
	sb_appendf(&c1, "coll=%s", p->collate);
	sb_appendf(&c2, "ctyp=%s", p->ctype);
	sb_appendf(&c3, "loc=%s", p->locale);
	vars[0] = sb_str(&c1);
	vars[1] = sb_str(&c2);
	vars[2] = sb_str(&c3);
	vars[3] = NULL;
	sb_appends(&sql, probe_sql);
	if (p->provider != 'c')
		sb_appendf(&sql, "CREATE COLLATION pg_temp.pgfold_locale_probe_l (provider = %s, "
				   "locale = :'loc');\n", p->provider == 'i' ? "icu" : "builtin");
	sb_appends(&sql, "ROLLBACK;\n");
	log_capture_begin(err, sizeof(err));
	*ok = pgx_query(docker, container, user, maint_db, sb_str(&sql), vars, &out);
	log_capture_end();
	if (!*ok)
		fix_for(p, sb_str(&where), err[0] ? err : "refused", why);
	sb_free(&sql);
	sb_free(&out);
	sb_free(&c1);
	sb_free(&c2);
	sb_free(&c3);
	sb_free(&where);
	return true;
}

/* Indexes whose order depends on a collation other than C/POSIX. */
static const char text_indexes_sql[] =
	"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_index i "
	"JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
	"AND EXISTS (SELECT 1 FROM pg_catalog.unnest(i.indcollation::pg_catalog.oid[]) x "
	"  WHERE x <> 0 AND x NOT IN (SELECT oid FROM pg_catalog.pg_collation "
	"  WHERE collname IN ('C', 'POSIX', 'ucs_basic'))) ORDER BY 1";

void
dbprops_warn_collation(PGconn *conn, const char *db, const DbProps *src, const DbProps *dst)
{
	PGresult *res = NULL;
	StrBuf list = STRBUF_INIT, d = STRBUF_INIT, loc = STRBUF_INIT;

	if (!src->known || !dst->known || src->coll_version[0] == '\0'
		|| dst->coll_version[0] == '\0' || strcmp(src->coll_version, dst->coll_version) == 0)
		return;
	if (pg_query(conn, "list the indexes on text", text_indexes_sql, 0, NULL, &res))
		for (int r = 0; r < PQntuples(res); r++)
			sb_appendf(&list, "%s%s", r ? ", " : "", PQgetvalue(res, r, 0));
	dbprops_describe_locale(dst, &loc);
	log_warn("the collation (%s) is version %s on the source but %s in %s: text may sort "
			 "differently there (ORDER BY, range scans). Its indexes on text were built by the "
			 "restore under %s; check the apps' ordering, and REINDEX these whenever the "
			 "collation version changes again: %s", sb_str(&loc), src->coll_version,
			 dst->coll_version, pg_display(&d, db), dst->coll_version,
			 list.len ? sb_str(&list) : "(no index on text)");
	PQclear(res);
	sb_free(&list);
	sb_free(&d);
	sb_free(&loc);
}

bool
dbprops_analyze(const Config *cfg, const char *db, const char *role, double *seconds)
{
	PGconn *conn = NULL;
	StrBuf sql = STRBUF_INIT;
	double a = clock_now();
	bool ok;

	/* as the role that owns the tables: ANALYZE runs none of the admin's
	 * rights on the restored database's code (index expressions) */
	ok = pg_connect_shared(cfg, db, &conn)
		&& pg_exec(conn, "pin the session's search_path",
				   "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)")
		&& (role == NULL || (sb_appends(&sql, "SET ROLE ") && pg_quote_ident(conn, role, &sql)
							 && pg_exec(conn, "become the service role", sb_str(&sql))))
		&& pg_exec(conn, "analyze the restored database", "ANALYZE");
	*seconds = clock_now() - a;
	pg_disconnect(conn);
	sb_free(&sql);
	return ok;
}
