/*
 * backup.c — `pgfold backup [--all | DB...]`: every database of the shared
 * instance, its globals and a manifest, then the retention of each
 * database backed up (instance.h: shared_backup.c, retention.c).
 */
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/options.h"
#include "pgfold/signals.h"
#include "pgfold/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char cli_backup_usage[] =
	"usage: pgfold backup [--all | DB...] [--keep-daily N] [--keep-weekly N]\n"
	"                     [--keep-monthly N] [--no-retention] [--dry-run] [--json]\n"
	"\n"
	"Back up the shared instance: each database in turn (every one but the\n"
	"templates and postgres with --all or no DB; postgres only when named),\n"
	"through the stream of `db backup` (pg_dump -Fc, SHA-256 sidecar), into\n"
	"backups/shared/DB/DB_<stamp>.dump; then the cluster's globals (roles with\n"
	"their password verifiers, memberships, role settings, tablespaces:\n"
	"pg_dumpall --globals-only) into backups/shared/<stamp>.globals.sql (0600);\n"
	"then the run's manifest backups/shared/<stamp>.json: each database, its\n"
	"size, every table's rows (counted in the snapshot pg_dump read), the server\n"
	"version, checksums and durations. One database failing does not stop the\n"
	"others; the summary names the ones that failed.\n"
	"\n"
	"Then, for each database backed up, retention: the newest good dump of each\n"
	"of the last N days, ISO weeks and months that have one stays, the others\n"
	"go. Never the newest dump of a database, nor its newest good one (sidecar\n"
	"there, no failed restore test), nor one a journal still needs. A run's\n"
	"manifest and globals go with the last of its dumps (never the newest run's).\n"
	"\n"
	"  --all             every database (the default when no DB is named)\n"
	"  --keep-daily N    daily dumps kept (default 7)\n"
	"  --keep-weekly N   weekly dumps kept (default 4)\n"
	"  --keep-monthly N  monthly dumps kept (default 6)\n"
	"  --no-retention    remove nothing\n"
	"  --dry-run         list the databases and what retention would remove now;\n"
	"                    dump nothing, remove nothing\n"
	"  --json            {stamp, manifest, seconds, databases: [{database, ok,\n"
	"                    file, bytes, sha256}], globals, failed, retention:\n"
	"                    [{file, action, reason}]} (docs/COMMANDS.md)\n"
	"\n"
	"Exit: 0 every database and the globals backed up; 8 some failed (the others\n"
	"were backed up; the summary and the manifest name them); 1 failure; 2 usage;\n"
	"5 shared instance unreachable; 7 another pgfold holds the stack lock;\n"
	"130 interrupted.\n";

typedef struct BackupOptions
{
	bool            all, retention, dry_run, json;
	RetentionPolicy policy;
	char          **dbs;
	int             ndbs;
} BackupOptions;

static int
parse(const GlobalOptions *g, int argc, char **argv, BackupOptions *o)
{
	RetentionPolicy def = RETENTION_DEFAULT;
	OptParser p;
	int id;

	memset(o, 0, sizeof(*o));
	o->policy = def;
	o->retention = true;
	o->dry_run = g->dry_run;
	o->json = g->json;
	opt_init(&p, "backup", NULL, OPT_CMD_BACKUP, 0, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_ALL: o->all = true; break;
			case OPT_NO_RETENTION: o->retention = false; break;
			case OPT_KEEP_DAILY: o->policy.daily = p.num; break;
			case OPT_KEEP_WEEKLY: o->policy.weekly = p.num; break;
			case OPT_KEEP_MONTHLY: o->policy.monthly = p.num; break;
		}
	}
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	o->dbs = p.pos;
	o->ndbs = p.npos;
	if (o->all && o->ndbs > 0)
		return cli_usage_error("backup", "backup takes --all or database names, not both");
	for (int i = 0; i < o->ndbs; i++)
		if (o->dbs[i][0] == '\0')
			return cli_usage_error("backup", "backup: empty database name");
	return EXIT_OK;
}

