/*
 * options.c — the option table of every command, and the one parser.
 *
 * A command adds an option with a row here and a case in its switch; the
 * parser says every usage error about options, so the wording is the same
 * everywhere. In the spirit of curl's tool_getparam.c.
 */
#include "pgfold/options.h"

#include "pgfold/cli.h"
#include "pgfold/instance.h"
#include "pgfold/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define G OPT_CMD_GLOBAL
#define MIG OPT_CMD_MIGRATE
#define RB OPT_CMD_ROLLBACK
#define SCHED OPT_CMD_SCHEDULE
#define SCH OPT_CMD_SCHEMA

const OptRow opt_table[] = {
	/* global: main takes them before or after the command */
	{ "--root", NULL, OPT_ROOT, OPT_STRING, "a directory", 0, 0, NULL, G, 0 },
	{ "--json", NULL, OPT_JSON, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "--yes", "-y", OPT_YES, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "--dry-run", NULL, OPT_DRY_RUN, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "--no-color", NULL, OPT_NO_COLOR, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "--verbose", "-v", OPT_VERBOSE, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "-vv", NULL, OPT_VERBOSE2, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "--quiet", "-q", OPT_QUIET, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "--help", "-h", OPT_HELP, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	{ "--version", "-V", OPT_VERSION, OPT_NONE, NULL, 0, 0, NULL, G, 0 },
	/* migrate, plan */
	{ "--no-apply", NULL, OPT_NO_APPLY, OPT_NONE, NULL, 0, 0, NULL, MIG | RB, 0 },
	{ "--deep", NULL, OPT_DEEP, OPT_NONE, NULL, 0, 0, NULL, MIG | RB | OPT_CMD_DB, IOPT_DEEP },
	{ "--keep-app-stopped", NULL, OPT_KEEP_APP_STOPPED, OPT_NONE, NULL, 0, 0, NULL, MIG, 0 },
	{ "--db", NULL, OPT_DB, OPT_STRING, NULL, 0, 0, NULL, MIG | SCH, 0 },
	{ "--role", NULL, OPT_ROLE, OPT_STRING, NULL, 0, 0, NULL, MIG, 0 },
	/* rename: --role is a flag there (the role is renamed too) */
	{ "--role", NULL, OPT_RENAME_ROLE, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_RENAME, 0 },
	{ "--terminate", NULL, OPT_TERMINATE, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_RENAME, 0 },
	{ "--connection-limit", NULL, OPT_CONNECTION_LIMIT, OPT_LONG, NULL, -1, 10000,
	  "from -1 (no limit) to 10000", MIG | OPT_CMD_USER, 0 },
	{ "--verify", NULL, OPT_VERIFY, OPT_NONE, NULL, 0, 0, NULL, MIG, 0 },
	{ "--ignore-migration-state", NULL, OPT_IGNORE_MIGRATION_STATE, OPT_NONE, NULL, 0, 0, NULL,
	  MIG, 0 },
	{ "--drop-grants", NULL, OPT_DROP_GRANTS, OPT_NONE, NULL, 0, 0, NULL, MIG, 0 },
	{ "--with-roles", NULL, OPT_WITH_ROLES, OPT_NONE, NULL, 0, 0, NULL, MIG, 0 },
	{ "--files-edited", NULL, OPT_FILES_EDITED, OPT_NONE, NULL, 0, 0, NULL, MIG, 0 },
	/* migrate, plan: pg_restore -j for the post-data section ("auto" or a number: migrate.c) */
	{ "--jobs", "-j", OPT_JOBS, OPT_STRING, "N or auto", 0, 0, NULL, MIG, 0 },
	/* plan: time a migration; schema up/down/goto: apply to a scratch copy first */
	{ "--rehearse", NULL, OPT_REHEARSE, OPT_NONE, NULL, 0, 0, NULL, MIG | OPT_CMD_SCHEMA, 0 },
	/* rollback */
	{ "--drop-shared", NULL, OPT_DROP_SHARED, OPT_NONE, NULL, 0, 0, NULL, RB, 0 },
	{ "--latest-backup", NULL, OPT_LATEST_BACKUP, OPT_NONE, NULL, 0, 0, NULL, RB, 0 },
	{ "--backup", NULL, OPT_BACKUP, OPT_STRING, NULL, 0, 0, NULL, RB, 0 },
	{ "--original-data", NULL, OPT_ORIGINAL_DATA, OPT_NONE, NULL, 0, 0, NULL, RB, 0 },
	/* status, backup, backups, db */
	{ "--all", NULL, OPT_ALL, OPT_NONE, NULL, 0, 0, NULL,
	  OPT_CMD_STATUS | OPT_CMD_BACKUP | OPT_CMD_BACKUPS, IOPT_ALL },
	{ "--keep-daily", NULL, OPT_KEEP_DAILY, OPT_LONG, NULL, 0, 10000, "from 0 to 10000",
	  OPT_CMD_BACKUP, 0 },
	{ "--keep-weekly", NULL, OPT_KEEP_WEEKLY, OPT_LONG, NULL, 0, 10000, "from 0 to 10000",
	  OPT_CMD_BACKUP, 0 },
	{ "--keep-monthly", NULL, OPT_KEEP_MONTHLY, OPT_LONG, NULL, 0, 10000, "from 0 to 10000",
	  OPT_CMD_BACKUP, 0 },
	{ "--no-retention", NULL, OPT_NO_RETENTION, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_BACKUP, 0 },
	{ "--owner", NULL, OPT_OWNER, OPT_STRING, NULL, 0, 0, NULL, OPT_CMD_DB, IOPT_OWNER },
	{ "--force", NULL, OPT_FORCE, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_DB, IOPT_FORCE },
	{ "--no-backup", NULL, OPT_NO_BACKUP, OPT_NONE, NULL, 0, 0, NULL,
	  OPT_CMD_DB | SCH | OPT_CMD_RENAME, IOPT_NO_BACKUP },
	{ "--estimate", NULL, OPT_ESTIMATE, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_DB, IOPT_ESTIMATE },
	{ "--against", NULL, OPT_AGAINST, OPT_STRING, NULL, 0, 0, NULL, OPT_CMD_DB, IOPT_AGAINST },
	{ "--no-checksum", NULL, OPT_NO_CHECKSUM, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_BACKUPS,
	  IOPT_NO_CHECKSUM },
	{ "--older-than", NULL, OPT_OLDER_THAN, OPT_STRING, NULL, 0, 0, NULL, OPT_CMD_BACKUPS,
	  IOPT_OLDER_THAN },
	{ "--keep-last", NULL, OPT_KEEP_LAST, OPT_LONG, NULL, 1, 100000, "of 1 or more",
	  OPT_CMD_BACKUPS, IOPT_KEEP_LAST },
	{ "--latest", NULL, OPT_LATEST, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_BACKUPS, IOPT_LATEST },
	/* user: its --owner is a flag (the role owns DB) */
	{ "--rotate", NULL, OPT_ROTATE, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_USER, 0 },
	{ "--owner", NULL, OPT_OWNER_FLAG, OPT_NONE, NULL, 0, 0, NULL, OPT_CMD_USER, 0 },
	/* retire */
	{ "--min-age", NULL, OPT_MIN_AGE, OPT_STRING, "a duration", 0, 0, NULL, OPT_CMD_RETIRE, 0 },
	/* schedule (which subcommand takes which: schedule.c) */
	{ "--backup-at", NULL, OPT_BACKUP_AT, OPT_STRING, NULL, 0, 0, NULL, SCHED, 0 },
	{ "--test-weekly", NULL, OPT_TEST_WEEKLY, OPT_NONE, NULL, 0, 0, NULL, SCHED, 0 },
	{ "--user", NULL, OPT_USER, OPT_NONE, NULL, 0, 0, NULL, SCHED, 0 },
	{ "--cron", NULL, OPT_CRON, OPT_NONE, NULL, 0, 0, NULL, SCHED, 0 },
	{ "--unit-dir", NULL, OPT_UNIT_DIR, OPT_STRING, NULL, 0, 0, NULL, SCHED, 0 },
	{ "--on-failure", NULL, OPT_ON_FAILURE, OPT_STRING, NULL, 0, 0, NULL, SCHED, 0 },
	{ "--on-success", NULL, OPT_ON_SUCCESS, OPT_STRING, NULL, 0, 0, NULL, SCHED, 0 },
	/* schema (which subcommand takes which: schema.c) */
	{ "--dir", NULL, OPT_SCHEMA_DIR, OPT_STRING, "a directory", 0, 0, NULL, SCH, 0 },
	{ "--exit-code", NULL, OPT_EXIT_CODE, OPT_NONE, NULL, 0, 0, NULL, SCH, 0 },
	{ "--no-rehearse", NULL, OPT_NO_REHEARSE, OPT_NONE, NULL, 0, 0, NULL, SCH, 0 },
	{ "--lock-timeout", NULL, OPT_LOCK_TIMEOUT, OPT_LONG, "seconds", 0, 86400,
	  "of seconds from 0 to 86400", SCH, 0 },
	{ "--reason", NULL, OPT_REASON, OPT_STRING, "a text", 0, 0, NULL, SCH, 0 },
	{ "--clean", NULL, OPT_CLEAN, OPT_NONE, NULL, 0, 0, NULL, SCH, 0 },
	{ NULL, NULL, OPT_END, OPT_NONE, NULL, 0, 0, NULL, 0, 0 }
};

void
opt_init(OptParser *p, const char *command, const char *sub, unsigned cmd, unsigned accept,
		 int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	p->command = command;
	p->sub = sub;
	p->cmd = cmd;
	p->accept = accept;
	p->argc = argc;
	p->argv = argv;
	p->i = 1;
	p->pos = argv + 1;
}

/* The one place that says what is wrong with an option. */
static int opt_error(const OptParser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
opt_error(const OptParser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->sub != NULL)
		cli_usage_error(p->command, "%s %s: %s", p->command, p->sub, msg);
	else
		cli_usage_error(p->command, "%s", msg);
	return OPT_ERROR;
}

static bool
row_named(const OptRow *r, const char *word, size_t len)
{
	return (strlen(r->name) == len && strncmp(r->name, word, len) == 0)
		|| (r->alias != NULL && strlen(r->alias) == len && strncmp(r->alias, word, len) == 0);
}

/* The row for word (up to len) this parser accepts; *known when another
 * command or subcommand has one by that name. */
static const OptRow *
find_row(const OptParser *p, const char *word, size_t len, bool *known)
{
	*known = false;
	for (const OptRow *r = opt_table; r->name != NULL; r++)
	{
		if (!row_named(r, word, len))
			continue;
		*known = true;
		if ((r->commands & p->cmd) && (r->sub == 0 || !p->sub || (r->sub & p->accept)))
			return r;
	}
	return NULL;
}

static void
keep(OptParser *p, char *word)
{
	p->pos[p->npos++] = word;   /* never past p->i: compacts argv in place */
}

static int
take_value(OptParser *p, const OptRow *r, const char *eq)
{
	if (eq != NULL)
		p->arg = eq + 1;
	else if (p->i < p->argc)
		p->arg = p->argv[p->i++];
	else
		return opt_error(p, "%s needs %s", r->name, r->value ? r->value : "a value");
	if (p->seen[r->id] && !(r->commands & OPT_CMD_GLOBAL))
		return opt_error(p, "%s given twice", r->name);
	if (r->kind == OPT_LONG && !str_to_long(p->arg, r->min, r->max, &p->num))
		return opt_error(p, "%s takes a number %s, not \"%s\"", r->name, r->range, p->arg);
	return r->id;
}

int
opt_next(OptParser *p)
{
	while (p->i < p->argc)
	{
		char *word = p->argv[p->i++];
		const char *eq;
		const OptRow *r;
		bool known;
		int len;

		if (p->ended || word[0] != '-' || word[1] == '\0')
		{
			keep(p, word);
			continue;
		}
		if (strcmp(word, "--") == 0)
		{
			p->ended = true;
			if (p->pass)
				keep(p, word);
			continue;
		}
		eq = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
		len = eq ? (int) (eq - word) : (int) strlen(word);
		r = find_row(p, word, (size_t) len, &known);
		if (r == NULL && p->pass)
		{
			keep(p, word);
			continue;
		}
		if (r == NULL && known && p->sub != NULL)
			return opt_error(p, "%.*s belongs to another subcommand", len, word);
		if (r == NULL && known)
			return opt_error(p, "%.*s is not an option of %s", len, word, p->command);
		if (r == NULL)
			return opt_error(p, "unknown option %.*s", len, word);
		p->row = r;
		p->arg = NULL;
		if (r->kind == OPT_NONE && eq != NULL)
			return opt_error(p, "%s takes no value", r->name);
		if (r->kind != OPT_NONE && take_value(p, r, eq) == OPT_ERROR)
			return OPT_ERROR;
		p->seen[r->id] = 1;
		return r->id;
	}
	p->pos[p->npos] = NULL;
	return OPT_END;
}
