/*
 * restore_test.c — `pgfold backups test`: prove a dump of `pgfold backup`
 * restores, into a scratch database on the shared instance.
 *
 * The sidecar only proves the file is what pg_dump wrote; the manifest
 * proves it is what the database held: its row counts were taken in the
 * snapshot pg_dump read, so any difference after a restore means the dump
 * does not hold the data (written wrong, or changed before its sidecar).
 * The scratch database is dropped whatever happened, and the outcome is
 * recorded next to the dump (<dump>.tested) for `backups list` and status.
 */
#include "pgfold/clock.h"
#include "pgfold/verify.h"
#include "pgfold/instance.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TESTED_MAX      (64 * 1024)
#define MAX_SHOWN_DIFFS 20

static bool
tested_path(const char *file, char *out, size_t size)
{
	return str_format(out, size, "%s" SHARED_TESTED_SUFFIX, file);
}

bool
backups_tested_read(const char *file, time_t *when, bool *ok)
{
	char path[PATH_MAX];
	StrBuf text = STRBUF_INIT;
	bool exists = false, valid = false;
	json_t *doc = NULL;
	struct tm tm;
	const char *t, *outcome, *end;
	LogLevel level = log_get_level();

	/* a damaged record is as good as none: nothing logged */
	log_set_level(LOG_FATAL);
	if (tested_path(file, path, sizeof(path))
		&& fs_read_file_if_exists(path, TESTED_MAX, &text, &exists) && exists)
		doc = json_loadb(text.data, text.len, 0, NULL);
	log_set_level(level);
	t = json_string_value(json_object_get(doc, "time"));
	outcome = json_string_value(json_object_get(doc, "outcome"));
	memset(&tm, 0, sizeof(tm));
	if (t != NULL && outcome != NULL && (end = strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm)) != NULL
		&& *end == '\0')
	{
		*when = timegm(&tm);
		*ok = strcmp(outcome, "ok") == 0;
		valid = true;
	}
	json_decref(doc);
	sb_free(&text);
	return valid;
}

static bool
tested_write(const RestoreTest *t, const char *scratch)
{
	char path[PATH_MAX], when[32];
	time_t now = time(NULL);
	struct tm tm;
	json_t *doc;
	char *text;
	bool ok;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	doc = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:I, s:I, s:f}", "time", when,
					"outcome", t->ok ? "ok" : "failed", "database", t->db,
					"reason", t->reason, "scratch_database", scratch,
					"tables", (json_int_t) t->tables, "rows", (json_int_t) t->rows,
					"seconds", t->seconds);
	text = json_dumps(doc, JSON_INDENT(2));
	ok = text != NULL && tested_path(t->file, path, sizeof(path))
		&& fs_write_atomic(path, text, strlen(text), 0600);
	free(text);
	json_decref(doc);
	return ok;
}

static const InventoryItem *
find_rows(const Inventory *inv, const char *schema, const char *name)
{
	for (size_t i = 0; i < inv->count; i++)
		if (strcmp(inv->items[i].kind, "rows") == 0 && strcmp(inv->items[i].schema, schema) == 0
			&& strcmp(inv->items[i].name, name) == 0)
			return &inv->items[i];
	return NULL;
}

/* Every table of the manifest holds its rows in the scratch copy, and the
 * copy has no table the manifest lacks. */
