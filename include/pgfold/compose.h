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
 *
 * Conventions, all tested by slicing real-shaped files:
 * - Block style: item/block spans are line spans (from column 0 of the first
 *   line through the line break of the last content line; a trailing
 *   `# comment` on that line is included). Flow style ([..] / {..}): spans
 *   are the exact bytes of the entry.
 * - Comment ownership between two services (ComposeService.block/.lead):
 *   comment lines right after a service's last content line that are
 *   indented deeper than the service key (commented-out settings) belong to
 *   that service's block; the run of comment lines directly above a key
 *   (no blank line between) at or left of the key's column is the next
 *   service's `lead`. Removing [lead.start, block.end) removes a service,
 *   its heading comment and its commented-out lines, leaves valid YAML and
 *   never eats a neighbour's comment. Blank lines belong to nobody.
 * - Header: the lines starting with '#' at column 0 from the top of the
 *   file (after a BOM); a blank line ends it. `# key: value` lines (key
 *   [A-Za-z][A-Za-z0-9_.-]*, then ':' and a blank) become MetaEntry; other
 *   comment lines stay in meta_block. An absent header is an empty span at
 *   the insertion point (0, or 3 after a BOM).
 * - env_block / depends_block: the `key:` line through the last item's
 *   line; comments after the last item are not included.
 * - `cut` removes one entry: in block style the item lines; in flow style the
 *   entry plus the comma and blanks up to the next entry (or from the
 *   previous one for the last). Removing the only entry of a block list or
 *   map leaves `environment:` / `depends_on:` null, which compose rejects:
 *   remove env_block / depends_block instead.
 * - An empty value has an empty span where the value would go: `KEY:` (map
 *   form, null) right after the colon (insert " value"); `- KEY` (list
 *   form) right after the name (insert "=value").
 * - Replacing a value span keeps the scalar's style: a value inside quotes
 *   must be escaped for that quote style, and a plain value inside a flow
 *   collection ([..] / {..}) may not contain , [ ] { } (quote it instead).
 * - Merge keys (`<<: *x`) and aliases are parsed but not expanded: the
 *   service is flagged (uses_merge / uses_alias) and values that come from
 *   an alias are not modelled. Callers must refuse to edit such a service.
 * - Resolution (compose 1.29's order): ${VAR} in the YAML expands against
 *   lookup (environment, then the stack .env); each env_file is read with
 *   dotenv rules (its ${VAR} see earlier lines and the environment, not
 *   .env, as in 1.29; bare `KEY` lines take lookup(KEY)); `environment:`
 *   entries override env_file values; `- KEY` / `KEY:` without a value take
 *   lookup(KEY), not the env_file value (compose does the same).
 * - Errors (file:line:col: reason): not UTF-8, NUL bytes, > COMPOSE_MAX_BYTES,
 *   several documents, tabs in indentation, duplicate keys (top level,
 *   services, a service, environment/depends_on maps), a non-mapping root,
 *   `services` or service, non-scalar keys, missing env_file, nesting deeper
 *   than 64, more than 200000 nodes / 1000 anchors / 10000 aliases. No
 *   crash and no super-linear time on any input (fuzz-tested).
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

#define COMPOSE_MAX_BYTES (4 * 1024 * 1024)

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
	Span       item;       /* the whole item: line span in block style, the entry in flow */
	Span       scalar;     /* the YAML scalar (incl. quotes); list form: "K=V" */
	Span       value;      /* the value bytes inside the file (excl. quotes) */
	Span       name_span;  /* the name bytes (excl. quotes) */
	Span       cut;        /* delete these bytes to remove the item (flow: incl. a comma) */
	bool       flow;       /* inside [..] or {..} */
	char      *error;      /* why resolution failed (e.g. ${X:?msg}), else NULL */
} EnvItem;

/* One depends_on entry, either form; flow sequences `[a, b]` too. */
typedef struct DependsItem
{
	char *name;
	Span  item;    /* block style: line span (map form: incl. nested lines); flow: the entry */
	bool  flow;    /* inside [a, b] or {a: ..} */
	Span  name_span;   /* the name bytes (excl. quotes) */
	Span  cut;         /* delete these bytes to remove the entry (flow: incl. a comma) */
	char *condition;   /* map form `condition:`, else NULL */
} DependsItem;

typedef struct ComposeService
{
	char          *key;            /* service key under services: */
	Span           key_span;
	Span           block;          /* line span: key line through its last line, plus
									* deeper-indented comment lines right after it */
	Span           lead;           /* comment lines directly above the key (may be empty);
									* lead.end == block.start */
	size_t         indent;         /* column of the key */
	bool           flow;           /* inside `services: {..}`: block/lead are exact bytes */
	bool           uses_merge;     /* has a `<<:` merge key */
	bool           uses_alias;     /* has a *alias somewhere: not fully modelled */

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
	bool           env_flow;       /* environment: [..] / {..} */

	char         **env_files;      /* paths as written */
	size_t         env_file_count;
	Dotenv        *env_file_vars;  /* loaded env_files, same order */

	CollectionForm depends_form;
	DependsItem   *depends;
	size_t         depends_count;
	Span           depends_block;  /* line span of `depends_on:` and its items */

	char         **volumes;        /* short-form strings as written; long form as source:target[:ro] */
	size_t         volume_count;

	/* networks: (keys of the top-level networks: as written, resolved);
	 * FORM_ABSENT = compose's `default` network */
	CollectionForm networks_form;
	char         **networks;
	size_t         network_count;
	Span           networks_block; /* line span of `networks:` and its items */
	bool           networks_flow;  /* networks: [..] / {..} */
	size_t         networks_indent;/* column of the first item (its `-` or key) */
	char         **extra_hosts;    /* "name:address" entries, resolved */
	size_t         extra_host_count;
} ComposeService;

