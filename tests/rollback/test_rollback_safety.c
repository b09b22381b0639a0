/*
 * test_rollback_safety.c — `pgfold rollback` when something is off: a
 * crash between steps (re-run converges), a tampered backup and an edited
 * service file (refused, nothing changed), a service that is not migrated
 * (says so, exit 0), and --drop-shared (only after everything succeeded).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "rollback/rbt.h"

static RbtStack stack;

static void
cleanup(void)
{
	rbt_destroy(&stack);
}

TestSuite(rollback_safety, .fini = cleanup, .timeout = 900);

static void
append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

	cr_assert(fd >= 0, "open %s", path);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
}

static char *
state_of(const char *pattern)
{
	return mig_inspect(mig_name(&stack.s, pattern), "{{.State.Status}}");
}

/* Killed right after three different steps were journaled (as kill -9
 * would: no cleanup at all); every re-run resumes the same run and the
 * last one finishes it. */
Test(rollback_safety, interrupted_then_rerun_converges)
{
	static const char *const faults[] = { "PGFOLD_FAULT_AFTER=backup",
										  "PGFOLD_FAULT_AFTER=swap",
										  "PGFOLD_FAULT_AFTER=files" };
	MigRun r;

	rbt_migrated(&stack, &mig_joplin);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
	{
		const char *env[] = { faults[i], NULL };

		RBT_ROLLBACK(&stack, &r, 99, env, "--yes", NULL);
		cr_assert(strstr(sb_str(&r.err), "fault injected") != NULL, "%s", sb_str(&r.err));
		mig_run_free(&r);
	}
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), "resuming") != NULL, "not resumed:\n%s", sb_str(&r.err));
	mig_run_free(&r);
	cr_assert_eq(mig_journal_count(&stack.s, stack.svc, "options", NULL), 1,
				 "the re-runs started new rollback runs");
	rbt_assert_rolled_back(&stack, stack.fp_written);
}

/* Ctrl-C (SIGINT) right after compose started the dedicated container:
 * the rollback undoes itself (container stopped again, apps started, file
 * untouched, abort journaled), exits 130, and a re-run does the job. The
 * signal comes from a compose wrapper, so it lands at the same point
 * every time. */
