/*
 * role.c — a service's role on the shared instance; see secrets.h.
 *
 * The ordering matters more than anything else here. The reference tool
 * wrote a fresh random password over an existing role's file, locking the
 * running service out. So: an existing role is only reused when its file
 * really logs in, and a new password always reaches the disk (fsynced,
 * under a .pending name) before the server accepts it, so no crash can
 * leave a role whose password is nowhere.
 */
#include "pgfold/secrets.h"

#include <limits.h>
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "internal.h"

#define PENDING_SUFFIX ".txt.pending"

typedef struct RoleCtx
{
	PGconn                   *conn;
	const SecretsRoleRequest *req;
	SecretsDir                dir;
	char                      final[SECRETS_ROLE_NAME_MAX + 16];
	char                      pending[SECRETS_ROLE_NAME_MAX + 16];
} RoleCtx;

const char *
secrets_role_action_name(SecretsRoleAction action)
{
	switch (action)
	{
		case SECRETS_ROLE_CREATED: return "created";
		case SECRETS_ROLE_REUSED:  return "reused";
		case SECRETS_ROLE_ROTATED: return "rotated";
		case SECRETS_ROLE_CREATED_FROM_FILE: return "created-from-file";
	}
	return "unknown";
}

/* CREATE ROLE "r" LOGIN PASSWORD '<verifier>' [CONNECTION LIMIT n], or
 * ALTER ROLE "r" PASSWORD '<verifier>': identifiers and the verifier are
 * quoted by libpq, the plain password is not in the text at all. */
static bool
set_role_password(RoleCtx *c, bool create, const char *password)
{
	StrBuf verifier = STRBUF_INIT;
	StrBuf sql = STRBUF_INIT;
	char what[SECRETS_ROLE_NAME_MAX + 32];
	bool ok = false;

	secrets_sb_prealloc(&sql, 512);
	if (!secrets_scram_verifier(c->conn, c->req->role, password, &verifier))
		goto out;
	sb_appends(&sql, create ? "CREATE ROLE " : "ALTER ROLE ");
	if (!pg_quote_ident(c->conn, c->req->role, &sql))
		goto out;
	sb_appends(&sql, create ? " LOGIN PASSWORD " : " PASSWORD ");
	if (!pg_quote_literal(c->conn, sb_str(&verifier), &sql))
		goto out;
	if (create && c->req->connection_limit >= 0)
		sb_appendf(&sql, " CONNECTION LIMIT %d", c->req->connection_limit);
	str_format(what, sizeof(what), "%s role \"%s\"", create ? "create" : "set the password of",
			   c->req->role);
	ok = pg_exec(c->conn, what, sb_str(&sql));
	if (ok && create)
	{
		/* marks it as pgfold's: the pre-flight adds up the limits of these.
		 * Best effort: the role exists now and its password must reach its
		 * file whatever happens to the comment (logged by pg_exec). */
		sb_reset(&sql);
		sb_appends(&sql, "COMMENT ON ROLE ");
		if (pg_quote_ident(c->conn, c->req->role, &sql)
			&& sb_appends(&sql, " IS '" SECRETS_ROLE_COMMENT "'"))
			(void) pg_exec(c->conn, "mark the role as pgfold's", sb_str(&sql));
	}
out:
	sb_free_secret(&sql);
	sb_free_secret(&verifier);
	return ok;
}

/* New password: file first (.pending, fsynced), then the server, then the
 * rename that makes the file official. */
static bool
install_new_password(RoleCtx *c, bool create, StrBuf *password_out)
{
	char pw[SECRETS_PASSWORD_LEN + 1];
	bool ok = false;

	if (!secrets_generate_password(pw))
		return false;
	/* A stale .pending is either from a run that died before the server
	 * accepted it (worthless) or was already tried by the caller. */
	if (!secrets_file_remove(&c->dir, c->pending) ||
		!secrets_file_create(&c->dir, c->pending, pw))
		goto out;
	if (!set_role_password(c, create, pw))
	{
		secrets_file_remove(&c->dir, c->pending);
		goto out;
	}
	if (!secrets_file_rename(&c->dir, c->pending, c->final))
	{
		log_error("role \"%s\" now has the password stored in %s/%s; rename that file "
				  "to %s by hand", c->req->role, c->dir.path, c->pending, c->final);
		goto out;
	}
	if (password_out)
	{
		sb_free_secret(password_out);
		secrets_sb_prealloc(password_out, sizeof(pw));
		sb_appends(password_out, pw);
	}
	ok = true;
out:
	sodium_memzero(pw, sizeof(pw));
	return ok;
}

/* Create a missing role. A password file left from an earlier life of the
 * role (e.g. after a rollback dropped it) is kept: services may still be
 * configured with it. *action tells the two apart, so that undoing this
 * creation removes the file only when it made it. */