/* One entry of the top-level networks: mapping. */
typedef struct ComposeNetwork
{
	char *key;
	char *name;        /* `name:` (or external's legacy `name:`), resolved; NULL = none */
	bool  external;
} ComposeNetwork;

typedef struct ComposeFile
{
	char           *path;
	char           *dir;           /* compose's project dir (absolute when it exists):
									* ComposeOptions.project_dir, else the file's dir */
	char           *bytes;         /* original file content, NUL-terminated */
	size_t          len;

	MetaEntry      *meta;
	size_t          meta_count;
	Span            meta_block;    /* header comment lines (may be empty) */

	ComposeService *services;
	size_t          service_count;
	Span            services_block; /* `services:` mapping line span */
	size_t          service_indent;

	char           *version;       /* top-level `version:`, NULL if absent */
	ComposeNetwork *networks;      /* top-level networks: */
	size_t          network_count;
	Span            networks_block;/* its line span; empty at EOF when absent */
	bool            networks_flow;
	bool            networks_present;
	bool            has_anchors;   /* some &anchor is defined */
	char            error[512];    /* the failure's one line, also after compose_free */
} ComposeFile;

typedef struct ComposeOptions
{
	InterpDialect dialect;  /* how ${...} is read; default INTERP_COMPOSE_V2 */
	bool          quiet;    /* do not log errors (ComposeFile.error has them) */
	/*
	 * compose's project directory (--project-directory); NULL = the file's
	 * own directory, compose's default. docker-compose 1.29 resolves relative
	 * env_file and volume paths (and reads .env) there: with
	 * `--project-directory ROOT -f services/x.yml`, `env_file: x.env` is
	 * ROOT/x.env (checked). ComposeFile.dir is set to it.
	 */
	const char   *project_dir;
	/* bytes the stack's env files may still expand to (dotenv_load_within);
	 * NULL: only the bound of each file */
	size_t       *env_budget;
} ComposeOptions;

/*
 * Parse path. lookup/ctx resolve ${VAR} (stack .env + environment); each
 * service's env_files are loaded relative to the file and take part in
 * resolving that service's environment values as compose does. False with
 * one logged line (file:line:column: reason) on unreadable or malformed YAML.
 */
bool compose_load(const char *path, VarLookup lookup, void *ctx, ComposeFile *out);
bool compose_parse(const char *path, const char *bytes, size_t len,
				   VarLookup lookup, void *ctx, ComposeFile *out);
bool compose_load_opts(const char *path, VarLookup lookup, void *ctx,
					   const ComposeOptions *opts, ComposeFile *out);
bool compose_parse_opts(const char *path, const char *bytes, size_t len,
						VarLookup lookup, void *ctx, const ComposeOptions *opts,
						ComposeFile *out);
void compose_free(ComposeFile *file);  /* keeps file->error */

const ComposeService *compose_find_service(const ComposeFile *file, const char *key);
const EnvItem *compose_find_env(const ComposeService *svc, const char *name);  /* last wins */
/*
 * The networks a service's container joins, as compose names them for
 * project: `network_mode` set: none (*mode = its value: host, none,
 * service:x, container:x); else each networks: key (or `default`) mapped
 * through the top-level networks: (`name:`, `external`: the key itself,
 * else <project>_<key>). Owned strings (free each and the array).
 */
void compose_service_networks(const ComposeFile *file, const ComposeService *svc,
							  const char *project, char ***names, size_t *count,
							  const char **mode);

const char *compose_meta_get(const ComposeFile *file, const char *key);         /* last wins */
const MetaEntry *compose_find_meta(const ComposeFile *file, const char *key);

/*
 * The value the container gets for name: the environment entry if any (its
 * resolved value, NULL if that failed or is unset), else the last env_file
 * that sets it, else NULL.
 */
const char *compose_env_effective(const ComposeService *svc, const char *name);


/* ---- an app's own YAML configuration (homeserver.yaml) -------------------- */

#define YAML_DOC_MAX_BYTES (1024 * 1024)

/* One scalar entry of a block mapping, tied to its bytes. */
typedef struct YamlEntry
{
	char      *key;
	char      *value;       /* decoded scalar; NULL when the value is not a scalar */
	Span       value_span;  /* the scalar's bytes, quotes included */
	YamlStyle  style;
	size_t     line;        /* 1-based line of the key */
} YamlEntry;

typedef struct YamlMapping
{
	YamlEntry *entries;
	size_t     count;
	bool       flow;        /* written {..}: entries are not line-editable */
	size_t     indent;      /* byte column of the keys */
	size_t     end;         /* just after the line break of the last entry's line
							 * (where a new entry goes) */
	const char *eol;        /* the file's line break, "\n" or "\r\n" */
} YamlMapping;

/*
 * The entries of the mapping at path (keys from the document's root, e.g.
 * {"database", "args"}) of one YAML document (bytes may start with a BOM).
 * *found false when some key on the path is absent or not a mapping.
 * False with error ("line:col: reason") when the bytes are no single
 * well-formed document of at most YAML_DOC_MAX_BYTES, hold a NUL byte, or a
 * mapping on the path (the root included) repeats a key, uses a merge key
 * or an alias: which of two values the app reads would be a guess.
 */
bool compose_yaml_mapping(const char *bytes, size_t len, const char *const *path,
						  size_t depth, YamlMapping *out, bool *found,
						  char *error, size_t error_size);
void compose_yaml_mapping_free(YamlMapping *m);

#endif
