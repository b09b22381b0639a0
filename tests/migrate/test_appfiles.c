/*
 * test_appfiles.c — apps configured by their own files, in the lab: a
 * Synapse-shaped app (homeserver.yaml) and a Gitea-shaped one (app.ini)
 * whose files migrate rewrites, whose rewritten settings log in to the
 * shared instance, and which rollback restores byte for byte; an app in
 * another file of the same compose project with a config.xml pgfold does
 * not rewrite: blocked with file:line, then --files-edited goes on.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_appfiles, .fini = teardown, .timeout = 600);

static void
put(const char *path, const char *bytes, mode_t mode)
{
	char dir[PATH_MAX];

	str_copy(dir, sizeof(dir), path);
	*strrchr(dir, '/') = '\0';
	cr_assert_eq(lab_sh("mkdir -p '%s'", dir), 0);

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, bytes, strlen(bytes)), (ssize_t) strlen(bytes));
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void
assert_bytes(const char *path, const char *want)
{
	StrBuf got = STRBUF_INIT;

	mig_read(path, &got, false);
	cr_assert_str_eq(sb_str(&got), want, "%s", path);
	sb_free(&got);
}

static bool
said(const MigRun *r, const char *needle)
{
	return strstr(sb_str(&r->out), needle) != NULL || strstr(sb_str(&r->err), needle) != NULL;
}

/* Log in with the role's password file, as the rewritten file says. */
static void
assert_logs_in(MigStack *s, const char *role, const char *db)
{
	char pwfile[PATH_MAX];
	StrBuf out = STRBUF_INIT;

	mig_path(s, pwfile, sizeof(pwfile), "etc/.db_passwords/%s.txt", role);
	cr_assert(mig_sql_as(&out, s, role, pwfile, db, "SELECT count(*) FROM items"),
			  "%s cannot log in: %s", role, sb_str(&out));
	cr_assert_str_eq(sb_str(&out), "2000");
	sb_free(&out);
}

static void
assert_running(MigStack *s, const char *suffix)
{
	char name[160];

	str_format(name, sizeof(name), "%s-%s", s->id, suffix);

	char *state = mig_inspect(name, "{{.State.Status}}");

	cr_assert_str_eq(state, "running", "%s is %s", name, state);
	free(state);
}

#define HS_HEAD "# homeserver.yaml of a lab test\nserver_name: \"example.org\"\n" \
	"database:\n  name: psycopg2\n  # the dedicated database\n  args:\n"
#define HS_TAIL "    cp_min: 5\n    cp_max: 10\n\nmacaroon_secret_key: \"zzz-macaroon-zzz\"\n" \
	"media_store_path: /data/media_store\n"

/* A Synapse-shaped service up on its seeded dedicated db, its
 * homeserver.yaml (mode) with the password as written and extra keys
 * after host; its name, db container, file path and bytes filled in. */
static void
synapse_up(const char *password, const char *extra, mode_t mode, char svc[static 96],
		   char dbc[static 160], char hs[static PATH_MAX], char orig[static 2048])
{
	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(svc, 96, "synapse-%s", stack.id);
	str_format(dbc, 160, "%s-synapse-db", stack.id);
	mig_path(&stack, hs, PATH_MAX, "data/synapse/homeserver.yaml");
	str_format(orig, 2048, HS_HEAD "    user: synapse_user\n    password: %s\n"
			   "    database: synapse\n    host: %s\n%s" HS_TAIL, password, dbc, extra);
	put(hs, orig, mode);
	mig_service_add(&stack, "synapse-conf", svc, NULL);
	mig_service_up(&stack, svc, dbc);
	mig_sql_fixture(dbc, "synapse_user", "synapse", "seed.sql");
}

