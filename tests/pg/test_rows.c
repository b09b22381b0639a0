/*
 * test_rows.c — splitting psql's `-A -t -z -0` output, with hostile
 * content; and the log-safety helpers of src/pg.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pgfold/pg.h"
#include "../../src/pg/internal.h"

/* Bytes exactly as psql 13 printed them for
 *   SELECT 'a', E'b\nc', NULL UNION ALL SELECT '', 'x'||chr(30)||'y', 'z'
 * (checked with od -c against the lab image). */
static const char two_rows[] = "a\0b\nc\0\0\0x\036y\0z";   /* + final NUL */

Test(pg_rows, splits_rows_by_column_count)
{
	PgRows rows = PGROWS_INIT;

	cr_assert(pg_rows_parse(two_rows, sizeof(two_rows), 3, &rows));
	cr_assert_eq(rows.nrows, 2);
	cr_assert_eq(rows.ncols, 3);
	cr_assert_str_eq(pg_rows_get(&rows, 0, 0), "a");
	cr_assert_str_eq(pg_rows_get(&rows, 0, 1), "b\nc");
	cr_assert_str_eq(pg_rows_get(&rows, 0, 2), "");
	cr_assert_str_eq(pg_rows_get(&rows, 1, 0), "");
	cr_assert_str_eq(pg_rows_get(&rows, 1, 1), "x\036y");
	cr_assert_str_eq(pg_rows_get(&rows, 1, 2), "z");
	cr_assert_null(pg_rows_get(&rows, 2, 0));
	cr_assert_null(pg_rows_get(&rows, 0, 3));
	pg_rows_free(&rows);
	cr_assert_null(rows.cells);
}

Test(pg_rows, empty_output_is_zero_rows)
{
	PgRows rows = PGROWS_INIT;

	cr_assert(pg_rows_parse("", 0, 2, &rows));
	cr_assert_eq(rows.nrows, 0);
	cr_assert_null(pg_rows_get(&rows, 0, 0));
	pg_rows_free(&rows);
}

Test(pg_rows, one_empty_field_is_one_row)
{
	PgRows rows = PGROWS_INIT;

	cr_assert(pg_rows_parse("\0", 1, 1, &rows));
	cr_assert_eq(rows.nrows, 1);
	cr_assert_str_eq(pg_rows_get(&rows, 0, 0), "");
	pg_rows_free(&rows);
}

Test(pg_rows, hostile_field_content)
{
	/* Newlines, CR, the separators psql uses by default (| and \n) and the
	 * ASCII unit/record separators, quotes, a fake second row. */
	static const char data[] =
		"db\n1\0\037\036|\r\n\0" "x\"; DROP DATABASE y; --\0'\\'\0";
	PgRows rows = PGROWS_INIT;

	cr_assert(pg_rows_parse(data, sizeof(data) - 1, 2, &rows));
	cr_assert_eq(rows.nrows, 2);
	cr_assert_str_eq(pg_rows_get(&rows, 0, 0), "db\n1");
	cr_assert_str_eq(pg_rows_get(&rows, 0, 1), "\037\036|\r\n");
	cr_assert_str_eq(pg_rows_get(&rows, 1, 0), "x\"; DROP DATABASE y; --");
	cr_assert_str_eq(pg_rows_get(&rows, 1, 1), "'\\'");
	pg_rows_free(&rows);
}

Test(pg_rows, refuses_truncated_output)
{
	PgRows rows = PGROWS_INIT;

	/* last field not terminated: output cut short */
	cr_assert_not(pg_rows_parse("a\0b", 3, 2, &rows));
	cr_assert_null(rows.cells);
}

Test(pg_rows, refuses_partial_rows)
{
	PgRows rows = PGROWS_INIT;

	cr_assert_not(pg_rows_parse("a\0b\0c\0", 6, 2, &rows));
	cr_assert_not(pg_rows_parse("a\0", 2, 0, &rows));
	cr_assert_eq(rows.nrows, 0);
}

Test(pg_rows, large_output)
{
	StrBuf sb = STRBUF_INIT;
	PgRows rows = PGROWS_INIT;

	for (int i = 0; i < 10000; i++)
	{
		sb_appendf(&sb, "name%d", i);
		sb_appendc(&sb, '\0');
		sb_appendf(&sb, "%d", i * 7);
		sb_appendc(&sb, '\0');
	}
	cr_assert(pg_rows_parse(sb.data, sb.len, 2, &rows));
	cr_assert_eq(rows.nrows, 10000);
	cr_assert_str_eq(pg_rows_get(&rows, 9999, 0), "name9999");
	cr_assert_str_eq(pg_rows_get(&rows, 9999, 1), "69993");
	pg_rows_free(&rows);
	sb_free(&sb);
}

Test(pg_text, display_escapes_control_bytes)
{
	StrBuf sb = STRBUF_INIT;

	cr_assert_str_eq(pg_display(&sb, "a\nb\"c\\"), "\"a\\x0ab\\\"c\\\\\"");
	sb_reset(&sb);
	cr_assert_str_eq(pg_display(&sb, NULL), "\"\"");
	sb_reset(&sb);

	char longname[400];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	pg_display(&sb, longname);
	cr_assert_eq(sb.len, 200 + 2 + 3);
	sb_free(&sb);
}

Test(pg_text, one_line_joins_libpq_messages)
{
	StrBuf sb = STRBUF_INIT;
	const char *m = "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
		"\tIs the server running on that host and accepting TCP/IP connections?\n";

	pg_one_line(&sb, m, strlen(m), 1000);
	cr_assert_str_eq(sb_str(&sb),
					 "connection to server at \"127.0.0.1\", port 1 failed: Connection refused; "
					 "Is the server running on that host and accepting TCP/IP connections?");
	sb_reset(&sb);
	pg_one_line(&sb, "abcdef", 6, 3);
	cr_assert_str_eq(sb_str(&sb), "abc...");
	sb_free(&sb);
}
