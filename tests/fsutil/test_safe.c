/*
 * test_safe.c — files where someone else could have planted a link:
 * private files (passfiles), appends (journal, run logs), rewrites that
 * keep the original's mode and owner, and the stack-file link check.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/fsutil.h"

static char dir[PATH_MAX];

static void
setup(void)
{
	char made[PATH_MAX];

	/* canonical: the link check compares resolved paths with the root */
	fst_mkdtemp(made);
	cr_assert_not_null(realpath(made, dir));
}

static void
teardown(void)
{
	fst_rm_rf(dir);
}

TestSuite(fsutil_safe, .init = setup, .fini = teardown);

static struct stat
lstat_of(const char *path)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0, "lstat %s: %s", path, strerror(errno));
	return st;
}

static void
expect_content(const char *path, const char *want)
{
	char *got = fst_slurp(path, NULL);

	cr_assert_not_null(got, "%s is missing", path);
	cr_assert_str_eq(got, want, "%s", path);
	free(got);
}

Test(fsutil_safe, private_file_in_a_fresh_0700_dir_removed_after)
{
	FsPrivateFile pf = FS_PRIVATE_INIT;
	char parent[PATH_MAX], base[NAME_MAX + 1];

	umask(0);                  /* must not widen anything */
	cr_assert(fs_private_write(&pf, dir, "pgpass", "h:1:*:u:secret\n", 15));
	umask(022);

	cr_assert(fs_path_split(pf.path, parent, sizeof(parent), base, sizeof(base)));
	cr_assert_str_eq(parent, pf.dir);
	cr_assert_str_eq(base, "pgpass");
	cr_assert(strncmp(pf.dir, dir, strlen(dir)) == 0 && pf.dir[strlen(dir)] == '/',
			  "%s is not under %s", pf.dir, dir);

	struct stat d = lstat_of(pf.dir), f = lstat_of(pf.path);

	cr_assert(S_ISDIR(d.st_mode));
	cr_assert_eq(d.st_mode & 07777, 0700, "directory mode %04o", d.st_mode & 07777);
	cr_assert_eq(d.st_uid, geteuid());
	cr_assert(S_ISREG(f.st_mode));
	cr_assert_eq(f.st_mode & 07777, 0600, "file mode %04o", f.st_mode & 07777);
	expect_content(pf.path, "h:1:*:u:secret\n");

	char gone_dir[PATH_MAX];

	str_copy(gone_dir, sizeof(gone_dir), pf.dir);
	fs_private_remove(&pf);
	cr_assert_eq(access(gone_dir, F_OK), -1, "%s is still there", gone_dir);
	cr_assert_eq(fst_count_entries(dir), 0, "something was left under %s", dir);
	fs_private_remove(&pf);    /* twice is fine */
}

/* Two private files never share a directory, so neither name is known in
 * advance to whoever could plant a link there. */
Test(fsutil_safe, private_dirs_are_distinct)
{
	FsPrivateFile a = FS_PRIVATE_INIT, b = FS_PRIVATE_INIT;

	cr_assert(fs_private_write(&a, dir, "pgpass", "x", 1));
	cr_assert(fs_private_write(&b, dir, "pgpass", "y", 1));
	cr_assert_str_neq(a.dir, b.dir);
	expect_content(a.path, "x");
	expect_content(b.path, "y");
	fs_private_remove(&a);
	fs_private_remove(&b);
	cr_assert_eq(fst_count_entries(dir), 0);
}

Test(fsutil_safe, private_write_failure_leaves_nothing)
{
	FsPrivateFile pf = FS_PRIVATE_INIT;
	char missing[PATH_MAX];

	fst_join(missing, dir, "no/such/dir");
	cr_assert_not(fs_private_write(&pf, missing, "pgpass", "x", 1));
	cr_assert_eq(pf.dir[0], '\0');
	cr_assert_not(fs_private_write(&pf, dir, "a/b", "x", 1), "a name with a slash");
	cr_assert_eq(fst_count_entries(dir), 0);
}

