/*
 * exitcodes.h — every exit status pgfold can return, in one place.
 *
 * Modules return bool; the place that logs an error also records the exit
 * status its class of failure maps to (exit_hint_set), so the command that
 * finally gives up returns the code the operator's scripts expect without
 * each caller having to know why its callee failed.
 */
#ifndef PGFOLD_EXITCODES_H
#define PGFOLD_EXITCODES_H

#define EXIT_OK            0   /* done, or nothing to do */
#define EXIT_FAIL          1   /* any other failure */
#define EXIT_USAGE         2   /* bad command line or input, or no TTY to ask */
#define EXIT_BLOCKED       3   /* a pre-flight check blocks the operation */
#define EXIT_ENGINE        4   /* Docker engine unreachable */
#define EXIT_SHARED        5   /* shared PostgreSQL instance unreachable */
#define EXIT_VERIFY        6   /* verification found differences, or an app's
								* settings do not log in (connection proof) */
#define EXIT_LOCKED        7   /* another pgfold holds the stack lock */
#define EXIT_PARTIAL       8   /* `backup`: some databases failed, the others were done */
#define EXIT_INTERRUPTED 130   /* SIGINT / SIGTERM */

/* Record the exit status for the failure being logged; the first one wins. */
void exit_hint_set(int code);

/* The recorded status, or EXIT_FAIL when none was recorded. */
int exit_hint_get(void);

/* Forget the recorded status (tests, and commands that recover). */
void exit_hint_reset(void);

#endif
