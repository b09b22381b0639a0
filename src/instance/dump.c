/*
 * dump.c — `db backup`, `db restore` and `db migrate-from`: the migrate
 * module's pg_dump/pg_restore commands (pgcmd.h) and stream (stream.h),
 * pointed at other ends.
 *
 * A restore never runs pg_restore --clean into a live database: it loads a
 * temporary database, checks it against the archive, and swaps it in with
 * two renames in one transaction, so the name always points at a complete
 * database — the old one or the new one.
 */
#include "pgfold/preflight.h"
#include "pgfold/secrets.h"
#include "pgfold/verify.h"
#include "pgfold/instance.h"

#include "pgfold/dbprops.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/pgcmd.h"
#include "pgfold/stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SWAP_ATTEMPTS      5
#define MAX_SHOWN_DIFFS    20

/* ---- names and paths ---------------------------------------------------- */

void
instance_file_safe(const char *name, StrBuf *out)
{
	for (const char *p = name; *p; p++)
	{
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
			|| c == '.' || c == '_' || c == '-';

		sb_appendc(out, ok && !(p == name && (c == '.' || c == '-')) ? c : '_');
	}
}

bool
instance_backup_default_path(const Config *cfg, const char *db, time_t when, char *out,
							 size_t outsize)
{
	char stamp[JOURNAL_STAMP_LEN + 1];
	StrBuf safe = STRBUF_INIT;
	bool ok;

	instance_file_safe(db, &safe);
	ok = journal_stamp(when, stamp)
		&& str_format(out, outsize, "%s/%s_%s.dump", cfg->backups_dir, sb_str(&safe), stamp);
	sb_free(&safe);
	if (!ok)
		log_error("backup path too long under %s", cfg->backups_dir);
	return ok;
}

void
instance_temp_names(const char *db, char tmp[64], char old[64])
{
	char hex[FS_SHA256_HEX_LEN + 1];

	fs_sha256_bytes(db, strlen(db), hex);
	str_format(tmp, 64, "pgfold_restore_%.12s", hex);
	str_format(old, 64, "pgfold_old_%.12s", hex);
}

static void
run_id(char *out, size_t size, const char *what)
{
	str_format(out, size, "%s%ld", what, (long) getpid());
}

static bool
progress_tty(void)
{
	return isatty(STDERR_FILENO) && log_get_level() <= LOG_NOTICE;
}

static bool
need_engine(App *app)
{
	return app->cfg.shared_container[0] == '\0' || app_engine(app);
}

/* ---- backup ---------------------------------------------------------------- */

/* Stream what producer writes into path (+ .sha256); size: progress hint. */
static bool
stream_to_file(App *app, const StreamCommand *producer, const char *path, int64_t size,
			   const char *what, InstanceDumpResult *out)
{
	char id[32];
	struct stat st;
	StreamResult res;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (lstat(path, &st) == 0)
	{
		log_error("%s already exists; name another file (pgfold never overwrites a backup)", path);
		return false;
	}
	run_id(id, sizeof(id), "bk");

	StreamSpec spec = {
		.client = app->docker,
		.producer = producer,
		.backup_path = path,
		.expected_bytes = size > 0 ? (uint64_t) size : 0,
		.progress_tty = progress_tty(),
		.run_id = id,
	};

	ok = stream_run(&spec, &res);
	if (ok)
	{
		str_copy(out->path, sizeof(out->path), path);
		str_copy(out->sha256, sizeof(out->sha256), res.sha256);
		out->bytes = res.bytes;
		out->seconds = res.seconds;
		log_info("backup of %s: %s (%llu bytes, sha256 %s)", what, path,
				 (unsigned long long) res.bytes, res.sha256);
	}
	stream_result_free(&res);
	return ok;
}

bool
instance_backup(App *app, const char *db, const char *path, InstanceDumpResult *out)
{
	return instance_backup_at(app, db, NULL, path, out);
}

bool
instance_backup_at(App *app, const char *db, const char *snapshot, const char *path,
				   InstanceDumpResult *out)
{
	PgCommand dump;
	int64_t size = 0;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!need_engine(app) || !pgcmd_dump_shared_at(&dump, &app->cfg, db, snapshot))
		return false;
	pg_database_size(app->shared, db, &size);
	ok = stream_to_file(app, &dump.cmd, path, size, db, out);
	pgcmd_free(&dump);
	return ok;
}

