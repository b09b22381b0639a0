/*
 * test_files.c — the schema module without a database: file names and
 * versions, normalisation and sums, the no-transaction directive, statement
 * splitting, pgfold.sum and its diagnostics, lint classes, plans.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/schema.h"

Test(schema_files, name_parse)
{
	char v[SCHEMA_VERSION_MAX + 1], n[SCHEMA_NAME_MAX + 1];
	SchemaKind k;

	cr_assert(schema_name_parse("000001_init.up.sql", v, n, &k));
	cr_assert_str_eq(v, "000001");
	cr_assert_str_eq(n, "init");
	cr_assert_eq(k, SCHEMA_UP);
	cr_assert(schema_name_parse("20261205103000_add-email_col.down.sql", v, n, &k));
	cr_assert_str_eq(v, "20261205103000");
	cr_assert_str_eq(n, "add-email_col");
	cr_assert_eq(k, SCHEMA_DOWN);
	cr_assert(schema_name_parse("7_x.check.sql", v, n, &k));
	cr_assert_eq(k, SCHEMA_CHECK);
	cr_assert_not(schema_name_parse("init.up.sql", v, n, &k));
	cr_assert_not(schema_name_parse("1_.up.sql", v, n, &k));
	cr_assert_not(schema_name_parse("1_a b.up.sql", v, n, &k));
	cr_assert_not(schema_name_parse("1_a/../b.up.sql", v, n, &k));
	cr_assert_not(schema_name_parse("1_a.sql", v, n, &k));
	cr_assert_not(schema_name_parse("v1_a.up.sql", v, n, &k));
	cr_assert_not(schema_name_parse("123456789012345678901234567890123_a.up.sql", v, n, &k));
}

Test(schema_files, version_order_is_numeric)
{
	cr_assert_lt(schema_version_cmp("2", "10"), 0);
	cr_assert_eq(schema_version_cmp("000010", "10"), 0);
	cr_assert_gt(schema_version_cmp("20261205103000", "000002"), 0);
	cr_assert_eq(schema_version_cmp("0", "000"), 0);
}

Test(schema_files, crlf_and_bom_do_not_change_the_sum)
{
	const char lf[] = "CREATE TABLE t (id int);\nSELECT 1;\n";
	const char crlf[] = "\xEF\xBB\xBF" "CREATE TABLE t (id int);\r\nSELECT 1;\r\n";
	StrBuf a = STRBUF_INIT, b = STRBUF_INIT;
	char ha[FS_SHA256_HEX_LEN + 1], hb[FS_SHA256_HEX_LEN + 1];

	schema_normalise(lf, strlen(lf), &a);
	schema_normalise(crlf, strlen(crlf), &b);
	cr_assert_str_eq(sb_str(&a), sb_str(&b));
	schema_sum(sb_str(&a), a.len, ha);
	schema_sum(sb_str(&b), b.len, hb);
	cr_assert_str_eq(ha, hb);
	/* sha256 of the LF text, as sha256sum says */
	{
		char want[80];

		cr_assert(fst_shell_line("printf 'CREATE TABLE t (id int);\\nSELECT 1;\\n' | sha256sum "
								 "| cut -c1-64", want, sizeof(want)));
		cr_assert_str_eq(ha, want);
	}
	sb_free(&a);
	sb_free(&b);
}

Test(schema_files, no_transaction_directive)
{
	cr_assert(schema_no_transaction("-- pgfold:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"));
	cr_assert(schema_no_transaction("SELECT 1;\n  -- pgfold:no-transaction  \n"));
	cr_assert_not(schema_no_transaction("-- pgfold:no-transaction please\n"));
	cr_assert_not(schema_no_transaction("SELECT '-- pgfold:no-transaction';"));
}

Test(schema_files, split_statements)
{
	const char *sql =
		"-- leading comment; with a semicolon\n"
		"CREATE TABLE t (v text DEFAULT 'a;b', \"we;ird\" int);\n"
		"/* block ; /* nested ; */ still */\n"
		"CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
		"CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true "
		"THEN 1 END; SELECT 2; END;\n"
		"INSERT INTO t VALUES ('it''s; fine')\n"
		";\n-- only a comment;\n";
	SchemaStmts s;

	cr_assert(schema_split(sql, "x.sql", &s));
	cr_assert_eq(s.count, 4, "%zu statements", s.count);
	cr_assert(strncmp(s.items[0].text, "CREATE TABLE t", 14) == 0, "%s", s.items[0].text);
	cr_assert_eq(s.items[0].line, 2);
	cr_assert(strstr(s.items[1].text, "$body$ SELECT 1; $body$") != NULL, "%s", s.items[1].text);
	cr_assert(strstr(s.items[2].text, "SELECT 2; END") != NULL, "%s", s.items[2].text);
	cr_assert_str_eq(s.items[3].text, "INSERT INTO t VALUES ('it''s; fine')");
	cr_assert_eq(s.items[3].line, 6);
	schema_stmts_free(&s);
}

