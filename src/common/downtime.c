/*
 * downtime.c — see downtime.h.
 */
#include "pgfold/downtime.h"

#include <string.h>
#include <time.h>

void
downtime_step(Downtime *d, const char *name, double began, double ended, bool opens,
			  bool closes)
{
	if (opens && d->since <= 0)
		d->since = began;
	if (d->since <= 0 || d->seconds > 0)
		return;
	if (d->count < DOWNTIME_MAX_PHASES)
	{
		str_copy(d->phases[d->count].name, sizeof(d->phases[d->count].name), name);
		d->phases[d->count++].seconds = ended - began;
	}
	if (closes)
		d->seconds = ended - d->since;
}

void
downtime_close_at(Downtime *d, double now)
{
	if (d->since > 0 && d->seconds <= 0)
		d->seconds = now - d->since;
}

void
downtime_format(const Downtime *d, StrBuf *out)
{
	long whole = (long) d->seconds;
	size_t shown = 0;

	/* mm:ss.s: a downtime is worth its tenths */
	sb_appendf(out, "%02ld:%04.1f", whole / 60, d->seconds - (double) (whole / 60 * 60));
	for (size_t i = 0; i < d->count; i++)
	{
		if (d->phases[i].seconds < 0.1)
			continue;
		sb_appendf(out, "%s%s %.1f s", shown++ ? ", " : " (", d->phases[i].name,
				   d->phases[i].seconds);
	}
	if (shown > 0)
		sb_appends(out, ")");
}
