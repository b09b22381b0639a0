/*
 * steps_props.c — the migration steps that carry what belongs to the
 * database rather than to its rows (dbprops.h): its settings, comment and
 * the role's settings, applied to the temporary database before the
 * rename; then ANALYZE, so the apps' first queries after the fold do not
 * run on empty statistics (pg_restore does not analyze).
 */
#include "run_internal.h"

#include "pgfold/dbprops.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <stdlib.h>
#include <string.h>

bool
steps_source_props(Run *r)
{
	StrBuf why = STRBUF_INIT;
	bool ok = true;

	if (r->pf.props == NULL)
	{
		r->pf.props = xcalloc(1, sizeof(DbProps));
		if (!dbprops_read_container(r->app->docker, r->db_container, r->svc->db_user,
									r->svc->db_name, r->pf.props))
			return false;
	}
	if (!dbprops_locale_ok_shared(r->app->shared, r->pf.props, "the shared instance", &ok, &why))
		ok = false;
	else if (!ok)
	{
		log_error("%s; nothing was restored", sb_str(&why));
		exit_hint_set(EXIT_BLOCKED);
	}
	sb_free(&why);
	return ok;
}

bool
step_properties(Run *r)
{
	DbProps dst = DBPROPS_INIT;
	PGconn *conn = NULL;
	StrBuf loc = STRBUF_INIT;
	bool ok;

	if (run_step_done(r, MIG_STEP_PROPERTIES))
		return true;
	if (r->pf.props == NULL && !steps_source_props(r))
		return false;

	const DbProps *src = r->pf.props;

	ok = dbprops_apply_shared(r->app->shared, r->names.tmp_db, r->names.role, src)
		&& dbprops_read_shared(r->app, r->names.tmp_db, r->names.role, &dst)
		&& pg_connect_shared(&r->app->cfg, r->names.tmp_db, &conn);
	if (ok)
	{
		dbprops_warn_collation(conn, r->names.db, src, &dst);
		dbprops_describe_locale(&dst, &loc);
		log_notice("\"%s\": %s, %zu database setting(s), %zu setting(s) of role \"%s\" in it%s",
				   r->names.tmp_db, sb_str(&loc), dst.db_setting_count, dst.role_setting_count,
				   r->names.role, dst.comment ? ", comment" : "");

		json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:I, s:b}", "locale", sb_str(&loc),
							  "collation_version_source", src->coll_version,
							  "collation_version_shared", dst.coll_version,
							  "db_settings", (json_int_t) dst.db_setting_count,
							  "role_settings", (json_int_t) dst.role_setting_count,
							  "comment", dst.comment != NULL);

		ok = run_record(r, MIG_STEP_PROPERTIES, JOURNAL_DONE, f);
		json_decref(f);
	}
	pg_disconnect(conn);
	dbprops_free(&dst);
	sb_free(&loc);
	return ok;
}

bool
step_analyze(Run *r)
{
	double secs = 0;

	if (run_step_done(r, MIG_STEP_ANALYZE))
		return true;
	log_notice("analyzing \"%s\"", r->names.tmp_db);
	if (!dbprops_analyze(&r->app->cfg, r->names.tmp_db, r->names.role, &secs))
		return false;
	r->analyze_seconds = secs;
	log_notice("analyzed \"%s\" in %.1f s", r->names.tmp_db, secs);

	json_t *f = json_pack("{s:f}", "seconds", secs);
	bool ok = run_record(r, MIG_STEP_ANALYZE, JOURNAL_DONE, f);

	json_decref(f);
	return ok;
}
