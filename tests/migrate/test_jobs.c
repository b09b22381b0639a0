/*
 * test_jobs.c — `migrate --jobs N|auto`: the stream restores tables and
 * data, then pg_restore -j builds the post-data section (indexes,
 * constraints, triggers) from the dump, read through a bind mount of the
 * shared container. The result holds the source's definitions; an explicit
 * --jobs with no route is refused before anything stops; a post-data that
 * fails (a foreign key the source's rows violate: a real server's error)
 * is undone and the apps run again. Plus the automatic rule and the bind
 * mount lookup, which need no engine.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migrate/mig.h"
#include "pgfold/docker.h"
#include "pgfold/migrate.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

/* ---- unit: the rule and the mount lookup -------------------------------- */

#define MiB ((int64_t) 1 << 20)

Test(migrate_jobs_unit, auto_rule)
{
	int c = JOBS_AUTO_MIN_CORES;

	/* large and index-heavy enough, on enough cores */
	cr_assert_eq(migrate_jobs_auto(440 * MiB, 147 * MiB, c), JOBS_AUTO_JOBS);
	cr_assert_eq(migrate_jobs_auto(440 * MiB, 147 * MiB, 64), JOBS_AUTO_JOBS);
	cr_assert_eq(migrate_jobs_auto(JOBS_AUTO_MIN_BYTES, JOBS_AUTO_MIN_BYTES
								   * JOBS_AUTO_MIN_INDEX_PCT / 100, c), JOBS_AUTO_JOBS);
	cr_assert_eq(migrate_jobs_auto(JOBS_AUTO_MIN_BYTES, JOBS_AUTO_MIN_BYTES
								   * JOBS_AUTO_MIN_INDEX_PCT / 100 - 1, c), 1);
	/* 2 cores (measured: no gain there), or not known */
	cr_assert_eq(migrate_jobs_auto(440 * MiB, 147 * MiB, 2), 1);
	cr_assert_eq(migrate_jobs_auto(440 * MiB, 147 * MiB, c - 1), 1);
	cr_assert_eq(migrate_jobs_auto(440 * MiB, 147 * MiB, -1), 1);
	/* too small: the second pg_restore's start costs more than it saves */
	cr_assert_eq(migrate_jobs_auto(JOBS_AUTO_MIN_BYTES - 1, JOBS_AUTO_MIN_BYTES / 2, c), 1);
	cr_assert_eq(migrate_jobs_auto(20 * MiB, 15 * MiB, c), 1);
	/* large, few indexes: the data dominates, one pipe */
	cr_assert_eq(migrate_jobs_auto(336 * MiB, 43 * MiB, c), 1);
	cr_assert_eq(migrate_jobs_auto(8192 * MiB, 0, c), 1);
	/* unknown */
	cr_assert_eq(migrate_jobs_auto(0, 0, c), 1);
	cr_assert_eq(migrate_jobs_auto(-1, -1, c), 1);
	cr_assert_str_eq(migrate_jobs_route_name(JOBS_ROUTE_MOUNT), "bind-mount");
	cr_assert_str_eq(migrate_jobs_route_name(JOBS_ROUTE_LOCAL), "local");
	cr_assert_str_eq(migrate_jobs_route_name(JOBS_ROUTE_PIPE), "pipe");
}

static bool
bind_path(const char *mounts, const char *host, char *out)
{
	json_error_t e;
	json_t *inspect = json_loads(mounts, 0, &e);
	bool ok;

	cr_assert_not_null(inspect, "%s", e.text);
	ok = docker_inspect_bind_path(inspect, host, out, PATH_MAX);
	json_decref(inspect);
	return ok;
}

Test(migrate_jobs_unit, bind_mount_lookup)
{
	char out[PATH_MAX];
	const char *m =
		"{\"Mounts\": ["
		"{\"Type\": \"volume\", \"Source\": \"/srv\", \"Destination\": \"/var/lib/postgresql/data\"},"
		"{\"Type\": \"bind\", \"Source\": \"/srv/stack\", \"Destination\": \"/stack\"},"
		"{\"Type\": \"bind\", \"Source\": \"/srv/stack/backups/\", \"Destination\": \"/b/\"},"
		"{\"Type\": \"bind\", \"Source\": \"/srv/stackother\", \"Destination\": \"/o\"}]}";

	/* the longest Source that holds it */
	cr_assert(bind_path(m, "/srv/stack/backups/postgres-migrations", out));
	cr_assert_str_eq(out, "/b/postgres-migrations");
	cr_assert(bind_path(m, "/srv/stack/services", out));
	cr_assert_str_eq(out, "/stack/services");
	cr_assert(bind_path(m, "/srv/stack", out));
	cr_assert_str_eq(out, "/stack");
	/* whole components only; a volume is not a bind mount */
	cr_assert_not(bind_path(m, "/srv/stackx/backups", out));
	cr_assert_not(bind_path(m, "/srv/data", out));
	cr_assert_not(bind_path("{\"Mounts\": null}", "/srv", out));
	cr_assert_not(bind_path("{}", "/srv", out));
	cr_assert(bind_path("{\"Mounts\": [{\"Type\": \"bind\", \"Source\": \"/\", "
						"\"Destination\": \"/host\"}]}", "/a/b", out));
	cr_assert_str_eq(out, "/host/a/b");
}

