/*
 * plan.c — `pgfold rollback SERVICE --dry-run`: every pre-flight check,
 * the exact steps and a diff of every file that would change. Read-only:
 * the journal is only read, nothing is written, started or stopped.
 */
#include "rb_internal.h"

#include "pgfold/composecmd.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/retire.h"
#include "pgfold/secrets.h"

#include <stdio.h>
#include <string.h>

static void
app_names(Rb *r, StrBuf *out)
{
	const ServiceContainers *sc = r->app->container_list != NULL
		? &r->app->containers.services[r->index] : NULL;

	for (size_t i = 0; sc != NULL && i < sc->count; i++)
		if (sc->members[i].match != MATCH_NONE && strcmp(sc->members[i].state, "running") == 0)
			sb_appendf(out, "%s%s", out->len ? ", " : "", sc->members[i].name);
}

static void
command(Rb *r, bool with_override, const char *const *extra, StrBuf *out)
{
	char **argv = rb_compose_argv(r, with_override, extra);

	composecmd_line(argv, out);
	composecmd_argv_free(argv);
}

static void
data_steps(Rb *r, StrBuf *out, int *n)
{
	const char *src = r->source[0] ? r->source : r->dump;

	if (r->data == RB_DATA_ORIGINAL)
	{
		sb_appendf(out, "  %d. keep the pre-migration data of \"%s\" in %s as it is; check its "
				   "tables and rows against the counts recorded at migration\n", (*n)++,
				   r->mig.db, r->mig.container);
		return;
	}
	sb_appendf(out, "  %d. create \"%s\" in %s owned by \"%s\" with the locale of \"%s\" "
			   "on the shared instance, and restore %s into it (pg_restore --exit-on-error "
			   "inside the container, fed over exec stdin)\n", (*n)++, r->tmp_db,
			   r->mig.container, r->mig.user, r->mig.shared_db, src);
	sb_appendf(out, "  %d. give \"%s\" the settings and comment of \"%s\", and \"%s\" the "
			   "settings of \"%s\" there (IN DATABASE); ANALYZE\n", (*n)++, r->tmp_db,
			   r->mig.shared_db, r->mig.user, r->mig.role);
	if (r->source[0] == '\0')
		sb_appendf(out, "  %d. verify \"%s\" against \"%s\" on the shared instance: object "
				   "counts, exact rows per table, sequences%s, locale, settings, comment\n",
				   (*n)++, r->tmp_db, r->mig.shared_db,
				   r->opts->deep ? ", content hash per table" : "");
	else
		sb_appendf(out, "  %d. verify \"%s\": tables and rows against what pgfold counted when "
				   "the dump was made\n", (*n)++, r->tmp_db);
	sb_appendf(out, "  %d. rename \"%s\" to \"%s\" and \"%s\" to \"%s\"\n", (*n)++, r->mig.db,
			   r->aside_db, r->tmp_db, r->mig.db);
}

static void
describe(Rb *r, StrBuf *out)
{
	StrBuf apps = STRBUF_INIT, up_db = STRBUF_INIT, up = STRBUF_INIT;
	const char *db_args[] = { "up", "-d", "--no-deps", r->db_key, NULL };
	const char *up_args[] = { "up", "-d", NULL };
	int n = 1;

	app_names(r, &apps);
	command(r, true, db_args, &up_db);
	command(r, false, up_args, &up);
	sb_appendf(out, "  %d. stop the app containers: %s\n", n++,
			   apps.len ? sb_str(&apps) : "none running");
	sb_appendf(out, "  %d. dump \"%s\" (pg_dump -Fc %s%s) to %s (+ .sha256)\n", n++,
			   r->mig.shared_db, r->app->cfg.shared_container[0] ? "in container " : "locally",
			   r->app->cfg.shared_container, r->dump);
	if (rb_retired(r, &(RetireState) { 0 }))
		rb_retired_describe(r, out, n++, sb_str(&up_db));
	else
		sb_appendf(out, "  %d. start %s: %s; wait until pg_isready answers inside it\n", n++,
				   r->mig.container, sb_str(&up_db));
	data_steps(r, out, &n);
	sb_appendf(out, "  %d. write the original %s (diff below) and move %s to %s\n", n++,
			   r->service_rel, r->override_rel, r->override_saved);
	if (r->opts->no_apply)
		sb_appendf(out, "  %d. leave the apps stopped; start them with: %s\n", n++, sb_str(&up));
	else
		sb_appendf(out, "  %d. apply: %s\n", n++, sb_str(&up));
	if (r->data != RB_DATA_ORIGINAL)
		sb_appendf(out, "  %d. drop \"%s\" in %s\n", n++, r->aside_db, r->mig.container);
	if (r->opts->drop_shared)
		sb_appendf(out, "  %d. check the pre-rollback dump's checksum, then drop \"%s\" and role "
				   "\"%s\" on the shared instance, remove %s/%s.txt and the .env variables the "
				   "migration added\n", n++, r->mig.shared_db, r->mig.role, SECRETS_DIR_REL,
				   r->mig.role);
	else
		sb_appendf(out, "  %d. keep \"%s\" and role \"%s\" on the shared instance "
				   "(--drop-shared drops them)\n", n++, r->mig.shared_db, r->mig.role);
	sb_appendf(out, "  %d. log to %s\n", n, r->log_path);
	sb_free(&apps);
	sb_free(&up_db);
	sb_free(&up);
}

