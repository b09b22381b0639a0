/*
 * conns.c — pointing each connection setting of the apps at the shared
 * instance: URL pieces (scheme, query and anything after kept byte for
 * byte), NocoDB's query values, and *_HOST/_PORT/... variables (each value
 * replaced in its own quoting style). Every edited variable is recorded so
 * that the result can be re-read and checked.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

void
rw_pieces_free(Pieces *p)
{
	sb_free(&p->user);
	sb_free_secret(&p->password);
	sb_free(&p->host);
	sb_free(&p->port);
	sb_free(&p->dbname);
}

bool
rewrite_password_var(const char *service, char *buf, size_t bufsize)
{
	StrBuf sb = STRBUF_INIT;
	bool ok = sb_appends(&sb, "PGFOLD_");

	for (const char *p = service; ok && *p; p++)
		ok = sb_appendc(&sb, isalnum((unsigned char) *p) ? (char) toupper((unsigned char) *p) : '_');
	ok = ok && *service != '\0' && sb_appends(&sb, "_DB_PASSWORD") &&
		 str_copy(buf, bufsize, sb_str(&sb));
	sb_free(&sb);
	return ok;
}

static bool
host_valid(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253)
		return false;
	if (strchr(h, ':') != NULL)   /* IPv6 literal */
		return strspn(h, "0123456789abcdefABCDEF:.") == n;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n &&
		   h[0] != '-' && h[0] != '.';
}

bool
rw_target_valid(const RwCtx *c)
{
	const RwTarget *t = c->t;

	if (t->host == NULL || !host_valid(t->host))
	{
		log_error("shared host '%s' is not a host name or IP address; check PGFOLD_SHARED_HOST",
				  t->host ? t->host : "");
		return false;
	}
	if (t->port < 1 || t->port > 65535)
	{
		log_error("shared port %d is out of range; check PGFOLD_SHARED_PORT", t->port);
		return false;
	}
	if (t->role == NULL || t->role[0] == '\0' || t->dbname == NULL || t->dbname[0] == '\0' ||
		strlen(t->role) > 63 || strlen(t->dbname) > 63 || strpbrk(t->role, "\r\n") ||
		strpbrk(t->dbname, "\r\n"))
	{
		log_error("internal error: role and database names for %s must be 1-63 bytes on one line",
				  c->svc->name);
		return false;
	}
	if (t->password == NULL || t->password[0] == '\0' || strlen(t->password) > 1024)
	{
		log_error("internal error: no usable password for %s's role %s", c->svc->name, t->role);
		return false;
	}
	return true;
}

static bool
build_pieces(RwCtx *c, Pieces *p, bool url, bool literal_password, bool split_credentials)
{
	const RwTarget *t = c->t;
	bool ok;

	memset(p, 0, sizeof(*p));
	p->port_default = t->port == 5432;
	ok = sb_appendf(&p->port, "%d", t->port);
	if (url)
	{
		ok = ok && (split_credentials ? rw_compose_escape(t->role, &p->user)
					: rw_pct_encode(t->role, &p->user)) && rw_pct_encode(t->dbname, &p->dbname);
		ok = ok && (strchr(t->host, ':') ? sb_appendf(&p->host, "[%s]", t->host)
				   : sb_appends(&p->host, t->host));
	}
	else
		ok = ok && rw_compose_escape(t->role, &p->user) &&
			 rw_compose_escape(t->dbname, &p->dbname) && sb_appends(&p->host, t->host);
	if (literal_password)
		ok = ok && (url && !split_credentials ? rw_pct_encode(t->password, &p->password)
					: rw_compose_escape(t->password, &p->password));
	else
		ok = ok && sb_appendf(&p->password, "${%s:?missing in .env}", c->var);
	return ok;
}

/* Does a raw value interpolate anything ($X / ${X}, not $$)? */
static bool
is_reference(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
	{
		if (s[i] != '$')
			continue;
		if (s[i + 1] == '$')
			i++;
		else if (s[i + 1] == '{' || s[i + 1] == '_' || isalpha((unsigned char) s[i + 1]))
			return true;
	}
	return false;
}

bool
rw_is_literal(const char *raw, size_t n)
{
	return raw != NULL && n > 0 && !is_reference(raw, n);
}

static bool
use_literal(RwCtx *c, const char *orig, size_t n, bool present)
{
	switch (c->t->password_style)
	{
		case RW_PASSWORD_LITERAL:
			return true;
		case RW_PASSWORD_REFERENCE:
			return false;
		case RW_PASSWORD_MIRROR:
		default:
			return present && rw_is_literal(orig, n);
	}
}

