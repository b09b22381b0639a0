/*
 * endpoint.h — (internal to the stream module) one interface over the three
 * things a stream reads from or writes to: a process exec'd in a container,
 * a local child process, and a plain file.
 */
#ifndef PGFOLD_STREAM_ENDPOINT_H
#define PGFOLD_STREAM_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pgfold/docker.h"
#include "pgfold/stream.h"

typedef enum EndpointKind
{
	ENDPOINT_EXEC = 1,
	ENDPOINT_PROCESS,
	ENDPOINT_FILE
} EndpointKind;

typedef struct Endpoint
{
	EndpointKind  kind;
	char          label[256];
	bool          out_eof;       /* no more output will come */
	bool          in_closed;     /* stdin half-closed */
	bool          started;
	StrBuf       *stderr_tail;   /* bounded tail of its stderr */

	/* ENDPOINT_EXEC */
	DockerClient *client;
	DockerExec   *exec;
	char          container[256];
	char          tag[96];       /* "<run>-<role>": names its pid directory */
	char          comm[16];      /* what /proc/<pid>/comm of the program says */
	char          user[128];     /* exec user, "" = container default */

	/* ENDPOINT_PROCESS */
	pid_t         pid;
	int           in_fd;         /* its stdin (we write) */
	int           out_fd;        /* its stdout (+stderr for a consumer) */
	int           err_fd;        /* a producer's stderr, kept apart from data */

	/* ENDPOINT_FILE */
	int           file_fd;
} Endpoint;

/* Where stdout payload goes; stderr is kept in stderr_tail by the endpoint. */
typedef bool (*EndpointDataFn)(void *ctx, const char *buf, size_t len);

bool endpoint_start_exec(Endpoint *ep, DockerClient *client,
						 const StreamCommand *cmd, bool with_stdin,
						 const char *run_id, const char *role,
						 StrBuf *stderr_tail);
/* A producer's stdout is data and its stderr goes to err_fd; a consumer's
 * stdout and stderr both go to out_fd, only ever read for the tail. */
bool endpoint_start_process(Endpoint *ep, const StreamCommand *cmd,
							bool with_stdin, bool is_producer,
							StrBuf *stderr_tail);

/* A local producer's stderr: the fd to poll (-1 when none) and its pump. */
int  endpoint_err_fd(const Endpoint *ep);
bool endpoint_pump_stderr(Endpoint *ep);
bool endpoint_open_file(Endpoint *ep, const char *path);

int  endpoint_read_fd(const Endpoint *ep);
int  endpoint_write_fd(const Endpoint *ep);
bool endpoint_output_pending(const Endpoint *ep);

/* Read what is there (at most DOCKER_EXEC_PUMP_MAX payload bytes). */
bool endpoint_pump(Endpoint *ep, EndpointDataFn on_data, void *ctx);
bool endpoint_write(Endpoint *ep, const char *buf, size_t len, size_t *written);
bool endpoint_close_input(Endpoint *ep);

/* Wait for the exit status; -1 for files. Releases the endpoint. */
bool endpoint_finish(Endpoint *ep, int *exit_code);

/* Abort: stop the process (in its container too), release everything. */
void endpoint_kill(Endpoint *ep);

/* Keep at most STREAM_STDERR_KEEP bytes: the tail is what explains a failure. */
void endpoint_keep_tail(StrBuf *tail, const char *buf, size_t len);

#endif
