/*
 * test_conns.c — the apps' connections (issue 18): the role's CONNECTION
 * LIMIT comes from what the source saw, the shared instance must have room
 * for the limits of every folded service, and after the apps are recreated
 * pgfold logs in with the settings each app got (the proof).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_conns, .fini = teardown, .timeout = 900);

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static long
to_long(const char *s)
{
	long v = -1;

	cr_assert(str_to_long(s, -1000000, 1000000, &v), "not a number: \"%s\"", s);
	return v;
}

#define SESSIONS_SQL \
	"SELECT count(*) FROM pg_stat_activity WHERE usename = 'conns' AND pid <> pg_backend_pid()"

/* Wait until the app holds n sessions on the dedicated db. */
static void
wait_source_sessions(const char *dbc, long n)
{
	long have = -1;

	for (int i = 0; i < 150 && have < n; i++)
	{
		char *v = mig_sql_value(dbc, "conns", "conns", SESSIONS_SQL);

		have = to_long(v);
		free(v);
		if (have < n)
			nap_ms(200);
	}
	cr_assert_geq(have, n, "the app holds %ld sessions on %s, not %ld", have, dbc, n);
}

static long
shared_sessions(void)
{
	char *v = mig_shared_value(&stack, "postgres",
							   "SELECT count(*) FROM pg_stat_activity WHERE usename = 'conns'");
	long n = to_long(v);

	free(v);
	return n;
}

/* The number after `key` in text, -1 when absent. */
static long
number_after(const char *text, const char *key)
{
	const char *at = strstr(text, key);

	return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* The shared instance's own log (docker logs: stderr of the server). */
static char *
shared_log(void)
{
	StrBuf out = STRBUF_INIT;

	lab_sh_capture(&out, "docker logs %s 2>&1", stack.shared);
	return sb_steal(&out);
}

/*
 * An app holding 30 sessions (as a stock Zabbix server holds 28): plan
 * shows the peak, the role gets max(2 x 30, 30 + 10) = 60, the app runs
 * its 30 sessions on the shared instance without a single "too many
 * connections", and the proof logged in as the app.
 */
Test(migrate_conns, app_with_30_sessions_folds_without_refusals)
{
	char dbc[128], port[48], *v;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(port, sizeof(port), "PGFOLD_SHARED_PORT=%d", stack.port);

	const char *env[] = { "PGFOLD_SHARED_HOST=127.0.0.1", port, NULL };

	str_format(dbc, sizeof(dbc), "%s-conns-db", stack.id);
	mig_service_add(&stack, "conns", "conns", NULL);
	mig_service_up(&stack, "conns", dbc);
	free(mig_sql_value(dbc, "conns", "conns", "CREATE TABLE items AS SELECT g AS id FROM "
					   "generate_series(1, 100) g; SELECT 1"));
	wait_source_sessions(dbc, 30);

	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	mig_pgfold(&stack, &r, env, "plan", "conns", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "migrate_conns: plan with 30 app sessions took %.2f s\n",
			(double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
	mig_expect_exit(&r, 0, "plan");
	long peak = number_after(sb_str(&r.out), "peak ");

	cr_assert_geq(peak, 30, "plan does not show the measured peak:\n%s", sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.out), "role limit 60 (max(2 x 30, 30 + 10))"),
					   "plan does not size the role by the peak:\n%s", sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.out), "CONNECTION LIMIT 60;"),
					   "plan's SQL has another limit:\n%s", sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.out), "(max_connections minus reserved), listens on "
							  "port 5432"), "plan does not show the source's max:\n%s",
					   sb_str(&r.out));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, env, "plan", "conns", "--json", NULL);
	mig_expect_exit(&r, 0, "plan --json");
	cr_assert_geq(number_after(sb_str(&r.out), "\"peak\": "), 30, "%s", sb_str(&r.out));
	cr_assert_eq(number_after(sb_str(&r.out), "\"limit\": "), 60, "%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, env, "migrate", "conns", "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	cr_assert_not_null(strstr(sb_str(&r.out), "proof     every app logged in"),
					   "no proof in the summary:\n%s", sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.err), "connection proof: holder logs in as \"conns\" on "
							  "\"conns\""), "the proof is not reported:\n%s", sb_str(&r.err));
	mig_run_free(&r);

	v = mig_shared_value(&stack, "postgres", "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'conns'");
	cr_expect_str_eq(v, "60");
	free(v);
	v = mig_shared_value(&stack, "postgres", "SELECT shobj_description(oid, 'pg_authid') FROM "
						 "pg_roles WHERE rolname = 'conns'");
	cr_expect_str_eq(v, "pgfold: role of a folded service");
	free(v);
	cr_expect_eq(mig_journal_count(&stack, "conns", "connections", "done"), 1);
	cr_expect_eq(mig_journal_count(&stack, "conns", "proof", "done"), 1);

	/* the recreated app opens its 30 sessions on the shared instance */
	long have = 0;

	for (int i = 0; i < 150 && have < 30; i++)
	{
		have = shared_sessions();
		if (have < 30)
			nap_ms(200);
	}
	cr_assert_eq(have, 30, "the app holds %ld sessions on the shared instance", have);
	nap_ms(1000);

	char *log = shared_log();

	cr_expect_null(strstr(log, "too many connections"), "the shared instance refused "
				   "connections:\n%s", log);
	free(log);
}