static bool
create_role(RoleCtx *c, SecretsRoleAction *action, StrBuf *password_out)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false;
	bool ok;

	if (!secrets_file_read(&c->dir, c->final, &pw, &found))
		return false;
	*action = found ? SECRETS_ROLE_CREATED_FROM_FILE : SECRETS_ROLE_CREATED;
	if (!found)
		ok = install_new_password(c, true, password_out);
	else
	{
		log_info("role \"%s\": using the existing password file %s/%s",
				 c->req->role, c->dir.path, c->final);
		ok = set_role_password(c, true, sb_str(&pw));
		if (ok && password_out)
		{
			sb_free_secret(password_out);
			*password_out = pw;
			pw = (StrBuf) STRBUF_INIT;
		}
	}
	sb_free_secret(&pw);
	return ok;
}

/* Does file `name` exist and log in? */
static bool
file_logs_in(RoleCtx *c, const char *name, bool *found, bool *matches,
			 StrBuf *pw)
{
	*matches = false;
	if (!secrets_file_read(&c->dir, name, pw, found))
		return false;
	if (!*found)
		return true;
	return secrets_password_matches(c->conn, c->req->role, sb_str(pw), matches);
}

static bool
reuse_role(RoleCtx *c, SecretsRoleAction *action, StrBuf *password_out)
{
	StrBuf pw = STRBUF_INIT;
	bool found = false, pending_found = false, matches = false;
	bool ok = false;

	if (!file_logs_in(c, c->final, &found, &matches, &pw))
		goto out;
	if (!matches)
	{
		/* A run that died between CREATE/ALTER ROLE and the rename. */
		if (!file_logs_in(c, c->pending, &pending_found, &matches, &pw))
			goto out;
		if (matches)
		{
			log_warn("role \"%s\": recovering its password from %s/%s (an earlier run "
					 "stopped before renaming it)", c->req->role, c->dir.path, c->pending);
			if (!secrets_file_rename(&c->dir, c->pending, c->final))
				goto out;
		}
	}
	if (!matches)
	{
		if (found)
			log_error("role \"%s\" already exists on the shared PostgreSQL and the password "
					  "in %s/%s does not log in. pgfold will not replace a password a "
					  "service may be using: put the role's current password in that file, "
					  "or rotate it explicitly (pgfold user create %s --rotate)",
					  c->req->role, c->dir.path, c->final, c->req->role);
		else
			log_error("role \"%s\" already exists on the shared PostgreSQL but %s/%s does "
					  "not exist. pgfold will not replace a password a service may be "
					  "using: write the role's current password to that file (chmod 600), "
					  "or rotate it explicitly (pgfold user create %s --rotate)",
					  c->req->role, c->dir.path, c->final, c->req->role);
		exit_hint_set(EXIT_BLOCKED);
		goto out;
	}
	*action = SECRETS_ROLE_REUSED;
	if (password_out)
	{
		sb_free_secret(password_out);
		*password_out = pw;
		pw = (StrBuf) STRBUF_INIT;
	}
	ok = true;
out:
	sb_free_secret(&pw);
	return ok;
}

bool
secrets_create_or_reuse_role(PGconn *conn, const SecretsRoleRequest *req,
							 SecretsRoleAction *action, StrBuf *password_out)
{
	RoleCtx c = { .conn = conn, .req = req };
	char path[4096];
	bool exists = false;
	bool ok = false;

	if (!secrets_password_path(req->root, req->role, path, sizeof(path)))
		return false;
	str_format(c.final, sizeof(c.final), "%s.txt", req->role);
	str_format(c.pending, sizeof(c.pending), "%s" PENDING_SUFFIX, req->role);
	if (!pg_role_exists(conn, req->role, &exists))
		return false;
	if (!secrets_dir_open(req->root, true, &c.dir, NULL))
		return false;

	if (!exists)
		ok = create_role(&c, action, password_out);
	else if (req->rotate)
	{
		ok = install_new_password(&c, false, password_out);
		if (ok)
			*action = SECRETS_ROLE_ROTATED;
	}
	else
		ok = reuse_role(&c, action, password_out);

	if (ok)
		log_info("role \"%s\": %s (password file %s)", req->role,
				 secrets_role_action_name(*action), path);
	secrets_dir_close(&c.dir);
	return ok;
}

bool
secrets_password_pending(const char *root, const char *role)
{
	char path[PATH_MAX], pending[PATH_MAX + 16];
	struct stat st;

	return secrets_password_path(root, role, path, sizeof(path))
		&& str_format(pending, sizeof(pending), "%s.pending", path)
		&& stat(pending, &st) == 0;
}
