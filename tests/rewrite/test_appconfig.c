/*
 * test_appconfig.c — apps configured by their own files: homeserver.yaml's
 * database.args and app.ini's [database] rewritten value by value (every
 * other byte kept, hostile shapes refused), and the file:line references
 * of unknown formats.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/appconfig.h"
#include "pgfold/log.h"

static const char *const HOSTS[] = { "db", "synapse-db", NULL };
static const AcOld OLD = { HOSTS, 5432, "synapse", "synapse" };
static const AcNew NEW = { "postgres", 5432, "synapse", "N3w-p4ss", "synapse" };

static char *
yaml(const char *in, const AcNew *n, bool *matched)
{
	StrBuf out = STRBUF_INIT;

	cr_assert(appconfig_yaml_rewrite("homeserver.yaml", in, strlen(in), &OLD, n, &out, matched),
			  "refused: %s", in);
	return sb_steal(&out);
}

static bool
yaml_refused(const char *in)
{
	StrBuf out = STRBUF_INIT;
	bool matched = false, ok;

	ok = appconfig_yaml_rewrite("homeserver.yaml", in, strlen(in), &OLD, &NEW, &out, &matched);
	cr_assert_eq(out.len, 0, "bytes left after a refusal");
	sb_free(&out);
	return !ok;
}

#define SYNAPSE_HEAD "# Synapse config\nserver_name: \"example.org\"\n"

Test(appconfig_yaml, values_replaced_everything_else_kept)
{
	const char *in = SYNAPSE_HEAD
		"database:\n"
		"  name: psycopg2   # the driver\n"
		"  args:\n"
		"    user: synapse\n"
		"    password: 'old''pw'   # quoted\n"
		"    database: \"synapse\"\n"
		"    host: db\n"
		"    port: 5432\n"
		"    cp_min: 5\n"
		"    cp_max: 10\n"
		"\n"
		"# trailing comment\n"
		"media_store_path: /data/media_store\n";
	AcNew n = NEW;
	bool matched = false;

	n.host = "10.0.0.5";
	n.port = 6543;
	n.user = "synapse_app";
	n.password = "it's \"x\"";
	n.dbname = "synapse_db";

	char *got = yaml(in, &n, &matched);

	cr_assert(matched);
	cr_assert_str_eq(got, SYNAPSE_HEAD
		"database:\n"
		"  name: psycopg2   # the driver\n"
		"  args:\n"
		"    user: synapse_app\n"
		"    password: 'it''s \"x\"'   # quoted\n"
		"    database: \"synapse_db\"\n"
		"    host: \"10.0.0.5\"\n"
		"    port: 6543\n"
		"    cp_min: 5\n"
		"    cp_max: 10\n"
		"\n"
		"# trailing comment\n"
		"media_store_path: /data/media_store\n");
	free(got);
}

Test(appconfig_yaml, missing_keys_added_with_the_same_indent_and_crlf)
{
	const char *in = "\xEF\xBB\xBF" "database:\r\n"
		"   name: psycopg2\r\n"
		"   args:\r\n"
		"       host: synapse-db\r\n"
		"       dbname: synapse   # comment stays\r\n"
		"other: 1\r\n";
	bool matched = false;
	char *got = yaml(in, &NEW, &matched);

	cr_assert(matched);
	cr_assert_str_eq(got, "\xEF\xBB\xBF" "database:\r\n"
		"   name: psycopg2\r\n"
		"   args:\r\n"
		"       host: postgres\r\n"
		"       dbname: synapse   # comment stays\r\n"
		"       port: 5432\r\n"
		"       user: synapse\r\n"
		"       password: N3w-p4ss\r\n"
		"other: 1\r\n");
	free(got);
}

Test(appconfig_yaml, last_line_without_newline)
{
	const char *in = "database:\n  name: psycopg2\n  args:\n    host: db\n    user: synapse\n"
		"    password: x\n    database: synapse";
	bool matched = false;
	char *got = yaml(in, &NEW, &matched);

	cr_assert_str_eq(got, "database:\n  name: psycopg2\n  args:\n    host: postgres\n"
					 "    user: synapse\n    password: N3w-p4ss\n    database: synapse\n"
					 "    port: 5432\n");
	free(got);
}

Test(appconfig_yaml, a_password_plain_yaml_would_misread_is_quoted)
{
	const char *in = "database:\n  name: psycopg2\n  args:\n    host: db\n    port: 5432\n"
		"    user: synapse\n    password: old\n    database: synapse\n";
	AcNew n = NEW;
	bool matched = false;

	n.password = "#no: comment";
	char *got = yaml(in, &n, &matched);

	cr_assert(strstr(got, "    password: \"#no: comment\"\n") != NULL, "%s", got);
	free(got);
	n.password = "yes";
	got = yaml(in, &n, &matched);
	cr_assert(strstr(got, "    password: \"yes\"\n") != NULL, "%s", got);
	free(got);
}

Test(appconfig_yaml, another_database_or_sqlite_is_not_matched)
{
	bool matched = true;
	char *got = yaml("database:\n  name: psycopg2\n  args:\n    host: otherdb\n", &NEW, &matched);

	cr_assert_not(matched);
	cr_assert_str_eq(got, "");
	free(got);
	got = yaml("database:\n  name: sqlite3\n  args:\n    database: /data/homeserver.db\n",
			   &NEW, &matched);
	cr_assert_not(matched);
	free(got);
}

Test(appconfig_yaml, hostile_shapes_are_refused)
{
	log_set_level(LOG_FATAL);
	/* the same key twice: which one Synapse reads is a guess */
	cr_assert(yaml_refused("database:\n  name: psycopg2\n  args:\n    host: db\n    host: db\n"));
	cr_assert(yaml_refused("database:\n  name: psycopg2\n  args:\n    host: db\n"
						   "database:\n  name: sqlite3\n"));
	/* flow mapping, alias, merge key, block scalar */
	cr_assert(yaml_refused("database:\n  name: psycopg2\n  args: {host: db, user: synapse}\n"));
	cr_assert(yaml_refused("x: &h db\ndatabase:\n  name: psycopg2\n  args:\n    host: *h\n"));
	cr_assert(yaml_refused("base: &b {host: db}\ndatabase:\n  name: psycopg2\n  args:\n"
						   "    <<: *b\n    user: synapse\n"));
	cr_assert(yaml_refused("database:\n  name: psycopg2\n  args:\n    host: db\n"
						   "    password: |\n      old\n"));
	/* not YAML, two documents, NUL bytes, huge */
	cr_assert(yaml_refused("database: [\n"));
	cr_assert(yaml_refused("a: 1\n---\nb: 2\n"));

	char nul[] = "database:\n  name: psycopg2\n  args:\n    host: db\0\n";
	StrBuf out = STRBUF_INIT;
	bool matched;

	cr_assert_not(appconfig_rewrite(AC_FORMAT_SYNAPSE_YAML, "h.yaml", nul, sizeof(nul) - 1,
									&OLD, &NEW, &out, &matched));

	size_t big = APPCONFIG_MAX_BYTES + 10;
	char *huge = malloc(big + 1);

	memset(huge, '#', big);
	huge[big] = '\0';
	cr_assert_not(appconfig_rewrite(AC_FORMAT_SYNAPSE_YAML, "h.yaml", huge, big, &OLD, &NEW,
									&out, &matched));
	free(huge);
	sb_free(&out);
}

