/*
 * fsutil.h — files an operator must be able to trust after a crash or a
 * power loss: atomic replacement, fsync'd directories, bounded reads,
 * streamed SHA-256 and `sha256sum`-format sidecars, and the streamed output
 * file dumps are written through.
 *
 * Every function logs its own error (naming the path and what to do) and
 * returns false; callers just propagate. Nothing here allocates in
 * proportion to a file's size except fs_read_file, which is bounded.
 */
#ifndef PGFOLD_FSUTIL_H
#define PGFOLD_FSUTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sodium.h>

#include "pgfold/str.h"

/*
 * Temporary files are named ".<basename>.pgfold-tmp.<pid>" in the target's
 * directory, so a crash leaves something recognisable next to the file it
 * was about to replace; fs_clean_tmp removes the ones whose process is gone.
 */
#define FS_TMP_MARKER ".pgfold-tmp."

/* Suffix of the file a streamed output is written to until it is finished. */
#define FS_PARTIAL_SUFFIX ".partial"

/* Suffix of the checksum sidecar: "<file>.sha256". */
#define FS_SHA256_SUFFIX ".sha256"

/* Fixed buffer for every streamed copy and hash. */
#define FS_IO_BUFSIZE (128 * 1024)

/* ---- plain file operations ---------------------------------------------- */

/*
 * Replace path with bytes[len], atomically: a temporary file in the same
 * directory is created with exactly `mode` (O_EXCL, never briefly wider;
 * fchmod'ed to `mode` so the umask neither widens nor narrows it), written,
 * fsync'ed, renamed over path, then the directory is fsync'ed. A reader
 * sees the old content or the new content, never a mix, even after a power
 * loss. When path exists and we run as root, its owner and group are kept
 * (a service file owned by the operator stays theirs). A symlink at path is
 * followed: its target is replaced, the link stays.
 */
bool fs_write_atomic(const char *path, const void *bytes, size_t len, mode_t mode);

/*
 * fs_write_atomic with the mode and owner of `like`, an existing file (path
 * itself when a file is rewritten in place; the service file for its
 * rollback override): an operator's 0600 or 0640 stays so. When the bytes
 * hold a secret in clear (a literal password), group and others lose every
 * bit (at most 0600), whatever `like` allowed.
 */
bool fs_write_like(const char *path, const char *like, const void *bytes, size_t len,
				   bool secret);

/* Copy src to dst atomically (as above), streamed with a fixed buffer;
 * dst gets src's permission bits. */
bool fs_copy_file_atomic(const char *src, const char *dst);

/*
 * Read a regular file into out (reset first). More than max_bytes, a
 * missing file or anything but a regular file (a FIFO, a directory) is an
 * error. fs_read_file_if_exists is the same, except that a missing file
 * returns true with *exists = false and logs nothing.
 */
bool fs_read_file(const char *path, size_t max_bytes, StrBuf *out);
bool fs_read_file_if_exists(const char *path, size_t max_bytes, StrBuf *out,
							bool *exists);

/* mkdir -p; each directory created gets `mode` (exactly, not umask'ed) and
 * its parent is fsync'ed. An existing directory is fine, anything else at a
 * component is an error. */
bool fs_mkdir_p(const char *path, mode_t mode);

/* path relative to root ("services/x.yml") when it lies under root, else
 * path itself, into out; false when it does not fit. For messages, diffs
 * and the commands pgfold prints. */
bool fs_relative_to(const char *root, const char *path, char *out, size_t size);

/* Split path into its directory ("." when there is none) and basename; a
 * path ending in '/' or too long for the buffers is an error. */
bool fs_path_split(const char *path, char *dir, size_t dirsize,
				   char *base, size_t basesize);

/* fsync a directory, so renames and creations in it survive a power loss. */
bool fs_fsync_dir(const char *dir);

/* fsync the directory that contains path. */
bool fs_fsync_parent(const char *path);

/* Write all of buf to fd, retrying on EINTR and short writes. `what` names
 * the file in the error message (e.g. its path). */
bool fs_write_full(int fd, const void *buf, size_t len, const char *what);

/* Bytes available to an unprivileged user on the filesystem holding path;
 * when path does not exist yet, its nearest existing ancestor is asked. */
bool fs_free_space(const char *path, uint64_t *avail_bytes);

/* Does `name` (a basename) look like one of our temporary files? The pid it
 * carries is stored in *pid when not NULL. */
bool fs_is_tmp_name(const char *name, pid_t *pid);

/* Remove temporary files in dir left by processes that no longer exist;
 * returns how many were removed (warns about each), -1 on error. */
int fs_clean_tmp(const char *dir);

/* ---- files others must not reach (safe.c) -------------------------------- */

/*
 * Open path for appending (the journal, run logs), never through a symlink
 * planted at path (O_NOFOLLOW) and never anything but a regular file (a
 * FIFO there fails at once instead of hanging). A new file gets exactly
 * `mode`, whatever the umask, and its directory entry is fsync'ed. Returns
 * the close-on-exec fd, or -1 logged with `what` ("journal", "log file").
 */
