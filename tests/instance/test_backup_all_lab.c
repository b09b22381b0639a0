/*
 * test_backup_all_lab.c — `pgfold backup`: three databases and the globals
 * of a real shared instance; then one database that cannot be dumped (no
 * connections allowed: what a database being dropped looks like to pg_dump)
 * while the others are backed up.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"
#include "pgfold/fsutil.h"

IFX_SUITE(instance_backup_all_lab);

static json_t *
load_json(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);

	cr_assert_not_null(doc, "%s: %s", path, e.text);
	return doc;
}

/* The manifest of the last run (its path is relative to the root in the
 * summary, absolute in --json). */
static json_t *
manifest_of(json_t *run)
{
	return load_json(json_string_value(json_object_get(run, "manifest")));
}

static long long
manifest_rows(json_t *manifest, const char *db, const char *table)
{
	json_t *e = ifx_find(json_object_get(manifest, "databases"), "database", db, false);
	json_t *t = ifx_find(json_object_get(e, "tables"), "name", table, false);

	return json_integer_value(json_object_get(t, "rows"));
}

Test(instance_backup_all_lab, three_databases_globals_and_a_failure)
{
	const char *dbs[] = { "alpha", "beta", "gamma" };
	char path[4096], globals[4096];
	json_t *run, *man, *list;
	struct stat st;
	StrBuf text = STRBUF_INIT;

	ifx_init(&x, "pgfold-lab/postgres:15");
	for (int i = 0; i < 3; i++)
		ifx_seeded_db(&x, dbs[i], 100 * (i + 1));
	ifx_exec(&x, "postgres", "CREATE ROLE svc_alpha LOGIN PASSWORD 'pw-alpha-1'");

	ifx_run(&x, "backup", "--all", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backup --all");
	run = ifx_json(&x);
	cr_assert_eq(json_array_size(json_object_get(run, "failed")), 0);
	list = json_object_get(run, "databases");
	/* every database but postgres and the templates (admin: the instance's
	 * POSTGRES_DB) */
	cr_assert_eq(json_array_size(list), 4, "%s", sb_str(&x.out));
	ifx_find(list, "database", "admin", false);
	for (int i = 0; i < 3; i++)
	{
		json_t *e = ifx_find(list, "database", dbs[i], false);
		const char *file = json_string_value(json_object_get(e, "file"));
		char want[256];

		str_format(want, sizeof(want), "/backups/shared/%s/%s_%s.dump", dbs[i], dbs[i],
				   json_string_value(json_object_get(run, "stamp")));
		cr_assert(str_has_suffix(file, want), "%s", file);
		cr_assert(fs_sha256_sidecar_verify(file));
	}
	/* the manifest: rows per table as the database had them, server version */
	man = manifest_of(run);
	cr_assert_eq(manifest_rows(man, "alpha", "big"), 100);
	cr_assert_eq(manifest_rows(man, "gamma", "big"), 300);
	cr_assert_eq(manifest_rows(man, "beta", "Mixed-Case"), 1500);
	cr_assert_eq(manifest_rows(man, "beta", ":x. y"), 3);
	cr_assert(strncmp(json_string_value(json_object_get(man, "server_version")), "15.", 3) == 0);
	cr_assert(json_integer_value(json_object_get(ifx_find(json_object_get(man, "databases"),
														   "database", "beta", false),
												 "size_bytes")) > 0);
	json_decref(man);

	/* the globals: roles with their SCRAM verifiers, 0600, with a sidecar */
	str_copy(globals, sizeof(globals),
			 json_string_value(json_object_get(json_object_get(run, "globals"), "file")));
	cr_assert(str_has_suffix(globals, ".globals.sql"), "%s", globals);
	cr_assert_eq(stat(globals, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	cr_assert(fs_sha256_sidecar_verify(globals));
	cr_assert(fs_read_file(globals, 1 << 20, &text));
	cr_assert(strstr(sb_str(&text), "CREATE ROLE svc_alpha;") != NULL, "%s", sb_str(&text));
	cr_assert(strstr(sb_str(&text), "ALTER ROLE svc_alpha WITH") != NULL);
	cr_assert(strstr(sb_str(&text), "PASSWORD 'SCRAM-SHA-256$") != NULL);
	cr_assert(strstr(sb_str(&text), "pw-alpha-1") == NULL);
	json_decref(run);

	/* one database pg_dump cannot connect to: the others are backed up,
	 * the exit status and the summary say which one failed */
	ifx_exec(&x, "postgres", "ALTER DATABASE beta ALLOW_CONNECTIONS false");
	ifx_run(&x, "backup", NULL);
	ifx_expect(&x, EXIT_PARTIAL, "backup with beta unconnectable");
	cr_assert(strstr(sb_str(&x.out), "failed: \"beta\"\n") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), ", 1 failed, ") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.err), "backup of \"beta\" failed; going on with the other "
						 "databases") != NULL, "%s", sb_str(&x.err));
	ifx_run(&x, "backup", "--json", NULL);
	ifx_expect(&x, EXIT_PARTIAL, "backup --json with beta unconnectable");
	run = ifx_json(&x);
	cr_assert_eq(json_array_size(json_object_get(run, "failed")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(run, "failed"), 0)), "beta");
	man = manifest_of(run);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(man, "failed"), 0)), "beta");
	cr_assert_eq(manifest_rows(man, "alpha", "big"), 100);
	cr_assert_eq(manifest_rows(man, "gamma", "big"), 300);
	cr_assert(json_is_false(json_object_get(ifx_find(json_object_get(man, "databases"),
													 "database", "beta", false), "ok")));
	/* the dumps that succeeded are complete, the failed one left nothing */
	cr_assert(fs_sha256_sidecar_verify(json_string_value(json_object_get(
		ifx_find(json_object_get(run, "databases"), "database", "gamma", false), "file"))));
	str_format(path, sizeof(path), "%s/backups/shared/beta", x.root);
	cr_assert_eq(lab_sh("test $(ls %s | grep -c 'dump$') -eq 1", path), 0,
				 "only the first run's dump of beta");
	cr_assert_eq(lab_sh("! ls %s | grep -q partial", path), 0);
	json_decref(man);
	json_decref(run);

	/* postgres only when named; a name that does not exist is a usage error */
	ifx_run(&x, "backup", "postgres", "--no-retention", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backup postgres");
	run = ifx_json(&x);
	cr_assert_eq(json_array_size(json_object_get(run, "databases")), 1);
	json_decref(run);
	ifx_run(&x, "backup", "nosuch", NULL);
	ifx_expect(&x, EXIT_USAGE, "backup nosuch");
	cr_assert(strstr(sb_str(&x.err), "no database \"nosuch\" on the shared instance") != NULL,
			  "%s", sb_str(&x.err));
	sb_free(&text);
}