/* ---- INI ------------------------------------------------------------------- */

static char *
ini(const char *in, const AcNew *n, bool *matched)
{
	StrBuf out = STRBUF_INIT;
	static const char *const GH[] = { "gitea-db", "db", NULL };
	AcOld old = { GH, 5432, "gitea", "gitea" };

	cr_assert(appconfig_ini_rewrite("app.ini", in, strlen(in), &old, n, &out, matched),
			  "refused: %s", in);
	return sb_steal(&out);
}

static bool
ini_refused(const char *in)
{
	StrBuf out = STRBUF_INIT;
	static const char *const GH[] = { "gitea-db", NULL };
	AcOld old = { GH, 5432, "gitea", "gitea" };
	bool matched = false, ok;

	ok = appconfig_ini_rewrite("app.ini", in, strlen(in), &old, &NEW, &out, &matched);
	cr_assert_eq(out.len, 0);
	sb_free(&out);
	return !ok;
}

Test(appconfig_ini, gitea_database_section)
{
	const char *in = "APP_NAME = Gitea\n"
		"[server]\nHTTP_PORT = 3000\nHOST = not-this-one\n\n"
		"; database settings\n"
		"[database]\n"
		"DB_TYPE  = postgres\n"
		"HOST     = gitea-db:5432 ; inline comment\n"
		"NAME     = gitea\n"
		"USER     = gitea\n"
		"PASSWD   = `old#pw`\n"
		"SSL_MODE = disable\n"
		"\n[repository]\nROOT = /data/git/repositories\n";
	AcNew n = { "postgres", 6543, "gitea_app", "s3cret;#x", "gitea_db" };
	bool matched = false;
	char *got = ini(in, &n, &matched);

	cr_assert(matched);
	cr_assert_str_eq(got, "APP_NAME = Gitea\n"
		"[server]\nHTTP_PORT = 3000\nHOST = not-this-one\n\n"
		"; database settings\n"
		"[database]\n"
		"DB_TYPE  = postgres\n"
		"HOST     = postgres:6543 ; inline comment\n"
		"NAME     = gitea_db\n"
		"USER     = gitea_app\n"
		"PASSWD   = `s3cret;#x`\n"
		"SSL_MODE = disable\n"
		"\n[repository]\nROOT = /data/git/repositories\n");
	free(got);
}

