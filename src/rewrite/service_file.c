/*
 * service_file.c — the new bytes of a migrated service file: header lines,
 * connection settings pointed at the shared instance (conns.c), the
 * dedicated db service and every depends_on entry naming it removed. All
 * of it as span edits against the original bytes; the result is then read
 * back twice (piece by piece, and as YAML with libyaml) before it is
 * returned, so a surprise in the input fails here, not in compose.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

static bool
edit_meta(RwCtx *c)
{
	const ComposeFile *f = c->f;
	const char *eol = rw_eol(f->bytes, f->len);
	char dbname_key[256];
	/* a split file's dbs each record their own database (classify.c) */
	const char *keys[2] = { "database", dbname_key };
	const char *values[2] = { "postgres", c->t->dbname };
	StrBuf ins = STRBUF_INIT;
	bool ok = service_meta_dbname_key(c->svc, dbname_key, sizeof(dbname_key));

	for (int k = 0; ok && k < 2; k++)
	{
		bool found = false;

		for (size_t i = 0; ok && i < f->meta_count; i++)
		{
			const MetaEntry *m = &f->meta[i];

			if (m->key == NULL || strcmp(m->key, keys[k]) != 0)
				continue;
			found = true;
			if (!rw_span_valid(m->value_span, f->len) ||
				memchr(f->bytes + m->value_span.start, '\n',
					   m->value_span.end - m->value_span.start) != NULL)
			{
				log_error("internal error: %s: header line '# %s:' has a bad value span",
						  c->path, keys[k]);
				ok = false;
			}
			else if (m->value == NULL || strcmp(m->value, values[k]) != 0)
				ok = rw_replace(&c->edits, m->value_span.start, m->value_span.end,
								values[k], strlen(values[k]));
		}
		if (ok && !found)
			ok = sb_appendf(&ins, "# %s: %s%s", keys[k], values[k], eol);
	}
	if (ok && ins.len > 0)
	{
		size_t at = 0;

		if (f->meta_block.end > f->meta_block.start && rw_span_valid(f->meta_block, f->len))
			at = f->meta_block.end;
		else if (f->len >= 3 && memcmp(f->bytes, "\xEF\xBB\xBF", 3) == 0)
			at = 3;   /* after a UTF-8 BOM */
		if (at > 0 && f->bytes[at - 1] != '\n')
		{
			StrBuf fixed = STRBUF_INIT;

			ok = sb_appends(&fixed, eol) && sb_append(&fixed, sb_str(&ins), ins.len);
			sb_free(&ins);
			ins = fixed;
		}
		ok = ok && rw_insert(&c->edits, at, sb_str(&ins), ins.len);
	}
	sb_free(&ins);
	return ok;
}

static bool
edit_depends(RwCtx *c, size_t db)
{
	const ComposeFile *f = c->f;
	const char *key = f->services[db].key;
	bool ok = true;

	for (size_t i = 0; ok && i < f->service_count; i++)
	{
		const ComposeService *s = &f->services[i];
		bool any = false;

		if (i == db || s->depends_count == 0)
			continue;

		RwItem *items = xcalloc(s->depends_count, sizeof(RwItem));

		for (size_t k = 0; k < s->depends_count; k++)
		{
			items[k].span = s->depends[k].item;
			items[k].flow = s->depends[k].flow;
			items[k].drop = s->depends[k].name && strcmp(s->depends[k].name, key) == 0;
			any |= items[k].drop;
		}
		if (any)
		{
			char what[300];

			if (!str_format(what, sizeof(what), "depends_on of service %s", s->key))
				str_copy(what, sizeof(what), "depends_on");
			ok = rw_delete_items(&c->edits, f->bytes, f->len, s->depends_block, items,
								 s->depends_count, what);
		}
		free(items);
	}
	return ok;
}