/* Copies of a real dump under fake stamps, each with its sidecar. */
static void
fake_dumps(const char *real, const char *const *stamps, size_t n)
{
	char dir[4096];

	str_format(dir, sizeof(dir), "%s/backups/shared/alpha", x.root);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(lab_sh("mkdir -p %s && cd %s && cp %s alpha_%s.dump && sha256sum alpha_%s.dump > "
							"alpha_%s.dump.sha256", dir, dir, real, stamps[i], stamps[i], stamps[i]), 0);
}

/* The dumps of alpha now there, oldest first, as "stamp,stamp,...". */
static void
remaining(char *out, size_t size)
{
	char cmd[4096];
	FILE *p;
	StrBuf sb = STRBUF_INIT;
	char line[512];

	str_format(cmd, sizeof(cmd), "cd %s/backups/shared/alpha && ls alpha_*.dump | sort", x.root);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p) != NULL)
	{
		line[strcspn(line, "\n")] = '\0';
		/* alpha_<stamp>.dump → stamp */
		sb_appendf(&sb, "%s%.16s", sb.len ? "," : "", line + 6);
	}
	pclose(p);
	str_copy(out, size, sb_str(&sb));
	sb_free(&sb);
}

Test(instance_backup_all_lab, retention_over_fake_dated_dumps)
{
	char real[4096], stamps_buf[40][20], got[4096], want[4096], side[4096];
	const char *stamps[40];
	size_t n = 0;
	json_t *run;
	const char *stamp;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "alpha", 10);
	ifx_backup(&x, "alpha", real, sizeof(real));
	/* 2020-11-01 .. 2020-11-30 daily, 2020-10-15, 2020-09-10 */
	for (int d = 1; d <= 30; d++, n++)
		str_format(stamps_buf[n], sizeof(stamps_buf[n]), "202011%02dT031500Z", d);
	str_copy(stamps_buf[n++], 20, "20201015T031500Z");
	str_copy(stamps_buf[n++], 20, "20200910T031500Z");
	for (size_t i = 0; i < n; i++)
		stamps[i] = stamps_buf[i];
	fake_dumps(real, stamps, n);
	/* the runs' own files: Nov 28's go with its dump, Nov 29's stay */
	cr_assert_eq(lab_sh("cd %s/backups/shared && for s in 20201128T031500Z 20201129T031500Z; do "
						"echo '{}' > $s.json; echo '-- g' > $s.globals.sql; "
						"sha256sum $s.globals.sql > $s.globals.sql.sha256; done", x.root), 0);

	/* --dry-run: says what would go, dumps and removes nothing */
	ifx_run(&x, "backup", "alpha", "--keep-daily", "2", "--keep-weekly", "3",
			"--keep-monthly", "3", "--dry-run", NULL);
	ifx_expect(&x, EXIT_OK, "backup --dry-run");
	cr_assert(strstr(sb_str(&x.out), "would remove  backups/shared/alpha/alpha_20201128T031500Z"
					 ".dump\n") != NULL, "%s", sb_str(&x.out));
	cr_assert(strstr(sb_str(&x.out), "alpha_20201130T031500Z") == NULL, "%s", sb_str(&x.out));
	remaining(got, sizeof(got));
	cr_assert_eq(strlen(got), 32 * 17 - 1, "%s", got);

	ifx_run(&x, "backup", "alpha", "--keep-daily", "2", "--keep-weekly", "3",
			"--keep-monthly", "3", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backup with retention");
	run = ifx_json(&x);
	stamp = json_string_value(json_object_get(run, "stamp"));
	/* days: today, Nov 30; ISO weeks: this one, 2020-W49 (Nov 30), W48
	 * (Nov 29); months: this one, 2020-11 (Nov 30), 2020-10 (Oct 15) */
	str_format(want, sizeof(want), "20201015T031500Z,20201129T031500Z,20201130T031500Z,%s", stamp);
	remaining(got, sizeof(got));
	cr_assert_str_eq(got, want);
	cr_assert_str_eq(json_string_value(json_object_get(ifx_find(json_object_get(run, "retention"),
		"file", "alpha_20201128T031500Z.dump", true), "action")), "removed");
	/* the sidecars went with their dumps */
	str_format(side, sizeof(side), "%s/backups/shared/alpha/alpha_20201128T031500Z.dump.sha256",
			   x.root);
	cr_assert_not(ifx_exists(side));
	str_format(side, sizeof(side), "%s/backups/shared/alpha/alpha_20201129T031500Z.dump.sha256",
			   x.root);
	cr_assert(ifx_exists(side));
	str_format(side, sizeof(side), "%s/backups/shared", x.root);
	cr_assert_eq(lab_sh("cd %s && test ! -e 20201128T031500Z.json && test ! -e "
						"20201128T031500Z.globals.sql && test ! -e 20201128T031500Z.globals.sql.sha256 "
						"&& test -e 20201129T031500Z.json && test -e 20201129T031500Z.globals.sql && "
						"test -e %s.json", side, stamp), 0, "the runs' files:\n%s", sb_str(&x.out));
	cr_assert_str_eq(json_string_value(json_object_get(ifx_find(json_object_get(run, "retention"),
		"file", "/20201128T031500Z.globals.sql", true), "action")), "removed");
	/* the `db backup` dump outside backups/shared is not retention's */
	cr_assert(ifx_exists(real));
	json_decref(run);
}

