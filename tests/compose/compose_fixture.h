/*
 * compose_fixture.h — helpers for the compose tests (header-only so that
 * each test file stands alone in the single Criterion binary).
 *
 * Fixtures live in tests/fixtures/compose; tests run from the repository
 * root (make unit), or set PGFOLD_FIXTURES to that directory.
 */
#ifndef PGFOLD_TEST_COMPOSE_FIXTURE_H
#define PGFOLD_TEST_COMPOSE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/compose.h"
#include "pgfold/log.h"
#include "pgfold/str.h"
#include "span.h"

static inline const char *
fixture_dir(void)
{
	const char *d = getenv("PGFOLD_FIXTURES");

	return d ? d : "tests/fixtures/compose";
}

static inline void
fixture_path(char *buf, size_t size, const char *name)
{
	cr_assert(str_format(buf, size, "%s/%s", fixture_dir(), name));
}

/* The stack .env the fixtures are resolved against. */
static inline const char *
fixture_lookup(void *ctx, const char *name)
{
	static const char *const table[][2] = {
		{ "HOST_DOMAIN", "example.lan" },
		{ "DOCMOST_POSTGRES_PASSWORD", "docpass" },
		{ "DOCMOST_APP_SECRET", "appsecret" },
		{ "PG_PASS_NETBOX", "nbpass" },
		{ "NOCODB_DB_PASS", "ncpass" },
		{ "SUPERUSER_EMAIL", "admin@example.lan" },
		{ "APP_DB_PASS", "apppass" },
		{ "DOCMOST_DB_PASS", "dbpass" },
		{ "EMPTY_VAR", "" },
	};

	(void) ctx;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i][0], name) == 0)
			return table[i][1];
	return NULL;
}

static inline char *
read_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	fixture_path(path, sizeof(path), name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	cr_assert_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static inline ComposeFile
load_fixture(const char *name)
{
	char path[512];
	ComposeFile f;

	fixture_path(path, sizeof(path), name);
	cr_assert(compose_load(path, fixture_lookup, NULL, &f), "%s: %s", name, f.error);
	return f;
}

/* Parse bytes that are not on disk, as if they were <fixtures>/<name>. */
static inline bool
parse_text(const char *name, const char *text, size_t len, ComposeFile *f)
{
	char path[512];
	ComposeOptions opts = { .dialect = INTERP_COMPOSE_V2, .quiet = true };

	fixture_path(path, sizeof(path), name);
	return compose_parse_opts(path, text, len, fixture_lookup, NULL, &opts, f);
}

static inline const ComposeService *
need_service(const ComposeFile *f, const char *key)
{
	const ComposeService *s = compose_find_service(f, key);

	cr_assert_not_null(s, "no service %s", key);
	return s;
}

static inline const EnvItem *
need_env(const ComposeService *s, const char *name)
{
	const EnvItem *e = compose_find_env(s, name);

	cr_assert_not_null(e, "service %s has no %s", s->key, name);
	return e;
}

/* bytes with [s.start, s.end) replaced by repl; caller frees. */
static inline char *
splice_bytes(const ComposeFile *f, Span s, const char *repl, size_t *outlen)
{
	size_t rl = strlen(repl);
	char *out = malloc(f->len - (s.end - s.start) + rl + 1);

	memcpy(out, f->bytes, s.start);
	memcpy(out + s.start, repl, rl);
	memcpy(out + s.start + rl, f->bytes + s.end, f->len - s.end);
	*outlen = f->len - (s.end - s.start) + rl;
	out[*outlen] = '\0';
	return out;
}

#define N_FIXTURES 10

/* Every fixture, by index (a function: an unused static array would warn). */
static inline const char *
fixture_name(size_t i)
{
	static const char *const names[N_FIXTURES] = {
		"docmost.yml", "joplin.yml", "netbox.yml", "nocodb.yml", "odoo-crlf.yml",
		"commented.yml", "quoted.yml", "flow.yml", "anchors.yml", "migrated.yml",
	};

	return i < N_FIXTURES ? names[i] : NULL;
}

#endif