/* .env holds passwords: the diff names the keys that go, never values. */
static void
env_diff(Rb *r, StrBuf *out)
{
	StrBuf old_env = STRBUF_INIT, new_env = STRBUF_INIT;
	bool changed = false;
	size_t i;
	json_t *key;

	if (rb_env_without(r, &old_env, &new_env, &changed) && changed)
	{
		char rel[PATH_MAX];

		if (!rb_service_rel(r, r->mig.env_path, rel, sizeof(rel)))
			str_copy(rel, sizeof(rel), r->mig.env_path);
		sb_appendf(out, "--- a/%s\n+++ b/%s\n", rel, rel);
		json_array_foreach(r->mig.env_keys, i, key)
			sb_appendf(out, "-%s=<password>\n", json_string_value(key));
	}
	sb_free_secret(&old_env);
	sb_free_secret(&new_env);
}

static void
diffs(Rb *r, StrBuf *out)
{
	StrBuf cur = STRBUF_INIT;
	bool edited = false, restored = false;

	if (rb_service_state(r, &cur, &edited, &restored) && !restored)
		rb_service_diff(r, &cur, out);
	sb_appendf(out, "rename %s -> %s\n", r->override_rel, r->override_saved);
	rb_app_files_describe(r, out);
	if (r->opts->drop_shared)
	{
		env_diff(r, out);
		sb_appendf(out, "delete %s/%s.txt\n", SECRETS_DIR_REL, r->mig.role);
	}
	sb_free_secret(&cur);
}

static int
exit_code(const Preflight *pf)
{
	if (pf->state != STATE_BLOCKED)
		return EXIT_OK;
	return !pf->engine_reachable ? EXIT_ENGINE : !pf->shared_reachable ? EXIT_SHARED : EXIT_BLOCKED;
}

int
rollback_plan(App *app, size_t index, const RollbackOptions *opts)
{
	StrBuf steps = STRBUF_INIT, files = STRBUF_INIT;
	Preflight pf;
	Rb r;
	int rc;

	memset(&pf, 0, sizeof(pf));
	rb_init(&r, app, index, opts, true);
	if ((rc = rb_begin(&r)) >= 0)
		goto out;
	journal_run_file(app->cfg.backups_dir, service_fsname(r.svc), JOURNAL_ROLLBACK_FILE, r.run_id,
					 ".log", r.log_path, sizeof(r.log_path));
	printf("rollback plan for %s (data: %s)\n", r.svc->name, rollback_data_name(r.data));
	if (r.resuming)
	{
		json_t *last = journal_record(&r.journal, journal_count(&r.journal) - 1);

		printf("\nan interrupted rollback (run %s, last step %s) is pending: `pgfold rollback "
			   "%s` resumes it where it stopped\n", r.run_id, rb_field(last, "step"),
			   r.svc->name);
		rc = EXIT_OK;
		goto out;
	}
	rb_checks(&r, &pf);
	describe(&r, &steps);
	diffs(&r, &files);
	printf("\npre-flight checks:\n");
	preflight_print(stdout, &pf, app->opts->color);
	printf("\nsteps:\n%s\nfiles:\n%s", sb_str(&steps), sb_str(&files));
	rc = exit_code(&pf);
	if (rc == EXIT_OK)
		printf("\nready: run `pgfold rollback %s%s`\n", r.svc->name, opts->yes ? " --yes" : "");
	else
		printf("\nnot ready: %s\n", pf.reason ? pf.reason : "see the checks above");
out:
	preflight_free(&pf);
	sb_free(&steps);
	sb_free(&files);
	rb_free(&r);
	return rc;
}