static bool
span_nonempty(Span s)
{
	return s.end > s.start;
}

static const char *
style_name(YamlStyle s)
{
	switch (s)
	{
		case YSTYLE_PLAIN: return "plain";
		case YSTYLE_SINGLE: return "single-quoted";
		case YSTYLE_DOUBLE: return "double-quoted";
		case YSTYLE_LITERAL: return "literal block";
		case YSTYLE_FOLDED: return "folded block";
		default: return "unknown";
	}
}

/* Replace span with raw encoded for the scalar's style. */
static bool
put(RwCtx *c, const EnvItem *e, Span s, const StrBuf *raw, bool whole_map_value,
	const char *app, const char *what)
{
	StrBuf enc = STRBUF_INIT;
	bool ok = rw_encode_in_scalar(e->style, whole_map_value, sb_str(raw), &enc);

	if (!ok)
		log_error("%s: the new %s of service %s cannot be written into %s as it is quoted "
				  "(%s); write the whole entry in double quotes and retry",
				  c->path, what, app, e->name, style_name(e->style));
	else
		ok = rw_replace(&c->edits, s.start, s.end, sb_str(&enc), enc.len);
	sb_free_secret(&enc);
	return ok;
}

static bool
put_insert(RwCtx *c, const EnvItem *e, size_t at, const char *pre, const StrBuf *raw,
		   const char *post, const char *app)
{
	StrBuf both = STRBUF_INIT;
	StrBuf enc = STRBUF_INIT;
	bool ok = sb_appends(&both, pre) && sb_append(&both, sb_str(raw), raw->len) &&
		sb_appends(&both, post) && rw_encode_in_scalar(e->style, false, sb_str(&both), &enc);

	if (!ok)
		log_error("%s: cannot extend %s of service %s in its quoting style", c->path, e->name, app);
	else
		ok = rw_insert(&c->edits, at, sb_str(&enc), enc.len);
	sb_free_secret(&both);
	sb_free_secret(&enc);
	return ok;
}

/* libpq URIs may carry settings in the query too; those would win over the
 * pieces pgfold edits. */
static bool
query_sets_connection(const char *b, Span q)
{
	static const char *const keys[] = { "host=", "hostaddr=", "port=", "user=",
										"password=", "dbname=", "service=", NULL };

	for (size_t i = q.start; i < q.end; i++)
	{
		if (i != q.start && b[i - 1] != '&')
			continue;
		for (size_t k = 0; keys[k]; k++)
			if (q.end - i >= strlen(keys[k]) && strncasecmp(b + i, keys[k], strlen(keys[k])) == 0)
				return true;
	}
	return false;
}

static bool
edit_url_in_place(RwCtx *c, const ComposeService *app, const ConnRef *r, const Pieces *p)
{
	const EnvItem *e = &app->env[r->var];
	const char *b = c->f->bytes;
	const ConnUrlParts *u = &r->url;
	bool ok = true;

	if (!span_nonempty(u->host) || !span_nonempty(u->scheme) || u->host.end > e->value.end ||
		u->scheme.start < e->value.start)
	{
		log_error("%s: %s of service %s has no host pgfold can replace", c->path, e->name, app->key);
		return false;
	}
	if (r->kind == CONN_URL && query_sets_connection(b, u->query))
	{
		log_error("%s: %s of service %s sets connection parameters in its query string; "
				  "move them into the URL's user:password@host:port/db and retry",
				  c->path, e->name, app->key);
		return false;
	}
	if (r->kind == CONN_NOCODB)
	{
		if (!span_nonempty(u->user) || !span_nonempty(u->password) || !span_nonempty(u->dbname))
		{
			log_error("%s: %s of service %s lacks u=, p= or d=; write all three and retry",
					  c->path, e->name, app->key);
			return false;
		}
		ok = put(c, e, u->user, &p->user, false, app->key, "user") &&
			 put(c, e, u->password, &p->password, false, app->key, "password") &&
			 put(c, e, u->dbname, &p->dbname, false, app->key, "database");
	}
	else if (r->split_credentials)
	{
		/* jdbc:postgresql://host:port/db: no userinfo to write */
	}
	else
	{
		size_t auth = u->scheme.end + 3;          /* after "://" */
		bool has_userinfo = u->host.start > auth && b[u->host.start - 1] == '@';

		if (has_userinfo && span_nonempty(u->user) && span_nonempty(u->password))
			ok = put(c, e, u->user, &p->user, false, app->key, "user") &&
				 put(c, e, u->password, &p->password, false, app->key, "password");
		else
		{
			/* none, or half of user:password: write the whole userinfo */
			StrBuf ui = STRBUF_INIT;
			Span s = { auth, has_userinfo ? u->host.start - 1 : auth };

			ok = sb_append(&ui, sb_str(&p->user), p->user.len) && sb_appendc(&ui, ':') &&
				 sb_append(&ui, sb_str(&p->password), p->password.len) &&
				 (has_userinfo || sb_appendc(&ui, '@')) &&
				 put(c, e, s, &ui, false, app->key, "user and password");
			sb_free_secret(&ui);
		}
	}
	ok = ok && put(c, e, u->host, &p->host, false, app->key, "host");

	/* port: replace; absent and 5432 stays absent; else insert */
	size_t auth_end = u->host.end;

	if (ok && span_nonempty(u->port))
	{
		ok = put(c, e, u->port, &p->port, false, app->key, "port");
		auth_end = u->port.end;
	}
	else if (ok && auth_end < e->value.end && b[auth_end] == ':')
	{
		ok = rw_insert(&c->edits, auth_end + 1, sb_str(&p->port), p->port.len);
		auth_end++;
	}
	else if (ok && !p->port_default)
		ok = put_insert(c, e, auth_end, ":", &p->port, "", app->key);

	if (ok && r->kind == CONN_URL)
	{
		if (span_nonempty(u->dbname))
			ok = put(c, e, u->dbname, &p->dbname, false, app->key, "database");
		else if (auth_end < e->value.end && b[auth_end] == '/')
			ok = put_insert(c, e, auth_end + 1, "", &p->dbname, "", app->key);
		else
			ok = put_insert(c, e, auth_end, "/", &p->dbname, "", app->key);
	}
	return ok;
}

