/*
 * archive.c — what is inside a custom-format dump, checked without a
 * database: its header (who wrote it, of what), and every byte read back by
 * pg_restore, counting the rows of every table on the way.
 *
 * pg_restore without -d writes the archive as an SQL script; each table's
 * data is a "COPY schema.table (...) FROM stdin;" block after a "TABLE
 * DATA" header comment, one line per row (COPY text format escapes
 * newlines, and a backslash is doubled, so no row can be the "\." that ends
 * the block). Counting those lines gives each table's rows from the archive
 * alone, to compare with a restored database.
 */
#include "pgfold/instance.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/pgcmd.h"
#include "pgfold/proc.h"
#include "pgfold/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_READ_MAX  4096
#define LINE_MAX_BYTES   (1024 * 1024)   /* a COPY line with a very wide column list */
#define VERSION_OUT_MAX  4096

/* ---- header ---------------------------------------------------------------- */

typedef struct Reader
{
	const unsigned char *p;
	size_t               len;
	size_t               pos;
	int                  int_size;
} Reader;

static bool
read_byte(Reader *r, int *out)
{
	if (r->pos >= r->len)
		return false;
	*out = r->p[r->pos++];
	return true;
}

/* pg_dump's WriteInt: a sign byte, then int_size bytes, least significant first. */
static bool
read_int(Reader *r, long long *out)
{
	int sign = 0, b = 0;
	unsigned long long v = 0;

	if (!read_byte(r, &sign))
		return false;
	for (int i = 0; i < r->int_size; i++)
	{
		if (!read_byte(r, &b))
			return false;
		v |= (unsigned long long) b << (8 * i);
	}
	*out = sign ? -(long long) v : (long long) v;
	return true;
}

/* WriteStr: a length (-1 = NULL), then the bytes. */
static bool
read_str(Reader *r, char *out, size_t size)
{
	long long n = 0;

	out[0] = '\0';
	if (!read_int(r, &n))
		return false;
	if (n < 0)
		return true;
	if ((size_t) n > r->len - r->pos)
		return false;
	size_t keep = (size_t) n < size - 1 ? (size_t) n : size - 1;

	memcpy(out, r->p + r->pos, keep);
	out[keep] = '\0';
	for (size_t i = 0; i < keep; i++)
		if ((unsigned char) out[i] < 0x20)
			out[i] = '?';
	r->pos += (size_t) n;
	return true;
}

bool
archive_header_parse(const unsigned char *bytes, size_t len, ArchiveHeader *out,
					 const char **why)
{
	Reader r = { bytes, len, 5, 4 };
	int vmaj = 0, vmin = 0, vrev = 0, isize = 0, osize = 0, format = 0, comp = 0;
	long long t[7] = { 0 }, lcomp = 0;

	memset(out, 0, sizeof(*out));
	*why = "not a pg_dump custom-format archive (no PGDMP signature)";
	if (len < 5 || memcmp(bytes, "PGDMP", 5) != 0)
		return false;
	*why = "the archive header is cut short";
	if (!read_byte(&r, &vmaj) || !read_byte(&r, &vmin) || !read_byte(&r, &vrev)
		|| !read_byte(&r, &isize) || !read_byte(&r, &osize) || !read_byte(&r, &format))
		return false;
	if (vmaj != 1 || vmin < 10)
	{
		*why = "unsupported archive version (older than pg_dump 9.0, or not an archive)";
		return false;
	}
	if (isize < 1 || isize > 8 || osize < 1 || osize > 16)
	{
		*why = "the archive header is corrupt (integer sizes)";
		return false;
	}
	if (format != 1)
	{
		*why = "not a custom-format archive (pg_dump -Fc): tar or directory format";
		return false;
	}
	r.int_size = isize;
	/* 1.15 (pg_dump 16) made the compression field one byte. */
	if (vmin >= 15 ? !read_byte(&r, &comp) : !read_int(&r, &lcomp))
		return false;
	for (int i = 0; i < 7; i++)
		if (!read_int(&r, &t[i]))
			return false;
	if (!read_str(&r, out->database, sizeof(out->database))
		|| !read_str(&r, out->server_version, sizeof(out->server_version))
		|| !read_str(&r, out->dump_version, sizeof(out->dump_version)))
		return false;
	out->format_major = vmaj;
	out->format_minor = vmin;
	(void) vrev;
	out->dump_major = (int) strtol(out->dump_version, NULL, 10);
	if (out->dump_major <= 0)
	{
		*why = "the archive header names no pg_dump version";
		return false;
	}
	str_format(out->created, sizeof(out->created), "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
			   t[5] + 1900, t[4] + 1, t[3], t[2], t[1], t[0]);
	return true;
}

