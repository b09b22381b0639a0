/*
 * rewrite.h — surgical edits of a service file after its data has moved to
 * the shared instance, the rollback override, the .env update and the diff
 * that plan / --dry-run print.
 *
 * Every change is a byte-span edit against the ORIGINAL bytes (spans from
 * compose.h / service.h); bytes outside the edited spans are copied through
 * unchanged: comments, ordering, quoting, other services. Anything pgfold
 * cannot edit safely (flow mappings, anchors the db block defines, links to
 * the db service, values that would need a different quoting) is refused
 * with one logged error, never approximated.
 */
#ifndef PGFOLD_REWRITE_H
#define PGFOLD_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/compose.h"
#include "pgfold/service.h"
#include "pgfold/str.h"

/* ------------------------------------------------------------------ */
/* Span editor                                                         */
/* ------------------------------------------------------------------ */

/* Replace original bytes [start, end) by bytes[0..len); start == end inserts,
 * len == 0 deletes. */
typedef struct RwEdit
{
	size_t  start;
	size_t  end;
	char   *bytes;   /* owned; may hold a password: zeroed on free */
	size_t  len;
	size_t  seq;     /* order of addition: insertions at one point stay in it */
} RwEdit;

typedef struct RwEdits
{
	RwEdit *items;
	size_t  count;
	size_t  cap;
} RwEdits;

#define RW_EDITS_INIT { NULL, 0, 0 }

bool rw_replace(RwEdits *edits, size_t start, size_t end, const char *bytes, size_t len);
bool rw_delete(RwEdits *edits, size_t start, size_t end);
bool rw_insert(RwEdits *edits, size_t at, const char *bytes, size_t len);

/* Apply all edits to src[0..len) in one pass into out (appended). False,
 * logged, when a span is out of range or two edits overlap (an insertion
 * strictly inside another edit's span counts as overlap). */
bool rw_apply(const RwEdits *edits, const char *src, size_t len, StrBuf *out);
void rw_edits_free(RwEdits *edits);

/* One item of a YAML collection (depends_on, environment) as compose.h
 * spans it: block items are line spans, flow items the scalar. */
typedef struct RwItem
{
	Span span;
	bool flow;
	bool drop;   /* delete this item */
} RwItem;

/*
 * Delete the items marked drop from one collection whose key line span is
 * key_block (`depends_on:` through its last item). Block items: their line
 * spans go. Flow `[a, b, c]`: commas and spaces are fixed (`[a, c]`). When
 * no item would remain, the whole key_block goes instead (an empty
 * `depends_on:` is a compose error). what names the collection in messages.
 */
bool rw_delete_items(RwEdits *edits, const char *src, size_t len, Span key_block,
					 const RwItem *items, size_t count, const char *what);

/* "\r\n" when the file's first line ends so, else "\n". */
const char *rw_eol(const char *src, size_t len);

/* ------------------------------------------------------------------ */
/* Service file                                                        */
/* ------------------------------------------------------------------ */

typedef enum RwPasswordStyle
{
	RW_PASSWORD_MIRROR = 0,  /* per connection: reference if the original was
							  * a ${...} reference (or absent), else literal */
	RW_PASSWORD_REFERENCE,   /* always ${VAR:?...} */
	RW_PASSWORD_LITERAL      /* always the value */
} RwPasswordStyle;

/* How the shared instance is networked (its container inspected). */
typedef struct RwSharedNet
{
	const char   *container;    /* its name */
	const char   *mode;         /* HostConfig.NetworkMode */
	char *const  *networks;     /* the networks it is attached to */
	size_t        count;
	const char   *project;      /* the compose project the apps run under */
} RwSharedNet;

/* An app the fold puts on one of the shared container's networks. */
typedef struct RwNetAdded
{
	char *app;       /* service key */
	char *network;   /* the network's name (and top-level key) */
	char *was;       /* the networks it was on, comma-separated */
	bool  top_level; /* `networks: NAME: {external: true}` added too */
} RwNetAdded;

typedef struct RwTarget
{
	const char      *host;          /* PGFOLD_SHARED_HOST */
	int              port;          /* PGFOLD_SHARED_PORT */
	const char      *role;
	const char      *dbname;
	const char      *password;      /* secret: never logged */
	RwPasswordStyle  password_style;
	const char      *password_var;  /* NULL: PGFOLD_<SERVICE>_DB_PASSWORD */
	/* the apps read their settings from their own files (appconfig.h):
	 * no connection in the service file is no reason to refuse */
	bool             apps_in_files;
	/* the shared container's networks (NULL: not a container, or not
	 * known): an app that shares none of them joins one (networks.c) */
	const RwSharedNet *net;
	/* apps of this file that read their settings from their own files,
	 * NULL-terminated (their networks are checked as well) */
	const char *const *file_apps;
} RwTarget;

/* A variable the new file references; the caller writes it to the .env of
 * the compose project directory (the directory of services/<s>.yml, which
 * compose 1.29 reads, not the stack root's) with mode 0600. */