static bool
pieces_match(const char *v, const ConnUrlParts *u, const Pieces *p)
{
	struct { Span s; const StrBuf *want; } cmp[] = {
		{ u->user, &p->user }, { u->password, &p->password }, { u->host, &p->host },
		{ u->dbname, &p->dbname }, { u->port, &p->port },
	};

	for (size_t i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++)
	{
		size_t n = cmp[i].s.end - cmp[i].s.start;

		if (i == 4 && n == 0 && p->port_default)
			continue;
		if (n != cmp[i].want->len || memcmp(v + cmp[i].s.start, sb_str(cmp[i].want), n) != 0)
			return false;
	}
	return true;
}

/* Read each edited variable back from the new bytes. */
static bool
verify_pending(RwCtx *c, const StrBuf *nb, RwEnvCheck *checks)
{
	for (size_t i = 0; i < c->npending; i++)
	{
		const Pending *p = &c->pending[i];
		const ComposeService *app = &c->f->services[p->app];
		const EnvItem *e = &app->env[p->env];
		size_t s = rw_map_offset(&c->edits, e->scalar.start, false);
		size_t end = rw_map_offset(&c->edits, e->scalar.end, true);
		StrBuf v = STRBUF_INIT;
		bool ok = rw_span_valid(e->scalar, c->f->len) && s <= end && end <= nb->len &&
			rw_scalar_decode(nb->data + s, end - s, &v);
		size_t skip = 0;

		if (ok && app->env_form == FORM_LIST)
		{
			skip = strlen(e->name) + 1;
			ok = v.len >= skip && memcmp(v.data, e->name, skip - 1) == 0 && v.data[skip - 1] == '=';
		}

		const char *val = ok ? sb_str(&v) + skip : "";
		size_t vlen = ok ? v.len - skip : 0;

		if (ok && p->url)
		{
			ConnUrlParts u;

			ok = (p->kind == CONN_NOCODB ? service_split_nocodb(val, 0, vlen, &u)
				  : service_split_url(val, 0, vlen, &u)) && pieces_match(val, &u, p->pieces);
		}
		else if (ok)
			ok = p->expect != NULL && strcmp(val, p->expect) == 0;
		if (!ok)
		{
			log_error("internal error: %s: %s of service %s does not read back as the value "
					  "pgfold meant to write; file left unchanged", c->path, e->name, app->key);
			sb_free_secret(&v);
			return false;
		}
		checks[i].app = app->key;
		checks[i].name = e->name;
		checks[i].value = xstrndup(val, vlen);
		sb_free_secret(&v);
	}
	return true;
}

Span
rw_service_span(const ComposeFile *f, const ComposeService *s)
{
	Span both = { s->lead.start, s->block.end };

	if (s->lead.end == s->block.start && s->lead.start < s->lead.end &&
		rw_is_line_span(f->bytes, f->len, both))
		return both;
	return s->block;
}

static bool
preflight(RwCtx *c)
{
	const StackService *svc = c->svc;
	const ComposeFile *f = c->f;

	if (!svc->loaded || f->bytes == NULL)
	{
		log_error("internal error: %s is not loaded", c->path);
		return false;
	}
	if (svc->problem != NULL)
	{
		log_error("%s: pgfold cannot rewrite this file: %s", c->path, svc->problem);
		return false;
	}
	if (svc->db_service < 0 || (size_t) svc->db_service >= f->service_count)
	{
		log_error("%s: there is no dedicated postgres service to remove (already migrated?)",
				  c->path);
		return false;
	}
	if (svc->conn_count == 0 && !c->t->apps_in_files)
	{
		log_error("%s: no app service connects to %s through settings pgfold can edit; "
				  "removing it would strand the app", c->path,
				  f->services[svc->db_service].key);
		return false;
	}
	if (f->len > RW_MAX_FILE)
	{
		log_error("%s: %zu bytes is too large for a service file", c->path, f->len);
		return false;
	}

	const ComposeService *db = &f->services[svc->db_service];

	if (!rw_is_line_span(f->bytes, f->len, db->block))
	{
		log_error("%s: service %s is not written in block style; pgfold cannot remove it "
				  "safely", c->path, db->key);
		return false;
	}
	for (size_t i = 0; i < svc->conn_count; i++)
	{
		const ConnRef *r = &svc->conns[i];
		const ComposeService *app = r->app < f->service_count ? &f->services[r->app] : NULL;

		if (app == NULL || r->app == (size_t) svc->db_service ||
			(r->kind != CONN_PARTS && (r->var < 0 || (size_t) r->var >= app->env_count)))
		{
			log_error("internal error: %s: connection %zu points at no app variable", c->path, i);
			return false;
		}
		if (app->uses_merge)
		{
			log_error("%s: service %s uses a YAML merge key (<<:); pgfold cannot tell which "
					  "of its settings come from it. Write its environment out and retry",
					  c->path, app->key);
			return false;
		}
	}
	if (!rw_target_valid(c))
		return false;
	return rw_guard_anchors(c->path, f->bytes, f->len, db->block, db->key) &&
		   rw_guard_references(c->path, f, (size_t) svc->db_service);
}

