/*
 * test_safety.c — the operator's guard rails, each leaving the stack
 * exactly as it was: no confirmation without a terminal, one pgfold per
 * stack (exit 7 naming the holder), an unknown service, a role or database
 * of the same name already on the shared instance, a stopped database
 * container; and another stack on the same engine with the same file name
 * must not get in the way.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"
#include "pgfold/journal.h"

static MigStack stack, other;
static pid_t holder = -1;

static void
teardown(void)
{
	if (holder > 0)
	{
		kill(-holder, SIGKILL);
		waitpid(holder, NULL, 0);
		holder = -1;
	}
	mig_stack_destroy(&stack);
	mig_stack_destroy(&other);
}

TestSuite(migrate_safety, .fini = teardown, .timeout = 600);

static void
expect_says(const MigRun *r, const char *needle, const char *what)
{
	cr_assert(strstr(sb_str(&r->err), needle) || strstr(sb_str(&r->out), needle),
			  "%s does not say \"%s\":\n%s\n%s", what, needle, sb_str(&r->out), sb_str(&r->err));
}

Test(migrate_safety, unknown_service)
{
	MigRun r;

	mig_stack_init(&stack);
	mig_service_add(&stack, "docmost", mig_svc(&stack, &mig_docmost), NULL);

	mig_pgfold(&stack, &r, NULL, "migrate", "nosuch", "--yes", NULL);
	mig_expect_exit(&r, 2, "migrate of an unknown service");
	expect_says(&r, "nosuch", "migrate of an unknown service");
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "plan", "nosuch", NULL);
	mig_expect_exit(&r, 2, "plan of an unknown service");
	expect_says(&r, "nosuch", "plan of an unknown service");
	mig_run_free(&r);
	cr_expect_eq(mig_glob_count(&stack, "backups/postgres-migrations"), 0,
				 "an unknown service left a journal directory");
}

/* flock(1) holds the stack lock, in its own process group (killed by id). */
static void
hold_with_flock(const char *root)
{
	char lock[PATH_MAX];

	str_format(lock, sizeof(lock), "%s/.pgfold.lock", root);
	fflush(stdout);
	fflush(stderr);
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0)
	{
		setpgid(0, 0);
		execlp("flock", "flock", lock, "sleep", "120", (char *) NULL);
		_exit(127);
	}
	setpgid(holder, holder);
	for (int i = 0; i < 100; i++)
	{
		if (lab_sh("flock -n %s true", lock) != 0)
			return;
		usleep(50 * 1000);
	}
	cr_assert_fail("flock never took %s", lock);
}

static void
release_flock(void)
{
	kill(-holder, SIGKILL);
	waitpid(holder, NULL, 0);
	holder = -1;
}

