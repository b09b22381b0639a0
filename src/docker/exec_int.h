/*
 * exec_int.h — the exec handle, shared by exec.c, hijack.c and capture.c.
 */
#ifndef PGFOLD_DOCKER_EXEC_INT_H
#define PGFOLD_DOCKER_EXEC_INT_H

#include "internal.h"

/* First stdout bytes kept for diagnostics: when a process cannot start, the
 * engine writes its error there and sets the exit code to 126 or 127. */
#define EXEC_HEAD_MAX 512

struct DockerExec
{
	CURL          *curl;            /* CONNECT_ONLY handle: the hijacked socket */
	curl_socket_t  fd;
	bool           tls;
	char           id[72];          /* exec id (64 hex digits) */
	char           container[256];
	char           what[160];       /* argv[0], for messages */

	unsigned char *buf;             /* fixed DOCKER_EXEC_PUMP_MAX bytes */
	size_t         buf_off;         /* unread bytes are buf[buf_off, buf_len) */
	size_t         buf_len;
	bool           more;            /* output may wait that poll won't show */

	DockerDemux    dm;
	bool           eof;
	bool           stdin_closed;

	char           head[EXEC_HEAD_MAX];
	size_t         head_len;
};

typedef enum ExecSendStatus
{
	EXEC_SEND_OK,         /* *written bytes went out (maybe 0: try later) */
	EXEC_SEND_CLOSED,     /* the peer closed: the process stopped reading */
	EXEC_SEND_ERROR       /* anything else; not logged */
} ExecSendStatus;

ExecSendStatus docker_exec_send_raw(DockerExec *exec, const char *buf,
									size_t len, size_t *written, int *err);

/* Open the CONNECT_ONLY connection and do the Upgrade exchange for
 * POST /exec/{id}/start (hijack.c). On success exec->curl/fd are set and
 * exec->buf holds any stream bytes that followed the reply headers. */
bool docker_exec_hijack(DockerClient *client, DockerExec *exec);

/* The reply head hijack.c reads (reply_head.c). */
typedef struct DockerReplyHead
{
	size_t head_end;            /* bytes of the head, its blank line included */
	long   status;              /* 100-599; 0: not an HTTP/1.x status line */
	long   content_length;      /* -1: absent or not a number */
	bool   has_transfer_encoding;
	char   transfer_encoding[64];
} DockerReplyHead;

/* Parse the head at the start of buf[0, len) (any bytes, NUL included);
 * false when it holds no complete head ("\r\n\r\n") yet. */
bool docker_reply_head_parse(const char *buf, size_t len, DockerReplyHead *out);

#endif
