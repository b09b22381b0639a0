/*
 * test_rollback_data.c — `pgfold rollback` with each data option, on a
 * service migrated and then written to through the shared database.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "rollback/rbt.h"

static RbtStack stack;

static void
cleanup(void)
{
	rbt_destroy(&stack);
}

TestSuite(rollback_data, .fini = cleanup, .timeout = 900);

/* Default: the shared database's current data comes back, including what
 * the app wrote after the migration. --dry-run first changes nothing. */
Test(rollback_data, current_data)
{
	MigSnapshot snap;
	MigRun r;
	char *state;

	rbt_migrated(&stack, &mig_docmost);
	mig_snapshot(&stack.s, stack.svc, &snap);
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--dry-run", NULL);
	cr_assert(strstr(sb_str(&r.out), "steps:") && strstr(sb_str(&r.out), "+  docmost-db:"),
			  "dry-run shows no steps or diff:\n%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_assert_unchanged(&stack.s, stack.svc, &snap, NULL);
	mig_snapshot_free(&snap);
	state = mig_inspect(mig_name(&stack.s, mig_docmost.db_container), "{{.State.Status}}");
	cr_assert_str_eq(state, "exited", "--dry-run started the dedicated container");
	free(state);
	cr_assert_eq(mig_journal_count(&stack.s, stack.svc, "options", NULL), 0);

	RBT_ROLLBACK(&stack, &r, 0, NULL, "--yes", NULL);
	cr_assert(strstr(sb_str(&r.out), "rolled back"), "no summary:\n%s", sb_str(&r.out));
	mig_expect_downtime(sb_str(&r.out));
	mig_run_free(&r);
	rbt_assert_rolled_back(&stack, stack.fp_written);

	/* kept by default */
	char *dbs = mig_shared_databases(&stack.s);

	cr_assert_str_eq(dbs, mig_docmost.db, "shared databases after the rollback: %s", dbs);
	free(dbs);
}

/* The dedicated db runs PostgreSQL 13, the shared instance 15: a dump from
 * pg_dump 15 creates the public schema, which a new database on 13 already
 * has; the rollback must restore it all the same. */
Test(rollback_data, older_dedicated_server)
{
	MigRun r;

	rbt_migrated_on(&stack, &mig_joplin, "pgfold-lab/postgres:13");
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), "versions") != NULL, "no version warning:\n%s",
			  sb_str(&r.err));
	mig_run_free(&r);
	rbt_assert_rolled_back(&stack, stack.fp_written);
}

/* --original-data: the volume's pre-migration data, without the writes
 * (netbox: two apps, env_file, depends_on with conditions). */
Test(rollback_data, original_data)
{
	MigRun r;

	rbt_migrated(&stack, &mig_netbox);
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--original-data", "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), "will NOT be there") != NULL, "no warning:\n%s",
			  sb_str(&r.err));
	mig_run_free(&r);
	cr_assert_str_neq(stack.fp_seed, stack.fp_written);
	rbt_assert_rolled_back(&stack, stack.fp_seed);
}

/* From a dump: the migration's, named (--backup FILE) or picked
 * (--latest-backup: this run's own pre-rollback dump does not count while
 * there is another), so the app's later writes are not there. */
static void
from_dump(const MigShape *sh, bool latest)
{
	char dump[PATH_MAX];
	MigRun r;

	rbt_migrated(&stack, sh);
	rbt_migration_dump(&stack, dump, sizeof(dump));
	if (latest)
		RBT_ROLLBACK(&stack, &r, 0, NULL, "--latest-backup", "--yes", NULL);
	else
		RBT_ROLLBACK(&stack, &r, 0, NULL, "--backup", dump, "--deep", "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), dump) != NULL, "%s is not named:\n%s", dump, sb_str(&r.err));
	mig_run_free(&r);
	rbt_assert_rolled_back(&stack, stack.fp_seed);
}

Test(rollback_data, latest_backup)
{
	from_dump(&mig_docmost, true);
}

/* joplin: db key `db`, map-form env; --deep is accepted (a dump is
 * checked by counts) */
Test(rollback_data, backup_file)
{
	from_dump(&mig_joplin, false);
}
