/*
 * test_dbprops_lab.c — the SQL that reads, creates and applies a
 * database's properties (dbprops.h), against real servers, with hostile
 * names: a database, a role, setting values and a comment holding quotes,
 * spaces, semicolons, newlines and non-ASCII. Read in a container (psql),
 * created and applied on a shared instance (libpq), read back, created
 * and applied in the container again (psql): nothing changes on the way.
 * And the locale probes: what a server cannot create is said, with the fix.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "pg/pg_fixture.h"
#include "pgfold/dbprops.h"
#include "pgfold/docker.h"

static SharedPg shared;
static char src[64];
static DockerClient *docker;

static void
cleanup(void)
{
	pgtest_source_stop(src, docker);
	pgtest_shared_stop(&shared);
}

TestSuite(dbprops_lab, .fini = cleanup, .timeout = 300);

#define DB1   "we\"ird db 'ü'; --"
#define DB2   "db2 \"ü\" ' x"
#define DB3   "db3 ;\\ \"ü\""
#define ROLE  "ro\"le 'ü' x"
#define ROLE2 "ro\"le2 ü"
#define VALUE "it's \"x\", y; DROP ROLE z; -- ü\n\\ end"

static const char setup_sql[] =
	"CREATE ROLE :\"r\" LOGIN;\n"
	"CREATE DATABASE :\"d\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';\n"
	"ALTER DATABASE :\"d\" SET search_path TO '$user', :'sch', public;\n"
	"ALTER DATABASE :\"d\" SET \"pgfold.x\" TO :'v';\n"
	"ALTER DATABASE :\"d\" SET statement_timeout = '42s';\n"
	"ALTER DATABASE :\"d\" CONNECTION LIMIT 7;\n"
	"ALTER ROLE :\"r\" SET work_mem = '12MB';\n"
	"ALTER ROLE :\"r\" IN DATABASE :\"d\" SET \"pgfold.y\" TO :'v';\n"
	"ALTER ROLE :\"r\" IN DATABASE :\"d\" SET work_mem = '64MB';\n"
	"COMMENT ON DATABASE :\"d\" IS :'v';\n";

static void
start(void)
{
	const char *vars[] = { "r=" ROLE, "d=" DB1, "sch=sch \"q\", ü", "v=" VALUE, NULL };
	StrBuf out = STRBUF_INIT;

	pgtest_shared_start(&shared, "pgfold-lab/postgres:15");
	pgtest_source_start("pgfold-lab/postgres:15", "pgf_props", src, sizeof(src), &docker);
	cr_assert(pgx_query(docker, src, "src", "postgres", setup_sql, vars, &out));
	sb_free(&out);
}

static const char *
setting(const DbSetting *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].value;
	return NULL;
}

static void
assert_same(const DbProps *a, const DbProps *b, const char *where)
{
	Inventory ia = { NULL, 0 }, ib = { NULL, 0 };
	VerifyReport rep;

	dbprops_inventory(a, &ia);
	dbprops_inventory(b, &ib);
	cr_assert(verify_compare(&ia, &ib, &rep));
	if (rep.diff_count > 0)
		verify_report_print(stderr, &rep, "first", where);
	cr_assert_eq(rep.diff_count, 0, "%zu difference(s) in %s", rep.diff_count, where);
	verify_report_free(&rep);
	inventory_free(&ia);
	inventory_free(&ib);
}

Test(dbprops_lab, hostile_names_round_trip)
{
	DbProps p = DBPROPS_INIT, q = DBPROPS_INIT, r = DBPROPS_INIT;
	PGconn *conn;
	App app;
	StrBuf sql = STRBUF_INIT, out = STRBUF_INIT;

	start();
	/* read in the container, as the role, in the database */
	cr_assert(dbprops_read_container(docker, src, ROLE, DB1, &p));
	cr_assert_str_eq(p.encoding, "UTF8");
	cr_assert_str_eq(p.collate, "C");
	cr_assert_eq(p.provider, 'c');
	cr_assert_str_eq(p.comment, VALUE);
	cr_assert_eq(p.connection_limit, 7);
	cr_assert_str_eq(setting(p.db_settings, p.db_setting_count, "pgfold.x"), VALUE);
	cr_assert_str_eq(setting(p.db_settings, p.db_setting_count, "search_path"),
					 "\"$user\", \"sch \"\"q\"\", ü\", public");
	cr_assert_str_eq(setting(p.role_settings, p.role_setting_count, "pgfold.y"), VALUE);
	cr_assert_str_eq(setting(p.role_settings, p.role_setting_count, "work_mem"), "64MB",
					 "IN DATABASE does not override the global setting");

	/* created and applied on the shared instance, read back */
	conn = pgtest_shared_connect(&shared, NULL);
	sb_appends(&sql, "CREATE ROLE ");
	cr_assert(pg_quote_ident(conn, ROLE2, &sql));
	cr_assert(pg_exec(conn, "create the role", sb_str(&sql)));
	cr_assert(dbprops_create_shared(conn, DB2, ROLE2, &p));
	cr_assert(dbprops_apply_shared(conn, DB2, ROLE2, &p));
	memset(&app, 0, sizeof(app));
	app.cfg = shared.cfg;
	cr_assert(dbprops_read_shared(&app, DB2, ROLE2, &q));
	assert_same(&p, &q, "the shared copy");
	cr_assert_str_eq(setting(q.db_settings, q.db_setting_count, "search_path"),
					 setting(p.db_settings, p.db_setting_count, "search_path"));

	/* nothing role-wide: only IN DATABASE */
	sb_reset(&sql);
	cr_assert(pg_query_scalar(conn, "count", "SELECT count(*) FROM pg_db_role_setting s JOIN "
							  "pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1 AND "
							  "s.setdatabase = 0", 1, (const char *[]) { ROLE2 }, &sql, NULL));
	cr_assert_str_eq(sb_str(&sql), "0");

	/* and into a container again (rollback's way) */
	cr_assert(dbprops_create_container(docker, src, "src", "postgres", DB3, "src", &q));
	cr_assert(dbprops_apply_container(docker, src, "src", "postgres", DB3, ROLE, &q));
	cr_assert(dbprops_read_container(docker, src, ROLE, DB3, &r));
	assert_same(&p, &r, "the container copy");

	/* the plan's text of the same statements */
	sb_reset(&out);
	cr_assert(dbprops_create_sql(conn, DB2, ROLE2, &p, &out));
	cr_assert(dbprops_apply_sql(conn, DB2, ROLE2, &p, &out));
	cr_assert_not_null(strstr(sb_str(&out), "ALTER ROLE \"ro\"\"le2 ü\" IN DATABASE "
							  "\"db2 \"\"ü\"\" ' x\" SET \"work_mem\" TO '64MB'"),
					   "%s", sb_str(&out));
	cr_assert_not_null(strstr(sb_str(&out), "SET \"search_path\" TO '$user', "
							  "'sch \"q\", ü', 'public'"), "%s", sb_str(&out));
	pg_disconnect(conn);
	dbprops_free(&p);
	dbprops_free(&q);
	dbprops_free(&r);
	sb_free(&sql);
	sb_free(&out);
}