bool
instance_backup_globals(App *app, const char *path, InstanceDumpResult *out)
{
	PgCommand dump;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!need_engine(app) || !pgcmd_dumpall_globals_shared(&dump, &app->cfg))
		return false;
	ok = stream_to_file(app, &dump.cmd, path, 0, "the globals", out);
	pgcmd_free(&dump);
	return ok;
}

/* The safety backup of db before something replaces it:
 * backups/<db>_pre_restore_<stamp>.dump. A `db backup` a moment before
 * may hold the plain name of the same second, and backups are never
 * overwritten, so the kind is in the name and a taken stamp moves on. */
static bool
backup_before(App *app, const char *db, InstanceDumpResult *out)
{
	char path[PATH_MAX], name[128];
	struct stat st;
	time_t when = time(NULL);

	if (!str_format(name, sizeof(name), "%s_pre_restore", db))
	{
		log_error("database name too long for a backup name: %s", db);
		return false;
	}
	do
	{
		if (!instance_backup_default_path(&app->cfg, name, when++, path, sizeof(path)))
			return false;
	} while (lstat(path, &st) == 0);
	return fs_mkdir_p(app->cfg.backups_dir, 0750) && instance_backup(app, db, path, out);
}

/* ---- loading a temporary database ---------------------------------------- */

typedef struct Load
{
	const char          *tmp;
	const char          *owner;        /* NULL: the admin */
	const DbProps       *props;        /* locale, settings, comment (NULL: defaults) */
	const char          *props_role;   /* takes the role settings in props (NULL: none) */
	const StreamCommand *producer;     /* NULL: file */
	const char          *file;
	const char          *backup_path;  /* tee, may be NULL */
	uint64_t             expected;
} Load;

/* The shared instance can create the source's locale: exit 3 otherwise. */
static bool
locale_available(App *app, const DbProps *p)
{
	StrBuf why = STRBUF_INIT;
	bool ok = true;

	if (p == NULL)
		return true;
	if (!dbprops_locale_ok_shared(app->shared, p, "the shared instance", &ok, &why))
		ok = false;
	else if (!ok)
	{
		log_error("%s; nothing was created", sb_str(&why));
		exit_hint_set(EXIT_BLOCKED);
	}
	sb_free(&why);
	return ok;
}

static bool
analyze(App *app, const char *db, const char *role)
{
	double secs = 0;

	if (!dbprops_analyze(&app->cfg, db, role, &secs))
		return false;
	log_notice("analyzed the new copy in %.1f s", secs);
	return true;
}

/* Fresh temporary database with the source's locale, pg_restore into it
 * (streamed), ownership handed to owner (secrets_hand_over: refused when
 * the restore brought code that would run as the admin, or made a
 * non-superuser owner one), the source's settings and comment, ANALYZE. */
static bool
load_temp(App *app, const Load *l, InstanceDumpResult *kept)
{
	PgCommand restore;
	StreamResult res;
	char id[32];
	bool hand_over = l->owner != NULL && strcmp(l->owner, app->cfg.pg_user) != 0;
	bool owner_super = false, ok;

	if (hand_over && !pg_role_is_superuser(app->shared, l->owner, &owner_super))
		return false;
	if (!need_engine(app) || !locale_available(app, l->props)
		|| !pg_drop_database(app->shared, l->tmp, true)
		|| !dbprops_create_shared(app->shared, l->tmp, l->owner, l->props)
		|| !pgcmd_restore_shared(&restore, &app->cfg, l->tmp))
		return false;
	run_id(id, sizeof(id), "ld");

	StreamSpec spec = {
		.client = app->docker,
		.producer = l->producer,
		.input_file = l->file,
		.backup_path = l->backup_path,
		.consumer = &restore.cmd,
		.expected_bytes = l->expected,
		.progress_tty = progress_tty(),
		.run_id = id,
	};

	ok = stream_run(&spec, &res);
	if (ok && kept != NULL && l->backup_path != NULL)
	{
		str_copy(kept->path, sizeof(kept->path), l->backup_path);
		str_copy(kept->sha256, sizeof(kept->sha256), res.sha256);
		kept->bytes = res.bytes;
		kept->seconds = res.seconds;
	}
	stream_result_free(&res);
	pgcmd_free(&restore);
	if (ok && hand_over)
		ok = secrets_hand_over(app, l->tmp, l->owner, !owner_super);
	if (ok && l->props != NULL)
		ok = dbprops_apply_shared(app->shared, l->tmp, l->props_role, l->props);
	return ok && analyze(app, l->tmp, hand_over ? l->owner : NULL);
}