static void
fill_result(RwCtx *c, RwServiceResult *out)
{
	out->edited = xcalloc(c->edits.count, sizeof(Span));
	for (size_t i = 0; i < c->edits.count; i++)
		out->edited[i] = (Span) { c->edits.items[i].start, c->edits.items[i].end };
	out->edited_count = c->edits.count;
	/* sorted, for callers that walk them */
	for (size_t i = 1; i < out->edited_count; i++)
		for (size_t j = i; j > 0 && (out->edited[j].start < out->edited[j - 1].start ||
									 (out->edited[j].start == out->edited[j - 1].start &&
									  out->edited[j].end < out->edited[j - 1].end)); j--)
		{
			Span t = out->edited[j];

			out->edited[j] = out->edited[j - 1];
			out->edited[j - 1] = t;
		}
	const ComposeService *db = &c->f->services[c->svc->db_service];
	const char *dbpw = c->svc->db_env_password >= 0
		? db->env[c->svc->db_env_password].raw : NULL;

	out->literal_password = c->literal_new;
	out->original_literal_password = c->literal_old
		|| (dbpw != NULL && rw_is_literal(dbpw, strlen(dbpw)));

	out->added = xcalloc(c->nadds + 1, sizeof(RwAdded));
	for (size_t i = 0; i < c->nadds; i++)
		out->added[i] = (RwAdded) {
			xstrdup(c->f->services[c->adds[i].app].key), xstrdup(c->adds[i].name),
			xstrdup(c->adds[i].restore)
		};
	out->added_count = c->nadds;
	if (c->var_used)
	{
		out->env = xcalloc(1, sizeof(RwEnvVar));
		out->env[0].key = xstrdup(c->var);
		out->env[0].value = xstrdup(c->t->password);
		out->env_count = 1;
	}
}

/* The db was the file's only service (its apps are in other files of the
 * project and read their own configuration): `services:` stays, as an
 * empty mapping `services: {}`, not null (which compose rejects). */
static bool
empty_services(RwCtx *c)
{
	const char *b = c->f->bytes;
	size_t p = c->f->services_block.start, end = c->f->len;

	if (!c->t->apps_in_files || c->f->services[0].flow)
	{
		log_error("%s: %s is the file's only service; pgfold cannot remove it", c->path,
				  c->f->services[0].key);
		return false;
	}
	while (p < end && b[p] != ':' && b[p] != '\n')
		p++;
	for (size_t q = p + 1; p < end && b[p] == ':' && q < end && b[q] != '\n' && b[q] != '\r'; q++)
		if (b[q] != ' ' && b[q] != '\t')
		{
			if (b[q] == '#')
				break;
			p = end;    /* something after `services:` on its line */
		}
	if (p >= end || b[p] != ':')
	{
		log_error("%s: cannot leave an empty services mapping behind (write `services:` on "
				  "a line of its own)", c->path);
		return false;
	}
	return rw_insert(&c->edits, p + 1, " {}", 3);
}