int fs_open_append(const char *path, mode_t mode, const char *what);

/*
 * A file handed to a child by name (the admin's passfile), in a shared
 * directory such as /tmp: a fresh mkdtemp directory (0700, random name)
 * under base holds it, created O_EXCL|O_NOFOLLOW with mode 0600, so no
 * link planted at a predictable name can redirect it. fs_private_remove
 * removes file and directory; it is safe on FS_PRIVATE_INIT and twice.
 * A failed write leaves nothing behind.
 */
typedef struct FsPrivateFile
{
	char dir[PATH_MAX];
	char path[PATH_MAX];
} FsPrivateFile;

#define FS_PRIVATE_INIT { "", "" }

bool fs_private_write(FsPrivateFile *pf, const char *base, const char *name,
					  const void *bytes, size_t len);
void fs_private_remove(FsPrivateFile *pf);

/*
 * May pgfold replace path, a file of the stack rooted at root (an absolute
 * realpath)? When path, or a directory on its way, is a symlink, its
 * resolved target must lie inside root and be owned by root's owner: a
 * link elsewhere would have pgfold write, as root, where the stack's owner
 * could not. A missing path is judged by its directory. True when fine;
 * else false with one line naming the link and its target in why. Logs
 * nothing: pre-flight checks report it.
 */
bool fs_link_check(const char *root, const char *path, char *why, size_t whysize);

/* ---- SHA-256 ------------------------------------------------------------ */

#define FS_SHA256_HEX_LEN 64

typedef struct FsSha256
{
	crypto_hash_sha256_state state;
} FsSha256;

void fs_sha256_init(FsSha256 *ctx);
void fs_sha256_update(FsSha256 *ctx, const void *bytes, size_t len);
/* Lower-case hex digest, NUL-terminated; the context must be re-initialised
 * before it is used again. */
void fs_sha256_final(FsSha256 *ctx, char hex[FS_SHA256_HEX_LEN + 1]);

/* Hash of a whole buffer, for small things. */
void fs_sha256_bytes(const void *bytes, size_t len, char hex[FS_SHA256_HEX_LEN + 1]);

/* Hash of a file, streamed with a fixed buffer; size in *bytes if not NULL. */
bool fs_sha256_file(const char *path, char hex[FS_SHA256_HEX_LEN + 1],
					uint64_t *bytes);

/* Is s exactly 64 hex digits? (upper case accepted) */
bool fs_sha256_hex_valid(const char *s);

/*
 * Sidecars in `sha256sum` format, "<64 hex>  <basename>\n", in
 * "<file>.sha256", so `sha256sum -c dump.sha256` works from the file's
 * directory. Write is atomic (mode 0600). Read parses one line; the name in
 * it must be the file's basename. Verify recomputes the file's digest and
 * logs an error naming both digests on mismatch, or what is wrong with a
 * missing or malformed sidecar.
 */
bool fs_sha256_sidecar_path(const char *file_path, char *out, size_t outsize);
bool fs_sha256_sidecar_write(const char *file_path, const char hex[FS_SHA256_HEX_LEN + 1]);
bool fs_sha256_sidecar_read(const char *file_path, char hex[FS_SHA256_HEX_LEN + 1]);
bool fs_sha256_sidecar_verify(const char *file_path);

/* ---- streamed output file ----------------------------------------------- */

/*
 * A dump being written: bytes go to "<final>.partial" (0600) and into a
 * running SHA-256; finish makes it "<final>" plus "<final>.sha256", abort
 * leaves nothing. Memory is constant whatever the size. A finished file is
 * therefore always complete: a crash leaves only a ".partial", which the
 * next open of the same final path removes.
 *
 *   FsOutFile out = FS_OUT_INIT;
 *   if (!fs_out_open(&out, path)) return false;
 *   while (...) if (!fs_out_write(&out, buf, n)) { fs_out_abort(&out); return false; }
 *   if (!fs_out_finish(&out, hex)) return false;   // aborts itself on failure
 *
 * fs_out_abort is safe on FS_OUT_INIT, after finish and twice.
 */
typedef struct FsOutFile
{
	bool     is_open;
	int      fd;
	uint64_t bytes;                    /* written so far */
	FsSha256 sha;
	char     final_path[PATH_MAX];
	char     partial_path[PATH_MAX];
} FsOutFile;

#define FS_OUT_INIT { .is_open = false, .fd = -1 }

/* Replaces a leftover "<final>.partial"; an existing <final> is replaced
 * only when finish succeeds. */
bool fs_out_open(FsOutFile *f, const char *final_path);
bool fs_out_write(FsOutFile *f, const void *bytes, size_t len);
/* fsync, close, rename to final, write the sidecar, fsync the directory.
 * hex (may be NULL) receives the digest. On failure the partial is removed,
 * and so is the final file when its sidecar could not be written. */
bool fs_out_finish(FsOutFile *f, char hex[FS_SHA256_HEX_LEN + 1]);
void fs_out_abort(FsOutFile *f);

#endif