Test(schema_files, split_refuses_an_unterminated_quote)
{
	char why[512];
	SchemaStmts s;

	log_capture_begin(why, sizeof(why));
	cr_assert_not(schema_split("SELECT 1;\nSELECT $x$ never ends;\n", "f.sql", &s));
	log_capture_end();
	cr_assert(strstr(why, "f.sql: unterminated") != NULL, "%s", why);
}

Test(schema_files, passwords_are_redacted)
{
	StrBuf r = STRBUF_INIT;

	schema_redact("CREATE ROLE a LOGIN PASSWORD 'se''cr;et' VALID UNTIL 'infinity'", &r);
	cr_assert_str_eq(sb_str(&r), "CREATE ROLE a LOGIN PASSWORD '***' VALID UNTIL 'infinity'");
	schema_redact("alter role b password E'x\\'y'; ALTER ROLE c PASSWORD $p$z$p$", &r);
	cr_assert_str_eq(sb_str(&r), "alter role b PASSWORD '***'; ALTER ROLE c PASSWORD '***'");
	schema_redact("ALTER ROLE d PASSWORD NULL; SELECT password_x FROM t", &r);
	cr_assert_str_eq(sb_str(&r), "ALTER ROLE d PASSWORD NULL; SELECT password_x FROM t");
	sb_free(&r);
}

/* ---- a directory and its pgfold.sum ---------------------------------------------- */

static void
put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];

	fst_join(path, dir, name);
	fst_put(path, text, strlen(text));
}

Test(schema_files, directory_and_sum)
{
	char dir[PATH_MAX], why[2048], path[PATH_MAX];
	StrBuf all = STRBUF_INIT;
	SchemaDir d;
	json_t *problems = json_array();
	char *text;

	fst_mkdtemp(dir);
	put(dir, "000002_b.up.sql", "SELECT 2;\n");
	put(dir, "000010_c.up.sql", "SELECT 10;\n");
	put(dir, "000001_a.up.sql", "SELECT 1;\n");
	put(dir, "000001_a.down.sql", "SELECT -1;\n");
	put(dir, "README.md", "not a migration\n");
	cr_assert(schema_dir_load(dir, &d));
	cr_assert_eq(d.count, 3);
	cr_assert_str_eq(d.files[0].version, "000001");
	cr_assert(d.files[0].has[SCHEMA_DOWN]);
	cr_assert_str_eq(d.files[2].version, "000010");
	cr_assert(schema_sum_write(&d));
	fst_join(path, dir, SCHEMA_SUM_FILE);
	text = fst_slurp(path, NULL);
	cr_assert(strncmp(text, "h1:", 3) == 0);
	cr_assert(strstr(text, "  000001_a.down.sql\n") != NULL, "%s", text);
	free(text);
	cr_assert(schema_sum_check(&d, problems));
	schema_dir_free(&d);

	/* edited, added and removed files are each named */
	put(dir, "000002_b.up.sql", "SELECT 22;\n");
	put(dir, "000011_d.up.sql", "SELECT 11;\n");
	fst_join(path, dir, "000010_c.up.sql");
	unlink(path);
	cr_assert(schema_dir_load(dir, &d));
	log_capture_begin(why, sizeof(why));
	cr_assert_not(schema_sum_check(&d, problems));
	log_capture_end();
	for (size_t i = 0; i < json_array_size(problems); i++)
		sb_appendf(&all, "%s\n", json_string_value(json_array_get(problems, i)));
	cr_assert(strstr(why, "000002_b.up.sql changed since `pgfold schema hash`") != NULL, "%s", why);
	cr_assert(strstr(sb_str(&all), "000011_d.up.sql is not in pgfold.sum") != NULL, "%s",
			  sb_str(&all));
	cr_assert(strstr(sb_str(&all), "000010_c.up.sql is listed in pgfold.sum but missing") != NULL,
			  "%s", sb_str(&all));
	cr_assert_eq(json_array_size(problems), 3, "%s", sb_str(&all));
	sb_free(&all);
	schema_dir_free(&d);
	json_decref(problems);
	fst_rm_rf(dir);
}