/* ALTER SYSTEM max_connections and restart the shared instance. */
static void
shared_max_connections(int n)
{
	char sql[96];

	str_format(sql, sizeof(sql), "ALTER SYSTEM SET max_connections = %d", n);
	free(mig_shared_value(&stack, "postgres", sql));
	cr_assert_eq(lab_sh("docker restart %s >/dev/null", stack.shared), 0);
	for (int i = 0; i < 300; i++)
	{
		if (lab_sh("docker exec %s pg_isready -q -h 127.0.0.1 -p %d >/dev/null 2>&1",
				   stack.shared, stack.port) == 0)
			return;
		nap_ms(200);
	}
	cr_assert_fail("%s does not come back", stack.shared);
}

/*
 * The shared instance accepts 20 - 3 reserved = 17 sessions; a service
 * folded earlier holds a role limited to 10; this one asks for 8: 18 do not
 * fit. plan and migrate refuse alike (exit 3) with the setting to raise,
 * before anything changes.
 */
Test(migrate_conns, limits_beyond_the_shared_max_are_refused)
{
	MigSnapshot snap;
	MigRun r;
	char expect[1024];
	const char *svc;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_zabbix, NULL));
	svc = mig_svc(&stack, &mig_zabbix);
	shared_max_connections(20);
	free(mig_shared_value(&stack, "postgres", "CREATE ROLE earlier LOGIN CONNECTION LIMIT 10; "
						  "COMMENT ON ROLE earlier IS 'pgfold: role of a folded service'; "
						  "CREATE ROLE unrelated LOGIN CONNECTION LIMIT 50; SELECT 1"));
	str_format(expect, sizeof(expect),
			   "the connection limits of the 1 role(s) pgfold folded into the shared instance "
			   "(10) plus this one's (8) come to 18, more than the 17 connections it accepts "
			   "(max_connections minus reserved): raise max_connections on the shared "
			   "instance, container %s (then restart it), or give this role a smaller "
			   "--connection-limit", stack.shared);

	mig_pgfold(&stack, &r, NULL, "plan", svc, "--connection-limit", "8", NULL);
	mig_expect_exit(&r, 3, "plan");
	cr_assert_not_null(strstr(sb_str(&r.out), expect), "plan's reason:\n%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_snapshot(&stack, svc, &snap);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", "--connection-limit", "8", NULL);
	mig_expect_exit(&r, 3, "migrate");
	cr_assert_not_null(strstr(sb_str(&r.err), expect), "migrate's reason:\n%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap,
						 (const char *const[]) { mig_name(&stack, mig_zabbix.apps[0]), NULL });
	mig_snapshot_free(&snap);

	/* within the room (7: 17 in all) it goes ahead */
	mig_pgfold(&stack, &r, NULL, "plan", svc, "--connection-limit", "7", NULL);
	mig_expect_exit(&r, 0, "plan with room");
	cr_assert_not_null(strstr(sb_str(&r.out), "10 of 17 connections committed to pgfold's 1 "
							  "other role(s); this one adds 7"), "%s", sb_str(&r.out));
	mig_run_free(&r);
}

/* .env with every occurrence of from replaced by to. */
static void
edit_env(const char *from, const char *to)
{
	char path[PATH_MAX];
	StrBuf env = STRBUF_INIT, out = STRBUF_INIT;
	const char *p, *at;
	FILE *f;

	mig_path(&stack, path, sizeof(path), ".env");
	mig_read(path, &env, false);
	for (p = sb_str(&env); (at = strstr(p, from)) != NULL; p = at + strlen(from))
	{
		sb_appendf(&out, "%.*s%s", (int) (at - p), p, to);
	}
	sb_appends(&out, p);
	cr_assert_neq(strcmp(sb_str(&out), sb_str(&env)), 0, "%s not in .env", from);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(sb_str(&out), f);
	fclose(f);
	sb_free(&env);
	sb_free(&out);
}

/*
 * After the cut-over the app gets a password that does not log in (the
 * operator's .env changed while the run was interrupted after the apps
 * were recreated): the resumed run recreates them, its proof fails naming
 * the app and the setting, exits 6 and does not complete; then a fix and a
 * re-run complete it, or rollback undoes it.
 */