typedef struct RwEnvVar
{
	char *key;
	char *value;    /* secret */
} RwEnvVar;

/* A variable the new file adds to an app: a connection setting the file
 * did not write (the app used its default) that must now differ. The
 * rollback override sets it back to that default. */
typedef struct RwAdded
{
	char *app;       /* service key */
	char *key;
	char *restore;   /* the app's default (not secret: a documented value) */
} RwAdded;

typedef struct RwServiceResult
{
	StrBuf    bytes;          /* the new file */
	RwEnvVar *env;
	size_t    env_count;
	RwAdded  *added;          /* variables added to apps, in file order */
	size_t    added_count;
	Span     *edited;         /* original spans replaced/deleted/inserted at, sorted */
	size_t    edited_count;
	/* Things left alone that still name the db service or its container
	 * (a healthcheck, a command, another variable): also logged as warnings */
	char    **warnings;
	size_t    warning_count;
	/* A password goes into the new file in clear (not as ${VAR}); the
	 * original held one (a connection's, or the db service's
	 * POSTGRES_PASSWORD), which the rollback override copies. Such a file
	 * must be written readable by its owner only (fs_write_like). */
	bool      literal_password;
	bool      original_literal_password;
	RwNetAdded *net_added;    /* apps put on a network of the shared container */
	size_t      net_added_count;
} RwServiceResult;

/*
 * New bytes for svc's file (svc->file must be the parsed ORIGINAL): the
 * `# database: postgres` / `# database_name: <db>` header, every ConnRef
 * pointed at the shared instance, the dedicated db service block removed and
 * every depends_on entry naming it removed. The result is re-parsed (libyaml)
 * and checked before it is returned.
 */
bool rewrite_service_file(const StackService *svc, const RwTarget *target,
						  RwServiceResult *out);
void rewrite_service_result_free(RwServiceResult *res);

/* PGFOLD_<SERVICE>_DB_PASSWORD: service name upper-cased, other than
 * [A-Z0-9] mapped to '_'. */
bool rewrite_password_var(const char *service, char *buf, size_t bufsize);

/* ------------------------------------------------------------------ */
/* Rollback override                                                   */
/* ------------------------------------------------------------------ */

typedef struct RwProvenance
{
	const char *service_path;   /* as the command uses it: "services/x.yml" */
	const char *override_path;  /* "overrides/x-dedicated-postgres.yml" */
	const char *generated_at;   /* ISO-8601 UTC; NULL = now */
	/* the project's own compose command with the override given last, as
	 * the header shows it; NULL = a generic docker-compose line */
	const char *compose_command;
} RwProvenance;

/* "<service>-dedicated-postgres.yml" */
bool rewrite_override_name(const char *service, char *buf, size_t bufsize);

/*
 * The override that, given after the new file (`docker-compose -f new -f
 * override`), restores the pre-migration configuration: the db service's
 * original bytes, each app's original connection variables (original form
 * and raw values) and the removed depends_on entries. Built from svc->file,
 * which must be the ORIGINAL (it must still contain the db service and not
 * be marked migrated). Nothing to restore is an error.
 */
bool rewrite_rollback_override(const StackService *svc, const RwProvenance *prov,
							   StrBuf *out);
/* The same for a migrated file that adds variables to apps
 * (RwServiceResult.added): the override sets each back to the app's
 * default, which is what the app used before. */
bool rewrite_rollback_override_added(const StackService *svc, const RwProvenance *prov,
									 const RwAdded *added, size_t added_count, StrBuf *out);

/* ------------------------------------------------------------------ */
/* .env and diff                                                       */
/* ------------------------------------------------------------------ */

/* Set KEY=value in .env bytes: every line defining key is rewritten (an
 * `export ` prefix kept), else one line is appended; other lines stay
 * byte-identical. The value is single-quoted when it needs to be; a value
 * that cannot be written (newline, both ' and $...) is refused. */
bool rewrite_env_file_set(const char *env, size_t len, const char *key,
						  const char *value, StrBuf *out);

/* Remove every line defining key from .env bytes (rollback --drop-shared);
 * other lines stay byte-identical. *removed says whether one was found. */
bool rewrite_env_file_unset(const char *env, size_t len, const char *key,
							StrBuf *out, bool *removed);

/* `diff -u` of old and new (3 lines of context) with `--- a_label` /
 * `+++ b_label` headers; nothing appended when equal. old may be NULL for
 * a new file. */
bool rewrite_unified_diff(const char *old, size_t oldlen, const char *new_bytes,
						  size_t newlen, const char *a_label, const char *b_label,
						  StrBuf *out);

/* rewrite_unified_diff of one file from its bytes as they are (cur) to
 * what pgfold would make them (want), both sides labelled with its path
 * relative to the stack root (a/services/x.yml, b/services/x.yml). */
bool rewrite_file_diff(const char *root, const char *path, const char *cur, size_t curlen,
					   const char *want, size_t wantlen, StrBuf *out);

#endif
