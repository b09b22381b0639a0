/*
 * options.h — the one option table of the command line and its parser.
 *
 * Every option of every command is one row of opt_table (src/cli/options.c):
 * its spelling, the kind of argument it takes, which commands accept it (and
 * for db/backups, which subcommands, by IOPT_* bit of instance.h), and the id
 * the command switches on. opt_next() walks argv, checks a word against the
 * table and says every error (unknown option, option of another command,
 * missing or unwanted value, bad number, value given twice) from one place.
 */
#ifndef PGFOLD_OPTIONS_H
#define PGFOLD_OPTIONS_H

#include <stdbool.h>

/* Which command parses (a row's commands is a mask of these). */
enum
{
	OPT_CMD_GLOBAL = 1 << 0,    /* main: taken wherever they stand */
	OPT_CMD_STATUS = 1 << 1,
	OPT_CMD_MIGRATE = 1 << 2,   /* migrate and plan */
	OPT_CMD_ROLLBACK = 1 << 3,
	OPT_CMD_BACKUP = 1 << 4,
	OPT_CMD_DB = 1 << 5,
	OPT_CMD_BACKUPS = 1 << 6,
	OPT_CMD_USER = 1 << 7,
	OPT_CMD_SCHEDULE = 1 << 8,
	OPT_CMD_SCHEMA = 1 << 9,
	OPT_CMD_RETIRE = 1 << 10,
	OPT_CMD_NAME = 1 << 11,
	OPT_CMD_REFS = 1 << 12,
	OPT_CMD_RENAME = 1 << 13,
};

typedef enum OptKind
{
	OPT_NONE,       /* a flag: --deep; --deep=x is an error */
	OPT_STRING,     /* --owner ROLE or --owner=ROLE, not empty-checked */
	OPT_LONG,       /* a number in [min, max] (str_to_long) */
} OptKind;

/* Where an option lands: the id its command switches on. */
typedef enum OptId
{
	OPT_ERROR = -1, /* opt_next: a usage error was logged; return EXIT_USAGE */
	OPT_END = 0,    /* opt_next: no more options */
	/* global (main) */
	OPT_ROOT, OPT_JSON, OPT_YES, OPT_DRY_RUN, OPT_NO_COLOR, OPT_VERBOSE, OPT_VERBOSE2,
	OPT_QUIET, OPT_HELP, OPT_VERSION,
	/* migrate, plan */
	OPT_NO_APPLY, OPT_DEEP, OPT_KEEP_APP_STOPPED, OPT_DB, OPT_ROLE, OPT_CONNECTION_LIMIT,
	OPT_VERIFY, OPT_IGNORE_MIGRATION_STATE, OPT_DROP_GRANTS, OPT_WITH_ROLES, OPT_FILES_EDITED, OPT_REHEARSE,
	OPT_JOBS,
	/* rollback */
	OPT_DROP_SHARED, OPT_LATEST_BACKUP, OPT_BACKUP, OPT_ORIGINAL_DATA,
	/* status, backup, backups, db */
	OPT_ALL, OPT_KEEP_DAILY, OPT_KEEP_WEEKLY, OPT_KEEP_MONTHLY, OPT_NO_RETENTION,
	OPT_OWNER, OPT_FORCE, OPT_NO_BACKUP, OPT_ESTIMATE, OPT_AGAINST, OPT_NO_CHECKSUM,
	OPT_OLDER_THAN, OPT_KEEP_LAST, OPT_LATEST,
	/* user */
	OPT_ROTATE, OPT_OWNER_FLAG,
	/* schedule */
	OPT_BACKUP_AT, OPT_TEST_WEEKLY, OPT_USER, OPT_CRON, OPT_UNIT_DIR, OPT_ON_FAILURE,
	OPT_ON_SUCCESS,
	/* schema */
	OPT_SCHEMA_DIR, OPT_EXIT_CODE, OPT_NO_REHEARSE, OPT_LOCK_TIMEOUT, OPT_REASON,
	OPT_CLEAN,
	/* retire */
	OPT_MIN_AGE,
	/* rename */
	OPT_RENAME_ROLE, OPT_TERMINATE,
	OPT_ID_COUNT
} OptId;

typedef struct OptRow
{
	const char *name;       /* "--owner" */
	const char *alias;      /* "-y", or NULL */
	OptId       id;
	OptKind     kind;
	const char *value;      /* in "needs ...": "a directory"; NULL = "a value" */
	long        min, max;   /* OPT_LONG */
	const char *range;      /* OPT_LONG: "from 0 to 10000" */
	unsigned    commands;   /* OPT_CMD_* */
	unsigned    sub;        /* db/backups: IOPT_* bit a subcommand must accept; 0 = any */
} OptRow;

extern const OptRow opt_table[];

typedef struct OptParser
{
	const char   *command;  /* for messages and the help hint; NULL in main */
	const char   *sub;      /* db/backups/schedule subcommand, or NULL */
	unsigned      cmd;      /* OPT_CMD_* of the parsing command */
	unsigned      accept;   /* IOPT_* of the subcommand (rows with sub != 0) */
	bool          pass;     /* main: words not in the table are positionals */
	int           argc;
	char        **argv;
	int           i;        /* next word */
	bool          ended;    /* saw "--" */
	/* after opt_next returned an id: */
	const OptRow *row;
	const char   *arg;      /* its value (OPT_STRING, OPT_LONG), else NULL */
	long          num;      /* OPT_LONG */
	/* after OPT_END: the positionals, in order (they replace argv[1..]) */
	char        **pos;
	int           npos;
	unsigned char seen[OPT_ID_COUNT];
} OptParser;

/* argv[0] is the command (or subcommand) name and is not parsed. */
void opt_init(OptParser *p, const char *command, const char *sub, unsigned cmd,
			  unsigned accept, int argc, char **argv);
/* The next option's id, OPT_END when argv is done, OPT_ERROR when a usage
 * error was logged. With pass set (main), "--" and every word after it are
 * kept as positionals too, so the command sees them. */
int opt_next(OptParser *p);

#endif