Test(fsutil_safe, append_creates_exact_mode_whatever_the_umask)
{
	char path[PATH_MAX];

	fst_join(path, dir, "run.log");
	umask(0);
	int fd = fs_open_append(path, 0640, "log file");

	umask(022);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "a\n", 2), 2);
	close(fd);
	cr_assert_eq(lstat_of(path).st_mode & 07777, 0640);

	/* an existing file is appended to */
	fd = fs_open_append(path, 0640, "log file");
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "b\n", 2), 2);
	close(fd);
	expect_content(path, "a\nb\n");
}

Test(fsutil_safe, append_refuses_a_planted_symlink_and_fifo, .timeout = 10)
{
	char path[PATH_MAX], victim[PATH_MAX], fifo[PATH_MAX];

	fst_join(victim, dir, "victim");
	fst_put(victim, "precious\n", 9);
	chmod(victim, 0600);
	fst_join(path, dir, "run.log");
	cr_assert_eq(symlink(victim, path), 0);
	cr_assert_eq(fs_open_append(path, 0640, "log file"), -1);
	expect_content(victim, "precious\n");
	cr_assert_eq(lstat_of(victim).st_mode & 07777, 0600);
	cr_assert(S_ISLNK(lstat_of(path).st_mode), "the link was replaced");

	/* a dangling link: O_CREAT must not create its target either */
	char dangling[PATH_MAX], target[PATH_MAX];

	fst_join(dangling, dir, "other.log");
	fst_join(target, dir, "created-through-link");
	cr_assert_eq(symlink(target, dangling), 0);
	cr_assert_eq(fs_open_append(dangling, 0640, "log file"), -1);
	cr_assert_eq(access(target, F_OK), -1, "the link's target was created");

	/* a FIFO fails at once instead of hanging */
	fst_join(fifo, dir, "fifo.log");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(fs_open_append(fifo, 0640, "log file"), -1);
}

