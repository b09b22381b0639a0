/*
 * test_sha256.c — digests against known vectors and sha256sum, sidecars.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"

static char dir[PATH_MAX];

static void
setup(void)
{
	fst_mkdtemp(dir);
}

static void
teardown(void)
{
	log_close_file();
	fst_rm_rf(dir);
}

TestSuite(fsutil_sha256, .init = setup, .fini = teardown);

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_448   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

Test(fsutil_sha256, known_vectors)
{
	char hex[FS_SHA256_HEX_LEN + 1];
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	fs_sha256_bytes("", 0, hex);
	cr_assert_str_eq(hex, SHA_EMPTY);
	fs_sha256_bytes("abc", 3, hex);
	cr_assert_str_eq(hex, SHA_ABC);
	fs_sha256_bytes(m448, strlen(m448), hex);
	cr_assert_str_eq(hex, SHA_448);
}

Test(fsutil_sha256, incremental_matches_one_shot)
{
	FsSha256 ctx;
	char hex[FS_SHA256_HEX_LEN + 1];
	char chunk[1000];

	/* One million 'a' in uneven pieces. */
	memset(chunk, 'a', sizeof(chunk));
	fs_sha256_init(&ctx);
	for (size_t done = 0, step = 1; done < 1000000; step = step % 997 + 1)
	{
		size_t n = step < 1000000 - done ? step : 1000000 - done;

		fs_sha256_update(&ctx, chunk, n);
		done += n;
	}
	fs_sha256_final(&ctx, hex);
	cr_assert_str_eq(hex, SHA_MILLION_A);
}

static void
make_file(char *path, const char *name, size_t n)
{
	char *data = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		data[i] = (char) ((i * 2654435761u) >> 13);
	fst_join(path, dir, name);
	fst_put(path, data, n);
	free(data);
}

Test(fsutil_sha256, file_matches_sha256sum)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64], want[128];
	char hex[FS_SHA256_HEX_LEN + 1];
	uint64_t bytes = 0;
	size_t n = 2 * FS_IO_BUFSIZE + 12345;

	make_file(path, "gen.bin", n);
	cr_assert(str_format(cmd, sizeof(cmd), "sha256sum '%s'", path));
	cr_assert(fst_shell_line(cmd, want, sizeof(want)), "sha256sum must be installed");
	want[FS_SHA256_HEX_LEN] = '\0';

	cr_assert(fs_sha256_file(path, hex, &bytes));
	cr_assert_str_eq(hex, want);
	cr_assert_eq(bytes, n);

	make_file(path, "empty.bin", 0);
	cr_assert(fs_sha256_file(path, hex, NULL));
	cr_assert_str_eq(hex, SHA_EMPTY);

	fst_join(path, dir, "missing.bin");
	cr_assert_not(fs_sha256_file(path, hex, NULL));
}

