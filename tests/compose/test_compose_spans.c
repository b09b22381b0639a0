/*
 * test_compose_spans.c — span invariants on every fixture, and the edits
 * the rewriter will make: removing a service block, removing an env or
 * depends_on entry, replacing a value. Each edit is re-parsed (libyaml via
 * compose_parse) and must leave everything else intact.
 */
#include "compose/compose_fixture.h"

static void
quiet(void)
{
	log_set_level(LOG_FATAL);
}

TestSuite(compose_spans, .init = quiet);

static bool
at_line_start(const ComposeFile *f, size_t pos)
{
	return pos == 0 || f->bytes[pos - 1] == '\n' || f->bytes[pos - 1] == '\r' ||
		(pos == 3 && memcmp(f->bytes, "\xEF\xBB\xBF", 3) == 0);
}

static bool
at_line_end(const ComposeFile *f, size_t pos)
{
	return pos == f->len || (pos > 0 && f->bytes[pos - 1] == '\n') ||
		(pos > 0 && f->bytes[pos - 1] == '\r' && f->bytes[pos] != '\n');
}

static bool
inside(Span outer, Span inner)
{
	return outer.start <= inner.start && inner.end <= outer.end && inner.start <= inner.end;
}

static void
check_lines(const ComposeFile *f, Span s, const char *what)
{
	cr_assert(s.start <= s.end && s.end <= f->len, "%s: bad span", what);
	cr_assert(at_line_start(f, s.start), "%s [%zu,%zu) does not start a line", what, s.start, s.end);
	cr_assert(s.start == s.end || at_line_end(f, s.end), "%s [%zu,%zu) does not end a line", what, s.start, s.end);
}

static bool
plain_simple(const EnvItem *e)
{
	return e->has_value && (e->style == YSTYLE_PLAIN || e->style == YSTYLE_SINGLE ||
							e->style == YSTYLE_DOUBLE) &&
		strpbrk(e->raw, "\\'\n") == NULL;
}

static void
check_env(const ComposeFile *f, const ComposeService *s)
{
	for (size_t i = 0; i < s->env_count; i++)
	{
		const EnvItem *e = &s->env[i];

		if (!e->flow)
			check_lines(f, e->item, e->name);
		cr_assert(inside(s->env_block, e->item), "%s outside env_block", e->name);
		cr_assert(inside(e->item, e->scalar) || e->scalar.start == e->scalar.end, "%s", e->name);
		cr_assert(inside(e->item, e->name_span), "%s", e->name);
		cr_assert(inside(e->item, e->value), "%s", e->name);
		cr_assert(inside(s->block, e->cut), "%s", e->name);
		SPAN_EXPECT(f->bytes, f->len, e->name_span, e->name);
		if (plain_simple(e))
			SPAN_EXPECT(f->bytes, f->len, e->value, e->raw);
		if (i > 0)
			cr_assert_geq(e->item.start, s->env[i - 1].item.end, "items overlap");
	}
	if (s->env_form != FORM_ABSENT && !s->env_flow)
		check_lines(f, s->env_block, "env_block");
}

static void
check_depends(const ComposeFile *f, const ComposeService *s)
{
	for (size_t i = 0; i < s->depends_count; i++)
	{
		const DependsItem *d = &s->depends[i];

		if (!d->flow)
			check_lines(f, d->item, d->name);
		SPAN_EXPECT(f->bytes, f->len, d->name_span, d->name);
		cr_assert(inside(s->depends_block, d->item));
		cr_assert(inside(d->item, d->name_span));
	}
	if (s->depends_form != FORM_ABSENT)
		check_lines(f, s->depends_block, "depends_block");
}

Test(compose_spans, invariants_on_every_fixture)
{
	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		ComposeFile f = load_fixture(fixture_name(n));

		check_lines(&f, f.meta_block, "meta_block");
		for (size_t i = 0; i < f.meta_count; i++)
		{
			check_lines(&f, f.meta[i].line, "meta line");
			SPAN_EXPECT(f.bytes, f.len, f.meta[i].value_span, f.meta[i].value);
			cr_assert(inside(f.meta_block, f.meta[i].line));
		}
		check_lines(&f, f.services_block, "services_block");
		for (size_t i = 0; i < f.service_count; i++)
		{
			const ComposeService *s = &f.services[i];
			Span key_inner = s->key_span;

			if (f.bytes[key_inner.start] == '"' || f.bytes[key_inner.start] == '\'')
				key_inner = (Span) { key_inner.start + 1, key_inner.end - 1 };
			SPAN_EXPECT(f.bytes, f.len, key_inner, s->key);
			cr_assert(inside(s->block, s->key_span));
			cr_assert(inside(f.services_block, s->block), "%s: %s", fixture_name(n), s->key);
			cr_assert_eq(s->lead.end, s->block.start);
			if (!s->flow)
			{
				check_lines(&f, s->block, s->key);
				check_lines(&f, s->lead, "lead");
			}
			if (i > 0)
				cr_assert_geq(s->lead.start, f.services[i - 1].block.end, "%s overlaps", s->key);
			check_env(&f, s);
			check_depends(&f, s);
		}
		compose_free(&f);
	}
}

