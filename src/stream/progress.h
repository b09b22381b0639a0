/*
 * progress.h — (internal) a progress bar on a TTY, periodic log lines
 * otherwise: bytes, rate, elapsed and an estimate from the source size.
 */
#ifndef PGFOLD_STREAM_PROGRESS_H
#define PGFOLD_STREAM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Progress
{
	bool     tty;
	uint64_t expected;
	double   last_draw;
	bool     drawn;
} Progress;

void progress_init(Progress *pr, bool tty, uint64_t expected_bytes);
void progress_update(Progress *pr, uint64_t bytes, double elapsed);
void progress_finish(Progress *pr, uint64_t bytes, double elapsed);
void progress_abandon(Progress *pr);

#endif
