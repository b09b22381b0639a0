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

/* Pieces held apart from the URL (CONN_PARTS; a JDBC URL's user and
 * password) are named by their own variable. */
static bool
piece_apart(const ConnRef *c, ConnPiece piece)
{
	return c->kind == CONN_PARTS ||
		(c->split_credentials && (piece == PIECE_USER || piece == PIECE_PASSWORD));
}

static int
piece_index(const ConnRef *c, ConnPiece piece)
{
	const int idx[PIECE_COUNT] = { c->host, c->port, c->user, c->password, c->dbname };

	return idx[piece];
}

static const char *
conn_setting_name(const StackService *svc, const ConnRef *c, ConnPiece piece)
{
	const ComposeService *s = &svc->file.services[c->app];
	int idx = piece_index(c, piece);

	if (!piece_apart(c, piece))
		return s->env[c->var].name;
	if (idx >= 0)
		return s->env[idx].name;
	return c->names.var[piece] ? c->names.var[piece] : "(unset)";
}

/* Why the setting holding a piece did not resolve, if the parser said. */
static const char *
conn_setting_error(const StackService *svc, const ConnRef *c, ConnPiece piece)
{
	const ComposeService *s = &svc->file.services[c->app];
	int idx = piece_apart(c, piece) ? piece_index(c, piece) : c->var;

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
					 app, conn_setting_name(svc, c, PIECE_USER));
		else if (svc->db_user && strcmp(c->values.user, svc->db_user) != 0)
			svc_warn(svc, "%s: %s says user '%s' but POSTGRES_USER is '%s'; the app's is used",
					 app, conn_setting_name(svc, c, PIECE_USER), c->values.user, svc->db_user);
		if (c->values.dbname != NULL && svc->db_name && strcmp(c->values.dbname, svc->db_name) != 0)
			svc_warn(svc, "%s: %s says database '%s' but POSTGRES_DB is '%s'; the app's is used",
					 app, conn_setting_name(svc, c, PIECE_DBNAME), c->values.dbname, svc->db_name);
		if (c->values.password == NULL)
		{
			const char *why = conn_setting_error(svc, c, PIECE_PASSWORD);

			svc_warn(svc, "%s: %s has no password that resolves%s%s%s",
					 app, conn_setting_name(svc, c, PIECE_PASSWORD),
					 why ? " (" : "", why ? why : "", why ? ")" : "");
		}
		else if (db_pass && strcmp(c->values.password, db_pass) != 0)
			svc_warn(svc, "%s: the password in %s differs from POSTGRES_PASSWORD; the app's is "
					 "used (POSTGRES_PASSWORD only applies when the data volume is created)",
					 app, conn_setting_name(svc, c, PIECE_PASSWORD));
		/* the port is checked against the one the server really listens on
		 * (SHOW port), by the pre-flight: src/migrate/conns.c */
	}
}
