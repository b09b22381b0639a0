/*
 * test_fidelity.c — what belongs to the database rather than to its rows
 * arrives on the shared instance and is verified (issue 9): the locale (C,
 * ICU), the database's settings and comment, the app role's settings
 * (scoped to the new database), statistics; a locale the shared instance
 * cannot create blocks before anything changes.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/fidelity.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_fidelity, .fini = teardown, .timeout = 600);

/* Seed sh on db_image, fold it into a shared_image instance, and compare
 * every property with the source's; returns them (caller frees). */
static void
carried(const MigShape *sh, const char *db_image, const char *shared_image, FidProps *src)
{
	FidProps dst = { 0 };
	char dbc[160];
	char *fp, *v;
	MigRun r;

	fp = fid_start(&stack, sh, db_image, shared_image, dbc, sizeof(dbc), src);

	/* plan says what will be carried, as the statements that will run */
	mig_pgfold(&stack, &r, NULL, "plan", mig_svc(&stack, sh), NULL);
	mig_expect_exit(&r, 0, "plan");
	cr_assert(strstr(sb_str(&r.out), "properties         carried: ")
			  && strstr(sb_str(&r.out), "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE ")
			  && strstr(sb_str(&r.out), "IN DATABASE \"" ),
			  "plan does not show the properties:\n%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", mig_svc(&stack, sh), "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	cr_assert_not_null(strstr(sb_str(&r.out), "  analyzed  in "), "no ANALYZE time:\n%s",
					   sb_str(&r.out));
	mig_run_free(&r);
	mig_assert_migrated(&stack, sh, fp);

	fid_props_shared(&stack, sh->db, sh->db, &dst);
	fid_props_assert_eq(src, &dst, "shared instance");
	fid_props_free(&dst);

	/* the role's settings exist only in its database, none role-wide */
	v = mig_shared_value(&stack, "postgres", "SELECT count(*) FROM pg_db_role_setting "
						 "WHERE setdatabase = 0");
	cr_assert_str_eq(v, "0", "role-wide settings on the shared instance: %s", v);
	free(v);
	/* statistics before the apps start */
	v = mig_shared_value(&stack, sh->db, "SELECT count(*) > 0 FROM pg_stats "
						 "WHERE schemaname = 'public' AND tablename = 'sortme'");
	cr_assert_str_eq(v, "t", "sortme has no statistics on the shared instance");
	free(v);
	free(fp);
}

Test(migrate_fidelity, c_locale_15_to_15)
{
	FidProps src = { 0 };
	MigRun r;

	carried(&fid_synapse, MIG_PG15, MIG_PG15, &src);
	cr_assert_str_eq(src.locale, "UTF8/C/C/c/", "source locale: %s", src.locale);
	cr_assert_str_eq(src.order, FID_C_ORDER);
	cr_assert_str_eq(src.settings, "search_path=\"$user\", public, \"odd \"\"sch\"\"\""
					 "|statement_timeout=42s", "source settings: %s", src.settings);
	cr_assert_str_eq(src.comment, "Synapse's home, grüße \"quoted\"");
	cr_assert_str_eq(src.session, "12MB,3s,42s,\"$user\", public, \"odd \"\"sch\"\"\"",
					 "source session: %s", src.session);

	/* a property changed afterwards is a difference, exit 6, named */
	free(mig_shared_value(&stack, "postgres",
						  "ALTER DATABASE synapse SET statement_timeout = '1s'; SELECT 1"));
	mig_pgfold(&stack, &r, NULL, "migrate", mig_svc(&stack, &fid_synapse), "--verify", NULL);
	mig_expect_exit(&r, 6, "migrate --verify");
	cr_assert_not_null(strstr(sb_str(&r.out), "statement_timeout"),
					   "the difference is not named:\n%s", sb_str(&r.out));
	mig_run_free(&r);
	fid_props_free(&src);
}

Test(migrate_fidelity, c_locale_13_to_15)
{
	FidProps src = { 0 };

	carried(&fid_synapse, "pgfold-lab/postgres:13", MIG_PG15, &src);
	cr_assert_str_eq(src.locale, "UTF8/C/C/c/", "source locale: %s", src.locale);
	cr_assert_str_eq(src.order, FID_C_ORDER);
	fid_props_free(&src);
}

Test(migrate_fidelity, icu_15_to_17)
{
	FidProps src = { 0 };

	carried(&fid_icu, MIG_PG15, "pgfold-lab/postgres:17", &src);
	cr_assert(str_has_suffix(src.locale, "/i/de-DE"), "source locale: %s", src.locale);
	cr_assert_str_neq(src.order, FID_C_ORDER, "ICU sorts like C: %s", src.order);
	fid_props_free(&src);
}

/* PostgreSQL 17's builtin provider: C.UTF-8 sorts by code point, as C. */
Test(migrate_fidelity, builtin_17_to_17)
{
	FidProps src = { 0 };

	carried(&fid_builtin, "pgfold-lab/postgres:17", "pgfold-lab/postgres:17", &src);
	cr_assert(str_has_suffix(src.locale, "/b/C.UTF-8"), "source locale: %s", src.locale);
	cr_assert_str_eq(src.order, FID_C_ORDER);
	fid_props_free(&src);
}

/* The source's libc locale exists only in its own image: plan and migrate
 * exit 3 with the reason and the fix; nothing changed. */