Test(schema_files, directory_errors)
{
	char dir[PATH_MAX], why[1024];
	SchemaDir d;

	fst_mkdtemp(dir);
	put(dir, "1_a.up.sql", "SELECT 1;");
	put(dir, "1_b.up.sql", "SELECT 1;");
	log_capture_begin(why, sizeof(why));
	cr_assert_not(schema_dir_load(dir, &d));
	log_capture_end();
	cr_assert(strstr(why, "version 1 is already taken by 1_a") != NULL
			  || strstr(why, "version 1 is already taken by 1_b") != NULL, "%s", why);
	fst_rm_rf(dir);
	fst_mkdtemp(dir);
	put(dir, "2_x.down.sql", "SELECT 1;");
	log_capture_begin(why, sizeof(why));
	cr_assert_not(schema_dir_load(dir, &d));
	log_capture_end();
	cr_assert(strstr(why, "2_x has no .up.sql file") != NULL, "%s", why);
	fst_rm_rf(dir);
	fst_mkdtemp(dir);
	put(dir, "add_users.sql", "SELECT 1;");
	log_capture_begin(why, sizeof(why));
	cr_assert_not(schema_dir_load(dir, &d));
	log_capture_end();
	cr_assert(strstr(why, "add_users.sql: not a migration name") != NULL, "%s", why);
	fst_rm_rf(dir);
}

/* ---- lint ---------------------------------------------------------------------- */

static SchemaRisk
risk(const char *stmt, const char *const *big)
{
	char why[160];

	return schema_lint_stmt(stmt, big, why, sizeof(why));
}

Test(schema_lint, classes)
{
	static const char *const big[] = { "events", NULL };
	char why[160];

	cr_assert_eq(risk("CREATE TABLE t (id int)", NULL), SCHEMA_RISK_LOW);
	cr_assert_eq(risk("ALTER TABLE t ADD COLUMN note text", NULL), SCHEMA_RISK_LOW);
	cr_assert_eq(risk("CREATE INDEX i ON t (a)", NULL), SCHEMA_RISK_LOW);
	cr_assert_eq(risk("CREATE OR REPLACE VIEW v AS SELECT 1", NULL), SCHEMA_RISK_LOW);
	cr_assert_eq(risk("ALTER TABLE t ALTER COLUMN a TYPE bigint", NULL), SCHEMA_RISK_MEDIUM);
	cr_assert_eq(risk("ALTER TABLE t ALTER COLUMN a SET NOT NULL", NULL), SCHEMA_RISK_MEDIUM);
	cr_assert_eq(risk("ALTER TABLE t RENAME COLUMN a TO b", NULL), SCHEMA_RISK_MEDIUM);
	cr_assert_eq(risk("ALTER TABLE t ADD COLUMN a int NOT NULL", NULL), SCHEMA_RISK_MEDIUM);
	cr_assert_eq(risk("ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT 0", NULL), SCHEMA_RISK_LOW);
	cr_assert_eq(risk("DROP TABLE t", NULL), SCHEMA_RISK_HIGH);
	cr_assert_eq(risk("ALTER TABLE t DROP COLUMN a", NULL), SCHEMA_RISK_HIGH);
	cr_assert_eq(risk("alter table t drop a", NULL), SCHEMA_RISK_HIGH);
	cr_assert_eq(risk("UPDATE t SET a = 1", NULL), SCHEMA_RISK_HIGH);
	cr_assert_eq(risk("DELETE FROM t", NULL), SCHEMA_RISK_HIGH);
	cr_assert_eq(risk("TRUNCATE t", NULL), SCHEMA_RISK_HIGH);
	cr_assert_eq(risk("ALTER TABLE t ADD PRIMARY KEY (id)", NULL), SCHEMA_RISK_HIGH);
	cr_assert_eq(risk("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u", NULL),
				 SCHEMA_RISK_HIGH);
	/* words in literals and comments are not statements */
	cr_assert_eq(risk("INSERT INTO t VALUES ('DROP TABLE x') -- DELETE", NULL), SCHEMA_RISK_LOW);
	/* CREATE INDEX on a big table without CONCURRENTLY */
	cr_assert_eq(schema_lint_stmt("CREATE INDEX i ON public.Events (a)", big, why, sizeof(why)),
				 SCHEMA_RISK_MEDIUM);
	cr_assert(strstr(why, "big table events") != NULL, "%s", why);
	cr_assert_eq(risk("CREATE INDEX CONCURRENTLY i ON events (a)", big), SCHEMA_RISK_LOW);
	cr_assert(schema_stmt_needs_no_tx("create index concurrently i on t (a)"));
	cr_assert(schema_stmt_needs_no_tx("VACUUM t"));
	cr_assert_not(schema_stmt_needs_no_tx("CREATE INDEX i ON t (a)"));
}

