/*
 * compose.c — a compose file: bytes, header metadata, the services mapping;
 * see compose.h for the span conventions and compose_service.c /
 * compose_env.c for what is read from each service.
 */
#include "compose_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

/* ---- helpers shared with the other compose files ---------------------- */

/* The reason quotes file bytes (a name, a value): control bytes become
 * \xNN so that ComposeFile.error stays the one line status and plan print
 * (found by tests/fuzz/fuzz_compose.c: a newline inside a variable name). */
static void
escape_controls(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *) in; *p != '\0' && o + 5 < size; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t) snprintf(out + o, size - o, "\\x%02x", *p);
		else
			out[o++] = (char) *p;
	}
	out[o] = '\0';
}

bool
cc_error(CCtx *c, size_t line, size_t col, const char *fmt, ...)
{
	char raw[384], msg[384];
	va_list ap;

	if (c->file->error[0] != '\0')
		return false;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape_controls(raw, msg, sizeof(msg));
	if (line > 0)
		snprintf(c->file->error, sizeof(c->file->error), "%s:%zu:%zu: %s",
				 c->file->path, line, col, msg);
	else
		snprintf(c->file->error, sizeof(c->file->error), "%s: %s", c->file->path, msg);
	return false;
}

static bool
is_break(char ch)
{
	return ch == '\n' || ch == '\r';
}

/* Line starts, so that geometry is O(log n) even on one 4 MiB line. */
static void
index_lines(CCtx *c)
{
	size_t n = 1;

	for (size_t i = 0; i < c->len; i++)
		if (c->b[i] == '\n' || (c->b[i] == '\r' && (i + 1 >= c->len || c->b[i + 1] != '\n')))
			n++;
	c->lines = xcalloc(n, sizeof(uint32_t));
	c->lines[c->nlines++] = 0;
	for (size_t i = 0; i < c->len; i++)
		if ((c->b[i] == '\n' || (c->b[i] == '\r' && (i + 1 >= c->len || c->b[i + 1] != '\n'))) &&
			i + 1 < c->len)
			c->lines[c->nlines++] = (uint32_t) (i + 1);
}

