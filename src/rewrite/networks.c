/*
 * networks.c — after the fold an app reaches the shared instance, not its
 * dedicated db: when none of the networks compose gives the app (its
 * `networks:`, else `<project>_default`) is one the shared container is
 * attached to, the app joins one of them. Byte-span edits as for
 * environment: an item appended to the app's `networks:` (or a new
 * `networks:` with `default` and that network, so that the app keeps the
 * network its other services are on), and the network declared at the
 * top level as `external: true` unless the file already declares it.
 * An app with `network_mode` is left alone (the pre-flight says what it
 * means for PGFOLD_SHARED_HOST). The original file, which `pgfold
 * rollback` restores byte for byte, undoes it; the rollback override
 * cannot remove a network (compose merges networks as a union) and leaves
 * the app on both, which reaches the dedicated db again as before.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

static bool
shared_on(const RwSharedNet *n, const char *name)
{
	for (size_t i = 0; i < n->count; i++)
		if (strcmp(n->networks[i], name) == 0)
			return true;
	return false;
}

/* The network an app joins: the shared container's first one that compose
 * can attach a service to by name. */
static const char *
pick(const RwSharedNet *n)
{
	for (size_t i = 0; i < n->count; i++)
		if (strcmp(n->networks[i], "bridge") != 0 && strcmp(n->networks[i], "host") != 0
			&& strcmp(n->networks[i], "none") != 0)
			return n->networks[i];
	return NULL;
}

/* text inserted at `at`, after a line break first when asked and `at`
 * follows a line without one; text freed. */
static bool
insert_text(RwCtx *c, size_t at, StrBuf *text, const char *eol, bool ok, bool break_first)
{
	const ComposeFile *f = c->f;

	if (ok && break_first && at > 0 && at <= f->len && f->bytes[at - 1] != '\n')
	{
		StrBuf t2 = STRBUF_INIT;

		sb_appends(&t2, eol);
		sb_append(&t2, text->data, text->len);
		sb_free(text);
		*text = t2;
	}
	ok = ok && rw_insert(&c->edits, at, text->data, text->len);
	sb_free(text);
	return ok;
}

static bool
edit_app(RwCtx *c, const ComposeService *app, const char *key, const char *eol)
{
	const ComposeFile *f = c->f;
	StrBuf text = STRBUF_INIT;
	size_t at, col;
	bool ok;

	if (app->networks_flow)
	{
		log_error("%s: the networks of service %s are written in flow style ([..] / {..}); "
				  "write them as a block list and retry", c->path, app->key);
		return false;
	}
	if (app->networks_form == FORM_LIST)
	{
		at = app->networks_block.end;
		ok = sb_appendf(&text, "%*s- %s%s", (int) app->networks_indent, "", key, eol);
	}
	else if (app->networks_form == FORM_MAP)
	{
		at = app->networks_block.end;
		ok = sb_appendf(&text, "%*s%s: {}%s", (int) app->networks_indent, "", key, eol);
	}
	else if (app->networks_block.end > app->networks_block.start)
	{
		log_error("%s: service %s has an empty `networks:`; remove it or list its networks, "
				  "and retry", c->path, app->key);
		return false;
	}
	else if (!rw_new_key_place(f, app, &at, &col))
	{
		log_error("%s: cannot add networks to service %s (flow style, or no settings block); "
				  "write it in block style and retry", c->path, app->key);
		return false;
	}
	else
		/* `default` kept: the app stays on the network of its other services */
		ok = sb_appendf(&text, "%*snetworks:%s%*s- default%s%*s- %s%s", (int) col, "", eol,
						(int) col + 2, "", eol, (int) col + 2, "", key, eol);
	return insert_text(c, at, &text, eol, ok, true);
}

/* `NAME: {external: true}` under the top-level networks:, which is
 * created at the end of the file when absent. */
