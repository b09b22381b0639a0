/*
 * test_pgcmd.c — the admin's passfile for local clients (db console,
 * migrate / db restore with PGFOLD_SHARED_CONTAINER=""): never at a name
 * known in advance, so a link planted in /tmp is not followed; in a fresh
 * 0700 directory; gone after pgcmd_free and after a failed build. No
 * engine needed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/pgcmd.h"

static char dir[PATH_MAX];
static char planted[PATH_MAX];

static void
setup(void)
{
	fst_mkdtemp(dir);
	planted[0] = '\0';
}

static void
teardown(void)
{
	if (planted[0] != '\0')
		unlink(planted);
	fst_rm_rf(dir);
}

TestSuite(pg_pgcmd, .init = setup, .fini = teardown);

static void
local_config(Config *cfg)
{
	static char pass[] = "s3cret:pw";

	memset(cfg, 0, sizeof(*cfg));
	str_copy(cfg->pg_host, sizeof(cfg->pg_host), "localhost");
	cfg->pg_port = 5432;
	str_copy(cfg->pg_user, sizeof(cfg->pg_user), "admin");
	cfg->pg_pass = pass;
	cfg->shared_container[0] = '\0';
}

/* The PGPASSFILE the child would get. */
static const char *
passfile_of(const PgCommand *pc)
{
	cr_assert_not_null(pc->env[0]);
	cr_assert(strncmp(pc->env[0], "PGPASSFILE=", 11) == 0, "%s", pc->env[0]);
	return pc->env[0] + 11;
}

static void
plant(const char *at, const char *victim)
{
	str_copy(planted, sizeof(planted), at);
	cr_assert_eq(symlink(victim, at), 0, "cannot plant %s: %s", at, strerror(errno));
}

static void
expect_private(const char *path)
{
	char parent[PATH_MAX], base[NAME_MAX + 1];
	struct stat d, f;

	cr_assert(fs_path_split(path, parent, sizeof(parent), base, sizeof(base)));
	cr_assert_eq(lstat(parent, &d), 0);
	cr_assert(S_ISDIR(d.st_mode) && (d.st_mode & 07777) == 0700 && d.st_uid == geteuid(),
			  "%s: mode %04o uid %d", parent, d.st_mode & 07777, (int) d.st_uid);
	cr_assert_eq(lstat(path, &f), 0);
	cr_assert(S_ISREG(f.st_mode) && (f.st_mode & 07777) == 0600, "%s: mode %04o", path,
			  f.st_mode & 07777);

	char *text = fst_slurp(path, NULL);

	cr_assert_str_eq(text, "localhost:5432:*:admin:s3cret\\:pw\n");
	free(text);
}

/* The old name was /tmp/pgfold-pgpass-<pid>: a link there received the
 * admin password (and, as root, kept the link target's owner). */
