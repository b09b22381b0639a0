/*
 * progress.c — see progress.h. The estimate uses the source database size,
 * which is larger than the compressed archive: the bar is a guide, and the
 * text says "~" to make that plain.
 */
#include "progress.h"

#include "pgfold/log.h"
#include "pgfold/str.h"
#include "pgfold/stream.h"

#include <stdio.h>

#define TTY_REDRAW_S   0.25
#define LOG_EVERY_S   10.0

void
stream_format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double) bytes;
	int u = 0;

	while (v >= 1024.0 && u < 4)
	{
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		str_format(buf, size, "%llu B", (unsigned long long) bytes);
	else
		str_format(buf, size, "%.1f %s", v, units[u]);
}

void
stream_format_duration(double seconds, char *buf, size_t size)
{
	long s = seconds < 0 ? 0 : (long) (seconds + 0.5);

	if (s >= 3600)
		str_format(buf, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
	else
		str_format(buf, size, "%02ld:%02ld", s / 60, s % 60);
}

void
progress_init(Progress *pr, bool tty, uint64_t expected_bytes)
{
	pr->tty = tty;
	pr->expected = expected_bytes;
	pr->last_draw = 0;
	pr->drawn = false;
}

static void
describe(const Progress *pr, uint64_t bytes, double elapsed, char *line, size_t size)
{
	char done[32], rate[32], el[32], left[32] = "";
	double bps = elapsed > 0.5 ? (double) bytes / elapsed : 0;

	stream_format_bytes(bytes, done, sizeof(done));
	stream_format_bytes((uint64_t) bps, rate, sizeof(rate));
	stream_format_duration(elapsed, el, sizeof(el));
	if (pr->expected > bytes && bps > 0)
	{
		char eta[24];

		stream_format_duration((double) (pr->expected - bytes) / bps, eta, sizeof(eta));
		str_format(left, sizeof(left), "  ~%s left", eta);
	}
	str_format(line, size, "%10s  %10s/s  %s%s", done, rate, el, left);
}

void
progress_update(Progress *pr, uint64_t bytes, double elapsed)
{
	char line[160];

	if (pr->tty && elapsed - pr->last_draw >= TTY_REDRAW_S)
	{
		describe(pr, bytes, elapsed, line, sizeof(line));
		fprintf(stderr, "\r  streaming %s\033[K", line);
		fflush(stderr);
		pr->drawn = true;
		pr->last_draw = elapsed;
	}
	else if (!pr->tty && elapsed - pr->last_draw >= LOG_EVERY_S)
	{
		describe(pr, bytes, elapsed, line, sizeof(line));
		log_info("streaming %s", line);
		pr->last_draw = elapsed;
	}
}

void
progress_finish(Progress *pr, uint64_t bytes, double elapsed)
{
	char line[160];

	progress_abandon(pr);
	pr->expected = 0;   /* done: no estimate of time left */
	describe(pr, bytes, elapsed, line, sizeof(line));
	log_info("streamed %s", line);
}

void
progress_abandon(Progress *pr)
{
	if (pr->tty && pr->drawn)
	{
		fputs("\r\033[K", stderr);
		fflush(stderr);
		pr->drawn = false;
	}
}