Test(rollback_safety, ctrl_c_is_undone)
{
	char wrapper[PATH_MAX], env_compose[PATH_MAX + 32], path[PATH_MAX];
	StrBuf before = STRBUF_INIT, after = STRBUF_INIT;
	MigRun r;
	char *state;

	rbt_migrated(&stack, &mig_docmost);
	str_format(wrapper, sizeof(wrapper), "%s/compose-then-ctrl-c", stack.s.dir);
	cr_assert_eq(lab_sh("printf '%%s\\n' '#!/bin/sh' '%s \"$@\" || exit $?' "
						"'case \"$*\" in *--no-deps*) kill -INT $PPID ;; esac' > %s && chmod +x %s",
						lab_compose(), wrapper, wrapper), 0);
	str_format(env_compose, sizeof(env_compose), "PGFOLD_COMPOSE=%s", wrapper);
	mig_path(&stack.s, path, sizeof(path), "services/%s.yml", stack.svc);
	mig_read(path, &before, false);

	const char *env[] = { env_compose, NULL };

	RBT_ROLLBACK(&stack, &r, 130, env, "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), "interrupted") != NULL, "%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_read(path, &after, false);
	cr_assert(before.len == after.len && memcmp(before.data, after.data, before.len) == 0,
			  "the service file changed");
	state = state_of(mig_docmost.db_container);
	cr_assert_str_eq(state, "exited", "the dedicated container was left running");
	free(state);
	state = state_of(mig_docmost.apps[0]);
	cr_assert_str_eq(state, "running", "the app was not started again");
	free(state);
	cr_assert_eq(mig_journal_count(&stack.s, stack.svc, "abort", "failed"), 1);

	RBT_ROLLBACK(&stack, &r, 0, NULL, "--yes", NULL);
	mig_run_free(&r);
	rbt_assert_rolled_back(&stack, stack.fp_written);
	sb_free(&before);
	sb_free(&after);
}

/* A backup whose checksum does not match is refused before anything
 * changes, by --backup and by --latest-backup; an edited service file is
 * refused without --yes, with the diff. */
Test(rollback_safety, tampered_backup_and_edited_file_refused)
{
	char dump[PATH_MAX], path[PATH_MAX];
	const char *running[3] = { NULL, NULL, NULL };
	MigSnapshot snap;
	MigRun r;
	char *state;

	rbt_migrated(&stack, &mig_docmost);
	rbt_migration_dump(&stack, dump, sizeof(dump));
	append(dump, "tampered");
	running[0] = mig_name(&stack.s, mig_docmost.apps[0]);
	mig_snapshot(&stack.s, stack.svc, &snap);

	RBT_ROLLBACK(&stack, &r, 3, NULL, "--backup", dump, "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), "checksum") != NULL, "%s", sb_str(&r.err));
	mig_run_free(&r);
	RBT_ROLLBACK(&stack, &r, 3, NULL, "--latest-backup", "--yes", NULL);
	mig_run_free(&r);
	mig_assert_unchanged(&stack.s, stack.svc, &snap, running);
	state = state_of(mig_docmost.db_container);
	cr_assert_str_eq(state, "exited", "the dedicated container was started");
	free(state);
	cr_assert_eq(mig_journal_count(&stack.s, stack.svc, "options", NULL), 0);

	mig_path(&stack.s, path, sizeof(path), "services/%s.yml", stack.svc);
	append(path, "# edited by hand after the migration\n");
	mig_snapshot_free(&snap);
	mig_snapshot(&stack.s, stack.svc, &snap);
	RBT_ROLLBACK(&stack, &r, 3, NULL, NULL);
	cr_assert(strstr(sb_str(&r.err), "-# edited by hand after the migration") != NULL,
			  "no diff shown:\n%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_assert_unchanged(&stack.s, stack.svc, &snap, running);
	mig_snapshot_free(&snap);
}

/* --original-data when the dedicated database was written to after the
 * migration (someone started it): its counts no longer match what the
 * migration recorded, so nothing is switched (exit 6) and the apps run on
 * the shared instance again. */
Test(rollback_safety, original_data_changed_since_migration)
{
	char dbc[160], path[PATH_MAX];
	const char *running[2] = { NULL, NULL };
	StrBuf before = STRBUF_INIT, after = STRBUF_INIT;
	MigRun r;
	char *v;

	rbt_migrated(&stack, &mig_docmost);
	str_copy(dbc, sizeof(dbc), mig_name(&stack.s, mig_docmost.db_container));
	cr_assert_eq(lab_sh("docker start %s >/dev/null", dbc), 0);
	cr_assert(lab_wait_ready(dbc, 60));
	free(mig_sql_value(dbc, "docmost", "docmost", "INSERT INTO items (title) VALUES ('sneaked in')"));
	cr_assert_eq(lab_sh("docker stop %s >/dev/null", dbc), 0);
	mig_path(&stack.s, path, sizeof(path), "services/%s.yml", stack.svc);
	mig_read(path, &before, false);

	RBT_ROLLBACK(&stack, &r, 6, NULL, "--original-data", "--yes", NULL);
	cr_assert(strstr(sb_str(&r.err), "verification failed") != NULL, "%s", sb_str(&r.err));
	mig_run_free(&r);
	mig_read(path, &after, false);
	cr_assert(before.len == after.len && memcmp(before.data, after.data, before.len) == 0,
			  "the service file changed");
	v = mig_inspect(dbc, "{{.State.Status}}");
	cr_assert_str_eq(v, "exited", "%s was left running", dbc);
	free(v);
	running[0] = mig_name(&stack.s, mig_docmost.apps[0]);
	v = mig_inspect(running[0], "{{.State.Status}}");
	cr_assert_str_eq(v, "running", "the app was not restarted");
	free(v);
	cr_assert_eq(mig_journal_count(&stack.s, stack.svc, "abort", "failed"), 1);
	sb_free(&before);
	sb_free(&after);
}

/* A service that was never migrated: exit 0, "not migrated", no file. */
Test(rollback_safety, not_migrated)
{
	char *fp;
	MigRun r;

	memset(&stack, 0, sizeof(stack));
	stack.sh = &mig_nocodb;
	mig_stack_init(&stack.s);
	fp = mig_seed_service(&stack.s, &mig_nocodb, NULL);
	free(fp);
	str_copy(stack.svc, sizeof(stack.svc), mig_svc(&stack.s, &mig_nocodb));
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--yes", NULL);
	cr_assert(strstr(sb_str(&r.out), "not migrated") != NULL, "%s", sb_str(&r.out));
	mig_run_free(&r);
	cr_assert_eq(mig_glob_count(&stack.s, "backups/*"), 0, "rollback wrote into backups/");
	cr_assert_eq(mig_glob_count(&stack.s, ".pgfold.lock"), 0, "rollback took the lock");
}

/* --drop-shared: database, role, password file and .env variable gone,
 * after the data is back. The db container is named by compose here. */
Test(rollback_safety, drop_shared)
{
	char path[PATH_MAX];
	StrBuf var = STRBUF_INIT;
	char *dbs, *roles;
	MigRun r;

	rbt_migrated(&stack, &mig_nocodb);
	/* PGFOLD_<SERVICE>_DB_PASSWORD: the name upper-cased, others '_' */
	sb_appends(&var, "PGFOLD_");
	for (const char *p = stack.svc; *p; p++)
		sb_appendc(&var, (*p >= 'a' && *p <= 'z') ? (char) (*p - 'a' + 'A')
				   : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p : '_');
	sb_appends(&var, "_DB_PASSWORD=");
	mig_path(&stack.s, path, sizeof(path), ".env");
	cr_assert(mig_file_contains(path, var.data), "the migration added no %s", var.data);
	RBT_ROLLBACK(&stack, &r, 0, NULL, "--drop-shared", "--yes", NULL);
	mig_run_free(&r);
	rbt_assert_rolled_back(&stack, stack.fp_written);

	dbs = mig_shared_databases(&stack.s);
	roles = mig_shared_roles(&stack.s);
	cr_assert_str_eq(dbs, "", "databases left on the shared instance: %s", dbs);
	cr_assert_str_eq(roles, "", "roles left on the shared instance: %s", roles);
	free(dbs);
	free(roles);
	mig_path(&stack.s, path, sizeof(path), "etc/.db_passwords/%s.txt", mig_nocodb.db);
	cr_assert(!mig_exists(path), "%s is still there", path);
	mig_path(&stack.s, path, sizeof(path), ".env");
	cr_assert(!mig_file_contains(path, var.data), "%s is still in .env", var.data);
	sb_free(&var);
}