static bool
compare_manifest(const json_t *tables, const Inventory *inv, const char *file, RestoreTest *out)
{
	StrBuf s = STRBUF_INIT, n = STRBUF_INIT;
	size_t bad = 0, i, listed = 0;
	json_t *e;

	json_array_foreach(tables, i, e)
	{
		const char *schema = json_string_value(json_object_get(e, "schema"));
		const char *name = json_string_value(json_object_get(e, "name"));
		long long want = json_integer_value(json_object_get(e, "rows")), have = -1;
		const InventoryItem *it = schema && name ? find_rows(inv, schema, name) : NULL;

		if (it != NULL)
			have = strtoll(it->value, NULL, 10);
		out->rows += have > 0 ? have : 0;
		listed++;
		if (have != want && bad++ < MAX_SHOWN_DIFFS)
			log_error("%s: table %s.%s: %lld rows in the manifest, %lld restored", file,
					  instance_show(&s, schema ? schema : "?"), instance_show(&n, name ? name : "?"),
					  want, have);
	}
	for (size_t k = 0; k < inv->count; k++)
		if (strcmp(inv->items[k].kind, "rows") == 0)
			out->tables++;
	if (out->tables != listed && bad++ < MAX_SHOWN_DIFFS)
		log_error("%s: %zu tables restored, the manifest lists %zu", file, out->tables, listed);
	sb_free(&s);
	sb_free(&n);
	if (bad > 0)
		str_format(out->reason, sizeof(out->reason), "%zu difference(s) between the restored "
				   "copy and the manifest's row counts", bad);
	return bad == 0;
}

/* The standalone verification (`db verify`) on the scratch copy. */
static bool
sanity(App *app, const char *scratch, RestoreTest *out)
{
	PGconn *conn = NULL;
	SanityReport rep;
	bool ok;

	if (!pg_connect_shared(&app->cfg, scratch, &conn))
		return false;
	ok = instance_db_sanity(conn, false, &rep);
	pg_disconnect(conn);
	for (size_t i = 0; ok && i < rep.count; i++)
		if (rep.checks[i].status == CHECK_STATUS_FAIL)
			log_error("%s: verification of the restored copy: %s: %s", out->file,
					  rep.checks[i].name, rep.checks[i].detail);
	if (ok && rep.failures > 0)
		str_format(out->reason, sizeof(out->reason), "the verification of the restored copy "
				   "found %zu problem(s)", rep.failures);
	ok = ok && rep.failures == 0;
	instance_sanity_free(&rep);
	return ok;
}

static void
scratch_name(const char *file, char out[64])
{
	char hex[FS_SHA256_HEX_LEN + 1];

	fs_sha256_bytes(file, strlen(file), hex);
	str_format(out, 64, "pgfold_test_%.12s", hex);
}

bool
backups_restore_test(App *app, const char *file, RestoreTest *out)
{
	char scratch[64];
	json_t *entry;
	Inventory inv = { 0 };
	double t0;
	bool ok;

	memset(out, 0, sizeof(*out));
	str_copy(out->file, sizeof(out->file), file);
	t0 = clock_now();
	scratch_name(file, scratch);
	entry = shared_manifest_entry(file);
	if (entry == NULL)
		str_copy(out->reason, sizeof(out->reason), "no manifest entry for this dump");
	else
		out->db = xstrdup(json_string_value(json_object_get(entry, "database")));
	ok = entry != NULL && instance_restore_scratch(app, file, scratch);
	if (entry != NULL && !ok && out->reason[0] == '\0')
		str_copy(out->reason, sizeof(out->reason), "the restore failed (see the log)");
	if (ok && !verify_shared_inventory(app, scratch, false, &inv))
	{
		ok = false;
		str_copy(out->reason, sizeof(out->reason), "cannot take the restored copy's inventory");
	}
	ok = ok && compare_manifest(json_object_get(entry, "tables"), &inv, file, out)
		&& sanity(app, scratch, out);
	if (!ok && out->reason[0] == '\0')
		str_copy(out->reason, sizeof(out->reason), "the verification failed (see the log)");
	inventory_free(&inv);
	json_decref(entry);
	/* also after a failure or Ctrl-C: a scratch copy must not stay behind */
	if (app->shared != NULL && !pg_drop_database(app->shared, scratch, true))
		log_error("the scratch database %s was not dropped; drop it with `pgfold db drop %s "
				  "--no-backup --yes`", scratch, scratch);
	out->seconds = clock_now() - t0;
	out->ok = ok;
	if (signals_interrupted())
	{
		/* an interrupted test says nothing about the dump: no record */
		exit_hint_set(EXIT_INTERRUPTED);
		return false;
	}
	if (!tested_write(out, scratch))
		return false;
	if (!ok)
		exit_hint_set(EXIT_VERIFY);
	return ok;
}
