/*
 * internal.h — helpers shared by the service module's files only.
 */
#ifndef PGFOLD_SERVICE_INTERNAL_H
#define PGFOLD_SERVICE_INTERNAL_H

#include "pgfold/service.h"

/* The same file: the same clean path, or the same inode (containers.c). */
bool service_same_file(const char *a, const char *b);
/* A config_files / environment_file label entry as an existing file: an
 * absolute one as it is, a relative one (compose 1.29 writes -f as given,
 * from where it ran) under wd or the nearest parent of wd that has it.
 * False when it exists nowhere. */
bool service_label_file(const char *entry, const char *wd, char *out, size_t size);

/* What an app's host setting must name to count as connected. */
typedef struct DbTarget
{
	const char *const *names;   /* compared case-insensitively */
	size_t             count;
	bool               shared;  /* the shared instance (migrated file) */
	int                db;      /* db service index, -1 when shared */
} DbTarget;

/* A service's variable: `environment:` (last wins), else its env_files
 * (later files win). *env_index = index in env, -1 when from an env_file
 * or absent. NULL when unset or unresolvable. */
const char *svc_var(const ComposeService *s, const char *name, int *env_index);

/* Does this service carry client-side connection settings (a postgres URL,
 * NC_DB, or a *_HOST variable with DB-ish siblings)? Used to tell an app
 * built on a postgres image from the server itself. */
bool svc_is_client(const ComposeService *s);

/* The convention an app follows (conventions.c): a known image's, or the
 * file header's `# pgfold.*` names. */
typedef struct AppConv
{
	bool        found;
	bool        url;        /* anchor is a URL variable */
	bool        implicit;   /* matched by image with its host variable unset:
							 * the app uses its default host */
	const char *anchor;     /* the host (or URL) variable */
	const char *note;       /* for the operator, or NULL */
	ConnNames   names;
	char        rule[160];  /* "zabbix convention (image zabbix/...)" */
} AppConv;

/* Which convention app follows; false (out zeroed) when none. */
bool conv_for_app(const StackService *svc, size_t app, AppConv *out);
/* The value of piece for an app naming it names->var[piece]: *idx its
 * env index (-1 when not in `environment:`); the app's default when the
 * variable is unset nowhere; NULL when unknown. */
const char *conv_piece(const ComposeService *s, const ConnNames *names, ConnPiece piece,
					   int *idx);
/* Read the file header's `# pgfold.*` names into svc->meta_names and
 * meta_url; false with svc->problem set when one is unusable. */
bool conv_read_meta(StackService *svc);

/* Find the connections of app service `app` to target; appends to
 * svc->conns, may add warnings or set svc->problem. */
void conn_find(const Config *cfg, StackService *svc, size_t app, const DbTarget *target);

/* Compare each dedicated connection's values with the db's POSTGRES_*. */
void conn_check_credentials(StackService *svc);

void conn_ref_free(ConnRef *c);

/* values.c: a piece of text as a value (NULL for an empty span), %XX
 * decoded when decode; the same interpolated on its own (NULL when it does
 * not resolve); brackets of an IPv6 host dropped; a port 1-65535 or -1;
 * a secret string zeroed, freed and set to NULL. */
char *svc_piece(const char *text, Span sp, bool decode);
char *svc_piece_interpolated(const Config *cfg, const char *bytes, Span sp, bool decode);
void svc_strip_brackets(char *host);
int svc_parse_port(const char *s);
void svc_free_secret(char **s);

void svc_warn(StackService *svc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void svc_problem(StackService *svc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* First index in [i, end) of b holding a char of set outside any ${...}
 * (nested too) and $$ escapes; end when there is none. */
size_t svc_scan_top(const char *b, size_t i, size_t end, const char *set);

/* Length of a wrapper before a URL's scheme, else 0: Java's "jdbc:"
 * (jdbc:postgresql://...) and Celery's SQLAlchemy backend "db+". */
size_t svc_url_wrapper(const char *s, size_t n);

/* String list helpers (owned copies). */
void strlist_add_unique(char ***list, size_t *count, const char *s);
void strlist_free(char ***list, size_t *count);

#endif
