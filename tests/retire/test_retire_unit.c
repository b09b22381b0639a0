/*
 * test_retire_unit.c — what needs no engine: --min-age durations, and
 * whether a fold reads as retired from its journal (retire_state), for
 * status, plan and rollback.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgfold/journal.h"
#include "pgfold/retire.h"

static char dir[] = "/tmp/pgfold-retire-XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(retire_unit, .init = setup, .fini = teardown);

Test(retire_unit, durations)
{
	long long s = -1;

	cr_assert(retire_parse_duration("0", &s) && s == 0);
	cr_assert(retire_parse_duration("7d", &s) && s == 7 * 86400);
	cr_assert(retire_parse_duration("12h", &s) && s == 12 * 3600);
	cr_assert(retire_parse_duration("2w", &s) && s == 14 * 86400);
	cr_assert_not(retire_parse_duration("", &s));
	cr_assert_not(retire_parse_duration("7", &s));
	cr_assert_not(retire_parse_duration("-1d", &s));
	cr_assert_not(retire_parse_duration("soon", &s));
	cr_assert_not(retire_parse_duration(NULL, &s));
}

static void
inventory(Journal *j, const char *run, const char *mrun)
{
	json_t *f = json_pack("{s:s}", "migrate_run", mrun);

	cr_assert(journal_append(j, JOURNAL_RETIRE, run, RT_STEP_INVENTORY, JOURNAL_DONE, f));
	json_decref(f);
}

/* Not retired until the container's removal began; then retired (a re-run
 * finishes); finished with the bytes of its complete record; only for the
 * fold it retired. */
Test(retire_unit, state_from_the_journal)
{
	Journal j = JOURNAL_INIT;
	RetireState st;
	json_t *f = json_pack("{s:I}", "bytes", (json_int_t) 48234496);

	cr_assert(journal_open(dir, "docmost", &j));
	cr_assert(journal_complete(&j, JOURNAL_MIGRATE, "20261201T100000Z", NULL));
	cr_assert_not(retire_state(&j, "20261201T100000Z", &st));
	inventory(&j, "20261205T100000Z", "20261201T100000Z");
	cr_assert_not(retire_state(&j, "20261201T100000Z", &st), "nothing removed yet");
	cr_assert(journal_append(&j, JOURNAL_RETIRE, "20261205T100000Z", RT_STEP_REMOVE_CONTAINER,
							 JOURNAL_STARTED, NULL));
	cr_assert(retire_state(&j, "20261201T100000Z", &st));
	cr_assert_not(st.finished);
	cr_assert_str_eq(st.run, "20261205T100000Z");
	cr_assert(journal_complete(&j, JOURNAL_RETIRE, "20261205T100000Z", f));
	cr_assert(retire_state(&j, "20261201T100000Z", &st));
	cr_assert(st.finished);
	cr_assert_eq(st.bytes, 48234496);
	cr_assert_not(retire_state(&j, "20261203T100000Z", &st), "another fold");
	cr_assert_not(retire_state(&j, NULL, &st));
	json_decref(f);
	journal_close(&j);
}