static bool
add_pending(RwCtx *c, size_t app, int env, bool url, ConnKind kind, Pieces *p, const StrBuf *expect)
{
	for (size_t i = 0; i < c->npending; i++)
		if (c->pending[i].app == app && c->pending[i].env == env)
			return false;   /* already edited by another connection */
	c->pending = xrealloc(c->pending, c->npending + 1, sizeof(Pending));
	c->pending[c->npending++] = (Pending) {
		app, env, url, kind, p, expect ? xstrndup(sb_str(expect), expect->len) : NULL
	};
	return true;
}

/* DATABASE_URL=${X}: no pieces to edit; write the whole URL, keeping the
 * resolved scheme and query. */
static bool
edit_url_indirect(RwCtx *c, const ComposeService *app, const ConnRef *r, const Pieces *p)
{
	const EnvItem *e = &app->env[r->var];
	ConnUrlParts u;
	StrBuf url = STRBUF_INIT;
	StrBuf tail = STRBUF_INIT;
	bool ok;

	if (e->resolved == NULL ||
		!(r->kind == CONN_NOCODB ? service_split_nocodb(e->resolved, 0, strlen(e->resolved), &u)
		  : service_split_url(e->resolved, 0, strlen(e->resolved), &u)))
	{
		log_error("%s: %s of service %s does not resolve to a URL pgfold can rewrite; "
				  "set the variables it uses and retry", c->path, e->name, app->key);
		return false;
	}

	char *scheme = xstrndup(e->resolved + u.scheme.start, u.scheme.end - u.scheme.start);

	ok = rw_compose_escape(scheme, &url) && sb_appends(&url, "://");
	free(scheme);
	if (r->kind == CONN_NOCODB)
		ok = ok && sb_appendf(&url, "%s:%s?u=%s&p=%s&d=%s", sb_str(&p->host), sb_str(&p->port),
							  sb_str(&p->user), sb_str(&p->password), sb_str(&p->dbname));
	else
	{
		ok = ok && sb_appendf(&url, "%s:%s@%s", sb_str(&p->user), sb_str(&p->password),
							  sb_str(&p->host));
		if (!p->port_default || span_nonempty(u.port))
			ok = ok && sb_appendf(&url, ":%s", sb_str(&p->port));
		ok = ok && sb_appendf(&url, "/%s", sb_str(&p->dbname));
		if (span_nonempty(u.query))
		{
			char *q = xstrndup(e->resolved + u.query.start, u.query.end - u.query.start);

			if (query_sets_connection(q, (Span) { 0, strlen(q) }))
			{
				log_error("%s: %s of service %s sets connection parameters in its query "
						  "string; pgfold cannot rewrite it", c->path, e->name, app->key);
				ok = false;
			}
			ok = ok && sb_appendc(&tail, '?') && rw_compose_escape(q, &tail) &&
				 sb_append(&url, sb_str(&tail), tail.len);
			free(q);
		}
	}
	ok = ok && put(c, e, e->value, &url, app->env_form == FORM_MAP, app->key, "URL");
	ok = ok && add_pending(c, r->app, r->var, false, r->kind, NULL, &url);
	sb_free_secret(&url);
	sb_free(&tail);
	return ok;
}

