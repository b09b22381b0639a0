/*
 * appconfig.h — apps that keep their database settings in their own file
 * (part of the rewrite module, src/rewrite/appconfig_*.c): Synapse's
 * homeserver.yaml (`database.args`), Gitea/Forgejo's app.ini
 * (`[database]`), and, for any other format, the lines that name the old
 * database so the operator can change them.
 *
 * Edits are byte-span edits as for compose files: only the values change;
 * comments, order, quoting, line breaks (CRLF too) and a BOM stay. A shape
 * the rewriter cannot edit with certainty (a repeated key or section, a
 * flow mapping, an alias, a multi-line value) is refused with one logged
 * error naming file:line, never approximated. Every input byte is hostile:
 * files over APPCONFIG_MAX_BYTES or holding NUL bytes are refused.
 */
#ifndef PGFOLD_APPCONFIG_H
#define PGFOLD_APPCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/str.h"

#define APPCONFIG_MAX_BYTES (1024 * 1024)

typedef enum AcFormat
{
	AC_FORMAT_UNKNOWN = 0,
	AC_FORMAT_SYNAPSE_YAML,    /* database: {name: psycopg2, args: {...}} */
	AC_FORMAT_INI_DATABASE     /* [database] HOST = host:port, NAME, USER, PASSWD */
} AcFormat;

/* What the app's file points at now: the dedicated database. */
typedef struct AcOld
{
	const char *const *hosts;  /* its names (db service key, container name), NULL-ended */
	int         port;          /* 5432 */
	const char *user;
	const char *dbname;
} AcOld;

/* What it must point at: the shared instance. */
typedef struct AcNew
{
	const char *host;
	int         port;
	const char *user;
	const char *password;      /* secret: never logged */
	const char *dbname;
} AcNew;

/* "homeserver.yaml" / "app.ini" shapes by name and content (a file named
 * otherwise but holding `[database]` with HOST is INI). */
AcFormat appconfig_format(const char *path, const char *bytes, size_t len);
const char *appconfig_format_name(AcFormat format);

/*
 * New bytes (appended to out) for an app file of a known format pointing
 * at old: host, port, user, password and database set to new, every other
 * byte kept. *matched false (nothing appended, true returned) when the
 * file's database settings do not name old's host: not this database's
 * app. False, logged with path:line, when the shape cannot be edited
 * safely. The result is parsed again and checked to read back as new.
 */
bool appconfig_rewrite(AcFormat format, const char *path, const char *bytes, size_t len,
					   const AcOld *old, const AcNew *new_db, StrBuf *out, bool *matched);

/* Per format (tests). */
bool appconfig_yaml_rewrite(const char *path, const char *bytes, size_t len, const AcOld *old,
							const AcNew *new_db, StrBuf *out, bool *matched);
bool appconfig_ini_rewrite(const char *path, const char *bytes, size_t len, const AcOld *old,
						   const AcNew *new_db, StrBuf *out, bool *matched);

/* What a file of a known format says now, as the app reads it: host,
 * port (5432 when unset), user, password, database in that order (the
 * order of ConnPiece), NULL when unset; names[i] says where each is
 * ("database.args.host", "[database] HOST"). False (logged) when it
 * cannot be read as its format. Free with appconfig_values_free. */
#define APPCONFIG_PIECES 5
bool appconfig_read(AcFormat format, const char *path, const char *bytes, size_t len,
					char *values[APPCONFIG_PIECES], const char *names[APPCONFIG_PIECES]);
void appconfig_values_free(char *values[APPCONFIG_PIECES]);
bool appconfig_yaml_read(const char *path, const char *bytes, size_t len,
						 char *values[APPCONFIG_PIECES], const char *names[APPCONFIG_PIECES]);
bool appconfig_ini_read(const char *path, const char *bytes, size_t len,
						char *values[APPCONFIG_PIECES], const char *names[APPCONFIG_PIECES]);

/* A line of a file that names the old database, and the change it needs. */
typedef struct AcRef
{
	size_t line;      /* 1-based */
	char  *text;      /* the line (at most 160 bytes of it) */
	char  *change;    /* "replace `db` by `postgres`; ..." (never a password) */
} AcRef;

#define APPCONFIG_MAX_REFS 100

/*
 * The lines of bytes that name old: its host as a whole word, and, in a
 * file that names the host, the port, user and database where they differ
 * from new. None when the host is not named, or when it is and nothing
 * else of old is (a word that happens to equal a service key). refs are
 * appended (caller frees with appconfig_refs_free).
 */
bool appconfig_find_refs(const char *bytes, size_t len, const AcOld *old, const AcNew *new_db,
						 AcRef **refs, size_t *count);
void appconfig_refs_free(AcRef *refs, size_t count);

#endif
