/*
 * backups.c — `pgfold backups list|verify|prune`: the dumps under
 * <root>/backups/ and <root>/backups/postgres-migrations/.
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

#include <dirent.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cli_backups_usage[] =
	"usage: pgfold backups list [SERVICE] [--no-checksum] [--json]\n"
	"       pgfold backups verify FILE... | --all [--json]\n"
	"       pgfold backups prune --older-than AGE [--keep-last N] [SERVICE]\n"
	"                            [--yes] [--dry-run] [--json]\n"
	"       pgfold backups test DB... | --all [--latest] [--json]\n"
	"\n"
	"The dumps under <root>/backups/ (db backup, db drop, db restore: kind manual),\n"
	"<root>/backups/postgres-migrations/ (migrate: kind migration; rollback:\n"
	"kind pre-rollback) and <root>/backups/shared/DB/ (`pgfold backup`: kind\n"
	"shared), each with its SHA-256 sidecar FILE.sha256.\n"
	"\n"
	"  list    every dump, oldest first: service (from the journals, the file name,\n"
	"          or the service using the database), kind, time, size and checksum\n"
	"          status (ok, mismatch, missing, invalid; --no-checksum skips hashing:\n"
	"          unchecked) and, for kind shared, the last restore test (ok or\n"
	"          FAILED, with its date; - when never tested)\n"
	"  verify  the sidecar check, then the whole archive read back by pg_restore (as\n"
	"          `pg_restore --list` reads its table of contents, and every data block\n"
	"          after it), counting each table's rows. pg_restore runs on this host\n"
	"          when it is at least as new as the pg_dump that wrote the archive,\n"
	"          else in the shared container or a running database container of the\n"
	"          stack that is\n"
	"  prune   removes dumps (and their sidecars) older than AGE (30d, 12h, 2w,\n"
	"          90m, 45s) and/or beyond the N newest of their service; never the\n"
	"          newest dump of a service, never one a journal still needs (the\n"
	"          migration of a service that was not rolled back, or a run that has\n"
	"          not finished). Without --yes it only shows what it would remove on a\n"
	"          terminal, and refuses without one (exit 2)\n"
	"  test    restore the newest dump of `pgfold backup` of each DB (--all: of\n"
	"          every database under backups/shared; --latest: the dumps of the\n"
	"          newest run only, a database without one there fails) into a\n"
	"          scratch database on the shared instance, as `db restore` loads\n"
	"          (sidecar, version, pg_restore --exit-on-error), compare every\n"
	"          table's rows with the run's manifest, run the standalone\n"
	"          verification of `db verify`, drop the scratch database (also on\n"
	"          failure and Ctrl-C) and record the outcome in FILE.tested\n"
	"\n"
	"  --json  list: an array of {file, service, group, kind, time, size_bytes,\n"
	"          checksum, referenced, newest}; verify: an array of {file, checksum,\n"
	"          archive, ok, ...}; prune: {dry_run, files: [{file, ..., action,\n"
	"          reason}]}; test: an array of {database, file, ok, reason, tables,\n"
	"          rows, seconds} (docs/COMMANDS.md)\n"
	"\n"
	"Exit: 0 done; 1 failure; 2 usage or confirmation needed; 6 a dump failed\n"
	"verification or a restore test; 7 another pgfold holds the stack lock.\n";

/* The path relative to the root, for the table. */
static const char *
rel(const App *app, const char *path)
{
	size_t n = strlen(app->cfg.root);

	return strncmp(path, app->cfg.root, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

static bool
wanted(const BackupFile *f, const char *service)
{
	/* a dump of `pgfold backup` is found by its database too */
	return service == NULL || (f->service && strcmp(f->service, service) == 0)
		|| strcmp(f->group, service) == 0
		|| (f->kind == BACKUP_SHARED && strcmp(f->group + strlen(SHARED_BACKUP_SUBDIR "/"),
											   service) == 0);
}

static void
print_row(const App *app, const BackupFile *f, const char *last)
{
	char when[32], size[32];
	struct tm tm;

	gmtime_r(&f->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	stream_format_bytes(f->size, size, sizeof(size));
	printf("%-58s %-16s %-12s %-19s %10s  %s\n", rel(app, f->path),
		   f->service ? f->service : "-", backups_kind_name(f->kind), when, size, last);
}

/* "ok 2026-12-05", "FAILED 2026-12-05" or "-": the last restore test. */
static const char *
last_test(const BackupFile *f, char *buf, size_t size)
{
	char day[16];
	struct tm tm;

	if (f->tested == 0)
		return "-";
	gmtime_r(&f->tested_when, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	str_format(buf, size, "%s %s", f->tested > 0 ? "ok" : "FAILED", day);
	return buf;
}

static int
bk_list(App *app, InstanceOptions *o, Lock *lock)
{
	const char *service = o->argc > 0 ? o->argv[0] : NULL;
	BackupList list;
	json_t *all = json_array();

	if (!backups_scan(app, !o->no_checksum, &list))
		return exit_hint_get();
	if (!o->json)
		printf("%-58s %-16s %-12s %-19s %10s  %-9s %s\n", "FILE", "SERVICE", "KIND",
			   "TIME (UTC)", "SIZE", "CHECKSUM", "TESTED");
	for (size_t i = 0; i < list.count; i++)
	{
		if (!wanted(&list.items[i], service))
			continue;
		if (o->json)
			json_array_append_new(all, backups_file_json(&list.items[i]));
		else
		{
			char last[64], tested[32];

			str_format(last, sizeof(last), "%-9s %s",
					   backups_checksum_name(list.items[i].checksum),
					   last_test(&list.items[i], tested, sizeof(tested)));
			print_row(app, &list.items[i], last);
		}
	}
	if (o->json)
		cli_print_json(all);
	else
		json_decref(all);
	backups_list_free(&list);
	return EXIT_OK;
}

/* ---- verify ------------------------------------------------------------------- */

static bool
verify_one(App *app, const char *path, bool json, json_t *out)
{
	ChecksumState sum = backups_checksum(path, false);
	ArchiveScan scan;
	bool readable = archive_scan(app, path, &scan);
	bool ok = sum == CHECKSUM_OK && readable;
	json_t *doc = json_pack("{s:s, s:s, s:s, s:b}", "file", path,
							"checksum", backups_checksum_name(sum),
							"archive", readable ? "ok" : "error", "ok", ok);

	if (sum == CHECKSUM_MISSING)
		log_error("%s has no checksum sidecar: it cannot be verified", path);
	else if (sum == CHECKSUM_MISMATCH)
		log_error("%s does not match its checksum sidecar: it was changed or damaged after it "
				  "was written; do not restore from it", path);
	if (scan.header.dump_major > 0)
	{
		char fmt[16];

		str_format(fmt, sizeof(fmt), "%d.%d", scan.header.format_major, scan.header.format_minor);
		json_object_set_new(doc, "format", json_string(fmt));
		json_object_set_new(doc, "pg_dump_version", json_string(scan.header.dump_version));
		json_object_set_new(doc, "server_version", json_string(scan.header.server_version));
		json_object_set_new(doc, "database", json_string(scan.header.database));
		json_object_set_new(doc, "created", json_string(scan.header.created));
	}
	if (readable)
	{
		json_object_set_new(doc, "tables", json_integer((json_int_t) scan.counts.count));
		json_object_set_new(doc, "rows", json_integer((json_int_t) scan.counts.rows));
		json_object_set_new(doc, "tool", json_string(scan.tool));
	}
	if (!json)
		printf("%-8s %s: checksum %s, archive %s\n", ok ? "ok" : "FAILED", rel(app, path),
			   backups_checksum_name(sum), readable ? "readable" : "unreadable");
	if (!json && readable)
		printf("         %zu tables, %lld rows, pg_dump %s of \"%s\" (%s)\n", scan.counts.count,
			   scan.counts.rows, scan.header.dump_version, scan.header.database, scan.tool);
	json_array_append_new(out, doc);
	archive_scan_free(&scan);
	return ok;
}

static int
bk_verify(App *app, InstanceOptions *o, Lock *lock)
{
	BackupList list = { 0 };
	json_t *all = json_array();
	size_t failed = 0, n = 0;

	if ((o->argc == 0) == !o->all)
	{
		json_decref(all);
		return cli_usage_error("backups", "backups verify takes FILE... or --all");
	}
	if (o->all && !backups_scan(app, false, &list))
	{
		json_decref(all);
		return exit_hint_get();
	}
	for (size_t i = 0; i < (o->all ? list.count : (size_t) o->argc); i++, n++)
		failed += !verify_one(app, o->all ? list.items[i].path : o->argv[i], o->json, all);
	if (o->json)
		cli_print_json(all);
	else
	{
		json_decref(all);
		printf("%zu dump(s) checked, %zu failed\n", n, failed);
	}
	backups_list_free(&list);
	return failed ? EXIT_VERIFY : EXIT_OK;
}

/* ---- prune -------------------------------------------------------------------- */

static int
remove_selected(App *app, const BackupList *list, const char **keep, const char *service,
				bool remove, bool json)
{
	json_t *files = json_array();
	size_t removed = 0;
	int rc = EXIT_OK;

	for (size_t i = 0; i < list->count; i++)
	{
		const BackupFile *f = &list->items[i];
		const char *action = keep[i] ? "keep" : remove ? "removed" : "remove";

		if (!wanted(f, service))
			continue;
		if (!keep[i] && remove && !backups_remove(f->path))
		{
			action = "failed";
			rc = EXIT_FAIL;
		}
		removed += !keep[i] && strcmp(action, "removed") == 0;
		if (json)
		{
			json_t *doc = backups_file_json(f);

			json_object_set_new(doc, "action", json_string(action));
			json_object_set_new(doc, "reason", keep[i] ? json_string(keep[i]) : json_null());
			json_array_append_new(files, doc);
		}
		else
			print_row(app, f, keep[i] ? keep[i] : action);
	}
	if (json)
		cli_print_json(json_pack("{s:b, s:o}", "dry_run", !remove, "files", files));
	else
	{
		json_decref(files);
		if (remove)
			printf("%zu dump(s) removed\n", removed);
	}
	return rc;
}

static int
bk_prune(App *app, InstanceOptions *o, Lock *lock)
{
	long long age = -1;
	BackupList list;
	bool remove;
	int rc;

	if (o->older_than == NULL && o->keep_last == 0)
		return cli_usage_error("backups", "backups prune needs --older-than AGE and/or "
							   "--keep-last N");
	if (o->older_than && !backups_parse_age(o->older_than, &age))
		return cli_usage_error("backups", "--older-than takes an age like 30d, 12h, 2w, 90m "
							   "or 45s, not \"%s\"", o->older_than);
	remove = o->yes && !o->dry_run;
	if (!remove && !o->dry_run && !isatty(STDIN_FILENO))
	{
		log_error("not pruning: no terminal to ask on; re-run with --yes to remove, or "
				  "--dry-run to see what would go");
		return EXIT_USAGE;
	}
	if (remove && !lock_acquire(app->cfg.root, "backups prune", lock))
		return exit_hint_get();
	if (!backups_scan(app, false, &list))
		return exit_hint_get();

	const char **keep = xcalloc(list.count + 1, sizeof(char *));

	backups_prune_select(&list, time(NULL), age, o->keep_last, keep);
	if (!o->json && !remove)
		printf("dry run: nothing is removed%s\n", o->dry_run ? "" : " (re-run with --yes)");
	if (!o->json)
		printf("%-58s %-16s %-12s %-19s %10s  %s\n", "FILE", "SERVICE", "KIND", "TIME (UTC)",
			   "SIZE", "ACTION");
	rc = remove_selected(app, &list, keep, o->argc ? o->argv[0] : NULL, remove, o->json);
	free(keep);
	backups_list_free(&list);
	return rc;
}

/* ---- test --------------------------------------------------------------------- */

/* The stamp of the newest run: the greatest <stamp>.json under shared/. */
static bool
newest_run(App *app, char *stamp, size_t size)
{
	char dir[PATH_MAX];
	DIR *d;

	stamp[0] = '\0';
	if (!shared_backup_dir(&app->cfg, dir, sizeof(dir)) || (d = opendir(dir)) == NULL)
		return false;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strlen(e->d_name) == JOURNAL_STAMP_LEN + 5 && str_has_suffix(e->d_name, ".json")
			&& strncmp(e->d_name, stamp, JOURNAL_STAMP_LEN) > 0)
			str_format(stamp, size, "%.*s", JOURNAL_STAMP_LEN, e->d_name);
	closedir(d);
	return stamp[0] != '\0';
}

/* The dump to test in group: its newest; with stamp, the one of that run. */
static const BackupFile *
pick(const BackupList *list, const char *group, const char *stamp)
{
	const BackupFile *found = NULL;
	char suffix[JOURNAL_STAMP_LEN + 8];

	str_format(suffix, sizeof(suffix), "_%s.dump", stamp ? stamp : "");
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].kind == BACKUP_SHARED && strcmp(list->items[i].group, group) == 0
			&& (stamp == NULL || str_has_suffix(list->items[i].path, suffix)))
			found = &list->items[i];
	return found;
}

/* The groups to test: shared/<db> of each DB named, or every one. */
static void
test_groups(const BackupList *list, InstanceOptions *o, char ***groups, size_t *n)
{
	*groups = NULL;
	*n = 0;
	for (int a = 0; a < o->argc; a++)
	{
		StrBuf g = STRBUF_INIT;

		sb_appends(&g, SHARED_BACKUP_SUBDIR "/");
		instance_file_safe(o->argv[a], &g);
		*groups = xrealloc(*groups, *n + 1, sizeof(char *));
		(*groups)[(*n)++] = sb_steal(&g);
	}
	for (size_t i = 0; o->all && i < list->count; i++)
	{
		bool seen = list->items[i].kind != BACKUP_SHARED;

		for (size_t k = 0; k < *n && !seen; k++)
			seen = strcmp((*groups)[k], list->items[i].group) == 0;
		if (!seen)
		{
			*groups = xrealloc(*groups, *n + 1, sizeof(char *));
			(*groups)[(*n)++] = xstrdup(list->items[i].group);
		}
	}
}

static void
report_test(App *app, const RestoreTest *t, const char *group, bool json, json_t *all)
{
	char secs[32];
	const char *db = t->db ? t->db : group + strlen(SHARED_BACKUP_SUBDIR "/");

	if (json)
	{
		json_array_append_new(all, json_pack("{s:s, s:s?, s:b, s:s?, s:I, s:I, s:f}",
											 "database", db, "file", t->file[0] ? t->file : NULL,
											 "ok", t->ok, "reason", t->reason[0] ? t->reason : NULL,
											 "tables", (json_int_t) t->tables,
											 "rows", (json_int_t) t->rows, "seconds", t->seconds));
		return;
	}
	stream_format_duration(t->seconds, secs, sizeof(secs));
	if (t->ok)
		printf("ok       %s: %zu tables, %lld rows match the manifest; verified (%s)\n",
			   rel(app, t->file), t->tables, t->rows, secs);
	else
		printf("FAILED   %s: %s\n", t->file[0] ? rel(app, t->file) : db, t->reason);
}

static int
bk_test(App *app, InstanceOptions *o, Lock *lock)
{
	BackupList list;
	char stamp[JOURNAL_STAMP_LEN + 1] = "";
	char **groups = NULL;
	size_t n = 0, failed = 0;
	json_t *all = json_array();
	int rc;

	if ((o->argc == 0) == !o->all)
	{
		json_decref(all);
		return cli_usage_error("backups", "backups test takes DB... or --all");
	}
	if (!lock_acquire(app->cfg.root, "backups test", lock) || !backups_scan(app, false, &list))
	{
		json_decref(all);
		return exit_hint_get();
	}
	if (o->latest && !newest_run(app, stamp, sizeof(stamp)))
		log_warn("no run of `pgfold backup` under %s/" SHARED_BACKUP_SUBDIR, app->cfg.backups_dir);
	test_groups(&list, o, &groups, &n);
	for (size_t i = 0; i < n && !signals_interrupted(); i++)
	{
		const BackupFile *f = pick(&list, groups[i], o->latest ? stamp : NULL);
		RestoreTest t;

		memset(&t, 0, sizeof(t));
		if (f == NULL)
		{
			str_format(t.reason, sizeof(t.reason), "no dump of `pgfold backup`%s%s",
					   o->latest ? " in the newest run " : "", o->latest ? stamp : "");
			log_error("%s: %s", groups[i] + strlen(SHARED_BACKUP_SUBDIR "/"), t.reason);
		}
		else
			backups_restore_test(app, f->path, &t);
		failed += !t.ok;
		if (!signals_interrupted())
			report_test(app, &t, groups[i], o->json, all);
		free(t.db);
	}
	if (o->json)
		cli_print_json(all);
	else
	{
		json_decref(all);
		printf("%zu dump(s) tested, %zu failed\n", n, failed);
	}
	rc = signals_interrupted() ? EXIT_INTERRUPTED : failed ? EXIT_VERIFY : EXIT_OK;
	instance_names_free(groups, n);
	backups_list_free(&list);
	return rc;
}

static const InstanceSub subs[] = {
	{ "list", 0, 1, IOPT_NO_CHECKSUM, false, bk_list },
	{ "verify", 0, -1, IOPT_ALL, false, bk_verify },
	{ "prune", 0, 1, IOPT_OLDER_THAN | IOPT_KEEP_LAST, false, bk_prune },
	{ "test", 0, -1, IOPT_ALL | IOPT_LATEST, true, bk_test },
};

int
cli_backups_main(const GlobalOptions *g, int argc, char **argv)
{
	return cli_run_instance_command(g, "backups", OPT_CMD_BACKUPS, subs,
									sizeof(subs) / sizeof(subs[0]), argc, argv);
}
