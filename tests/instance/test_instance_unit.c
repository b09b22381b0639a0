/*
 * test_instance_unit.c — the pure parts of the instance tools: archive
 * headers, row counting in pg_restore's script, ages, prune rules, names.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/instance.h"

/* ---- archive headers ------------------------------------------------------- */

typedef struct Bytes
{
	unsigned char b[512];
	size_t        n;
} Bytes;

static void
put(Bytes *x, int v)
{
	x->b[x->n++] = (unsigned char) v;
}

static void
put_int(Bytes *x, long v)
{
	put(x, v < 0);
	if (v < 0)
		v = -v;
	for (int i = 0; i < 4; i++)
		put(x, (int) ((v >> (8 * i)) & 0xff));
}

static void
put_str(Bytes *x, const char *s)
{
	put_int(x, (long) strlen(s));
	memcpy(x->b + x->n, s, strlen(s));
	x->n += strlen(s);
}

static void
header(Bytes *x, int vmin, int format, const char *dump_version)
{
	memset(x, 0, sizeof(*x));
	memcpy(x->b, "PGDMP", 5);
	x->n = 5;
	put(x, 1);
	put(x, vmin);
	put(x, 0);
	put(x, 4);      /* int size */
	put(x, 8);      /* offset size */
	put(x, format);
	if (vmin >= 15)
		put(x, 0);  /* compression algorithm byte */
	else
		put_int(x, -1);
	put_int(x, 5);       /* sec */
	put_int(x, 4);       /* min */
	put_int(x, 3);       /* hour */
	put_int(x, 21);      /* mday */
	put_int(x, 10);      /* mon (0-based) */
	put_int(x, 126);     /* year - 1900 */
	put_int(x, 0);
	put_str(x, "x\"; DROP DATABASE y; --");
	put_str(x, "15.4");
	put_str(x, dump_version);
}

/* 1.14 (pg_dump 12-15) writes the compression level as an int, 1.15+
 * (pg_dump 16+) as one byte: both must parse. */