/* One piece's variable (env index idx >= 0): its whole value. */
static bool
edit_part(RwCtx *c, const ComposeService *app, const ConnRef *r, int idx, const StrBuf *raw,
		  const char *what)
{
	const EnvItem *e = &app->env[idx];
	bool map = app->env_form == FORM_MAP;

	if (!e->has_value || !rw_span_valid(e->value, c->f->len) ||
		(map && e->style == YSTYLE_PLAIN && !span_nonempty(e->value)))
	{
		log_error("%s: %s of service %s has no value in the file to replace; give it one "
				  "and retry", c->path, e->name, app->key);
		return false;
	}
	if (!add_pending(c, r->app, idx, false, CONN_PARTS, NULL, raw))
		return true;
	return put(c, e, e->value, raw, map, app->key, what);
}

static const char *const piece_what[PIECE_COUNT] = {
	"HOST", "PORT", "USER", "PASSWORD", "DB/NAME"
};

static const char *
host_var_name(const ComposeService *app, const ConnRef *r)
{
	if (r->kind == CONN_PARTS && r->host >= 0)
		return app->env[r->host].name;
	if (r->kind != CONN_PARTS && r->var >= 0)
		return app->env[r->var].name;
	return r->names.var[PIECE_HOST] ? r->names.var[PIECE_HOST] : "its host";
}

/*
 * A piece the file does not set in `environment:`. The app then uses the
 * env_file's value, else its default: when that already is the new value
 * (newval; NULL = always differs, the password) nothing is written; else
 * the piece is added under the convention's name, the default recorded for
 * the rollback override. Refused when no name, or no default, is known, or
 * when the value lives in an env_file (which pgfold does not edit).
 */
static bool
absent_piece(RwCtx *c, const ComposeService *app, const ConnRef *r, ConnPiece piece,
			 const StrBuf *raw, const char *newval)
{
	const char *name = r->names.var[piece];
	const char *deflt = r->names.deflt[piece];
	const char *from_file = name ? compose_env_effective(app, name) : NULL;

	if (name == NULL)
	{
		if (piece == PIECE_PORT && newval && strcmp(newval, "5432") == 0)
			return true;    /* an unset port is 5432 to libpq and nearly every client */
		log_error("%s: service %s sets %s but not its %s setting in environment:, and pgfold "
				  "knows no name for it; add it (or name it with `# pgfold.%s: VAR` in the "
				  "file header) and retry", c->path, app->key, host_var_name(app, r),
				  piece_what[piece], piece == PIECE_DBNAME ? "database"
				  : piece == PIECE_HOST ? "host" : piece == PIECE_PORT ? "port"
				  : piece == PIECE_USER ? "user" : "password");
		return false;
	}
	if (from_file != NULL)
	{
		if (newval != NULL && strcmp(from_file, newval) == 0)
			return true;
		log_error("%s: %s of service %s is set in an env_file, which pgfold does not edit; "
				  "move it into the service's environment: and retry", c->path, name, app->key);
		return false;
	}
	if (deflt != NULL && newval != NULL && strcmp(deflt, newval) == 0)
		return true;
	if (deflt == NULL)
	{
		log_error("%s: service %s does not set %s and pgfold does not know what the app "
				  "assumes then, so a rollback could not restore it; set it in environment: "
				  "and retry", c->path, app->key, name);
		return false;
	}
	return rw_add_var(c, r->app, name, raw, deflt);
}

static bool
edit_piece(RwCtx *c, const ComposeService *app, const ConnRef *r, ConnPiece piece,
		   const StrBuf *raw, const char *newval)
{
	const int idx[PIECE_COUNT] = { r->host, r->port, r->user, r->password, r->dbname };

	if (idx[piece] >= 0)
		return edit_part(c, app, r, idx[piece], raw, piece_what[piece]);
	return absent_piece(c, app, r, piece, raw, newval);
}

/* The app picks its database itself (Odoo): nothing to write, so the
 * database must keep its name. */
static bool
dbname_kept(RwCtx *c, const ComposeService *app)
{
	const char *src = c->svc->db_name;

	if (src != NULL && strcmp(src, c->t->dbname) == 0)
		return true;
	log_error("%s: service %s chooses its database by name itself; keep the name \"%s\" "
			  "(no --db) and retry", c->path, app->key, src ? src : "?");
	return false;
}

/* CONN_PARTS: every piece in its own variable; the port may travel with
 * the host (GITEA__database__HOST=db:5432). */
