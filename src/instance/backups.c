/*
 * backups.c — the dumps under backups/: what each one is, whether it is
 * intact, and which ones may go.
 *
 * Names say most of it (migrate and rollback write
 * postgres-migrations/<service>_<stamp>.dump and
 * <service>_pre_rollback_<stamp>.dump, `db backup` writes
 * <db>_<stamp>.dump), the journals say the rest: which dumps belong to a
 * migration that is live (never pruned: it is how a rollback gets the
 * data back) or to a run that has not finished.
 */
#include "pgfold/instance.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRE_ROLLBACK_MARK   "_" JOURNAL_PRE_ROLLBACK
#define PRE_ROLLBACK_SUFFIX "_pre_rollback"

const char *
backups_kind_name(BackupKind kind)
{
	static const char *const names[] = { "migration", "pre-rollback", "manual", "shared" };

	return names[kind];
}

const char *
backups_checksum_name(ChecksumState state)
{
	static const char *const names[] = { "unchecked", "ok", "mismatch", "missing", "invalid" };

	return names[state];
}

bool
backups_parse_age(const char *text, long long *seconds)
{
	static const struct { char unit; long long factor; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 }
	};
	size_t len = text ? strlen(text) : 0;
	char num[32];
	long n = 0;

	if (len < 2 || len >= sizeof(num))
		return false;
	memcpy(num, text, len - 1);
	num[len - 1] = '\0';
	if (!str_to_long(num, 0, 100000000L, &n))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (text[len - 1] == units[i].unit)
		{
			*seconds = n * units[i].factor;
			return true;
		}
	return false;
}

/* "YYYYmmddTHHMMSSZ" at s (exactly len bytes) → UTC time. */
static bool
stamp_time(const char *s, size_t len, time_t *out)
{
	struct tm tm;
	const char *end;

	if (len != JOURNAL_STAMP_LEN)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (end != s + len)
		return false;
	*out = timegm(&tm);
	return true;
}

/* Split "<prefix>_<stamp>.dump"; false when the name has no stamp. */
static bool
split_name(const char *name, char *prefix, size_t size, time_t *when)
{
	size_t len = strlen(name);

	if (len < JOURNAL_STAMP_LEN + 7 || !str_has_suffix(name, ".dump"))
		return false;

	const char *stamp = name + len - 5 - JOURNAL_STAMP_LEN;

	if (stamp[-1] != '_' || !stamp_time(stamp, JOURNAL_STAMP_LEN, when))
		return false;
	return str_format(prefix, size, "%.*s", (int) (stamp - 1 - name), name);
}

ChecksumState
backups_checksum(const char *path, bool quiet)
{
	char side[PATH_MAX], want[FS_SHA256_HEX_LEN + 1], have[FS_SHA256_HEX_LEN + 1];
	struct stat st;
	LogLevel level = log_get_level();
	ChecksumState state;

	if (!fs_sha256_sidecar_path(path, side, sizeof(side)) || lstat(side, &st) != 0)
		return CHECKSUM_MISSING;
	if (quiet)
		log_set_level(LOG_FATAL);
	if (!fs_sha256_sidecar_read(path, want))
		state = CHECKSUM_INVALID;
	else if (!fs_sha256_file(path, have, NULL))
		state = CHECKSUM_INVALID;
	else
		state = strcmp(want, have) == 0 ? CHECKSUM_OK : CHECKSUM_MISMATCH;
	log_set_level(level);
	return state;
}

/* ---- journals --------------------------------------------------------------- */

typedef struct JournalRefs
{
	char      **paths;       /* dumps named by a journal */
	char      **services;    /* the journal's service, parallel */
	BackupKind *kinds;
	bool       *live;        /* protected: live migration or unfinished run */
	size_t      count;
	InstanceServiceMap db_services;   /* who uses a database: manual dumps' owners */
} JournalRefs;