/* dir/name holding "old", with mode. */
static void
old_file(char *path, const char *name, mode_t mode)
{
	fst_join(path, dir, name);
	fst_put(path, "old", 3);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(fsutil_safe, write_like_keeps_mode_and_owner)
{
	char a[PATH_MAX], b[PATH_MAX], made[PATH_MAX];

	old_file(a, "a.yml", 0600);
	old_file(b, "b.yml", 0640);
	fst_join(made, dir, "override.yml");
	if (geteuid() == 0)
		cr_assert_eq(chown(b, 1234, 2345), 0);

	cr_assert(fs_write_like(a, a, "new", 3, false));
	cr_assert(fs_write_like(b, b, "new", 3, false));
	cr_assert(fs_write_like(made, b, "ovr", 3, false));
	expect_content(a, "new");
	expect_content(b, "new");
	expect_content(made, "ovr");
	cr_assert_eq(lstat_of(a).st_mode & 07777, 0600, "a 0600 original stays 0600");
	cr_assert_eq(lstat_of(b).st_mode & 07777, 0640, "a 0640 original stays 0640");
	cr_assert_eq(lstat_of(made).st_mode & 07777, 0640, "a new file is made like the original");
	if (geteuid() == 0)
	{
		struct stat sb = lstat_of(b), sm = lstat_of(made);

		cr_assert(sb.st_uid == 1234 && sb.st_gid == 2345, "owner %d:%d", (int) sb.st_uid,
				  (int) sb.st_gid);
		cr_assert(sm.st_uid == 1234 && sm.st_gid == 2345, "the new file belongs to %d:%d",
				  (int) sm.st_uid, (int) sm.st_gid);
	}
}

Test(fsutil_safe, write_like_with_a_secret_is_owner_only)
{
	char svc[PATH_MAX], ovr[PATH_MAX], ro[PATH_MAX];

	old_file(svc, "x.yml", 0644);
	old_file(ro, "ro.yml", 0440);
	fst_join(ovr, dir, "x-dedicated-postgres.yml");

	cr_assert(fs_write_like(ovr, svc, "old password", 12, true));
	cr_assert(fs_write_like(svc, svc, "new password", 12, true));
	cr_assert(fs_write_like(ro, ro, "new password", 12, true));
	cr_assert_eq(lstat_of(svc).st_mode & 07777, 0600);
	cr_assert_eq(lstat_of(ovr).st_mode & 07777, 0600);
	cr_assert_eq(lstat_of(ro).st_mode & 07777, 0400, "never wider than the original");
}

/* A stack root with services/ inside and a directory outside it. */
static void
stack_dirs(char *root, char *outside)
{
	char services[PATH_MAX];

	fst_join(root, dir, "root");
	fst_join(outside, dir, "outside");
	fst_join(services, root, "services");
	cr_assert_eq(mkdir(root, 0755), 0);
	cr_assert_eq(mkdir(outside, 0755), 0);
	cr_assert_eq(mkdir(services, 0755), 0);
}

Test(fsutil_safe, link_check_refuses_targets_outside_the_root)
{
	char root[PATH_MAX], outside[PATH_MAX], link[PATH_MAX], target[PATH_MAX], why[1024];

	stack_dirs(root, outside);
	fst_join(target, outside, "x.yml");
	fst_put(target, "services: {}\n", 13);
	fst_join(link, root, "services/x.yml");
	cr_assert_eq(symlink(target, link), 0);

	cr_assert_not(fs_link_check(root, link, why, sizeof(why)));
	cr_assert(strstr(why, link) != NULL && strstr(why, target) != NULL,
			  "the reason names neither the link nor its target: %s", why);
	cr_assert(strstr(why, "outside the stack root") != NULL, "%s", why);
	cr_assert_null(strchr(why, '\n'), "one line: %s", why);

	/* a missing file in a directory that is a link out of the root */
	char ovr_link[PATH_MAX], ovr[PATH_MAX];

	fst_join(ovr_link, root, "overrides");
	cr_assert_eq(symlink(outside, ovr_link), 0);
	fst_join(ovr, ovr_link, "x-dedicated-postgres.yml");
	cr_assert_not(fs_link_check(root, ovr, why, sizeof(why)));
	cr_assert(strstr(why, outside) != NULL, "%s", why);

	/* a dangling link */
	char env[PATH_MAX], nowhere[PATH_MAX];

	fst_join(env, root, ".env");
	fst_join(nowhere, outside, "no/such/.env");
	cr_assert_eq(symlink(nowhere, env), 0);
	cr_assert_not(fs_link_check(root, env, why, sizeof(why)));
	cr_assert(strstr(why, env) != NULL, "%s", why);
}

Test(fsutil_safe, link_check_allows_links_inside_the_root)
{
	char root[PATH_MAX], outside[PATH_MAX], avail[PATH_MAX], target[PATH_MAX];
	char link[PATH_MAX], plain[PATH_MAX], missing[PATH_MAX], why[1024];

	stack_dirs(root, outside);
	fst_join(avail, root, "services-available");
	cr_assert_eq(mkdir(avail, 0755), 0);
	fst_join(target, avail, "x.yml");
	fst_put(target, "services: {}\n", 13);
	fst_join(link, root, "services/x.yml");
	cr_assert_eq(symlink("../services-available/x.yml", link), 0);
	fst_join(plain, root, "services/y.yml");
	fst_put(plain, "services: {}\n", 13);
	fst_join(missing, root, "overrides/x-dedicated-postgres.yml");

	cr_assert(fs_link_check(root, link, why, sizeof(why)), "%s", why);
	cr_assert(fs_link_check(root, plain, why, sizeof(why)), "%s", why);
	cr_assert(fs_link_check(root, missing, why, sizeof(why)), "%s", why);

	/* editing through it keeps the link a link and changes the target */
	cr_assert(fs_write_like(link, link, "new", 3, false));
	cr_assert(S_ISLNK(lstat_of(link).st_mode));
	expect_content(target, "new");
}

Test(fsutil_safe, link_check_refuses_a_target_of_another_owner)
{
	char root[PATH_MAX], outside[PATH_MAX], target[PATH_MAX], link[PATH_MAX], why[1024];

	if (geteuid() != 0)
		cr_skip_test("needs root to give a file to another user");
	stack_dirs(root, outside);
	fst_join(target, root, "someone-elses.yml");
	fst_put(target, "services: {}\n", 13);
	cr_assert_eq(chown(target, 1234, 1234), 0);
	fst_join(link, root, "services/x.yml");
	cr_assert_eq(symlink(target, link), 0);

	cr_assert_not(fs_link_check(root, link, why, sizeof(why)));
	cr_assert(strstr(why, link) != NULL && strstr(why, target) != NULL, "%s", why);
	cr_assert(strstr(why, "uid 1234") != NULL, "%s", why);
}
