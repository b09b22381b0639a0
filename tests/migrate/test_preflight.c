/*
 * test_preflight.c — the pre-flight is binding: every case `plan` refuses
 * is refused by `migrate` before it stops anything, with exit 3 and the
 * same reason, and nothing changes (service file bytes, .env, roles and
 * databases on the shared instance, overrides, password files, running
 * containers). Before, `migrate` streamed and verified the whole database
 * and only failed at the files step for what plan already knew.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

/* The reasons name the service file: @PATH@ stands for it. */
static void
expand_path(const char *reason, const char *path, char *out, size_t size)
{
	const char *at = strstr(reason, "@PATH@");

	if (at == NULL)
		cr_assert(str_copy(out, size, reason));
	else
		cr_assert(str_format(out, size, "%.*s%s%s", (int) (at - reason), reason, path, at + 6));
}

TestSuite(migrate_preflight, .fini = teardown, .timeout = 900);

typedef struct BlockedCase
{
	const char *fixture;         /* fixtures/<fixture>.yml */
	const char *env[2];          /* extra environment of both runs */
	const char *reason;          /* how plan's reason starts (@PATH@: the file) */
} BlockedCase;

static const BlockedCase cases[] = {
	{ "pf_nouser", { NULL },
	  "@PATH@: service nouser sets DB_HOST but not its USER setting in environment:, and pgfold "
	  "knows no name for it; add it (or name it with `# pgfold.user: VAR` in the file header) "
	  "and retry" },
	{ "pf_noport", { "PGFOLD_SHARED_PORT=5433", NULL },
	  "@PATH@: service noport sets DB_HOST but not its PORT setting in environment:, and pgfold "
	  "knows no name for it; add it (or name it with `# pgfold.port: VAR` in the file header) "
	  "and retry" },
	{ "pf_query", { NULL },
	  "@PATH@: DATABASE_URL of service query sets connection parameters in its query string; move "
	  "them into the URL's user:password@host:port/db and retry" },
	{ "pf_envfile", { NULL },
	  "envfile: DB_HOST is set in env_file services/pf_envfile.env, which pgfold does not edit; "
	  "move it into the service's environment:" },
	{ "pf_alias", { NULL },
	  "service 'alias' uses YAML aliases (*name); pgfold cannot see or edit its settings "
	  "reliably: expand it into plain settings first" },
	{ "pf_missing", { NULL }, "the file cannot be parsed: " },
};

static void
run_case(const BlockedCase *k)
{
	char svc[96], app[160], db[160], path[PATH_MAX], want[2048], removed[PATH_MAX];
	MigSnapshot snap;
	MigRun r;

	str_format(svc, sizeof(svc), "%s-%s", k->fixture, stack.id);
	str_format(app, sizeof(app), "%s-pf-%s", stack.id, k->fixture + 3);
	str_format(db, sizeof(db), "%s-pf-%s-db", stack.id, k->fixture + 3);
	mig_service_add(&stack, k->fixture, svc, NULL);
	mig_service_up(&stack, svc, db);
	if (strcmp(k->fixture, "pf_missing") == 0)
	{
		mig_path(&stack, removed, sizeof(removed), "services/pf_missing.env");
		cr_assert_eq(unlink(removed), 0);
	}

	const char *running[] = { app, db, NULL };

	mig_snapshot(&stack, svc, &snap);
	mig_pgfold(&stack, &r, k->env[0] ? k->env : NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 3, k->fixture);

	char *reason = mig_not_ready_reason(&r);

	mig_path(&stack, path, sizeof(path), "services/%s.yml", svc);
	expand_path(k->reason, path, want, sizeof(want));
	cr_assert(strncmp(reason, want, strlen(want)) == 0, "%s: plan's reason is\n  %s\nnot\n  %s",
			  k->fixture, reason, want);
	mig_run_free(&r);

	mig_pgfold(&stack, &r, k->env[0] ? k->env : NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, k->fixture);
	str_format(want, sizeof(want), "pgfold: error: %s cannot be migrated: %s\n", svc, reason);
	cr_assert_not_null(strstr(sb_str(&r.err), want), "%s: migrate does not say\n%s\nit said:\n%s",
					   k->fixture, want, sb_str(&r.err));
	mig_run_free(&r);
	free(reason);
	mig_assert_unchanged(&stack, svc, &snap, running);
	mig_snapshot_free(&snap);
}

/* What the dry run of the file rewrite refuses: before, migrate streamed
 * and verified the database first, then failed and undid it all. */
Test(migrate_preflight, rewrite_refusals_block_migrate_alike)
{
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	for (size_t i = 0; i < 3; i++)
		run_case(&cases[i]);
}

/* What the service file's analysis refuses (env_file, aliases, an
 * env_file gone since the stack came up). */
Test(migrate_preflight, file_problems_block_migrate_alike)
{
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	for (size_t i = 3; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}
