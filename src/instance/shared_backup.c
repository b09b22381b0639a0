/*
 * shared_backup.c — `pgfold backup`: every database of the shared instance,
 * one after another, through the stream `db backup` uses, plus the
 * cluster's globals and a manifest of what each dump holds.
 *
 * The row counts of the manifest are the verification's inventory, taken
 * in the very snapshot pg_dump reads (pg_export_snapshot, then pg_dump
 * --snapshot): on a live database the counts are those of the dump, not of
 * a moment before or after it, so a restore test can demand equality.
 */
#include "pgfold/clock.h"
#include "pgfold/verify.h"
#include "pgfold/instance.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/signals.h"
#include "pgfold/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MANIFEST_MAX (64 * 1024 * 1024)

bool
shared_backup_dir(const Config *cfg, char *out, size_t size)
{
	if (str_format(out, size, "%s/%s", cfg->backups_dir, SHARED_BACKUP_SUBDIR))
		return true;
	log_error("backup path too long under %s", cfg->backups_dir);
	return false;
}

/* ---- which databases ------------------------------------------------------ */

static void
names_add(char ***out, size_t *n, const char *name)
{
	*out = xrealloc(*out, *n + 1, sizeof(char *));
	(*out)[(*n)++] = xstrdup(name);
}

bool
shared_backup_targets(App *app, char **names, int count, char ***out, size_t *n)
{
	InstanceDbList list;

	*out = NULL;
	*n = 0;
	if (!instance_db_list(app, &list))
		return false;
	if (count == 0)
		for (size_t i = 0; i < list.count; i++)
		{
			if (strcmp(list.items[i].name, "postgres") != 0)
				names_add(out, n, list.items[i].name);
		}
	for (int k = 0; k < count; k++)
	{
		bool found = false;
		StrBuf d = STRBUF_INIT;

		for (size_t i = 0; i < list.count && !found; i++)
			found = strcmp(list.items[i].name, names[k]) == 0;
		if (!found)
		{
			log_error("no database %s on the shared instance (see `pgfold db list`)",
					  instance_show(&d, names[k]));
			sb_free(&d);
			exit_hint_set(EXIT_USAGE);
			instance_db_list_free(&list);
			instance_names_free(*out, *n);
			*out = NULL;
			*n = 0;
			return false;
		}
		names_add(out, n, names[k]);
	}
	instance_db_list_free(&list);
	return true;
}

/* ---- one database ---------------------------------------------------------- */

static json_t *
rows_json(const Inventory *inv)
{
	json_t *tables = json_array();

	for (size_t i = 0; i < inv->count; i++)
	{
		const InventoryItem *it = &inv->items[i];
		long long rows = strtoll(it->value, NULL, 10);

		if (strcmp(it->kind, "rows") == 0)
			json_array_append_new(tables, json_pack("{s:s, s:s, s:I}", "schema", it->schema,
													"name", it->name, "rows", (json_int_t) rows));
	}
	return tables;
}

/* Open a repeatable-read transaction on db, export its snapshot, take the
 * inventory in it; the transaction stays open (it must, for pg_dump to
 * import the snapshot) until the caller disconnects. */
