/*
 * test_conventions.c — a service whose apps follow a known convention
 * (Zabbix's official variables: DB_SERVER_HOST with POSTGRES_USER /
 * _PASSWORD / _DB, no DB_SERVER_PORT) through plan, migrate and rollback
 * on real containers. Before the table, plan said "cannot tell which user
 * (unset) connects as" and migrate failed at the files step after
 * streaming the whole database.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "rollback/rbt.h"

static RbtStack stack;

static void
teardown(void)
{
	rbt_destroy(&stack);
}

TestSuite(migrate_conventions, .fini = teardown, .timeout = 900);

static void
expect_line(const MigRun *r, const char *line)
{
	cr_assert_not_null(strstr(sb_str(&r->out), line), "plan does not say\n%s\nit said:\n%s", line,
					   sb_str(&r->out));
}

Test(migrate_conventions, zabbix_plan_migrate_rollback)
{
	RbtStack *t = &stack;
	MigRun r;
	char line[256];

	memset(t, 0, sizeof(*t));
	t->sh = &mig_zabbix;
	mig_stack_init(&t->s);
	mig_shared_start(&t->s, MIG_PG15);
	t->fp_seed = mig_seed_service(&t->s, &mig_zabbix, NULL);
	str_copy(t->svc, sizeof(t->svc), mig_svc(&t->s, &mig_zabbix));

	/* plan: ready, and says which rule read each app */
	mig_pgfold(&t->s, &r, NULL, "plan", t->svc, NULL);
	mig_expect_exit(&r, 0, "plan of the zabbix service");
	expect_line(&r, "  ok connection         zabbix-server: connection settings: zabbix convention "
				"(variable DB_SERVER_HOST)\n");
	expect_line(&r, "  ok connection         zabbix-web: connection settings: zabbix convention "
				"(variable DB_SERVER_HOST)\n");
	str_format(line, sizeof(line), "\nready: run `pgfold migrate %s`\n", t->svc);
	expect_line(&r, line);
	cr_assert_null(strstr(sb_str(&r.out), "cannot tell which user"), "%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&t->s, &r, NULL, "migrate", t->svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate of the zabbix service");
	mig_run_free(&r);
	mig_assert_migrated(&t->s, &mig_zabbix, t->fp_seed);

	/* the web frontend's database is its default, the same name: nothing
	 * was added for it */
	char *env = mig_inspect(mig_name(&t->s, "%s-zabbix-web"),
							"{{range .Config.Env}}{{println .}}{{end}}");

	cr_assert_null(strstr(env, "POSTGRES_DB="), "zabbix-web got a POSTGRES_DB:\n%s", env);
	cr_assert_null(strstr(env, "DB_SERVER_PORT="), "zabbix-web got a DB_SERVER_PORT:\n%s", env);
	free(env);

	RBT_ROLLBACK(t, &r, 0, NULL, "--yes", NULL);
	mig_run_free(&r);
	rbt_assert_rolled_back(t, t->fp_seed);
}