/* ---- restore --------------------------------------------------------------- */

static const char *const DB_PRIVILEGES[] = { "CONNECT", "CREATE", "TEMPORARY", NULL };

static bool
privilege_known(const char *p)
{
	for (size_t i = 0; DB_PRIVILEGES[i]; i++)
		if (strcmp(p, DB_PRIVILEGES[i]) == 0)
			return true;
	return false;
}

/* CREATE DATABASE copies neither the GRANTs nor the connection limit of
 * the database it replaces: carry them over, names quoted by libpq. */
static bool
copy_database_settings(App *app, const InstanceDb *cur, const char *to)
{
	const char *p[1] = { cur->name };
	PGresult *res = NULL;
	StrBuf sql = STRBUF_INIT, qto = STRBUF_INIT;
	bool ok = pg_quote_ident(app->shared, to, &qto);

	if (ok && cur->connection_limit >= 0)
	{
		sb_appendf(&sql, "ALTER DATABASE %s CONNECTION LIMIT %d", sb_str(&qto),
				   cur->connection_limit);
		ok = pg_exec(app->shared, "copy the connection limit", sb_str(&sql));
	}
	ok = ok && pg_query(app->shared, "read the database's privileges",
						"SELECT a.grantee = 0, pg_catalog.pg_get_userbyid(a.grantee), "
						"a.privilege_type, a.is_grantable FROM pg_catalog.pg_database d, "
						"pg_catalog.aclexplode(d.datacl) a WHERE d.datname = $1", 1, p, &res);
	/* datacl NULL = the defaults, which the new database has too */
	if (ok && PQntuples(res) > 0)
	{
		sb_reset(&sql);
		sb_appendf(&sql, "REVOKE ALL ON DATABASE %s FROM PUBLIC", sb_str(&qto));
		ok = pg_exec(app->shared, "reset the database's privileges", sb_str(&sql));
	}
	for (int r = 0; ok && res != NULL && r < PQntuples(res); r++)
	{
		const char *priv = PQgetvalue(res, r, 2);

		if (!privilege_known(priv))
			continue;
		sb_reset(&sql);
		sb_appendf(&sql, "GRANT %s ON DATABASE %s TO ", priv, sb_str(&qto));
		if (strcmp(PQgetvalue(res, r, 0), "t") == 0)
			sb_appends(&sql, "PUBLIC");
		else
			ok = pg_quote_ident(app->shared, PQgetvalue(res, r, 1), &sql);
		if (strcmp(PQgetvalue(res, r, 3), "t") == 0)
			sb_appends(&sql, " WITH GRANT OPTION");
		ok = ok && pg_exec(app->shared, "copy a database privilege", sb_str(&sql));
	}
	PQclear(res);
	sb_free(&sql);
	sb_free(&qto);
	return ok;
}

/* Every table the archive has data for holds exactly its rows. */
static bool
compare_counts(App *app, const char *tmp, const ArchiveCounts *counts, size_t *tables)
{
	PGconn *conn = NULL;
	size_t bad = 0;
	StrBuf s = STRBUF_INIT, t = STRBUF_INIT;

	if (!pg_connect_shared(&app->cfg, tmp, &conn))
		return false;
	for (size_t i = 0; i < counts->count; i++)
	{
		const ArchiveTable *at = &counts->tables[i];
		long long rows = -1;

		if (!instance_count_rows(conn, at->schema, at->name, true, &rows))
			rows = -1;
		if (rows != at->rows && bad++ < MAX_SHOWN_DIFFS)
			log_error("table %s.%s: %lld rows in the archive, %lld restored",
					  instance_show(&s, at->schema), instance_show(&t, at->name), at->rows, rows);
	}
	pg_disconnect(conn);
	sb_free(&s);
	sb_free(&t);
	*tables = counts->count;
	if (bad > 0)
	{
		log_error("%zu table(s) differ from the archive; the restored copy is kept as \"%s\" "
				  "for inspection, nothing was replaced", bad, tmp);
		exit_hint_set(EXIT_VERIFY);
		return false;
	}
	return true;
}

