/*
 * test_demux.c — the frame demultiplexer on its own: arbitrary splits,
 * empty and huge frames, truncation, corrupt headers.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/docker.h"

typedef struct Collected
{
	StrBuf  out;
	StrBuf  err;
	size_t  calls;
	size_t  total;          /* bytes seen, for huge frames (not kept) */
	bool    keep;           /* append to out/err */
	bool    refuse;         /* sink returns false */
	bool    saw_bad_byte;   /* huge frame: a byte that isn't the pattern */
} Collected;

static bool
collect(void *ctx, int stream, const char *buf, size_t len)
{
	Collected *c = ctx;

	cr_assert(len > 0, "sink called with an empty piece");
	cr_assert(stream == 1 || stream == 2);
	c->calls++;
	if (c->refuse)
		return false;
	if (c->keep)
		sb_append(stream == 1 ? &c->out : &c->err, buf, len);
	else
	{
		for (size_t i = 0; i < len; i++)
			if ((unsigned char) buf[i] != (unsigned char) ((c->total + i) % 251))
				c->saw_bad_byte = true;
	}
	c->total += len;
	return true;
}

static void
frame(StrBuf *sb, int stream, const char *payload, size_t len)
{
	unsigned char h[8] = { (unsigned char) stream, 0, 0, 0,
		(unsigned char) (len >> 24), (unsigned char) (len >> 16),
		(unsigned char) (len >> 8), (unsigned char) len };

	sb_append(sb, (const char *) h, 8);
	sb_append(sb, payload, len);
}

static void
sample(StrBuf *sb)
{
	frame(sb, 1, "hello ", 6);
	frame(sb, 2, "warning: x\n", 11);
	frame(sb, 1, "", 0);
	frame(sb, 1, "world\n", 6);
	frame(sb, 2, "", 0);
	frame(sb, 2, "bye", 3);
}

static void
check_sample(Collected *c)
{
	cr_assert_eq(c->out.len, 12);
	cr_assert(memcmp(c->out.data, "hello world\n", 12) == 0);
	cr_assert_eq(c->err.len, 14);
	cr_assert(memcmp(c->err.data, "warning: x\nbye", 14) == 0);
}

Test(docker_demux, whole_buffer)
{
	StrBuf in = STRBUF_INIT;
	Collected c = { .keep = true };
	DockerDemux dm;

	sample(&in);
	docker_demux_init(&dm);
	cr_assert(docker_demux_at_boundary(&dm));
	cr_assert(docker_demux_feed(&dm, in.data, in.len, collect, &c));
	cr_assert(docker_demux_at_boundary(&dm));
	check_sample(&c);
	sb_free(&in);
	sb_free(&c.out);
	sb_free(&c.err);
}

Test(docker_demux, every_split_point)
{
	StrBuf in = STRBUF_INIT;

	sample(&in);
	for (size_t i = 0; i <= in.len; i++)
	{
		for (size_t j = i; j <= in.len; j++)
		{
			Collected c = { .keep = true };
			DockerDemux dm;

			docker_demux_init(&dm);
			cr_assert(docker_demux_feed(&dm, in.data, i, collect, &c));
			cr_assert(docker_demux_feed(&dm, in.data + i, j - i, collect, &c));
			cr_assert(docker_demux_feed(&dm, in.data + j, in.len - j, collect, &c));
			cr_assert(docker_demux_at_boundary(&dm), "split %zu/%zu", i, j);
			check_sample(&c);
			sb_free(&c.out);
			sb_free(&c.err);
		}
	}
	sb_free(&in);
}

Test(docker_demux, one_byte_feeds)
{
	StrBuf in = STRBUF_INIT;
	Collected c = { .keep = true };
	DockerDemux dm;

	sample(&in);
	docker_demux_init(&dm);
	for (size_t i = 0; i < in.len; i++)
		cr_assert(docker_demux_feed(&dm, in.data + i, 1, collect, &c));
	cr_assert(docker_demux_at_boundary(&dm));
	check_sample(&c);
	cr_assert_eq(c.calls, 26, "one call per payload byte, none for empty frames");
	sb_free(&in);
	sb_free(&c.out);
	sb_free(&c.err);
}