Test(migrate_fidelity, missing_locale_is_blocked)
{
	const char *want = "the database's locale (libc LC_COLLATE \"de_DE.utf8\" LC_CTYPE "
		"\"de_DE.utf8\") cannot be created on the shared instance (could not create locale "
		"\"de_DE.utf8\": No such file or directory): generate the locale there";
	char svc[96], db[160], app[160];
	const char *running[] = { db, app, NULL };
	MigSnapshot snap;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(fid_seed(&stack, &fid_dede, MIG_PG15));
	str_copy(svc, sizeof(svc), mig_svc(&stack, &fid_dede));
	str_copy(db, sizeof(db), mig_name(&stack, fid_dede.db_container));
	str_copy(app, sizeof(app), mig_name(&stack, fid_dede.apps[0]));
	mig_snapshot(&stack, svc, &snap);

	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 3, "plan");
	cr_assert_not_null(strstr(sb_str(&r.out), want), "plan does not say why:\n%s",
					   sb_str(&r.out));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate");
	cr_assert_not_null(strstr(sb_str(&r.err), want), "migrate does not say why:\n%s",
					   sb_str(&r.err));
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, running);
	mig_snapshot_free(&snap);
}

/* The carried search_path puts the source's schema before pg_catalog: a
 * function there with a built-in's name and arguments would run as the
 * shared instance's admin in every pgfold session on the database
 * (verification, ANALYZE) unless those pin their own. */
static const char evil_sql[] =
	"CREATE SCHEMA evil;\n"
	"CREATE TABLE evil.log (who text);\n"
	"CREATE FUNCTION evil.query_to_xml(q text, n boolean, t boolean, ns text) RETURNS xml "
	"LANGUAGE plpgsql AS $$ BEGIN IF session_user <> 'synapse' THEN "
	"INSERT INTO evil.log VALUES (session_user); END IF; "
	"RETURN pg_catalog.query_to_xml(q, n, t, ns); END $$;\n"
	"ALTER DATABASE synapse SET search_path = evil, pg_catalog, public;\n";

Test(migrate_fidelity, carried_search_path_never_runs_as_the_admin)
{
	char dbc[160];
	char *fp, *v;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(fid_seed(&stack, &fid_synapse, MIG_PG15));
	str_copy(dbc, sizeof(dbc), mig_name(&stack, fid_synapse.db_container));
	free(mig_sql_value(dbc, "synapse", "synapse", evil_sql));
	fp = mig_fingerprint(dbc, "synapse", "synapse");

	mig_pgfold(&stack, &r, NULL, "migrate", mig_svc(&stack, &fid_synapse), "--yes", "--deep",
			   NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);
	v = mig_shared_value(&stack, "synapse", "SELECT coalesce(string_agg(who, ','), '(none)') "
						 "FROM evil.log");
	cr_assert_str_eq(v, "(none)", "the source's function ran on the shared instance as: %s", v);
	free(v);
	v = mig_shared_value(&stack, "synapse", "SELECT current_setting('search_path')");
	cr_assert_str_eq(v, "evil, pg_catalog, public", "the setting was not carried: %s", v);
	free(v);
	free(fp);
}

/* A 13 image (bullseye, glibc 2.31) folded into a 15 (bookworm, 2.36): the
 * same en_US.utf8 collation in another version. The fold goes on, warns,
 * names the indexes on text, and journals both versions. */
Test(migrate_fidelity, collation_version_change_is_warned)
{
	char dbc[160], journal[PATH_MAX], want[256];
	char *src_version, *dst_version;
	StrBuf j = STRBUF_INIT;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, "pgfold-lab/postgres:13"));
	str_copy(dbc, sizeof(dbc), mig_name(&stack, mig_docmost.db_container));
	src_version = mig_sql_value(dbc, "docmost", "docmost", "SELECT pg_collation_actual_version("
								"c.oid) FROM pg_collation c, pg_database d WHERE d.datname = "
								"current_database() AND c.collname = d.datcollate");
	dst_version = mig_shared_value(&stack, "postgres", "SELECT datcollversion FROM pg_database "
								   "WHERE datname = 'postgres'");
	cr_assert_str_neq(src_version, dst_version, "the lab's 13 and 15 have one glibc: %s",
					  src_version);

	mig_pgfold(&stack, &r, NULL, "migrate", mig_svc(&stack, &mig_docmost), "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	str_format(want, sizeof(want), "is version %s on the source but %s in \"docmost\"",
			   src_version, dst_version);
	cr_assert(strstr(sb_str(&r.err), want) && strstr(sb_str(&r.err), "public.items_title_idx")
			  && strstr(sb_str(&r.err), "REINDEX these"),
			  "no warning naming the indexes (%s):\n%s", want, sb_str(&r.err));
	mig_run_free(&r);

	mig_path(&stack, journal, sizeof(journal), "backups/postgres-migrations/%s.journal",
			 mig_svc(&stack, &mig_docmost));
	mig_read(journal, &j, false);
	str_format(want, sizeof(want), "\"collation_version_source\":\"%s\"", src_version);
	cr_assert_not_null(strstr(sb_str(&j), want), "journal lacks %s:\n%s", want, sb_str(&j));
	sb_free(&j);
	free(src_version);
	free(dst_version);
}
