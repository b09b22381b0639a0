/*
 * fuzz_http_head.c — the HTTP reply head parser of the engine client's
 * exec hijack (src/docker/reply_head.c). Whatever the bytes: no read past
 * them, a head ends inside them right after its blank line, a status is
 * 0 or 100-599, a length is -1 or in range, the transfer encoding is a
 * NUL-terminated string; feeding a prefix never finds a longer head.
 */
#include "fuzz.h"

#include <string.h>

#include "../../src/docker/exec_int.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();

	const char *b = (const char *) data;
	DockerReplyHead rh;

	if (!docker_reply_head_parse(b, size, &rh))
	{
		FUZZ_CHECK(size < 4 || memmem(b, size, "\r\n\r\n", 4) == NULL, "a head was missed");
		return 0;
	}
	FUZZ_CHECK(rh.head_end >= 4 && rh.head_end <= size, "head_end %zu of %zu", rh.head_end, size);
	FUZZ_CHECK(memcmp(b + rh.head_end - 4, "\r\n\r\n", 4) == 0, "head does not end a blank line");
	FUZZ_CHECK(rh.status == 0 || (rh.status >= 100 && rh.status <= 599), "status %ld", rh.status);
	FUZZ_CHECK(rh.content_length >= -1 && rh.content_length <= 64L * 1024 * 1024,
			   "content length %ld", rh.content_length);
	FUZZ_CHECK(memchr(rh.transfer_encoding, '\0', sizeof(rh.transfer_encoding)) != NULL,
			   "transfer encoding not terminated");
	FUZZ_CHECK(rh.has_transfer_encoding || rh.transfer_encoding[0] == '\0', "stray encoding");

	/* the head alone parses the same */
	DockerReplyHead again;

	FUZZ_CHECK(docker_reply_head_parse(b, rh.head_end, &again), "the head alone is incomplete");
	FUZZ_CHECK(again.head_end == rh.head_end && again.status == rh.status &&
			   again.content_length == rh.content_length, "the head alone parses otherwise");
	/* one byte short of it is no head */
	FUZZ_CHECK(!docker_reply_head_parse(b, rh.head_end - 1, &again), "a head before the head");
	return 0;
}
