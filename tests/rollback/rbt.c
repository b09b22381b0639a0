/*
 * rbt.c — see rbt.h. Checks go through the docker CLI and psql in the
 * containers (the migrate tests' helpers), not through pgfold's modules.
 */
#include "rollback/rbt.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

/* What the app writes while it lives on the shared instance. */
static const char app_writes[] =
	"INSERT INTO items (title, price) VALUES ('written after the migration', 42.00); "
	"INSERT INTO app.notes VALUES (9001, 2001, 'note after the migration'); "
	"SELECT setval('counter_seq', 5000);";

void
rbt_migrated_on(RbtStack *t, const MigShape *sh, const char *db_image)
{
	char pwfile[PATH_MAX];
	StrBuf out = STRBUF_INIT;
	MigRun r;

	memset(t, 0, sizeof(*t));
	t->sh = sh;
	mig_stack_init(&t->s);
	mig_shared_start(&t->s, MIG_PG15);
	t->fp_seed = mig_seed_service(&t->s, sh, db_image);
	str_copy(t->svc, sizeof(t->svc), mig_svc(&t->s, sh));

	mig_pgfold(&t->s, &r, NULL, "migrate", t->svc, "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	mig_run_free(&r);

	mig_path(&t->s, pwfile, sizeof(pwfile), "etc/.db_passwords/%s.txt", sh->db);
	cr_assert(mig_sql_as(&out, &t->s, sh->db, pwfile, sh->db, app_writes),
			  "the service role cannot write to \"%s\": %s", sh->db, sb_str(&out));
	sb_free(&out);
	t->fp_written = mig_fingerprint(t->s.shared, "admin", sh->db);
	cr_assert(strstr(t->fp_written, "items=2001") != NULL, "after the writes: %s", t->fp_written);
}

void
rbt_destroy(RbtStack *t)
{
	mig_stack_destroy(&t->s);
	free(t->fp_seed);
	free(t->fp_written);
	memset(t, 0, sizeof(*t));
}

char *
rbt_dedicated_fp(RbtStack *t)
{
	return mig_fingerprint(mig_name(&t->s, t->sh->db_container), t->sh->db_user, t->sh->src_db);
}

void
rbt_migration_dump(RbtStack *t, char *out, size_t size)
{
	char pattern[160];

	str_format(pattern, sizeof(pattern), "backups/postgres-migrations/%s_2*.dump", t->svc);
	mig_glob_one(&t->s, pattern, out, size);
}

static void
assert_dedicated(RbtStack *t, const char *fp_expected)
{
	const MigShape *sh = t->sh;
	char dbc[160];
	char *fp, *v;

	str_copy(dbc, sizeof(dbc), mig_name(&t->s, sh->db_container));
	v = mig_inspect(dbc, "{{.State.Status}}");
	cr_assert_str_eq(v, "running", "%s is %s after the rollback", dbc, v);
	free(v);
	fp = rbt_dedicated_fp(t);
	cr_assert_str_eq(fp, fp_expected, "data in %s", dbc);
	free(fp);
	v = mig_sql_value(dbc, sh->db_user, sh->src_db,
					  "SELECT pg_get_userbyid(datdba) FROM pg_database "
					  "WHERE datname = current_database()");
	cr_assert_str_eq(v, sh->db_user, "owner of \"%s\" in %s", sh->src_db, dbc);
	free(v);
	v = mig_sql_value(dbc, sh->db_user, sh->src_db,
					  "SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'app') "
					  "AND tableowner <> current_user");
	cr_assert_str_eq(v, "0", "tables not owned by %s", sh->db_user);
	free(v);
	v = mig_sql_value(dbc, sh->db_user, sh->src_db,
					  "SELECT count(*) FROM pg_database WHERE datname LIKE '%pgfold%'");
	cr_assert_str_eq(v, "0", "temporary or stale databases left in %s", dbc);
	free(v);
}

static void
assert_files(RbtStack *t)
{
	char path[PATH_MAX], pattern[160];
	StrBuf now = STRBUF_INIT, orig = STRBUF_INIT;

	mig_path(&t->s, path, sizeof(path), "services/%s.yml", t->svc);
	mig_read(path, &now, false);
	str_format(path, sizeof(path), "%s/orig/%s.yml", t->s.dir, t->svc);
	mig_read(path, &orig, false);
	cr_assert(now.len == orig.len && memcmp(now.data, orig.data, now.len) == 0,
			  "services/%s.yml is not the original:\n%s", t->svc, sb_str(&now));
	sb_free(&now);
	sb_free(&orig);

	mig_path(&t->s, path, sizeof(path), "overrides/%s-dedicated-postgres.yml", t->svc);
	cr_assert(!mig_exists(path), "%s is still there", path);
	str_format(pattern, sizeof(pattern), "backups/postgres-migrations/%s_rollback_*.override.yml",
			   t->svc);
	cr_assert_eq(mig_glob_count(&t->s, pattern), 1, "the override was not moved to the backups");
	str_format(pattern, sizeof(pattern), "backups/postgres-migrations/%s_pre_rollback_*.dump.sha256",
			   t->svc);
	cr_assert_geq(mig_glob_count(&t->s, pattern), 1, "no pre-rollback dump with its sidecar");
}

/* Apps run again, connected to the dedicated db by its container name or
 * (nocodb) its compose service key. */
static void
assert_apps(RbtStack *t)
{
	char needle[200], key[128];

	str_format(needle, sizeof(needle), "%s", mig_name(&t->s, t->sh->db_container));
	str_format(key, sizeof(key), "%s:5432", t->sh->db_key);
	for (size_t i = 0; t->sh->apps[i] != NULL; i++)
	{
		char app[160];
		char *state, *env;

		str_copy(app, sizeof(app), mig_name(&t->s, t->sh->apps[i]));
		state = mig_inspect(app, "{{.State.Status}}");
		env = mig_inspect(app, "{{range .Config.Env}}{{println .}}{{end}}");
		cr_assert_str_eq(state, "running", "app %s is %s after the rollback", app, state);
		cr_assert(strstr(env, needle) != NULL || strstr(env, key) != NULL,
				  "app %s names neither %s nor %s:\n%s", app, needle, key, env);
		cr_assert(strstr(env, "PGFOLD_") == NULL && strstr(env, "@postgres:") == NULL,
				  "app %s still has the shared settings:\n%s", app, env);
		free(state);
		free(env);
	}
}

void
rbt_assert_rolled_back(RbtStack *t, const char *fp_expected)
{
	MigRun r;

	assert_dedicated(t, fp_expected);
	assert_files(t);
	assert_apps(t);
	/* a retire in between (tests/retire) completes a run of its own: one
	 * per remove-volumes step done */
	cr_assert_eq(mig_journal_count(&t->s, t->svc, "complete", "done")
				 - mig_journal_count(&t->s, t->svc, "remove-volumes", "done"), 2,
				 "the journal lacks a completed migration and rollback");

	RBT_ROLLBACK(t, &r, 0, NULL, "--yes", NULL);
	cr_assert(strstr(sb_str(&r.out), "not migrated") != NULL, "second rollback said:\n%s",
			  sb_str(&r.out));
	mig_run_free(&r);
}
