/*
 * rw_internal.h — helpers shared by the files of src/rewrite/ (not API).
 */
#ifndef PGFOLD_RW_INTERNAL_H
#define PGFOLD_RW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/compose.h"
#include "pgfold/rewrite.h"
#include "pgfold/service.h"
#include "pgfold/str.h"

#include <yaml.h>

/* Hard bounds: every byte of a service file is hostile. */
#define RW_MAX_FILE   (4u * 1024u * 1024u)
#define RW_MAX_VALUE  4096u

/* Zero a NUL-terminated string (may be NULL), then free it. */
void rw_free_secret(char *s);

/* Is span a whole-line span of src (starts a line, ends after a newline or
 * at EOF)? */
bool rw_is_line_span(const char *src, size_t len, Span span);
bool rw_span_valid(Span span, size_t len);

/* Column of the first non-blank byte of the line starting at pos. */
size_t rw_line_indent(const char *src, size_t len, size_t pos);
/* Just after the line break of the line holding pos (len on the last line). */
size_t rw_line_end(const char *src, size_t len, size_t pos);

/* Append the line-span chunk src[span) to out re-indented: column base
 * (RW_FIRST_LINE: the first line's indent) becomes column indent, relative
 * indentation is kept, lines left of base are clamped at indent, line ends
 * are normalised to eol, a missing final newline is added. */
#define RW_FIRST_LINE ((size_t) -1)
bool rw_reindent(const char *src, size_t len, Span span, size_t base, size_t indent,
				 const char *eol, StrBuf *out);

/* The db service with its lead comments: [lead.start, block.end) when the
 * lead is a valid run of lines right above the block, else block. */
Span rw_service_span(const ComposeFile *f, const ComposeService *s);

/* New-file offset of original offset pos once edits are applied; `after`
 * places pos after insertions made exactly at pos. */
size_t rw_map_offset(const RwEdits *edits, size_t pos, bool after);

/* Percent-encode all but RFC 3986 unreserved bytes. */
bool rw_pct_encode(const char *s, StrBuf *out);
/* Compose interpolation escape: $ -> $$. */
bool rw_compose_escape(const char *s, StrBuf *out);
/* s as a YAML double-quoted scalar (quotes included). */
bool rw_yaml_double_quote(const char *s, StrBuf *out);
/* raw (a compose-level string) written into a scalar of that style: inside
 * quotes for quoted styles. A plain scalar that is a whole map value is
 * double-quoted when plain would change its type (on, 0123, ...); false when
 * the style cannot hold raw. */
bool rw_encode_in_scalar(YamlStyle style, bool whole_map_value, const char *raw,
						 StrBuf *out);

/* Decode one YAML scalar as written (plain, '...', "..."); false when it
 * uses a form this decoder does not know (block scalars, rare escapes). */
bool rw_scalar_decode(const char *bytes, size_t len, StrBuf *out);

/* Refuse (logged) to remove the db block when an anchor it defines is used
 * elsewhere, or another service reaches it other than by depends_on. */
bool rw_guard_anchors(const char *path, const char *src, size_t len, Span block,
					  const char *db_key);
bool rw_guard_references(const char *path, const ComposeFile *f, size_t db);

/* Warn (logged, appended to out) about mentions of the db service key or
 * container name left in other services outside the edits. */
void rw_warn_mentions(const char *path, const StackService *svc, const RwEdits *edits,
					  char ***out, size_t *count);

/* Load bytes as one YAML document (logged error on failure). */
bool rw_yaml_load(const char *path, const char *bytes, size_t len, yaml_document_t *doc);
/* Value node of key in a mapping node (last definition wins), or NULL. */
yaml_node_t *rw_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key);

/* ---- service file rewrite (service_file.c, conns.c) ---- */

/* What each connection piece becomes, at compose level (before the YAML
 * quoting of the scalar it goes into). */
typedef struct Pieces
{
	StrBuf user, password, host, port, dbname;
	bool   port_default;      /* 5432: an absent port may stay absent */
} Pieces;

