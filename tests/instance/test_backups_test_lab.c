/*
 * test_backups_test_lab.c — `pgfold backups test`: the newest dump of each
 * database restored into a scratch database and checked against its run's
 * manifest; a dump whose content was changed before its sidecar was
 * written (so the sidecar matches) is caught by the row counts.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"

IFX_SUITE(instance_backups_test_lab);

static const char *
tested_outcome(const char *suffix)
{
	static char outcome[32];
	json_t *doc, *e;

	ifx_run(&x, "backups", "list", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backups list");
	doc = ifx_json(&x);
	e = json_object_get(ifx_find(doc, "file", suffix, true), "tested");
	str_copy(outcome, sizeof(outcome), json_is_null(e) ? "never"
			 : json_string_value(json_object_get(e, "outcome")));
	json_decref(doc);
	return outcome;
}

/* A service file as migrate leaves it: its database on the shared instance. */
static void
write_service(const char *db)
{
	char path[4096];
	FILE *f;

	str_format(path, sizeof(path), "%s/services/%s.yml", x.root, db);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "# database: postgres\n# database_name: %s\nservices:\n  %s:\n"
			"    image: busybox\n    network_mode: none\n", db, db);
	fclose(f);
}

Test(instance_backups_test_lab, restores_and_catches_a_dump_changed_before_its_sidecar)
{
	char alpha[4096], other[4096], want[512], tested[4096];
	char *left;
	json_t *run, *doc;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "alpha", 50);
	ifx_seeded_db(&x, "beta", 20);
	ifx_run(&x, "backup", "alpha", "beta", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backup");
	run = ifx_json(&x);
	str_copy(alpha, sizeof(alpha), json_string_value(json_object_get(
		ifx_find(json_object_get(run, "databases"), "database", "alpha", false), "file")));
	json_decref(run);
	cr_assert_str_eq(tested_outcome(strrchr(alpha, '/')), "never");
	/* `backups list DB` finds the dumps of `pgfold backup` by database */
	ifx_run(&x, "backups", "list", "alpha", "--json", NULL);
	doc = ifx_json(&x);
	cr_assert_eq(json_array_size(doc), 1, "%s", sb_str(&x.out));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(doc, 0), "kind")), "shared");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(doc, 0), "group")),
					 "shared/alpha");
	json_decref(doc);

	/* both restore, match their manifest, verify; the outcome is recorded */
	ifx_run(&x, "backups", "test", "--all", NULL);
	ifx_expect(&x, EXIT_OK, "backups test --all");
	cr_assert(strstr(sb_str(&x.out), "rows match the manifest; verified") != NULL, "%s",
			  sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "2 dump(s) tested, 0 failed\n") != NULL, "%s",
			  sb_str(&x.out));
	cr_assert_str_eq(tested_outcome(strrchr(alpha, '/')), "ok");
	ifx_run(&x, "backups", "list", NULL);
	cr_assert(strstr(sb_str(&x.out), "TESTED") != NULL);
	cr_assert(strstr(sb_str(&x.out), " ok        ok 20") != NULL, "%s", sb_str(&x.out));

	/* alpha's dump replaced by a dump of other data, its sidecar rewritten
	 * to match: the checksum is fine, the rows are not */
	ifx_exec(&x, "alpha", "DELETE FROM big WHERE id <= 10");
	ifx_backup(&x, "alpha", other, sizeof(other));
	cr_assert_eq(lab_sh("cp %s %s && cd \"$(dirname %s)\" && sha256sum \"$(basename %s)\" > "
						"\"$(basename %s)\".sha256", other, alpha, alpha, alpha, alpha), 0);
	cr_assert(fs_sha256_sidecar_verify(alpha));
	ifx_run(&x, "backups", "test", "alpha", NULL);
	ifx_expect(&x, EXIT_VERIFY, "backups test of the changed dump");
	str_format(want, sizeof(want), "table \"public\".\"big\": 50 rows in the manifest, 40 restored");
	cr_assert(strstr(sb_str(&x.err), want) != NULL, "%s", sb_str(&x.err));
	cr_assert(strstr(sb_str(&x.out), "FAILED   backups/shared/alpha/") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "1 difference(s) between the restored copy and the "
						 "manifest's row counts") != NULL, "%s", sb_str(&x.out));
	cr_assert_str_eq(tested_outcome(strrchr(alpha, '/')), "failed");
	str_format(tested, sizeof(tested), "%s.tested", alpha);
	doc = json_load_file(tested, 0, NULL);
	cr_assert_not_null(doc);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "outcome")), "failed");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "database")), "alpha");
	json_decref(doc);
	/* no scratch database stays behind, after success or failure */
	left = ifx_value(&x, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE "
					 "'pgfold\\_test\\_%'");
	cr_assert_str_eq(left, "0");
	free(left);

	/* status: a migrated service's last backup and restore test, from
	 * files; one with no backup is flagged */
	write_service("alpha");
	write_service("gamma");
	ifx_run(&x, "status", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "status --json");
	doc = ifx_json(&x);
	{
		json_t *b = json_object_get(ifx_find(doc, "service", "alpha", false), "backup");
		json_t *g = json_object_get(ifx_find(doc, "service", "gamma", false), "backup");

		cr_assert_not_null(b, "%s", sb_str(&x.out));
		cr_assert(json_integer_value(json_object_get(json_object_get(b, "last_backup"),
													 "age_seconds")) < 600);
		cr_assert_str_eq(json_string_value(json_object_get(b, "test_outcome")), "failed");
		cr_assert(json_is_false(json_object_get(b, "backup_overdue")));
		cr_assert(json_is_true(json_object_get(b, "test_overdue")));
		cr_assert(json_is_null(json_object_get(g, "last_backup")));
		cr_assert(json_is_true(json_object_get(g, "backup_overdue")));
	}
	json_decref(doc);
	ifx_run(&x, "status", NULL);
	ifx_expect(&x, EXIT_OK, "status");
	cr_assert(strstr(sb_str(&x.out), "s ago; restore test: FAILED, ") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "backup: none by `pgfold backup` (OVERDUE: `pgfold backup --all`, and `pgfold schedule install` for every night)\n") != NULL, "%s",
			  sb_str(&x.out));

	/* --latest: the dumps of the newest run only; beta has none there */
	ifx_run(&x, "backup", "alpha", "--no-retention", NULL);
	ifx_expect(&x, EXIT_OK, "backup alpha");
	ifx_run(&x, "backups", "test", "--all", "--latest", "--json", NULL);
	ifx_expect(&x, EXIT_VERIFY, "backups test --all --latest");
	doc = ifx_json(&x);
	cr_assert(json_is_true(json_object_get(ifx_find(doc, "database", "alpha", false), "ok")));
	cr_assert(json_is_false(json_object_get(ifx_find(doc, "database", "beta", false), "ok")));
	cr_assert(strstr(json_string_value(json_object_get(ifx_find(doc, "database", "beta", false),
													   "reason")), "no dump of `pgfold backup` in the newest run") != NULL);
	json_decref(doc);
	ifx_run(&x, "backups", "test", NULL);
	ifx_expect(&x, EXIT_USAGE, "backups test without DB or --all");
}