/* The path relative to the root, for the summary. */
static const char *
rel(const App *app, const char *path)
{
	size_t n = strlen(app->cfg.root);

	return strncmp(path, app->cfg.root, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

/* ---- retention ----------------------------------------------------------------- */

static bool
is_file(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool
group_of(const char *db, char *out, size_t size)
{
	StrBuf safe = STRBUF_INIT;
	bool ok;

	instance_file_safe(db, &safe);
	ok = str_format(out, size, SHARED_BACKUP_SUBDIR "/%s", sb_str(&safe));
	sb_free(&safe);
	return ok;
}

/* A run's manifest and globals go once none of its dumps stays. */
static bool
runs_retention(App *app, const BackupList *list, const char **keep, const bool *mine,
			   bool remove, bool json, json_t *out)
{
	bool *stays = xcalloc(list->count + 1, sizeof(bool));
	char **stamps = NULL, dir[PATH_MAX], path[PATH_MAX];
	size_t n = 0;
	bool ok = true;

	for (size_t i = 0; i < list->count; i++)
		stays[i] = !mine[i] || keep[i] != NULL;
	if (!shared_backup_dir(&app->cfg, dir, sizeof(dir))
		|| !shared_runs_unused(&app->cfg, list, stays, &stamps, &n))
		ok = false;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++)
		{
			const char *action = remove ? "removed" : "would remove";

			if (!str_format(path, sizeof(path), "%s/%s%s", dir, stamps[i],
							k ? SHARED_GLOBALS_SUFFIX : ".json") || !is_file(path))
				continue;
			if (remove && !backups_remove(path))
			{
				action = "failed";
				ok = false;
			}
			json_array_append_new(out, json_pack("{s:s, s:s, s:n}", "file", path,
												 "action", action, "reason"));
			if (!json)
				printf("  %-13s %s\n", action, rel(app, path));
		}
	instance_names_free(stamps, n);
	free(stays);
	return ok;
}

/* Retention over the groups of the databases in dbs; remove: do it. */
static bool
retention(App *app, char **dbs, size_t n, const RetentionPolicy *policy, bool remove,
		  bool json, json_t *out)
{
	BackupList list;
	const char **keep;
	char group[PATH_MAX];
	bool *mine, ok = true;

	if (!backups_scan(app, false, &list))
		return false;
	keep = xcalloc(list.count + 1, sizeof(char *));
	mine = xcalloc(list.count + 1, sizeof(bool));
	for (size_t d = 0; d < n; d++)
	{
		if (!group_of(dbs[d], group, sizeof(group)))
			continue;
		backups_retention_select(&list, group, policy, keep);
		for (size_t i = 0; i < list.count; i++)
			mine[i] = mine[i] || strcmp(list.items[i].group, group) == 0;
	}
	for (size_t i = 0; i < list.count; i++)
	{
		const char *action = keep[i] ? "keep" : remove ? "removed" : "would remove";

		if (!mine[i])
			continue;
		if (!keep[i] && remove && !backups_remove(list.items[i].path))
		{
			action = "failed";
			ok = false;
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:s?}", "file", list.items[i].path,
											 "action", action, "reason", keep[i]));
		if (!json && !keep[i])
			printf("  %-13s %s\n", action, rel(app, list.items[i].path));
	}
	ok = runs_retention(app, &list, keep, mine, remove, json, out) && ok;
	free(keep);
	free(mine);
	backups_list_free(&list);
	return ok;
}

/* ---- the run --------------------------------------------------------------------- */

static json_t *
dump_json(const InstanceDumpResult *d)
{
	return json_pack("{s:s, s:s, s:I, s:f}", "file", d->path, "sha256", d->sha256,
					 "bytes", (json_int_t) d->bytes, "seconds", d->seconds);
}

static void
print_summary(const App *app, const SharedBackupRun *run)
{
	char size[32], secs[32];
	StrBuf d = STRBUF_INIT;

	stream_format_duration(run->seconds, secs, sizeof(secs));
	printf("backup %s: %zu database(s), %zu failed, in %s\n", run->stamp, run->count,
		   run->failed - !run->globals_ok, secs);
	for (size_t i = 0; i < run->count; i++)
	{
		const SharedBackupDb *db = &run->dbs[i];

		stream_format_bytes(db->dump.bytes, size, sizeof(size));
		printf("  %-7s %-24s %s%s%s\n", db->ok ? "ok" : "FAILED", instance_show(&d, db->name),
			   db->ok ? rel(app, db->dump.path) : "", db->ok ? "  " : "", db->ok ? size : "");
	}
	printf("  %-7s %-24s %s\n", run->globals_ok ? "ok" : "FAILED", "(globals)",
		   run->globals_ok ? rel(app, run->globals.path) : "");
	printf("manifest: %s\n", rel(app, run->manifest));
	if (run->failed > 0)
	{
		printf("failed:");
		for (size_t i = 0; i < run->count; i++)
			if (!run->dbs[i].ok)
				printf(" %s", instance_show(&d, run->dbs[i].name));
		printf("%s\n", run->globals_ok ? "" : " (globals)");
	}
	sb_free(&d);
}

