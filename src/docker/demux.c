/*
 * demux.c — incremental demultiplexer for Docker's non-TTY attach stream.
 *
 * Each frame is an 8-byte header [stream, 0, 0, 0, size (big-endian u32)]
 * followed by size payload bytes. Reads split frames anywhere, so the state
 * survives between calls; payload is handed to the sink piece by piece and
 * never buffered, whatever size a header declares (up to 4 GiB - 1).
 */
#include "pgfold/docker.h"

#include <string.h>

enum
{
	DEMUX_HEADER_SIZE = 8,
	STREAM_STDOUT = 1,
	STREAM_STDERR = 2
};

void
docker_demux_init(DockerDemux *dm)
{
	memset(dm, 0, sizeof(*dm));
}

/* A complete header: check it and start its frame. */
static bool
demux_start_frame(DockerDemux *dm)
{
	const unsigned char *h = dm->header;

	/* Stream 0 (stdin) never appears in output; bytes 1-3 are always zero.
	 * Anything else means we lost frame sync (or the exec has a TTY). */
	if ((h[0] != STREAM_STDOUT && h[0] != STREAM_STDERR) ||
		h[1] != 0 || h[2] != 0 || h[3] != 0)
		return false;   /* header stays in dm->header for the caller's message */
	dm->stream = h[0];
	dm->remaining = ((size_t) h[4] << 24) | ((size_t) h[5] << 16) |
		((size_t) h[6] << 8) | (size_t) h[7];
	dm->header_have = 0;
	return true;
}

bool
docker_demux_feed(DockerDemux *dm, const char *buf, size_t len,
				  DockerSink sink, void *ctx)
{
	while (len > 0)
	{
		if (dm->remaining == 0)
		{
			/* Between frames or inside a header. */
			size_t take = DEMUX_HEADER_SIZE - dm->header_have;

			if (take > len)
				take = len;
			memcpy(dm->header + dm->header_have, buf, take);
			dm->header_have += take;
			buf += take;
			len -= take;
			if (dm->header_have == DEMUX_HEADER_SIZE && !demux_start_frame(dm))
				return false;
			continue;
		}

		size_t take = dm->remaining < len ? dm->remaining : len;

		dm->remaining -= take;
		if (!sink(ctx, dm->stream, buf, take))
			return false;
		buf += take;
		len -= take;
	}
	return true;
}

bool
docker_demux_at_boundary(const DockerDemux *dm)
{
	return dm->header_have == 0 && dm->remaining == 0;
}
