/*
 * outfile.c — the streamed output file dumps go through; see fsutil.h.
 *
 * Only a finished dump carries its final name, so "the file exists" always
 * means "the file is complete", and its sidecar says what complete was.
 */
#include "pgfold/fsutil.h"
#include "pgfold/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
fs_out_open(FsOutFile *f, const char *final_path)
{
	f->is_open = false;
	f->fd = -1;
	f->bytes = 0;
	if (!str_copy(f->final_path, sizeof(f->final_path), final_path) ||
		!str_format(f->partial_path, sizeof(f->partial_path), "%s" FS_PARTIAL_SUFFIX, final_path))
	{
		log_error("path too long: \"%s\"", final_path);
		return false;
	}

	/* O_EXCL after an unlink, rather than O_TRUNC: a leftover keeps its
	 * old mode with O_TRUNC, and that mode may be wider than 0600. */
	if (unlink(f->partial_path) == 0)
		log_warn("removed \"%s\", left by an interrupted run", f->partial_path);
	else if (errno != ENOENT)
	{
		log_error("cannot remove leftover \"%s\": %m", f->partial_path);
		return false;
	}
	f->fd = open(f->partial_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f->fd < 0)
	{
		log_error("cannot create \"%s\": %m", f->partial_path);
		return false;
	}
	if (fchmod(f->fd, 0600) != 0)
	{
		log_error("cannot set mode 0600 on \"%s\": %m", f->partial_path);
		close(f->fd);
		unlink(f->partial_path);
		f->fd = -1;
		return false;
	}
	fs_sha256_init(&f->sha);
	f->is_open = true;
	return true;
}

bool
fs_out_write(FsOutFile *f, const void *bytes, size_t len)
{
	if (!f->is_open)
	{
		log_error("internal error: write to a streamed output file that is not open");
		return false;
	}
	if (!fs_write_full(f->fd, bytes, len, f->partial_path))
		return false;
	fs_sha256_update(&f->sha, bytes, len);
	f->bytes += len;
	return true;
}

void
fs_out_abort(FsOutFile *f)
{
	if (!f->is_open)
		return;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (unlink(f->partial_path) != 0 && errno != ENOENT)
		log_warn("cannot remove \"%s\": %m", f->partial_path);
	f->is_open = false;
}

bool
fs_out_finish(FsOutFile *f, char hex[FS_SHA256_HEX_LEN + 1])
{
	char digest[FS_SHA256_HEX_LEN + 1];

	if (!f->is_open)
	{
		log_error("internal error: finish of a streamed output file that is not open");
		return false;
	}
	if (fsync(f->fd) != 0)
	{
		log_error("cannot sync \"%s\": %m", f->partial_path);
		fs_out_abort(f);
		return false;
	}
	int rc = close(f->fd);

	f->fd = -1;
	if (rc != 0)
	{
		log_error("cannot close \"%s\": %m", f->partial_path);
		fs_out_abort(f);
		return false;
	}
	fs_sha256_final(&f->sha, digest);
	if (rename(f->partial_path, f->final_path) != 0)
	{
		log_error("cannot rename \"%s\" to \"%s\": %m", f->partial_path, f->final_path);
		fs_out_abort(f);
		return false;
	}
	f->is_open = false;

	/* A crash between the rename and the sidecar leaves a dump without a
	 * sidecar: verification then refuses it, which is the safe answer. */
	if (!fs_sha256_sidecar_write(f->final_path, digest))
	{
		/* An unverifiable dump is worse than none: the caller retries. */
		unlink(f->final_path);
		return false;
	}
	if (!fs_fsync_parent(f->final_path))
		return false;
	if (hex != NULL)
		memcpy(hex, digest, sizeof(digest));
	log_debug("wrote \"%s\" (%llu bytes, sha256 %s)", f->final_path,
			  (unsigned long long) f->bytes, digest);
	return true;
}