Test(migrate_safety, refusals_change_nothing)
{
	char svc[96], app[160], redis[160], db[160], pid[32];
	MigSnapshot snap;
	MigRun r;
	Lock lock = LOCK_INIT;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	str_copy(app, sizeof(app), mig_name(&stack, mig_docmost.apps[0]));
	str_copy(redis, sizeof(redis), mig_name(&stack, mig_docmost.others[0]));
	str_copy(db, sizeof(db), mig_name(&stack, mig_docmost.db_container));

	const char *all[] = { app, redis, db, NULL };

	mig_snapshot(&stack, svc, &snap);

	/* 1. no terminal, no --yes: refuse, exit 2 */
	mig_pgfold(&stack, &r, NULL, "migrate", svc, NULL);
	mig_expect_exit(&r, 2, "migrate without a TTY and without --yes");
	expect_says(&r, "--yes", "migrate without a TTY and without --yes");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, all);

	/* 2. the stack lock held by something that does not say who it is */
	hold_with_flock(stack.root);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 7, "migrate while flock(1) holds the lock");
	expect_says(&r, "lock", "migrate while flock(1) holds the lock");
	mig_run_free(&r);
	release_flock();
	mig_assert_unchanged(&stack, svc, &snap, all);

	/* 3. held by a pgfold (this process, through pgfold's own lock code):
	 * the message names its pid */
	cr_assert(lock_acquire(stack.root, "migrate other-service", &lock));
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 7, "migrate while another pgfold holds the lock");
	str_format(pid, sizeof(pid), "pid %ld", (long) getpid());
	expect_says(&r, pid, "migrate while another pgfold holds the lock");
	expect_says(&r, "migrate other-service", "migrate while another pgfold holds the lock");
	mig_run_free(&r);
	lock_release(&lock);
	mig_assert_unchanged(&stack, svc, &snap, all);

	/* 4. a role of that name exists on the shared instance, not ours (no
	 * password file): blocked, and its password is left alone */
	char other_pw[PATH_MAX];
	StrBuf out = STRBUF_INIT;
	FILE *f;

	free(mig_shared_value(&stack, "postgres",
						  "CREATE ROLE docmost LOGIN PASSWORD 'someone-elses-password'"));
	free(snap.roles);
	snap.roles = xstrdup("docmost");
	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 3, "plan with a foreign role of the same name");
	expect_says(&r, "role \"docmost\" exists", "plan with a foreign role of the same name");
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate with a foreign role of the same name");
	expect_says(&r, "--role", "migrate with a foreign role of the same name");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, all);
	str_format(other_pw, sizeof(other_pw), "%s/other.txt", stack.dir);
	cr_assert_not_null(f = fopen(other_pw, "w"));
	fputs("someone-elses-password\n", f);
	fclose(f);
	cr_assert(mig_sql_as(&out, &stack, "docmost", other_pw, "postgres", "SELECT 1"),
			  "the foreign role's password was changed: %s", sb_str(&out));
	free(mig_shared_value(&stack, "postgres", "DROP ROLE docmost"));
	free(snap.roles);
	snap.roles = xstrdup("");
	sb_free(&out);

	/* 5. the target database exists already: blocked */
	free(mig_shared_value(&stack, "postgres", "CREATE DATABASE docmost"));
	free(snap.databases);
	snap.databases = xstrdup("docmost");
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate with the target database taken");
	expect_says(&r, "already exists", "migrate with the target database taken");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, all);
	free(mig_shared_value(&stack, "postgres", "DROP DATABASE docmost"));
	free(snap.databases);
	snap.databases = xstrdup("");

	/* 6. a wrong PG_PASS: exit 5, the server's reason and the setting to fix */
	const char *wrong[] = { "PG_PASS=not-the-admin-password", NULL };

	mig_pgfold(&stack, &r, wrong, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 5, "migrate with a wrong PG_PASS");
	expect_says(&r, "password authentication failed for user \"admin\"",
				"migrate with a wrong PG_PASS");
	expect_says(&r, "check PG_HOST/PG_PORT/PG_USER/PG_PASS", "migrate with a wrong PG_PASS");
	mig_run_free(&r);
	mig_assert_unchanged(&stack, svc, &snap, all);

	/* 7. the shared instance is down: exit 5, nothing stopped */
	cr_assert_eq(lab_sh("docker stop -t 5 %s >/dev/null", stack.shared), 0);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 5, "migrate with the shared instance down");
	expect_says(&r, "cannot connect to the shared PostgreSQL", "migrate with the shared down");
	mig_run_free(&r);
	cr_assert_eq(lab_sh("docker start %s >/dev/null && for i in $(seq 120); do docker exec %s "
						"pg_isready -q -U admin && exit 0; sleep 0.5; done; exit 1", stack.shared,
						stack.shared), 0, "the shared instance did not come back");
	mig_assert_unchanged(&stack, svc, &snap, all);

	/* 8. the dedicated database is stopped: blocked, with the reason */
	cr_assert_eq(lab_sh("docker stop -t 5 %s >/dev/null", db), 0);
	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 3, "plan with the db container stopped");
	expect_says(&r, db, "plan with the db container stopped");
	expect_says(&r, "exited", "plan with the db container stopped");
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate with the db container stopped");
	expect_says(&r, db, "migrate with the db container stopped");
	expect_says(&r, "docker start", "migrate with the db container stopped");
	mig_run_free(&r);

	const char *apps[] = { app, redis, NULL };

	mig_assert_unchanged(&stack, svc, &snap, apps);
	char *state = mig_inspect(db, "{{.State.Status}}");

	cr_assert_str_eq(state, "exited");
	free(state);
	mig_snapshot_free(&snap);
}

/* Two stacks on one engine, both with services/docmost.yml (say prod and
 * a staging checkout): the containers of the other stack are not this
 * stack's, so they must not make the migration ambiguous. */
Test(migrate_safety, other_stack_with_the_same_file_does_not_block)
{
	MigRun r;

	mig_stack_init(&other);
	other.plain_names = true;
	free(mig_seed_service(&other, &mig_docmost, NULL));

	mig_stack_init(&stack);
	stack.plain_names = true;
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	mig_pgfold(&stack, &r, NULL, "migrate", "docmost", "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate with another stack's docmost.yml on the engine");
	mig_run_free(&r);
	mig_assert_migrated(&stack, &mig_docmost, fp);

	/* the other stack was not touched */
	const char *names[] = { mig_docmost.db_container, mig_docmost.apps[0], mig_docmost.others[0] };

	for (size_t i = 0; i < 3; i++)
	{
		char *st = mig_inspect(mig_name(&other, names[i]), "{{.State.Status}}");

		cr_expect_str_eq(st, "running", "%s of the other stack is %s", mig_name(&other, names[i]),
						 st);
		free(st);
	}
	free(fp);
}
