/*
 * stream.h — move a pg_dump archive from where it is made to where it goes,
 * keeping a verified copy on disk, in constant memory and with no overall
 * timeout.
 *
 * A producer (pg_dump exec'd in a container, or a dump file) feeds a fixed
 * ring buffer; every byte is first appended to the backup file (with a
 * running SHA-256) and then written to the consumer (pg_restore exec'd in a
 * container over a hijacked stdin, or a local pg_restore process). One poll
 * loop drives both sides, so neither can block the other. A stall guard
 * (no byte moved for N seconds) replaces a timeout: a 500 GB dump may take
 * hours, a wedged one must not take forever.
 *
 * Any non-zero exit, an "error" line on either stderr, a truncated stream,
 * an interruption (Ctrl-C) or a failed write is fatal: the in-container
 * processes are killed (the engine does not stop them when we go away), the
 * partial backup is removed, and stream_run returns false.
 */
#ifndef PGFOLD_STREAM_H
#define PGFOLD_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "pgfold/docker.h"
#include "pgfold/fsutil.h"
#include "pgfold/str.h"

/* A process to run: inside a container when container != NULL, else a
 * local child. argv and env never hold secrets (local children get their
 * password through a 0600 passfile named by PGPASSFILE). */
typedef struct StreamCommand
{
	const char         *container;
	const char *const  *argv;
	const char *const  *env;      /* "K=V", NULL-terminated, may be NULL */
	const char         *user;     /* exec user, NULL = container default */
	const char         *label;    /* "pg_dump in docmost-db", for messages */
} StreamCommand;

typedef struct StreamSpec
{
	DockerClient        *client;          /* needed when a container is involved */
	const StreamCommand *producer;        /* NULL: read input_file instead */
	const char          *input_file;
	/* The digest the bytes read must have (a dump's sidecar, checked
	 * earlier): compared once the producer ends, before the consumer's
	 * input is closed, so a file swapped after its check is never
	 * restored whole. NULL: no check. */
	const char          *expect_sha256;
	const char          *backup_path;     /* tee target, NULL = none */
	const StreamCommand *consumer;        /* NULL: backup only */
	uint64_t             expected_bytes;  /* progress estimate, 0 = unknown */
	int                  stall_seconds;   /* 0 = default (300) */
	bool                 progress_tty;    /* draw a progress bar on stderr */
	const char          *run_id;          /* names in-container pid files */
	/* The consumer's stdout, when it is data (pg_restore -f -): handed to
	 * this sink, its stderr kept apart. NULL: stdout is only kept, with
	 * stderr, in consumer_stderr for error messages. False aborts (the
	 * sink logs why). */
	bool               (*consumer_output)(void *ctx, const char *buf, size_t len);
	void                *consumer_output_ctx;
	/* The consumer reads a file of its own (pg_restore -j FILE, fed
	 * input_file /dev/null): no byte in is expected, not "no data". The
	 * rest holds: its exit, its stderr, Ctrl-C stopping it in its container. */
	bool                 input_may_be_empty;
} StreamSpec;

#define STREAM_STDERR_KEEP (16 * 1024)    /* tail of each stderr kept */

typedef struct StreamResult
{
	uint64_t bytes;                       /* archive bytes moved */
	double   seconds;
	double   cpu_seconds;                 /* pgfold's own user+system time in stream_run */
	char     sha256[FS_SHA256_HEX_LEN + 1];  /* of the bytes moved */
	int      producer_exit;               /* -1 when not applicable */
	int      consumer_exit;
	StrBuf   producer_stderr;             /* last STREAM_STDERR_KEEP bytes */
	StrBuf   consumer_stderr;
} StreamResult;

/* The caller must have SIGPIPE ignored (signals_install does): a consumer
 * that dies must surface as a write error, not kill pgfold mid-cleanup. */
bool stream_run(const StreamSpec *spec, StreamResult *result);
void stream_result_free(StreamResult *result);

/* Does this stderr text carry an error line (pg_dump/pg_restore style)? */
bool stream_stderr_has_error(const char *text);

/* "1.5 GiB", "12.0 MiB/s", "01:02:03" — also used by summaries. */
void stream_format_bytes(uint64_t bytes, char *buf, size_t size);
void stream_format_duration(double seconds, char *buf, size_t size);

#endif
