/*
 * test_rollback_fidelity.c — a rollback brings the database back into its
 * dedicated container with the properties it had on the shared instance
 * (issue 9): locale (C, ICU), settings, comment, the app role's settings,
 * and text sorted as before.
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

TestSuite(rollback_fidelity, .fini = teardown, .timeout = 900);

static void
round_trip(const MigShape *sh, const char *db_image)
{
	FidProps src = { 0 }, back = { 0 };
	char dbc[160], svc[96];
	char *fp, *after;
	MigRun r;

	fp = fid_start(&stack, sh, db_image, MIG_PG15, dbc, sizeof(dbc), &src);
	str_copy(svc, sizeof(svc), mig_svc(&stack, sh));

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback");
	cr_assert_not_null(strstr(sb_str(&r.err), "analyzed"), "no ANALYZE in the rollback:\n%s",
					   sb_str(&r.err));
	mig_run_free(&r);

	after = mig_fingerprint(dbc, sh->db_user, sh->src_db);
	cr_assert_str_eq(after, fp, "data after the rollback:\n  %s\nbefore:\n  %s", after, fp);
	fid_props_container(dbc, sh->db_user, sh->src_db, &back);
	fid_props_assert_eq(&src, &back, "dedicated container after the rollback");
	fid_props_free(&src);
	fid_props_free(&back);
	free(after);
	free(fp);
}

Test(rollback_fidelity, c_locale_15)
{
	round_trip(&fid_synapse, MIG_PG15);
}

Test(rollback_fidelity, c_locale_13)
{
	round_trip(&fid_synapse, "pgfold-lab/postgres:13");
}

Test(rollback_fidelity, icu_15)
{
	round_trip(&fid_icu, MIG_PG15);
}
