/*
 * sha256.c — streamed SHA-256 (libsodium) and `sha256sum`-format sidecars;
 * see fsutil.h.
 *
 * A dump is only worth restoring from if it is the dump that was written:
 * the sidecar is what a later rollback (or the operator, with
 * `sha256sum -c`) checks before trusting it.
 */
#include "pgfold/fsutil.h"
#include "pgfold/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A sidecar is one line; anything much longer is not one of ours. */
#define SIDECAR_MAX (FS_SHA256_HEX_LEN + 2 + NAME_MAX + 64)

void
fs_sha256_init(FsSha256 *ctx)
{
	/* Idempotent; libsodium wants it before first use of its primitives. */
	if (sodium_init() < 0)
	{
		log_fatal("libsodium cannot be initialised");
		abort();
	}
	crypto_hash_sha256_init(&ctx->state);
}

void
fs_sha256_update(FsSha256 *ctx, const void *bytes, size_t len)
{
	if (len > 0)
		crypto_hash_sha256_update(&ctx->state, bytes, len);
}

void
fs_sha256_final(FsSha256 *ctx, char hex[FS_SHA256_HEX_LEN + 1])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_final(&ctx->state, digest);
	sodium_bin2hex(hex, FS_SHA256_HEX_LEN + 1, digest, sizeof(digest));
}

void
fs_sha256_bytes(const void *bytes, size_t len, char hex[FS_SHA256_HEX_LEN + 1])
{
	FsSha256 ctx;

	fs_sha256_init(&ctx);
	fs_sha256_update(&ctx, bytes, len);
	fs_sha256_final(&ctx, hex);
}

bool
fs_sha256_file(const char *path, char hex[FS_SHA256_HEX_LEN + 1], uint64_t *bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
	{
		log_error("cannot open \"%s\" to checksum it: %m", path);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		log_error("cannot checksum \"%s\": not a regular file", path);
		close(fd);
		return false;
	}

	FsSha256 ctx;
	unsigned char *buf = xcalloc(1, FS_IO_BUFSIZE);
	uint64_t total = 0;
	bool ok = true;

	fs_sha256_init(&ctx);
	for (;;)
	{
		ssize_t n = read(fd, buf, FS_IO_BUFSIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			log_error("cannot read \"%s\": %m", path);
			ok = false;
			break;
		}
		if (n == 0)
			break;
		fs_sha256_update(&ctx, buf, (size_t) n);
		total += (uint64_t) n;
	}
	free(buf);
	close(fd);
	if (!ok)
		return false;
	fs_sha256_final(&ctx, hex);
	if (bytes != NULL)
		*bytes = total;
	return true;
}

bool
fs_sha256_hex_valid(const char *s)
{
	for (int i = 0; i < FS_SHA256_HEX_LEN; i++)
		if (!isxdigit((unsigned char) s[i]))
			return false;
	return s[FS_SHA256_HEX_LEN] == '\0';
}

bool
fs_sha256_sidecar_path(const char *file_path, char *out, size_t outsize)
{
	if (!str_format(out, outsize, "%s" FS_SHA256_SUFFIX, file_path))
	{
		log_error("path too long: \"%s\"", file_path);
		return false;
	}
	return true;
}

/* sha256sum escapes names with '\\' or '\n'; ours never need it. */
static bool
plain_name(const char *base)
{
	return strpbrk(base, "\\\n\r") == NULL;
}

bool
fs_sha256_sidecar_write(const char *file_path, const char hex[FS_SHA256_HEX_LEN + 1])
{
	char dir[PATH_MAX], base[NAME_MAX + 1], side[PATH_MAX];
	StrBuf line = STRBUF_INIT;

	if (!fs_path_split(file_path, dir, sizeof(dir), base, sizeof(base)) ||
		!fs_sha256_sidecar_path(file_path, side, sizeof(side)))
		return false;
	if (!fs_sha256_hex_valid(hex) || !plain_name(base))
	{
		log_error("cannot write a checksum sidecar for \"%s\": invalid digest or file name",
				  file_path);
		return false;
	}
	for (int i = 0; i < FS_SHA256_HEX_LEN; i++)
		sb_appendc(&line, (char) tolower((unsigned char) hex[i]));
	sb_appendf(&line, "  %s\n", base);

	bool ok = fs_write_atomic(side, line.data, line.len, 0600);

	sb_free(&line);
	return ok;
}

