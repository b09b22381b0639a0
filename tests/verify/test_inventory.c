/*
 * test_inventory.c — comparison of two inventories.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pgfold/verify.h"

static void
fill(Inventory *inv, const char *const rows[][4], size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert(inventory_add(inv, rows[i][0], rows[i][1], rows[i][2], rows[i][3]));
	inventory_sort(inv);
}

static const char *const base[][4] = {
	{ "rows", "public", "_prisma_migrations", "12" },
	{ "objects", "", "tables", "2" },
	{ "rows", "we\"ird", "Tab-le", "1000" },
	{ "sequence", "we\"ird", "Tab-le_id_seq", "1000" },
};

Test(verify, identical_inventories_have_no_diff)
{
	Inventory a = { 0 }, b = { 0 };
	VerifyReport r;

	fill(&a, base, 4);
	fill(&b, base, 4);
	cr_assert(verify_compare(&a, &b, &r));
	cr_assert_eq(r.diff_count, 0);
	cr_assert_eq(r.tables, 2);
	cr_assert_eq(r.rows, 1012);
	verify_report_free(&r);
	inventory_free(&a);
	inventory_free(&b);
}

Test(verify, missing_extra_and_changed_items_are_reported)
{
	Inventory a = { 0 }, b = { 0 };
	VerifyReport r;
	static const char *const other[][4] = {
		{ "rows", "public", "_prisma_migrations", "11" },
		{ "objects", "", "tables", "2" },
		{ "rows", "public", "surprise", "1" },
		{ "sequence", "we\"ird", "Tab-le_id_seq", "1000" },
	};

	fill(&a, base, 4);
	fill(&b, other, 4);
	cr_assert(verify_compare(&a, &b, &r));
	cr_assert_eq(r.diff_count, 3);

	int missing = 0, extra = 0, value = 0;

	for (size_t i = 0; i < r.diff_count; i++)
	{
		if (r.diffs[i].kind == DIFF_MISSING)
		{
			missing++;
			cr_assert_str_eq(r.diffs[i].source->name, "Tab-le");
		}
		else if (r.diffs[i].kind == DIFF_EXTRA)
		{
			extra++;
			cr_assert_str_eq(r.diffs[i].target->name, "surprise");
		}
		else
		{
			value++;
			cr_assert_str_eq(r.diffs[i].source->name, "_prisma_migrations");
		}
	}
	cr_assert_eq(missing + extra * 10 + value * 100, 111);

	char buf[4096] = { 0 };
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	verify_report_print(f, &r, "source", "shared");
	fclose(f);
	cr_assert(strstr(buf, "3 difference(s)") != NULL);
	cr_assert(strstr(buf, "rows public._prisma_migrations") != NULL);
	verify_report_free(&r);
	inventory_free(&a);
	inventory_free(&b);
}
