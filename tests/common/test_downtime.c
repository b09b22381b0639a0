/*
 * test_downtime.c — the apps' window: opened by the step that stops them,
 * closed by the one that starts them, phases only inside it.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pgfold/downtime.h"

Test(downtime, window_and_phases)
{
	Downtime d;
	StrBuf out = STRBUF_INIT;

	memset(&d, 0, sizeof(d));
	downtime_step(&d, "save-original", 100.0, 100.5, false, false);
	cr_assert_eq(d.count, 0, "a step before the apps stop is not a phase");
	downtime_step(&d, "stop-apps", 100.5, 101.0, true, false);
	downtime_step(&d, "stream", 101.0, 106.1, false, false);
	downtime_step(&d, "verify", 106.1, 106.15, false, false);
	downtime_step(&d, "apply", 106.15, 107.9, false, true);
	downtime_step(&d, "proof", 107.9, 108.5, false, false);
	cr_assert_eq(d.count, 4);
	cr_assert_float_eq(d.seconds, 7.4, 1e-9);
	downtime_format(&d, &out);
	/* verify took 0.05 s: not worth a phase in the line */
	cr_assert_str_eq(sb_str(&out), "00:07.4 (stop-apps 0.5 s, stream 5.1 s, apply 1.8 s)");
	sb_free(&out);
}

Test(downtime, still_down_and_over_a_minute)
{
	Downtime d;
	StrBuf out = STRBUF_INIT;

	memset(&d, 0, sizeof(d));
	downtime_close_at(&d, 50.0);
	cr_assert_float_eq(d.seconds, 0.0, 1e-9, "never stopped: no window");
	downtime_step(&d, "stop-apps", 10.0, 10.05, true, false);
	downtime_close_at(&d, 75.25);
	downtime_format(&d, &out);
	cr_assert_str_eq(sb_str(&out), "01:05.2");
	sb_free(&out);
}