static void
probe(PGconn *conn, char provider, const char *collate, const char *locale, bool want,
	  const char *needle)
{
	DbProps p = DBPROPS_INIT;
	StrBuf why = STRBUF_INIT;
	bool ok = !want;

	dbprops_add_row(&p, "encoding", "", "UTF8");
	dbprops_add_row(&p, "collate", "", collate);
	dbprops_add_row(&p, "ctype", "", collate);
	dbprops_add_row(&p, "locale", "", locale);
	p.provider = provider;
	dbprops_settle(&p);
	if (conn != NULL)
		cr_assert(dbprops_locale_ok_shared(conn, &p, "the shared instance", &ok, &why));
	else
		cr_assert(dbprops_locale_ok_container(docker, src, "src", "postgres", &p, &ok, &why));
	cr_assert_eq(ok, want, "%c %s %s: %s", provider, collate, locale, sb_str(&why));
	if (needle != NULL)
		cr_assert_not_null(strstr(sb_str(&why), needle), "%s", sb_str(&why));
	dbprops_free(&p);
	sb_free(&why);
}

Test(dbprops_lab, locale_probes)
{
	PGconn *conn;

	start();
	conn = pgtest_shared_connect(&shared, NULL);
	probe(conn, 'c', "C", "", true, NULL);
	probe(conn, 'c', "en_US.utf8", "", true, NULL);
	probe(conn, 'i', "C", "de-DE", true, NULL);
	probe(conn, 'c', "de_DE.utf8", "", false, "cannot be created on the shared instance "
		  "(could not create locale \"de_DE.utf8\": No such file or directory): generate the "
		  "locale there");
	probe(conn, 'c', "C'; DROP DATABASE app; --", "", false, "could not create locale");
	probe(conn, 'b', "C", "C.UTF-8", false, "the builtin locale provider, which the shared "
		  "instance (PostgreSQL 15) does not have (17 and later do)");
	/* the same questions by psql in a container */
	probe(NULL, 'c', "C", "", true, NULL);
	probe(NULL, 'i', "en_US.utf8", "de-DE", true, NULL);
	probe(NULL, 'c', "de_DE.utf8", "", false, "could not create locale \"de_DE.utf8\"");
	pg_disconnect(conn);
}
