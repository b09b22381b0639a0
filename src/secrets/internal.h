/*
 * internal.h — password-file primitives shared by the files of src/secrets.
 *
 * Everything works relative to an open directory descriptor of
 * <root>/etc/.db_passwords (opened O_NOFOLLOW), so a path swapped under us
 * between checks cannot redirect a write.
 */
#ifndef PGFOLD_SECRETS_INTERNAL_H
#define PGFOLD_SECRETS_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgfold/str.h"

typedef struct SecretsDir
{
	int  fd;
	char path[PATH_MAX];
} SecretsDir;

/* Open the password directory. create: make it (and <root>/etc) when
 * missing and tighten a loose mode to 0700. Without create, a missing
 * directory sets *missing (when not NULL) and returns false quietly. */
bool secrets_dir_open(const char *root, bool create, SecretsDir *dir,
					  bool *missing);
void secrets_dir_close(SecretsDir *dir);

/* New file `name` (O_EXCL, 0600) holding password + "\n", fsynced. */
bool secrets_file_create(SecretsDir *dir, const char *name, const char *password);

/* renameat within the directory, then fsync the directory. */
bool secrets_file_rename(SecretsDir *dir, const char *from, const char *to);

/* Read `name` with the checks of secrets_read_password_file. */
bool secrets_file_read(SecretsDir *dir, const char *name, StrBuf *out, bool *found);

/* unlinkat; ENOENT is not an error. */
bool secrets_file_remove(SecretsDir *dir, const char *name);

/* Give an empty StrBuf room for n bytes up front, so a secret appended
 * later is never left behind in memory freed by a realloc. */
void secrets_sb_prealloc(StrBuf *sb, size_t n);

#endif
