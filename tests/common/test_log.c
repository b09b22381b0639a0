/*
 * test_log.c — what the logger puts on the operator's terminal.
 *
 * Messages carry bytes pgfold does not control (pg_restore's stderr, the
 * engine's error text, database values in DETAIL lines): a terminal escape
 * sequence among them must arrive as visible text, never as a command to
 * the terminal. pgfold's own colours must still work.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>

#include "pgfold/log.h"

static void
setup(void)
{
	cr_redirect_stderr();
	log_set_level(LOG_NOTICE);
	log_set_color(false);
}

TestSuite(log, .init = setup);

/* ESC [2J clears the screen, CR rewrites the line; newlines and tabs of a
 * multi-line message (pg_restore's output) stay as they are. */
Test(log, control_bytes_in_messages_are_escaped)
{
	log_error("pg_restore failed (exit 1):\n%s", "a\x1b[2Jb\rc\td\x07\x7f" "e\n");
	fflush(stderr);
	cr_assert_stderr_eq_str("pgfold: error: pg_restore failed (exit 1):\n"
							"a\\x1b[2Jb\\x0dc\td\\x07\\x7fe\n\n");
}

/* U+009B (CSI as a C1 control, UTF-8 c2 9b) and a lone 0x9b byte are
 * escaped; ordinary UTF-8 ("é", "€", "😀") is left alone. */
Test(log, c1_controls_and_invalid_utf8_are_escaped)
{
	log_notice("%s", "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x9b" "2J \x9b" "2J \xc3");
	fflush(stderr);
	cr_assert_stderr_eq_str("pgfold: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\xc2\\x9b2J "
							"\\x9b2J \\xc3\n");
}

/* The colour codes are the logger's own decoration: kept, while the same
 * byte inside the message is escaped. */
Test(log, own_colours_survive_escaping)
{
	log_set_color(true);
	log_error("value \x1b[0m here");
	fflush(stderr);
	cr_assert_stderr_eq_str("\x1b[31mpgfold: error: value \\x1b[0m here\x1b[0m\n");
}