/* ---- lab ------------------------------------------------------------------ */

TestSuite(migrate_jobs, .fini = teardown, .timeout = 600);

/* Every index, constraint and trigger of the user schemas, by definition. */
static const char definitions_sql[] =
	"SELECT string_agg(d, E'\\n' ORDER BY d) FROM ("
	" SELECT 'index ' || schemaname || '.' || indexname || ' ' || indexdef AS d FROM pg_indexes"
	"  WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
	" UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '"
	"  || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid <> 0"
	"  AND connamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')"
	" UNION ALL SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ' '"
	"  || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal) x";

/* docmost's seed (indexes, primary keys, a foreign key) plus a unique
 * constraint, a trigger and a second foreign key. */
static const char extra_sql[] =
	"ALTER TABLE items ADD CONSTRAINT items_title_key UNIQUE (title);"
	"CREATE INDEX notes_body_idx ON app.notes (item_id, body);"
	"CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS "
	"  'BEGIN NEW.created := now(); RETURN NEW; END';"
	"CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION app.touch();"
	"CREATE TABLE app.tags (id int PRIMARY KEY, item bigint NOT NULL REFERENCES items (id) "
	"  ON DELETE CASCADE, tag text NOT NULL, UNIQUE (item, tag));"
	"INSERT INTO app.tags SELECT g, g, 't' || g % 5 FROM generate_series(1, 300) g;";

static void
source_sql(const char *container, const char *sql)
{
	StrBuf out = STRBUF_INIT;

	cr_assert(mig_sql(&out, container, "docmost", "docmost", sql, NULL), "%s: %s", sql,
			  sb_str(&out));
	sb_free(&out);
}

typedef struct Names
{
	char svc[96], app[160], redis[160], db[160], mount[PATH_MAX + 64];
} Names;

/* A stack whose shared container bind-mounts the stack's backups
 * directory (mount true), the service seeded with extra_sql. */
static char *
seed(Names *n, const char *image, bool mount)
{
	char backups[PATH_MAX];

	mig_stack_init(&stack);
	mig_path(&stack, backups, sizeof(backups), "backups");
	cr_assert(mkdir(backups, 0750) == 0 || mig_exists(backups));
	str_format(n->mount, sizeof(n->mount), "-v %s:/pgfold-backups", backups);
	mig_shared_start_with(&stack, image, mount ? n->mount : "");
	free(mig_seed_service(&stack, &mig_docmost, image));
	str_copy(n->svc, sizeof(n->svc), mig_svc(&stack, &mig_docmost));
	str_copy(n->app, sizeof(n->app), mig_name(&stack, mig_docmost.apps[0]));
	str_copy(n->redis, sizeof(n->redis), mig_name(&stack, mig_docmost.others[0]));
	str_copy(n->db, sizeof(n->db), mig_name(&stack, mig_docmost.db_container));
	source_sql(n->db, extra_sql);
	return mig_sql_value(n->db, "docmost", "docmost", definitions_sql);
}