Test(appconfig_ini, missing_keys_added_crlf_bom_kept)
{
	const char *in = "\xEF\xBB\xBF[database]\r\nDB_TYPE = postgres\r\nHOST = db\r\n"
		"# end\r\n[log]\r\nMODE = console\r\n";
	bool matched = false;
	char *got = ini(in, &NEW, &matched);

	cr_assert(matched);
	cr_assert_str_eq(got, "\xEF\xBB\xBF[database]\r\nDB_TYPE = postgres\r\nHOST = postgres\r\n"
					 "NAME = synapse\r\nUSER = synapse\r\nPASSWD = N3w-p4ss\r\n"
					 "# end\r\n[log]\r\nMODE = console\r\n");
	free(got);
}

Test(appconfig_ini, quoted_values_keep_their_quotes)
{
	const char *in = "[database]\nHOST = \"gitea-db:5432\"\nNAME = \"gitea\"\nUSER = gitea\n"
		"PASSWD = \"old\"";
	AcNew n = NEW;
	bool matched = false;

	n.password = "has\"quote";
	char *got = ini(in, &n, &matched);

	cr_assert_str_eq(got, "[database]\nHOST = \"postgres:5432\"\nNAME = \"synapse\"\n"
					 "USER = synapse\nPASSWD = `has\"quote`");
	free(got);
}

Test(appconfig_ini, not_matched_and_refused)
{
	bool matched = true;
	char *got = ini("[database]\nDB_TYPE = mysql\nHOST = gitea-db:3306\n", &NEW, &matched);

	cr_assert_not(matched);
	free(got);
	got = ini("[database]\nDB_TYPE = postgres\nHOST = elsewhere:5432\n", &NEW, &matched);
	cr_assert_not(matched);
	free(got);

	log_set_level(LOG_FATAL);
	cr_assert(ini_refused("[database]\nHOST = gitea-db\nHOST = gitea-db\n"));
	cr_assert(ini_refused("[database]\nHOST = gitea-db\n[database]\nNAME = x\n"));
	cr_assert(ini_refused("[database]\nHOST = gitea-db\nPASSWD = \"\"\"\nx\n\"\"\"\n"));
	cr_assert(ini_refused("[database]\nHOST = gitea-db\nPASSWD = abc\\\n"));

	StrBuf out = STRBUF_INIT;
	AcNew ctl = NEW;
	static const char *const GH[] = { "gitea-db", NULL };
	AcOld old = { GH, 5432, "gitea", "gitea" };

	ctl.password = "a`b\"c";   /* no quoting of go-ini holds both */
	cr_assert_not(appconfig_ini_rewrite("app.ini", "[database]\nHOST = gitea-db\n", 27, &old,
										&ctl, &out, &matched));
	sb_free(&out);
}

/* ---- formats and references ---------------------------------------------- */

Test(appconfig_refs, format_by_name_and_content)
{
	cr_assert_eq(appconfig_format("/x/homeserver.yaml", "database:\n", 10), AC_FORMAT_SYNAPSE_YAML);
	cr_assert_eq(appconfig_format("/x/conf/app.ini", "[database]\n", 11), AC_FORMAT_INI_DATABASE);
	cr_assert_eq(appconfig_format("/x/app.ini", "x = [database]\n", 15), AC_FORMAT_UNKNOWN);
	cr_assert_eq(appconfig_format("/x/config.xml", "<Host>db</Host>", 15), AC_FORMAT_UNKNOWN);
}