static bool
wait_sessions_gone(App *app, const char *db)
{
	const char *p[1] = { db };
	StrBuf v = STRBUF_INIT;
	bool ok = true;

	for (int i = 0; i < 50; i++)
	{
		if (!pg_query_scalar(app->shared, "count the sessions",
							 "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1 "
							 "AND pid <> pg_catalog.pg_backend_pid()", 1, p, &v, NULL))
		{
			ok = false;
			break;
		}
		if (strcmp(sb_str(&v), "0") == 0)
			break;
		usleep(100 * 1000);
	}
	sb_free(&v);
	return ok;
}

/* One transaction: db → old, tmp → db. A session that connects to db in
 * between makes the first rename fail; the transaction then changes
 * nothing and we try again. */
static bool
swap_in(App *app, const char *db, const char *tmp, const char *old, bool exists, long *terminated)
{
	StrBuf q1 = STRBUF_INIT, q2 = STRBUF_INIT, q3 = STRBUF_INIT;
	StrBuf aside = STRBUF_INIT, in = STRBUF_INIT;
	bool ok = pg_quote_ident(app->shared, db, &q1) && pg_quote_ident(app->shared, tmp, &q2)
		&& pg_quote_ident(app->shared, old, &q3) && pg_drop_database(app->shared, old, true);

	sb_appendf(&aside, "ALTER DATABASE %s RENAME TO %s", sb_str(&q1), sb_str(&q3));
	sb_appendf(&in, "ALTER DATABASE %s RENAME TO %s", sb_str(&q2), sb_str(&q1));
	*terminated = 0;
	for (int attempt = 1; ok && attempt <= SWAP_ATTEMPTS; attempt++)
	{
		long n = 0;

		if (exists && (!pg_terminate_connections(app->shared, db, &n)
					   || !wait_sessions_gone(app, db)))
		{
			ok = false;
			break;
		}
		*terminated += n;
		if (!pg_exec(app->shared, "begin the swap", "BEGIN"))
			ok = false;
		else if ((!exists || pg_exec(app->shared, "rename the current database aside",
									 sb_str(&aside)))
				 && pg_exec(app->shared, "rename the restored database into place", sb_str(&in))
				 && pg_exec(app->shared, "commit the swap", "COMMIT"))
			break;
		else
		{
			pg_exec(app->shared, "roll the swap back", "ROLLBACK");
			if (attempt == SWAP_ATTEMPTS)
				ok = false;
			else
				log_notice("a session reconnected during the swap; trying again");
		}
	}
	sb_free(&q1);
	sb_free(&q2);
	sb_free(&q3);
	sb_free(&aside);
	sb_free(&in);
	return ok;
}