static bool
edit_parts(RwCtx *c, const ComposeService *app, const ConnRef *r, const Pieces *p)
{
	bool with_port = r->host_with_port || (r->names.port_in_host && !p->port_default);
	StrBuf host = STRBUF_INIT;
	bool ok = sb_append(&host, sb_str(&p->host), p->host.len) &&
		(!with_port || sb_appendf(&host, ":%s", sb_str(&p->port)));

	ok = ok && edit_piece(c, app, r, PIECE_HOST, &host, sb_str(&host));
	if (ok && !r->host_with_port && !r->names.port_in_host)
		ok = edit_piece(c, app, r, PIECE_PORT, &p->port, sb_str(&p->port));
	ok = ok && edit_piece(c, app, r, PIECE_USER, &p->user, c->t->role) &&
		 edit_piece(c, app, r, PIECE_PASSWORD, &p->password, NULL);
	if (ok)
		ok = r->names.dbname_by_app ? dbname_kept(c, app)
			: edit_piece(c, app, r, PIECE_DBNAME, &p->dbname, c->t->dbname);
	sb_free(&host);
	return ok;
}

/*
 * Every variable the connection is read from must interpolate: compose
 * refuses to run a file with a broken ${...} (an unclosed brace, ${X:?msg}
 * with X unset), and an edit keeps the rest of the value byte for byte, so
 * the new file would not read as the new settings either (found by
 * tests/fuzz/fuzz_rewrite.c: a URL ending in "${P").
 */
static bool
conn_interpolates(RwCtx *c, const ComposeService *app, const ConnRef *r)
{
	const int idx[] = { r->var, r->host, r->port, r->user, r->password, r->dbname };

	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
	{
		if (idx[i] < 0 || (size_t) idx[i] >= app->env_count || (i > 0 && r->kind != CONN_PARTS &&
																  !r->split_credentials))
			continue;

		const EnvItem *e = &app->env[idx[i]];

		if (e->error != NULL)
		{
			log_error("%s: %s of service %s does not interpolate (%s); compose cannot run the "
					  "file as it is: fix the value and retry", c->path, e->name, app->key,
					  e->error);
			return false;
		}
	}
	return true;
}

bool
rw_edit_conn(RwCtx *c, const ConnRef *r)
{
	const ComposeService *app = &c->f->services[r->app];
	bool url = r->kind != CONN_PARTS;
	const char *orig = NULL;
	size_t olen = 0;
	bool present = false;

	if (!conn_interpolates(c, app, r))
		return false;

	/* what the original did with the password decides literal vs reference */
	if (url && r->indirect)
	{
		orig = app->env[r->var].raw;
		olen = orig ? strlen(orig) : 0;
		present = true;
	}
	else if (url && !r->split_credentials)
	{
		orig = c->f->bytes + r->url.password.start;
		olen = r->url.password.end - r->url.password.start;
		present = span_nonempty(r->url.password);
	}
	else if (r->password >= 0 && app->env[r->password].raw != NULL)
	{
		/* parts, and a JDBC URL's password variable */
		orig = app->env[r->password].raw;
		olen = strlen(orig);
		present = true;
	}

	bool literal = use_literal(c, orig, olen, present);
	Pieces p;
	/* a JDBC URL's user and password are plain variables */
	bool ok = build_pieces(c, &p, url, literal, r->split_credentials);

	/* decides the mode the new file and the override are written with */
	c->literal_new = c->literal_new || literal;
	c->literal_old = c->literal_old || (present && rw_is_literal(orig, olen));
	if (!literal)
		c->var_used = true;
	if (ok && url && r->indirect)
		ok = edit_url_indirect(c, app, r, &p);
	else if (ok && url)
	{
		Pieces *keep = xcalloc(1, sizeof(Pieces));

		*keep = p;
		memset(&p, 0, sizeof(p));
		if (!add_pending(c, r->app, r->var, true, r->kind, keep, NULL))
		{
			rw_pieces_free(keep);
			free(keep);
			return true;
		}
		ok = edit_url_in_place(c, app, r, keep);
		if (ok && r->split_credentials)
		{
			ok = edit_piece(c, app, r, PIECE_USER, &keep->user, c->t->role) &&
				 edit_piece(c, app, r, PIECE_PASSWORD, &keep->password, NULL);
			/* read back: the URL itself holds no user or password */
			sb_free(&keep->user);
			sb_free_secret(&keep->password);
		}
		return ok;
	}
	else if (ok)
		ok = edit_parts(c, app, r, &p);
	rw_pieces_free(&p);
	return ok;
}