/* Reparse after an edit; the file must stay valid YAML and compose-shaped. */
static ComposeFile
reparse(const char *name, const char *text, size_t len)
{
	ComposeFile g;

	cr_assert(parse_text(name, text, len, &g), "edited %s no longer parses: %s\n---\n%s",
			  name, g.error, text);
	return g;
}

Test(compose_spans, removing_a_service_keeps_the_others)
{
	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		ComposeFile f = load_fixture(fixture_name(n));

		if (f.service_count < 2)
		{
			compose_free(&f);
			continue;
		}
		for (size_t i = 0; i < f.service_count; i++)
		{
			const ComposeService *s = &f.services[i];
			size_t len;
			char *text = splice_bytes(&f, (Span) { s->lead.start, s->block.end }, "", &len);
			ComposeFile g = reparse(fixture_name(n), text, len);

			cr_assert_eq(g.service_count, f.service_count - 1);
			cr_assert_null(compose_find_service(&g, s->key));
			for (size_t j = 0; j < f.service_count; j++)
			{
				const ComposeService *o = &f.services[j];
				const ComposeService *p;

				if (j == i)
					continue;
				p = need_service(&g, o->key);
				cr_assert_eq(p->env_count, o->env_count, "%s lost env", o->key);
				cr_assert_eq(p->depends_count, o->depends_count);
				cr_assert_eq(p->volume_count, o->volume_count);
				cr_assert_eq(p->block.end - p->lead.start, o->block.end - o->lead.start,
							 "%s's bytes changed", o->key);
				cr_assert_eq(memcmp(g.bytes + p->lead.start, f.bytes + o->lead.start,
									o->block.end - o->lead.start), 0);
			}
			cr_assert_eq(g.meta_count, f.meta_count);
			compose_free(&g);
			free(text);
		}
		compose_free(&f);
	}
}

Test(compose_spans, removing_env_and_depends_entries)
{
	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		ComposeFile f = load_fixture(fixture_name(n));

		for (size_t i = 0; i < f.service_count; i++)
		{
			const ComposeService *s = &f.services[i];

			for (size_t k = 0; k < s->env_count; k++)
			{
				/* removing the only block entry leaves `environment:` null */
				if (s->env_count == 1 && !s->env_flow)
					continue;

				size_t len;
				char *text = splice_bytes(&f, s->env[k].cut, "", &len);
				ComposeFile g = reparse(fixture_name(n), text, len);
				const ComposeService *p = need_service(&g, s->key);

				cr_assert_eq(p->env_count, s->env_count - 1, "%s: %s", s->key, s->env[k].name);
				for (size_t j = 0; j < s->env_count; j++)
					if (j != k)
						cr_assert_not_null(compose_find_env(p, s->env[j].name));
				cr_assert_eq(g.service_count, f.service_count);
				compose_free(&g);
				free(text);
			}
			for (size_t k = 0; k < s->depends_count; k++)
			{
				if (s->depends_count == 1 && !s->depends[0].flow)
					continue;

				size_t len;
				char *text = splice_bytes(&f, s->depends[k].cut, "", &len);
				ComposeFile g = reparse(fixture_name(n), text, len);
				const ComposeService *p = need_service(&g, s->key);

				cr_assert_eq(p->depends_count, s->depends_count - 1);
				for (size_t j = 0; j < s->depends_count; j++)
					if (j != k)
					{
						bool found = false;

						for (size_t m = 0; m < p->depends_count; m++)
							found |= strcmp(p->depends[m].name, s->depends[j].name) == 0;
						cr_assert(found, "%s lost %s", s->key, s->depends[j].name);
					}
				compose_free(&g);
				free(text);
			}
			/* the whole depends_on block can always go */
			if (s->depends_form != FORM_ABSENT)
			{
				size_t len;
				char *text = splice_bytes(&f, s->depends_block, "", &len);
				ComposeFile g = reparse(fixture_name(n), text, len);

				cr_assert_eq(need_service(&g, s->key)->depends_form, FORM_ABSENT);
				cr_assert_eq(need_service(&g, s->key)->env_count, s->env_count);
				compose_free(&g);
				free(text);
			}
		}
		compose_free(&f);
	}
}

/*
 * What the rewriter writes into a value span, by the span's shape. No
 * braces: inside [..] / {..} a plain scalar may not hold ,[]{} (the
 * rewriter must quote such values there).
 */
static const char *
replacement_for(const ComposeFile *f, const EnvItem *e)
{
	if (e->has_value || e->value.start != e->value.end)
		return "NEW$HOST_DOMAIN";
	if (f->bytes[e->value.start - 1] == ':')
		return " NEW$HOST_DOMAIN";        /* `KEY:` */
	return "=NEW$HOST_DOMAIN";            /* `- KEY` */
}