static bool
edit_top(RwCtx *c, const char *name, const char *eol)
{
	const ComposeFile *f = c->f;
	size_t ind = f->service_indent ? f->service_indent : 2, at;
	StrBuf text = STRBUF_INIT;
	bool ok;

	if (f->networks_flow)
	{
		log_error("%s: the top-level networks are written in flow style; write them in block "
				  "style and retry", c->path);
		return false;
	}
	if (f->networks_present)
	{
		at = f->networks_block.end;
		if (f->network_count > 0)
		{
			size_t p = rw_line_end(f->bytes, f->len, f->networks_block.start);

			while (p < at && (f->bytes[p] == '\n' || f->bytes[p] == '\r'
							  || f->bytes[p + rw_line_indent(f->bytes, f->len, p)] == '#'))
				p = rw_line_end(f->bytes, f->len, p);
			if (p < at)
				ind = rw_line_indent(f->bytes, f->len, p);
		}
		ok = sb_appendf(&text, "%*s%s:%s%*sexternal: true%s", (int) ind, "", name, eol,
						(int) ind * 2, "", eol);
	}
	else
	{
		at = f->len;
		ok = sb_appendf(&text, "%s%snetworks:%s%*s%s:%s%*sexternal: true%s",
						f->len > 0 && f->bytes[f->len - 1] != '\n' ? eol : "", eol, eol,
						(int) ind, "", name, eol, (int) ind * 2, "", eol);
	}
	return insert_text(c, at, &text, eol, ok, f->networks_present);
}

/* The key the app's networks: names net by: a top-level entry that
 * resolves to it, else net itself (declared external); NULL when a
 * top-level entry named net means another network. */
static const char *
top_key(const RwCtx *c, const char *net, bool *declare)
{
	const ComposeFile *f = c->f;

	*declare = true;
	for (size_t i = 0; i < f->network_count; i++)
	{
		const ComposeNetwork *n = &f->networks[i];
		bool same = (n->name && strcmp(n->name, net) == 0)
			|| (n->name == NULL && n->external && strcmp(n->key, net) == 0);

		if (same)
		{
			*declare = false;
			return n->key;
		}
		if (strcmp(n->key, net) == 0)
			return NULL;
	}
	return net;
}

static bool
wants(const RwCtx *c, size_t idx)
{
	const ComposeService *s = &c->f->services[idx];

	if ((int) idx == c->svc->db_service)
		return false;
	for (size_t i = 0; i < c->svc->conn_count; i++)
		if (c->svc->conns[i].app == idx)
			return true;
	for (size_t i = 0; c->t->file_apps && c->t->file_apps[i]; i++)
		if (strcmp(c->t->file_apps[i], s->key) == 0)
			return true;
	return false;
}

bool
rw_edit_networks(RwCtx *c, RwNetAdded **added, size_t *count)
{
	const RwSharedNet *n = c->t->net;
	const char *eol = rw_eol(c->f->bytes, c->f->len);
	bool declared = false;

	*added = NULL;
	*count = 0;
	if (n == NULL || n->count == 0 || (n->mode && (strcmp(n->mode, "host") == 0
												   || strncmp(n->mode, "container:", 10) == 0)))
		return true;    /* host networking or none known: the pre-flight checks the host */

	const char *net = pick(n);

	for (size_t i = 0; i < c->f->service_count; i++)
	{
		const ComposeService *app = &c->f->services[i];
		char **names = NULL;
		size_t nn = 0;
		const char *mode = NULL;
		bool shares = false, declare = false;

		if (!wants(c, i))
			continue;
		compose_service_networks(c->f, app, n->project, &names, &nn, &mode);
		for (size_t k = 0; k < nn; k++)
			shares = shares || shared_on(n, names[k]);
		if (mode == NULL && !shares && net != NULL)
		{
			const char *key = top_key(c, net, &declare);
			StrBuf was = STRBUF_INIT;

			if (key == NULL)
			{
				log_error("%s: the top-level network key \"%s\" names another network than the "
						  "shared container's \"%s\"; rename it and retry", c->path, net, net);
				for (size_t k = 0; k < nn; k++)
					free(names[k]);
				free(names);
				return false;
			}
			for (size_t k = 0; k < nn; k++)
				sb_appendf(&was, "%s%s", k ? ", " : "", names[k]);
			if (!edit_app(c, app, key, eol) || (declare && !declared && !edit_top(c, key, eol)))
			{
				sb_free(&was);
				for (size_t k = 0; k < nn; k++)
					free(names[k]);
				free(names);
				return false;
			}
			*added = xrealloc(*added, *count + 1, sizeof(RwNetAdded));
			(*added)[(*count)++] = (RwNetAdded) { xstrdup(app->key), xstrdup(net), sb_steal(&was),
												  declare };
			declared = declared || declare;
		}
		for (size_t k = 0; k < nn; k++)
			free(names[k]);
		free(names);
	}
	return true;
}

void
rw_net_added_free(RwNetAdded *added, size_t count)
{
	for (size_t i = 0; i < count; i++)
	{
		free(added[i].app);
		free(added[i].network);
		free(added[i].was);
	}
	free(added);
}
