/*
 * test_outfile.c — the streamed output file dumps are written through.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil/fstest.h"
#include "pgfold/fsutil.h"

FST_SCRATCH_SUITE(fsutil_outfile);

static void
fill(char *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char) ((i + seed) * 2654435761u >> 11);
}

Test(fsutil_outfile, finish_renames_and_writes_sidecar)
{
	char final[PATH_MAX], partial[PATH_MAX], hex[FS_SHA256_HEX_LEN + 1];
	char again[FS_SHA256_HEX_LEN + 1];
	FsOutFile out = FS_OUT_INIT;
	char chunk[10000];
	struct stat st;
	uint64_t bytes = 0;

	fst_join(final, dir, "docmost_20261121T101500Z.dump");
	fst_join(partial, dir, "docmost_20261121T101500Z.dump.partial");
	umask(0);
	cr_assert(fs_out_open(&out, final));
	umask(022);
	cr_assert_eq(stat(partial, &st), 0, "bytes go to the .partial first");
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_neq(access(final, F_OK), 0, "no final name before finish");

	for (unsigned i = 0; i < 50; i++)
	{
		fill(chunk, sizeof(chunk), i);
		cr_assert(fs_out_write(&out, chunk, sizeof(chunk) - i));
	}
	cr_assert_eq(out.bytes, 50 * sizeof(chunk) - 49 * 25);
	cr_assert(fs_out_finish(&out, hex));

	cr_assert_neq(access(partial, F_OK), 0, "the partial is gone");
	cr_assert_eq(stat(final, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert(fs_sha256_file(final, again, &bytes));
	cr_assert_str_eq(hex, again);
	cr_assert_eq(bytes, out.bytes);
	cr_assert(fs_sha256_sidecar_verify(final));
	cr_assert_eq(fst_count_entries(dir), 2, "the dump and its sidecar, nothing else");

	fs_out_abort(&out);   /* after finish: a no-op */
	cr_assert_eq(access(final, F_OK), 0);
}

Test(fsutil_outfile, abort_leaves_nothing)
{
	char final[PATH_MAX];
	FsOutFile out = FS_OUT_INIT;
	char chunk[4096];

	fs_out_abort(&out);   /* on FS_OUT_INIT: a no-op */
	fst_join(final, dir, "x.dump");
	cr_assert(fs_out_open(&out, final));
	fill(chunk, sizeof(chunk), 1);
	cr_assert(fs_out_write(&out, chunk, sizeof(chunk)));
	fs_out_abort(&out);
	fs_out_abort(&out);
	cr_assert_eq(fst_count_entries(dir), 0);
	cr_assert_not(fs_out_write(&out, chunk, 1), "closed: refused");
}

Test(fsutil_outfile, existing_final_survives_an_abort)
{
	char final[PATH_MAX];
	FsOutFile out = FS_OUT_INIT;

	fst_join(final, dir, "x.dump");
	fst_put(final, "previous", 8);
	cr_assert(fs_out_open(&out, final));
	cr_assert(fs_out_write(&out, "new", 3));
	fs_out_abort(&out);

	char *got = fst_slurp(final, NULL);

	cr_assert_str_eq(got, "previous");
	free(got);
}

Test(fsutil_outfile, leftover_partial_is_replaced_with_0600)
{
	char final[PATH_MAX], partial[PATH_MAX];
	FsOutFile out = FS_OUT_INIT;
	struct stat st;

	fst_join(final, dir, "y.dump");
	fst_join(partial, dir, "y.dump.partial");
	fst_put(partial, "stale bytes from a crashed run", 30);
	cr_assert_eq(chmod(partial, 0644), 0);
	cr_assert(fs_out_open(&out, final));
	cr_assert_eq(stat(partial, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 0);
	cr_assert(fs_out_write(&out, "fresh", 5));
	cr_assert(fs_out_finish(&out, NULL));

	char *got = fst_slurp(final, NULL);

	cr_assert_str_eq(got, "fresh");
	free(got);
}

Test(fsutil_outfile, empty_output_is_valid)
{
	char final[PATH_MAX], hex[FS_SHA256_HEX_LEN + 1];
	FsOutFile out = FS_OUT_INIT;

	fst_join(final, dir, "empty.dump");
	cr_assert(fs_out_open(&out, final));
	cr_assert(fs_out_finish(&out, hex));
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cr_assert(fs_sha256_sidecar_verify(final));
}

Test(fsutil_outfile, open_in_missing_dir_fails)
{
	char final[PATH_MAX];
	FsOutFile out = FS_OUT_INIT;

	fst_join(final, dir, "no/such/dir/z.dump");
	cr_assert_not(fs_out_open(&out, final));
	fs_out_abort(&out);
	cr_assert_eq(fst_count_entries(dir), 0);
}
