/*
 * test_dump_safety.c — a dump must not run code as the shared instance's
 * admin (issue 15, item 2). The app's POSTGRES_USER is superuser of its
 * dedicated cluster, so it can plant an event trigger, a C function or a
 * function the restore calls; pg_restore and the ownership hand-over run
 * as the admin. Each payload here runs `ALTER ROLE <role> SUPERUSER`: the
 * tests prove pgfold refuses (exit 3, the object named, nothing changed)
 * and that no role of the shared instance became a superuser — also when
 * the object appears in the restored copy after the pre-flight check.
 */
#include <criterion/criterion.h>
#include <stdio.h>
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

TestSuite(migrate_dump_safety, .fini = teardown, .timeout = 600);

#define TMP_DB "docmost__pgfold_incoming"

/* An event trigger whose function makes the service role a superuser. */
#define PLANT_EVENT_TRIGGER(event) \
	"CREATE FUNCTION pgfold_evil() RETURNS event_trigger LANGUAGE plpgsql AS " \
	"$$BEGIN EXECUTE 'ALTER ROLE docmost SUPERUSER'; END$$; " \
	"CREATE EVENT TRIGGER pgfold_evil ON " event " EXECUTE FUNCTION pgfold_evil()"

static void
expect_says(const MigRun *r, const char *needle, const char *what)
{
	cr_assert(strstr(sb_str(&r->err), needle) || strstr(sb_str(&r->out), needle),
			  "%s does not say \"%s\":\n%s\n%s", what, needle, sb_str(&r->out), sb_str(&r->err));
}

/* The shared instance's superusers: only the admin, ever. */
static void
assert_only_admin_is_superuser(const MigStack *s)
{
	char *supers = mig_shared_value(s, "postgres", "SELECT string_agg(rolname, ',' ORDER BY "
									"rolname) FROM pg_roles WHERE rolsuper");

	cr_assert_str_eq(supers, "admin", "superusers of the shared instance: %s", supers);
	free(supers);
}

typedef struct Names
{
	char svc[96], db[160], app[160], redis[160];
} Names;

static void
seeded_docmost(MigStack *s, const char *shared_image, Names *n)
{
	mig_stack_init(s);
	mig_shared_start(s, shared_image);
	free(mig_seed_service(s, &mig_docmost, NULL));
	str_copy(n->svc, sizeof(n->svc), mig_svc(s, &mig_docmost));
	str_copy(n->db, sizeof(n->db), mig_name(s, mig_docmost.db_container));
	str_copy(n->app, sizeof(n->app), mig_name(s, mig_docmost.apps[0]));
	str_copy(n->redis, sizeof(n->redis), mig_name(s, mig_docmost.others[0]));
}

static void
dedicated_sql(const Names *n, const char *sql)
{
	free(mig_sql_value(n->db, mig_docmost.db_user, mig_docmost.src_db, sql));
}

/* plan and migrate refuse an event trigger in the dedicated database, by
 * name; migrate changes nothing, and nobody becomes a superuser. */
Test(migrate_dump_safety, event_trigger_in_the_dedicated_db_is_refused)
{
	static const char line[] = "event trigger \"pgfold_evil\" (on \"ddl_command_start\") would "
		"run as the shared instance's admin: drop it in the dedicated database";
	Names n;
	MigSnapshot snap;
	MigRun r;

	seeded_docmost(&stack, MIG_PG15, &n);
	dedicated_sql(&n, PLANT_EVENT_TRIGGER("ddl_command_start"));
	mig_snapshot(&stack, n.svc, &snap);

	const char *all[] = { n.app, n.redis, n.db, NULL };

	mig_pgfold(&stack, &r, NULL, "plan", n.svc, NULL);
	mig_expect_exit(&r, 3, "plan with an event trigger in the dedicated database");
	expect_says(&r, "XX dump contents", "plan");
	expect_says(&r, line, "plan");
	expect_says(&r, "not ready: event trigger \"pgfold_evil\"", "plan");
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", n.svc, "--yes", NULL);
	assert_only_admin_is_superuser(&stack);
	mig_expect_exit(&r, 3, "migrate with an event trigger in the dedicated database");
	expect_says(&r, line, "migrate");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, n.svc, &snap, all);
	cr_assert_eq(mig_journal_runs(&stack, n.svc), 0, "a refused migration started a run");
	mig_snapshot_free(&snap);
}

/* A C function, and a function the restore calls as the admin (a CHECK
 * constraint, evaluated while COPY loads the table): plan names both, and
 * `db migrate-from` (the same path without a service file) refuses too. */
Test(migrate_dump_safety, c_function_and_called_function_are_refused)
{
	Names n;
	MigRun r;

	seeded_docmost(&stack, MIG_PG15, &n);
	dedicated_sql(&n, "CREATE FUNCTION pgfold_c() RETURNS int LANGUAGE c AS "
				  "'$libdir/plpgsql', 'plpgsql_inline_handler'; "
				  "CREATE FUNCTION pgfold_check(int) RETURNS bool LANGUAGE plpgsql AS "
				  "$$BEGIN EXECUTE 'ALTER ROLE docmost SUPERUSER'; RETURN true; END$$; "
				  "ALTER TABLE items ADD CONSTRAINT items_evil CHECK (pgfold_check(id::int))");

	mig_pgfold(&stack, &r, NULL, "plan", n.svc, NULL);
	mig_expect_exit(&r, 3, "plan with a C function and a CHECK calling a function");
	expect_says(&r, "function \"pgfold_c()\" in language \"c\" (not sandboxed) would be created "
				"by the shared instance's admin", "plan");
	expect_says(&r, "function \"pgfold_check(integer)\" would run as the shared instance's admin "
				"while the restore loads or builds \"constraint items_evil on table items\"",
				"plan");
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "db", "migrate-from", n.db, mig_docmost.src_db, "copy", NULL);
	mig_expect_exit(&r, 3, "db migrate-from of the same database");
	expect_says(&r, "function \"pgfold_c()\" in language \"c\"", "db migrate-from");
	expect_says(&r, "Nothing was copied.", "db migrate-from");
	mig_run_free(&r);

	char *dbs = mig_shared_databases(&stack);

	cr_assert_str_eq(dbs, "", "db migrate-from left databases: %s", dbs);
	free(dbs);
	cr_assert_eq(mig_glob_count(&stack, "backups/copy_*"), 0, "db migrate-from kept a dump");
	assert_only_admin_is_superuser(&stack);
}

