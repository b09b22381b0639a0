/*
 * fidelity.c — see fidelity.h. Everything is read with psql in the
 * containers (the migrate tests' helpers), not with pgfold's modules.
 */
#include "migrate/fidelity.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

const MigShape fid_synapse = {
	.fixture = "synapse", .db = "synapse", .db_key = "synapse-db",
	.db_container = "%s-synapse-db", .db_user = "synapse", .src_db = "synapse",
	.db_volume = "synapse-db",
	.apps = { "%s-synapse", NULL },
	.others = { NULL },
	.env_after = { "DATABASE_URL=postgres://synapse:%PW%@postgres/synapse", NULL },
};

const MigShape fid_icu = {
	.fixture = "icu", .db = "wiki", .db_key = "wiki-db",
	.db_container = "%s-wiki-db", .db_user = "wiki", .src_db = "wiki",
	.db_volume = "wiki-db",
	.apps = { "%s-wiki", NULL },
	.others = { NULL },
	.env_after = { "DATABASE_URL=postgres://wiki:%PW%@postgres/wiki", NULL },
};

const MigShape fid_builtin = {
	.fixture = "builtin", .db = "wiki", .db_key = "wiki-db",
	.db_container = "%s-wiki-db", .db_user = "wiki", .src_db = "wiki",
	.db_volume = "wiki-db",
	.apps = { "%s-wiki", NULL },
	.others = { NULL },
	.env_after = { "DATABASE_URL=postgres://wiki:%PW%@postgres/wiki", NULL },
};

const MigShape fid_dede = {
	.fixture = "dede", .db = "shop", .db_key = "shop-db",
	.db_container = "%s-shop-db", .db_user = "shop", .src_db = "shop",
	.db_volume = "shop-db",
	.apps = { "%s-shop", NULL },
	.others = { NULL },
	.env_after = { "DATABASE_URL=postgres://shop:%PW%@postgres/shop", NULL },
};

/* psql variables: the names are the shape's; the SQL quotes them itself */
static const char props_sql[] =
	"CREATE SCHEMA \"odd \"\"sch\"\"\";\n"
	"ALTER DATABASE :\"db\" SET statement_timeout = '42s';\n"
	"ALTER DATABASE :\"db\" SET search_path = \"$user\", public, \"odd \"\"sch\"\"\";\n"
	"ALTER ROLE :\"usr\" SET work_mem = '12MB';\n"
	"ALTER ROLE :\"usr\" IN DATABASE :\"db\" SET lock_timeout = '3s';\n"
	"COMMENT ON DATABASE :\"db\" IS 'Synapse''s home, grüße \"quoted\"';\n"
	"CREATE TABLE sortme (t text);\n"
	"INSERT INTO sortme VALUES ('a'), ('B'), ('b'), ('A'), ('_x'), ('Z');\n";

char *
fid_seed(MigStack *s, const MigShape *sh, const char *db_image)
{
	char dbc[160], v1[96], v2[96];
	const char *vars[] = { v1, v2, NULL };
	StrBuf out = STRBUF_INIT;
	char *fp;

	free(mig_seed_service(s, sh, db_image));
	str_copy(dbc, sizeof(dbc), mig_name(s, sh->db_container));
	str_format(v1, sizeof(v1), "db=%s", sh->src_db);
	str_format(v2, sizeof(v2), "usr=%s", sh->db_user);
	cr_assert(mig_sql(&out, dbc, sh->db_user, sh->src_db, props_sql, vars),
			  "properties of the source: %s", sb_str(&out));
	sb_free(&out);
	fp = mig_fingerprint(dbc, sh->db_user, sh->src_db);
	return fp;
}

char *
fid_start(MigStack *s, const MigShape *sh, const char *db_image, const char *shared_image,
		  char *dbc, size_t size, FidProps *src)
{
	char *fp;

	mig_stack_init(s);
	mig_shared_start(s, shared_image);
	fp = fid_seed(s, sh, db_image);
	str_copy(dbc, size, mig_name(s, sh->db_container));
	fid_props_container(dbc, sh->db_user, sh->src_db, src);
	return fp;
}

static const char locale_sql[] =
	"SELECT pg_encoding_to_char(encoding) || '/' || datcollate || '/' || datctype || '/' "
	"|| coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') || '/' "
	"|| coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale', '') "
	"FROM pg_database d WHERE datname = current_database()";
static const char settings_sql[] =
	"SELECT coalesce((SELECT string_agg(x, '|' ORDER BY x) FROM pg_db_role_setting, "
	"unnest(setconfig) x WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database "
	"WHERE datname = current_database())), '(none)')";
static const char comment_sql[] =
	"SELECT coalesce(shobj_description(oid, 'pg_database'), '(none)') FROM pg_database "
	"WHERE datname = current_database()";
static const char order_sql[] = "SELECT string_agg(t, ',' ORDER BY t) FROM sortme";
static const char session_sql[] =
	"SELECT concat_ws(',', current_setting('work_mem'), current_setting('lock_timeout'), "
	"current_setting('statement_timeout'), current_setting('search_path'))";

void
fid_props_container(const char *container, const char *user, const char *db, FidProps *out)
{
	out->locale = mig_sql_value(container, user, db, locale_sql);
	out->settings = mig_sql_value(container, user, db, settings_sql);
	out->comment = mig_sql_value(container, user, db, comment_sql);
	out->order = mig_sql_value(container, user, db, order_sql);
	out->session = mig_sql_value(container, user, db, session_sql);
}

void
fid_props_shared(const MigStack *s, const char *role, const char *db, FidProps *out)
{
	char pwfile[PATH_MAX];
	StrBuf v = STRBUF_INIT;

	out->locale = mig_shared_value(s, db, locale_sql);
	out->settings = mig_shared_value(s, db, settings_sql);
	out->comment = mig_shared_value(s, db, comment_sql);
	out->order = mig_shared_value(s, db, order_sql);
	mig_path(s, pwfile, sizeof(pwfile), "etc/.db_passwords/%s.txt", role);
	cr_assert(mig_sql_as(&v, s, role, pwfile, db, session_sql), "session of %s: %s", role,
			  sb_str(&v));
	while (v.len > 0 && v.data[v.len - 1] == '\n')
		v.data[--v.len] = '\0';
	out->session = sb_steal(&v);
}

void
fid_props_free(FidProps *p)
{
	free(p->locale);
	free(p->settings);
	free(p->comment);
	free(p->order);
	free(p->session);
	memset(p, 0, sizeof(*p));
}

void
fid_props_assert_eq(const FidProps *want, const FidProps *got, const char *where)
{
	cr_assert_str_eq(got->locale, want->locale, "%s: locale %s, source %s", where, got->locale,
					 want->locale);
	cr_assert_str_eq(got->settings, want->settings, "%s: settings %s, source %s", where,
					 got->settings, want->settings);
	cr_assert_str_eq(got->comment, want->comment, "%s: comment %s, source %s", where,
					 got->comment, want->comment);
	cr_assert_str_eq(got->order, want->order, "%s: ORDER BY gives %s, source %s", where,
					 got->order, want->order);
	cr_assert_str_eq(got->session, want->session, "%s: the role's session has %s, source %s",
					 where, got->session, want->session);
}
