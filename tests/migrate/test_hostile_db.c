/*
 * test_hostile_db.c — a database name made of quotes, a semicolon, SQL and
 * `$(...)` (POSTGRES_DB from .env) goes through a whole migration as data:
 * the naming rule (naming.h) gives the shared database and role a name with
 * every such byte turned into `_`; asked for by --db as it is, the name is
 * refused with the one to use; the data arrives whole under the rule's
 * name, the app is pointed at it, and nothing the name spells ran.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

#define HOSTILE_DB "we\"ird;DROP DATABASE x;$(touch /tmp/pgPWN)"
/* what the naming rule makes of it */
#define RULE_DB "we_ird_drop_database_x___touch__tmp_pgpwn_"

static MigStack stack;

static const MigShape hostile = {
	.fixture = "hostile", .db = RULE_DB, .db_key = "db",
	.db_container = "%s-hostile-db", .db_user = "hostile", .src_db = HOSTILE_DB,
	.db_volume = "hostile-db",
	.apps = { "%s-hostile", NULL },
	.others = { NULL },
};

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_hostile, .fini = teardown, .timeout = 600);

/* source_up: the dedicated container still runs (it is stopped once the
 * migration is done) */
static void
assert_nothing_ran(bool source_up)
{
	const char *dbc = mig_name(&stack, hostile.db_container);

	cr_assert(access("/tmp/pgPWN", F_OK) != 0, "$(touch /tmp/pgPWN) ran on the host");
	if (source_up)
		cr_assert_eq(lab_sh("docker exec %s test ! -e /tmp/pgPWN", dbc), 0,
					 "$(touch /tmp/pgPWN) ran in %s (or it is not running)", dbc);
	cr_assert_eq(lab_sh("docker exec %s test ! -e /tmp/pgPWN", stack.shared), 0,
				 "$(touch /tmp/pgPWN) ran in the shared container");
}

Test(migrate_hostile, database_name_is_data)
{
	MigRun r;
	StrBuf out = STRBUF_INIT;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &hostile, NULL);
	const char *svc = mig_svc(&stack, &hostile);

	/* the name as it is, asked for: refused, with the rule's name to use */
	mig_pgfold(&stack, &r, NULL, "plan", svc, "--db", HOSTILE_DB, NULL);
	cr_assert(r.status == 2 || r.status == 3, "plan --db <hostile>: exit %d\n%s", r.status,
			  sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), RULE_DB), "the name to use is not said:\n%s",
					   sb_str(&r.err));
	mig_run_free(&r);
	assert_nothing_ran(true);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, svc);
	mig_run_free(&r);

	/* the database and role have the rule's name, and the data */
	cr_assert(mig_sql(&out, stack.shared, "admin", "postgres",
					  "SELECT count(*) FROM pg_database d JOIN pg_roles r "
					  "ON r.oid = d.datdba WHERE d.datname = '" RULE_DB "' "
					  "AND r.rolname = '" RULE_DB "'", NULL), "%s", sb_str(&out));
	cr_assert_str_eq(sb_str(&out), "1");

	char *after = mig_fingerprint(stack.shared, "admin", RULE_DB);

	cr_assert_str_eq(after, fp);
	/* the app reads it */
	/* one line each, in the engine's order: a newline before the first */
	char *env = mig_inspect(mig_name(&stack, hostile.apps[0]),
							"{{println}}{{range .Config.Env}}{{println .}}{{end}}");

	cr_assert_not_null(strstr(env, "\nPOSTGRES_DATABASE=" RULE_DB "\n"), "%s", env);
	assert_nothing_ran(false);
	free(env);
	free(after);
	free(fp);
	sb_free(&out);
}
