/*
 * preflight_names.c — the names a migration uses on the shared instance:
 * --db / --role when given (checked against the rule), else the one
 * naming rule of naming.h.
 */
#include "pgfold/preflight.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/naming.h"
#include "pgfold/secrets.h"

#include <string.h>

bool
preflight_name_rule(const App *app, const StackService *svc, NamingResult *out,
					char *err, size_t err_len)
{
	NamingInputs in = {
		.template_text = config_lookup(&app->cfg, NAMING_TEMPLATE_VAR),
		.meta_database_name = svc->meta_database_name,
		.postgres_db = svc->db_name,
		.service = svc->name,
		.user = NULL,
		.admin_role = app->cfg.pg_user,
	};

	return naming_apply(&in, out, err, err_len);
}

static bool
given_name(const App *app, const StackService *svc, const char *what, const char *name)
{
	char why[256];

	if (naming_valid(name, app->cfg.pg_user, why, sizeof(why)))
		return true;
	log_error("%s: --%s \"%.64s\" %s", svc->name, what, name, why);
	exit_hint_set(EXIT_USAGE);
	return false;
}

bool
preflight_names(const App *app, const StackService *svc, const PreflightOptions *opts,
				MigrationNames *out)
{
	NamingResult rule;
	char err[512];
	const char *db;

	memset(out, 0, sizeof(*out));
	if (opts->db != NULL)
	{
		if (!given_name(app, svc, "db", opts->db))
			return false;
		db = opts->db;
	}
	else if (!preflight_name_rule(app, svc, &rule, err, sizeof(err)))
	{
		log_error("%s: %s", svc->name, err);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	else
		db = rule.name;

	const char *role = opts->role ? opts->role : db;

	if (opts->role != NULL && !given_name(app, svc, "role", opts->role))
		return false;
	if (!str_copy(out->db, sizeof(out->db), db)
		|| !naming_with_suffix(db, TMP_DB_SUFFIX, out->tmp_db))
	{
		log_error("%s: database name \"%.64s\" is too long (at most 63 bytes)", svc->name, db);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (!secrets_role_name_valid(role) || !str_copy(out->role, sizeof(out->role), role))
	{
		log_error("%s: \"%s\" cannot be a role name (printable, no '/', at most 63 bytes); "
				  "pick one with --role", svc->name, role);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	return true;
}

void
preflight_names_check(Preflight *pf, const App *app, const StackService *svc,
					  const PreflightOptions *opts)
{
	NamingResult rule;
	char err[512];

	if (opts->db != NULL)
	{
		preflight_add(pf, "names", CHECK_OK, "database \"%s\" (--db), role \"%s\"%s",
					  pf->names.db, pf->names.role, opts->role ? " (--role)" : "");
		return;
	}
	if (!preflight_name_rule(app, svc, &rule, err, sizeof(err)))
		return;
	preflight_add(pf, "names", CHECK_OK, "database \"%s\", role \"%s\"%s: %s %s%s%s%s%s",
				  pf->names.db, pf->names.role, opts->role ? " (--role)" : "",
				  NAMING_TEMPLATE_VAR, rule.template_text,
				  strstr(rule.template_text, "{database_name}") ? ", {database_name} from " : "",
				  strstr(rule.template_text, "{database_name}") ? rule.database_from : "",
				  rule.changed ? "; lowercase, invalid characters to '_'" : "",
				  rule.truncated ? "; cut to 63 bytes with a hash suffix" : "");
}
