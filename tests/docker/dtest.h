/*
 * dtest.h — helpers for the docker module's integration tests only.
 */
#ifndef PGFOLD_TESTS_DTEST_H
#define PGFOLD_TESTS_DTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgfold/docker.h"

#define DT_IMAGE "pgfold-lab/postgres:15"

/* A container of DT_IMAGE that only sleeps (no initdb: starts in a moment),
 * --network none, labels pgfold.test=1 and pgfold.test.docker=TAG. It exits
 * promptly on SIGTERM so stop tests are fast. */
bool dt_start_idle(const char *name, const char *tag);

/* Send the log (INFO and up) to a temp file, to check messages later. */
void dt_log_to_temp(void);
bool dt_log_contains(const char *needle);
bool dt_log_lacks(const char *needle);
/* Close and delete that file (fini). */
void dt_log_done(void);

/* Peak resident set size so far, bytes (VmHWM). */
size_t dt_peak_rss(void);
double dt_now(void);

/* Fills buf (up to size) with the next stdin bytes; 0 = end of input. */
typedef size_t (*DtProducer)(void *ctx, char *buf, size_t size);

/* Run spec in container through the streaming API (poll loop interleaving
 * stdin and output, like the stream module's) and return the exit code. */
bool dt_stream(DockerClient *client, const char *container,
			   const DockerExecSpec *spec, DtProducer producer, void *pctx,
			   DockerSink sink, void *sctx, int *exit_code);

/* Deterministic pseudo-random bytes (xorshift64), total bytes long. */
typedef struct DtGen
{
	uint64_t state;
	size_t   left;
} DtGen;

size_t dt_gen_produce(void *ctx, char *buf, size_t size);

#endif
