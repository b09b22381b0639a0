/*
 * test_files.c — password files: modes, atomic writes, refusals.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/log.h"
#include "pgfold/secrets.h"

static char root[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st; (void) flag; (void) ftw;
	return remove(path);
}

static void
setup_root(void)
{
	str_copy(root, sizeof(root), "/tmp/pgfold-secrets-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void
teardown_root(void)
{
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static mode_t
mode_of(const char *rel)
{
	char p[512];
	struct stat st;

	str_format(p, sizeof(p), "%s/%s", root, rel);
	cr_assert_eq(lstat(p, &st), 0, "stat %s", p);
	return st.st_mode & 07777;
}

static void
write_raw(const char *rel, const char *content, mode_t mode)
{
	char p[512];

	str_format(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
	close(fd);
	chmod(p, mode);
}

static int
count_entries(const char *rel)
{
	char p[512];
	int n = 0;

	str_format(p, sizeof(p), "%s/%s", root, rel);
	DIR *d = opendir(p);

	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

TestSuite(secrets_files, .init = setup_root, .fini = teardown_root);

Test(secrets_files, write_creates_private_dir_and_file)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;

	cr_assert(secrets_write_password_file(root, "docmost", "s3cretPassw0rd"));
	cr_assert_eq(mode_of("etc/.db_passwords"), 0700);
	cr_assert_eq(mode_of("etc/.db_passwords/docmost.txt"), 0600);
	cr_assert_eq(count_entries("etc/.db_passwords"), 1, "temp file left behind");

	cr_assert(secrets_read_password_file(root, "docmost", &pw, &found));
	cr_assert(found);
	cr_assert_str_eq(sb_str(&pw), "s3cretPassw0rd");
	sb_free_secret(&pw);
}

Test(secrets_files, write_replaces_atomically)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;

	cr_assert(secrets_write_password_file(root, "app", "first"));
	cr_assert(secrets_write_password_file(root, "app", "second"));
	cr_assert_eq(count_entries("etc/.db_passwords"), 1);
	cr_assert(secrets_read_password_file(root, "app", &pw, &found));
	cr_assert_str_eq(sb_str(&pw), "second");
	sb_free_secret(&pw);
}

Test(secrets_files, loose_dir_is_tightened)
{
	char p[512];

	str_format(p, sizeof(p), "%s/etc", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	str_format(p, sizeof(p), "%s/etc/.db_passwords", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	chmod(p, 0755);
	cr_assert(secrets_ensure_dir(root));
	cr_assert_eq(mode_of("etc/.db_passwords"), 0700);
	cr_assert_eq(mode_of("etc"), 0755);
}

Test(secrets_files, symlinked_dir_refused)
{
	char p[512], target[512];

	str_format(p, sizeof(p), "%s/etc", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	str_format(target, sizeof(target), "%s/elsewhere", root);
	cr_assert_eq(mkdir(target, 0700), 0);
	str_format(p, sizeof(p), "%s/etc/.db_passwords", root);
	cr_assert_eq(symlink(target, p), 0);
	cr_assert_not(secrets_ensure_dir(root));
	cr_assert_not(secrets_write_password_file(root, "app", "pw"));
	cr_assert_eq(count_entries("elsewhere"), 0);
}

Test(secrets_files, group_readable_file_refused)
{
	StrBuf pw = STRBUF_INIT;
	bool found = true;

	cr_assert(secrets_write_password_file(root, "app", "pw"));
	char p[512];

	str_format(p, sizeof(p), "%s/etc/.db_passwords/app.txt", root);
	chmod(p, 0644);
	cr_redirect_stderr();
	cr_assert_not(secrets_read_password_file(root, "app", &pw, &found));
	cr_assert_not(found);
	cr_assert_eq(pw.len, 0);
	fflush(stderr);
	cr_assert_stderr_neq_str("");
}

Test(secrets_files, refusal_says_chmod_600)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;
	char expect[1024];

	cr_assert(secrets_ensure_dir(root));
	write_raw("etc/.db_passwords/app.txt", "pw\n", 0640);
	cr_redirect_stderr();
	cr_assert_not(secrets_read_password_file(root, "app", &pw, &found));
	fflush(stderr);
	str_format(expect, sizeof(expect),
			   "pgfold: error: %s/etc/.db_passwords/app.txt is readable or writable by "
			   "other users (mode 0640); fix: chmod 600 %s/etc/.db_passwords/app.txt\n",
			   root, root);
	cr_assert_stderr_eq_str(expect);
}

/* Every loose mode a file pgfold did not write may have: world-readable
 * only, group- or world-writable, executable by others; refused, never read,
 * the same reason each time. */