static bool
snapshot_and_count(App *app, const char *db, PGconn **conn, StrBuf *snapshot, json_t **tables)
{
	Inventory inv = { 0 };
	bool ok;

	if (!pg_connect_shared(&app->cfg, db, conn))
		return false;
	ok = pg_exec(*conn, "start the backup's snapshot",
				 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
		&& pg_query_scalar(*conn, "export the snapshot", "SELECT pg_catalog.pg_export_snapshot()",
						   0, NULL, snapshot, NULL)
		&& verify_conn_inventory(*conn, false, &inv);
	if (ok)
		*tables = rows_json(&inv);
	inventory_free(&inv);
	return ok;
}

static bool
backup_one(App *app, const SharedBackupRun *run, SharedBackupDb *db)
{
	char dir[PATH_MAX], path[PATH_MAX];
	StrBuf safe = STRBUF_INIT, snapshot = STRBUF_INIT, d = STRBUF_INIT;
	PGconn *conn = NULL;
	bool ok;

	instance_file_safe(db->name, &safe);
	ok = str_format(dir, sizeof(dir), "%s/%s", run->dir, sb_str(&safe))
		&& str_format(path, sizeof(path), "%s/%s_%s.dump", dir, sb_str(&safe), run->stamp);
	if (!ok)
		log_error("backup path too long under %s", run->dir);
	log_notice("backing up %s", instance_show(&d, db->name));
	ok = ok && fs_mkdir_p(dir, 0700)
		&& snapshot_and_count(app, db->name, &conn, &snapshot, &db->tables)
		&& pg_database_size(app->shared, db->name, &db->size_bytes)
		&& instance_backup_at(app, db->name, sb_str(&snapshot), path, &db->dump);
	if (conn != NULL)
	{
		pg_exec(conn, "end the backup's snapshot", "COMMIT");
		pg_disconnect(conn);
	}
	if (!ok)
		log_error("backup of %s failed; going on with the other databases",
				  instance_show(&d, db->name));
	sb_free(&safe);
	sb_free(&snapshot);
	sb_free(&d);
	return ok;
}

/* ---- the manifest -------------------------------------------------------------- */

/* A path under run->dir, as the manifest records it (relative to itself). */
static const char *
under(const SharedBackupRun *run, const char *path)
{
	size_t n = strlen(run->dir);

	return strncmp(path, run->dir, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

static json_t *
dump_entry(const SharedBackupRun *run, const InstanceDumpResult *d)
{
	return json_pack("{s:s, s:s, s:I, s:f}", "file", under(run, d->path), "sha256", d->sha256,
					 "bytes", (json_int_t) d->bytes, "seconds", d->seconds);
}

static bool
write_manifest(App *app, const SharedBackupRun *run, time_t started)
{
	StrBuf version = STRBUF_INIT;
	json_t *dbs = json_array(), *failed = json_array(), *doc;
	char when[32];
	struct tm tm;
	char *text;
	bool ok;

	pg_query_scalar(app->shared, "read the server version", "SHOW server_version", 0, NULL,
					&version, NULL);
	for (size_t i = 0; i < run->count; i++)
	{
		const SharedBackupDb *db = &run->dbs[i];
		json_t *e = json_pack("{s:s, s:b}", "database", db->name, "ok", db->ok);

		if (db->ok)
		{
			json_object_set_new(e, "dump", dump_entry(run, &db->dump));
			json_object_set_new(e, "size_bytes", json_integer(db->size_bytes));
			json_object_set(e, "tables", db->tables);
		}
		else
			json_array_append_new(failed, json_string(db->name));
		json_array_append_new(dbs, e);
	}
	gmtime_r(&started, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:f, s:o, s:o, s:o}", "stamp", run->stamp,
					"started", when, "pgfold", PGFOLD_VERSION, "server_version", sb_str(&version),
					"seconds", run->seconds,
					"globals", run->globals_ok ? dump_entry(run, &run->globals) : json_null(),
					"databases", dbs, "failed", failed);
	text = json_dumps(doc, JSON_INDENT(2));
	ok = text != NULL && fs_write_atomic(run->manifest, text, strlen(text), 0600);
	free(text);
	json_decref(doc);
	sb_free(&version);
	return ok;
}

/* ---- the run ------------------------------------------------------------------- */

/* The run's stamp: now, or the next free second (a manifest is never
 * overwritten). */
static bool
pick_stamp(SharedBackupRun *run, time_t when)
{
	struct stat st;

	do
	{
		if (!journal_stamp(when++, run->stamp)
			|| !str_format(run->manifest, sizeof(run->manifest), "%s/%s.json", run->dir,
						   run->stamp))
		{
			log_error("backup path too long under %s", run->dir);
			return false;
		}
	} while (lstat(run->manifest, &st) == 0);
	return true;
}

bool
shared_backup_run(App *app, char **dbs, size_t count, SharedBackupRun *out)
{
	char globals[PATH_MAX];
	double t0 = clock_now();
	time_t started = time(NULL);

	memset(out, 0, sizeof(*out));
	if (!app_shared(app) || !shared_backup_dir(&app->cfg, out->dir, sizeof(out->dir))
		|| !fs_mkdir_p(out->dir, 0700) || !pick_stamp(out, started))
		return false;
	out->dbs = xcalloc(count ? count : 1, sizeof(SharedBackupDb));
	out->count = count;
	for (size_t i = 0; i < count; i++)
	{
		out->dbs[i].name = xstrdup(dbs[i]);
		out->dbs[i].ok = backup_one(app, out, &out->dbs[i]);
		out->failed += !out->dbs[i].ok;
		/* Ctrl-C ends the run, not just the current database */
		if (signals_interrupted())
			break;
	}
	/* after Ctrl-C, only the manifest of what was done */
	out->globals_ok = !signals_interrupted()
		&& str_format(globals, sizeof(globals), "%s/%s" SHARED_GLOBALS_SUFFIX, out->dir,
					  out->stamp)
		&& instance_backup_globals(app, globals, &out->globals);
	out->failed += !out->globals_ok;
	out->seconds = (clock_now() - t0);
	return write_manifest(app, out, started);
}

void
shared_backup_run_free(SharedBackupRun *run)
{
	for (size_t i = 0; i < run->count; i++)
	{
		free(run->dbs[i].name);
		json_decref(run->dbs[i].tables);
	}
	free(run->dbs);
	memset(run, 0, sizeof(*run));
}

/* ---- reading a manifest back ---------------------------------------------------- */

json_t *
shared_manifest_entry(const char *dump_path)
{
	const char *base = strrchr(dump_path, '/');
	char manifest[PATH_MAX], dir[PATH_MAX], rel[PATH_MAX];
	size_t len = base ? strlen(base + 1) : 0;
	StrBuf text = STRBUF_INIT;
	json_error_t err;
	json_t *doc, *e, *found = NULL;
	size_t i;

	/* <dir>/<db>/<db>_<stamp>.dump → <dir>/<stamp>.json, "<db>/<file>" */
	if (base == NULL || len < JOURNAL_STAMP_LEN + 6
		|| !str_format(dir, sizeof(dir), "%.*s", (int) (base - dump_path), dump_path)
		|| strrchr(dir, '/') == NULL
		|| !str_format(rel, sizeof(rel), "%s/%s", strrchr(dir, '/') + 1, base + 1)
		|| !str_format(manifest, sizeof(manifest), "%.*s/%.*s.json",
					   (int) (strrchr(dir, '/') - dir), dir, JOURNAL_STAMP_LEN,
					   base + 1 + len - 5 - JOURNAL_STAMP_LEN))
	{
		log_error("%s is not a dump of `pgfold backup` (backups/shared/<db>/<db>_<stamp>.dump)",
				  dump_path);
		return NULL;
	}
	if (!fs_read_file(manifest, MANIFEST_MAX, &text))
		return NULL;
	doc = json_loadb(text.data, text.len, 0, &err);
	sb_free(&text);
	if (doc == NULL)
	{
		log_error("%s is not valid JSON (line %d: %s)", manifest, err.line, err.text);
		return NULL;
	}
	json_array_foreach(json_object_get(doc, "databases"), i, e)
	{
		const char *f = json_string_value(json_object_get(json_object_get(e, "dump"), "file"));

		if (f != NULL && strcmp(f, rel) == 0 && json_is_array(json_object_get(e, "tables")))
			found = json_incref(e);
	}
	json_decref(doc);
	if (found == NULL)
		log_error("the manifest %s does not list %s", manifest, rel);
	return found;
}
