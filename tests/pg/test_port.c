/*
 * test_port.c — the port a postgres takes from its command line
 * (pgx_port_from_args, src/pg/port.c).
 */
#include <criterion/criterion.h>

#include "pgfold/pg.h"

#define ARGS(...) (const char *const[]) { __VA_ARGS__ }, \
	sizeof((const char *const[]) { __VA_ARGS__ }) / sizeof(const char *)

Test(pg_port, forms_postgres_accepts)
{
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-c", "port=5433")), 5433);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-cport=5434")), 5434);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "--port=5435")), 5435);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-p", "5436")), 5436);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-p5437")), 5437);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-c", "port=5433", "-c", "port=6000")), 6000,
				 "the last one wins");
}

Test(pg_port, none_or_nonsense)
{
	cr_expect_eq(pgx_port_from_args(ARGS("postgres")), -1);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-c", "max_connections=200")), -1);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-c", "port=0")), -1);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-c", "port=70000")), -1);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-c", "port=54x")), -1);
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-p")), -1, "no value after -p");
	cr_expect_eq(pgx_port_from_args(ARGS("postgres", "-c")), -1);
}
