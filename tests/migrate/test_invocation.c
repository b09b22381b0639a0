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

/* Where the operator keeps a service and how its compose runs it; paths
 * are relative to the stack root, %s is the service name. */
typedef struct Layout
{
	const char *file;      /* the service file */
	const char *env;       /* the .env its compose reads */
	const char *cwd;       /* where the operator runs compose */
	const char *fflag;     /* its -f argument, "" for compose's default file */
} Layout;

static const Layout services_dir_run_from_root = {
	"services/%s.yml", "services/.env", ".", "-f services/%s.yml",
};
static const Layout app_directory = {
	"%s/compose.yaml", "%s/.env", "%s", "",
};

/* pattern with its %s replaced by svc */
static void
expand(const char *pattern, const char *svc, char *out, size_t size)
{
	const char *at = strstr(pattern, "%s");
	StrBuf b = STRBUF_INIT;

	if (at == NULL)
		sb_appends(&b, pattern);
	else
	{
		sb_append(&b, pattern, (size_t) (at - pattern));
		sb_appends(&b, svc);
		sb_appends(&b, at + 2);
	}
	cr_assert(str_copy(out, size, sb_str(&b)));
	sb_free(&b);
}

static void
layout_path(const MigStack *s, const char *pattern, const char *svc, char *out, size_t size)
{
	char rel[PATH_MAX];

	expand(pattern, svc, rel, sizeof(rel));
	mig_path(s, out, size, "%s", rel);
}

static char *
dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return xstrndup(path, (size_t) (slash - path));
}

/* The operator's compose, run as the layout runs it. */
static int
operator_compose(const MigStack *s, const Layout *l, const char *svc, const char *args)
{
	char cwd[PATH_MAX], fflag[PATH_MAX];

	layout_path(s, l->cwd, svc, cwd, sizeof(cwd));
	expand(l->fflag, svc, fflag, sizeof(fflag));
	return lab_sh("cd %s && docker-compose -p %s %s %s >%s/operator.out 2>&1", cwd, s->id,
				  fflag, args, s->dir);
}

/* Move the service file where the layout keeps it, and every line of
 * root/.env that is not pgfold's own setting into the layout's .env:
 * compose there reads only that file. */
static void
arrange(const MigStack *s, const Layout *l, const char *svc)
{
	char file[PATH_MAX], env[PATH_MAX];

	layout_path(s, l->file, svc, file, sizeof(file));
	layout_path(s, l->env, svc, env, sizeof(env));

	char *fdir = dirname_of(file), *edir = dirname_of(env);

	cr_assert_eq(lab_sh("mkdir -p %s %s && if [ ! -e %s ]; then mv %s/services/%s.yml %s && "
						"rmdir %s/services; fi", fdir, edir, file, s->root, svc, file, s->root),
				 0, "moving the service file");
	cr_assert_eq(lab_sh("cd %s && grep -v -E '^(PG_|PGFOLD_)' .env >%s && "
						"grep -E '^(PG_|PGFOLD_)' .env >.env.new && mv .env.new .env",
						s->root, env), 0, "splitting .env");
	free(fdir);
	free(edir);
}

static char *
working_dir_of(const char *container)
{
	return mig_inspect(container, "{{index .Config.Labels \"com.docker.compose.project.working_dir\"}}");
}