Test(migrate_appfiles, synapse_homeserver_yaml_rewritten_and_restored)
{
	char svc[96], hs[PATH_MAX], dbc[160], orig[2048], pattern[PATH_MAX], copy[PATH_MAX];
	MigRun r;

	synapse_up("'synapse-test-password'   # from .env", "", 0640, svc, dbc, hs, orig);

	char *fp = mig_fingerprint(dbc, "synapse_user", "synapse");

	mig_pgfold(&stack, &r, NULL, "plan", svc, NULL);
	mig_expect_exit(&r, 0, "plan of an app configured by homeserver.yaml");
	cr_assert(said(&r, "data/synapse/homeserver.yaml (service synapse, YAML database.args "
				   "(Synapse)): host, port, user, password and database rewritten"),
			  "%s", sb_str(&r.out));
	cr_assert(said(&r, "+    host: postgres\n"), "%s", sb_str(&r.out));
	cr_assert(said(&r, "+    password: <secret>\n"), "%s", sb_str(&r.out));
	cr_assert_not(said(&r, "synapse-test-password"), "the old password is shown");
	/* another secret of the file, in the diff's context */
	cr_assert(said(&r, " macaroon_secret_key: <secret>\n"), "%s", sb_str(&r.out));
	cr_assert_not(said(&r, "zzz-macaroon-zzz"), "another secret is shown");
	mig_run_free(&r);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	/* the proof read the file as Synapse reads it and logged in with it */
	cr_assert(said(&r, "connection proof: synapse logs in as \"synapse\" on \"synapse\""),
			  "%s", sb_str(&r.err));
	mig_run_free(&r);

	/* only the values changed; the missing port went in after the last key */
	char *pw = mig_role_password(&stack, "synapse"), want[2048];

	str_format(want, sizeof(want), HS_HEAD "    user: synapse\n"
			   "    password: '%s'   # from .env\n    database: synapse\n"
			   "    host: postgres\n    cp_min: 5\n    cp_max: 10\n    port: %d\n"
			   "\nmacaroon_secret_key: \"zzz-macaroon-zzz\"\nmedia_store_path: /data/media_store\n",
			   pw, 5432);
	assert_bytes(hs, want);
	cr_assert_eq(mig_file_mode(hs), 0640);
	free(pw);
	assert_logs_in(&stack, "synapse", "synapse");
	assert_running(&stack, "synapse");

	/* the original is kept, private, with the journal's sha256 */
	str_format(pattern, sizeof(pattern), "backups/postgres-migrations/%s_*.appfile-1", svc);
	mig_glob_one(&stack, pattern, copy, sizeof(copy));
	assert_bytes(copy, orig);
	cr_assert_eq(mig_file_mode(copy), 0600);

	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback");
	mig_run_free(&r);
	assert_bytes(hs, orig);
	cr_assert_eq(mig_file_mode(hs), 0640);

	char *back = mig_fingerprint(dbc, "synapse_user", "synapse");

	cr_assert_str_eq(back, fp);
	free(back);
	free(fp);
}

Test(migrate_appfiles, gitea_app_ini_rewritten_and_restored)
{
	char svc[96], ini[PATH_MAX], dbc[160], orig[2048];
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(svc, sizeof(svc), "gitea-%s", stack.id);
	str_format(dbc, sizeof(dbc), "%s-gitea-pg", stack.id);
	mig_path(&stack, ini, sizeof(ini), "data/gitea/conf/app.ini");
	/* CRLF, a BOM, comments, a quoted password with ; and # */
	str_format(orig, sizeof(orig), "\xEF\xBB\xBF" "APP_NAME = Gitea\r\n\r\n[server]\r\n"
			   "HOST = not-the-db\r\n\r\n; the dedicated database\r\n[database]\r\n"
			   "DB_TYPE = postgres\r\nHOST    = gitea-db:5432\r\nNAME    = giteadb\r\n"
			   "USER    = gitea\r\nPASSWD  = `gitea-test-password`\r\nSSL_MODE = disable\r\n"
			   "\r\n[log]\r\nMODE = console\r\n");
	put(ini, orig, 0644);
	mig_service_add(&stack, "gitea", svc, NULL);
	mig_service_up(&stack, svc, dbc);
	mig_sql_fixture(dbc, "gitea", "giteadb", "seed.sql");

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate of an app configured by app.ini");
	mig_run_free(&r);

	char *pw = mig_role_password(&stack, "giteadb"), want[2048];

	str_format(want, sizeof(want), "\xEF\xBB\xBF" "APP_NAME = Gitea\r\n\r\n[server]\r\n"
			   "HOST = not-the-db\r\n\r\n; the dedicated database\r\n[database]\r\n"
			   "DB_TYPE = postgres\r\nHOST    = postgres:5432\r\nNAME    = giteadb\r\n"
			   "USER    = giteadb\r\nPASSWD  = `%s`\r\nSSL_MODE = disable\r\n"
			   "\r\n[log]\r\nMODE = console\r\n", pw);
	assert_bytes(ini, want);
	cr_assert_eq(mig_file_mode(ini), 0644);
	free(pw);
	assert_logs_in(&stack, "giteadb", "giteadb");
	assert_running(&stack, "gitea");

	/* edited since the migration: rollback says so and changes nothing
	 * without --yes */
	StrBuf edited = STRBUF_INIT;

	mig_read(ini, &edited, false);
	sb_appends(&edited, "; an operator's note\r\n");
	put(ini, sb_str(&edited), 0644);
	mig_pgfold(&stack, &r, NULL, "rollback", svc, NULL);
	mig_expect_exit(&r, 3, "rollback of an edited app.ini");
	cr_assert(said(&r, "data/gitea/conf/app.ini was edited since the migration: the rollback "
				   "replaces it with the original saved in "), "%s", sb_str(&r.out));
	mig_run_free(&r);
	assert_bytes(ini, sb_str(&edited));
	sb_free(&edited);

	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback --yes");
	mig_run_free(&r);
	assert_bytes(ini, orig);
}

