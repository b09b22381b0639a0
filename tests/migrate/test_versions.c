/*
 * test_versions.c — what the shared instance can take: an older major
 * (13 into 15) moves, a newer one (17 into 15) is blocked before anything
 * changes; a PostGIS database is blocked on a plain shared instance and
 * moves, with spatial_ref_sys and its geometries, into a PostGIS one.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_versions, .fini = teardown, .timeout = 600);

/* plan and migrate both exit 3 with a reason that names needle, and
 * nothing at all changed: files, shared instance, running containers. */
static void
assert_blocked(MigStack *s, const MigShape *sh, const char *needle)
{
	const char *svc = mig_svc(s, sh);
	const char *running[] = { mig_name(s, sh->db_container), mig_name(s, sh->apps[0]), NULL };
	char svc_copy[96], db[160], app[160];
	MigSnapshot snap;
	MigRun r;

	str_copy(svc_copy, sizeof(svc_copy), svc);
	str_copy(db, sizeof(db), running[0]);
	str_copy(app, sizeof(app), running[1]);
	running[0] = db;
	running[1] = app;
	mig_snapshot(s, svc_copy, &snap);

	mig_pgfold(s, &r, NULL, "plan", svc_copy, NULL);
	mig_expect_exit(&r, 3, "plan");
	cr_expect(strstr(sb_str(&r.out), needle) || strstr(sb_str(&r.err), needle),
			  "plan does not say why (%s):\n%s\n%s", needle, sb_str(&r.out), sb_str(&r.err));
	mig_run_free(&r);

	mig_pgfold(s, &r, NULL, "migrate", svc_copy, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate");
	cr_expect_not_null(strstr(sb_str(&r.err), needle), "migrate does not say why (%s):\n%s",
					   needle, sb_str(&r.err));
	mig_run_free(&r);

	mig_assert_unchanged(s, svc_copy, &snap, running);
	cr_expect_eq(mig_glob_count(s, "backups/postgres-migrations/*.yml"), 0,
				 "a blocked migration saved a copy of the service file");
	mig_snapshot_free(&snap);
}

Test(migrate_versions, pg13_into_pg15)
{
	mig_happy_path(&stack, &mig_docmost, "pgfold-lab/postgres:13");
}

Test(migrate_versions, pg17_into_pg15_is_blocked)
{
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, "pgfold-lab/postgres:17"));
	assert_blocked(&stack, &mig_docmost,
				   "source is PostgreSQL 17, shared is 15: a dump from a newer major cannot be "
				   "restored into an older server; upgrade the shared instance first");
}

static char *
geo_seed(MigStack *s, char **geo_fp)
{
	char *fp = mig_seed_service(s, &mig_geo, MIG_POSTGIS);
	const char *dbc = mig_name(s, mig_geo.db_container);
	StrBuf sql = STRBUF_INIT;

	mig_sql_fixture(dbc, "geo", "geo", "geo.sql");
	mig_read("tests/migrate/fixtures/geo_fingerprint.sql", &sql, false);
	*geo_fp = mig_sql_value(dbc, "geo", "geo", sb_str(&sql));
	cr_assert(str_has_prefix(*geo_fp, "postgis "), "geo data: %s", *geo_fp);
	cr_assert_not_null(strstr(*geo_fp, " places=1200 "), "geo data: %s", *geo_fp);
	sb_free(&sql);
	return fp;
}

Test(migrate_versions, postgis_into_plain_shared_is_blocked)
{
	char *geo_fp = NULL;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(geo_seed(&stack, &geo_fp));
	assert_blocked(&stack, &mig_geo, "postgis");
	free(geo_fp);
}

Test(migrate_versions, postgis_into_postgis_shared)
{
	char *geo_fp = NULL, *fp;
	StrBuf sql = STRBUF_INIT;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_POSTGIS);
	fp = geo_seed(&stack, &geo_fp);

	mig_pgfold(&stack, &r, NULL, "migrate", mig_svc(&stack, &mig_geo), "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_geo, fp);

	mig_read("tests/migrate/fixtures/geo_fingerprint.sql", &sql, false);
	char *after = mig_shared_value(&stack, "geo", sb_str(&sql));

	cr_assert_str_eq(after, geo_fp, "PostGIS data differs:\n  source %s\n  shared %s", geo_fp,
					 after);
	mig_assert_rerun_noop(&stack, &mig_geo);
	free(after);
	free(fp);
	free(geo_fp);
	sb_free(&sql);
}

/* Nothing runs yet: the image alone says what the shared instance lacks,
 * and status says it as the reason (blocked), not only "start it first". */
static void
status_says(MigStack *s, const char *svc, const char *needle)
{
	MigRun r;

	mig_pgfold(s, &r, NULL, "status", svc, NULL);
	mig_expect_exit(&r, 0, "status");
	cr_assert_not_null(strstr(sb_str(&r.out), " blocked "), "status:\n%s", sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.out), needle), "status does not say \"%s\":\n%s", needle,
					   sb_str(&r.out));
	mig_run_free(&r);
}

Test(migrate_versions, stopped_source_image_tells_postgis_and_major)
{
	char svc[96];

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_geo));
	mig_service_add(&stack, mig_geo.fixture, svc, MIG_POSTGIS);
	status_says(&stack, svc, "needs PostGIS (image " MIG_POSTGIS "): extension \"postgis\" is not "
				"available on the shared instance");

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	mig_service_add(&stack, mig_docmost.fixture, svc, "pgfold-lab/postgres:17");
	status_says(&stack, svc, "image pgfold-lab/postgres:17 is PostgreSQL 17, shared is 15");
}