/* No shared container named: pg_dump and pg_dumpall run on this host over
 * TCP (password in a passfile), and the restore test's pg_restore too. */
Test(instance_backup_all_lab, local_clients)
{
	json_t *run;
	StrBuf text = STRBUF_INIT;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "alpha", 10);
	ifx_local_clients(&x);
	ifx_run(&x, "backup", "--all", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backup --all with local clients");
	run = ifx_json(&x);
	cr_assert(fs_read_file(json_string_value(json_object_get(json_object_get(run, "globals"),
															  "file")), 1 << 20, &text));
	cr_assert(strstr(sb_str(&text), "CREATE ROLE admin;") != NULL, "%s", sb_str(&text));
	json_decref(run);
	ifx_run(&x, "backups", "test", "alpha", NULL);
	ifx_expect(&x, EXIT_OK, "backups test with local clients");
	cr_assert(strstr(sb_str(&x.out), "1 dump(s) tested, 0 failed") != NULL, "%s", sb_str(&x.out));
	sb_free(&text);
}

/* A database dropped while the run dumps another one: it was listed at the
 * start, it is gone when its turn comes; the others are backed up. */
Test(instance_backup_all_lab, database_dropped_mid_run)
{
	const char *bin = getenv("PGFOLD_TEST_BIN");
	char outp[4096], errp[4096], *n = NULL;
	pid_t child, done = 0;
	int status = 0;
	StrBuf out = STRBUF_INIT;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "aaa_big", 2000000);
	ifx_seeded_db(&x, "zzz_gone", 10);
	str_format(outp, sizeof(outp), "%s/out-run", x.dir);
	str_format(errp, sizeof(errp), "%s/err-run", x.dir);
	child = fork();
	cr_assert(child >= 0);
	if (child == 0)
	{
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, STDOUT_FILENO);
		dup2(e, STDERR_FILENO);
		execl(bin && *bin ? bin : "build/pgfold", "pgfold", "--root", x.root, "--no-color",
			  "backup", "--all", (char *) NULL);
		_exit(127);
	}
	/* pg_dump of aaa_big is reading: drop zzz_gone now */
	for (int i = 0; i < 600; i++)
	{
		free(n);
		n = ifx_value(&x, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = "
					  "'aaa_big' AND application_name = 'pg_dump' AND query LIKE 'COPY%'");
		if (strcmp(n, "1") == 0)
			break;
		usleep(20 * 1000);
	}
	cr_assert_str_eq(n, "1", "pg_dump of aaa_big never started its COPY");
	free(n);
	ifx_exec(&x, "postgres", "DROP DATABASE zzz_gone");
	for (int i = 0; i < 1200 && (done = waitpid(child, &status, WNOHANG)) == 0; i++)
		usleep(100 * 1000);
	cr_assert_eq(done, child, "pgfold backup did not end");
	cr_assert(fs_read_file(outp, 1 << 20, &out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_PARTIAL, "status %#x:\n%s",
			  status, sb_str(&out));
	cr_assert(strstr(sb_str(&out), "failed: \"zzz_gone\"\n") != NULL, "%s", sb_str(&out));
	cr_assert(strstr(sb_str(&out), "  ok      \"aaa_big\"") != NULL, "%s", sb_str(&out));
	cr_assert(strstr(sb_str(&out), "  ok      (globals)") != NULL, "%s", sb_str(&out));
	sb_free(&out);
}
