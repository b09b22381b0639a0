/*
 * compose_int.h — internal to src/compose: the parse context and the byte
 * and line helpers shared by compose.c, compose_service.c, compose_env.c.
 */
#ifndef PGFOLD_COMPOSE_INT_H
#define PGFOLD_COMPOSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgfold/compose.h"
#include "ytree.h"

typedef struct CCtx
{
	ComposeFile  *file;
	const char   *b;          /* file->bytes */
	size_t        len;
	VarLookup     lookup;
	void         *lctx;
	InterpDialect dialect;
	size_t        env_file_bytes;  /* env_file bytes loaded so far (bounded) */
	size_t       *env_budget;      /* ComposeOptions.env_budget */
	uint32_t     *lines;           /* start offset of every line (file < 4 GiB) */
	size_t        nlines;
} CCtx;

#define COMPOSE_MAX_ENV_FILES       32                  /* per service */
#define COMPOSE_MAX_ENV_FILE_BYTES  (16 * 1024 * 1024)  /* per compose file */

/* Record "path:line:col: reason" in file->error (first error wins); false. */
bool cc_error(CCtx *c, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Line geometry. A line break is LF, CRLF or a lone CR. */
size_t cc_line_start(const CCtx *c, size_t pos);
size_t cc_prev_line_start(const CCtx *c, size_t line_start);  /* == line_start at 0 */
size_t cc_line_end(const CCtx *c, size_t pos);   /* just after the break of pos's line */
size_t cc_col(const CCtx *c, size_t pos);        /* bytes since the line start */
Span   cc_lines(const CCtx *c, size_t start, size_t end);
/* Column of '#' when the line at ls holds only a comment, else -1. */
long   cc_comment_col(const CCtx *c, size_t ls);

/* Scalar bytes without their quotes (plain and block scalars unchanged). */
Span   cc_inner(const YNode *scalar);

/* Interpolate raw; NULL (and *error set, caller frees) when it fails. */
char  *cc_resolve(CCtx *c, const char *raw, char **error);

/* Keys of a mapping must be scalars and unique. */
bool   cc_check_keys(CCtx *c, const YNode *map, const char *what);

char  *cc_strdup_or_null(const char *s);

/* compose_service.c */
bool compose_service_parse(CCtx *c, const YNode *key, const YNode *val,
						   ComposeService *svc);
void compose_service_free(ComposeService *svc);

/* compose_networks.c */
bool compose_networks_parse(CCtx *c, ComposeService *svc, const YNode *key, const YNode *val);
bool compose_extra_hosts_parse(CCtx *c, ComposeService *svc, const YNode *val);
bool compose_top_networks_parse(CCtx *c, const YNode *key, const YNode *val);
void compose_networks_free(ComposeFile *file);
void compose_service_networks_free(ComposeService *svc);

/* compose_env.c */
bool compose_env_parse(CCtx *c, const YNode *key, const YNode *val, ComposeService *svc);
bool compose_env_files_parse(CCtx *c, const YNode *val, ComposeService *svc);
void compose_env_free(ComposeService *svc);

/* Flow entry removal span: item plus the comma to its neighbour (NULL = none). */
Span cc_flow_cut(const Span *prev, Span item, const Span *next);

#endif