/* Run migrate until the stream is journaled (the fault point ends it as
 * kill -9 would), then plant sql in the restored copy as the admin: what
 * a source that adds the object after the pre-flight check would bring. */
static void
restored_then_planted(MigStack *s, const Names *n, const char *sql)
{
	const char *fault[] = { "PGFOLD_FAULT_AFTER=stream", NULL };
	MigRun r;

	mig_pgfold(s, &r, fault, "migrate", n->svc, "--yes", NULL);
	mig_expect_exit(&r, 99, "migrate stopped after the stream");
	mig_run_free(&r);
	free(mig_shared_value(s, TMP_DB, sql));
}

/* The resumed run refuses at the hand-over (exit 3), before the admin runs
 * anything in the restored copy: the payload never fires. */
static void
resume_is_refused(MigStack *s, const Names *n, const char *needle, const MigSnapshot *snap)
{
	const char *all[] = { n->app, n->redis, n->db, NULL };
	MigRun r;

	mig_pgfold(s, &r, NULL, "migrate", n->svc, "--yes", NULL);
	assert_only_admin_is_superuser(s);
	mig_expect_exit(&r, 3, "the resumed migrate with a planted object");
	expect_says(&r, needle, "the resumed migrate");
	expect_says(&r, "Nothing was handed over to \"docmost\"", "the resumed migrate");
	mig_run_free(&r);

	char *dbs = mig_shared_databases(s);

	cr_assert_str_eq(dbs, "", "the restored copy was not dropped: %s", dbs);
	free(dbs);
	mig_assert_unchanged(s, n->svc, snap, all);
}

/* Past the pre-flight check: an event trigger (ddl_command_start) in the
 * restored copy stops the hand-over; on PostgreSQL 17 a login event
 * trigger, which would fire as the admin connects, is found from outside. */
Test(migrate_dump_safety, restored_copy_is_checked_before_the_hand_over)
{
	Names n;
	MigSnapshot snap;

	seeded_docmost(&stack, "pgfold-lab/postgres:17", &n);
	mig_snapshot(&stack, n.svc, &snap);
	restored_then_planted(&stack, &n, PLANT_EVENT_TRIGGER("ddl_command_start"));

	/* the interrupted run created the role and its password file; the
	 * resumed one did not, so its undo keeps them */
	MigSnapshot now;

	mig_snapshot(&stack, n.svc, &now);
	cr_assert_str_eq(now.roles, "docmost");
	free(snap.roles);
	free(snap.passwords);
	snap.roles = now.roles;
	snap.passwords = now.passwords;
	now.roles = now.passwords = NULL;
	mig_snapshot_free(&now);
	resume_is_refused(&stack, &n, "the restored database \"" TMP_DB "\" holds what pgfold will "
					  "not restore as the shared instance's admin: event trigger "
					  "\"pgfold_evil\" (on \"ddl_command_start\")", &snap);

	restored_then_planted(&stack, &n, PLANT_EVENT_TRIGGER("login"));
	resume_is_refused(&stack, &n, "the restored database \"" TMP_DB "\" has a login event "
					  "trigger, which would run as the shared instance's admin", &snap);
	mig_snapshot_free(&snap);
}

/* Planted while a crashed run left the apps stopped: the re-run looks at
 * the source again (its pre-flight; the stream step looks once more, for
 * the moment between a run's pre-flight and its stopping the apps), and
 * nothing is restored. */
Test(migrate_dump_safety, source_is_checked_again_after_a_crash)
{
	const char *fault[] = { "PGFOLD_FAULT_AFTER=stop-apps", NULL };
	Names n;
	MigSnapshot snap;
	MigRun r;

	seeded_docmost(&stack, MIG_PG15, &n);
	mig_snapshot(&stack, n.svc, &snap);
	mig_pgfold(&stack, &r, fault, "migrate", n.svc, "--yes", NULL);
	mig_expect_exit(&r, 99, "migrate stopped after stop-apps");
	mig_run_free(&r);
	dedicated_sql(&n, PLANT_EVENT_TRIGGER("ddl_command_start"));

	mig_pgfold(&stack, &r, NULL, "migrate", n.svc, "--yes", NULL);
	assert_only_admin_is_superuser(&stack);
	mig_expect_exit(&r, 3, "the resumed migrate with a trigger planted after pre-flight");
	expect_says(&r, "cannot be migrated: event trigger \"pgfold_evil\" (on \"ddl_command_start\") "
				"would run as the shared instance's admin", "the resumed migrate");
	expect_says(&r, "nothing was switched over", "the resumed migrate");
	mig_run_free(&r);

	char *dbs = mig_shared_databases(&stack);

	cr_assert_str_eq(dbs, "", "something was restored: %s", dbs);
	free(dbs);

	const char *all[] = { n.app, n.redis, n.db, NULL };

	mig_assert_unchanged(&stack, n.svc, &snap, all);
	mig_snapshot_free(&snap);
}
