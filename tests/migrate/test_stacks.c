/*
 * test_stacks.c — two stacks on one engine with the same file and key
 * names (services/docmost.yml, db key docmost-db, each with its own
 * container names, compose project and working directory): each sees only
 * its own containers, is ready on its own, migrates and rolls back on its
 * own. Before, a stack whose db was not started yet took the other stack's
 * container for its own (plan and migrate would have dumped the other
 * stack's database).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "rollback/rbt.h"

static RbtStack a, b;

static void
teardown(void)
{
	rbt_destroy(&a);
	rbt_destroy(&b);
}

TestSuite(migrate_stacks, .fini = teardown, .timeout = 900);

/* `pgfold status --json docmost` in stack t: its state, container, reason. */
static json_t *
status_of(RbtStack *t)
{
	json_error_t err;
	MigRun r;
	json_t *all, *one;

	mig_pgfold(&t->s, &r, NULL, "status", "--json", "docmost", NULL);
	mig_expect_exit(&r, 0, "status");
	all = json_loads(sb_str(&r.out), 0, &err);
	cr_assert(json_is_array(all) && json_array_size(all) == 1, "status --json said:\n%s",
			  sb_str(&r.out));
	one = json_incref(json_array_get(all, 0));
	json_decref(all);
	mig_run_free(&r);
	return one;
}

static void
expect_status(RbtStack *t, const char *state, const char *container)
{
	json_t *st = status_of(t);
	const char *got_state = json_string_value(json_object_get(st, "state"));
	const char *got_container = json_string_value(json_object_get(st, "container"));
	const char *reason = json_string_value(json_object_get(st, "reason"));

	if (state != NULL)
		cr_assert_str_eq(got_state, state, "stack %s: state %s (%s), expected %s", t->s.id,
						 got_state, reason ? reason : "", state);
	cr_assert_str_eq(got_container, container, "stack %s sees container %s", t->s.id,
					 got_container);
	json_decref(st);
}

static void
stack_init(RbtStack *t)
{
	memset(t, 0, sizeof(*t));
	t->sh = &mig_docmost;
	mig_stack_init(&t->s);
	t->s.plain_names = true;
	mig_shared_start(&t->s, MIG_PG15);
	str_copy(t->svc, sizeof(t->svc), "docmost");
}

/* other_state: what the other stack's status must say meanwhile (NULL:
 * anything; after its own rollback its database stays on its shared
 * instance, which blocks a new migration of it) */
static void
migrate_and_roll_back(RbtStack *t, RbtStack *other, const char *other_state)
{
	char other_db[160];
	MigRun r;

	mig_pgfold(&t->s, &r, NULL, "migrate", "docmost", "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);
	mig_assert_migrated(&t->s, &mig_docmost, t->fp_seed);

	/* the other stack is untouched: same state, its own container */
	str_copy(other_db, sizeof(other_db), mig_name(&other->s, mig_docmost.db_container));
	expect_status(other, other_state, other_db);

	RBT_ROLLBACK(t, &r, 0, NULL, "--yes", NULL);
	mig_run_free(&r);
	rbt_assert_rolled_back(t, t->fp_seed);
	expect_status(other, other_state, other_db);
}

Test(migrate_stacks, same_file_and_key_on_one_engine)
{
	char db_a[160], db_b[160];

	stack_init(&a);
	a.fp_seed = mig_seed_service(&a.s, &mig_docmost, NULL);
	str_copy(db_a, sizeof(db_a), mig_name(&a.s, mig_docmost.db_container));

	/* b's file is there, its containers are not: a's are not b's */
	stack_init(&b);
	mig_service_add(&b.s, "docmost", "docmost", NULL);
	str_copy(db_b, sizeof(db_b), mig_name(&b.s, mig_docmost.db_container));

	json_t *st = status_of(&b);
	const char *reason = json_string_value(json_object_get(st, "reason"));
	char want[300];

	/* before: "blocked", "2 containers match" (a's and any other stack's
	 * docmost-db on the engine), or a's container taken for b's */
	str_format(want, sizeof(want), "no container for \"docmost-db\" (looked for %s); start it "
			   "with compose first", db_b);
	cr_assert_str_eq(json_string_value(json_object_get(st, "state")), "attention");
	cr_assert_str_eq(reason, want, "stack b, not started: %s", reason);
	json_decref(st);

	/* both up: each ready with its own container */
	mig_service_up(&b.s, "docmost", db_b);
	mig_sql_fixture(db_b, mig_docmost.db_user, mig_docmost.src_db, "seed.sql");
	b.fp_seed = mig_fingerprint(db_b, mig_docmost.db_user, mig_docmost.src_db);
	expect_status(&a, "ready", db_a);
	expect_status(&b, "ready", db_b);

	migrate_and_roll_back(&b, &a, "ready");
	migrate_and_roll_back(&a, &b, NULL);
}
