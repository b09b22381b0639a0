/*
 * commands.c — the command table, `pgfold help` and `pgfold --version`.
 */
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/version.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char help_usage[] =
	"usage: pgfold help [COMMAND]\n"
	"\n"
	"Show the list of commands, or the full help of one command.\n";

static const char version_usage[] =
	"usage: pgfold --version\n";

static const Command commands[] = {
	{ "status", "one line per service: migrated, ready, attention or blocked",
	  cli_status_usage, cli_status_main },
	{ "plan", "pre-flight checks and the exact steps of a migration (read-only)",
	  cli_plan_usage, cli_plan_main },
	{ "migrate", "move one service's database into the shared instance",
	  cli_migrate_usage, cli_migrate_main },
	{ "rollback", "put a migrated service back on its dedicated container, with its data",
	  cli_rollback_usage, cli_rollback_main },
	{ "retire", "remove a folded service's stopped dedicated container and its volume",
	  cli_retire_usage, cli_retire_main },
	{ "db", "databases of the shared instance: list, create, drop, backup, restore, ...",
	  cli_db_usage, cli_db_main },
	{ "user", "create (or rotate) an isolated service role, with access to a database",
	  cli_user_usage, cli_user_main },
	{ "backup", "back up every database of the shared instance, with globals and retention",
	  cli_backup_usage, cli_backup_main },
	{ "backups", "the dumps under backups/: list, verify, prune, test",
	  cli_backups_usage, cli_backups_main },
	{ "schedule", "run backup nightly (and a weekly restore test): systemd timer or cron",
	  cli_schedule_usage, cli_schedule_main },
	{ "schema", "versioned schema migrations of a service's database, with backup and rehearsal",
	  cli_schema_usage, cli_schema_main },
	{ "name", "the database and role names the naming rule gives a service, and why",
	  cli_name_usage, cli_name_main },
	{ "refs", "find what still points at a database, host or container (cron, systemd, files)",
	  cli_refs_usage, cli_refs_main },
	{ "rename", "rename a database (and its role) on the shared instance, journaled",
	  cli_rename_usage, cli_rename_main },
	{ "help", "show help for a command", help_usage, cli_help_main },
	{ "version", "print the version", version_usage, cli_version_main },
};

const Command *
cli_commands(int *count)
{
	*count = (int) (sizeof(commands) / sizeof(commands[0]));
	return commands;
}

const Command *
cli_find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void
cli_print_usage(FILE *out)
{
	fprintf(out,
			"pgfold %s — fold dedicated postgres containers into one shared instance\n"
			"\n"
			"usage: pgfold [GLOBAL OPTIONS] COMMAND [ARGS]\n"
			"\n"
			"commands:\n", PGFOLD_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
		  "global options:\n"
		  "  --root DIR     stack root (default: $PGFOLD_ROOT, else the current directory)\n"
		  "  --json         machine-readable output on stdout\n"
		  "  --yes, -y      do not ask for confirmation\n"
		  "  --dry-run      show what would happen, change nothing\n"
		  "  --no-color     no colours (also: NO_COLOR set)\n"
		  "  -v, -q         more or less output\n"
		  "  --version      print the version\n"
		  "  --help         this text; `pgfold help COMMAND` for one command\n"
		  "\n"
		  "exit codes: 0 ok, 1 failure, 2 usage, 3 blocked by a pre-flight check,\n"
		  "4 engine unreachable, 5 shared instance unreachable, 6 verification\n"
		  "mismatch, 7 another pgfold holds the lock, 8 backup: some databases\n"
		  "failed, 130 interrupted.\n", out);
}

void
cli_print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(doc);
}

int
cli_usage_error(const char *command, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (command != NULL)
		log_error("%s (see `pgfold help %s`)", msg, command);
	else
		log_error("%s (see `pgfold --help`)", msg);
	return EXIT_USAGE;
}

int
cli_help_main(const GlobalOptions *opts, int argc, char **argv)
{
	(void) opts;
	if (argc < 2)
	{
		cli_print_usage(stdout);
		return EXIT_OK;
	}

	const Command *cmd = cli_find_command(argv[1]);

	if (cmd == NULL)
		return cli_usage_error("help", "unknown command \"%s\"", argv[1]);
	fputs(cmd->usage, stdout);
	return EXIT_OK;
}

int
cli_version_main(const GlobalOptions *opts, int argc, char **argv)
{
	(void) opts;
	(void) argc;
	(void) argv;
	printf("pgfold %s\n", PGFOLD_VERSION);
	return EXIT_OK;
}