Test(migrate_jobs, two_jobs_through_a_bind_mount_keep_every_definition)
{
	Names n;
	MigRun r;
	char *before = seed(&n, MIG_PG15, true), *after;
	json_t *rec;

	cr_assert_not_null(strstr(before, "items_title_key UNIQUE (title)"), "%s", before);
	cr_assert_not_null(strstr(before, "trigger items items_touch"), "%s", before);

	mig_pgfold(&stack, &r, NULL, "plan", n.svc, "--jobs", "2", NULL);
	mig_expect_exit(&r, 0, "plan --jobs 2");
	cr_assert_not_null(strstr(sb_str(&r.out), "pg_restore -j 2 --section=post-data (indexes, "
							  "constraints, triggers) into \"docmost__pgfold_incoming\" in "
							  "container"), "%s", sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.out), "reading the dump through its bind mount as "
							  "/pgfold-backups/postgres-migrations/"), "%s", sb_str(&r.out));
	mig_run_free(&r);

	/* the rehearsal takes the same split and route */
	mig_pgfold(&stack, &r, NULL, "plan", n.svc, "--jobs", "2", "--rehearse", NULL);
	mig_expect_exit(&r, 0, "plan --jobs 2 --rehearse");
	cr_assert_not_null(strstr(sb_str(&r.out), "\n  post-data  "), "%s", sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.out), "\n  jobs       2 (bind-mount)\n"), "%s",
					   sb_str(&r.out));
	cr_assert_not_null(strstr(sb_str(&r.out), "items identical"), "%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", n.svc, "--yes", "--jobs", "2", NULL);
	mig_expect_exit(&r, 0, "migrate --jobs 2");
	cr_assert_not_null(strstr(sb_str(&r.out), "with pg_restore -j 2 (bind-mount)"), "%s",
					   sb_str(&r.out));
	mig_run_free(&r);

	after = mig_shared_value(&stack, "docmost", definitions_sql);
	cr_assert_str_eq(after, before, "the definitions differ after --jobs 2");

	rec = mig_journal_last(&stack, n.svc, "stream", "done");
	cr_assert_not_null(rec);
	cr_assert_eq(json_integer_value(json_object_get(rec, "jobs")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "sections")), "pre-data,data");
	json_decref(rec);
	rec = mig_journal_last(&stack, n.svc, "post-data", "done");
	cr_assert_not_null(rec, "no post-data step in the journal");
	cr_assert_eq(json_integer_value(json_object_get(rec, "jobs")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "route")), "bind-mount");
	cr_assert(json_real_value(json_object_get(rec, "seconds")) > 0);
	json_decref(rec);
	mig_assert_rerun_noop(&stack, &mig_docmost);
	free(before);
	free(after);
}

