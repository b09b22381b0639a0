/*
 * password.c — generation, SCRAM verifiers, login checks; see secrets.h.
 */
#include "pgfold/secrets.h"

#include <string.h>

#include <sodium.h>

#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "internal.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool
secrets_generate_password(char out[SECRETS_PASSWORD_LEN + 1])
{
	if (sodium_init() < 0)
	{
		log_error("cannot initialise libsodium's random generator");
		out[0] = '\0';
		return false;
	}
	_Static_assert(sizeof(alphabet) - 1 == 62, "62 symbols");
	/* randombytes_uniform rejects out-of-range draws: every symbol has
	 * probability exactly 1/62 (log2(62^32) ~ 190 bits). */
	for (size_t i = 0; i < SECRETS_PASSWORD_LEN; i++)
		out[i] = alphabet[randombytes_uniform(62)];
	out[SECRETS_PASSWORD_LEN] = '\0';
	return true;
}

bool
secrets_scram_verifier(PGconn *conn, const char *role, const char *password,
					   StrBuf *out)
{
	sb_free_secret(out);
	/* Computed here, in-process: the server only ever sees the verifier. */
	char *v = PQencryptPasswordConn(conn, password, role, "scram-sha-256");

	if (v == NULL)
	{
		StrBuf msg = STRBUF_INIT;
		const char *m = PQerrorMessage(conn);

		for (const char *p = m; *p; p++)
			sb_appendc(&msg, *p == '\n' ? ' ' : *p);
		log_error("cannot compute the SCRAM-SHA-256 verifier for role %s: %s",
				  role, sb_str(&msg));
		sb_free(&msg);
		return false;
	}
	secrets_sb_prealloc(out, strlen(v) + 1);
	sb_appends(out, v);
	sodium_memzero(v, strlen(v));
	PQfreemem(v);
	return true;
}

/* Messages the server sends only after authentication succeeded: the
 * password is right even though this session could not start. */
static const char *const after_auth[] = {
	"permission denied for database",
	"too many connections for role",
	NULL
};

/* Messages that mean the password (or the role's right to log in) was
 * refused. Servers with a translated lc_messages fall through to "cannot
 * check", which refuses reuse without replacing anything: the safe side. */
static const char *const refused[] = {
	"password authentication failed",
	"authentication failed for user",
	"is not permitted to log in",
	"no password supplied",
	NULL
};

static bool
contains_any(const char *msg, const char *const *needles)
{
	for (size_t i = 0; needles[i]; i++)
		if (strstr(msg, needles[i]) != NULL)
			return true;
	return false;
}

/* One login attempt: 1 = accepted, 0 = refused, -1 = could not tell. */
static int
try_login(PGconn *conn, const char *role, const char *password, StrBuf *err)
{
	long port = 0;
	PGconn *probe = NULL;

	if (!str_to_long(PQport(conn), 1, 65535, &port))
		port = 0;               /* libpq's default */

	PgConnParams p = {
		.host = PQhost(conn),
		.port = (int) port,
		.user = role,
		.password = password,
		.dbname = PQdb(conn),
	};

	sb_reset(err);
	if (pg_connect_params(&p, &probe, err))
	{
		pg_disconnect(probe);
		return 1;
	}
	if (contains_any(sb_str(err), refused))
		return 0;
	if (contains_any(sb_str(err), after_auth))
		return 1;
	return -1;
}

bool
secrets_password_matches(PGconn *conn, const char *role, const char *password,
						 bool *matches)
{
	StrBuf err = STRBUF_INIT;
	char wrong[SECRETS_PASSWORD_LEN + 1];
	int r;

	*matches = false;
	if (password == NULL || password[0] == '\0')
		return true;
	r = try_login(conn, role, password, &err);
	if (r == 1)
	{
		/* A server that lets anyone in (pg_hba "trust") proves nothing:
		 * make sure a wrong password is refused before believing it. */
		if (!secrets_generate_password(wrong))
			r = -1;
		else if (try_login(conn, role, wrong, &err) != 0)
		{
			log_error("cannot check the password of role %s: the shared PostgreSQL at "
					  "%s:%s accepts logins without checking passwords on this "
					  "connection (pg_hba.conf \"trust\"?); connect pgfold over TCP "
					  "with scram-sha-256 authentication", role, PQhost(conn), PQport(conn));
			sodium_memzero(wrong, sizeof(wrong));
			sb_free(&err);
			return false;
		}
		sodium_memzero(wrong, sizeof(wrong));
	}
	if (r == 1)
	{
		*matches = true;
		log_debug("the password file of role %s logs in", role);
	}
	else if (r == 0)
		log_debug("the password of role %s is refused: %s", role, sb_str(&err));
	else
	{
		log_error("cannot check the password of role %s by logging in to the shared "
				  "PostgreSQL at %s:%s: %s", role, PQhost(conn), PQport(conn), sb_str(&err));
		sb_free(&err);
		return false;
	}
	sb_free(&err);
	return true;
}
