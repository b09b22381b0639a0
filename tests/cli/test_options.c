/*
 * test_options.c — the one option parser (src/cli/options.c): every error
 * path with its exact words, values in both spellings, "--", global options
 * wherever they stand, and the db subcommands' own option sets.
 */
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/log.h"
#include "pgfold/options.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct Run
{
	char  why[512];
	int   ids[16];
	int   nids;
	int   last;     /* OPT_END or OPT_ERROR */
	OptParser p;
} Run;

/* Parses words (NULL-terminated, argv[0] included) into r. */
static void
run(Run *r, const char *command, const char *sub, unsigned cmd, unsigned accept, bool pass,
	char **argv)
{
	int argc = 0, id;

	while (argv[argc] != NULL)
		argc++;
	memset(r, 0, sizeof(*r));
	opt_init(&r->p, command, sub, cmd, accept, argc, argv);
	r->p.pass = pass;
	log_capture_begin(r->why, sizeof(r->why));
	while ((id = opt_next(&r->p)) > OPT_END && r->nids < 16)
		r->ids[r->nids++] = id;
	log_capture_end();
	r->last = id;
}

static void
expect_error(Run *r, const char *why)
{
	cr_assert_eq(r->last, OPT_ERROR, "no error; expected: %s", why);
	cr_assert_str_eq(r->why, why);
}

Test(cli_options, unknown_option)
{
	char *argv[] = { "migrate", "--frobnicate", "svc", NULL };
	Run r;

	run(&r, "migrate", NULL, OPT_CMD_MIGRATE, 0, false, argv);
	expect_error(&r, "unknown option --frobnicate (see `pgfold help migrate`)");
}

Test(cli_options, short_option_of_no_command_is_unknown)
{
	char *argv[] = { "status", "-x", NULL };
	Run r;

	run(&r, "status", NULL, OPT_CMD_STATUS, 0, false, argv);
	expect_error(&r, "unknown option -x (see `pgfold help status`)");
}

Test(cli_options, option_of_another_command)
{
	char *argv[] = { "status", "--drop-shared", NULL };
	char *eq[] = { "status", "--owner=me", NULL };
	Run r;

	run(&r, "status", NULL, OPT_CMD_STATUS, 0, false, argv);
	expect_error(&r, "--drop-shared is not an option of status (see `pgfold help status`)");
	/* named without its value */
	run(&r, "status", NULL, OPT_CMD_STATUS, 0, false, eq);
	expect_error(&r, "--owner is not an option of status (see `pgfold help status`)");
}

Test(cli_options, db_subcommand_refuses_another_subcommands_option)
{
	char *argv[] = { "drop", "x", "--estimate", NULL };
	Run r;

	run(&r, "db", "drop", OPT_CMD_DB, IOPT_FORCE | IOPT_NO_BACKUP, false, argv);
	expect_error(&r, "db drop: --estimate belongs to another subcommand (see `pgfold help db`)");
	/* and takes its own */
	char *ok[] = { "drop", "x", "--force", "--no-backup", NULL };

	run(&r, "db", "drop", OPT_CMD_DB, IOPT_FORCE | IOPT_NO_BACKUP, false, ok);
	cr_assert_eq(r.last, OPT_END);
	cr_assert_eq(r.nids, 2);
	cr_assert_eq(r.ids[0], OPT_FORCE);
	cr_assert_eq(r.ids[1], OPT_NO_BACKUP);
}

Test(cli_options, same_name_other_kind_per_command)
{
	/* --owner takes ROLE in db, is a flag in user */
	char *db[] = { "create", "x", "--owner", "alice", NULL };
	char *user[] = { "create", "bob", "app", "--owner", NULL };
	Run r;

	run(&r, "db", "create", OPT_CMD_DB, IOPT_OWNER, false, db);
	cr_assert_eq(r.last, OPT_END);
	cr_assert_eq(r.ids[0], OPT_OWNER);
	cr_assert_str_eq(r.p.arg, "alice");
	run(&r, "user", NULL, OPT_CMD_USER, 0, false, user);
	cr_assert_eq(r.last, OPT_END);
	cr_assert_eq(r.ids[0], OPT_OWNER_FLAG);
	cr_assert_eq(r.p.npos, 2);
}

Test(cli_options, missing_argument)
{
	char *argv[] = { "create", "x", "--owner", NULL };
	Run r;

	run(&r, "db", "create", OPT_CMD_DB, IOPT_OWNER, false, argv);
	expect_error(&r, "db create: --owner needs a value (see `pgfold help db`)");
}

Test(cli_options, root_without_directory)
{
	char *argv[] = { "pgfold", "status", "--root", NULL };
	Run r;

	run(&r, NULL, NULL, OPT_CMD_GLOBAL, 0, true, argv);
	expect_error(&r, "--root needs a directory (see `pgfold --help`)");
}

Test(cli_options, flag_with_value)
{
	char *argv[] = { "migrate", "--deep=yes", "svc", NULL };
	Run r;

	run(&r, "migrate", NULL, OPT_CMD_MIGRATE, 0, false, argv);
	expect_error(&r, "--deep takes no value (see `pgfold help migrate`)");
}

