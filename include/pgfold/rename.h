/*
 * rename.h — `pgfold rename OLD NEW`: a database of the shared instance
 * renamed (and its role with --role), as a journaled run on the one step
 * runner (runner.h, op JOURNAL_RENAME, steps REN_STEP_* of journal.h).
 *
 * Checks first, changing nothing: NEW is a name the naming rule keeps
 * (naming.h) and is free (no database, and with --role no role, of that
 * name); OLD exists and is not a system database; the admin may rename it
 * (owner or superuser, and CREATEDB); nobody is connected to OLD unless
 * --terminate. Then: backup (unless --no-backup), terminate, ALTER
 * DATABASE RENAME, ALTER ROLE RENAME and the password file (--role), and
 * the service file whose database it is (its `# database_name:` header
 * and the apps' connection settings that name OLD literally), then its
 * apps recreated. A failure before that undoes every step done, last
 * first.
 */
#ifndef PGFOLD_RENAME_H
#define PGFOLD_RENAME_H

#include <stdbool.h>

#include "pgfold/app.h"

typedef struct RenameOptions
{
	const char *from;
	const char *to;
	bool        role;        /* --role: the role of the same name too */
	bool        terminate;   /* --terminate: end the sessions on OLD */
	bool        no_backup;   /* --no-backup */
	bool        dry_run;
	bool        yes;
	bool        json;
} RenameOptions;

/* The whole command after the options were parsed: an exit status. */
int rename_run(App *app, const RenameOptions *o);

/* The service whose migrated database is db (its file's `# database_name:`
 * and a connection pointing at the shared instance), or NULL. */
StackService *rename_find_service(App *app, const char *db);

/* New bytes of svc's file with every literal `from` in its database_name
 * header and its shared connections' database (and, with role, user)
 * replaced by to; *edits counts them. Values that come from elsewhere
 * (${VAR}) are left alone with a warning naming them. */
bool rename_service_bytes(const StackService *svc, const char *from, const char *to, bool role,
						  StrBuf *out, int *edits);

#endif