Test(appconfig_refs, lines_naming_the_old_database)
{
	const char *xml = "<Config>\r\n  <PostgresHost>synapse-db</PostgresHost>\r\n"
		"  <PostgresPort>5432</PostgresPort>\r\n  <PostgresUser>synapse</PostgresUser>\r\n"
		"  <PostgresMainDb>synapse</PostgresMainDb>\r\n  <Other>db2 mydb db.example</Other>\r\n"
		"</Config>\r\n";
	AcNew n = { "postgres", 6543, "synapse_app", "secret-never-shown", "synapse_main" };
	AcRef *refs = NULL;
	size_t count = 0;

	cr_assert(appconfig_find_refs(xml, strlen(xml), &OLD, &n, &refs, &count));
	cr_assert_eq(count, 4);
	cr_assert_eq(refs[0].line, 2);
	cr_assert_str_eq(refs[0].text, "  <PostgresHost>synapse-db</PostgresHost>");
	cr_assert_str_eq(refs[0].change, "host `synapse-db` -> `postgres`");
	cr_assert_eq(refs[1].line, 3);
	cr_assert_str_eq(refs[1].change, "port `5432` -> `6543`");
	/* user and database are the same word here: both changes are named */
	cr_assert_str_eq(refs[2].change, "user `synapse` -> `synapse_app`; database `synapse` -> "
					 "`synapse_main`");
	cr_assert_str_eq(refs[3].change, "user `synapse` -> `synapse_app`; database `synapse` -> "
					 "`synapse_main`");
	for (size_t i = 0; i < count; i++)
		cr_assert_null(strstr(refs[i].change, "secret"));
	appconfig_refs_free(refs, count);

	/* a line holding a secret is named, not shown */
	refs = NULL;
	count = 0;
	const char *dsn = "dsn=postgres://synapse:hunter2@synapse-db/x pass=1\n";

	cr_assert(appconfig_find_refs(dsn, strlen(dsn), &OLD, &n, &refs, &count));
	cr_assert_eq(count, 1);
	cr_assert_str_eq(refs[0].text, "(holds a secret: not shown)");
	cr_assert_null(strstr(refs[0].change, "hunter2"));
	appconfig_refs_free(refs, count);

	/* a word that equals the service key, and nothing else of the database */
	refs = NULL;
	count = 0;
	cr_assert(appconfig_find_refs("cache: db\nmode: fast\n", 21, &OLD, &n, &refs, &count));
	cr_assert_eq(count, 0);
	cr_assert(appconfig_find_refs("x\0db 5432", 9, &OLD, &n, &refs, &count));
	cr_assert_eq(count, 0);
}

/* What the proof reads back: the settings as the app reads them. */
Test(appconfig_read, yaml_and_ini)
{
	char *v[APPCONFIG_PIECES];
	const char *names[APPCONFIG_PIECES];
	const char *y = "database:\n  name: psycopg2\n  args:\n    host: postgres\n    user: u\n"
		"    password: 'p w'\n    dbname: d\n";
	const char *ini = "[database]\nHOST = postgres:6543\nNAME = d\nUSER = u\nPASSWD = `p;w`\n";

	cr_assert(appconfig_read(AC_FORMAT_SYNAPSE_YAML, "h.yaml", y, strlen(y), v, names));
	cr_assert_str_eq(v[0], "postgres");
	cr_assert_str_eq(v[1], "5432");
	cr_assert_str_eq(v[2], "u");
	cr_assert_str_eq(v[3], "p w");
	cr_assert_str_eq(v[4], "d");
	cr_assert_str_eq(names[4], "database.args.dbname");
	appconfig_values_free(v);

	cr_assert(appconfig_read(AC_FORMAT_INI_DATABASE, "app.ini", ini, strlen(ini), v, names));
	cr_assert_str_eq(v[0], "postgres");
	cr_assert_str_eq(v[1], "6543");
	cr_assert_str_eq(v[3], "p;w");
	cr_assert_str_eq(names[3], "[database] PASSWD");
	appconfig_values_free(v);
}
