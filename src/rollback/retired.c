/*
 * retired.c — rolling back a fold that `pgfold retire` retired: its
 * dedicated container and data volume are gone, so compose creates the
 * container anew with the override on a NEW volume, the image's own
 * initialisation runs first (POSTGRES_USER, POSTGRES_DB), and the shared
 * database is restored into it as in any rollback. --original-data has
 * nothing to keep.
 */
#include "rb_internal.h"

#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/retire.h"

#include <string.h>
#include <unistd.h>

/* How long the image's first initialisation may take. */
#define INIT_TIMEOUT_S 300

bool
rb_retired(const Rb *r, RetireState *st)
{
	return retire_state(&r->journal, r->mig.run, st);
}

bool
rb_retired_check(Rb *r, Preflight *pf)
{
	RetireState st;

	if (!rb_retired(r, &st))
		return false;
	if (r->data == RB_DATA_ORIGINAL)
		preflight_add(pf, "dedicated db", CHECK_BLOCK, "retired by run %s: the pre-migration "
					  "volume of %s is gone, --original-data has nothing to keep; roll back "
					  "with the current data instead", st.run, r->mig.container);
	else
		preflight_add(pf, "dedicated db", CHECK_INFO, "retired by run %s%s: compose creates %s "
					  "with the override on a NEW volume, the image's own initialisation runs "
					  "first, then the data is restored into it", st.run,
					  st.finished ? "" : " (unfinished)", r->mig.container);
	return true;
}

void
rb_retired_describe(Rb *r, StrBuf *out, int n, const char *up)
{
	sb_appendf(out, "  %d. create %s on a NEW volume (the fold was retired): %s; the image "
			   "initialises it (POSTGRES_USER, POSTGRES_DB); wait until pg_isready answers and "
			   "the initialisation has finished\n", n, r->mig.container, up);
}

/* The official image's entrypoint runs a temporary server on the socket
 * during its initialisation (listen_addresses ''): pg_isready answers it.
 * The real one listens on TCP; wait for that. */
bool
rb_retired_wait_init(Rb *r)
{
	RetireState st;
	PgRows rows = PGROWS_INIT;

	if (!rb_retired(r, &st))
		return true;
	for (int i = 0; i < INIT_TIMEOUT_S; i++)
	{
		bool up = pgx_query_rows(r->app->docker, r->container, r->mig.user, r->maint_db,
								 "SELECT current_setting('listen_addresses');\n", NULL, 1, &rows)
			&& rows.nrows == 1 && pg_rows_get(&rows, 0, 0)[0] != '\0';

		pg_rows_free(&rows);
		if (up)
			return true;
		sleep(1);
		if (!pgx_wait_ready(r->app->docker, r->container, r->mig.user, r->maint_db,
							INIT_TIMEOUT_S))
			return false;
	}
	log_error("%s did not finish its initialisation in %d s; see `docker logs %s`",
			  r->mig.container, INIT_TIMEOUT_S, r->mig.container);
	return false;
}