static void
fold_and_back(const Layout *l)
{
	const MigShape *sh = &mig_docmost;
	MigRun r;
	char svc[96], dbc[160], app[160], file[PATH_MAX], env[PATH_MAX], path[PATH_MAX];
	StrBuf env_before = STRBUF_INIT, env_after = STRBUF_INIT, root_env = STRBUF_INIT;
	StrBuf orig = STRBUF_INIT, now = STRBUF_INIT;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_copy(svc, sizeof(svc), mig_svc(&stack, sh));
	str_copy(dbc, sizeof(dbc), mig_name(&stack, sh->db_container));
	str_copy(app, sizeof(app), mig_name(&stack, sh->apps[0]));
	mig_service_add(&stack, sh->fixture, svc, NULL);
	arrange(&stack, l, svc);
	layout_path(&stack, l->file, svc, file, sizeof(file));
	layout_path(&stack, l->env, svc, env, sizeof(env));

	char *projdir = dirname_of(env);

	cr_assert_eq(operator_compose(&stack, l, svc, "up -d"), 0, "operator's compose up");
	cr_assert(lab_wait_ready(dbc, 120), "%s not ready", dbc);
	mig_sql_fixture(dbc, sh->db_user, sh->src_db, "seed.sql");

	char *fp = mig_fingerprint(dbc, sh->db_user, sh->src_db);
	char *wd = working_dir_of(dbc);

	cr_assert_str_eq(wd, projdir, "the lab's compose did not run from %s", projdir);
	free(wd);
	mig_read(env, &env_before, false);

	/* status: the service is ready, its variables read from the layout's .env */
	mig_pgfold(&stack, &r, NULL, "status", svc, NULL);
	mig_expect_exit(&r, 0, "status");
	cr_assert_not_null(strstr(sb_str(&r.out), " ready "), "status:\n%s", sb_str(&r.out));
	mig_run_free(&r);

	/* plan names the invocation it follows */
	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 0, "plan");
	cr_assert_not_null(strstr(sb_str(&r.out), env), "plan does not name %s:\n%s", env,
					   sb_str(&r.out));
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);

	/* the variable went where the operator's compose reads it */
	mig_read(env, &env_after, false);
	cr_assert_not_null(strstr(sb_str(&env_after), "_DB_PASSWORD="), "%s:\n%s", env,
					   sb_str(&env_after));
	mig_path(&stack, path, sizeof(path), ".env");
	mig_read(path, &root_env, false);
	cr_assert_null(strstr(sb_str(&root_env), "_DB_PASSWORD="), "root .env got it:\n%s",
				   sb_str(&root_env));

	/* the operator's own compose still understands the migrated file */
	cr_assert_eq(operator_compose(&stack, l, svc, "config -q"), 0,
				 "the operator's compose config fails after the fold (see %s/operator.out)",
				 stack.dir);

	/* the app was recreated in the same project, from the same directory,
	 * with the password the shared instance accepts */
	char *pw = mig_role_password(&stack, sh->db);
	char *app_wd = working_dir_of(app);
	char *app_env = mig_inspect(app, "{{range .Config.Env}}{{println .}}{{end}}");

	cr_assert_str_eq(app_wd, projdir, "the app was recreated from another project directory");
	cr_assert_not_null(strstr(app_env, pw), "the app's environment lacks the new password:\n%s",
					   app_env);
	free(pw);
	free(app_wd);
	free(app_env);

	/* and back: the service file and its .env byte for byte */
	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", "--drop-shared", NULL);
	mig_expect_exit(&r, 0, "rollback");
	mig_run_free(&r);
	mig_read(file, &now, false);
	mig_path(&stack, path, sizeof(path), "../orig/%s.yml", svc);
	mig_read(path, &orig, false);
	cr_assert(now.len == orig.len && memcmp(now.data, orig.data, now.len) == 0,
			  "service file differs after rollback");
	sb_reset(&env_after);
	mig_read(env, &env_after, false);
	cr_assert_str_eq(sb_str(&env_after), sb_str(&env_before), "%s after rollback", env);

	char *fp_back = mig_fingerprint(dbc, sh->db_user, sh->src_db);

	cr_assert_str_eq(fp_back, fp, "data after rollback");
	app_wd = working_dir_of(app);
	cr_assert_str_eq(app_wd, projdir, "rollback recreated the app from another project directory");
	free(app_wd);
	free(fp_back);
	free(fp);
	free(projdir);
	sb_free(&env_before);
	sb_free(&env_after);
	sb_free(&root_env);
	sb_free(&orig);
	sb_free(&now);
}

/* `docker-compose -f services/x.yml up -d` from the root: compose's project
 * directory is services/, its variables services/.env. */
Test(migrate_invocation, services_dir_run_from_the_root)
{
	fold_and_back(&services_dir_run_from_root);
}

/* Dockge / Portainer / plain `docker compose`: <root>/<app>/compose.yaml
 * with its .env beside it, compose run in that directory. */
Test(migrate_invocation, one_directory_per_app)
{
	fold_and_back(&app_directory);
}