Test(cli_options, bad_numbers)
{
	char *limit[] = { "create", "bob", "--connection-limit", "-2", NULL };
	char *big[] = { "migrate", "svc", "--connection-limit=10001", NULL };
	char *word[] = { "backup", "--keep-daily", "ten", NULL };
	char *keep[] = { "prune", "--keep-last=0", NULL };
	Run r;

	run(&r, "user", NULL, OPT_CMD_USER, 0, false, limit);
	expect_error(&r, "--connection-limit takes a number from -1 (no limit) to 10000, not \"-2\" "
				 "(see `pgfold help user`)");
	run(&r, "plan", NULL, OPT_CMD_MIGRATE, 0, false, big);
	expect_error(&r, "--connection-limit takes a number from -1 (no limit) to 10000, "
				 "not \"10001\" (see `pgfold help plan`)");
	run(&r, "backup", NULL, OPT_CMD_BACKUP, 0, false, word);
	expect_error(&r, "--keep-daily takes a number from 0 to 10000, not \"ten\" "
				 "(see `pgfold help backup`)");
	run(&r, "backups", "prune", OPT_CMD_BACKUPS, IOPT_OLDER_THAN | IOPT_KEEP_LAST, false, keep);
	expect_error(&r, "backups prune: --keep-last takes a number of 1 or more, not \"0\" "
				 "(see `pgfold help backups`)");
}

Test(cli_options, value_given_twice)
{
	char *argv[] = { "migrate", "svc", "--db", "a", "--db=b", NULL };
	Run r;

	run(&r, "migrate", NULL, OPT_CMD_MIGRATE, 0, false, argv);
	expect_error(&r, "--db given twice (see `pgfold help migrate`)");
}

Test(cli_options, both_value_spellings)
{
	char *argv[] = { "migrate", "--db=app", "svc", "--role", "app_user",
					 "--connection-limit=-1", NULL };
	Run r;

	run(&r, "migrate", NULL, OPT_CMD_MIGRATE, 0, false, argv);
	cr_assert_eq(r.last, OPT_END, "%s", r.why);
	cr_assert_eq(r.nids, 3);
	cr_assert_eq(r.ids[0], OPT_DB);
	cr_assert_eq(r.ids[1], OPT_ROLE);
	cr_assert_eq(r.ids[2], OPT_CONNECTION_LIMIT);
	cr_assert_eq(r.p.num, -1);
	cr_assert_eq(r.p.npos, 1);
	cr_assert_str_eq(r.p.pos[0], "svc");
	cr_assert_null(r.p.pos[1]);
	/* an empty value is a value */
	char *empty[] = { "migrate", "--db=", "svc", NULL };

	run(&r, "migrate", NULL, OPT_CMD_MIGRATE, 0, false, empty);
	cr_assert_eq(r.last, OPT_END, "%s", r.why);
	cr_assert_str_eq(r.p.arg, "");
}

Test(cli_options, double_dash_ends_options)
{
	char *argv[] = { "db", "--", "--deep", "-v", NULL };
	Run r;

	run(&r, "status", NULL, OPT_CMD_STATUS, 0, false, argv);
	cr_assert_eq(r.last, OPT_END, "%s", r.why);
	cr_assert_eq(r.nids, 0);
	cr_assert_eq(r.p.npos, 2);
	cr_assert_str_eq(r.p.pos[0], "--deep");
	cr_assert_str_eq(r.p.pos[1], "-v");
	/* "-" alone is an argument */
	char *dash[] = { "status", "-", NULL };

	run(&r, "status", NULL, OPT_CMD_STATUS, 0, false, dash);
	cr_assert_eq(r.last, OPT_END, "%s", r.why);
	cr_assert_str_eq(r.p.pos[0], "-");
}

Test(cli_options, global_options_wherever_they_stand)
{
	char *argv[] = { "pgfold", "db", "drop", "x", "--json", "-y", "--force", "-vv",
					 "--root=/srv", "--", "--dry-run", NULL };
	Run r;

	run(&r, NULL, NULL, OPT_CMD_GLOBAL, 0, true, argv);
	cr_assert_eq(r.last, OPT_END, "%s", r.why);
	cr_assert_eq(r.nids, 4);
	cr_assert_eq(r.ids[0], OPT_JSON);
	cr_assert_eq(r.ids[1], OPT_YES);
	cr_assert_eq(r.ids[2], OPT_VERBOSE2);
	cr_assert_eq(r.ids[3], OPT_ROOT);
	cr_assert_str_eq(r.p.arg, "/srv");
	/* the command keeps its own words, "--" and all after it, in order */
	const char *rest[] = { "db", "drop", "x", "--force", "--", "--dry-run" };

	cr_assert_eq(r.p.npos, 6);
	for (int i = 0; i < 6; i++)
		cr_assert_str_eq(r.p.pos[i], rest[i]);
	cr_assert_null(r.p.pos[6]);
}

Test(cli_options, every_row_is_sound)
{
	for (const OptRow *r = opt_table; r->name != NULL; r++)
	{
		cr_assert(strncmp(r->name, "--", 2) == 0 || r->commands == OPT_CMD_GLOBAL, "%s", r->name);
		cr_assert(r->commands != 0, "%s is accepted by no command", r->name);
		cr_assert(r->id > OPT_END && r->id < OPT_ID_COUNT, "%s", r->name);
		cr_assert(r->kind != OPT_LONG || (r->range != NULL && r->min < r->max), "%s", r->name);
		/* a name is taken once per command */
		for (const OptRow *o = r + 1; o->name != NULL; o++)
			if (strcmp(o->name, r->name) == 0)
				cr_assert((o->commands & r->commands) == 0, "%s twice for one command", r->name);
	}
}
