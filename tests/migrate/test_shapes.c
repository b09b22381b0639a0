/*
 * test_shapes.c — a whole migration of each real service-file shape, in
 * the lab: data and ownership on the shared instance, the rewritten file,
 * compose config with and without the rollback override, the apps back up
 * on the new settings, the dedicated container stopped with its volume, and
 * a second run that changes nothing. See mig.h.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_shapes, .fini = teardown, .timeout = 600);

Test(migrate_shapes, docmost_list_env_url_and_flow_depends_on)
{
	mig_happy_path(&stack, &mig_docmost, NULL);
}

Test(migrate_shapes, joplin_db_key_is_not_container_name_map_env_parts)
{
	mig_happy_path(&stack, &mig_joplin, NULL);
}

Test(migrate_shapes, netbox_env_file_map_depends_on_required_password)
{
	mig_happy_path(&stack, &mig_netbox, NULL);
}

Test(migrate_shapes, nocodb_nc_db_url)
{
	mig_happy_path(&stack, &mig_nocodb, NULL);
}

/* `pgfold --root ROOT` from any directory: the compose commands it runs
 * must not depend on its working directory. */
Test(migrate_shapes, docmost_run_from_another_directory)
{
	MigRun r;

	mig_stack_init(&stack);
	str_copy(stack.cwd, sizeof(stack.cwd), stack.dir);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	mig_pgfold(&stack, &r, NULL, "migrate", mig_svc(&stack, &mig_docmost), "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate run from outside the stack root");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);
	free(fp);
}
