/*
 * test_files.c — atomic replacement, bounded reads, mkdir -p, copies.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/fsutil.h"

FST_SCRATCH_SUITE(fsutil_files);

static mode_t
mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_mode & 07777;
}

Test(fsutil_files, write_atomic_content_and_no_leftovers)
{
	char path[PATH_MAX];
	size_t len = 0;

	fst_join(path, dir, "a.yml");
	cr_assert(fs_write_atomic(path, "hello\n", 6, 0644));
	char *got = fst_slurp(path, &len);

	cr_assert_eq(len, 6);
	cr_assert_str_eq(got, "hello\n");
	free(got);
	cr_assert_eq(fst_count_entries(dir), 1);

	/* Empty content is a valid file too. */
	cr_assert(fs_write_atomic(path, "", 0, 0644));
	got = fst_slurp(path, &len);
	cr_assert_eq(len, 0);
	free(got);
	cr_assert_eq(fst_count_entries(dir), 1);
}

Test(fsutil_files, write_atomic_mode_ignores_umask)
{
	char path[PATH_MAX];

	fst_join(path, dir, "secret");
	umask(0);
	cr_assert(fs_write_atomic(path, "pw", 2, 0600));
	cr_assert_eq(mode_of(path), 0600);

	/* A restrictive umask does not narrow an explicit mode either. */
	fst_join(path, dir, "shared");
	umask(077);
	cr_assert(fs_write_atomic(path, "x", 1, 0640));
	cr_assert_eq(mode_of(path), 0640);
	umask(022);
}

Test(fsutil_files, write_atomic_replaces_existing)
{
	char path[PATH_MAX];
	struct stat before, after;

	fst_join(path, dir, "svc.yml");
	fst_put(path, "old content that is longer\n", 27);
	cr_assert_eq(chmod(path, 0666), 0);
	cr_assert_eq(stat(path, &before), 0);
	cr_assert(fs_write_atomic(path, "new\n", 4, 0600));
	cr_assert_eq(stat(path, &after), 0);

	char *got = fst_slurp(path, NULL);

	cr_assert_str_eq(got, "new\n");
	free(got);
	cr_assert_eq(after.st_mode & 07777, 0600, "the old, wider mode must not survive");
	cr_assert_neq(before.st_ino, after.st_ino, "replaced by rename, not rewritten in place");
	cr_assert_eq(fst_count_entries(dir), 1);
}

Test(fsutil_files, write_atomic_follows_symlink)
{
	char target[PATH_MAX], link[PATH_MAX];
	struct stat st;

	fst_join(target, dir, "real.yml");
	fst_join(link, dir, "link.yml");
	fst_put(target, "old", 3);
	cr_assert_eq(symlink("real.yml", link), 0);
	cr_assert(fs_write_atomic(link, "new", 3, 0644));
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the link stays a link");

	char *got = fst_slurp(target, NULL);

	cr_assert_str_eq(got, "new");
	free(got);
	cr_assert_eq(fst_count_entries(dir), 2);
}

Test(fsutil_files, write_atomic_missing_dir_fails)
{
	char path[PATH_MAX];

	fst_join(path, dir, "nope/file");
	cr_assert_not(fs_write_atomic(path, "x", 1, 0600));
	cr_assert_eq(fst_count_entries(dir), 0);
}

#define BIG_A (512 * 1024)
#define BIG_B (1536 * 1024)

/* The writer: replaces the file with all-'a' or all-'b' until killed. */
static void __attribute__((noreturn))
keep_rewriting(const char *path)
{
	char *a = malloc(BIG_A), *b = malloc(BIG_B);

	if (a == NULL || b == NULL)
		_exit(2);
	memset(a, 'a', BIG_A);
	memset(b, 'b', BIG_B);
	for (unsigned i = 0;; i++)
		if (!(i % 2 ? fs_write_atomic(path, a, BIG_A, 0600)
			  : fs_write_atomic(path, b, BIG_B, 0600)))
			_exit(3);
}

static void
assert_whole(const char *path)
{
	size_t len = 0;
	char *got = fst_slurp(path, &len);

	cr_assert_not_null(got, "the file must always exist");
	cr_assert(len == BIG_A || len == BIG_B, "torn file: %zu bytes", len);

	char c = len == BIG_A ? 'a' : 'b';

	for (size_t i = 0; i < len; i++)
		if (got[i] != c)
			cr_assert_fail("mixed content at byte %zu of %zu", i, len);
	free(got);
}

