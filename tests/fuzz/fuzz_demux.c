/*
 * fuzz_demux.c — the exec frame demultiplexer (src/docker/demux.c).
 * Input: byte 0 picks where the stream is split into reads; the rest is
 * the stream. Fed whole and fed in pieces, the demultiplexer must hand the
 * sink the same bytes on the same streams, stop at the same place, and
 * agree on whether the stream ended on a frame boundary.
 */
#include "fuzz.h"

#include <string.h>

#include "pgfold/docker.h"
#include "pgfold/str.h"

typedef struct Out
{
	StrBuf bytes[3];      /* by stream 1, 2 */
	size_t calls;
} Out;

static bool
sink(void *ctx, int stream, const char *buf, size_t len)
{
	Out *o = ctx;

	FUZZ_CHECK(stream == 1 || stream == 2, "stream %d", stream);
	FUZZ_CHECK(len > 0, "an empty piece");
	sb_append(&o->bytes[stream], buf, len);
	o->calls++;
	return true;
}

static void
out_free(Out *o)
{
	for (int i = 0; i < 3; i++)
		sb_free(&o->bytes[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();
	if (size < 1)
		return 0;

	size_t step = (size_t) data[0] % 17 + 1;
	const char *s = (const char *) data + 1;
	size_t n = size - 1;
	DockerDemux whole, parts;
	Out ow = { 0 }, op = { 0 };

	docker_demux_init(&whole);
	docker_demux_init(&parts);

	bool okw = docker_demux_feed(&whole, s, n, sink, &ow);
	bool okp = true;

	for (size_t off = 0; off < n && okp; off += step)
		okp = docker_demux_feed(&parts, s + off, n - off < step ? n - off : step, sink, &op);

	FUZZ_CHECK(okw == okp, "whole %d, in pieces of %zu %d", okw, step, okp);
	for (int i = 1; i < 3; i++)
	{
		FUZZ_CHECK(ow.bytes[i].len == op.bytes[i].len, "stream %d: %zu vs %zu bytes", i,
				   ow.bytes[i].len, op.bytes[i].len);
		FUZZ_CHECK(ow.bytes[i].len == 0 ||
				   memcmp(ow.bytes[i].data, op.bytes[i].data, ow.bytes[i].len) == 0,
				   "stream %d differs", i);
	}
	FUZZ_CHECK(ow.bytes[1].len + ow.bytes[2].len <= n, "more payload than input");
	if (okw)
		FUZZ_CHECK(docker_demux_at_boundary(&whole) == docker_demux_at_boundary(&parts),
				   "boundary disagrees");
	else
		FUZZ_CHECK(whole.header_have == 8 && parts.header_have == 8,
				   "a refused stream keeps its bad header");
	out_free(&ow);
	out_free(&op);
	return 0;
}