bool
archive_header_read(const char *path, ArchiveHeader *out)
{
	unsigned char buf[HEADER_READ_MAX];
	size_t len = 0;
	const char *why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
	{
		log_error("cannot open dump \"%s\": %s", path, strerror(errno));
		return false;
	}
	while (len < sizeof(buf))
	{
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t) n;
	}
	close(fd);
	if (!archive_header_parse(buf, len, out, &why))
	{
		log_error("\"%s\": %s", path, why);
		return false;
	}
	return true;
}

/* ---- row counts from the script ------------------------------------------- */

void
archive_counts_init(ArchiveCounts *c)
{
	memset(c, 0, sizeof(*c));
}

void
archive_counts_free(ArchiveCounts *c)
{
	for (size_t i = 0; i < c->count; i++)
	{
		free(c->tables[i].schema);
		free(c->tables[i].name);
	}
	free(c->tables);
	sb_free(&c->line);
	memset(c, 0, sizeof(*c));
}

/* One identifier as pg_dump's fmtId writes it: [a-z0-9_]+ bare, anything
 * else in double quotes with "" for a quote. */
static const char *
parse_ident(const char *p, StrBuf *out)
{
	if (*p == '"')
	{
		for (p++; *p; p++)
		{
			if (*p == '"' && p[1] == '"')
				sb_appendc(out, *p++);
			else if (*p == '"')
				return out->len > 0 ? p + 1 : NULL;
			else
				sb_appendc(out, *p);
		}
		return NULL;
	}
	while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'
		   || (unsigned char) *p >= 0x80)
		sb_appendc(out, *p++);
	return out->len > 0 ? p : NULL;
}

/* "COPY schema.table (cols) FROM stdin;" → a new table entry. */
static bool
start_copy(ArchiveCounts *c, const char *line)
{
	StrBuf schema = STRBUF_INIT, name = STRBUF_INIT;
	const char *p = parse_ident(line + 5, &schema);

	if (p == NULL || *p != '.' || (p = parse_ident(p + 1, &name)) == NULL
		|| (*p != ' ' && *p != '\0'))
	{
		sb_free(&schema);
		sb_free(&name);
		log_error("pg_restore printed a COPY line pgfold cannot read: %.200s", line);
		return false;
	}
	c->tables = xrealloc(c->tables, c->count + 1, sizeof(ArchiveTable));
	c->tables[c->count++] = (ArchiveTable) { sb_steal(&schema), sb_steal(&name), 0 };
	c->in_copy = true;
	c->head_len = 0;
	return true;
}

static bool
quotes_open(const char *line)
{
	size_t n = 0;

	for (; *line; line++)
		n += *line == '"';
	return n % 2 == 1;
}

/* A whole line outside COPY data. */
static bool
script_line(ArchiveCounts *c)
{
	const char *line = sb_str(&c->line);
	size_t len = c->line.len;

	if (c->line_skipped)
	{
		c->expect_copy = c->joining = false;
		return true;
	}
	if (str_has_prefix(line, "-- Data for Name: ") && strstr(line, "; Type: TABLE DATA;") != NULL)
	{
		c->expect_copy = true;
		return true;
	}
	if (c->expect_copy && str_has_prefix(line, "COPY ") && quotes_open(line))
	{
		/* fmtId leaves a newline in a quoted name as it is: read on */
		sb_appendc(&c->line, '\n');
		c->joining = true;
		return true;
	}
	c->joining = false;
	if (c->expect_copy && str_has_prefix(line, "COPY ") && len > 12
		&& strcmp(line + len - 12, " FROM stdin;") == 0)
	{
		c->expect_copy = false;
		return start_copy(c, line);
	}
	if (len > 0 && !str_has_prefix(line, "--"))
		c->expect_copy = false;
	return true;
}

/* End of a data line: "\." closes the block, anything else is a row. */
static void
data_line_end(ArchiveCounts *c)
{
	if (c->head_len == 2 && c->head[0] == '\\' && c->head[1] == '.')
		c->in_copy = false;
	else
	{
		c->tables[c->count - 1].rows++;
		c->rows++;
	}
	c->head_len = 0;
}