static void
refs_add(JournalRefs *refs, const char *path, const char *service, BackupKind kind, bool live)
{
	for (size_t i = 0; i < refs->count; i++)
		if (strcmp(refs->paths[i], path) == 0)
		{
			refs->live[i] = refs->live[i] || live;
			return;
		}
	refs->paths = xrealloc(refs->paths, refs->count + 1, sizeof(char *));
	refs->services = xrealloc(refs->services, refs->count + 1, sizeof(char *));
	refs->kinds = xrealloc(refs->kinds, refs->count + 1, sizeof(BackupKind));
	refs->live = xrealloc(refs->live, refs->count + 1, sizeof(bool));
	refs->paths[refs->count] = xstrdup(path);
	refs->services[refs->count] = xstrdup(service);
	refs->kinds[refs->count] = kind;
	refs->live[refs->count++] = live;
}

static void
refs_free(JournalRefs *refs)
{
	for (size_t i = 0; i < refs->count; i++)
	{
		free(refs->paths[i]);
		free(refs->services[i]);
	}
	free(refs->paths);
	free(refs->services);
	free(refs->kinds);
	free(refs->live);
	instance_service_map_free(&refs->db_services);
	memset(refs, 0, sizeof(*refs));
}

/* A run may still need its dumps when it is the live migration, or when it
 * neither completed nor was aborted (a re-run resumes it). */
static bool
run_protected(const Journal *j, const JournalRun *run, const char *migrated)
{
	if (migrated != NULL && strcmp(run->run, migrated) == 0)
		return true;
	return !run->complete && journal_step(j, run->run, JOURNAL_STEP_ABORT) == NULL;
}

static void
journal_refs(const Journal *j, const char *service, JournalRefs *refs)
{
	JournalRun *runs = NULL;
	size_t nruns = journal_runs(j, &runs);
	const char *migrated = NULL;

	journal_is_migrated(j, &migrated);
	for (size_t i = 0; i < journal_count(j); i++)
	{
		json_t *rec = journal_record(j, i), *value;
		const char *run = json_string_value(json_object_get(rec, "run")), *key;
		bool live = false, schema = false;
		BackupKind kind = BACKUP_MIGRATION;

		for (size_t k = 0; k < nruns; k++)
			if (strcmp(runs[k].run, run) == 0)
			{
				live = run_protected(j, &runs[k], migrated);
				kind = runs[k].op == JOURNAL_ROLLBACK ? BACKUP_PRE_ROLLBACK : BACKUP_MIGRATION;
				/* `schema up`'s backup is a `db backup` (manual) dump, never needed later */
				schema = runs[k].op == JOURNAL_SCHEMA;
			}
		if (schema)
			continue;
		json_object_foreach(rec, key, value)
		{
			const char *s = json_string_value(value);

			if (s != NULL && s[0] == '/' && str_has_suffix(s, ".dump"))
				refs_add(refs, s, service, strstr(s, PRE_ROLLBACK_MARK) ? BACKUP_PRE_ROLLBACK
						 : kind, live);
		}
	}
	free(runs);
}

/* opendir, where a missing directory is an empty one: *d = NULL, true. */
static bool
open_dir(const char *dir, DIR **d)
{
	*d = opendir(dir);
	if (*d != NULL || errno == ENOENT)
		return true;
	log_error("cannot read %s: %s", dir, strerror(errno));
	return false;
}

void
instance_names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

static bool
load_journals(const char *backups_dir, JournalRefs *refs)
{
	char **services = NULL;
	size_t count = 0;

	if (!journal_services(backups_dir, &services, &count))
		return false;
	for (size_t i = 0; i < count; i++)
	{
		Journal j = JOURNAL_INIT;
		bool exists = false;

		if (!journal_load(backups_dir, services[i], &j, &exists))
			continue;
		journal_refs(&j, services[i], refs);
		journal_close(&j);
	}
	instance_names_free(services, count);
	return true;
}

/* ---- scanning ---------------------------------------------------------------- */

static bool
same_file(const char *a, const char *b)
{
	const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');

	return strcmp(a, b) == 0 || (ba && bb && strcmp(ba, bb) == 0 && strstr(a, "/" JOURNAL_SUBDIR "/")
								 && strstr(b, "/" JOURNAL_SUBDIR "/"));
}

