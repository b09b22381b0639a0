/*
 * rename.c — `pgfold rename OLD NEW [--role] [--terminate] [--no-backup]`
 * (rename.h).
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/options.h"
#include "pgfold/rename.h"

#include <string.h>

const char cli_rename_usage[] =
	"usage: pgfold rename OLD NEW [--role] [--terminate] [--no-backup] [--dry-run] [--yes]\n"
	"                     [--json]\n"
	"\n"
	"Rename database OLD of the shared instance to NEW, as a journaled run that\n"
	"is undone, last step first, when a step fails. First, changing nothing:\n"
	"NEW must be a name the naming rule keeps (`pgfold help name`: lowercase\n"
	"a-z, 0-9 and '_', at most 63 bytes, not reserved) and free as a database\n"
	"and as a role; OLD must exist; the admin must own it (or be superuser) and\n"
	"have CREATEDB; the sessions on OLD (pg_stat_activity) are listed, and\n"
	"refused unless --terminate. Then:\n"
	"  backup      pg_dump -Fc of OLD under backups/ (not with --no-backup)\n"
	"  terminate   end the sessions on OLD (never pgfold's own)\n"
	"  database    ALTER DATABASE OLD RENAME TO NEW\n"
	"  role        --role: ALTER ROLE OLD RENAME TO NEW, and its password file\n"
	"              etc/.db_passwords/OLD.txt becomes NEW.txt\n"
	"  files       the migrated service file of OLD: its `# database_name:`\n"
	"              header and the apps' settings that name OLD (the user too\n"
	"              with --role), edited in place; the file as found is kept\n"
	"              under backups/postgres-migrations/\n"
	"  apply       the apps of that file recreated (compose up -d); a failure\n"
	"              here is not undone (the rename is done): it says what to run\n"
	"\n"
	"  --role        rename the role of the same name too\n"
	"  --terminate   end the sessions on OLD instead of refusing\n"
	"  --no-backup   no dump first\n"
	"  --dry-run     the checks and the plan, nothing changed\n"
	"  --yes         do not ask\n"
	"  --json        {from, to, role, backup, service, service_file, dry_run}\n"
	"\n"
	"Exit: 0 renamed, 1 a step failed (undone), 2 bad input (NEW not valid or\n"
	"taken, OLD missing), 3 blocked (sessions without --terminate, not owner),\n"
	"5 shared instance unreachable, 7 another pgfold holds the stack lock.\n";

typedef struct Ctx
{
	RenameOptions o;
} Ctx;

static int
run(App *app, void *ctx, Lock *lock)
{
	(void) lock;
	return rename_run(app, &((Ctx *) ctx)->o);
}

int
cli_rename_main(const GlobalOptions *g, int argc, char **argv)
{
	OptParser p;
	int id;
	Ctx c;

	memset(&c, 0, sizeof(c));
	c.o.dry_run = g->dry_run;
	c.o.yes = g->yes;
	c.o.json = g->json;
	opt_init(&p, "rename", NULL, OPT_CMD_RENAME, 0, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_RENAME_ROLE: c.o.role = true; break;
			case OPT_TERMINATE: c.o.terminate = true; break;
			case OPT_NO_BACKUP: c.o.no_backup = true; break;
		}
	}
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	if (p.npos != 2)
		return cli_usage_error("rename", "rename takes OLD and NEW");
	c.o.from = p.pos[0];
	c.o.to = p.pos[1];
	return instance_main(g, true, run, &c);
}
