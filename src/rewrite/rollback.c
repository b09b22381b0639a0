/*
 * rollback.c — the override that undoes a migration when given after the
 * migrated file. It is built from the ORIGINAL file only (the reference
 * tool built it from the edited one and got `services: {}`): the db service
 * block copied byte for byte (re-indented), each app's original connection
 * variables as written (compose merges environment by name, in either
 * form), and the depends_on entries that were removed (compose 1.29 merges
 * depends_on entries by name). Then it is parsed and compared node by node
 * with the original before it is returned. Its only top-level key is
 * `services`, so compose v1 and v2 both print the original's config for
 * file + override.
 */
#include "rw_internal.h"

#include "pgfold/log.h"
#include "pgfold/version.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

bool
rewrite_override_name(const char *service, char *buf, size_t bufsize)
{
	if (service == NULL || service[0] == '\0' || strpbrk(service, "/\\\r\n") != NULL ||
		service[0] == '.')
	{
		log_error("internal error: '%s' is not a service name", service ? service : "");
		return false;
	}
	return str_format(buf, bufsize, "%s-dedicated-postgres.yml", service);
}

static bool
one_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Env indices of app a that some connection edits, in file order. */
static size_t
conn_vars(const StackService *svc, size_t a, int *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < svc->conn_count; i++)
	{
		const ConnRef *r = &svc->conns[i];
		/* URL / NocoDB: the one variable; parts: each piece's variable */
		int idx[5] = { r->var, -1, -1, -1, -1 };

		if (r->app != a)
			continue;
		if (r->kind == CONN_PARTS)
		{
			idx[0] = r->host;
			idx[1] = r->port;
			idx[2] = r->user;
			idx[3] = r->password;
			idx[4] = r->dbname;
		}
		else if (r->split_credentials)
		{
			/* a JDBC URL's user and password variables */
			idx[1] = r->user;
			idx[2] = r->password;
		}
		for (int k = 0; k < 5; k++)
		{
			bool seen = idx[k] < 0;

			for (size_t j = 0; j < n && !seen; j++)
				seen = out[j] == idx[k];
			if (!seen && n < max)
				out[n++] = idx[k];
		}
	}
	/* file order */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j] < out[j - 1]; j--)
		{
			int t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* One collection item at indent 6: block items re-indented, flow items
 * as a block list item (`- <scalar>`). */
static bool
emit_item(const ComposeFile *f, Span item, Span scalar, bool list, StrBuf *out)
{
	if (rw_is_line_span(f->bytes, f->len, item))
		return rw_reindent(f->bytes, f->len, item, RW_FIRST_LINE, 6, "\n", out);

	Span s = list ? scalar : item;

	if (!rw_span_valid(s, f->len) || s.end == s.start ||
		memchr(f->bytes + s.start, '\n', s.end - s.start) != NULL)
		return false;
	return sb_appends(out, list ? "      - " : "      ") &&
		   sb_append(out, f->bytes + s.start, s.end - s.start) && sb_appendc(out, '\n');
}

static bool
emit_key(const ComposeFile *f, const ComposeService *s, StrBuf *out)
{
	Span k = s->key_span;

	if (rw_span_valid(k, f->len) && k.end > k.start &&
		memchr(f->bytes + k.start, '\n', k.end - k.start) == NULL)
		return sb_appends(out, "  ") && sb_append(out, f->bytes + k.start, k.end - k.start) &&
			   sb_appends(out, ":\n");
	return sb_appends(out, "  ") && rw_yaml_double_quote(s->key, out) && sb_appends(out, ":\n");
}

/* A variable the migrated file added, set back to the app's default. */
static bool
emit_added(const ComposeService *s, const RwAdded *a, StrBuf *out)
{
	StrBuf v = STRBUF_INIT, item = STRBUF_INIT;
	bool ok = rw_compose_escape(a->restore, &v);

	if (s->env_form == FORM_MAP)
		ok = ok && sb_appendf(out, "      %s: ", a->key) && rw_yaml_double_quote(sb_str(&v), out);
	else
		ok = ok && sb_appendf(&item, "%s=%s", a->key, sb_str(&v)) && sb_appends(out, "      - ") &&
			 rw_yaml_double_quote(sb_str(&item), out);
	ok = ok && sb_appendc(out, '\n');
	sb_free(&v);
	sb_free(&item);
	return ok;
}

static bool
emit_app(const StackService *svc, size_t a, const RwAdded *added, size_t added_count,
		 StrBuf *out, size_t *restored)
{
	const ComposeFile *f = &svc->file;
	const ComposeService *s = &f->services[a];
	const char *dbkey = f->services[svc->db_service].key;
	int *vars = xcalloc(svc->conn_count * 5 + 1, sizeof(int));
	size_t nv = conn_vars(svc, a, vars, svc->conn_count * 5);
	size_t nd = 0, na = 0;
	bool ok = true;

	for (size_t k = 0; k < s->depends_count; k++)
		nd += s->depends[k].name && strcmp(s->depends[k].name, dbkey) == 0;
	for (size_t k = 0; k < added_count; k++)
		na += strcmp(added[k].app, s->key) == 0;
	if (nv == 0 && nd == 0 && na == 0)
	{
		free(vars);
		return true;
	}
	ok = emit_key(f, s, out);
	if (ok && nv + na > 0)
		ok = sb_appends(out, "    environment:\n");
	for (size_t k = 0; ok && k < nv; k++)
	{
		if ((size_t) vars[k] >= s->env_count)
			ok = false;
		else
			ok = emit_item(f, s->env[vars[k]].item, s->env[vars[k]].scalar,
						   s->env_form != FORM_MAP, out);
	}
	for (size_t k = 0; ok && k < added_count; k++)
		if (strcmp(added[k].app, s->key) == 0)
			ok = emit_added(s, &added[k], out);
	nv += na;
	if (ok && nd > 0)
		ok = sb_appends(out, "    depends_on:\n");
	for (size_t k = 0; ok && k < s->depends_count; k++)
	{
		const DependsItem *d = &s->depends[k];

		if (d->name == NULL || strcmp(d->name, dbkey) != 0)
			continue;
		if (d->flow && s->depends_form == FORM_MAP)
			ok = false;     /* {db: {condition: ...}}: the condition would be lost */
		else
			ok = emit_item(f, d->item, d->item, true, out);
	}
	if (!ok)
		log_error("%s: cannot copy the connection settings or depends_on of service %s into "
				  "the rollback override (flow style?); write them in block style and retry",
				  svc->path ? svc->path : f->path, s->key);
	*restored += nv + nd;
	free(vars);
	return ok;
}

static bool
emit_header(const StackService *svc, const RwProvenance *prov, const char *sha,
			const char *when, StrBuf *out)
{
	const ComposeFile *f = &svc->file;
	const char *db = f->services[svc->db_service].key;
	bool ok;

	ok = sb_appendf(out,
		"# pgfold rollback override for service \"%s\".\n"
		"# Restores the dedicated PostgreSQL service \"%s\", the apps' original\n"
		"# connection settings and their depends_on entries, as they were in\n"
		"# %s (sha256 %s)\n"
		"# before pgfold %s migrated it to the shared instance on %s.\n",
		svc->name, db, prov->service_path, sha, PGFOLD_VERSION, when);
	if (ok && prov->compose_command != NULL)
		/* the project's own invocation (its directory, files, env files) */
		ok = sb_appendf(out, "# Give it AFTER the project's files:\n#   %s\n",
						prov->compose_command);
	else if (ok)
		/* .env, env_file and volumes resolve against the stack root */
		ok = sb_appendf(out, "# Give it AFTER the migrated file (from the stack root):\n"
						"#   docker-compose --project-directory . -f %s -f %s up -d\n",
						prov->service_path, prov->override_path);
	ok = ok && sb_appendf(out,
		"# or run: pgfold rollback %s\n"
		"# Generated by pgfold; edits are lost when it is generated again.\n", svc->name);
	/* Provenance stays in comments: compose v2's `config` prints top-level
	 * x- keys, so an x-pgfold block would make file + override differ from
	 * the original's config (v1 drops them). */
	return ok;
}

static void
now_utc(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		str_copy(buf, size, "unknown");
}

static bool
preflight(const StackService *svc, const RwProvenance *prov)
{
	const ComposeFile *f = &svc->file;
	const char *path = svc->path ? svc->path : (f->path ? f->path : "service file");

	if (!svc->loaded || f->bytes == NULL || svc->name == NULL)
	{
		log_error("internal error: %s is not loaded", path);
		return false;
	}
	if (svc->db_service < 0 || (size_t) svc->db_service >= f->service_count)
	{
		log_error("%s: no dedicated postgres service in this file, so there is nothing to "
				  "restore: a rollback override must be built from the file as it was "
				  "before the migration", path);
		return false;
	}
	if (prov == NULL || prov->service_path == NULL || prov->override_path == NULL ||
		!one_line(prov->service_path) || !one_line(prov->override_path) ||
		!one_line(svc->name) || (prov->generated_at && !one_line(prov->generated_at)))
	{
		log_error("internal error: rollback override provenance for %s is incomplete", path);
		return false;
	}
	if (f->services[svc->db_service].uses_alias || f->services[svc->db_service].uses_merge)
	{
		log_error("%s: service %s uses YAML aliases or merge keys (*x, <<:) defined "
				  "elsewhere in the file; its bytes cannot be copied into a rollback "
				  "override on their own. Write those settings out and retry",
				  path, f->services[svc->db_service].key);
		return false;
	}
	if (!rw_is_line_span(f->bytes, f->len, f->services[svc->db_service].block))
	{
		log_error("%s: service %s is not written in block style; pgfold cannot copy it",
				  path, f->services[svc->db_service].key);
		return false;
	}
	return true;
}

bool
rewrite_rollback_override(const StackService *svc, const RwProvenance *prov, StrBuf *out)
{
	return rewrite_rollback_override_added(svc, prov, NULL, 0, out);
}

bool
rewrite_rollback_override_added(const StackService *svc, const RwProvenance *prov,
								const RwAdded *added, size_t added_count, StrBuf *out)
{
	const ComposeFile *f = &svc->file;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char sha[crypto_hash_sha256_BYTES * 2 + 1];
	char when[64];
	StrBuf o = STRBUF_INIT;
	size_t restored = 0;
	bool ok;

	if (!preflight(svc, prov))
		return false;
	crypto_hash_sha256(digest, (const unsigned char *) f->bytes, f->len);
	sodium_bin2hex(sha, sizeof(sha), digest, sizeof(digest));
	if (prov->generated_at)
		str_copy(when, sizeof(when), prov->generated_at);
	else
		now_utc(when, sizeof(when));

	const ComposeService *db = &f->services[svc->db_service];

	ok = emit_header(svc, prov, sha, when, &o) && sb_appends(&o, "services:\n") &&
		 rw_reindent(f->bytes, f->len, rw_service_span(f, db), db->indent, 2, "\n", &o);
	for (size_t a = 0; ok && a < f->service_count; a++)
		if (a != (size_t) svc->db_service)
			ok = emit_app(svc, a, added, added_count, &o, &restored);
	ok = ok && rw_check_override(svc, prov->override_path, sb_str(&o), o.len, added, added_count);
	if (ok)
		ok = sb_append(out, sb_str(&o), o.len);
	if (ok && restored == 0)
		log_notice("%s: the rollback override restores only service %s: no app variable "
				   "or depends_on entry was changed", prov->service_path, db->key);
	sb_free_secret(&o);
	return ok;
}
