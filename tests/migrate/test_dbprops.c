/*
 * test_dbprops.c — the pure parts of dbprops (no engine): how a setting's
 * flattened value splits into the elements ALTER … SET takes, and how the
 * rows of the properties query become a DbProps (global role settings
 * overridden by IN DATABASE ones), with hostile names and values.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/dbprops.h"

static void
expect_values(const char *name, const char *value, size_t n, const char *const *want)
{
	char **v = NULL;
	size_t count = 0;

	cr_assert(dbprops_setting_values(name, value, &v, &count), "%s=%s refused", name, value);
	cr_assert_eq(count, n, "%s=%s: %zu element(s), want %zu", name, value, count, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(v[i], want[i], "%s=%s element %zu", name, value, i);
	dbprops_values_free(v, count);
}

Test(dbprops, plain_values_are_one_literal)
{
	const char *a[] = { "12MB" };
	const char *b[] = { "it's \"x\", y; DROP ROLE z; -- ü\n\\" };
	const char *c[] = { "a, \"b\"" };

	expect_values("work_mem", "12MB", 1, a);
	expect_values("pgfold.x", b[0], 1, b);
	/* not a quoted-list setting: the commas and quotes are the value */
	expect_values("DateStyle", c[0], 1, c);
	expect_values("my.custom", c[0], 1, c);
}

Test(dbprops, quoted_lists_split_as_pg_dump_does)
{
	const char *a[] = { "$user", "public", "odd \"sch\"" };
	const char *b[] = { "we ird", "ü" };
	const char *c[] = { "" };
	const char *d[] = { "a", "b" };

	expect_values("search_path", "\"$user\", public, \"odd \"\"sch\"\"\"", 3, a);
	expect_values("SEARCH_PATH", "\"we ird\",\"ü\"", 2, b);
	expect_values("search_path", "\"\"", 1, c);
	/* an empty list is one empty element: SET search_path TO '' */
	expect_values("search_path", "", 1, c);
	expect_values("temp_tablespaces", "  a ,  b  ", 2, d);
}

Test(dbprops, unreadable_lists_are_refused)
{
	char **v = NULL;
	size_t n = 0;

	cr_assert_not(dbprops_setting_values("search_path", "\"unterminated", &v, &n));
	cr_assert_eq(n, 0);
	cr_assert_not(dbprops_setting_values("search_path", "a,,b", &v, &n));
	cr_assert_not(dbprops_setting_values("search_path", "\"a\" b", &v, &n));
}

Test(dbprops, rows_become_properties)
{
	DbProps p = DBPROPS_INIT;

	dbprops_add_row(&p, "encoding", "", "UTF8");
	dbprops_add_row(&p, "collate", "", "C");
	dbprops_add_row(&p, "ctype", "", "C");
	dbprops_add_row(&p, "provider", "", "i");
	dbprops_add_row(&p, "locale", "", "de-DE");
	dbprops_add_row(&p, "comment", "", "it's\n\"ü\"");
	dbprops_add_row(&p, "connection_limit", "", "-1");
	dbprops_add_row(&p, "allow_connections", "", "t");
	dbprops_add_row(&p, "db_setting", "", "statement_timeout=42s");
	dbprops_add_row(&p, "db_setting", "", "pgfold.x=a=b; c");
	/* IN DATABASE overrides global, whatever the row order */
	dbprops_add_row(&p, "role_setting", "database", "work_mem=64MB");
	dbprops_add_row(&p, "role_setting", "global", "work_mem=12MB");
	dbprops_add_row(&p, "role_setting", "global", "lock_timeout=3s");
	dbprops_settle(&p);

	cr_assert(p.known);
	cr_assert_eq(p.provider, 'i');
	cr_assert_str_eq(p.locale, "de-DE");
	cr_assert_str_eq(p.icu_rules, "");
	cr_assert_str_eq(p.coll_version, "");
	cr_assert_str_eq(p.comment, "it's\n\"ü\"");
	cr_assert_eq(p.connection_limit, -1);
	cr_assert_eq(p.db_setting_count, 2);
	cr_assert_str_eq(p.db_settings[0].name, "pgfold.x");
	cr_assert_str_eq(p.db_settings[0].value, "a=b; c");
	cr_assert_str_eq(p.db_settings[1].name, "statement_timeout");
	cr_assert_eq(p.role_setting_count, 2);
	cr_assert_str_eq(p.role_settings[0].name, "lock_timeout");
	cr_assert_str_eq(p.role_settings[1].name, "work_mem");
	cr_assert_str_eq(p.role_settings[1].value, "64MB");
	cr_assert_null(dbprops_refused_setting(&p));

	StrBuf d = STRBUF_INIT;

	dbprops_describe_locale(&p, &d);
	cr_assert_str_eq(sb_str(&d), "ICU \"de-DE\"");

	Inventory inv = { NULL, 0 };

	dbprops_inventory(&p, &inv);
	cr_assert_eq(inv.count, 9 + 2 + 2);
	inventory_free(&inv);
	sb_free(&d);
	dbprops_free(&p);
}

Test(dbprops, library_loading_settings_are_refused)
{
	DbProps p = DBPROPS_INIT;

	dbprops_add_row(&p, "role_setting", "global", "session_preload_libraries=auto_explain");
	dbprops_settle(&p);
	cr_assert_str_eq(dbprops_refused_setting(&p), "session_preload_libraries");
	dbprops_free(&p);
}
