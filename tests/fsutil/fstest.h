/*
 * fstest.h — helpers shared by the fsutil and journal tests: scratch
 * directories (mkdtemp, removed afterwards) and small file helpers.
 */
#ifndef PGFOLD_TESTS_FSTEST_H
#define PGFOLD_TESTS_FSTEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Create a fresh directory under $TMPDIR (or /tmp) into dir[PATH_MAX]. */
void fst_mkdtemp(char *dir);

/* rm -rf dir; no symlink is followed. */
void fst_rm_rf(const char *dir);

/* A Criterion suite whose every test gets a fresh scratch directory in the
 * file's `static char dir[PATH_MAX]`, removed after the test. */
#define FST_SCRATCH_SUITE(suite) \
	static char dir[PATH_MAX]; \
	static void fst_scratch_setup(void) { fst_mkdtemp(dir); } \
	static void fst_scratch_teardown(void) { fst_rm_rf(dir); } \
	TestSuite(suite, .init = fst_scratch_setup, .fini = fst_scratch_teardown)

/* dir + "/" + name into out[PATH_MAX]. */
void fst_join(char *out, const char *dir, const char *name);

/* Write bytes to path non-atomically (test fixtures). */
void fst_put(const char *path, const char *bytes, size_t len);

/* Whole file into a malloc'd NUL-terminated buffer, NULL if missing. */
char *fst_slurp(const char *path, size_t *len);

/* Entries in dir other than . and .. */
int fst_count_entries(const char *dir);

/* Run a shell command and capture the first line of its stdout. */
bool fst_shell_line(const char *cmd, char *out, size_t outsize);

#endif