Test(fsutil_files, sigkill_mid_write_leaves_old_or_new, .timeout = 60)
{
	char path[PATH_MAX];
	char *init = malloc(BIG_A);

	fst_join(path, dir, "state");
	memset(init, 'a', BIG_A);
	cr_assert(fs_write_atomic(path, init, BIG_A, 0600));
	free(init);

	for (int round = 0; round < 12; round++)
	{
		pid_t pid = fork();

		cr_assert_neq(pid, -1);
		if (pid == 0)
			keep_rewriting(path);

		struct timespec delay = { 0, (long) (1 + round * 3) * 1000000L };
		int status;

		nanosleep(&delay, NULL);
		cr_assert_eq(kill(pid, SIGKILL), 0);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status), "writer failed on its own: %d", status);
		assert_whole(path);
		/* A temp file from the killed writer may remain; it is recognised. */
		cr_assert_geq(fs_clean_tmp(dir), 0);
		cr_assert_eq(fst_count_entries(dir), 1);
	}
}

Test(fsutil_files, tmp_names_are_recognised)
{
	pid_t pid = 0;

	cr_assert(fs_is_tmp_name(".docmost.yml.pgfold-tmp.1234", &pid));
	cr_assert_eq(pid, 1234);
	cr_assert(fs_is_tmp_name("..env.pgfold-tmp.7", NULL));
	cr_assert_not(fs_is_tmp_name("docmost.yml.pgfold-tmp.1234", NULL));
	cr_assert_not(fs_is_tmp_name(".docmost.yml.pgfold-tmp.", NULL));
	cr_assert_not(fs_is_tmp_name(".docmost.yml.pgfold-tmp.12x", NULL));
	cr_assert_not(fs_is_tmp_name(".pgfold-tmp.12", NULL));
	cr_assert_not(fs_is_tmp_name(".docmost.yml", NULL));
}

Test(fsutil_files, clean_tmp_keeps_live_owners)
{
	char dead_name[128], live_name[128], path[PATH_MAX];
	pid_t dead = fork();

	cr_assert_neq(dead, -1);
	if (dead == 0)
		_exit(0);
	cr_assert_eq(waitpid(dead, NULL, 0), dead);

	str_format(dead_name, sizeof(dead_name), ".x.yml" FS_TMP_MARKER "%ld", (long) dead);
	str_format(live_name, sizeof(live_name), ".y.yml" FS_TMP_MARKER "%ld", (long) getppid());
	fst_join(path, dir, dead_name);
	fst_put(path, "junk", 4);
	fst_join(path, dir, live_name);
	fst_put(path, "busy", 4);
	fst_join(path, dir, "x.yml");
	fst_put(path, "keep", 4);

	cr_assert_eq(fs_clean_tmp(dir), 1);
	cr_assert_eq(fst_count_entries(dir), 2);
	fst_join(path, dir, live_name);
	cr_assert_eq(access(path, F_OK), 0);
}

Test(fsutil_files, read_file_is_bounded)
{
	char path[PATH_MAX];
	StrBuf sb = STRBUF_INIT;
	bool exists = true;

	fst_join(path, dir, "f");
	fst_put(path, "0123456789", 10);
	cr_assert(fs_read_file(path, 10, &sb));
	cr_assert_eq(sb.len, 10);
	cr_assert_str_eq(sb_str(&sb), "0123456789");
	cr_assert_not(fs_read_file(path, 9, &sb));
	cr_assert_eq(sb.len, 0, "nothing partial is handed back");

	fst_join(path, dir, "missing");
	cr_assert_not(fs_read_file(path, 100, &sb));
	cr_assert(fs_read_file_if_exists(path, 100, &sb, &exists));
	cr_assert_not(exists);

	/* Not regular files: refused, and a FIFO does not hang us. */
	cr_assert_not(fs_read_file(dir, 100, &sb));
	fst_join(path, dir, "fifo");
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_not(fs_read_file(path, 100, &sb));
	sb_free(&sb);
}

