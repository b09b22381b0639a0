/*
 * clock.h — the one monotonic clock pgfold times things with (phases,
 * streams, downtime, backups): seconds that never jump with the wall clock.
 */
#ifndef PGFOLD_CLOCK_H
#define PGFOLD_CLOCK_H

/* CLOCK_MONOTONIC in seconds; only differences between two calls mean
 * anything. */
double clock_now(void);

#endif
