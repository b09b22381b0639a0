/*
 * ren_internal.h — the context of one `pgfold rename` run.
 */
#ifndef PGFOLD_REN_INTERNAL_H
#define PGFOLD_REN_INTERNAL_H

#include "pgfold/journal.h"
#include "pgfold/rename.h"
#include "pgfold/runner.h"

#include <limits.h>

typedef struct Ren
{
	App                 *app;
	const RenameOptions *o;
	StackService        *svc;           /* whose database it is, or NULL */
	char                 jname[JOURNAL_NAME_MAX + 1];
	Journal              journal;
	Runner               rn;
	char                 run_id[JOURNAL_STAMP_LEN + 1];
	int                  sessions;
	StrBuf               session_lines; /* "  session   pid ..., user ..." */
	char                 backup[PATH_MAX];
	char                 copy[PATH_MAX];  /* the service file as found */
} Ren;

bool ren_check(Ren *r);
/* A rename of journal r->jname that a crash left unfinished, undone
 * (recover.c); true when there was none or it was undone. */
bool ren_recover(Ren *r);
const RunnerStep *ren_steps(size_t *n);

#endif
