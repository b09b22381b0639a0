/*
 * cli.h — command table and the options every command shares.
 *
 * One file per command under src/cli/. A command's main parses its own
 * arguments (opt_next, options.h) after the global options were taken out, and
 * returns an exit status from exitcodes.h.
 */
#ifndef PGFOLD_CLI_H
#define PGFOLD_CLI_H

#include <stdbool.h>
#include <stdio.h>

typedef struct GlobalOptions
{
	const char *root;       /* --root, NULL = $PGFOLD_ROOT or cwd */
	bool        json;       /* --json: machine-readable output on stdout */
	bool        yes;        /* --yes: do not ask */
	bool        dry_run;    /* --dry-run: change nothing */
	bool        color;      /* decided from --no-color, NO_COLOR, isatty */
	int         verbosity;  /* -v adds one, -q subtracts one */
} GlobalOptions;

typedef int (*CommandMain)(const GlobalOptions *opts, int argc, char **argv);

typedef struct Command
{
	const char  *name;
	const char  *summary;   /* one line for `pgfold --help` */
	const char  *usage;     /* full text for `pgfold help NAME` */
	CommandMain  main;
} Command;

const Command *cli_find_command(const char *name);
const Command *cli_commands(int *count);
void cli_print_usage(FILE *out);

/* --json output: doc indented on stdout, then released. */
struct json_t;
void cli_print_json(struct json_t *doc);

/* Prints "pgfold: error: ..." plus a hint to run `pgfold help NAME`. */
int cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The commands, each in src/cli/<name>.c. */
int cli_status_main(const GlobalOptions *opts, int argc, char **argv);
int cli_plan_main(const GlobalOptions *opts, int argc, char **argv);
int cli_migrate_main(const GlobalOptions *opts, int argc, char **argv);
int cli_rollback_main(const GlobalOptions *opts, int argc, char **argv);
int cli_help_main(const GlobalOptions *opts, int argc, char **argv);
int cli_version_main(const GlobalOptions *opts, int argc, char **argv);

extern const char cli_status_usage[];
extern const char cli_plan_usage[];
extern const char cli_migrate_usage[];
extern const char cli_rollback_usage[];

/* The instance tools: src/cli/db.c, user.c, backups.c. */
int cli_db_main(const GlobalOptions *opts, int argc, char **argv);
int cli_user_main(const GlobalOptions *opts, int argc, char **argv);
int cli_backups_main(const GlobalOptions *opts, int argc, char **argv);
extern const char cli_db_usage[];
extern const char cli_user_usage[];
extern const char cli_backups_usage[];

/* `pgfold status`: the age of a migrated service's last backup and restore
 * test (src/cli/status_backup.c); into obj when not NULL, else one line. */
struct App;
struct json_t;
void cli_status_backup(const struct App *app, const char *db, struct json_t *obj);

/* The footer of `status` and `status --all`: what folding saves
 * (src/cli/status_savings.c). app: the stack's services, NULL: every
 * dedicated postgres of the engine's list. shared may be NULL. */
struct Config;
struct DockerClient;
struct pg_conn;
void cli_status_savings(struct App *app, const struct Config *cfg, struct DockerClient *docker,
						struct json_t *list, struct pg_conn *shared);

/* `pgfold backup` (src/cli/backup.c). */
int cli_backup_main(const GlobalOptions *opts, int argc, char **argv);
extern const char cli_backup_usage[];

/* `pgfold retire` (src/cli/retire.c). */
int cli_retire_main(const GlobalOptions *opts, int argc, char **argv);
extern const char cli_retire_usage[];
/* `pgfold name`, `refs`, `rename` (src/cli/name.c, refs.c, rename.c). */
int cli_name_main(const GlobalOptions *opts, int argc, char **argv);
int cli_refs_main(const GlobalOptions *opts, int argc, char **argv);
int cli_rename_main(const GlobalOptions *opts, int argc, char **argv);
extern const char cli_name_usage[];
extern const char cli_refs_usage[];
extern const char cli_rename_usage[];

/* `pgfold schedule` (src/cli/schedule.c). */
int cli_schedule_main(const GlobalOptions *opts, int argc, char **argv);
extern const char cli_schedule_usage[];

/* `pgfold schema` (src/cli/schema.c). */
int cli_schema_main(const GlobalOptions *opts, int argc, char **argv);
extern const char cli_schema_usage[];

/* `db` and `backups` (src/cli/db.c): argv[1] names one of the count
 * subcommands in table (instance.h); its options are parsed with the rows
 * of opt_cmd (OPT_CMD_DB or _BACKUPS, options.h) its accept bits allow,
 * its arguments counted, then it runs. */
struct InstanceSub;
int cli_run_instance_command(const GlobalOptions *g, const char *command, unsigned opt_cmd,
							 const struct InstanceSub *table, size_t count, int argc, char **argv);

/* Options shared by `plan` and `migrate`; -1 = help printed (exit 0). */
struct MigrateOptions;
int cli_run_migrate(const GlobalOptions *g, const char *command, int argc, char **argv);
int cli_parse_migrate_options(const GlobalOptions *g, const char *command, int argc,
							  char **argv, struct MigrateOptions *opts,
							  const char **service);

#endif