Test(fsutil_sha256, sidecar_format_is_sha256sum)
{
	char path[PATH_MAX], side[PATH_MAX], cmd[PATH_MAX + 64], line[128];
	char hex[FS_SHA256_HEX_LEN + 1];
	struct stat st;

	make_file(path, "docmost.dump", 70000);
	cr_assert(fs_sha256_file(path, hex, NULL));
	cr_assert(fs_sha256_sidecar_write(path, hex));
	cr_assert(fs_sha256_sidecar_path(path, side, sizeof(side)));

	char *got = fst_slurp(side, NULL);
	char want[256];

	str_format(want, sizeof(want), "%s  docmost.dump\n", hex);
	cr_assert_str_eq(got, want);
	free(got);
	cr_assert_eq(stat(side, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	/* The operator can check it with the standard tool. */
	cr_assert(str_format(cmd, sizeof(cmd), "cd '%s' && sha256sum -c docmost.dump.sha256", dir));
	cr_assert(fst_shell_line(cmd, line, sizeof(line)));
	cr_assert_str_eq(line, "docmost.dump: OK");
	cr_assert(fs_sha256_sidecar_verify(path));
}

/* Errors go to a log file so the message can be inspected. */
static char *
verify_with_log(const char *path, bool *ok)
{
	char logpath[PATH_MAX];

	fst_join(logpath, dir, "verify.log");
	unlink(logpath);
	cr_assert(log_open_file(logpath));
	*ok = fs_sha256_sidecar_verify(path);
	log_close_file();

	char *text = fst_slurp(logpath, NULL);

	unlink(logpath);
	return text;
}

Test(fsutil_sha256, sidecar_mismatch_names_both_digests)
{
	char path[PATH_MAX], before[FS_SHA256_HEX_LEN + 1], after[FS_SHA256_HEX_LEN + 1];
	bool ok = true;

	make_file(path, "app.dump", 5000);
	cr_assert(fs_sha256_file(path, before, NULL));
	cr_assert(fs_sha256_sidecar_write(path, before));

	/* Flip one byte in the middle. */
	FILE *f = fopen(path, "r+b");

	cr_assert_not_null(f);
	fseek(f, 2500, SEEK_SET);
	int c = fgetc(f);

	fseek(f, 2500, SEEK_SET);
	fputc(c ^ 1, f);
	fclose(f);
	cr_assert(fs_sha256_file(path, after, NULL));

	char *log = verify_with_log(path, &ok);

	cr_assert_not(ok);
	cr_assert_not_null(strstr(log, "checksum mismatch"), "%s", log);
	cr_assert_not_null(strstr(log, before), "%s", log);
	cr_assert_not_null(strstr(log, after), "%s", log);
	free(log);
}

Test(fsutil_sha256, sidecar_missing_or_malformed)
{
	char path[PATH_MAX], side[PATH_MAX], hex[FS_SHA256_HEX_LEN + 1];
	bool ok = true;

	make_file(path, "x.dump", 100);
	cr_assert(fs_sha256_file(path, hex, NULL));
	cr_assert(fs_sha256_sidecar_path(path, side, sizeof(side)));

	char *log = verify_with_log(path, &ok);

	cr_assert_not(ok);
	cr_assert_not_null(strstr(log, "missing"), "%s", log);
	free(log);

	char bad[7][256];

	str_format(bad[0], sizeof(bad[0]), "%s", "");
	str_format(bad[1], sizeof(bad[1]), "%s", "not a checksum\n");
	str_format(bad[2], sizeof(bad[2]), "%.63s  x.dump\n", hex);      /* digest too short */
	str_format(bad[3], sizeof(bad[3]), "%s x.dump\n", hex);          /* one space */
	str_format(bad[4], sizeof(bad[4]), "%s  other.dump\n", hex);     /* another file's */
	str_format(bad[5], sizeof(bad[5]), "%s  x.dump\n%s  x.dump\n", hex, hex);
	str_format(bad[6], sizeof(bad[6]), "%s  x.dump\nz", hex);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		fst_put(side, bad[i], strlen(bad[i]));
		cr_assert_not(fs_sha256_sidecar_verify(path), "accepted malformed sidecar %zu", i);
	}
	fst_put(side, "aa\0bb", 5);
	cr_assert_not(fs_sha256_sidecar_verify(path));
}

Test(fsutil_sha256, sidecar_variants_sha256sum_accepts)
{
	char path[PATH_MAX], side[PATH_MAX], hex[FS_SHA256_HEX_LEN + 1], text[256];

	make_file(path, "y.dump", 100);
	cr_assert(fs_sha256_file(path, hex, NULL));
	cr_assert(fs_sha256_sidecar_path(path, side, sizeof(side)));

	/* Binary-mode marker, a directory prefix, upper case, no final newline. */
	str_format(text, sizeof(text), "%s *./y.dump\n", hex);
	fst_put(side, text, strlen(text));
	cr_assert(fs_sha256_sidecar_verify(path));

	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char) (*p - 'a' + 'A');
	str_format(text, sizeof(text), "%s  /backups/y.dump", hex);
	fst_put(side, text, strlen(text));
	cr_assert(fs_sha256_sidecar_verify(path));
}

Test(fsutil_sha256, hex_validation)
{
	cr_assert(fs_sha256_hex_valid(SHA_ABC));
	cr_assert_not(fs_sha256_hex_valid("abc"));
	cr_assert_not(fs_sha256_hex_valid(SHA_ABC "0"));
	char bad[] = SHA_ABC;

	bad[10] = 'g';
	cr_assert_not(fs_sha256_hex_valid(bad));
}
