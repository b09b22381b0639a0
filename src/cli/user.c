/*
 * user.c — `pgfold user create ROLE [DB]`: an isolated service role, as
 * migrate makes them, for a database that is already on the shared
 * instance.
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/migrate.h"
#include "pgfold/options.h"
#include "pgfold/secrets.h"

#include <stdio.h>
#include <string.h>

const char cli_user_usage[] =
	"usage: pgfold user create ROLE [DB] [--rotate] [--owner] [--connection-limit N]\n"
	"                          [--dry-run] [--json]\n"
	"\n"
	"Create the login role ROLE on the shared instance, as migrate does for a\n"
	"service: a 32-character password from libsodium, of which the server only\n"
	"sees the SCRAM-SHA-256 verifier computed here; the password goes to\n"
	"<root>/etc/.db_passwords/ROLE.txt (directory 0700, file 0600), written\n"
	"before the server accepts it and renamed into place after, so the file and\n"
	"the server never disagree. The password is never printed.\n"
	"\n"
	"A missing role whose password file already exists gets that password\n"
	"(action \"created-from-file\"). Re-running on an existing role whose\n"
	"password file logs in changes nothing (action \"reused\"). An existing role\n"
	"without a file that logs in is refused (exit 3): a service may be using\n"
	"its password. --rotate sets a new one and rewrites the file atomically\n"
	"(update the services that use it).\n"
	"\n"
	"With DB (which must exist): REVOKE ALL ON DATABASE DB FROM PUBLIC, GRANT\n"
	"CONNECT, TEMPORARY to ROLE, then either\n"
	"  --owner   ROLE owns DB and every object in it (what migrate does), or by\n"
	"            default read/write grants: USAGE on every schema, SELECT, INSERT,\n"
	"            UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER on every table,\n"
	"            USAGE, SELECT, UPDATE on sequences, EXECUTE on functions, and the\n"
	"            same default privileges for what DB's owner creates later\n"
	"\n"
	"  --rotate              existing role: new password, file rewritten\n"
	"  --connection-limit N  CONNECTION LIMIT of a new role (default 20, -1 none)\n"
	"  --dry-run             say what would happen (create, reuse, rotate or\n"
	"                        refuse), change nothing\n"
	"  --json                {role, action, password_file, database, access,\n"
	"                        dry_run} on stdout (docs/COMMANDS.md)\n"
	"\n"
	"Exit: 0 done, 1 failure (e.g. no such database), 2 usage (e.g. a role name\n"
	"that cannot name a file), 3 the role exists and its password file does not\n"
	"log in, 5 shared instance unreachable, 7 another pgfold holds the stack lock.\n";

typedef struct UserOpts
{
	const char *role;
	const char *db;
	bool        rotate, owner, dry_run, json;
	long        limit;
} UserOpts;

static int
parse(const GlobalOptions *g, int argc, char **argv, UserOpts *o)
{
	OptParser p;
	int id;

	memset(o, 0, sizeof(*o));
	o->json = g->json;
	o->dry_run = g->dry_run;
	o->limit = MIGRATE_DEFAULT_CONNECTION_LIMIT;
	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return cli_usage_error("user", "the subcommand is `user create ROLE [DB]`");
	opt_init(&p, "user", NULL, OPT_CMD_USER, 0, argc - 1, argv + 1);
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_ROTATE: o->rotate = true; break;
			case OPT_OWNER_FLAG: o->owner = true; break;
			case OPT_CONNECTION_LIMIT: o->limit = p.num; break;
		}
	}
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	if (p.npos < 1 || p.npos > 2)
		return cli_usage_error("user", "user create takes ROLE and an optional DB");
	o->role = p.pos[0];
	o->db = p.npos == 2 ? p.pos[1] : NULL;
	if (!secrets_role_name_valid(o->role))
		return cli_usage_error("user", "role name \"%.64s\" is not usable: 1-63 characters of "
							   "[A-Za-z0-9_.-], not starting with '.' or '-' (it names its "
							   "password file and goes into connection URLs)", o->role);
	if (o->owner && o->db == NULL)
		return cli_usage_error("user", "--owner needs a database");
	return EXIT_OK;
}

static void
report(App *app, const UserOpts *o, const char *action)
{
	char path[PATH_MAX] = "";
	StrBuf d = STRBUF_INIT;
	const char *access = o->db == NULL ? NULL : o->owner ? "owner" : "grants";

	secrets_password_path(app->cfg.root, o->role, path, sizeof(path));
	if (o->json)
	{
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:b}", "role", o->role,
								 "action", action, "password_file", path, "database", o->db,
								 "access", access, "dry_run", o->dry_run));
		return;
	}
	printf("role %s: %s%s; password file %s\n", o->role, o->dry_run ? "would " : "", action, path);
	if (o->db)
		printf("%s %s of %s\n", o->dry_run ? "would make it" : "it is now",
			   o->owner ? "the owner" : "a read/write user", instance_show(&d, o->db));
	sb_free(&d);
}

static int
create(App *app, const UserOpts *o, Lock *lock)
{
	SecretsRoleRequest req = { .root = app->cfg.root, .role = o->role,
							   .connection_limit = (int) o->limit, .rotate = o->rotate };
	SecretsRoleAction action = 0;
	const char *preview = NULL;
	InstanceDb db;

	if (o->db != NULL)
	{
		if (!instance_db_require(app, o->db, &db))
			return exit_hint_get();
		instance_db_free(&db);
		if (instance_db_is_system(o->db))
			return cli_usage_error("user", "%s is a system database", o->db);
	}
	if (o->dry_run)
	{
		if (!instance_role_preview(app, o->role, o->rotate, &preview))
			return exit_hint_get();
		report(app, o, preview);
		return EXIT_OK;
	}
	if (!lock_acquire(app->cfg.root, "user create", lock)
		|| !secrets_create_or_reuse_role(app->shared, &req, &action, NULL)
		|| (o->db && !instance_grant_access(app, o->db, o->role, o->owner)))
		return exit_hint_get();
	report(app, o, secrets_role_action_name(action));
	return EXIT_OK;
}

static int
run_create(App *app, void *ctx, Lock *lock)
{
	return create(app, ctx, lock);
}

int
cli_user_main(const GlobalOptions *g, int argc, char **argv)
{
	UserOpts o;
	int rc = parse(g, argc, argv, &o);

	return rc != EXIT_OK ? rc : instance_main(g, true, run_create, &o);
}