/* Parse "<64 hex>  <name>\n" (or sha256sum's binary-mode " *<name>"). */
static bool
parse_sidecar(const char *side, const char *text, const char *base,
			  char hex[FS_SHA256_HEX_LEN + 1])
{
	size_t len = strlen(text);

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len < FS_SHA256_HEX_LEN + 3 || memchr(text, '\n', len) != NULL)
	{
		log_error("checksum sidecar \"%s\" is malformed: expected one line "
				  "\"<64 hex digits>  <file name>\"", side);
		return false;
	}
	for (int i = 0; i < FS_SHA256_HEX_LEN; i++)
	{
		if (!isxdigit((unsigned char) text[i]))
		{
			log_error("checksum sidecar \"%s\" is malformed: \"%.*s\" is not a SHA-256 digest",
					  side, FS_SHA256_HEX_LEN, text);
			return false;
		}
		hex[i] = (char) tolower((unsigned char) text[i]);
	}
	hex[FS_SHA256_HEX_LEN] = '\0';

	const char *sep = text + FS_SHA256_HEX_LEN;

	if (sep[0] != ' ' || (sep[1] != ' ' && sep[1] != '*'))
	{
		log_error("checksum sidecar \"%s\" is malformed: expected two spaces after the digest",
				  side);
		return false;
	}

	/* The name recorded may carry a directory; its basename must be ours. */
	const char *name = sep + 2;
	size_t name_len = len - (size_t) (name - text);
	const char *slash = memrchr(name, '/', name_len);

	if (slash != NULL)
	{
		name_len -= (size_t) (slash + 1 - name);
		name = slash + 1;
	}
	if (name_len != strlen(base) || memcmp(name, base, name_len) != 0)
	{
		log_error("checksum sidecar \"%s\" is for \"%.*s\", not \"%s\"",
				  side, (int) (len - FS_SHA256_HEX_LEN - 2), sep + 2, base);
		return false;
	}
	return true;
}

bool
fs_sha256_sidecar_read(const char *file_path, char hex[FS_SHA256_HEX_LEN + 1])
{
	char dir[PATH_MAX], base[NAME_MAX + 1], side[PATH_MAX];
	StrBuf text = STRBUF_INIT;
	bool exists = false;

	if (!fs_path_split(file_path, dir, sizeof(dir), base, sizeof(base)) ||
		!fs_sha256_sidecar_path(file_path, side, sizeof(side)))
		return false;
	if (!fs_read_file_if_exists(side, SIDECAR_MAX, &text, &exists))
		return false;
	if (!exists)
	{
		log_error("checksum sidecar \"%s\" is missing: \"%s\" cannot be verified", side, file_path);
		return false;
	}
	if (memchr(text.data ? text.data : "", '\0', text.len) != NULL)
	{
		log_error("checksum sidecar \"%s\" is malformed: it contains NUL bytes", side);
		sb_free(&text);
		return false;
	}

	bool ok = parse_sidecar(side, sb_str(&text), base, hex);

	sb_free(&text);
	return ok;
}

bool
fs_sha256_sidecar_verify(const char *file_path)
{
	char expected[FS_SHA256_HEX_LEN + 1], actual[FS_SHA256_HEX_LEN + 1];
	uint64_t bytes = 0;

	if (!fs_sha256_sidecar_read(file_path, expected) ||
		!fs_sha256_file(file_path, actual, &bytes))
		return false;
	if (strcmp(expected, actual) != 0)
	{
		log_error("checksum mismatch for \"%s\" (%llu bytes): the sidecar records %s, "
				  "the file hashes to %s; the file was changed or damaged after it was "
				  "written, do not restore from it", file_path,
				  (unsigned long long) bytes, expected, actual);
		return false;
	}
	log_debug("checksum of \"%s\" verified: %s", file_path, actual);
	return true;
}