/* Where a directory's dumps come from. */
typedef enum ScanWhere { SCAN_BACKUPS, SCAN_JOURNAL_DIR, SCAN_SHARED } ScanWhere;

static void
describe(App *app, BackupFile *f, const char *name, ScanWhere where, const JournalRefs *refs)
{
	bool in_journal_dir = where == SCAN_JOURNAL_DIR;

	char prefix[NAME_MAX + 1];
	time_t when = 0;
	bool stamped = split_name(name, prefix, sizeof(prefix), &when);

	if (!stamped)
		str_format(prefix, sizeof(prefix), "%.*s", (int) (strlen(name) - 5), name);
	else
		f->when = when;
	if (where == SCAN_SHARED)
	{
		const char *svc = instance_service_map_find(&refs->db_services, prefix);
		char side[PATH_MAX];
		struct stat st;

		f->kind = BACKUP_SHARED;
		f->service = svc ? xstrdup(svc) : NULL;
		f->sidecar = fs_sha256_sidecar_path(f->path, side, sizeof(side)) && lstat(side, &st) == 0;
		bool ok = false;

		if (backups_tested_read(f->path, &f->tested_when, &ok))
			f->tested = ok ? 1 : -1;
		/* a group of its own: retention and prune count these apart */
		StrBuf g = STRBUF_INIT;

		sb_appendf(&g, SHARED_BACKUP_SUBDIR "/%s", prefix);
		f->group = sb_steal(&g);
		for (size_t i = 0; i < refs->count; i++)
			f->referenced = f->referenced || (same_file(refs->paths[i], f->path) && refs->live[i]);
		return;
	}
	if (!in_journal_dir)
	{
		f->kind = BACKUP_MANUAL;
		const char *svc = instance_service_map_find(&refs->db_services, prefix);

		f->service = svc ? xstrdup(svc) : NULL;
	}
	else if (stamped && str_has_suffix(prefix, PRE_ROLLBACK_SUFFIX)
			 && strlen(prefix) > strlen(PRE_ROLLBACK_SUFFIX))
	{
		f->kind = BACKUP_PRE_ROLLBACK;
		f->service = xstrndup(prefix, strlen(prefix) - strlen(PRE_ROLLBACK_SUFFIX));
	}
	else
	{
		f->kind = BACKUP_MIGRATION;
		f->service = stamped ? xstrdup(prefix) : NULL;
	}
	for (size_t i = 0; i < refs->count; i++)
		if (same_file(refs->paths[i], f->path))
		{
			free(f->service);
			f->service = xstrdup(refs->services[i]);
			f->kind = refs->kinds[i];
			f->referenced = refs->live[i];
		}
	f->group = xstrdup(f->service ? f->service : prefix);
}

