/*
 * status_retired.c — `pgfold status` of a migrated service whose fold was
 * retired (`pgfold retire`): its dedicated container and volume are gone,
 * the state reads "retired". From the journal alone.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/journal.h"
#include "pgfold/retire.h"

bool
cli_status_retired(const App *app, const StackService *svc, RetireState *st)
{
	Journal j = JOURNAL_INIT;
	bool exists = false, retired = false;
	const char *run = NULL;

	if (journal_load(app->cfg.backups_dir, service_fsname(svc), &j, &exists) && exists
		&& journal_is_migrated(&j, &run))
		retired = retire_state(&j, run, st);
	journal_close(&j);
	return retired;
}
