/*
 * test_invocation.c — pgfold runs compose as the operator's own compose
 * ran, as the containers' labels record it.
 *
 * The most common way to bring a stack up with compose 1.29 is
 * `docker-compose -f services/x.yml up -d` from the stack root: compose's
 * project directory is then services/, and it reads services/.env, not
 * <root>/.env. pgfold used to impose --project-directory <root>: status said
 * "attention", the variable it added went to <root>/.env, and afterwards the
 * operator's own `docker-compose -f services/x.yml config` failed on the
 * missing password. See mig.h for the stack.
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

TestSuite(migrate_invocation, .fini = teardown, .timeout = 600);

/* The operator's compose, run from the root without --project-directory. */
static int
operator_compose(const MigStack *s, const char *svc, const char *args)
{
	return lab_sh("cd %s && docker-compose -p %s -f services/%s.yml %s >%s/operator.out 2>&1",
				  s->root, s->id, svc, args, s->dir);
}

/* Every line of root/.env that is not pgfold's own setting moves to
 * services/.env: compose there reads only that file. */
static void
split_env(const MigStack *s)
{
	cr_assert_eq(lab_sh("cd %s && grep -v -E '^(PG_|PGFOLD_)' .env >services/.env && "
						"grep -E '^(PG_|PGFOLD_)' .env >.env.new && mv .env.new .env", s->root),
				 0, "splitting .env");
}

Test(migrate_invocation, project_directory_from_the_labels_not_the_root)
{
	const MigShape *sh = &mig_docmost;
	MigRun r;
	char svc[96], dbc[160], app[160], path[PATH_MAX];
	StrBuf env_before = STRBUF_INIT, env_after = STRBUF_INIT, root_env = STRBUF_INIT;
	StrBuf orig = STRBUF_INIT, now = STRBUF_INIT;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_copy(svc, sizeof(svc), mig_svc(&stack, sh));
	str_copy(dbc, sizeof(dbc), mig_name(&stack, sh->db_container));
	str_copy(app, sizeof(app), mig_name(&stack, sh->apps[0]));
	mig_service_add(&stack, sh->fixture, svc, NULL);
	split_env(&stack);
	cr_assert_eq(operator_compose(&stack, svc, "up -d"), 0, "operator's compose up");
	cr_assert(lab_wait_ready(dbc, 120), "%s not ready", dbc);
	mig_sql_fixture(dbc, sh->db_user, sh->src_db, "seed.sql");

	char *fp = mig_fingerprint(dbc, sh->db_user, sh->src_db);
	char *wd = mig_inspect(dbc, "{{index .Config.Labels \"com.docker.compose.project.working_dir\"}}");

	mig_path(&stack, path, sizeof(path), "services");
	cr_assert_str_eq(wd, path, "the lab's compose did not run from services/");
	free(wd);
	mig_path(&stack, path, sizeof(path), "services/.env");
	mig_read(path, &env_before, false);

	/* status: the service is ready, its variables read from services/.env */
	mig_pgfold(&stack, &r, NULL, "status", svc, NULL);
	mig_expect_exit(&r, 0, "status");
	cr_assert_not_null(strstr(sb_str(&r.out), " ready "), "status:\n%s", sb_str(&r.out));
	cr_assert_null(strstr(sb_str(&r.out), "attention"), "status:\n%s", sb_str(&r.out));
	mig_run_free(&r);

	/* plan names the invocation it follows */
	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 0, "plan");
	cr_assert_not_null(strstr(sb_str(&r.out), path), "plan does not name %s:\n%s", path,
					   sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);

	/* the variable went where the operator's compose reads it */
	mig_read(path, &env_after, false);
	cr_assert_not_null(strstr(sb_str(&env_after), "_DB_PASSWORD="), "services/.env:\n%s",
					   sb_str(&env_after));
	mig_path(&stack, path, sizeof(path), ".env");
	mig_read(path, &root_env, false);
	cr_assert_null(strstr(sb_str(&root_env), "_DB_PASSWORD="), "root .env got it:\n%s",
				   sb_str(&root_env));

	/* the operator's own compose still understands the migrated file */
	cr_assert_eq(operator_compose(&stack, svc, "config -q"), 0,
				 "the operator's compose config fails after the fold (see %s/operator.out)",
				 stack.dir);

	/* the app was recreated in the same project, from the same directory,
	 * with the password the shared instance accepts */
	char *pw = mig_role_password(&stack, sh->db);
	char *app_wd = mig_inspect(app, "{{index .Config.Labels \"com.docker.compose.project.working_dir\"}}");
	char *app_env = mig_inspect(app, "{{range .Config.Env}}{{println .}}{{end}}");

	mig_path(&stack, path, sizeof(path), "services");
	cr_assert_str_eq(app_wd, path, "the app was recreated from another project directory");
	cr_assert_not_null(strstr(app_env, pw), "the app's environment lacks the new password:\n%s",
					   app_env);
	char *after = mig_shared_value(&stack, sh->db, "SELECT 1");

	cr_assert_str_eq(after, "1");
	free(after);
	free(pw);
	free(app_wd);
	free(app_env);

	/* and back: the service file and services/.env byte for byte */
	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", "--drop-shared", NULL);
	mig_expect_exit(&r, 0, "rollback");
	mig_run_free(&r);
	mig_path(&stack, path, sizeof(path), "services/%s.yml", svc);
	mig_read(path, &now, false);
	mig_path(&stack, path, sizeof(path), "../orig/%s.yml", svc);
	mig_read(path, &orig, false);
	cr_assert(now.len == orig.len && memcmp(now.data, orig.data, now.len) == 0,
			  "service file differs after rollback");
	sb_reset(&env_after);
	mig_path(&stack, path, sizeof(path), "services/.env");
	mig_read(path, &env_after, false);
	cr_assert_str_eq(sb_str(&env_after), sb_str(&env_before), "services/.env after rollback");

	char *fp_back = mig_fingerprint(dbc, sh->db_user, sh->src_db);

	cr_assert_str_eq(fp_back, fp, "data after rollback");
	app_wd = mig_inspect(app, "{{index .Config.Labels \"com.docker.compose.project.working_dir\"}}");
	mig_path(&stack, path, sizeof(path), "services");
	cr_assert_str_eq(app_wd, path, "rollback recreated the app from another project directory");
	free(app_wd);
	free(fp_back);
	free(fp);
	sb_free(&env_before);
	sb_free(&env_after);
	sb_free(&root_env);
	sb_free(&orig);
	sb_free(&now);
}