Test(pg_pgcmd, link_at_the_old_tmp_name_is_not_followed)
{
	char victim[PATH_MAX], old[PATH_MAX], path[PATH_MAX], parent[PATH_MAX];
	char base[NAME_MAX + 1];
	Config cfg;
	PgCommand pc;
	struct stat st;

	unsetenv("XDG_RUNTIME_DIR");
	local_config(&cfg);
	fst_join(victim, dir, "victim");
	fst_put(victim, "untouched\n", 10);
	str_format(old, sizeof(old), "/tmp/pgfold-pgpass-%ld", (long) getpid());
	cr_assert_neq(lstat(old, &st), 0, "%s exists already", old);
	plant(old, victim);

	cr_assert(pgcmd_psql_local(&pc, &cfg, "appdb"));
	str_copy(path, sizeof(path), passfile_of(&pc));
	cr_assert(strncmp(path, "/tmp/", 5) == 0, "%s", path);
	cr_assert_str_neq(path, old);
	expect_private(path);

	char *text = fst_slurp(victim, NULL);

	cr_assert_str_eq(text, "untouched\n", "the planted link was followed");
	free(text);
	cr_assert_eq(lstat(old, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the planted link was replaced");

	cr_assert(fs_path_split(path, parent, sizeof(parent), base, sizeof(base)));
	pgcmd_free(&pc);
	cr_assert_neq(lstat(path, &st), 0, "%s is still there", path);
	cr_assert_neq(lstat(parent, &st), 0, "%s is still there", parent);
}

/* XDG_RUNTIME_DIR too: nothing at a predictable name, nothing left. */
Test(pg_pgcmd, runtime_dir_holds_nothing_after_use)
{
	char victim[PATH_MAX], old[PATH_MAX];
	Config cfg;
	PgCommand pc;

	setenv("XDG_RUNTIME_DIR", dir, 1);
	local_config(&cfg);
	fst_join(victim, dir, "victim");
	fst_put(victim, "untouched\n", 10);
	str_format(old, sizeof(old), "%s/pgfold-pgpass-%ld", dir, (long) getpid());
	plant(old, victim);

	cr_assert(pgcmd_restore_shared(&pc, &cfg, "appdb"));
	cr_assert(strncmp(passfile_of(&pc), dir, strlen(dir)) == 0, "%s", passfile_of(&pc));
	expect_private(passfile_of(&pc));
	cr_assert_eq(fst_count_entries(dir), 3, "victim, link and the private directory");
	pgcmd_free(&pc);
	cr_assert_eq(fst_count_entries(dir), 2, "victim and link only");

	char *text = fst_slurp(victim, NULL);

	cr_assert_str_eq(text, "untouched\n");
	free(text);
}

/* A build that fails after the passfile was written (a database name too
 * long for the conninfo) removes it: callers just return. */
Test(pg_pgcmd, failed_build_leaves_no_passfile)
{
	char longdb[700];
	Config cfg;
	PgCommand pc;

	setenv("XDG_RUNTIME_DIR", dir, 1);
	local_config(&cfg);
	memset(longdb, 'd', sizeof(longdb) - 1);
	longdb[sizeof(longdb) - 1] = '\0';

	cr_assert_not(pgcmd_psql_local(&pc, &cfg, longdb));
	cr_assert_eq(fst_count_entries(dir), 0, "the passfile of a failed build is still there");
	cr_assert_not(pgcmd_dump_shared(&pc, &cfg, longdb));
	cr_assert_not(pgcmd_restore_shared(&pc, &cfg, longdb));
	cr_assert_eq(fst_count_entries(dir), 0);
	pgcmd_free(&pc);           /* still safe */
}

static bool
has_arg(const PgCommand *pc, const char *arg)
{
	for (size_t i = 0; pc->argv[i] != NULL; i++)
		if (strcmp(pc->argv[i], arg) == 0)
			return true;
	return false;
}

/* `pgfold backup`: pg_dump reads the exported snapshot; only a server-made
 * id reaches argv. pg_dumpall --globals-only in the shared container. */
Test(pg_pgcmd, snapshot_and_globals_commands)
{
	Config cfg;
	PgCommand pc;

	setenv("XDG_RUNTIME_DIR", dir, 1);
	local_config(&cfg);
	str_copy(cfg.shared_container, sizeof(cfg.shared_container), "shared-pg");
	cr_assert(pgcmd_dump_shared_at(&pc, &cfg, "docmost", "00000003-0000001B-1"));
	cr_assert(has_arg(&pc, "--snapshot=00000003-0000001B-1"));
	cr_assert(has_arg(&pc, "-Fc"));
	cr_assert_str_eq(pc.cmd.container, "shared-pg");
	pgcmd_free(&pc);
	cr_assert(pgcmd_dump_shared_at(&pc, &cfg, "docmost", NULL));
	for (size_t i = 0; pc.argv[i] != NULL; i++)
		cr_assert(strncmp(pc.argv[i], "--snapshot", 10) != 0);
	pgcmd_free(&pc);
	cr_assert_not(pgcmd_dump_shared_at(&pc, &cfg, "docmost", "1 --file=/etc/x"));
	cr_assert_not(pgcmd_dump_shared_at(&pc, &cfg, "docmost", ""));

	cr_assert(pgcmd_dumpall_globals_shared(&pc, &cfg));
	cr_assert_str_eq(pc.argv[0], "pg_dumpall");
	cr_assert(has_arg(&pc, "--globals-only"));
	cr_assert(has_arg(&pc, "admin"));
	cr_assert_str_eq(pc.cmd.label, "pg_dumpall --globals-only in shared-pg");
	pgcmd_free(&pc);
	/* local clients: a passfile, never the password in argv */
	cfg.shared_container[0] = '\0';
	cr_assert(pgcmd_dumpall_globals_shared(&pc, &cfg));
	cr_assert(has_arg(&pc, "-w"));
	cr_assert_not(has_arg(&pc, "s3cret:pw"));
	cr_assert_not_null(pc.cmd.env);
	pgcmd_free(&pc);
	cr_assert_eq(fst_count_entries(dir), 0);
}
