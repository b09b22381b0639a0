/*
 * reply_head.c — the HTTP reply head of POST /exec/{id}/start, read by
 * hijack.c off a raw socket (libcurl does not parse it there). Pure: the
 * bytes are the engine's (or whatever answers on its socket), so nothing in
 * them is trusted: no NUL, no length, no header order (fuzz-tested:
 * tests/fuzz/fuzz_http_head.c).
 */
#include "exec_int.h"

#include "pgfold/str.h"

#include <string.h>
#include <strings.h>

/* Value of header `name` (lower case, with ':') in head[0, len), copied
 * (NUL-terminated, cut to size - 1 bytes) into buf; false when absent. */
static bool
header_value(const char *head, size_t len, const char *name, char *buf, size_t size)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + 1 < len; i++)
	{
		if (head[i] != '\r' || head[i + 1] != '\n')
			continue;

		size_t v = i + 2;

		if (len - v < nl || strncasecmp(head + v, name, nl) != 0)
			continue;
		v += nl;
		while (v < len && (head[v] == ' ' || head[v] == '\t'))
			v++;

		size_t n = 0;

		while (v + n < len && head[v + n] != '\r' && head[v + n] != '\0' && n + 1 < size)
		{
			buf[n] = head[v + n];
			n++;
		}
		buf[n] = '\0';
		return true;
	}
	return false;
}

bool
docker_reply_head_parse(const char *buf, size_t len, DockerReplyHead *out)
{
	memset(out, 0, sizeof(*out));
	out->content_length = -1;

	const char *end = memmem(buf, len, "\r\n\r\n", 4);

	if (end == NULL)
		return false;
	out->head_end = (size_t) (end - buf) + 4;

	/* "HTTP/1.x NNN": the status is exactly three digits, 100-599 */
	if (out->head_end > 12 && memcmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ' &&
		(buf[12] == ' ' || buf[12] == '\r'))
	{
		char code[4] = { buf[9], buf[10], buf[11], '\0' };

		if (strspn(code, "0123456789") == 3 && !str_to_long(code, 100, 599, &out->status))
			out->status = 0;
	}

	char clbuf[32];

	if (header_value(buf, out->head_end, "content-length:", clbuf, sizeof(clbuf)) &&
		!str_to_long(clbuf, 0, 64L * 1024 * 1024, &out->content_length))
		out->content_length = -1;
	out->has_transfer_encoding = header_value(buf, out->head_end, "transfer-encoding:",
										 out->transfer_encoding,
										 sizeof(out->transfer_encoding));
	return true;
}