Test(instance_unit, archive_header_versions)
{
	static const struct { int vmin; const char *version; int major; } cases[] = {
		{ 14, "15.4 (Debian 15.4-1)", 15 }, { 15, "16.1", 16 }, { 16, "17.2", 17 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		Bytes x;
		ArchiveHeader h;
		const char *why = NULL;

		header(&x, cases[i].vmin, 1, cases[i].version);
		cr_assert(archive_header_parse(x.b, x.n, &h, &why), "1.%d: %s", cases[i].vmin, why);
		cr_assert_eq(h.format_minor, cases[i].vmin);
		cr_assert_eq(h.dump_major, cases[i].major);
		cr_assert_str_eq(h.dump_version, cases[i].version);
		cr_assert_str_eq(h.database, "x\"; DROP DATABASE y; --");
		cr_assert_str_eq(h.server_version, "15.4");
		cr_assert_str_eq(h.created, "2026-11-21 03:04:05");
	}
}

Test(instance_unit, archive_header_refusals)
{
	Bytes x;
	ArchiveHeader h;
	const char *why = NULL;

	header(&x, 14, 1, "15.4");
	for (size_t n = 0; n < x.n; n++)
		cr_assert_not(archive_header_parse(x.b, n, &h, &why), "cut at %zu accepted", n);
	header(&x, 14, 3, "15.4");
	cr_assert_not(archive_header_parse(x.b, x.n, &h, &why));
	cr_assert(strstr(why, "tar or directory") != NULL, "%s", why);
	cr_assert_not(archive_header_parse((const unsigned char *) "PGDMQ", 5, &h, &why));
	cr_assert_not(archive_header_parse((const unsigned char *) "--\n-- PostgreSQL", 16, &h, &why));
	header(&x, 14, 1, "");
	cr_assert_not(archive_header_parse(x.b, x.n, &h, &why));
}

/* ---- rows from pg_restore's script -------------------------------------- */

static const char script[] =
	"--\n-- PostgreSQL database dump\n--\n\n"
	"CREATE FUNCTION public.f() RETURNS text\n    LANGUAGE sql\n    AS $$\n"
	"COPY public.fake (a) FROM stdin;\n"          /* inside a function body: not data */
	"$$;\n\n"
	"--\n-- Data for Name: __EFMigrationsHistory; Type: TABLE DATA; Schema: public; Owner: a\n--\n\n"
	"COPY public.\"__EFMigrationsHistory\" (id) FROM stdin;\nm1\nm2\nm3\n\\.\n\n\n"
	"--\n-- Data for Name: :x. y; Type: TABLE DATA; Schema: we-ird \"s\"; Owner: a\n--\n\n"
	"COPY \"we-ird \"\"s\"\"\".\":x. y\" (v) FROM stdin;\n\\\\.\n\\\\.\nCOPY x\n\\.\n\n\n"
	"--\n-- Data for Name: new line; Type: TABLE DATA; Schema: public; Owner: a\n--\n\n"
	"COPY public.\"new\nline\" (a) FROM stdin;\n1\n2\n\\.\n\n\n"
	"--\n-- Data for Name: empty_t; Type: TABLE DATA; Schema: public; Owner: a\n--\n\n"
	"COPY public.empty_t (a) FROM stdin;\n\\.\n\n\n"
	"--\n-- Name: big_h; Type: INDEX; Schema: public; Owner: a\n--\n\n"
	"CREATE INDEX big_h ON public.big USING btree (h);\n";

static void
check_counts(const ArchiveCounts *c)
{
	cr_assert_eq(c->count, 4);
	cr_assert_str_eq(c->tables[0].name, "__EFMigrationsHistory");
	cr_assert_eq(c->tables[0].rows, 3);
	cr_assert_str_eq(c->tables[1].schema, "we-ird \"s\"");
	cr_assert_str_eq(c->tables[1].name, ":x. y");
	cr_assert_eq(c->tables[1].rows, 3);
	cr_assert_str_eq(c->tables[2].name, "new\nline");
	cr_assert_eq(c->tables[2].rows, 2);
	cr_assert_str_eq(c->tables[3].name, "empty_t");
	cr_assert_eq(c->tables[3].rows, 0);
	cr_assert_eq(c->rows, 8);
}

Test(instance_unit, copy_counts_any_split)
{
	size_t len = strlen(script);

	for (size_t chunk = 1; chunk <= len; chunk += (chunk < 16 ? 1 : 37))
	{
		ArchiveCounts c;

		archive_counts_init(&c);
		for (size_t off = 0; off < len; off += chunk)
			cr_assert(archive_counts_feed(&c, script + off, off + chunk > len ? len - off : chunk));
		cr_assert(archive_counts_finish(&c), "chunk %zu", chunk);
		check_counts(&c);
		archive_counts_free(&c);
	}
}

Test(instance_unit, copy_counts_truncated_inside_data)
{
	ArchiveCounts c;
	const char *cut = strstr(script, "m2\n");

	archive_counts_init(&c);
	cr_assert(archive_counts_feed(&c, script, (size_t) (cut - script)));
	cr_assert_not(archive_counts_finish(&c));
	archive_counts_free(&c);
}

Test(instance_unit, copy_line_pgfold_cannot_read)
{
	ArchiveCounts c;
	const char bad[] = "-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: a\n"
		"COPY \"\" (a) FROM stdin;\n";

	archive_counts_init(&c);
	cr_assert_not(archive_counts_feed(&c, bad, strlen(bad)));
	archive_counts_free(&c);
}

/* ---- ages, names ------------------------------------------------------------- */

Test(instance_unit, ages)
{
	long long s = 0;

	cr_assert(backups_parse_age("30d", &s));
	cr_assert_eq(s, 30LL * 86400);
	cr_assert(backups_parse_age("2w", &s));
	cr_assert_eq(s, 14LL * 86400);
	cr_assert(backups_parse_age("12h", &s) && s == 12 * 3600);
	cr_assert(backups_parse_age("0s", &s) && s == 0);
	cr_assert_not(backups_parse_age("30", &s));
	cr_assert_not(backups_parse_age("d", &s));
	cr_assert_not(backups_parse_age("-1d", &s));
	cr_assert_not(backups_parse_age("1.5d", &s));
	cr_assert_not(backups_parse_age("1y", &s));
	cr_assert_not(backups_parse_age(NULL, &s));
}

Test(instance_unit, names)
{
	char tmp[64], old[64], tmp2[64], old2[64], path[4096];
	Config cfg;

	instance_temp_names("x\"; DROP DATABASE y; --", tmp, old);
	instance_temp_names("x\"; DROP DATABASE y; --", tmp2, old2);
	cr_assert_str_eq(tmp, tmp2);
	cr_assert(strncmp(tmp, "pgfold_restore_", 15) == 0 && strlen(tmp) == 27, "%s", tmp);
	cr_assert(strncmp(old, "pgfold_old_", 11) == 0, "%s", old);
	instance_temp_names("other", tmp2, old2);
	cr_assert_str_neq(tmp, tmp2);

	memset(&cfg, 0, sizeof(cfg));
	str_copy(cfg.backups_dir, sizeof(cfg.backups_dir), "/srv/stack/backups");
	cr_assert(instance_backup_default_path(&cfg, "../x\"; DROP/y --", 0, path, sizeof(path)));
	cr_assert_str_eq(path, "/srv/stack/backups/_._x___DROP_y_--_19700101T000000Z.dump");
	cr_assert(instance_db_is_system("template1") && !instance_db_is_system("postgres2"));
}

/* ---- prune rules ---------------------------------------------------------------- */

static BackupFile
file(const char *group, time_t when, bool referenced)
{
	BackupFile f;

	memset(&f, 0, sizeof(f));
	str_format(f.path, sizeof(f.path), "/b/%s_%ld.dump", group, (long) when);
	f.group = (char *) group;
	f.when = when;
	f.referenced = referenced;
	return f;
}

Test(instance_unit, prune_rules)
{
	const time_t day = 86400, now = 100 * day;
	BackupFile items[] = {
		file("docmost", 1 * day, true),     /* old, but the live migration's */
		file("docmost", 2 * day, false),    /* old: goes */
		file("joplin", 3 * day, false),     /* old, newest of joplin: stays */
		file("docmost", 60 * day, false),   /* old: goes, unless keep-last 3 */
		file("docmost", 95 * day, false),   /* young */
		file("docmost", 99 * day, false),   /* newest of docmost */
	};
	BackupList list = { items, 6 };
	const char *keep[6];

	for (size_t i = 0; i < 6; i++)
		items[i].newest = i == 2 || i == 5;
	backups_prune_select(&list, now, 30 * day, 0, keep);
	cr_assert_not_null(keep[0]);
	cr_assert_null(keep[1]);
	cr_assert_not_null(keep[2]);
	cr_assert_null(keep[3]);
	cr_assert_not_null(keep[4]);
	cr_assert_not_null(keep[5]);

	backups_prune_select(&list, now, 30 * day, 3, keep);
	cr_assert_null(keep[1]);
	cr_assert_not_null(keep[3], "third newest of docmost kept by --keep-last 3");

	/* keep-last alone: age does not matter */
	backups_prune_select(&list, now, -1, 1, keep);
	cr_assert_not_null(keep[0]);
	cr_assert_null(keep[1]);
	cr_assert_null(keep[3]);
	cr_assert_null(keep[4]);
	cr_assert_not_null(keep[5]);
}
