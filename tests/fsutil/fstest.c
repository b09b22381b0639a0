/*
 * fstest.c — see fstest.h.
 */
#include "fsutil/fstest.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgfold/str.h"

void
fst_mkdtemp(char *dir)
{
	const char *tmp = getenv("TMPDIR");

	cr_assert(str_format(dir, PATH_MAX, "%s/pgfold-test-XXXXXX", tmp && *tmp ? tmp : "/tmp"));
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	remove(path);
	return 0;
}

void
fst_rm_rf(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
fst_join(char *out, const char *dir, const char *name)
{
	cr_assert(str_format(out, PATH_MAX, "%s/%s", dir, name));
}

void
fst_put(const char *path, const char *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "fopen %s", path);
	cr_assert_eq(fwrite(bytes, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

char *
fst_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	StrBuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append(&sb, buf, n);
	fclose(f);
	if (len != NULL)
		*len = sb.len;
	return sb_steal(&sb);
}

int
fst_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	cr_assert_not_null(d);
	for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

bool
fst_shell_line(const char *cmd, char *out, size_t outsize)
{
	FILE *p = popen(cmd, "r");

	if (p == NULL)
		return false;
	bool ok = fgets(out, (int) outsize, p) != NULL;

	if (pclose(p) != 0)
		ok = false;
	if (ok)
		out[strcspn(out, "\n")] = '\0';
	return ok;
}
