/*
 * ytree.h — internal to src/compose: a small node tree built from libyaml
 * events, every node tied to byte offsets in the original file.
 *
 * libyaml's marks count characters (CRLF = 2), not bytes, and start after a
 * BOM; ytree converts them to byte offsets. Scalars and flow collections get
 * exact [start, end) spans (quotes and brackets included, node properties
 * such as &anchor or !tag excluded); a block collection's end is the end of
 * its last content, since libyaml's BLOCK-END mark lies after comments.
 * Aliases are not expanded (no billion laughs), only resolved to a target.
 */
#ifndef PGFOLD_COMPOSE_YTREE_H
#define PGFOLD_COMPOSE_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/compose.h"

#define YTREE_MAX_DEPTH  64
#define YTREE_MAX_NODES  200000
#define YTREE_MAX_ANCHORS 1000     /* compose files use a handful */
#define YTREE_MAX_ALIASES 10000

typedef enum YNodeKind
{
	YN_SCALAR = 0,
	YN_SEQ,
	YN_MAP,
	YN_ALIAS
} YNodeKind;

typedef struct YNode
{
	YNodeKind      kind;
	bool           flow;      /* flow collection [..] / {..} */
	bool           props;     /* had an anchor or a tag */
	YamlStyle      style;     /* scalars */
	char          *value;     /* scalar: decoded text; alias: anchor name */
	char          *anchor;    /* anchor defined on this node, or NULL */
	char          *tag;       /* explicit tag, or NULL */
	size_t         start;     /* byte offsets, see above */
	size_t         end;
	size_t         line;      /* 1-based line and column of start (chars) */
	size_t         col;
	struct YNode **items;     /* seq: items; map: k0 v0 k1 v1 ... */
	size_t         count;     /* entries in items (2 per pair for maps) */
	struct YNode  *target;    /* alias: the anchored node */
} YNode;

typedef struct YTree
{
	YNode  *root;
	YNode **all;              /* every node, for freeing */
	size_t  nall;
	size_t  cap;
	YNode **anchors;          /* nodes with an anchor, in order */
	size_t  nanchors;
	size_t  naliases;
	bool    has_anchors;
	bool    has_aliases;
} YTree;

typedef struct YError
{
	size_t line;              /* 1-based */
	size_t col;
	char   msg[256];
} YError;

/* bytes[0..len) is the file without its BOM; base is added to offsets. */
bool ytree_parse(const char *bytes, size_t len, size_t base, YTree *out, YError *err);
void ytree_free(YTree *tree);

/* Map helpers: value for a scalar key, or NULL. */
const YNode *ynode_map_get(const YNode *map, const char *key);
bool ynode_is_null(const YNode *node);   /* plain "", ~, null, Null, NULL */
bool ynode_has_alias(const YNode *node); /* anywhere below (bounded depth) */

#endif
