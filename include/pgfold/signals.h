/*
 * signals.h — Ctrl-C / SIGTERM become a flag that long loops poll, so a
 * stream can stop cleanly: kill what it started in the containers, drop the
 * temporary database, restart the app, then exit 130.
 */
#ifndef PGFOLD_SIGNALS_H
#define PGFOLD_SIGNALS_H

#include <stdbool.h>

void signals_install(void);
bool signals_interrupted(void);
/* For tests and for code that simulates an interruption. */
void signals_raise_interrupt(void);

/* Forget an interruption once its exit status is recorded (exit_hint_set),
 * so the undo that follows can run its own commands (which stop at the
 * flag); a second Ctrl-C interrupts the undo itself. */
void signals_clear(void);

#endif