bool
rewrite_service_file(const StackService *svc, const RwTarget *target, RwServiceResult *out)
{
	RwCtx c;
	RwNetAdded *net_added = NULL;
	size_t net_added_count = 0;
	bool ok;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.svc = svc;
	c.f = &svc->file;
	c.t = target;
	c.path = svc->path ? svc->path : (svc->file.path ? svc->file.path : svc->name);

	ok = target->password_var ? str_copy(c.var, sizeof(c.var), target->password_var)
		: rewrite_password_var(svc->name ? svc->name : "", c.var, sizeof(c.var));
	if (!ok)
		log_error("internal error: no password variable name for %s", c.path);
	ok = ok && preflight(&c);
	for (size_t i = 0; ok && i < svc->conn_count; i++)
		ok = rw_edit_conn(&c, &svc->conns[i]);
	ok = ok && rw_emit_adds(&c) && edit_meta(&c);
	ok = ok && rw_edit_networks(&c, &net_added, &net_added_count);
	Span dbspan = ok ? rw_service_span(c.f, &c.f->services[svc->db_service]) : (Span) { 0, 0 };

	ok = ok && rw_delete(&c.edits, dbspan.start, dbspan.end);
	ok = ok && (c.f->service_count > 1 || empty_services(&c));
	ok = ok && edit_depends(&c, (size_t) svc->db_service);
	ok = ok && rw_apply(&c.edits, c.f->bytes, c.f->len, &out->bytes);

	/* every edited variable, then every added one */
	RwEnvCheck *checks = xcalloc(c.npending + c.nadds + 1, sizeof(RwEnvCheck));

	ok = ok && verify_pending(&c, &out->bytes, checks);
	for (size_t i = 0; ok && i < c.nadds; i++)
		checks[c.npending + i] = (RwEnvCheck) {
			c.f->services[c.adds[i].app].key, c.adds[i].name, xstrdup(c.adds[i].raw)
		};
	ok = ok && rw_check_output(c.path, sb_str(&out->bytes), out->bytes.len,
							   c.f->services[svc->db_service].key, checks, c.npending + c.nadds);
	if (ok)
	{
		fill_result(&c, out);
		out->net_added = net_added;
		out->net_added_count = net_added_count;
		net_added = NULL;
		net_added_count = 0;
		rw_warn_mentions(c.path, svc, &c.edits, &out->warnings, &out->warning_count);
	}
	else
		rewrite_service_result_free(out);

	for (size_t i = 0; i < c.nadds; i++)
		rw_free_secret(checks[c.npending + i].value);
	rw_adds_free(&c);
	rw_net_added_free(net_added, net_added_count);
	for (size_t i = 0; i < c.npending; i++)
	{
		rw_free_secret(checks[i].value);
		if (c.pending[i].pieces)
		{
			rw_pieces_free(c.pending[i].pieces);
			free(c.pending[i].pieces);
		}
		rw_free_secret(c.pending[i].expect);
	}
	free(checks);
	free(c.pending);
	rw_edits_free(&c.edits);
	return ok;
}

void
rewrite_service_result_free(RwServiceResult *res)
{
	sb_free_secret(&res->bytes);
	for (size_t i = 0; i < res->env_count; i++)
	{
		free(res->env[i].key);
		rw_free_secret(res->env[i].value);
	}
	free(res->env);
	for (size_t i = 0; i < res->added_count; i++)
	{
		free(res->added[i].app);
		free(res->added[i].key);
		free(res->added[i].restore);
	}
	free(res->added);
	rw_net_added_free(res->net_added, res->net_added_count);
	free(res->edited);
	for (size_t i = 0; i < res->warning_count; i++)
		free(res->warnings[i]);
	free(res->warnings);
	memset(res, 0, sizeof(*res));
}