bool
archive_counts_feed(ArchiveCounts *c, const char *buf, size_t len)
{
	while (len > 0 && !c->failed)
	{
		const char *nl = memchr(buf, '\n', len);
		size_t piece = nl ? (size_t) (nl - buf) : len;

		if (c->in_copy)
		{
			for (size_t i = 0; i < piece && c->head_len < sizeof(c->head); i++)
				c->head[c->head_len++] = buf[i];
			if (nl)
				data_line_end(c);
		}
		else
		{
			if (!c->line_skipped && c->line.len + piece > LINE_MAX_BYTES)
			{
				c->line_skipped = true;
				sb_reset(&c->line);
			}
			if (!c->line_skipped)
				sb_append(&c->line, buf, piece);
			if (nl)
			{
				if (!script_line(c))
					c->failed = true;
				if (!c->joining)
					sb_reset(&c->line);
				c->line_skipped = false;
			}
		}
		buf += piece + (nl ? 1 : 0);
		len -= piece + (nl ? 1 : 0);
	}
	return !c->failed;
}

bool
archive_counts_finish(ArchiveCounts *c)
{
	if (c->failed)
		return false;
	if (c->in_copy)
	{
		StrBuf s = STRBUF_INIT, t = STRBUF_INIT;

		log_error("the archive's data for %s.%s ends without the end-of-data marker: the "
				  "archive is truncated", pg_display(&s, c->tables[c->count - 1].schema),
				  pg_display(&t, c->tables[c->count - 1].name));
		sb_free(&s);
		sb_free(&t);
		return false;
	}
	return true;
}

static bool
counts_sink(void *ctx, const char *buf, size_t len)
{
	return archive_counts_feed(ctx, buf, len);
}

/* ---- which pg_restore ------------------------------------------------------ */

static int
container_restore_major(App *app, const char *container)
{
	const char *argv[] = { "pg_restore", "--version", NULL };
	DockerExecSpec spec = { .cmd = argv };
	StrBuf out = STRBUF_INIT;
	int rc = -1, major = -1;

	if (docker_exec_capture(app->docker, container, &spec, NULL, 0, VERSION_OUT_MAX, &out,
							NULL, &rc) && rc == 0)
		major = pgcmd_version_major(sb_str(&out));
	sb_free(&out);
	return major;
}

/* Pick where pg_restore runs; container[0] == '\0' means locally. */
static bool
choose_tool(App *app, int need, char *container, size_t size, char *label, size_t lsize)
{
	int major = pgcmd_local_restore_major();

	container[0] = '\0';
	if (major >= need)
	{
		str_format(label, lsize, "pg_restore %d (local)", major);
		return true;
	}
	if (!app_engine(app))
		return false;

	const char *shared = app->cfg.shared_container;

	if (shared[0] && (major = container_restore_major(app, shared)) >= need)
	{
		str_copy(container, size, shared);
		str_format(label, lsize, "pg_restore %d in %s", major, shared);
		return true;
	}
	for (size_t i = 0; i < app->stack.count; i++)
	{
		const ContainerInfo *ci = app_db_container(app, i);

		if (ci == NULL || strcmp(ci->state, "running") != 0)
			continue;
		if ((major = container_restore_major(app, ci->name)) >= need)
		{
			str_copy(container, size, ci->name);
			str_format(label, lsize, "pg_restore %d in %s", major, ci->name);
			return true;
		}
	}
	log_error("no pg_restore of version %d or newer: not on this host, not in %s%s nor in a "
			  "running database container of the stack; install postgresql-client-%d or run "
			  "the check where one is", need, shared[0] ? "the shared container " : "",
			  shared, need);
	return false;
}

/* ---- scan ------------------------------------------------------------------ */

bool
archive_scan(App *app, const char *path, ArchiveScan *out)
{
	char container[256], run_id[32];
	PgCommand cmd;
	StreamResult res;
	bool ok;

	memset(out, 0, sizeof(*out));
	archive_counts_init(&out->counts);
	if (!archive_header_read(path, &out->header)
		|| !choose_tool(app, out->header.dump_major, container, sizeof(container), out->tool,
						sizeof(out->tool)))
		return false;
	if (!pgcmd_archive_script(&cmd, container[0] ? container : NULL))
		return false;
	str_format(run_id, sizeof(run_id), "scan%ld", (long) getpid());

	StreamSpec spec = {
		.client = app->docker,
		.input_file = path,
		.consumer = &cmd.cmd,
		.run_id = run_id,
		.consumer_output = counts_sink,
		.consumer_output_ctx = &out->counts,
	};

	log_info("reading %s with %s", path, out->tool);
	ok = stream_run(&spec, &res) && archive_counts_finish(&out->counts);
	if (!ok)
		log_error("\"%s\" cannot be read back completely; do not rely on it", path);
	stream_result_free(&res);
	pgcmd_free(&cmd);
	return ok;
}

void
archive_scan_free(ArchiveScan *scan)
{
	archive_counts_free(&scan->counts);
}
