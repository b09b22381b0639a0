/*
 * run.c — `pgfold rename OLD NEW`: checks, the plan, one confirmation,
 * the steps on the runner, the journal's complete or abort.
 */
#include "ren_internal.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

#include <stdio.h>
#include <string.h>

static void
plan(const Ren *r)
{
	const RenameOptions *o = r->o;

	if (o->json)
		return;
	printf("%s database \"%s\" to \"%s\" on the shared instance\n", o->dry_run ? "would rename"
		   : "renaming", o->from, o->to);
	printf("  backup    %s\n", o->no_backup ? "none (--no-backup)" : "pg_dump -Fc under backups/ first");
	if (r->sessions > 0)
		printf("  sessions  %d, %s\n%s", r->sessions, o->terminate ? "ended (--terminate)"
			   : "to end first (--terminate)", sb_str(&r->session_lines));
	if (o->role)
		printf("  role      \"%s\" to \"%s\", and its password file\n", o->from, o->to);
	printf("  file      %s\n", r->svc ? r->svc->path
		   : "none (no migrated service of the stack uses this database)");
	if (r->svc != NULL)
		printf("  apps      recreated with compose up -d\n");
}

static void
report(const Ren *r)
{
	if (r->o->json)
	{
		cli_print_json(json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:s?, s:b}", "from", r->o->from,
								 "to", r->o->to, "role", r->o->role, "backup",
								 r->backup[0] ? r->backup : NULL, "service",
								 r->svc ? r->svc->name : NULL, "service_file",
								 r->svc ? r->svc->path : NULL, "dry_run", r->o->dry_run));
		return;
	}
	if (r->o->dry_run)
		return;
	printf("renamed \"%s\" to \"%s\"%s\n", r->o->from, r->o->to, r->o->role ? " (and its role)" : "");
	if (r->backup[0])
		printf("  backup    %s\n", r->backup);
	if (r->svc != NULL)
		printf("  apps      recreated from %s\n", r->svc->path);
	printf("  refs      `pgfold refs %s` lists what else still names it\n", r->o->from);
}

int
rename_run(App *app, const RenameOptions *o)
{
	Ren r;
	Lock lock = LOCK_INIT;
	size_t n;
	const RunnerStep *steps = ren_steps(&n);
	int rc = EXIT_OK;
	char q[512];

	memset(&r, 0, sizeof(r));
	r.app = app;
	r.o = o;
	r.journal = (Journal) JOURNAL_INIT;
	r.svc = rename_find_service(app, o->from);
	str_copy(r.jname, sizeof(r.jname), r.svc ? r.svc->fsname : o->from);
	if (!journal_service_name_valid(r.jname))
		return exit_hint_get();
	if (!o->dry_run && !ren_recover(&r))
		return exit_hint_get();
	if (!ren_check(&r))
	{
		sb_free(&r.session_lines);
		return exit_hint_get();
	}
	if (r.svc != NULL && !o->dry_run && !app_engine(app))
	{
		sb_free(&r.session_lines);
		return exit_hint_get();
	}
	plan(&r);
	sb_free(&r.session_lines);
	if (o->dry_run)
	{
		report(&r);
		return EXIT_OK;
	}
	str_format(q, sizeof(q), "rename database \"%s\" to \"%s\"%s?", o->from, o->to,
			   o->role ? " (and its role)" : "");
	if (!runner_confirm(o->yes, true, q, "rename refused"))
		return exit_hint_get();
	if (!lock_acquire(app->cfg.root, "rename", &lock)
		|| !journal_open(app->cfg.backups_dir, r.jname, &r.journal)
		|| !journal_new_run_id(&r.journal, NULL, r.run_id))
	{
		rc = exit_hint_get();
		goto out;
	}
	r.rn = (Runner) { &r.journal, JOURNAL_RENAME, r.run_id, &r, NULL };
	if (!runner_run(&r.rn, steps, n))
	{
		rc = exit_hint_get();
		if (runner_done(&r.rn, REN_STEP_FILES) != NULL)
			goto out;       /* apply failed: said, not undone */
		runner_undo(&r.rn, steps, n, NULL);
		log_notice("rename of \"%s\" undone: nothing changed%s", o->from,
				   r.backup[0] ? " (the backup is kept)" : "");
		goto out;
	}

	json_t *f = json_pack("{s:s, s:s, s:b}", "from", o->from, "to", o->to, "role", o->role);

	journal_complete(&r.journal, JOURNAL_RENAME, r.run_id, f);
	json_decref(f);
	report(&r);
out:
	journal_close(&r.journal);
	lock_release(&lock);
	return rc;
}
