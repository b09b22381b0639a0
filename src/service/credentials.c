/*
 * credentials.c — does each app agree with the db's POSTGRES_* settings?
 *
 * POSTGRES_USER / _PASSWORD / _DB only apply when the data volume is first
 * created; the app's settings are what work today. So a disagreement is a
 * warning (naming the setting, never a value of a password) and the app's
 * values are the ones a migration carries over.
 */
#include "internal.h"

#include <string.h>

static const char *
conn_setting_name(const StackService *svc, const ConnRef *c, int part_index)
{
	const ComposeService *s = &svc->file.services[c->app];

	if (c->kind != CONN_PARTS)
		return s->env[c->var].name;
	return part_index >= 0 ? s->env[part_index].name : "(unset)";
}

/* Why the setting holding a piece did not resolve, if the parser said. */
static const char *
conn_setting_error(const StackService *svc, const ConnRef *c, int part_index)
{
	const ComposeService *s = &svc->file.services[c->app];
	int idx = c->kind != CONN_PARTS ? c->var : part_index;

	return idx >= 0 ? s->env[idx].error : NULL;
}

void
conn_check_credentials(StackService *svc)
{
	if (svc->db_service < 0)
		return;

	const ComposeService *db = &svc->file.services[svc->db_service];
	const char *db_pass = svc_var(db, "POSTGRES_PASSWORD", NULL);

	for (size_t k = 0; k < svc->conn_count; k++)
	{
		const ConnRef *c = &svc->conns[k];
		const char *app = svc->file.services[c->app].key;

		if (c->shared)
			continue;
		if (c->values.user == NULL)
			svc_warn(svc, "%s: cannot tell which user %s connects as",
					 app, conn_setting_name(svc, c, c->user));
		else if (svc->db_user && strcmp(c->values.user, svc->db_user) != 0)
			svc_warn(svc, "%s: %s says user '%s' but POSTGRES_USER is '%s'; the app's is used",
					 app, conn_setting_name(svc, c, c->user), c->values.user, svc->db_user);
		if (c->values.dbname != NULL && svc->db_name && strcmp(c->values.dbname, svc->db_name) != 0)
			svc_warn(svc, "%s: %s says database '%s' but POSTGRES_DB is '%s'; the app's is used",
					 app, conn_setting_name(svc, c, c->dbname), c->values.dbname, svc->db_name);
		if (c->values.password == NULL)
		{
			const char *why = conn_setting_error(svc, c, c->password);

			svc_warn(svc, "%s: %s has no password that resolves%s%s%s",
					 app, conn_setting_name(svc, c, c->password),
					 why ? " (" : "", why ? why : "", why ? ")" : "");
		}
		else if (db_pass && strcmp(c->values.password, db_pass) != 0)
			svc_warn(svc, "%s: the password in %s differs from POSTGRES_PASSWORD; the app's is "
					 "used (POSTGRES_PASSWORD only applies when the data volume is created)",
					 app, conn_setting_name(svc, c, c->password));
		if (c->values.port > 0 && c->values.port != 5432)
			svc_warn(svc, "%s: %s uses port %d; the db container listens on 5432",
					 app, conn_setting_name(svc, c, c->port), c->values.port);
	}
}