/* An env variable that was edited, to be re-read and checked. */
typedef struct Pending
{
	size_t   app;
	int      env;
	bool     url;             /* check by splitting the URL against pieces */
	ConnKind kind;
	Pieces  *pieces;          /* URL in place: expected pieces (owned) */
	char    *expect;          /* else: whole value expected (owned, may be secret) */
} Pending;

/* A variable to add to an app (added.c). */
typedef struct RwAdd
{
	size_t  app;
	char   *name;
	char   *raw;         /* compose-level value; may be secret */
	char   *restore;     /* the app's default, for the rollback override */
} RwAdd;

typedef struct RwCtx
{
	const StackService *svc;
	const ComposeFile  *f;
	const RwTarget     *t;
	const char         *path;
	RwEdits             edits;
	char                var[160];    /* the password variable */
	bool                var_used;
	bool                literal_new; /* a password written in clear */
	bool                literal_old; /* the original had one in clear */
	Pending            *pending;
	size_t              npending;
	RwAdd              *adds;
	size_t              nadds;
} RwCtx;

/* networks.c: every connecting app that shares no network with the
 * shared container joins one (its networks: and the top-level networks:
 * edited); recorded in *added. False, logged, on a shape it cannot edit. */
bool rw_edit_networks(RwCtx *c, RwNetAdded **added, size_t *count);
void rw_net_added_free(RwNetAdded *added, size_t count);

void rw_pieces_free(Pieces *p);
/* Target host/port/names/password usable (logged when not). */
bool rw_target_valid(const RwCtx *c);
/* Edits pointing one connection at the target; false logged. */
bool rw_edit_conn(RwCtx *c, const ConnRef *r);
/* Is a raw value (as written in the file) a password in clear: present,
 * and interpolating nothing ($X / ${X}; $$ is a literal $)? */
bool rw_is_literal(const char *raw, size_t n);

/* Add name=raw to app's environment (once; the edits are made by
 * rw_emit_adds). False, logged, when another connection adds it differently. */
bool rw_add_var(RwCtx *c, size_t app, const char *name, const StrBuf *raw, const char *restore);
/* Insert every added variable into its app's environment (block style;
 * an `environment:` key is created when the app has none). */
bool rw_emit_adds(RwCtx *c);
void rw_adds_free(RwCtx *c);

/* Self-check of a rewritten file: parses as YAML, the db service key is
 * gone, no depends_on names it, and each checked env var (app, name) has
 * the decoded value given. */
typedef struct RwEnvCheck
{
	const char *app;
	const char *name;
	char       *value;    /* expected value, owned, may be secret */
} RwEnvCheck;

bool rw_check_output(const char *path, const char *bytes, size_t len,
					 const char *db_key, const RwEnvCheck *checks, size_t count);

/* The override parses, restores at least the db service, and every node
 * it restores equals the original's (db service, env values, depends_on). */
bool rw_check_override(const StackService *svc, const char *path, const char *bytes,
					   size_t len, const RwAdded *added, size_t added_count);

/* Where a new key of service app goes (environment:, networks:): right
 * after its key line (`key:` and nothing but a comment), at the column of
 * its first setting (col). False when the service is not a block mapping
 * pgfold can extend (flow style, no settings block). */
bool rw_new_key_place(const ComposeFile *f, const ComposeService *app, size_t *at, size_t *col);

/* The end of an app config file's rewrite (appconfig_yaml.c, appconfig_ini.c):
 * the keys it lacked (added) go in at `at`, on a line of their own even after
 * a last line without a line break, then edits are applied to bytes into out. */
bool rw_ac_apply(RwEdits *edits, const char *bytes, size_t len, size_t at, const char *eol,
				 const StrBuf *added, StrBuf *out);
/* Takes back, zeroed, what a failed rewrite appended to out after start
 * (it may hold the new password). */
void rw_ac_discard(StrBuf *out, size_t start);

#endif
