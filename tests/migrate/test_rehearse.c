/*
 * test_rehearse.c — `plan SERVICE --rehearse`: the data part of a
 * migration (stream, ownership, analyze, verify) timed while the apps keep
 * running, into a scratch database and role that are gone afterwards; a
 * rehearsal killed half-way is cleaned up by the next one; --json carries
 * the phases; migrate refuses the option.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_rehearse, .fini = teardown, .timeout = 600);

typedef struct Names
{
	char svc[96], app[160], redis[160], db[160];
} Names;

static char *
seed(Names *n)
{
	char *fp;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	fp = mig_seed_service(&stack, &mig_docmost, NULL);
	str_copy(n->svc, sizeof(n->svc), mig_svc(&stack, &mig_docmost));
	str_copy(n->app, sizeof(n->app), mig_name(&stack, mig_docmost.apps[0]));
	str_copy(n->redis, sizeof(n->redis), mig_name(&stack, mig_docmost.others[0]));
	str_copy(n->db, sizeof(n->db), mig_name(&stack, mig_docmost.db_container));
	return fp;
}

/* The phase line "  <name> <seconds> s" of the rehearsal's report. */
static void
expect_phase(const char *out, const char *name)
{
	char needle[64];
	const char *at;

	str_format(needle, sizeof(needle), "\n  %-10s ", name);
	at = strstr(out, needle);
	cr_assert_not_null(at, "no %s phase in:\n%s", name, out);
	cr_assert(strtod(at + strlen(needle), NULL) >= 0.0, "%s", at);
}

Test(migrate_rehearse, times_the_data_part_and_leaves_nothing_behind)
{
	Names n;
	MigSnapshot snap;
	MigRun r;
	char *fp = seed(&n), *after;
	const char *all[] = { n.app, n.redis, n.db, NULL };
	const char *out;

	mig_snapshot(&stack, n.svc, &snap);
	mig_pgfold(&stack, &r, NULL, "plan", n.svc, "--rehearse", NULL);
	mig_expect_exit(&r, 0, "plan --rehearse");
	out = sb_str(&r.out);
	cr_assert_not_null(strstr(out, "ready: run `pgfold migrate"), "the plan comes first:\n%s", out);
	cr_assert_not_null(strstr(out, "Rehearsal of "), "%s", out);
	cr_assert_not_null(strstr(out, "(the apps kept running; nothing they use changed)"), "%s", out);
	expect_phase(out, "stream");
	expect_phase(out, "ownership");
	expect_phase(out, "analyze");
	expect_phase(out, "verify");
	/* docmost's seed: the inventory of the scratch copy is the source's */
	cr_assert_not_null(strstr(out, "items identical"), "%s", out);
	cr_assert_not_null(strstr(out, "  downtime   about "), "%s", out);
	/* the apps ran throughout, no database, role, file or dump is left */
	mig_assert_unchanged(&stack, n.svc, &snap, all);
	cr_assert_eq(mig_glob_count(&stack, "backups/postgres-migrations/*rehearse*"), 0,
				 "the rehearsal's dump is left behind");
	after = mig_fingerprint(n.db, mig_docmost.db_user, mig_docmost.src_db);
	cr_assert_str_eq(after, fp, "the source changed");
	cr_assert_eq(mig_journal_runs(&stack, n.svc), 0, "a rehearsal is not a migration run");
	mig_run_free(&r);
	mig_snapshot_free(&snap);
	free(after);
	free(fp);
}

Test(migrate_rehearse, killed_half_way_the_next_rehearsal_cleans_up)
{
	Names n;
	MigSnapshot snap;
	MigRun r;
	const char *env[] = { "PGFOLD_FAULT_AFTER=stream", NULL };
	char *fp = seed(&n), *dbs;
	const char *all[] = { n.app, n.redis, n.db, NULL };

	mig_snapshot(&stack, n.svc, &snap);
	mig_pgfold(&stack, &r, env, "plan", n.svc, "--rehearse", NULL);
	mig_expect_exit(&r, 99, "plan --rehearse killed after the stream");
	mig_run_free(&r);
	dbs = mig_shared_databases(&stack);
	cr_assert_not_null(strstr(dbs, "pgfold_rehearse_"), "the crash must leave the scratch: %s", dbs);
	free(dbs);

	mig_pgfold(&stack, &r, NULL, "plan", n.svc, "--rehearse", NULL);
	mig_expect_exit(&r, 0, "plan --rehearse after a killed one");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, n.svc, &snap, all);
	cr_assert_eq(mig_glob_count(&stack, "backups/postgres-migrations/*rehearse*"), 0);
	mig_snapshot_free(&snap);
	free(fp);
}

Test(migrate_rehearse, json_carries_the_phases)
{
	Names n;
	MigRun r;
	char *fp = seed(&n);
	json_error_t err;
	json_t *o, *h, *phases;

	mig_pgfold(&stack, &r, NULL, "plan", n.svc, "--rehearse", "--json", NULL);
	mig_expect_exit(&r, 0, "plan --rehearse --json");
	o = json_loads(sb_str(&r.out), 0, &err);
	cr_assert_not_null(o, "not JSON (%s):\n%s", err.text, sb_str(&r.out));
	h = json_object_get(o, "rehearsal");
	cr_assert(json_is_object(h), "%s", sb_str(&r.out));
	phases = json_object_get(h, "phases");
	cr_assert_eq(json_object_size(phases), 4, "%s", sb_str(&r.out));
	cr_assert(json_is_real(json_object_get(phases, "stream")));
	cr_assert(json_is_real(json_object_get(phases, "verify")));
	cr_assert(json_is_true(json_object_get(h, "identical")), "%s", sb_str(&r.out));
	cr_assert_gt(json_integer_value(json_object_get(h, "dump_bytes")), 0);
	cr_assert(json_real_value(json_object_get(h, "data_seconds"))
			  >= json_real_value(json_object_get(phases, "stream")));
	/* no fold on this stack yet: the apps' stop and start are not known */
	cr_assert_eq(json_integer_value(json_object_get(h, "earlier_folds")), 0);
	cr_assert(json_is_null(json_object_get(h, "apps_overhead_seconds")), "%s", sb_str(&r.out));
	cr_assert(json_is_null(json_object_get(h, "downtime_seconds")), "%s", sb_str(&r.out));
	json_decref(o);
	mig_run_free(&r);
	free(fp);
}

Test(migrate_rehearse, migrate_refuses_the_option)
{
	MigRun r;

	mig_stack_init(&stack);
	mig_pgfold(&stack, &r, NULL, "migrate", "anything", "--rehearse", NULL);
	mig_expect_exit(&r, 2, "migrate --rehearse");
	cr_assert_not_null(strstr(sb_str(&r.err), "--rehearse goes with plan (or migrate --dry-run)"),
					   "%s", sb_str(&r.err));
	mig_run_free(&r);
}
