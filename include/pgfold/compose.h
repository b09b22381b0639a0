/*
 * compose.h — a compose file as pgfold needs it: parsed with libyaml, every
 * interesting value tied to its exact byte span in the original file so that
 * an edit can replace those bytes and leave every other byte alone.
 *
 * Spans are [start, end) byte offsets into ComposeFile.bytes. A "line span"
 * covers whole lines including the final newline. Values are kept raw (as
 * written, quotes removed, ${...} not expanded) and resolved (interpolated
 * against the stack .env, env_files and the process environment, compose's
 * precedence); resolved is NULL when interpolation failed.
 */
#ifndef PGFOLD_COMPOSE_H
#define PGFOLD_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/dotenv.h"

typedef struct Span
{
	size_t start;
	size_t end;
} Span;

typedef enum YamlStyle
{
	YSTYLE_PLAIN = 0,
	YSTYLE_SINGLE,
	YSTYLE_DOUBLE,
	YSTYLE_LITERAL,   /* | */
	YSTYLE_FOLDED     /* > */
} YamlStyle;

typedef enum CollectionForm
{
	FORM_ABSENT = 0,
	FORM_LIST,        /* - X=Y / - name */
	FORM_MAP,         /* X: Y / name: {condition: ...} */
} CollectionForm;

/* One `# key: value` line of the header comment block. */
typedef struct MetaEntry
{
	char *key;
	char *value;
	Span  line;       /* the whole comment line */
	Span  value_span; /* the value bytes */
} MetaEntry;

/* One environment variable of a service, list form `- K=V` or map `K: V`. */
typedef struct EnvItem
{
	char      *name;
	char      *raw;        /* value as written (quotes removed), NULL if no value */
	char      *resolved;   /* interpolated value, NULL if unset/failed */
	bool       has_value;  /* list form `- K` has none */
	YamlStyle  style;      /* how the scalar holding the value is quoted */
	Span       item;       /* the whole item: line span in block style */
	Span       scalar;     /* the YAML scalar (incl. quotes); list form: "K=V" */
	Span       value;      /* the value bytes inside the file (excl. quotes) */
} EnvItem;

/* One depends_on entry, either form; flow sequences `[a, b]` too. */
typedef struct DependsItem
{
	char *name;
	Span  item;    /* block style: line span (map form: incl. nested lines); flow: the scalar */
	bool  flow;    /* inside [a, b] */
} DependsItem;

typedef struct ComposeService
{
	char          *key;            /* service key under services: */
	Span           key_span;
	Span           block;          /* line span: key line through its last line */
	size_t         indent;         /* column of the key */

	char          *image;          /* resolved (raw if resolution failed) */
	char          *image_raw;
	char          *container_name; /* resolved, NULL when not set */
	char          *container_name_raw;
	char          *user;
	char          *network_mode;

	CollectionForm env_form;
	EnvItem       *env;
	size_t         env_count;
	Span           env_block;      /* line span of `environment:` and its items */
	size_t         env_item_indent;

	char         **env_files;      /* paths as written */
	size_t         env_file_count;
	Dotenv        *env_file_vars;  /* loaded env_files, same order */

	CollectionForm depends_form;
	DependsItem   *depends;
	size_t         depends_count;
	Span           depends_block;  /* line span of `depends_on:` and its items */

	char         **volumes;        /* short-form strings as written */
	size_t         volume_count;
} ComposeService;

typedef struct ComposeFile
{
	char           *path;
	char           *dir;           /* the file's directory: compose's project dir */
	char           *bytes;         /* original file content, NUL-terminated */
	size_t          len;

	MetaEntry      *meta;
	size_t          meta_count;
	Span            meta_block;    /* header comment lines (may be empty) */

	ComposeService *services;
	size_t          service_count;
	Span            services_block; /* `services:` mapping line span */
	size_t          service_indent;
} ComposeFile;

/*
 * Parse path. lookup/ctx resolve ${VAR} (stack .env + environment); each
 * service's env_files are loaded relative to the file and take part in
 * resolving that service's environment values as compose does. False with
 * one logged line (file:line:column: reason) on unreadable or malformed YAML.
 */
bool compose_load(const char *path, VarLookup lookup, void *ctx, ComposeFile *out);
bool compose_parse(const char *path, const char *bytes, size_t len,
				   VarLookup lookup, void *ctx, ComposeFile *out);
void compose_free(ComposeFile *file);

const ComposeService *compose_find_service(const ComposeFile *file, const char *key);
const EnvItem *compose_find_env(const ComposeService *svc, const char *name);
const char *compose_meta_get(const ComposeFile *file, const char *key);

#endif