static bool
scan_dir(App *app, const char *dir, ScanWhere where, const JournalRefs *refs,
		 bool verify, BackupList *out)
{
	DIR *d = NULL;

	if (!open_dir(dir, &d))
		return false;
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
	{
		struct stat st;
		BackupFile f;

		memset(&f, 0, sizeof(f));
		if (!str_has_suffix(e->d_name, ".dump") || e->d_name[0] == '.'
			|| !str_format(f.path, sizeof(f.path), "%s/%s", dir, e->d_name)
			|| lstat(f.path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		f.size = (uint64_t) st.st_size;
		f.when = st.st_mtime;
		describe(app, &f, e->d_name, where, refs);
		f.checksum = verify ? backups_checksum(f.path, true) : CHECKSUM_UNCHECKED;
		out->items = xrealloc(out->items, out->count + 1, sizeof(BackupFile));
		out->items[out->count++] = f;
	}
	if (d != NULL)
		closedir(d);
	return true;
}

/* backups/shared/<db>/: one directory per database. */
static bool
scan_shared(App *app, const JournalRefs *refs, bool verify, BackupList *out)
{
	char top[PATH_MAX], dir[PATH_MAX];
	DIR *d = NULL;
	bool ok = true;

	if (!shared_backup_dir(&app->cfg, top, sizeof(top)) || !open_dir(top, &d))
		return false;
	for (struct dirent *e; ok && d != NULL && (e = readdir(d)) != NULL;)
	{
		struct stat st;

		if (e->d_name[0] == '.' || !str_format(dir, sizeof(dir), "%s/%s", top, e->d_name)
			|| lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		ok = scan_dir(app, dir, SCAN_SHARED, refs, verify, out);
	}
	if (d != NULL)
		closedir(d);
	return ok;
}

static int
by_time(const void *a, const void *b)
{
	const BackupFile *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->path, y->path);
}

bool
backups_scan(App *app, bool verify_checksums, BackupList *out)
{
	char jdir[PATH_MAX];
	JournalRefs refs = { 0 };
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!journal_dir_path(app->cfg.backups_dir, jdir, sizeof(jdir)))
		return false;
	instance_service_map_build(app, &refs.db_services);
	ok = load_journals(app->cfg.backups_dir, &refs)
		&& scan_dir(app, app->cfg.backups_dir, SCAN_BACKUPS, &refs, verify_checksums, out)
		&& scan_dir(app, jdir, SCAN_JOURNAL_DIR, &refs, verify_checksums, out)
		&& scan_shared(app, &refs, verify_checksums, out);
	refs_free(&refs);
	if (out->count > 1)
		qsort(out->items, out->count, sizeof(BackupFile), by_time);
	/* newest of each group: the last one in time order */
	for (size_t i = out->count; i-- > 0;)
	{
		bool later = false;

		for (size_t k = i + 1; k < out->count && !later; k++)
			later = strcmp(out->items[k].group, out->items[i].group) == 0;
		out->items[i].newest = !later;
	}
	return ok;
}

void
backups_list_free(BackupList *list)
{
	for (size_t i = 0; i < list->count; i++)
	{
		free(list->items[i].service);
		free(list->items[i].group);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

json_t *
backups_file_json(const BackupFile *f)
{
	char when[32];
	struct tm tm;

	json_t *tested = json_null();

	if (f->tested != 0)
	{
		gmtime_r(&f->tested_when, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		tested = json_pack("{s:s, s:s}", "time", when, "outcome", f->tested > 0 ? "ok" : "failed");
	}
	gmtime_r(&f->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:s, s:b, s:b, s:o}", "file", f->path,
					 "service", f->service, "group", f->group, "kind", backups_kind_name(f->kind),
					 "time", when, "size_bytes", (json_int_t) f->size,
					 "checksum", backups_checksum_name(f->checksum),
					 "referenced", f->referenced, "newest", f->newest, "tested", tested);
}

/* ---- pruning ------------------------------------------------------------------ */

void
backups_prune_select(const BackupList *list, time_t now, long long max_age, long keep_last,
					 const char **keep)
{
	for (size_t i = 0; i < list->count; i++)
	{
		const BackupFile *f = &list->items[i];
		long newer = 0;

		for (size_t k = i + 1; k < list->count; k++)
			newer += strcmp(list->items[k].group, f->group) == 0;
		if (f->referenced)
			keep[i] = "used by a live migration or an unfinished run (journal)";
		else if (f->newest)
			keep[i] = "newest dump of its service (or database)";
		else if (keep_last > 0 && newer < keep_last)
			keep[i] = "within --keep-last";
		else if (max_age >= 0 && (long long) (now - f->when) < max_age)
			keep[i] = "not older than --older-than";
		else
			keep[i] = NULL;
	}
}

static bool
remove_if_there(const char *path)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return true;
	log_error("cannot remove %s: %s", path, strerror(errno));
	return false;
}

bool
backups_remove(const char *path)
{
	char side[PATH_MAX], partial[PATH_MAX];

	if (!fs_sha256_sidecar_path(path, side, sizeof(side))
		|| !str_format(partial, sizeof(partial), "%s%s", path, FS_PARTIAL_SUFFIX))
		return false;
	/* the dump first: a sidecar without its dump is harmless, the reverse
	 * would look like an unverifiable dump */
	if (!remove_if_there(path))
		return false;
	return remove_if_there(side) && remove_if_there(partial) && fs_fsync_parent(path);
}
