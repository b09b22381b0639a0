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
#include <unistd.h>

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
typedef struct Layout Layout;
struct Layout
{
	const char *file;      /* the service file (a link when link is set) */
	const char *env;       /* the .env its compose reads */
	const char *cwd;       /* where the operator runs compose */
	const char *projdir;   /* compose's project directory there */
	const char *fflag;     /* its file and env-file arguments, "" for compose's defaults */
	const char *up;        /* how the operator starts it */
	const char *link;      /* the link's target, or NULL */
	void      (*arrange)(const MigStack *s, const Layout *l, const char *svc);
};

static void arrange(const MigStack *s, const Layout *l, const char *svc);
static void arrange_onramp(const MigStack *s, const Layout *l, const char *svc);

static const Layout services_dir_run_from_root = {
	"services/%s.yml", "services/.env", ".", "services", "-f services/%s.yml", "up -d", NULL,
	arrange,
};
static const Layout app_directory = {
	"%s/compose.yaml", "%s/.env", "%s", "%s", "", "up -d", NULL, arrange,
};
/* OnRamp: one project of every enabled file, from the root, its variables
 * in services-enabled/.env, service files linked in from
 * services-available/, the shared postgres a service of the same project. */
static const Layout onramp = {
	"services-enabled/%s.yml", "services-enabled/.env", ".", ".",
	"--env-file services-enabled/.env -f docker-compose.yml -f services-enabled/postgres.yml "
	"-f services-enabled/%s.yml",
	"up -d docmost docmost-db docmost-redis", "services-available/%s.yml", arrange_onramp,
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

	if (strcmp(pattern, ".") == 0)
	{
		cr_assert(str_copy(out, size, s->root));
		return;
	}
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
	return lab_sh("cd %s && %s -p %s %s %s >%s/operator.out 2>&1", cwd, lab_compose(), s->id,
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

static void
arrange_onramp(const MigStack *s, const Layout *l, const char *svc)
{
	cr_assert_eq(lab_sh("cd %s && mkdir services-available services-enabled overrides-available && "
						"mv services/%s.yml services-available/ && rmdir services && "
						"ln -s ../services-available/%s.yml services-enabled/%s.yml && "
						"printf 'version: \"3.9\"\\nservices: {}\\n' >docker-compose.yml && "
						"printf 'services:\\n  postgres:\\n    image: %s\\n    container_name: %s\\n"
						"    network_mode: host\\n' >services-available/postgres.yml && "
						"ln -s ../services-available/postgres.yml services-enabled/postgres.yml && "
						"grep -v -E '^(PG_|PGFOLD_)' .env >services-enabled/.env && "
						"grep -E '^(PG_|PGFOLD_)' .env >.env.new && "
						"echo PGFOLD_ENV_FILES=services-enabled/.env >>.env.new && mv .env.new .env",
						s->root, svc, svc, svc, MIG_PG15, s->shared), 0, "OnRamp layout");
	(void) l;
}

/* The link is still a link to the same target, and the target holds want. */
static void
assert_link(const MigStack *s, const Layout *l, const char *svc, const StrBuf *want)
{
	char file[PATH_MAX], target[PATH_MAX], rel[PATH_MAX], got[PATH_MAX];
	StrBuf bytes = STRBUF_INIT;

	if (l->link == NULL)
		return;
	layout_path(s, l->file, svc, file, sizeof(file));
	layout_path(s, l->link, svc, target, sizeof(target));
	ssize_t n = readlink(file, got, sizeof(got) - 1);

	cr_assert(n > 0, "%s is no longer a link", file);
	got[n] = '\0';
	expand("../%s", l->link, rel, sizeof(rel));
	expand(rel, svc, rel, sizeof(rel));
	cr_assert_str_eq(got, rel, "%s points elsewhere", file);
	if (want != NULL)
	{
		mig_read(target, &bytes, false);
		cr_assert(bytes.len == want->len && memcmp(bytes.data, want->data, bytes.len) == 0,
				  "%s does not hold the expected bytes", target);
	}
	sb_free(&bytes);
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
	l->arrange(&stack, l, svc);
	layout_path(&stack, l->file, svc, file, sizeof(file));
	layout_path(&stack, l->env, svc, env, sizeof(env));

	char projdir[PATH_MAX];

	layout_path(&stack, l->projdir, svc, projdir, sizeof(projdir));

	cr_assert_eq(operator_compose(&stack, l, svc, l->up), 0, "operator's compose up (see %s/operator.out)",
				 stack.dir);
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
	assert_link(&stack, l, svc, NULL);

	/* the variable went where the operator's compose reads it */
	mig_read(env, &env_after, false);
	cr_assert_not_null(strstr(sb_str(&env_after), "_DB_PASSWORD="), "%s:\n%s", env,
					   sb_str(&env_after));
	mig_path(&stack, path, sizeof(path), ".env");
	mig_read(path, &root_env, false);
	cr_assert_null(strstr(sb_str(&root_env), "_DB_PASSWORD="), "root .env got it:\n%s",
				   sb_str(&root_env));

	/* the override's header gives the project's own command */
	char pattern[PATH_MAX], override[PATH_MAX], want[PATH_MAX * 2];
	StrBuf ov = STRBUF_INIT;

	cr_assert(str_format(pattern, sizeof(pattern), "overrides*/%s-dedicated-postgres.yml", svc));
	mig_glob_one(&stack, pattern, override, sizeof(override));
	mig_read(override, &ov, false);
	cr_assert(str_format(want, sizeof(want), "--project-directory %s -p %s ", projdir, stack.id));
	cr_assert_not_null(strstr(sb_str(&ov), want), "the override's header lacks \"%s\":\n%s", want,
					   sb_str(&ov));
	sb_free(&ov);

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
	assert_link(&stack, l, svc, &orig);
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

/* OnRamp: the whole project's files and env file, the link kept; the
 * shared postgres's own file is never a candidate. */
Test(migrate_invocation, onramp_one_project_linked_files_env_file)
{
	MigRun r;

	fold_and_back(&onramp);
	mig_pgfold(&stack, &r, NULL, "status", "postgres", NULL);
	cr_assert_not_null(strstr(sb_str(&r.out), "runs the shared instance itself"),
					   "status of the shared postgres's file:\n%s%s", sb_str(&r.out), sb_str(&r.err));
	mig_run_free(&r);
}

/* A file edited since its containers were created: what runs is not what
 * the file says, and folding it would bring the edit in unseen. plan and
 * migrate refuse with one line and change nothing; `up -d` settles it. */
Test(migrate_invocation, file_changed_since_its_containers_were_created)
{
	/* compose 2.26's `config --hash` is not the hash its `up` labels with
	 * (preflight.c: check_config_hashes), so pgfold compares under 1.x only */
	if (lab_compose_version() == LAB_COMPOSE_V2)
		cr_skip_test("config-hash is compared under compose 1.x only");
	const MigShape *sh = &mig_docmost;
	const char *running[] = { NULL, NULL, NULL };
	char svc[96], app[160], dbc[160], path[PATH_MAX];
	MigSnapshot snap;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, sh, NULL));
	str_copy(svc, sizeof(svc), mig_svc(&stack, sh));
	str_copy(app, sizeof(app), mig_name(&stack, sh->apps[0]));
	str_copy(dbc, sizeof(dbc), mig_name(&stack, sh->db_container));
	running[0] = app;
	running[1] = dbc;
	mig_path(&stack, path, sizeof(path), "services/%s.yml", svc);
	cr_assert_eq(lab_sh("sed -i 's|APP_URL=http://docmost.localhost|APP_URL=http://docs.example|' %s",
						path), 0);
	mig_snapshot(&stack, svc, &snap);

	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 3, "plan of a file edited since up");
	cr_assert_not_null(strstr(sb_str(&r.out), "was created from another configuration of service "
							  "'docmost' than"), "plan:\n%s", sb_str(&r.out));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate of a file edited since up");
	cr_assert_not_null(strstr(sb_str(&r.err), "compose's config-hash differs"), "migrate:\n%s",
					   sb_str(&r.err));
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, running);
	mig_snapshot_free(&snap);

	cr_assert_eq(mig_compose(&stack, NULL, "-f services/%s.yml up -d", svc), 0);
	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 0, "plan once the project runs what its file says");
	mig_run_free(&r);
}
