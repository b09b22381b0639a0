/*
 * sql.c — the statements a migration runs on the shared instance.
 *
 * The restore runs as the admin (--no-owner): pg_restore --role cannot
 * work, because a dump carries COMMENT ON EXTENSION, which only the
 * extension's owner may run, and untrusted extensions need a superuser
 * anyway. So ownership is handed to the service's role afterwards, object
 * by object, leaving extension members with the extension's owner.
 *
 * Running as the admin is why the dump's contents are checked (hazards.c)
 * before the restore and again before the hand-over (secrets_hand_over).
 * The isolation and hand-over statements themselves live in
 * src/secrets/isolation.c: `user create` and `db restore` run them too.
 */
#include "pgfold/migrate.h"
#include "pgfold/secrets.h"

#include "pgfold/dbprops.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <string.h>

bool
migration_create_temp(PGconn *admin, const MigrationNames *names, const DbProps *props)
{
	if (!pg_drop_database(admin, names->tmp_db, true))
		return false;
	if (!dbprops_create_shared(admin, names->tmp_db, names->role, props))
		return false;
	return secrets_isolate_database(admin, names->tmp_db, names->role);
}

bool
migration_sql_describe(PGconn *conn, const MigrationNames *names, const DbProps *props,
					   int connection_limit, StrBuf *out)
{
	StrBuf role = STRBUF_INIT, tmp = STRBUF_INIT, db = STRBUF_INIT;
	StrBuf lrole = STRBUF_INIT;
	bool ok = pg_quote_ident(conn, names->role, &role)
		&& pg_quote_literal(conn, names->role, &lrole)
		&& pg_quote_ident(conn, names->tmp_db, &tmp)
		&& pg_quote_ident(conn, names->db, &db);

	if (ok)
	{
		sb_appendf(out, "-- as %s on the shared instance\n", PQuser(conn));
		sb_appendf(out, "CREATE ROLE %s LOGIN PASSWORD '<SCRAM-SHA-256 verifier computed "
				   "client-side>'", sb_str(&role));
		if (connection_limit >= 0)
			sb_appendf(out, " CONNECTION LIMIT %d", connection_limit);
		sb_appendf(out, ";  -- unless it exists with a working password file\n"
				   "COMMENT ON ROLE %s IS '" SECRETS_ROLE_COMMENT "';\n", sb_str(&role));
		sb_appendf(out, "DROP DATABASE IF EXISTS %s WITH (FORCE);\n", sb_str(&tmp));
		ok = dbprops_create_sql(conn, names->tmp_db, names->role, props, out)
			&& sb_appends(out, ";  -- the source's encoding and locale\n")
			&& secrets_isolation_sql(conn, names->tmp_db, names->role, out, out);
		sb_appendf(out, "-- pg_restore --no-owner --no-acl --exit-on-error -d %s  (streamed)\n",
				   sb_str(&tmp));
		sb_appendf(out, "-- in %s, unless it holds what the \"dump contents\" check refuses:\n"
				   "%s;  -- $1 = %s\n%s;\n", sb_str(&tmp), secrets_pin_session_sql(), sb_str(&lrole),
				   secrets_ownership_sql());
		if (ok && props != NULL && props->known)
		{
			sb_appends(out, "-- the source database's settings, comment, and its role's "
					   "settings, scoped to this database:\n");
			ok = dbprops_apply_sql(conn, names->tmp_db, names->role, props, out);
		}
		sb_appendf(out, "-- in %s, as %s: ANALYZE;\n", sb_str(&tmp), sb_str(&role));
		sb_appendf(out, "ALTER DATABASE %s RENAME TO %s;  -- after verification\n",
				   sb_str(&tmp), sb_str(&db));
	}
	sb_free(&role);
	sb_free(&tmp);
	sb_free(&db);
	sb_free(&lrole);
	return ok;
}