/* OnRamp's shape: the db alone in one file, the app in another file of the
 * same project, configured by a config.xml pgfold does not rewrite. */
Test(migrate_appfiles, unknown_format_in_another_file_blocks_then_files_edited)
{
	char db_svc[96], app_svc[96], xml[PATH_MAX], dbc[160], text[2048], pwfile[PATH_MAX];
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(db_svc, sizeof(db_svc), "radarr-postgres-%s", stack.id);
	str_format(app_svc, sizeof(app_svc), "radarr-%s", stack.id);
	str_format(dbc, sizeof(dbc), "%s-radarr-postgres", stack.id);
	mig_path(&stack, xml, sizeof(xml), "data/radarr/config.xml");
	str_format(text, sizeof(text), "<Config>\n  <Port>7878</Port>\n"
			   "  <PostgresUser>radarr</PostgresUser>\n"
			   "  <PostgresPassword>radarr-test-password</PostgresPassword>\n"
			   "  <PostgresPort>5432</PostgresPort>\n  <PostgresHost>%s</PostgresHost>\n"
			   "  <PostgresMainDb>radarr_main</PostgresMainDb>\n</Config>\n", dbc);
	put(xml, text, 0644);
	mig_service_add(&stack, "radarr-postgres", db_svc, NULL);
	mig_service_add(&stack, "radarr", app_svc, NULL);
	cr_assert_eq(mig_compose(&stack, NULL, "-f services/%s.yml -f services/%s.yml up -d",
							 db_svc, app_svc), 0);
	cr_assert(lab_wait_ready(dbc, 120));
	mig_sql_fixture(dbc, "radarr", "radarr_main", "seed.sql");

	MigSnapshot snap;

	mig_snapshot(&stack, db_svc, &snap);
	mig_pgfold(&stack, &r, NULL, "migrate", db_svc, "--yes", NULL);
	mig_expect_exit(&r, 3, "migrate with an app file of an unknown format");
	cr_assert(said(&r, "data/radarr/config.xml:3:   <PostgresUser>radarr</PostgresUser> | "
				   "change: user `radarr` -> `radarr_main`"), "%s%s", sb_str(&r.out),
			  sb_str(&r.err));
	str_format(text, sizeof(text), "data/radarr/config.xml:6:   <PostgresHost>%s</PostgresHost>"
			   " | change: host `%s` -> `postgres`", dbc, dbc);
	cr_assert(said(&r, text), "%s%s", sb_str(&r.out), sb_str(&r.err));
	cr_assert(said(&r, "then re-run with --files-edited"));
	mig_run_free(&r);
	{
		const char *running[] = { dbc, NULL };

		mig_assert_unchanged(&stack, db_svc, &snap, running);
	}
	mig_snapshot_free(&snap);

	/* the operator's edit: the shared instance, and a password of their
	 * own in the role's password file (migrate gives the role that one) */
	mig_path(&stack, pwfile, sizeof(pwfile), "etc/.db_passwords/radarr_main.txt");
	cr_assert_eq(lab_sh("mkdir -p -m 0700 %s/etc/.db_passwords", stack.root), 0);
	put(pwfile, "operator-chosen-password-42\n", 0600);
	put(xml, "<Config>\n  <Port>7878</Port>\n  <PostgresUser>radarr_main</PostgresUser>\n"
		"  <PostgresPassword>operator-chosen-password-42</PostgresPassword>\n"
		"  <PostgresPort>5432</PostgresPort>\n  <PostgresHost>postgres</PostgresHost>\n"
		"  <PostgresMainDb>radarr_main</PostgresMainDb>\n</Config>\n", 0644);

	mig_pgfold(&stack, &r, NULL, "migrate", db_svc, "--yes", "--files-edited", NULL);
	mig_expect_exit(&r, 0, "migrate --files-edited");
	mig_run_free(&r);
	assert_logs_in(&stack, "radarr_main", "radarr_main");
	assert_running(&stack, "radarr");

	/* the db file kept `services: {}`; rollback brings it back as it was
	 * (the operator's config.xml edit is theirs to undo) */
	char dbfile[PATH_MAX], origfile[PATH_MAX];
	StrBuf o = STRBUF_INIT;

	mig_path(&stack, dbfile, sizeof(dbfile), "services/%s.yml", db_svc);
	cr_assert(mig_file_contains(dbfile, "\nservices: {}\n"));
	mig_pgfold(&stack, &r, NULL, "rollback", db_svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback of a db-only file");
	mig_run_free(&r);
	str_format(origfile, sizeof(origfile), "%s/orig/%s.yml", stack.dir, db_svc);
	mig_read(origfile, &o, false);
	assert_bytes(dbfile, sb_str(&o));
	sb_free(&o);
	cr_assert(lab_wait_ready(dbc, 120), "%s is not back", dbc);
}

/* A crash after the app file was rewritten and before the service file
 * was: the re-run puts the app file back from its saved copy, redoes the
 * step and finishes; rollback then restores the original. */
Test(migrate_appfiles, crash_among_the_files_writes_resumes)
{
	char svc[96], hs[PATH_MAX], dbc[160], orig[2048];
	MigRun r;
	const char *fault[] = { "PGFOLD_FAULT_AFTER=app-files", NULL };

	synapse_up("synapse-test-password", "    port: 5432\n", 0644, svc, dbc, hs, orig);

	mig_pgfold(&stack, &r, fault, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 99, "migrate with a crash after the app files");
	mig_run_free(&r);
	cr_assert(mig_file_contains(hs, "    host: postgres\n"), "the crash came before the write");

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "the resumed migrate");
	cr_assert(said(&r, "restored ") && said(&r, "an interrupted run had rewritten it"), "%s%s",
			  sb_str(&r.out), sb_str(&r.err));
	mig_run_free(&r);
	cr_assert(mig_file_contains(hs, "    host: postgres\n"));
	assert_logs_in(&stack, "synapse", "synapse");

	mig_pgfold(&stack, &r, NULL, "rollback", svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback");
	mig_run_free(&r);
	assert_bytes(hs, orig);
}

/* The app in another file of the project with a format pgfold rewrites:
 * stopped for the fold and started again on its rewritten app.ini; the
 * same for the rollback, which puts app.ini back. */
Test(migrate_appfiles, app_ini_in_another_file_of_the_project)
{
	char db_svc[96], app_svc[96], ini[PATH_MAX], dbc[160], app[160];
	const char *orig = "[database]\nDB_TYPE = postgres\nHOST = gitea-db:5432\nNAME = giteadb\n"
		"USER = gitea\nPASSWD = gitea-test-password\n";
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(db_svc, sizeof(db_svc), "gitea-pg-%s", stack.id);
	str_format(app_svc, sizeof(app_svc), "gitea-app-%s", stack.id);
	str_format(dbc, sizeof(dbc), "%s-gitea-pg", stack.id);
	str_format(app, sizeof(app), "%s-gitea", stack.id);
	mig_path(&stack, ini, sizeof(ini), "data/gitea/conf/app.ini");
	put(ini, orig, 0600);
	mig_service_add(&stack, "gitea-pg", db_svc, NULL);
	mig_service_add(&stack, "gitea-app", app_svc, NULL);
	cr_assert_eq(mig_compose(&stack, NULL, "-f services/%s.yml -f services/%s.yml up -d",
							 db_svc, app_svc), 0);
	cr_assert(lab_wait_ready(dbc, 120));
	mig_sql_fixture(dbc, "gitea", "giteadb", "seed.sql");

	char *started = mig_inspect(app, "{{.State.StartedAt}}");

	mig_pgfold(&stack, &r, NULL, "plan", db_svc, NULL);
	mig_expect_exit(&r, 0, "plan");
	cr_assert(said(&r, "stop the app containers: server (reads data/gitea/conf/app.ini)"), "%s",
			  sb_str(&r.out));
	mig_run_free(&r);
	mig_pgfold(&stack, &r, NULL, "migrate", db_svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	cr_assert(said(&r, "connection proof: server logs in as \"giteadb\" on \"giteadb\""),
			  "%s", sb_str(&r.err));
	mig_run_free(&r);
	cr_assert(mig_file_contains(ini, "HOST = postgres:5432\nNAME = giteadb\nUSER = giteadb\n"));
	cr_assert_eq(mig_file_mode(ini), 0600);
	assert_logs_in(&stack, "giteadb", "giteadb");
	assert_running(&stack, "gitea");

	char *again = mig_inspect(app, "{{.State.StartedAt}}");

	cr_assert_str_neq(again, started, "%s was not restarted to read its new app.ini", app);

	mig_pgfold(&stack, &r, NULL, "rollback", db_svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "rollback");
	mig_run_free(&r);
	assert_bytes(ini, orig);
	assert_running(&stack, "gitea");

	char *third = mig_inspect(app, "{{.State.StartedAt}}");

	cr_assert_str_neq(third, again, "%s was not restarted to read its restored app.ini", app);
	free(started);
	free(again);
	free(third);
}
