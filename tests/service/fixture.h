/*
 * fixture.h — hand-built ComposeFile models for the service tests, so the
 * classification logic is tested on exact inputs independently of the YAML
 * parser. Values and spans are located in the given bytes the way the
 * parser reports them: the span of a value excludes its quotes.
 */
#ifndef PGFOLD_TEST_SERVICE_FIXTURE_H
#define PGFOLD_TEST_SERVICE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/service.h"
#include "span.h"

#define FX_MAX_SERVICES 8
#define FX_MAX_ENV 16

typedef struct Fixture
{
	StackService svc;
	Config       cfg;
	ComposeService services[FX_MAX_SERVICES];
	EnvItem      env[FX_MAX_SERVICES][FX_MAX_ENV];
	MetaEntry    meta[4];
	Dotenv       env_files[FX_MAX_SERVICES];
	char        *env_file_names[FX_MAX_SERVICES];
	DotenvEntry  env_file_items[FX_MAX_SERVICES][4];
} Fixture;

static inline void
fx_init(Fixture *fx, const char *bytes)
{
	memset(fx, 0, sizeof(*fx));
	fx->svc.name = (char *) "t";
	fx->svc.path = (char *) "/stack/services/t.yml";
	fx->svc.file.path = (char *) "/stack/services/t.yml";
	fx->svc.file.dir = (char *) "/stack/services";
	fx->svc.file.bytes = (char *) bytes;
	fx->svc.file.len = strlen(bytes);
	fx->svc.file.services = fx->services;
	fx->svc.file.meta = fx->meta;
	fx->svc.loaded = true;
	str_copy(fx->cfg.root, sizeof(fx->cfg.root), "/stack");
	str_copy(fx->cfg.services_dir, sizeof(fx->cfg.services_dir), "/stack/services");
	str_copy(fx->cfg.shared_host, sizeof(fx->cfg.shared_host), "postgres");
	str_copy(fx->cfg.shared_container, sizeof(fx->cfg.shared_container), "postgres");
	fx->cfg.shared_port = 5432;
}

/* Offset of "\n  KEY:" in the bytes: where the service's block starts. */
static inline size_t
fx_block(const Fixture *fx, const char *key)
{
	char pat[128];
	const char *b = fx->svc.file.bytes;

	cr_assert(str_format(pat, sizeof(pat), "\n  %s:", key));

	const char *p = strstr(b, pat);

	cr_assert_not_null(p, "fixture: no service block %s", key);
	return (size_t) (p - b);
}

static inline ComposeService *
fx_service(Fixture *fx, const char *key, const char *image, const char *container_name)
{
	size_t i = fx->svc.file.service_count++;
	ComposeService *s = &fx->services[i];

	cr_assert_lt(i, FX_MAX_SERVICES);
	s->key = (char *) key;
	s->image = (char *) image;
	s->image_raw = (char *) image;
	s->container_name = (char *) container_name;
	s->container_name_raw = (char *) container_name;
	s->env = fx->env[i];
	s->key_span.start = fx_block(fx, key) + 3;
	s->key_span.end = s->key_span.start + strlen(key);
	return s;
}

/*
 * Add NAME to service s: finds "NAME=" (list form) or "NAME: " (map form)
 * after the service's key, takes the rest of the line as the raw value
 * (quotes removed). resolved is what interpolation gave (NULL = failed).
 */
static inline EnvItem *
fx_env(Fixture *fx, ComposeService *s, const char *name, const char *resolved)
{
	const char *b = fx->svc.file.bytes;
	size_t from = s->key_span.start;
	char list_pat[128], map_pat[128];

	cr_assert(str_format(list_pat, sizeof(list_pat), "- %s=", name));
	cr_assert(str_format(map_pat, sizeof(map_pat), " %s: ", name));

	const char *lp = strstr(b + from, list_pat);
	const char *mp = strstr(b + from, map_pat);
	const char *p = lp && (!mp || lp < mp) ? lp : mp;

	cr_assert_not_null(p, "fixture: %s not in %s", name, s->key);

	const char *v = p + strlen(p == lp ? list_pat : map_pat);
	const char *eol = strchr(v, '\n');
	size_t vs = (size_t) (v - b), ve = eol ? (size_t) (eol - b) : strlen(b);
	EnvItem *e = &s->env[s->env_count++];

	cr_assert_leq(s->env_count, FX_MAX_ENV);
	e->style = YSTYLE_PLAIN;
	if (b[vs] == '"' && ve > vs + 1 && b[ve - 1] == '"')
	{
		vs++;
		ve--;
		e->style = YSTYLE_DOUBLE;
	}
	e->name = (char *) name;
	e->raw = strndup(b + vs, ve - vs);
	e->resolved = resolved ? strdup(resolved) : NULL;
	e->has_value = true;
	e->value.start = vs;
	e->value.end = ve;
	e->item.start = (size_t) (p - b);
	e->item.end = ve;
	s->env_form = p == lp ? FORM_LIST : FORM_MAP;
	return e;
}

/* One env_file for s holding KEY=VALUE pairs (NULL-terminated). */
static inline void
fx_env_file(Fixture *fx, ComposeService *s, const char *path, const char *const *kv)
{
	size_t i = (size_t) (s - fx->services);
	Dotenv *d = &fx->env_files[i];

	d->items = fx->env_file_items[i];
	for (size_t k = 0; kv[k] && kv[k + 1]; k += 2)
	{
		d->items[d->count].key = (char *) kv[k];
		d->items[d->count].value = (char *) kv[k + 1];
		d->count++;
	}
	fx->env_file_names[i] = (char *) path;
	s->env_files = &fx->env_file_names[i];
	s->env_file_vars = d;
	s->env_file_count = 1;
}

static inline void
fx_meta(Fixture *fx, const char *key, const char *value)
{
	MetaEntry *m = &fx->meta[fx->svc.file.meta_count++];

	m->key = (char *) key;
	m->value = (char *) value;
}

static inline void
fx_free(Fixture *fx)
{
	service_analysis_clear(&fx->svc);
	for (size_t i = 0; i < fx->svc.file.service_count; i++)
		for (size_t k = 0; k < fx->services[i].env_count; k++)
		{
			free(fx->services[i].env[k].raw);
			free(fx->services[i].env[k].resolved);
		}
}

/* Does any warning contain needle? */
static inline bool
fx_warned(const StackService *svc, const char *needle)
{
	for (size_t i = 0; i < svc->warning_count; i++)
		if (strstr(svc->warnings[i], needle))
			return true;
	return false;
}

#endif
