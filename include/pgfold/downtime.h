/*
 * downtime.h — how long a run kept the apps down, and in which phases.
 *
 * The window opens when the step that stops the apps begins and closes
 * when the step that starts them again ends (or at the end of the run,
 * when they stay stopped). migrate and rollback time each step they run
 * and hand it here; the summary prints "apps down 00:07.4 (stream 5.1 s,
 * ...)" and the journal keeps the seconds and the phases.
 */
#ifndef PGFOLD_DOWNTIME_H
#define PGFOLD_DOWNTIME_H

#include "pgfold/clock.h"

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/str.h"

#define DOWNTIME_MAX_PHASES 24

typedef struct Downtime
{
	double since;          /* monotonic seconds; 0 = the apps were not stopped by this run */
	double seconds;        /* 0 until the window closes */
	size_t count;
	struct
	{
		char   name[32];
		double seconds;
	} phases[DOWNTIME_MAX_PHASES];
} Downtime;


/* A step ran from began to ended. opens: it stopped the apps (the window
 * starts at began); closes: it started them again (the window ends at
 * ended). Steps outside the window are not phases. */
void downtime_step(Downtime *d, const char *name, double began, double ended, bool opens,
				   bool closes);

/* The run ends with the apps still stopped: the window so far. */
void downtime_close_at(Downtime *d, double now);

/* "00:07.4 (stream 5.1 s, apply 1.2 s)": phases of a tenth of a second or
 * more, in the order they ran. */
void downtime_format(const Downtime *d, StrBuf *out);

#endif