static json_t *
run_json(const SharedBackupRun *run, json_t *kept)
{
	json_t *dbs = json_array(), *failed = json_array();

	for (size_t i = 0; i < run->count; i++)
	{
		json_t *e = run->dbs[i].ok ? dump_json(&run->dbs[i].dump) : json_object();

		json_object_set_new(e, "database", json_string(run->dbs[i].name));
		json_object_set_new(e, "ok", json_boolean(run->dbs[i].ok));
		json_array_append_new(dbs, e);
		if (!run->dbs[i].ok)
			json_array_append_new(failed, json_string(run->dbs[i].name));
	}
	if (!run->globals_ok)
		json_array_append_new(failed, json_string("(globals)"));
	return json_pack("{s:s, s:s, s:f, s:b, s:o, s:o, s:o, s:o}", "stamp", run->stamp,
					 "manifest", run->manifest, "seconds", run->seconds, "dry_run", false,
					 "databases", dbs, "globals", run->globals_ok ? dump_json(&run->globals)
					 : json_null(), "failed", failed, "retention", kept);
}

static int
dry_run(App *app, const BackupOptions *o, char **dbs, size_t n)
{
	json_t *names = json_array(), *kept = json_array();
	StrBuf d = STRBUF_INIT;
	bool ok;

	if (!o->json)
	{
		printf("dry run: would back up %zu database(s) and the globals:", n);
		for (size_t i = 0; i < n; i++)
			printf(" %s", instance_show(&d, dbs[i]));
		printf("\n%s\n", o->retention ? "retention now:" : "no retention (--no-retention)");
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(names, json_string(dbs[i]));
	ok = !o->retention || retention(app, dbs, n, &o->policy, false, o->json, kept);
	if (o->json)
		cli_print_json(json_pack("{s:b, s:o, s:o}", "dry_run", true, "databases", names,
								 "retention", kept));
	else
	{
		json_decref(names);
		json_decref(kept);
	}
	sb_free(&d);
	return ok ? EXIT_OK : exit_hint_get();
}

static int
backup_main(App *app, void *ctx, Lock *lock)
{
	const BackupOptions *o = ctx;
	char **dbs = NULL, **done;
	size_t n = 0, ndone = 0;
	SharedBackupRun run;
	json_t *kept = json_array();
	int rc = EXIT_OK;

	if (!shared_backup_targets(app, o->dbs, o->ndbs, &dbs, &n))
	{
		json_decref(kept);
		return exit_hint_get();
	}
	if (o->dry_run)
	{
		json_decref(kept);
		rc = dry_run(app, o, dbs, n);
		instance_names_free(dbs, n);
		return rc;
	}
	if (!lock_acquire(app->cfg.root, "backup", lock) || !shared_backup_run(app, dbs, n, &run))
	{
		json_decref(kept);
		instance_names_free(dbs, n);
		return exit_hint_get();
	}
	if (!o->json)
		print_summary(app, &run);
	/* retention only for the databases this run backed up */
	done = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < run.count; i++)
		if (run.dbs[i].ok)
			done[ndone++] = run.dbs[i].name;
	if (o->retention && ndone > 0 && !signals_interrupted()
		&& !retention(app, done, ndone, &o->policy, true, o->json, kept))
		rc = EXIT_FAIL;
	free(done);
	if (o->json)
		cli_print_json(run_json(&run, kept));
	else
		json_decref(kept);
	if (signals_interrupted())
		rc = EXIT_INTERRUPTED;
	else if (run.failed > 0)
		rc = EXIT_PARTIAL;
	shared_backup_run_free(&run);
	instance_names_free(dbs, n);
	return rc;
}

int
cli_backup_main(const GlobalOptions *g, int argc, char **argv)
{
	BackupOptions o;
	int rc = parse(g, argc, argv, &o);

	if (rc != EXIT_OK)
		return rc;
	return instance_main(g, true, backup_main, &o);
}
