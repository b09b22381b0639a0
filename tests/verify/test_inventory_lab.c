/*
 * test_inventory_lab.c — what the inventory query sees on a real server:
 * row counts, sequence positions and object counts under hostile names,
 * and a changed row that only the deep inventory (content hashes) catches.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "lab.h"
#include "pg/pg_fixture.h"
#include "pgfold/docker.h"
#include "pgfold/pg.h"
#include "pgfold/verify.h"

static char container[64];
static DockerClient *docker;

static void
cleanup(void)
{
	pgtest_source_stop(container, docker);
}

TestSuite(verify_inventory_lab, .fini = cleanup, .timeout = 240);

static void
psql(const char *sql)
{
	StrBuf cmd = STRBUF_INIT;

	lab_quote(&cmd, sql);
	cr_assert_eq(lab_sh("docker exec %s psql -qX -v ON_ERROR_STOP=1 -U src -d app -c %s",
						container, sb_str(&cmd)), 0, "%s", sql);
	sb_free(&cmd);
}

static void
take(bool deep, Inventory *inv)
{
	PgRows rows = PGROWS_INIT;

	memset(inv, 0, sizeof(*inv));
	cr_assert(pgx_query_rows(docker, container, "src", "app", verify_inventory_sql(deep), NULL,
							 4, &rows));
	for (size_t r = 0; r < rows.nrows; r++)
		cr_assert(inventory_add(inv, pg_rows_get(&rows, r, 0), pg_rows_get(&rows, r, 1),
								pg_rows_get(&rows, r, 2), pg_rows_get(&rows, r, 3)));
	pg_rows_free(&rows);
	inventory_sort(inv);
}

static const char *
value_of(const Inventory *inv, const char *kind, const char *schema, const char *name)
{
	for (size_t i = 0; i < inv->count; i++)
		if (strcmp(inv->items[i].kind, kind) == 0 && strcmp(inv->items[i].schema, schema) == 0
			&& strcmp(inv->items[i].name, name) == 0)
			return inv->items[i].value;
	return NULL;
}

/* The one difference between before and after, as "kind schema.name". */
static void
expect_one_diff(const Inventory *before, const Inventory *after, const char *kind,
				const char *schema, const char *name)
{
	VerifyReport r;

	cr_assert(verify_compare(before, after, &r));
	cr_assert_eq(r.diff_count, 1, "%zu differences", r.diff_count);
	cr_assert_eq(r.diffs[0].kind, DIFF_VALUE);
	cr_expect_str_eq(r.diffs[0].source->kind, kind);
	cr_expect_str_eq(r.diffs[0].source->schema, schema);
	cr_expect_str_eq(r.diffs[0].source->name, name);
	verify_report_free(&r);
}

Test(verify_inventory_lab, counts_names_and_content)
{
	Inventory plain0, deep0, plain1, deep1, plain2;

	pgtest_source_start("pgfold-lab/postgres:15", "pgf_inv", container, sizeof(container),
						&docker);
	psql("CREATE SCHEMA \"we\"\"ird\"; "
		 "CREATE TABLE \"we\"\"ird\".\"Tab-le\" (id serial PRIMARY KEY, t text); "
		 "INSERT INTO \"we\"\"ird\".\"Tab-le\" (t) SELECT 'row ' || g FROM generate_series(1, 1000) g; "
		 "CREATE TABLE public.empty (x int)");

	take(false, &plain0);
	take(true, &deep0);
	cr_expect_str_eq(value_of(&plain0, "rows", "we\"ird", "Tab-le"), "1000");
	cr_expect_str_eq(value_of(&plain0, "rows", "public", "empty"), "0");
	cr_expect_str_eq(value_of(&plain0, "sequence", "we\"ird", "Tab-le_id_seq"), "1000");
	cr_expect_null(value_of(&plain0, "hash", "we\"ird", "Tab-le"), "a plain inventory hashes");
	cr_expect_not_null(value_of(&deep0, "hash", "we\"ird", "Tab-le"));

	/* same count, other content: only the deep inventory tells */
	psql("UPDATE \"we\"\"ird\".\"Tab-le\" SET t = 'changed' WHERE id = 500");
	take(false, &plain1);
	take(true, &deep1);
	VerifyReport same;

	cr_assert(verify_compare(&plain0, &plain1, &same));
	cr_expect_eq(same.diff_count, 0, "a plain inventory saw a same-count change");
	verify_report_free(&same);
	expect_one_diff(&deep0, &deep1, "hash", "we\"ird", "Tab-le");

	psql("DELETE FROM \"we\"\"ird\".\"Tab-le\" WHERE id = 1");
	take(false, &plain2);
	expect_one_diff(&plain1, &plain2, "rows", "we\"ird", "Tab-le");

	inventory_free(&plain0);
	inventory_free(&deep0);
	inventory_free(&plain1);
	inventory_free(&deep1);
	inventory_free(&plain2);
}