Test(migrate_jobs, explicit_jobs_without_a_route_is_refused_before_anything_stops)
{
	Names n;
	MigRun r;
	MigSnapshot snap;
	char *before, expect[PATH_MAX * 2], dir[PATH_MAX], *real;
	const char *running[] = { n.app, n.redis, n.db, NULL };

	/* postgres 17 on both sides: this host's pg_restore (15) is too old for
	 * the archive, and the shared container mounts nothing */
	before = seed(&n, "pgfold-lab/postgres:17", false);
	mig_path(&stack, dir, sizeof(dir), "backups");
	real = realpath(dir, NULL);
	cr_assert_not_null(real);
	str_format(expect, sizeof(expect), "--jobs 2 needs the dump file readable by a pg_restore -j: "
			   "bind-mount %s/postgres-migrations (or a directory holding it) into %s, or install "
			   "a local pg_restore 17 or newer that reaches the shared instance at 127.0.0.1:%d; "
			   "or use --jobs 1. Nothing was stopped", real, stack.shared, stack.port);
	free(real);
	mig_snapshot(&stack, n.svc, &snap);

	mig_pgfold(&stack, &r, NULL, "migrate", n.svc, "--yes", "--jobs", "2", NULL);
	mig_expect_exit(&r, 2, "migrate --jobs 2 with no route");
	cr_assert_not_null(strstr(sb_str(&r.err), expect), "expected:\n%s\ngot:\n%s", expect,
					   sb_str(&r.err));
	mig_run_free(&r);
	mig_assert_unchanged(&stack, n.svc, &snap, running);
	cr_assert_eq(mig_journal_count(&stack, n.svc, "stop-apps", NULL), 0, "something was stopped");

	/* plan refuses it the same way; auto falls back to one pipe and says why */
	mig_pgfold(&stack, &r, NULL, "plan", n.svc, "--jobs", "2", NULL);
	mig_expect_exit(&r, 2, "plan --jobs 2 with no route");
	cr_assert_not_null(strstr(sb_str(&r.err), expect), "%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "plan", n.svc, NULL);
	mig_expect_exit(&r, 0, "plan (--jobs auto)");
	cr_assert_not_null(strstr(sb_str(&r.out), "(jobs: --jobs auto: 1 ("), "%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_snapshot_free(&snap);
	free(before);
}

Test(migrate_jobs, a_failing_post_data_is_undone_and_the_apps_run_again)
{
	Names n;
	MigRun r;
	MigSnapshot snap;
	char *before = seed(&n, MIG_PG15, true);
	const char *running[] = { n.app, n.redis, n.db, NULL };
	char *dbs;

	/* rows the foreign key does not hold (its triggers off, as a replica
	 * applies changes): the dump is consistent with the source, and the
	 * constraint fails only when post-data adds and validates it */
	source_sql(n.db, "SET session_replication_role = replica;"
			   "INSERT INTO app.tags VALUES (100000, 999999, 'orphan');");
	mig_snapshot(&stack, n.svc, &snap);

	mig_pgfold(&stack, &r, NULL, "migrate", n.svc, "--yes", "--jobs", "2", NULL);
	mig_expect_exit(&r, 1, "migrate --jobs 2 whose post-data fails");
	cr_assert_not_null(strstr(sb_str(&r.err), "pg_restore -j 2 --section=post-data into "
							  "\"docmost__pgfold_incoming\" in"), "%s", sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "violates foreign key constraint"), "%s",
					   sb_str(&r.err));
	cr_assert_not_null(strstr(sb_str(&r.err), "nothing was switched over"), "%s", sb_str(&r.err));
	mig_run_free(&r);

	/* undone: no temp db, no role, the files and the apps as they were */
	mig_assert_unchanged(&stack, n.svc, &snap, running);
	dbs = mig_shared_databases(&stack);
	cr_assert_str_eq(dbs, "", "left on the shared instance: %s", dbs);
	cr_assert_eq(mig_journal_count(&stack, n.svc, "post-data", "done"), 0);
	cr_assert_eq(mig_journal_count(&stack, n.svc, "abort", NULL), 1);
	mig_snapshot_free(&snap);
	free(dbs);
	free(before);
}

/* A run killed after its split stream, before post-data: the re-run does
 * not trust the temp db without its indexes; it streams again and ends with
 * every definition, in the same run. */
Test(migrate_jobs, a_crash_before_post_data_streams_again)
{
	Names n;
	MigRun r;
	char *before = seed(&n, MIG_PG15, true), *after;
	const char *env[] = { "PGFOLD_FAULT_AFTER=stream", NULL };

	mig_pgfold(&stack, &r, env, "migrate", n.svc, "--yes", "--jobs", "2", NULL);
	mig_expect_exit(&r, 99, "migrate --jobs 2 killed after the stream");
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", n.svc, "--yes", "--jobs", "2", NULL);
	mig_expect_exit(&r, 0, "the re-run");
	cr_assert_not_null(strstr(sb_str(&r.err), "without its indexes, constraints and triggers "
							  "and did not finish them: restoring it again"), "%s", sb_str(&r.err));
	mig_run_free(&r);
	after = mig_shared_value(&stack, "docmost", definitions_sql);
	cr_assert_str_eq(after, before);
	cr_assert_eq(mig_journal_count(&stack, n.svc, "stream", "done"), 2);
	cr_assert_eq(mig_journal_count(&stack, n.svc, "post-data", "done"), 1);
	cr_assert_eq(mig_journal_runs(&stack, n.svc), 1, "the re-run started another run");
	free(before);
	free(after);
}

/* No mount, but this host's pg_restore (15) is as new as the source and the
 * shared instance listens on loopback: the local route, the admin password
 * in a passfile, never in argv. */
Test(migrate_jobs, the_local_route_when_nothing_is_mounted)
{
	Names n;
	MigRun r;
	char *before = seed(&n, MIG_PG15, false), *after;
	json_t *rec;

	if (system("pg_restore --version 2>/dev/null | grep -q '(PostgreSQL) 1[5-9]'") != 0)
		cr_skip_test("no local pg_restore 15 or newer on this host");
	mig_pgfold(&stack, &r, NULL, "plan", n.svc, "--jobs", "2", NULL);
	mig_expect_exit(&r, 0, "plan --jobs 2, local route");
	cr_assert_not_null(strstr(sb_str(&r.out), "on this host over 127.0.0.1:"), "%s", sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", n.svc, "--yes", "--jobs", "2", NULL);
	mig_expect_exit(&r, 0, "migrate --jobs 2, local route");
	cr_assert_null(strstr(sb_str(&r.err), stack.admin_pw), "the admin password was printed");
	mig_run_free(&r);
	after = mig_shared_value(&stack, "docmost", definitions_sql);
	cr_assert_str_eq(after, before);
	rec = mig_journal_last(&stack, n.svc, "post-data", "done");
	cr_assert_not_null(rec);
	cr_assert_str_eq(json_string_value(json_object_get(rec, "route")), "local");
	json_decref(rec);
	free(before);
	free(after);
}
