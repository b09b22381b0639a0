/*
 * preflight_props.c — the pre-flight checks of the database's properties
 * (dbprops.h): the shared instance must be able to create the source's
 * locale, and no setting may load code into every session. Read-only: the
 * locale is asked by creating a collation in a transaction rolled back.
 */
#include "pgfold/preflight.h"

#include "pgfold/dbprops.h"
#include "pgfold/log.h"
#include "pgfold/migrate.h"

#include <stdlib.h>
#include <string.h>

static void
describe(const DbProps *p, StrBuf *out)
{
	StrBuf d = STRBUF_INIT;

	dbprops_describe_locale(p, out);
	sb_appendf(out, ", encoding %s", p->encoding);
	sb_appendf(out, "; %zu database setting(s), %zu role setting(s)", p->db_setting_count,
			   p->role_setting_count);
	if (p->comment != NULL)
		sb_appendf(out, ", comment %s", pg_display(&d, p->comment));
	if (p->connection_limit >= 0)
		sb_appendf(out, ", connection limit %d", p->connection_limit);
	sb_free(&d);
}

static void
unknown(Preflight *pf)
{
	preflight_add(pf, "properties", CHECK_WARN, "the source database's locale and settings "
				  "could not be read or checked (see above)");
}

void
preflight_check_properties(Preflight *pf, App *app, const StackService *svc)
{
	DbProps *p;
	StrBuf why = STRBUF_INIT, what = STRBUF_INIT, d = STRBUF_INIT;
	const char *refused;
	bool ok = true;

	if (pf->db_container == NULL || app->shared == NULL)
		return;
	p = xcalloc(1, sizeof(DbProps));
	if (!dbprops_read_container(app->docker, pf->db_container->id, svc->db_user, svc->db_name, p))
	{
		free(p);
		unknown(pf);
		return;
	}
	pf->props = p;
	if (!dbprops_locale_ok_shared(app->shared, p, "the shared instance", &ok, &why))
		unknown(pf);
	else if (!ok)
		preflight_add(pf, "locale", CHECK_BLOCK, "%s", sb_str(&why));
	else
	{
		describe(p, &what);
		preflight_add(pf, "properties", CHECK_OK, "carried: %s", sb_str(&what));
	}
	refused = dbprops_refused_setting(p);
	if (refused != NULL)
		preflight_add(pf, "properties", CHECK_BLOCK,
					  "setting %s of the database or of role %s loads a library into every "
					  "session; pgfold does not carry it into the shared instance: RESET it in "
					  "the source (ALTER DATABASE/ROLE ... RESET), then re-run and set it on "
					  "the shared instance yourself", pg_display(&d, refused), svc->db_user);
	sb_free(&why);
	sb_free(&what);
	sb_free(&d);
}