/* Index of the last line starting at or before pos. */
static size_t
line_index(const CCtx *c, size_t pos)
{
	size_t lo = 0, hi = c->nlines;

	while (hi - lo > 1)
	{
		size_t mid = lo + (hi - lo) / 2;

		if (c->lines[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

size_t
cc_line_start(const CCtx *c, size_t pos)
{
	return c->lines[line_index(c, pos > c->len ? c->len : pos)];
}

size_t
cc_prev_line_start(const CCtx *c, size_t ls)
{
	size_t p = ls;

	if (p > 0 && c->b[p - 1] == '\n')
		p--;
	if (p > 0 && c->b[p - 1] == '\r')
		p--;
	return cc_line_start(c, p);
}

size_t
cc_line_end(const CCtx *c, size_t pos)
{
	size_t i;

	if (pos >= c->len)
		return c->len;
	i = line_index(c, pos);
	return i + 1 < c->nlines ? c->lines[i + 1] : c->len;
}

size_t
cc_col(const CCtx *c, size_t pos)
{
	return pos - cc_line_start(c, pos);
}

Span
cc_lines(const CCtx *c, size_t start, size_t end)
{
	return (Span) { cc_line_start(c, start), cc_line_end(c, end > start ? end : start) };
}

long
cc_comment_col(const CCtx *c, size_t ls)
{
	size_t p = ls;

	while (p < c->len && (c->b[p] == ' ' || c->b[p] == '\t'))
		p++;
	return (p < c->len && c->b[p] == '#') ? (long) (p - ls) : -1;
}

Span
cc_inner(const YNode *n)
{
	if ((n->style == YSTYLE_SINGLE || n->style == YSTYLE_DOUBLE) && n->end >= n->start + 2)
		return (Span) { n->start + 1, n->end - 1 };
	return (Span) { n->start, n->end };
}

Span
cc_flow_cut(const Span *prev, Span item, const Span *next)
{
	if (next != NULL)
		return (Span) { item.start, next->start };
	if (prev != NULL)
		return (Span) { prev->end, item.end };
	return item;
}

char *
cc_strdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

char *
cc_resolve(CCtx *c, const char *raw, char **error)
{
	StrBuf out = STRBUF_INIT;
	char err[256];

	*error = NULL;
	if (dotenv_interpolate_dialect(raw, strlen(raw), c->dialect, c->lookup, c->lctx,
								   &out, err, sizeof(err)))
		return sb_steal(&out);
	sb_free(&out);
	*error = xstrdup(err);
	return NULL;
}

/* Order key indices by text, then by position, for the duplicate scan. */
static int
cmp_key_index(const void *a, const void *b, void *arg)
{
	const YNode *const *keys = arg;
	size_t i = *(const size_t *) a, j = *(const size_t *) b;
	int c = strcmp(keys[i]->value, keys[j]->value);

	return c != 0 ? c : (i > j) - (i < j);
}

bool
cc_check_keys(CCtx *c, const YNode *map, const char *what)
{
	size_t n = map->count / 2;
	size_t dup = SIZE_MAX, first = 0;

	for (size_t i = 0; i < n; i++)
	{
		const YNode *k = map->items[2 * i];

		if (k->kind != YN_SCALAR)
			return cc_error(c, k->line, k->col, "%s: keys must be strings", what);
	}
	if (n <= 32)
	{
		for (size_t i = 0; i < n && dup == SIZE_MAX; i++)
			for (size_t j = 0; j < i; j++)
				if (strcmp(map->items[2 * j]->value, map->items[2 * i]->value) == 0)
				{
					dup = i, first = j;
					break;
				}
	}
	else
	{
		/* Hostile files may hold 100k keys: sort instead of n^2. */
		size_t *idx = xcalloc(n, sizeof(size_t));
		const YNode **keys = xcalloc(n, sizeof(YNode *));

		for (size_t i = 0; i < n; i++)
			idx[i] = i, keys[i] = map->items[2 * i];
		qsort_r(idx, n, sizeof(size_t), cmp_key_index, keys);
		for (size_t i = 1; i < n; i++)
			if (strcmp(keys[idx[i]]->value, keys[idx[i - 1]]->value) == 0 && idx[i] < dup)
				dup = idx[i], first = idx[i - 1];
		free(keys);
		free(idx);
	}
	if (dup == SIZE_MAX)
		return true;

	const YNode *k = map->items[2 * dup];

	return cc_error(c, k->line, k->col, "duplicate key \"%.64s\" in %s (first at line %zu)",
					k->value, what, map->items[2 * first]->line);
}

/* ---- header metadata: leading `# key: value` lines --------------------- */

static bool
is_meta_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		(ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

static void
add_meta(ComposeFile *f, size_t *cap, const CCtx *c, size_t ls, size_t le)
{
	size_t p = ls + 1, content_end = le;

	while (content_end > ls && is_break(c->b[content_end - 1]))
		content_end--;
	while (p < content_end && (c->b[p] == ' ' || c->b[p] == '\t'))
		p++;

	size_t ks = p;

	if (p >= content_end || !((c->b[p] >= 'a' && c->b[p] <= 'z') || (c->b[p] >= 'A' && c->b[p] <= 'Z')))
		return;
	while (p < content_end && is_meta_key_char(c->b[p]))
		p++;

	size_t ke = p;

	if (p >= content_end || c->b[p] != ':')
		return;
	p++;
	if (p < content_end && c->b[p] != ' ' && c->b[p] != '\t')
		return;                 /* "# http://x" is prose, not a key */
	while (p < content_end && (c->b[p] == ' ' || c->b[p] == '\t'))
		p++;

	size_t vs = p, ve = content_end;

	while (ve > vs && (c->b[ve - 1] == ' ' || c->b[ve - 1] == '\t'))
		ve--;
	if (f->meta_count == *cap)
	{
		*cap = *cap ? *cap * 2 : 8;
		f->meta = xrealloc(f->meta, *cap, sizeof(MetaEntry));
	}
	f->meta[f->meta_count++] = (MetaEntry) {
		.key = xstrndup(c->b + ks, ke - ks),
		.value = xstrndup(c->b + vs, ve - vs),
		.line = { ls, le },
		.value_span = { vs, ve },
	};
}

/* The header is the run of lines starting with '#' at column 0 at the top
 * of the file (after a BOM); a blank line ends it. Empty header: a span of
 * length 0 where one would be inserted. */
static void
parse_header(CCtx *c, size_t bom)
{
	ComposeFile *f = c->file;
	size_t cap = 0, ls = bom;

	while (ls < c->len && c->b[ls] == '#')
	{
		size_t le = cc_line_end(c, ls);

		add_meta(f, &cap, c, ls, le);
		ls = le;
	}
	f->meta_block = (Span) { bom, ls };
}

/* ---- byte checks ------------------------------------------------------- */

static bool
check_bytes(CCtx *c, size_t from)
{
	size_t line = 1, ls = from;

	for (size_t i = from; i < c->len;)
	{
		unsigned char ch = (unsigned char) c->b[i];
		size_t need;
		unsigned cp, min;

		if (ch == '\n')
			line++, ls = i + 1;
		if (ch == '\0')
			return cc_error(c, line, i - ls + 1, "NUL byte: not a text file");
		if (ch < 0x80)
		{
			i++;
			continue;
		}
		if ((ch & 0xE0) == 0xC0)
			need = 1, cp = ch & 0x1F, min = 0x80;
		else if ((ch & 0xF0) == 0xE0)
			need = 2, cp = ch & 0x0F, min = 0x800;
		else if ((ch & 0xF8) == 0xF0)
			need = 3, cp = ch & 0x07, min = 0x10000;
		else
			return cc_error(c, line, i - ls + 1, "invalid UTF-8");
		if (c->len - i - 1 < need)
			return cc_error(c, line, i - ls + 1, "invalid UTF-8");
		for (size_t k = 1; k <= need; k++)
		{
			unsigned char d = (unsigned char) c->b[i + k];

			if ((d & 0xC0) != 0x80)
				return cc_error(c, line, i - ls + 1, "invalid UTF-8");
			cp = (cp << 6) | (d & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return cc_error(c, line, i - ls + 1, "invalid UTF-8");
		i += need + 1;
	}
	return true;
}

/* ---- services ------------------------------------------------------------ */

/* Lead comments: the comment lines directly above ls, at or left of the
 * key's column, not above floor (the previous sibling's end). */
static Span
lead_comments(const CCtx *c, size_t key_ls, size_t indent, size_t floor)
{
	size_t start = key_ls;

	while (start > floor)
	{
		size_t prev = cc_prev_line_start(c, start);
		long col = cc_comment_col(c, prev);

		if (prev < floor || prev == start || col < 0 || (size_t) col > indent)
			break;
		start = prev;
	}
	return (Span) { start, key_ls };
}

/* Extend a block over comment lines indented deeper than indent. */
static size_t
trailing_comments(const CCtx *c, size_t end, size_t indent)
{
	while (end < c->len)
	{
		long col = cc_comment_col(c, end);

		if (col < 0 || (size_t) col <= indent)
			break;
		end = cc_line_end(c, end);
	}
	return end;
}

static bool
parse_services(CCtx *c, const YNode *skey, const YNode *map)
{
	ComposeFile *f = c->file;
	size_t n = map->count / 2;
	size_t floor = cc_line_end(c, skey->end);

	if (!cc_check_keys(c, map, "services"))
		return false;
	f->services = xcalloc(n ? n : 1, sizeof(ComposeService));
	f->services_block = cc_lines(c, skey->start, map->end);
	for (size_t i = 0; i < n; i++)
	{
		const YNode *k = map->items[2 * i], *v = map->items[2 * i + 1];
		ComposeService *svc = &f->services[f->service_count++];

		svc->indent = cc_col(c, k->start);
		svc->flow = map->flow;
		if (map->flow)
		{
			svc->block = (Span) { k->start, v->end > k->end ? v->end : k->end };
			svc->lead = (Span) { k->start, k->start };
		}
		else
		{
			svc->block = cc_lines(c, k->start, v->end > k->end ? v->end : k->end);
			svc->block.end = trailing_comments(c, svc->block.end, svc->indent);
			svc->lead = lead_comments(c, svc->block.start, svc->indent, floor);
			floor = svc->block.end;
		}
		if (i == 0)
			f->service_indent = svc->indent;
		if (!compose_service_parse(c, k, v, svc))
			return false;
	}
	if (!map->flow && n > 0 && floor > f->services_block.end)
		f->services_block.end = floor;
	return true;
}

static bool
parse_root(CCtx *c, const YTree *tree)
{
	const YNode *root = tree->root;
	const YNode *skey = NULL, *svals = NULL;

	if (root == NULL)
		return cc_error(c, 1, 1, "empty file: no `services:` mapping");
	if (root->kind != YN_MAP)
		return cc_error(c, root->line, root->col, "the top level is not a mapping");
	if (!cc_check_keys(c, root, "the top level"))
		return false;
	for (size_t i = 0; i + 1 < root->count; i += 2)
	{
		const YNode *k = root->items[i], *v = root->items[i + 1];

		if (strcmp(k->value, "version") == 0 && v->kind == YN_SCALAR)
			c->file->version = xstrdup(v->value);
		else if (strcmp(k->value, "networks") == 0 && !compose_top_networks_parse(c, k, v))
			return false;
		else if (strcmp(k->value, "services") == 0)
		{
			skey = k;
			svals = v;
		}
	}
	if (skey == NULL)
		return cc_error(c, root->line, root->col,
						"no `services:` mapping (compose file format v1 is not supported)");
	if (svals->kind != YN_MAP)
		return cc_error(c, svals->line, svals->col, "`services` is not a mapping");
	return parse_services(c, skey, svals);
}

/* ---- entry points ------------------------------------------------------- */

/* libyaml says "found character that cannot start any token" for a tab in
 * the indentation; tell the operator what it is. */
static bool
tab_in_indent(const CCtx *c, size_t from, size_t line)
{
	size_t p = from;

	for (size_t l = 1; l < line && p < c->len; l++)
		p = cc_line_end(c, p);
	while (p < c->len && (c->b[p] == ' ' || c->b[p] == '\t'))
		if (c->b[p++] == '\t')
			return true;
	return false;
}

/* The project directory: the option, else the file's directory; absolute
 * when it exists. */
static char *
project_dir(const char *path, const char *option)
{
	const char *slash = strrchr(path, '/');
	char *dir, real[PATH_MAX];

	if (option != NULL && option[0] != '\0')
		dir = xstrdup(option);
	else if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t) (slash - path));
	if (realpath(dir, real) != NULL)
	{
		free(dir);
		dir = xstrdup(real);
	}
	return dir;
}

static bool
finish_error(ComposeFile *out, const ComposeOptions *opts)
{
	if (!opts->quiet)
	{
		log_error("%s", out->error);
		exit_hint_set(EXIT_USAGE);
	}
	compose_free(out);
	return false;
}

bool
compose_parse_opts(const char *path, const char *bytes, size_t len,
				   VarLookup lookup, void *ctx, const ComposeOptions *opts,
				   ComposeFile *out)
{
	static const ComposeOptions defaults = { .dialect = INTERP_COMPOSE_V2 };
	CCtx c = { .file = out, .lookup = lookup, .lctx = ctx };
	YTree tree;
	YError yerr;
	size_t bom = 0;

	if (opts == NULL)
		opts = &defaults;
	memset(out, 0, sizeof(*out));
	out->path = xstrdup(path ? path : "(compose)");
	out->dir = project_dir(out->path, opts->project_dir);
	c.dialect = opts->dialect;
	c.env_budget = opts->env_budget;
	if (len > COMPOSE_MAX_BYTES)
	{
		cc_error(&c, 0, 0, "larger than %d bytes", COMPOSE_MAX_BYTES);
		return finish_error(out, opts);
	}
	out->bytes = xcalloc(len + 1, 1);
	if (len > 0)
		memcpy(out->bytes, bytes, len);
	out->len = len;
	c.b = out->bytes;
	c.len = len;
	index_lines(&c);

	if (len >= 3 && memcmp(c.b, "\xEF\xBB\xBF", 3) == 0)
		bom = 3;

	bool ok = check_bytes(&c, bom);

	if (ok)
	{
		parse_header(&c, bom);
		ok = ytree_parse(c.b + bom, len - bom, bom, &tree, &yerr);
		if (!ok && tab_in_indent(&c, bom, yerr.line))
			cc_error(&c, yerr.line, yerr.col, "tab character in indentation "
					 "(YAML indents with spaces only)");
		else if (!ok)
			cc_error(&c, yerr.line, yerr.col, "%s", yerr.msg);
	}
	if (ok)
	{
		out->has_anchors = tree.has_anchors;
		ok = parse_root(&c, &tree);
		ytree_free(&tree);
	}
	free(c.lines);
	return ok ? true : finish_error(out, opts);
}

bool
compose_parse(const char *path, const char *bytes, size_t len,
			  VarLookup lookup, void *ctx, ComposeFile *out)
{
	return compose_parse_opts(path, bytes, len, lookup, ctx, NULL, out);
}

/* Read at most COMPOSE_MAX_BYTES + 1 bytes so that "too large" is seen. */
static bool
read_bounded(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
	{
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return false;
	}

	/* Sized to the file, not to the limit: a 4 MiB calloc per file would
	 * cost every command 4 MiB of zeroed heap. One byte more than the file
	 * (or the limit) shows growth past it; one more holds the NUL. */
	size_t size = (uint64_t) st.st_size > COMPOSE_MAX_BYTES ? COMPOSE_MAX_BYTES : (size_t) st.st_size;
	size_t cap = size + 1;

	*buf = xcalloc(cap + 1, 1);
	*len = 0;
	while (*len < cap)
	{
		ssize_t r = read(fd, *buf + *len, cap - *len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			sodium_memzero(*buf, *len);
			free(*buf);
			*buf = NULL;
			return false;
		}
		if (r == 0)
			break;
		*len += (size_t) r;
	}
	close(fd);
	if (*len == cap && size < COMPOSE_MAX_BYTES)
	{
		snprintf(err, errlen, "%s: the file changed while it was read; try again", path);
		sodium_memzero(*buf, *len);
		free(*buf);
		*buf = NULL;
		return false;
	}
	return true;
}

bool
compose_load_opts(const char *path, VarLookup lookup, void *ctx,
				  const ComposeOptions *opts, ComposeFile *out)
{
	char *buf = NULL;
	size_t len = 0;
	char err[sizeof(out->error)];

	if (!read_bounded(path, &buf, &len, err, sizeof(err)))
	{
		memset(out, 0, sizeof(*out));
		str_copy(out->error, sizeof(out->error), err);
		if (opts == NULL || !opts->quiet)
		{
			log_error("cannot read %s", err);
			exit_hint_set(EXIT_USAGE);
		}
		return false;
	}

	bool ok = compose_parse_opts(path, buf, len, lookup, ctx, opts, out);

	sodium_memzero(buf, len);   /* a service file may hold passwords */
	free(buf);
	return ok;
}

bool
compose_load(const char *path, VarLookup lookup, void *ctx, ComposeFile *out)
{
	return compose_load_opts(path, lookup, ctx, NULL, out);
}

void
compose_free(ComposeFile *file)
{
	char error[sizeof(file->error)];

	if (file == NULL)
		return;
	memcpy(error, file->error, sizeof(error));
	for (size_t i = 0; i < file->meta_count; i++)
	{
		free(file->meta[i].key);
		free(file->meta[i].value);
	}
	free(file->meta);
	for (size_t i = 0; i < file->service_count; i++)
		compose_service_free(&file->services[i]);
	free(file->services);
	free(file->path);
	free(file->dir);
	if (file->bytes != NULL)
		sodium_memzero(file->bytes, file->len);  /* may hold passwords */
	free(file->bytes);
	free(file->version);
	compose_networks_free(file);
	memset(file, 0, sizeof(*file));
	memcpy(file->error, error, sizeof(error));
}

const ComposeService *
compose_find_service(const ComposeFile *file, const char *key)
{
	for (size_t i = 0; i < file->service_count; i++)
		if (strcmp(file->services[i].key, key) == 0)
			return &file->services[i];
	return NULL;
}

const EnvItem *
compose_find_env(const ComposeService *svc, const char *name)
{
	for (size_t i = svc->env_count; i-- > 0;)
		if (strcmp(svc->env[i].name, name) == 0)
			return &svc->env[i];
	return NULL;
}

const MetaEntry *
compose_find_meta(const ComposeFile *file, const char *key)
{
	for (size_t i = file->meta_count; i-- > 0;)
		if (strcmp(file->meta[i].key, key) == 0)
			return &file->meta[i];
	return NULL;
}

const char *
compose_meta_get(const ComposeFile *file, const char *key)
{
	const MetaEntry *m = compose_find_meta(file, key);

	return m ? m->value : NULL;
}

const char *
compose_env_effective(const ComposeService *svc, const char *name)
{
	const EnvItem *e = compose_find_env(svc, name);

	if (e != NULL)
		return e->resolved;
	for (size_t i = svc->env_file_count; i-- > 0;)
	{
		const Dotenv *d = &svc->env_file_vars[i];

		for (size_t j = d->count; j-- > 0;)
			if (strcmp(d->items[j].key, name) == 0)
				return d->items[j].value;
	}
	return NULL;
}
