/*
 * signals.c — see signals.h. SIGPIPE is ignored: a peer closing a socket
 * or pipe must surface as an EPIPE error where it happens, not kill us.
 */
#include "pgfold/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted = 0;

static void
on_signal(int signo)
{
	(void) signo;
	interrupted = 1;
}

void
signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	signal(SIGPIPE, SIG_IGN);
}

bool
signals_interrupted(void)
{
	return interrupted != 0;
}

void
signals_raise_interrupt(void)
{
	interrupted = 1;
}

void
signals_clear(void)
{
	interrupted = 0;
}
