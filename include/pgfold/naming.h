/*
 * naming.h — the one rule that names a service's database and role on the
 * shared instance.
 *
 * The template is PGFOLD_DB_NAME (environment, then <root>/.env), default
 * "{database_name}". Placeholders:
 *   {database_name}  the file's "# database_name:" metadata, else the
 *                    dedicated container's POSTGRES_DB (the image's
 *                    default: its POSTGRES_USER), else the service name
 *   {service}        the service name
 *   {user}           $PGUSER, else the login name of the running user
 * The expanded text is then normalized: ASCII letters lowercased, every
 * other byte that is not [a-z0-9_] becomes '_' (one '_' per UTF-8
 * character), and a result longer than 63 bytes is cut to 54 bytes plus
 * '_' and the first 8 hex digits of the SHA-256 of the whole normalized
 * text, so two long names that differ only at the end stay distinct. A name
 * is refused when it is reserved: postgres, template0, template1, the
 * admin role (PG_USER), or any pg_* name (PostgreSQL's own roles).
 *
 * Examples: nova -> nova; PGFOLD_DB_NAME={user}_memory with PGUSER=nova
 * -> nova_memory, with PGUSER=nova-staging -> nova_staging_memory.
 */
#ifndef PGFOLD_NAMING_H
#define PGFOLD_NAMING_H

#include <stdbool.h>
#include <stddef.h>

#define NAMING_MAX 63                         /* PostgreSQL's NAMEDATALEN - 1 */
#define NAMING_DEFAULT_TEMPLATE "{database_name}"
#define NAMING_TEMPLATE_VAR "PGFOLD_DB_NAME"

typedef struct NamingInputs
{
	const char *template_text;   /* NULL or "" = NAMING_DEFAULT_TEMPLATE */
	const char *meta_database_name;
	const char *postgres_db;
	const char *service;
	const char *user;            /* NULL = naming_login_user() */
	const char *admin_role;      /* PG_USER, reserved; may be NULL */
} NamingInputs;

typedef struct NamingResult
{
	char name[NAMING_MAX + 1];
	char expanded[512];          /* the template with its values, before normalizing */
	const char *template_text;   /* the template used */
	const char *database_from;   /* "# database_name:", "POSTGRES_DB", "the service name" */
	bool changed;                /* normalizing changed characters */
	bool truncated;              /* cut to 63 bytes with a hash suffix */
} NamingResult;

/* Lowercase, invalid characters to '_', at most 63 bytes with a hash suffix
 * when cut. False when the result has no letter or digit. */
bool naming_normalize(const char *text, char out[NAMING_MAX + 1], bool *changed,
					  bool *truncated);

/* Is name reserved (postgres, template0/1, pg_*, admin_role)? */
bool naming_reserved(const char *name, const char *admin_role);

/* name is what the rule keeps as it is (normalized already, not reserved);
 * else false with why ("must be lowercase ...: use \"x\"", "is reserved"). */
bool naming_valid(const char *name, const char *admin_role, char *why, size_t why_len);

/* Apply the rule; false with the reason in err (unknown placeholder, empty,
 * reserved). */
bool naming_apply(const NamingInputs *in, NamingResult *out, char *err, size_t err_len);

/* name + suffix within 63 bytes: the concatenation when it fits, else a cut
 * name, '_', 8 hex digits of name's SHA-256, then the suffix. */
bool naming_with_suffix(const char *name, const char *suffix, char out[NAMING_MAX + 1]);

/* $PGUSER, else the login name (getpwuid), else $USER, else "user". */
const char *naming_login_user(void);

#endif