Test(schema_lint, file_flags_statements_that_cannot_run_in_a_transaction)
{
	const char *tx = "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);\n";
	char notx[256];
	SchemaStmts s;
	SchemaLint l;

	cr_assert(schema_split(tx, "f", &s));
	schema_lint(tx, &s, NULL, &l);
	cr_assert_eq(l.risk, SCHEMA_RISK_MEDIUM);
	cr_assert_eq(l.items[1].line, 2);
	cr_assert(strstr(l.items[1].why, "cannot run inside a transaction") != NULL);
	schema_lint_free(&l);
	schema_stmts_free(&s);
	str_format(notx, sizeof(notx), "%s\n%s", SCHEMA_NO_TX_DIRECTIVE, tx);
	cr_assert(schema_split(notx, "f", &s));
	schema_lint(notx, &s, NULL, &l);
	cr_assert_eq(l.risk, SCHEMA_RISK_LOW);
	cr_assert(l.no_transaction);
	schema_lint_free(&l);
	schema_stmts_free(&s);
}

/* ---- plans ------------------------------------------------------------------------ */

static SchemaApplied applied[2] = {
	{ .version = "000001", .name = "a", .checksum = "", .kind = "up", .applied = true },
	{ .version = "000002", .name = "b", .checksum = "", .kind = "up", .applied = true },
};

Test(schema_plan, up_down_goto)
{
	SchemaFile files[3] = {
		{ .version = "000001", .name = "a", .has = { true, true, false } },
		{ .version = "000002", .name = "b", .has = { true, true, false } },
		{ .version = "000003", .name = "c", .has = { true, false, false } },
	};
	SchemaDir d = { .path = "m", .files = files, .count = 3 };
	SchemaState st = { .table_exists = true, .items = applied, .count = 2 };
	SchemaPlan p;
	char why[512];

	cr_assert(schema_plan(&d, &st, SCHEMA_GO_UP, 0, NULL, &p));
	cr_assert_eq(p.count, 1);
	cr_assert_str_eq(p.items[0].file->version, "000003");
	schema_plan_free(&p);
	cr_assert(schema_plan(&d, &st, SCHEMA_GO_DOWN, 0, NULL, &p));
	cr_assert_eq(p.count, 1);
	cr_assert_str_eq(p.items[0].file->version, "000002");
	cr_assert_eq(p.items[0].kind, SCHEMA_DOWN);
	schema_plan_free(&p);
	cr_assert(schema_plan(&d, &st, SCHEMA_GO_TO, 0, "0", &p));
	cr_assert_eq(p.count, 2);
	cr_assert_str_eq(p.items[1].file->version, "000001");
	schema_plan_free(&p);
	cr_assert(schema_plan(&d, &st, SCHEMA_GO_TO, 0, "000003", &p));
	cr_assert_eq(p.count, 1);
	cr_assert_eq(p.items[0].kind, SCHEMA_UP);
	schema_plan_free(&p);
	log_capture_begin(why, sizeof(why));
	cr_assert_not(schema_plan(&d, &st, SCHEMA_GO_TO, 0, "000009", &p));
	log_capture_end();
	cr_assert(strstr(why, "no migration has version 000009") != NULL, "%s", why);
	/* a down without its file is refused with the file's name */
	files[1].has[SCHEMA_DOWN] = false;
	log_capture_begin(why, sizeof(why));
	cr_assert_not(schema_plan(&d, &st, SCHEMA_GO_DOWN, 1, NULL, &p));
	log_capture_end();
	cr_assert(strstr(why, "m/000002_b.down.sql is missing") != NULL, "%s", why);
}

Test(schema_files, next_version)
{
	SchemaFile files[1] = { { .version = "000041", .name = "a" } };
	SchemaDir d = { .path = "m", .files = files, .count = 1 };
	SchemaDir empty = { .path = "m" };
	char v[SCHEMA_VERSION_MAX + 1];

	schema_next_version(&d, 0, v, sizeof(v));
	cr_assert_str_eq(v, "000042");
	schema_next_version(&empty, 1764930600, v, sizeof(v));
	cr_assert_str_eq(v, "20251205103000");
}