static bool
check_restorable(App *app, const char *file, ArchiveHeader *hdr)
{
	struct stat st;
	int version = 0;

	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
	{
		log_error("no dump file %s", file);
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	if (!fs_sha256_sidecar_verify(file))
	{
		exit_hint_set(EXIT_VERIFY);
		return false;
	}
	if (!archive_header_read(file, hdr) || !pg_server_version_num(app->shared, &version))
		return false;
	if (hdr->dump_major > version / 10000)
	{
		log_error("%s was written by pg_dump %d; the shared instance runs PostgreSQL %d, whose "
				  "pg_restore cannot read it", file, hdr->dump_major, version / 10000);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	return true;
}

static bool
restore_checked(App *app, const InstanceRestore *req, const InstanceDb *cur, bool exists,
				InstanceRestoreResult *out)
{
	char tmp[64], old[64];
	ArchiveScan scan;
	const char *owner = req->owner ? req->owner : exists ? cur->owner : app->cfg.pg_user;
	bool ok;

	instance_temp_names(req->db, tmp, old);
	/* the archive, read in full, before anything changes */
	if (!archive_scan(app, req->file, &scan))
	{
		archive_scan_free(&scan);
		exit_hint_set(EXIT_VERIFY);
		return false;
	}
	if (exists && req->backup_first && !backup_before(app, req->db, &out->backup))
	{
		archive_scan_free(&scan);
		return false;
	}

	/* what the archive cannot say (locale, settings, comment) comes from
	 * the database it replaces */
	DbProps props = DBPROPS_INIT;
	const char *role = strcmp(owner, app->cfg.pg_user) != 0 ? owner : NULL;

	if (exists && !dbprops_read_shared(app, req->db, role, &props))
	{
		archive_scan_free(&scan);
		return false;
	}

	Load l = { .tmp = tmp, .owner = owner, .props = exists ? &props : NULL, .props_role = role,
			   .file = req->file };

	log_notice("restoring %s into a temporary database", req->file);
	ok = load_temp(app, &l, NULL)
		&& (!exists || copy_database_settings(app, cur, tmp))
		&& compare_counts(app, tmp, &scan.counts, &out->tables);
	out->rows = scan.counts.rows;
	archive_scan_free(&scan);
	dbprops_free(&props);
	if (ok)
		ok = swap_in(app, req->db, tmp, old, exists, &out->terminated);
	if (!ok && exit_hint_get() != EXIT_VERIFY)
		pg_drop_database(app->shared, tmp, true);
	if (ok && exists)
		pg_drop_database(app->shared, old, true);
	out->replaced = ok && exists;
	return ok;
}

bool
instance_restore_scratch(App *app, const char *file, const char *scratch)
{
	ArchiveHeader hdr;
	Load l = { .tmp = scratch, .file = file };

	if (!app_shared(app) || !check_restorable(app, file, &hdr))
		return false;
	log_notice("restoring %s into the scratch database %s", file, scratch);
	return load_temp(app, &l, NULL);
}

bool
instance_restore(App *app, const InstanceRestore *req, InstanceRestoreResult *out)
{
	StrBuf d = STRBUF_INIT;
	InstanceDb cur;
	ArchiveHeader hdr;
	bool exists = false, ok = false;

	memset(out, 0, sizeof(*out));
	if (!app_shared(app) || !check_restorable(app, req->file, &hdr)
		|| !instance_db_get(app, req->db, &cur, &exists))
		return false;
	if (instance_db_is_system(req->db))
	{
		log_error("%s is a system database; pgfold does not replace it",
				  instance_show(&d, req->db));
		exit_hint_set(EXIT_USAGE);
	}
	else if (exists && cur.connections > 0 && !req->force)
	{
		log_error("%ld session(s) are connected to %s; stop the apps that use it or re-run "
				  "with --force to end the sessions at the swap", cur.connections,
				  instance_show(&d, req->db));
		exit_hint_set(EXIT_BLOCKED);
	}
	else if (req->owner != NULL && !pg_role_exists(app->shared, req->owner, &ok))
		ok = false;
	else if (req->owner != NULL && !ok)
	{
		log_error("no role %s on the shared instance (create it with `pgfold user create`)",
				  instance_show(&d, req->owner));
		exit_hint_set(EXIT_USAGE);
	}
	else
		ok = restore_checked(app, req, &cur, exists, out);
	if (exists)
		instance_db_free(&cur);
	sb_free(&d);
	return ok;
}

/* ---- copy from a container --------------------------------------------- */

bool
instance_container_env(App *app, const char *container, char *user, size_t usize, char *db,
					   size_t dsize, bool *found)
{
	json_t *inspect = NULL;
	StrBuf d = STRBUF_INIT;

	*found = false;
	if (!app_engine(app) || !docker_inspect_container(app->docker, container, &inspect, found))
		return false;
	if (!*found)
	{
		log_error("no container %s (see `docker ps -a`)", instance_show(&d, container));
		sb_free(&d);
		exit_hint_set(EXIT_USAGE);
		return false;
	}

	const char *u = docker_inspect_env(inspect, "POSTGRES_USER");
	const char *n = docker_inspect_env(inspect, "POSTGRES_DB");
	bool running = docker_inspect_running(inspect);

	if (!u || !*u)
		u = "postgres";
	str_copy(user, usize, u);
	str_copy(db, dsize, n && *n ? n : u);
	json_decref(inspect);
	if (!running)
	{
		log_error("container %s is not running; start it first", instance_show(&d, container));
		sb_free(&d);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	return true;
}

/* The source database's properties, and whether it exists at all. */
static bool
source_props(App *app, const char *container, const char *user, const char *db, DbProps *out)
{
	PgxDatabaseList list = { 0 };
	StrBuf d = STRBUF_INIT;
	bool found = false;

	if (!pgx_list_databases(app->docker, container, user, &list))
		return false;
	for (size_t i = 0; i < list.count && !found; i++)
		found = strcmp(list.items[i].name, db) == 0;
	pgx_database_list_free(&list);
	if (!found)
	{
		log_error("no database %s in container %s", instance_show(&d, db), container);
		exit_hint_set(EXIT_USAGE);
	}
	sb_free(&d);
	return found && dbprops_read_container(app->docker, container, user, db, out);
}

/* What migrate's "dump contents" check refuses, refused here too, before
 * anything is created (exit 3). */
static bool
source_restorable(App *app, const char *container, const char *user, const char *db)
{
	DumpHazards h;
	StrBuf in = STRBUF_INIT, d = STRBUF_INIT;
	bool ok = preflight_source_hazards(app->docker, container, user, db, &h);

	sb_appendf(&in, "database %s in container %s", instance_show(&d, db), container);
	ok = ok && preflight_hazards_none(&h, sb_str(&in), "Nothing was copied.");
	preflight_hazards_free(&h);
	sb_free(&in);
	sb_free(&d);
	return ok;
}

bool
instance_copy_from(App *app, const InstanceCopy *req, InstanceCopyResult *out)
{
	char user[128], defdb[128], tmp[64], old[64], path[PATH_MAX];
	DbProps props = DBPROPS_INIT;
	StrBuf d = STRBUF_INIT;
	PgCommand dump;
	bool found = false, exists = false, ok = false;
	int64_t size = 0;

	memset(out, 0, sizeof(*out));
	if (!app_shared(app)
		|| !instance_container_env(app, req->container, user, sizeof(user), defdb,
								   sizeof(defdb), &found)
		|| !source_props(app, req->container, user, req->src_db, &props)
		|| !source_restorable(app, req->container, user, req->src_db)
		|| !pg_database_exists(app->shared, req->dest_db, &exists))
	{
		dbprops_free(&props);
		return false;
	}
	if (exists)
	{
		dbprops_free(&props);
		log_error("database %s already exists on the shared instance; choose another name "
				  "or drop it first (pgfold db drop)", instance_show(&d, req->dest_db));
		sb_free(&d);
		exit_hint_set(EXIT_BLOCKED);
		return false;
	}
	instance_temp_names(req->dest_db, tmp, old);
	pgx_database_size(app->docker, req->container, user, req->src_db, &size);
	if (!instance_backup_default_path(&app->cfg, req->dest_db, time(NULL), path, sizeof(path))
		|| !fs_mkdir_p(app->cfg.backups_dir, 0750)
		|| !pgcmd_dump_in_container(&dump, req->container, user, req->src_db))
	{
		dbprops_free(&props);
		return false;
	}

	Load l = { .tmp = tmp, .owner = req->owner, .props = &props, .props_role = req->owner,
			   .producer = &dump.cmd, .backup_path = path,
			   .expected = size > 0 ? (uint64_t) size : 0 };

	log_notice("copying %s from %s into the shared instance", req->src_db, req->container);
	ok = load_temp(app, &l, &out->dump)
		&& verify_databases(app, req->container, user, req->src_db, tmp, req->owner, req->deep,
							&out->report, &out->src, &out->dst);
	pgcmd_free(&dump);
	dbprops_free(&props);
	if (ok && out->report.diff_count > 0)
	{
		verify_report_print(stderr, &out->report, req->container, tmp);
		log_error("verification failed: %zu difference(s); the copy is kept as \"%s\" for "
				  "inspection, %s was not created", out->report.diff_count, tmp,
				  instance_show(&d, req->dest_db));
		exit_hint_set(EXIT_VERIFY);
		sb_free(&d);
		return false;
	}
	if (ok)
		ok = pg_rename_database(app->shared, tmp, req->dest_db);
	if (!ok && exit_hint_get() != EXIT_VERIFY)
		pg_drop_database(app->shared, tmp, true);
	sb_free(&d);
	return ok;
}

void
instance_copy_result_free(InstanceCopyResult *res)
{
	verify_report_free(&res->report);
	inventory_free(&res->src);
	inventory_free(&res->dst);
}