static void
fold_until_proof_fails(char **password)
{
	MigRun r;
	const char *svc;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_zabbix, NULL));
	svc = mig_svc(&stack, &mig_zabbix);

	mig_pgfold(&stack, &r, (const char *const[]) { "PGFOLD_FAULT_AFTER=apply", NULL },
			   "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 99, "migrate with a crash after apply");
	mig_run_free(&r);

	*password = mig_role_password(&stack, "zabbix");
	edit_env(*password, "not-the-password");

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 6, "migrate whose proof fails");
	cr_assert_not_null(strstr(sb_str(&r.err), "connection proof failed for app zabbix-server: "
							  "password (POSTGRES_PASSWORD, as compose gave it to the container) "
							  "does not log in as role \"zabbix\""),
					   "the failure does not name the app and setting:\n%s", sb_str(&r.err));
	cr_assert_null(strstr(sb_str(&r.out), "migrated "), "a summary after a failed proof:\n%s",
				   sb_str(&r.out));
	mig_run_free(&r);
	cr_expect_eq(mig_journal_count(&stack, svc, "proof", "done"), 0);
}

Test(migrate_conns, failed_proof_then_rollback)
{
	char *password = NULL, orig[PATH_MAX], now[PATH_MAX];
	const char *svc;
	MigRun r;
	StrBuf a = STRBUF_INIT, b = STRBUF_INIT;

	fold_until_proof_fails(&password);
	svc = mig_svc(&stack, &mig_zabbix);
	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback after a failed proof");
	mig_run_free(&r);

	str_format(orig, sizeof(orig), "%s/orig/%s.yml", stack.dir, svc);
	mig_path(&stack, now, sizeof(now), "services/%s.yml", svc);
	mig_read(orig, &a, false);
	mig_read(now, &b, false);
	cr_expect_str_eq(sb_str(&b), sb_str(&a), "the service file is not the original again");

	char *state = mig_inspect(mig_name(&stack, mig_zabbix.db_container), "{{.State.Status}}");

	cr_expect_str_eq(state, "running");
	free(state);
	sb_free(&a);
	sb_free(&b);
	free(password);
}

Test(migrate_conns, failed_proof_then_fix_resumes)
{
	char *password = NULL;
	const char *svc;
	MigRun r;

	fold_until_proof_fails(&password);
	svc = mig_svc(&stack, &mig_zabbix);
	edit_env("not-the-password", password);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate after the fix");
	cr_assert_not_null(strstr(sb_str(&r.out), "proof     every app logged in"), "%s",
					   sb_str(&r.out));
	mig_run_free(&r);
	cr_expect_eq(mig_journal_count(&stack, svc, "proof", "done"), 1);
	free(password);
}

/*
 * The dedicated postgres listens on 5433 (`command: postgres -c port=5433`)
 * and the app says 5433: plan reads the port from the server (SHOW port)
 * and does not warn; psql, pg_isready and pg_dump in the container find the
 * server, and the fold completes with its proof.
 */
Test(migrate_conns, source_on_port_5433_from_its_command)
{
	char dbc[128];
	MigRun r;
	bool ready = false;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(dbc, sizeof(dbc), "%s-port-db", stack.id);
	mig_service_add(&stack, "port5433", "port5433", NULL);
	cr_assert_eq(mig_compose(&stack, NULL, "-f services/port5433.yml up -d"), 0);
	for (int i = 0; i < 600 && !ready; i++)
	{
		ready = lab_sh("docker exec %s pg_isready -q -p 5433 >/dev/null 2>&1", dbc) == 0;
		if (!ready)
			nap_ms(200);
	}
	cr_assert(ready, "%s does not answer on 5433", dbc);
	nap_ms(1000);     /* the entrypoint's first-start server may have answered */
	cr_assert_eq(lab_sh("docker exec %s psql -X -q -p 5433 -U porty -d porty -c "
						"'CREATE TABLE t AS SELECT 42 AS x' >/dev/null", dbc), 0);

	mig_pgfold(&stack, &r, NULL, "plan", "port5433", NULL);
	mig_expect_exit(&r, 0, "plan");
	cr_assert_not_null(strstr(sb_str(&r.out), "listens on port 5433"), "%s", sb_str(&r.out));
	cr_assert_null(strstr(sb_str(&r.out), "uses port"), "a port warning:\n%s", sb_str(&r.out));
	/* the checks (not the diff: 5432 is the shared instance's port there) */
	const char *steps = strstr(sb_str(&r.out), "\nsteps:");

	cr_assert_not_null(steps);
	cr_assert_null(memmem(sb_str(&r.out), (size_t) (steps - sb_str(&r.out)), "5432", 4),
				   "the checks assume 5432:\n%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", "port5433", "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	cr_assert_not_null(strstr(sb_str(&r.out), "proof     every app logged in"), "%s",
					   sb_str(&r.out));
	mig_run_free(&r);

	char *v = mig_shared_value(&stack, "porty", "SELECT x FROM t");

	cr_expect_str_eq(v, "42");
	free(v);
}
