/*
 * test_conn_limit.c — the rule that sizes a service role's CONNECTION
 * LIMIT from what the source saw (preflight_conn_limit, conns.c).
 */
#include <criterion/criterion.h>

#include "pgfold/preflight.h"

Test(conn_limit, nothing_measured_is_no_limit)
{
	cr_expect_eq(preflight_conn_limit(false, 0, -1), -1);
	cr_expect_eq(preflight_conn_limit(false, 30, 97), -1, "samples that did not run say nothing");
	cr_expect_eq(preflight_conn_limit(true, 0, 97), -1, "no session seen: nothing to size by");
}

Test(conn_limit, headroom_is_twice_the_peak_or_ten_more)
{
	cr_expect_eq(preflight_conn_limit(true, 1, 97), 11);
	cr_expect_eq(preflight_conn_limit(true, 5, 97), 15);
	cr_expect_eq(preflight_conn_limit(true, 10, 97), 20);
	cr_expect_eq(preflight_conn_limit(true, 11, 97), 22);
	cr_expect_eq(preflight_conn_limit(true, 28, 97), 56, "a stock Zabbix 6.0 server");
	cr_expect_eq(preflight_conn_limit(true, 30, -1), 60, "source max unknown: no cap");
}

Test(conn_limit, never_above_what_the_source_allows)
{
	cr_expect_eq(preflight_conn_limit(true, 60, 97), 97);
	cr_expect_eq(preflight_conn_limit(true, 5, 12), 12);
	/* the app's user is the source's superuser and used reserved slots */
	cr_expect_eq(preflight_conn_limit(true, 99, 97), 99, "never below the peak itself");
}
