/*
 * fuzz_compose.c — the compose YAML reader (src/compose/) with its
 * metadata header comments and byte spans. Byte 0 picks the
 * interpolation dialect; the rest is the file. Accepted or refused, no
 * crash; refused, one reason line in error; accepted, every span lies in
 * the file in order, and each header entry's value bytes are its value.
 */
#include "fuzz.h"

#include <string.h>

#include "pgfold/compose.h"

static const char *
lookup(void *ctx, const char *name)
{
	(void) ctx;
	if (strcmp(name, "DB_PASSWORD") == 0)
		return "pw";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	return NULL;
}

static void
check_span(const ComposeFile *f, Span s, const char *what, const char *svc)
{
	FUZZ_CHECK(s.start <= s.end && s.end <= f->len, "%s of %s: [%zu, %zu) in %zu bytes", what,
			   svc ? svc : "-", s.start, s.end, f->len);
}

static void
check_service(const ComposeFile *f, const ComposeService *s)
{
	check_span(f, s->key_span, "key", s->key);
	check_span(f, s->block, "block", s->key);
	check_span(f, s->lead, "lead", s->key);
	FUZZ_CHECK(s->lead.end <= s->block.start || s->lead.start == s->lead.end,
			   "lead of %s after its block", s->key);
	check_span(f, s->env_block, "environment", s->key);
	check_span(f, s->depends_block, "depends_on", s->key);
	check_span(f, s->networks_block, "networks", s->key);
	for (size_t i = 0; i < s->env_count; i++)
	{
		const EnvItem *e = &s->env[i];

		FUZZ_CHECK(e->name != NULL, "env item %zu of %s has no name", i, s->key);
		check_span(f, e->item, "env item", s->key);
		check_span(f, e->scalar, "env scalar", s->key);
		check_span(f, e->value, "env value", s->key);
		check_span(f, e->name_span, "env name", s->key);
		check_span(f, e->cut, "env cut", s->key);
		FUZZ_CHECK(e->has_value || e->raw == NULL, "%s has a raw value but no value", e->name);
	}
	for (size_t i = 0; i < s->depends_count; i++)
	{
		check_span(f, s->depends[i].item, "depends item", s->key);
		check_span(f, s->depends[i].name_span, "depends name", s->key);
		check_span(f, s->depends[i].cut, "depends cut", s->key);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();
	if (size < 1)
		return 0;

	ComposeOptions opts = { .dialect = data[0] % 2 ? INTERP_COMPOSE_V1 : INTERP_COMPOSE_V2,
							.quiet = true,
							.project_dir = "/nonexistent-pgfold-fuzz" };
	ComposeFile f;

	memset(&f, 0, sizeof(f));
	if (!compose_parse_opts("/nonexistent-pgfold-fuzz/fuzz.yml", (const char *) data + 1,
							size - 1, lookup, NULL, &opts, &f))
	{
		FUZZ_CHECK(f.error[0] != '\0', "refused without a reason");
		FUZZ_CHECK(memchr(f.error, '\n', strnlen(f.error, sizeof(f.error))) == NULL,
				   "a reason of several lines: %s", f.error);
		compose_free(&f);
		return 0;
	}
	FUZZ_CHECK(f.len == size - 1, "len %zu of %zu", f.len, size - 1);
	check_span(&f, f.meta_block, "header", NULL);
	for (size_t i = 0; i < f.meta_count; i++)
	{
		const MetaEntry *m = &f.meta[i];

		check_span(&f, m->line, "header line", m->key);
		check_span(&f, m->value_span, "header value", m->key);
		FUZZ_CHECK(m->value_span.start >= m->line.start && m->value_span.end <= m->line.end,
				   "header value of %s outside its line", m->key);
		FUZZ_CHECK(m->line.start >= f.meta_block.start && m->line.end <= f.meta_block.end,
				   "header line of %s outside the header", m->key);
		FUZZ_CHECK(compose_find_meta(&f, m->key) != NULL, "header %s not found", m->key);
		FUZZ_CHECK(strlen(m->value) == m->value_span.end - m->value_span.start &&
				   memcmp(m->value, f.bytes + m->value_span.start, strlen(m->value)) == 0,
				   "header value of %s is not its bytes", m->key);
	}
	check_span(&f, f.services_block, "services", NULL);
	check_span(&f, f.networks_block, "networks", NULL);
	for (size_t i = 0; i < f.service_count; i++)
	{
		check_service(&f, &f.services[i]);
		FUZZ_CHECK(compose_find_service(&f, f.services[i].key) != NULL, "service %s not found",
				   f.services[i].key);
	}
	compose_free(&f);
	return 0;
}