Test(docker_demux, zero_length_frames_only)
{
	StrBuf in = STRBUF_INIT;
	Collected c = { .keep = true };
	DockerDemux dm;

	for (int i = 0; i < 5; i++)
		frame(&in, 1 + i % 2, "", 0);
	docker_demux_init(&dm);
	cr_assert(docker_demux_feed(&dm, in.data, in.len, collect, &c));
	cr_assert(docker_demux_at_boundary(&dm));
	cr_assert_eq(c.calls, 0);
	sb_free(&in);
}

Test(docker_demux, huge_frame_in_pieces)
{
	const size_t size = 16u * 1024u * 1024u, piece = 65536 + 3;
	unsigned char h[8] = { 1, 0, 0, 0, (unsigned char) (size >> 24),
		(unsigned char) (size >> 16), (unsigned char) (size >> 8), (unsigned char) size };
	char *buf = malloc(piece + 251);
	Collected c = { .keep = false };
	DockerDemux dm;

	for (size_t i = 0; i < piece + 251; i++)
		buf[i] = (char) (i % 251);
	docker_demux_init(&dm);
	cr_assert(docker_demux_feed(&dm, (const char *) h, 3, collect, &c));
	cr_assert(docker_demux_feed(&dm, (const char *) h + 3, 5, collect, &c));
	cr_assert_eq(dm.remaining, size, "the declared size is read big-endian");
	for (size_t fed = 0; fed < size;)
	{
		size_t n = size - fed < piece ? size - fed : piece;

		cr_assert(docker_demux_feed(&dm, buf + fed % 251, n, collect, &c));
		fed += n;
		cr_assert_eq(docker_demux_at_boundary(&dm), fed == size);
	}
	cr_assert_eq(c.total, size);
	cr_assert_not(c.saw_bad_byte);
	free(buf);
}

Test(docker_demux, truncated_header_at_eof)
{
	StrBuf in = STRBUF_INIT;
	Collected c = { .keep = true };
	DockerDemux dm;

	frame(&in, 1, "abc", 3);
	frame(&in, 2, "defg", 4);
	docker_demux_init(&dm);
	cr_assert(docker_demux_feed(&dm, in.data, 11 + 5, collect, &c));
	cr_assert_not(docker_demux_at_boundary(&dm), "5 of 8 header bytes");
	sb_free(&in);
	sb_free(&c.out);
}

Test(docker_demux, truncated_payload_at_eof)
{
	StrBuf in = STRBUF_INIT;
	Collected c = { .keep = true };
	DockerDemux dm;

	frame(&in, 1, "0123456789", 10);
	docker_demux_init(&dm);
	cr_assert(docker_demux_feed(&dm, in.data, 8 + 4, collect, &c));
	cr_assert_not(docker_demux_at_boundary(&dm));
	cr_assert_eq(dm.remaining, 6);
	cr_assert_eq(c.out.len, 4, "what arrived was passed on");
	sb_free(&in);
	sb_free(&c.out);
}

Test(docker_demux, stdin_and_unknown_streams_are_corrupt)
{
	static const unsigned char bad[][8] = {
		{ 0, 0, 0, 0, 0, 0, 0, 1 },     /* stdin never comes back */
		{ 3, 0, 0, 0, 0, 0, 0, 1 },     /* systemerr: not for exec */
		{ 'O', 'C', 'I', ' ', 'r', 'u', 'n', 't' },  /* raw text: lost sync */
		{ 1, 0, 1, 0, 0, 0, 0, 1 },     /* padding must be zero */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		Collected c = { .keep = true };
		DockerDemux dm;
		StrBuf in = STRBUF_INIT;

		frame(&in, 1, "ok", 2);
		sb_append(&in, (const char *) bad[i], 8);
		sb_append(&in, "x", 1);
		docker_demux_init(&dm);
		cr_assert_not(docker_demux_feed(&dm, in.data, in.len, collect, &c), "case %zu", i);
		cr_assert_eq(c.out.len, 2, "frames before the bad header were delivered");
		cr_assert_eq(dm.header_have, 8);
		cr_assert(memcmp(dm.header, bad[i], 8) == 0, "the bad header is kept for the message");
		sb_free(&in);
		sb_free(&c.out);
	}
}

Test(docker_demux, sink_refusal_stops_feeding)
{
	StrBuf in = STRBUF_INIT;
	Collected c = { .keep = true, .refuse = true };
	DockerDemux dm;

	sample(&in);
	docker_demux_init(&dm);
	cr_assert_not(docker_demux_feed(&dm, in.data, in.len, collect, &c));
	cr_assert_eq(c.calls, 1);
	sb_free(&in);
}