/* Ctrl-C while pg_restore loads the scratch database: pgfold ends with 130,
 * the scratch database is gone and no outcome is recorded. */
Test(instance_backups_test_lab, ctrl_c_drops_the_scratch_database)
{
	const char *bin = getenv("PGFOLD_TEST_BIN");
	char dump[4096], tested[4096], errp[4096];
	json_t *run;
	pid_t child, done = 0;
	int status = 0;
	char *n = NULL;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "big", 2000000);
	ifx_run(&x, "backup", "big", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backup big");
	run = ifx_json(&x);
	str_copy(dump, sizeof(dump), json_string_value(json_object_get(
		json_array_get(json_object_get(run, "databases"), 0), "file")));
	json_decref(run);

	str_format(errp, sizeof(errp), "%s/err-test", x.dir);
	child = fork();
	cr_assert(child >= 0);
	if (child == 0)
	{
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(e, STDERR_FILENO);
		execl(bin && *bin ? bin : "build/pgfold", "pgfold", "--root", x.root, "--no-color",
			  "backups", "test", "big", (char *) NULL);
		_exit(127);
	}
	/* wait until pg_restore writes into the scratch database */
	for (int i = 0; i < 600; i++)
	{
		free(n);
		n = ifx_value(&x, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname "
					  "LIKE 'pgfold\\_test\\_%' AND query LIKE 'COPY%'");
		if (strcmp(n, "1") == 0)
			break;
		usleep(50 * 1000);
	}
	cr_assert_str_eq(n, "1", "pg_restore never started its COPY");
	free(n);
	cr_assert_eq(kill(child, SIGINT), 0);
	for (int i = 0; i < 600 && (done = waitpid(child, &status, WNOHANG)) == 0; i++)
		usleep(100 * 1000);
	cr_assert_eq(done, child, "pgfold did not exit within 60 s of Ctrl-C");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_INTERRUPTED,
			  "status %#x", status);
	n = ifx_value(&x, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE "
				  "'pgfold\\_test\\_%'");
	cr_assert_str_eq(n, "0", "the scratch database was left behind");
	free(n);
	str_format(tested, sizeof(tested), "%s.tested", dump);
	cr_assert_not(ifx_exists(tested));
}
