/*
 * secrets.h — service passwords: generation, SCRAM verifiers, password
 * files, and the create-or-reuse decision for a service's role.
 *
 * Rules this module enforces (docs/HACKING.md):
 *  - a plain password never goes into argv, an environment, a log line or
 *    SQL text: the server only ever sees the SCRAM-SHA-256 verifier computed
 *    client-side by PQencryptPasswordConn;
 *  - buffers that held a password are zeroed before they are freed;
 *  - a password a service may already use is never silently replaced.
 *
 * Password files: <root>/etc/.db_passwords/<role>.txt, directory 0700,
 * file 0600, written atomically (O_EXCL temp file in the same directory,
 * fsync, rename, fsync of the directory), content = password + "\n".
 */
#ifndef PGFOLD_SECRETS_H
#define PGFOLD_SECRETS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgfold/str.h"

#define SECRETS_PASSWORD_LEN     32
#define SECRETS_PASSWORD_MAX     1024   /* largest password file accepted */
#define SECRETS_ROLE_NAME_MAX    63     /* NAMEDATALEN - 1 */
#define SECRETS_DIR_REL          "etc/.db_passwords"

/* 32 characters drawn uniformly from [A-Za-z0-9] (randombytes_uniform(62):
 * no modulo bias), NUL-terminated. False only if libsodium cannot start. */
bool secrets_generate_password(char out[SECRETS_PASSWORD_LEN + 1]);

/* The SCRAM-SHA-256 verifier of password for role, computed client-side
 * (PQencryptPasswordConn), appended to out after it is emptied. out holds
 * sensitive data: release it with sb_free_secret. */
bool secrets_scram_verifier(PGconn *conn, const char *role,
							const char *password, StrBuf *out);

/* True when role can safely name a password file and appear in compose
 * files and connection URLs: 1..63 bytes of [A-Za-z0-9_.-], not starting
 * with '.' or '-', no "..". Pure; logs nothing. */
bool secrets_role_name_valid(const char *role);

/* <root>/etc/.db_passwords/<role>.txt; logs and fails on an invalid role
 * or a path that does not fit. */
bool secrets_password_path(const char *root, const char *role,
						   char *out, size_t outsize);

/* Create <root>/etc/.db_passwords (and <root>/etc) when missing; tighten
 * the directory to 0700 (with a warning) when it is looser. Refuses a
 * symlink or a non-directory. */
bool secrets_ensure_dir(const char *root);

/* Atomically replace the role's password file with password + "\n". */
bool secrets_write_password_file(const char *root, const char *role,
								 const char *password);

/* Read the role's password file into out (emptied first; release with
 * sb_free_secret). *found = false, no error, when the file does not exist.
 * Refuses a file that is group/world accessible (the message says: chmod
 * 600 FILE), not a regular file, larger than SECRETS_PASSWORD_MAX, empty or
 * containing NUL/newline inside. One trailing "\n" (or "\r\n") is
 * stripped. */
bool secrets_read_password_file(const char *root, const char *role,
								StrBuf *out, bool *found);

/* Does password let role log in to the shared instance conn points at?
 * A real login (same host, port and database as conn), never a look at
 * pg_authid. *matches = false when the server rejects the password (or the
 * role cannot log in); false return (logged) when the check itself could
 * not be made (server unreachable, ...). */
/* Did a crash leave <role>.txt.pending (between CREATE ROLE and the rename
 * into place)? secrets_create_or_reuse_role recovers it. */
bool secrets_password_pending(const char *root, const char *role);

bool secrets_password_matches(PGconn *conn, const char *role,
							  const char *password, bool *matches);

typedef enum SecretsRoleAction
{
	SECRETS_ROLE_CREATED = 1,   /* new role, new password file */
	SECRETS_ROLE_REUSED,        /* role existed, its password file logs in */
	SECRETS_ROLE_ROTATED,       /* role existed, new password (rotate asked) */
	/* new role with the password of the file already there (left by an
	 * earlier life of the role): the file is not this call's to remove */
	SECRETS_ROLE_CREATED_FROM_FILE
} SecretsRoleAction;

/* COMMENT ON ROLE of every role pgfold creates: how the pre-flight tells
 * pgfold's roles (whose connection limits add up) from the instance's own. */
#define SECRETS_ROLE_COMMENT "pgfold: role of a folded service"

typedef struct SecretsRoleRequest
{
	const char *root;            /* stack root (password files live under it) */
	const char *role;            /* must pass secrets_role_name_valid */
	int         connection_limit;/* CONNECTION LIMIT n; < 0 = no limit */
	bool        rotate;          /* existing role: set a new password */
} SecretsRoleRequest;

/* Make sure req->role exists on the shared instance (conn: a superuser or
 * CREATEROLE connection) with a password stored in its file:
 *  - role missing: generate a password, write it to <role>.txt.pending
 *    (O_EXCL, 0600, fsync), CREATE ROLE ... LOGIN PASSWORD '<verifier>'
 *    [CONNECTION LIMIT n], then rename the file into place. A crash leaves
 *    either no role, or a role whose password is in the .pending file,
 *    which a later run recovers (it is tried like the real file). When
 *    <role>.txt already exists, the role gets its password instead
 *    (SECRETS_ROLE_CREATED_FROM_FILE).
 *  - role present, the file's password logs in: reuse it.
 *  - role present, no file or a password that does not log in: refuse with
 *    the fix, unless req->rotate (then ALTER ROLE ... PASSWORD, same file
 *    ordering as above).
 * password_out (may be NULL) receives the role's password (sb_free_secret).
 */
bool secrets_create_or_reuse_role(PGconn *conn, const SecretsRoleRequest *req,
								  SecretsRoleAction *action,
								  StrBuf *password_out);

const char *secrets_role_action_name(SecretsRoleAction action);

/* ---- isolation on the shared instance (src/secrets/isolation.c) -------- */

struct App;
/* REVOKE ALL ON DATABASE db FROM PUBLIC, GRANT CONNECT, TEMPORARY to role:
 * only role (and the owner, and superusers) may connect. */
bool secrets_isolate_database(PGconn *admin, const char *db, const char *role);

/* Hand every non-extension object of database db (just restored, or
 * `user create --owner`) to role, as the admin but running none of the
 * database's code: refused (exit 3, nothing handed over) when db holds
 * anything preflight_restored_hazards lists, or a login event trigger, or
 * — with check_role, when role was no superuser before the restore — when
 * role is now a superuser. */
bool secrets_hand_over(struct App *app, const char *db, const char *role, bool check_role);

/* The ownership statement's text (for plan). */
const char *secrets_ownership_sql(void);

/* The two isolation statements for db and role, appended to revoke and
 * grant (printing: the same StrBuf twice). */
bool secrets_isolation_sql(PGconn *conn, const char *db, const char *role, StrBuf *revoke,
						   StrBuf *grant);
/* The hand-over session's first statement (search_path pinned, the target
 * role as $1), for printing. */
const char *secrets_pin_session_sql(void);

#endif