Test(compose_spans, replacing_values)
{
	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		ComposeFile f = load_fixture(fixture_name(n));

		for (size_t i = 0; i < f.service_count; i++)
		{
			const ComposeService *s = &f.services[i];

			for (size_t k = 0; k < s->env_count; k++)
			{
				const EnvItem *e = &s->env[k];

				if (e->style == YSTYLE_LITERAL || e->style == YSTYLE_FOLDED)
					continue;

				size_t len;
				char *text = splice_bytes(&f, e->value, replacement_for(&f, e), &len);
				ComposeFile g = reparse(fixture_name(n), text, len);
				const EnvItem *p = need_env(need_service(&g, s->key), e->name);

				cr_assert(p->has_value, "%s: %s", s->key, e->name);
				cr_assert_str_eq(p->raw, "NEW$HOST_DOMAIN", "%s: %s", s->key, e->name);
				cr_assert_str_eq(p->resolved, "NEWexample.lan");
				cr_assert_eq(need_service(&g, s->key)->env_count, s->env_count);
				compose_free(&g);
				free(text);
			}
		}
		compose_free(&f);
	}
}

Test(compose_spans, header_edits)
{
	for (size_t n = 0; n < N_FIXTURES; n++)
	{
		ComposeFile f = load_fixture(fixture_name(n));
		size_t len;
		char *text;
		ComposeFile g;

		/* insert a line at the end of the header (or where one would go) */
		text = splice_bytes(&f, (Span) { f.meta_block.end, f.meta_block.end }, "# database: postgres\n", &len);
		g = reparse(fixture_name(n), text, len);
		cr_assert_eq(g.service_count, f.service_count);
		if (f.meta_block.start == f.meta_block.end || f.bytes[f.meta_block.end] != '#')
			cr_assert_str_eq(compose_meta_get(&g, "database"), "postgres", "%s", fixture_name(n));
		compose_free(&g);
		free(text);

		/* replace each value */
		for (size_t i = 0; i < f.meta_count; i++)
		{
			text = splice_bytes(&f, f.meta[i].value_span, "changed", &len);
			g = reparse(fixture_name(n), text, len);
			cr_assert_str_eq(g.meta[i].value, "changed");
			cr_assert_str_eq(g.meta[i].key, f.meta[i].key);
			compose_free(&g);
			free(text);
		}
		compose_free(&f);
	}
}

Test(compose_spans, multibyte_offsets_are_bytes)
{
	/* Characters before a span must not shift it (libyaml counts chars). */
	static const char text[] =
		"# t\xc3\xa9st: \xf0\x9f\x90\x98\n"
		"services:\n"
		"  \xc3\xa9t\xc3\xa9:   # \xe2\x9c\x93\n"
		"    image: \"\xc3\xa9:1\"\n"
		"    environment:\n"
		"      - P\xc3\x84SS=\xf0\x9f\x94\x91${HOST_DOMAIN}\n"
		"      K\xc3\xa9: v\n";
	ComposeFile f;

	/* mixing forms is invalid YAML: use two services instead */
	cr_assert_not(parse_text("u.yml", text, sizeof(text) - 1, &f));

	static const char ok[] =
		"# t\xc3\xa9st: \xf0\x9f\x90\x98 (not a key: keys are ASCII)\n"
		"# test: \xf0\x9f\x90\x98\n"
		"services:\n"
		"  \xc3\xa9t\xc3\xa9:   # \xe2\x9c\x93\n"
		"    image: \"\xc3\xa9:1\"\n"
		"    environment:\n"
		"      - P\xc3\x84SS=\xf0\x9f\x94\x91${HOST_DOMAIN}\n"
		"  b:\n"
		"    environment: {K\xc3\xa9: \"v\xc3\xa9\"}\n";

	cr_assert(parse_text("u.yml", ok, sizeof(ok) - 1, &f), "%s", f.error);
	cr_assert_null(compose_meta_get(&f, "t\xc3\xa9st"));
	cr_assert_str_eq(compose_meta_get(&f, "test"), "\xf0\x9f\x90\x98");
	SPAN_EXPECT(f.bytes, f.len, f.meta[0].value_span, "\xf0\x9f\x90\x98");
	SPAN_EXPECT(f.bytes, f.len, f.services[0].key_span, "\xc3\xa9t\xc3\xa9");
	cr_assert_str_eq(f.services[0].image, "\xc3\xa9:1");

	const EnvItem *e = need_env(&f.services[0], "P\xc3\x84SS");

	SPAN_EXPECT(f.bytes, f.len, e->value, "\xf0\x9f\x94\x91${HOST_DOMAIN}");
	cr_assert_str_eq(e->resolved, "\xf0\x9f\x94\x91" "example.lan");
	SPAN_EXPECT(f.bytes, f.len, need_env(&f.services[1], "K\xc3\xa9")->value, "v\xc3\xa9");
	SPAN_EXPECT(f.bytes, f.len, f.services[1].key_span, "b");
	compose_free(&f);
}
