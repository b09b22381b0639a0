/*
 * test_networks.c — an app and the shared instance both on the host's
 * network, in the lab: plan says that 127.0.0.1 reaches the shared
 * instance from the app, and after the fold a real connection made from
 * the app's own container with the settings compose gave it logs in and
 * reads the data. (The lab has no bridge networks: the network edits are
 * tested against compose's resolved config in tests/rewrite.)
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_networks, .fini = teardown, .timeout = 600);

/* PGFOLD_SHARED_HOST/PORT of the stack's .env: the shared instance's
 * loopback address, as an operator with host networking sets them. */
static void
shared_host_loopback(MigStack *s)
{
	char path[PATH_MAX];

	mig_path(s, path, sizeof(path), ".env");
	cr_assert_eq(lab_sh("sed -i 's/^PGFOLD_SHARED_HOST=postgres$/PGFOLD_SHARED_HOST=127.0.0.1\\n"
						"PGFOLD_SHARED_PORT=%d/' '%s'", s->port, path), 0);
	cr_assert(mig_file_contains(path, "\nPGFOLD_SHARED_HOST=127.0.0.1\n"));
}

Test(migrate_networks, host_networking_app_connects_with_its_own_settings)
{
	char svc[96], dbc[160], app[160], want[256];
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	shared_host_loopback(&stack);
	str_format(svc, sizeof(svc), "hostnet-%s", stack.id);
	str_format(dbc, sizeof(dbc), "%s-hostapp-db", stack.id);
	str_format(app, sizeof(app), "%s-hostapp", stack.id);
	mig_service_add(&stack, "hostnet", svc, NULL);
	mig_service_up(&stack, svc, dbc);
	mig_sql_fixture(dbc, "hostapp", "hostapp", "seed.sql");

	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 0, "plan");
	str_format(want, sizeof(want), "app uses host networking and the shared instance is on the "
			   "host's network (container %s): 127.0.0.1:%d reaches it on the host", stack.shared,
			   stack.port);
	cr_assert_not_null(strstr(sb_str(&r.out), want), "%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);

	/* from the app's network namespace, with exactly what compose gave it */
	StrBuf out = STRBUF_INIT;
	bool ok = lab_sh_capture(&out, "docker exec %s sh -c 'PGPASSWORD=\"$POSTGRES_PASSWORD\" "
							 "psql -XAtq -h \"$POSTGRES_HOST\" -p \"$POSTGRES_PORT\" "
							 "-U \"$POSTGRES_USER\" -d \"$POSTGRES_DATABASE\" "
							 "-c \"SELECT current_user, count(*) FROM items\"' 2>&1", app);

	cr_assert(ok, "the app cannot connect: %s", sb_str(&out));
	cr_assert_str_eq(sb_str(&out), "hostapp|2000\n");
	sb_free(&out);

	char *host = mig_inspect(app, "{{range .Config.Env}}{{println .}}{{end}}");

	cr_assert_not_null(strstr(host, "POSTGRES_HOST=127.0.0.1\n"), "%s", host);
	free(host);
}
