/*
 * exitcodes.c — the exit status recorded by whoever logged the failure.
 */
#include "pgfold/exitcodes.h"

static int exit_hint = 0;

void
exit_hint_set(int code)
{
	if (exit_hint == 0)
		exit_hint = code;
}

int
exit_hint_get(void)
{
	return exit_hint ? exit_hint : EXIT_FAIL;
}

void
exit_hint_reset(void)
{
	exit_hint = 0;
}
