/*
 * test_backups_names.c — the run ids of the journal (journal_new_run_id),
 * including one moved to the next second because the clock's was used,
 * name files the backups catalogue reads: kind, service and time.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil/fstest.h"
#include "pgfold/app.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/str.h"

FST_SCRATCH_SUITE(instance_backups_names);

#define T0 ((time_t) 1795256100)

static time_t
fixed_clock(void)
{
	return T0;
}

Test(instance_backups_names, same_second_rollback_dump_is_catalogued)
{
	Journal j = JOURNAL_INIT;
	char mig[JOURNAL_STAMP_LEN + 1], rb[JOURNAL_STAMP_LEN + 1], path[PATH_MAX];
	App app;
	BackupList list;

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert(journal_new_run_id(&j, fixed_clock, mig));
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, mig, MIG_STEP_ROLE, JOURNAL_DONE, NULL));
	cr_assert(journal_complete(&j, JOURNAL_MIGRATE, mig, NULL));
	cr_assert(journal_run_file(dir, "docmost", "", mig, ".dump", path, sizeof(path)));
	fst_put(path, "PGDMP", 5);
	/* a rollback in the same second */
	cr_assert(journal_new_run_id(&j, fixed_clock, rb));
	cr_assert_str_neq(rb, mig);
	cr_assert(journal_run_file(dir, "docmost", JOURNAL_PRE_ROLLBACK, rb, ".dump", path,
							   sizeof(path)));
	fst_put(path, "PGDMP", 5);
	journal_close(&j);

	memset(&app, 0, sizeof(app));
	cr_assert(str_copy(app.cfg.backups_dir, sizeof(app.cfg.backups_dir), dir));
	cr_assert(backups_scan(&app, false, &list));
	cr_assert_eq(list.count, 2);
	cr_assert_eq(list.items[0].kind, BACKUP_MIGRATION);
	cr_assert_eq(list.items[0].when, T0);
	cr_assert_str_eq(list.items[0].service, "docmost");
	cr_assert_eq(list.items[1].kind, BACKUP_PRE_ROLLBACK);
	cr_assert_eq(list.items[1].when, T0 + 1);
	cr_assert_str_eq(list.items[1].service, "docmost");
	backups_list_free(&list);
}