Test(secrets_files, every_loose_mode_refused)
{
	static const mode_t modes[] = { 0604, 0620, 0602, 0660, 0666, 0601, 0610, 0777 };

	cr_assert(secrets_ensure_dir(root));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
	{
		StrBuf pw = STRBUF_INIT;
		bool found = true;
		char log[1024], expect[1024];

		write_raw("etc/.db_passwords/app.txt", "pw\n", modes[i]);
		log_capture_begin(log, sizeof(log));
		cr_assert_not(secrets_read_password_file(root, "app", &pw, &found), "mode %04o read",
					  (unsigned) modes[i]);
		log_capture_end();
		cr_assert_not(found);
		cr_assert_eq(pw.len, 0, "mode %04o: the password was read", (unsigned) modes[i]);
		str_format(expect, sizeof(expect),
				   "%s/etc/.db_passwords/app.txt is readable or writable by other users "
				   "(mode %04o); fix: chmod 600 %s/etc/.db_passwords/app.txt",
				   root, (unsigned) modes[i], root);
		cr_assert_not_null(strstr(log, expect), "mode %04o: %s", (unsigned) modes[i], log);
	}
}

Test(secrets_files, missing_file_and_dir_are_not_errors)
{
	StrBuf pw = STRBUF_INIT;
	bool found = true;

	cr_assert(secrets_read_password_file(root, "app", &pw, &found));
	cr_assert_not(found);
	cr_assert(secrets_ensure_dir(root));
	found = true;
	cr_assert(secrets_read_password_file(root, "app", &pw, &found));
	cr_assert_not(found);
	sb_free_secret(&pw);
}

Test(secrets_files, content_rules)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;

	cr_assert(secrets_ensure_dir(root));
	write_raw("etc/.db_passwords/a.txt", "crlf\r\n", 0600);
	cr_assert(secrets_read_password_file(root, "a", &pw, &found));
	cr_assert_str_eq(sb_str(&pw), "crlf");

	write_raw("etc/.db_passwords/b.txt", "no-newline", 0600);
	cr_assert(secrets_read_password_file(root, "b", &pw, &found));
	cr_assert_str_eq(sb_str(&pw), "no-newline");

	write_raw("etc/.db_passwords/c.txt", "two\nlines\n", 0600);
	cr_assert_not(secrets_read_password_file(root, "c", &pw, &found));

	write_raw("etc/.db_passwords/d.txt", "\n", 0600);
	cr_assert_not(secrets_read_password_file(root, "d", &pw, &found));

	char big[SECRETS_PASSWORD_MAX + 2];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_raw("etc/.db_passwords/e.txt", big, 0600);
	cr_assert_not(secrets_read_password_file(root, "e", &pw, &found));
	sb_free_secret(&pw);
}

Test(secrets_files, symlinked_file_refused)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;
	char p[512], target[512];

	cr_assert(secrets_ensure_dir(root));
	str_format(target, sizeof(target), "%s/outside.txt", root);
	write_raw("outside.txt", "pw\n", 0600);
	str_format(p, sizeof(p), "%s/etc/.db_passwords/app.txt", root);
	cr_assert_eq(symlink(target, p), 0);
	cr_assert_not(secrets_read_password_file(root, "app", &pw, &found));
	cr_assert_not(found);
}

Test(secrets_files, fifo_refused_without_hanging)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;
	char p[512];

	cr_assert(secrets_ensure_dir(root));
	str_format(p, sizeof(p), "%s/etc/.db_passwords/app.txt", root);
	cr_assert_eq(mkfifo(p, 0600), 0);
	cr_assert_not(secrets_read_password_file(root, "app", &pw, &found));
}

Test(secrets_files, invalid_role_never_touches_disk)
{
	cr_assert_not(secrets_write_password_file(root, "../escape", "pw"));
	cr_assert_not(secrets_write_password_file(root, "x\"; DROP DATABASE y; --", "pw"));
	cr_assert_eq(count_entries(""), 0);
}