Test(fsutil_files, mkdir_p_creates_with_exact_mode)
{
	char path[PATH_MAX], file[PATH_MAX];

	fst_join(path, dir, "backups/postgres-migrations/deep/");
	umask(077);
	cr_assert(fs_mkdir_p(path, 0750));
	umask(022);
	cr_assert_eq(mode_of(path), 0750);
	fst_join(file, dir, "backups");
	cr_assert_eq(mode_of(file), 0750);
	cr_assert(fs_mkdir_p(path, 0750), "an existing directory is fine");

	fst_join(file, dir, "backups/plain");
	fst_put(file, "x", 1);
	fst_join(path, dir, "backups/plain/sub");
	cr_assert_not(fs_mkdir_p(path, 0750));
}

Test(fsutil_files, copy_file_atomic_streams_and_keeps_mode)
{
	char src[PATH_MAX], dst[PATH_MAX];
	size_t n = 3 * FS_IO_BUFSIZE + 17, len = 0;
	char *data = malloc(n);

	for (size_t i = 0; i < n; i++)
		data[i] = (char) (i * 131 + (i >> 9));
	fst_join(src, dir, "src.dump");
	fst_join(dst, dir, "dst.dump");
	fst_put(src, data, n);
	cr_assert_eq(chmod(src, 0640), 0);
	fst_put(dst, "old", 3);

	cr_assert(fs_copy_file_atomic(src, dst));
	char *got = fst_slurp(dst, &len);

	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(got, data, n), 0);
	cr_assert_eq(mode_of(dst), 0640);
	cr_assert_eq(fst_count_entries(dir), 2);
	free(got);
	free(data);

	fst_join(src, dir, "absent");
	cr_assert_not(fs_copy_file_atomic(src, dst));
	cr_assert_eq(fst_count_entries(dir), 2);
}

Test(fsutil_files, free_space_of_missing_path_asks_ancestor)
{
	char path[PATH_MAX];
	uint64_t a = 0, b = 0;

	cr_assert(fs_free_space(dir, &a));
	cr_assert_gt(a, 0);
	fst_join(path, dir, "not/yet/there");
	cr_assert(fs_free_space(path, &b));
	cr_assert_gt(b, 0);
}

static void
on_alarm(int signo)
{
	(void) signo;
}

/* A signal without SA_RESTART interrupts blocking writes to a slow pipe:
 * the loop must resume after EINTR and after short writes, losing nothing. */
Test(fsutil_files, write_full_survives_eintr_and_short_writes, .timeout = 60)
{
	int data[2], back[2];
	size_t n = 4 * 1024 * 1024;
	char *buf = malloc(n);
	char want[FS_SHA256_HEX_LEN + 1], got[FS_SHA256_HEX_LEN + 1] = "";

	for (size_t i = 0; i < n; i++)
		buf[i] = (char) (i * 7 + (i >> 12));
	fs_sha256_bytes(buf, n, want);
	cr_assert_eq(pipe(data), 0);
	cr_assert_eq(pipe(back), 0);

	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0)
	{
		/* Slow reader: small reads with pauses. */
		FsSha256 ctx;
		char chunk[4096];
		ssize_t r;
		struct timespec pause = { 0, 20000 };
		char hex[FS_SHA256_HEX_LEN + 1];

		close(data[1]);
		close(back[0]);
		fs_sha256_init(&ctx);
		while ((r = read(data[0], chunk, sizeof(chunk))) != 0)
		{
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				_exit(2);
			fs_sha256_update(&ctx, chunk, (size_t) r);
			nanosleep(&pause, NULL);
		}
		fs_sha256_final(&ctx, hex);
		_exit(write(back[1], hex, FS_SHA256_HEX_LEN) == FS_SHA256_HEX_LEN ? 0 : 3);
	}
	close(data[0]);
	close(back[1]);

	struct sigaction sa;
	struct itimerval it = { { 0, 500 }, { 0, 500 } };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	bool ok = fs_write_full(data[1], buf, n, "pipe");

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	close(data[1]);
	cr_assert(ok);
	cr_assert_eq(read(back[0], got, FS_SHA256_HEX_LEN), FS_SHA256_HEX_LEN);
	cr_assert_str_eq(got, want);

	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(buf);
}
