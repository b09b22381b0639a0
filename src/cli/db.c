/*
 * db.c — `pgfold db SUBCOMMAND`: the databases of the shared instance.
 *
 * Option parsing, confirmation and output live here; what each subcommand
 * does to the instance is in src/instance/ (instance.h), the streams and
 * verification are the migrate module's.
 */
#include "pgfold/verify.h"
#include "pgfold/app.h"
#include "pgfold/cli.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/migrate.h"
#include "pgfold/options.h"
#include "pgfold/pg.h"
#include "pgfold/runner.h"
#include "pgfold/stream.h"

#include <stdio.h>
#include <string.h>

const char cli_db_usage[] =
	"usage: pgfold db list [--json]\n"
	"       pgfold db exists NAME [--json]\n"
	"       pgfold db create NAME [--owner ROLE] [--dry-run] [--json]\n"
	"       pgfold db drop NAME [--force] [--no-backup] [--yes] [--dry-run] [--json]\n"
	"       pgfold db backup NAME [FILE] [--json]\n"
	"       pgfold db restore NAME FILE [--owner ROLE] [--force] [--no-backup] [--yes]\n"
	"                         [--dry-run] [--json]\n"
	"       pgfold db stats NAME [--estimate] [--json]\n"
	"       pgfold db verify NAME [--against CONTAINER[:DB]] [--deep] [--json]\n"
	"       pgfold db console [NAME]\n"
	"       pgfold db migrate-from CONTAINER SRC_DB DEST_DB [--owner ROLE] [--deep]\n"
	"                         [--dry-run] [--json]\n"
	"\n"
	"The databases of the shared instance, reached with libpq as PG_USER.\n"
	"\n"
	"  list          every database but the templates: owner, encoding, size,\n"
	"                connection limit, active sessions, and the service that uses it\n"
	"                (from the journals and the service files' metadata)\n"
	"  exists        prints yes or no; exit 0 when it exists, 1 when not\n"
	"  create        idempotent: an existing database is fine unless --owner names\n"
	"                another owner than its own (exit 1)\n"
	"  drop          refuses while sessions are connected unless --force (which ends\n"
	"                them); takes a backup first (backups/NAME_<ts>.dump) unless\n"
	"                --no-backup. Asks on a terminal, needs --yes otherwise\n"
	"  backup        pg_dump -Fc inside the shared container (or locally), streamed to\n"
	"                FILE (default backups/NAME_<ts>.dump) with a SHA-256 sidecar\n"
	"                FILE.sha256; an existing FILE is never overwritten\n"
	"  restore       checks FILE against its sidecar and reads it back in full, backs\n"
	"                the current NAME up (unless --no-backup), restores into a\n"
	"                temporary database, compares every table's rows with the archive,\n"
	"                then swaps it in (two renames, one transaction) and drops the old\n"
	"                one. Never pg_restore --clean into a live database. Keeps the\n"
	"                owner, connection limit and database privileges of the current\n"
	"                NAME; --owner hands database and objects to ROLE instead\n"
	"  stats         size, schemas, every table's rows (exact count; --estimate uses\n"
	"                pg_class.reltuples for tables of 100000 rows or more) and sizes\n"
	"  verify        standalone: catalog consistency, amcheck bt_index_check on every\n"
	"                btree index (when amcheck is available; created only inside a\n"
	"                rolled-back transaction), every table read in full. --deep adds\n"
	"                heapallindexed and reads every value. --against compares with a\n"
	"                dedicated container's database instead, as migrate does (object\n"
	"                counts, every table's rows, sequences; --deep: content hashes);\n"
	"                DB defaults to the container's POSTGRES_DB\n"
	"  console       an interactive psql on NAME (default: postgres): the host's psql\n"
	"                over TCP when there is one, else `docker exec -it` in the shared\n"
	"                container\n"
	"  migrate-from  the raw copy for a container no service file describes: stream\n"
	"                pg_dump from CONTAINER into a temporary database (keeping\n"
	"                backups/DEST_DB_<ts>.dump), verify it against the source, rename\n"
	"                it to DEST_DB (which must not exist)\n"
	"\n"
	"Options:\n"
	"  --owner ROLE    owner of the database (create, restore, migrate-from)\n"
	"  --force         drop/restore: end the sessions connected to NAME\n"
	"  --no-backup     drop/restore: no backup of the current database first\n"
	"  --estimate      stats: reltuples for big tables instead of count(*)\n"
	"  --against C[:DB]  verify: compare with database DB in container C\n"
	"  --deep          verify, migrate-from: content hashes / full reads\n"
	"  --yes           do not ask (required without a terminal for drop, restore)\n"
	"  --dry-run       say what would be done, change nothing\n"
	"  --json          machine-readable output on stdout (shapes: docs/COMMANDS.md)\n"
	"\n"
	"Exit: 0 done; 1 failure (e.g. no such database; for exists: it does not exist);\n"
	"2 usage or confirmation needed; 3 sessions connected (drop/restore without\n"
	"--force) or a name already taken; 4 engine unreachable; 5 shared instance\n"
	"unreachable; 6 verification found problems (checksum, counts, amcheck, diff);\n"
	"7 another pgfold holds the stack lock.\n";

/* Options of `COMMAND SUB` (cmd: OPT_CMD_*, accept: IOPT_*), argv[0] being SUB. */
static int
parse_options(const GlobalOptions *g, const char *command, unsigned cmd, unsigned accept,
			  int argc, char **argv, InstanceOptions *o)
{
	OptParser p;
	int id;

	memset(o, 0, sizeof(*o));
	o->json = g->json;
	o->yes = g->yes;
	o->dry_run = g->dry_run;
	opt_init(&p, command, argv[0], cmd, accept, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
	{
		switch (id)
		{
			case OPT_OWNER: o->owner = p.arg; break;
			case OPT_FORCE: o->force = true; break;
			case OPT_NO_BACKUP: o->no_backup = true; break;
			case OPT_ESTIMATE: o->estimate = true; break;
			case OPT_AGAINST: o->against = p.arg; break;
			case OPT_DEEP: o->deep = true; break;
			case OPT_ALL: o->all = true; break;
			case OPT_NO_CHECKSUM: o->no_checksum = true; break;
			case OPT_OLDER_THAN: o->older_than = p.arg; break;
			case OPT_LATEST: o->latest = true; break;
			case OPT_KEEP_LAST: o->keep_last = p.num; break;
		}
	}
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	o->argc = p.npos;
	o->argv = p.pos;
	for (int i = 0; i < o->argc; i++)
		if (o->argv[i][0] == '\0')
			return cli_usage_error(command, "%s %s: empty argument", command, argv[0]);
	return EXIT_OK;
}

static int
fail(void)
{
	return exit_hint_get();
}

static json_t *
dump_json(const InstanceDumpResult *d)
{
	if (d->path[0] == '\0')
		return json_null();
	return json_pack("{s:s, s:s, s:I, s:f}", "file", d->path, "sha256", d->sha256,
					 "bytes", (json_int_t) d->bytes, "seconds", d->seconds);
}

/* ---- list / exists ----------------------------------------------------------- */

static int
db_list(App *app, InstanceOptions *o, Lock *lock)
{
	InstanceDbList list;
	char size[32];
	StrBuf name = STRBUF_INIT;

	if (!instance_db_list(app, &list))
		return fail();
	if (o->json)
	{
		json_t *all = json_array();

		for (size_t i = 0; i < list.count; i++)
			json_array_append_new(all, instance_db_json(&list.items[i]));
		cli_print_json(all);
	}
	else
	{
		printf("%-28s %-16s %-8s %10s %6s %6s  %s\n", "DATABASE", "OWNER", "ENCODING", "SIZE",
			   "LIMIT", "CONNS", "SERVICE");
		for (size_t i = 0; i < list.count; i++)
		{
			const InstanceDb *d = &list.items[i];

			if (d->size_bytes >= 0)
				stream_format_bytes((uint64_t) d->size_bytes, size, sizeof(size));
			else
				str_copy(size, sizeof(size), "-");
			sb_reset(&name);
			/* a name with control bytes or spaces is shown quoted */
			if (strcspn(d->name, " \t\r\n\"\\") != strlen(d->name))
				instance_show(&name, d->name);
			else
				sb_appends(&name, d->name);
			printf("%-28s %-16s %-8s %10s %6d %6ld  %s\n", sb_str(&name), d->owner, d->encoding,
				   size, d->connection_limit, d->connections, d->service ? d->service : "-");
		}
	}
	sb_free(&name);
	instance_db_list_free(&list);
	return EXIT_OK;
}

static int
db_exists(App *app, InstanceOptions *o, Lock *lock)
{
	InstanceDb db;
	bool found = false;

	if (!instance_db_get(app, o->argv[0], &db, &found))
		return fail();
	if (found)
		instance_db_free(&db);
	if (o->json)
		cli_print_json(json_pack("{s:s, s:b}", "database", o->argv[0], "exists", found));
	else
		puts(found ? "yes" : "no");
	return found ? EXIT_OK : EXIT_FAIL;
}

/* ---- create -------------------------------------------------------------------- */

static bool
role_must_exist(App *app, const char *role)
{
	StrBuf d = STRBUF_INIT;
	bool exists = false;

	if (!pg_role_exists(app->shared, role, &exists))
		return false;
	if (!exists)
	{
		log_error("no role %s on the shared instance (create it with `pgfold user create`)",
				  instance_show(&d, role));
		sb_free(&d);
	}
	return exists;
}

static int
db_create(App *app, InstanceOptions *o, Lock *lock)
{
	const char *name = o->argv[0];
	const char *owner = o->owner ? o->owner : app->cfg.pg_user;
	StrBuf d = STRBUF_INIT, sql = STRBUF_INIT;
	const char *action;
	InstanceDb db;
	bool found = false;

	if (!instance_db_get(app, name, &db, &found) || (o->owner && !role_must_exist(app, o->owner)))
		return fail();
	if (found && o->owner && strcmp(db.owner, o->owner) != 0)
	{
		log_error("database %s exists and is owned by %s, not %s; hand it over with "
				  "`pgfold user create %s %s --owner` if that is what you want",
				  instance_show(&d, name), db.owner, o->owner, o->owner, name);
		instance_db_free(&db);
		sb_free(&d);
		return EXIT_FAIL;
	}
	if (found)
	{
		action = "exists";
		owner = db.owner;
	}
	else if (o->dry_run)
	{
		action = "would create";
		sb_appends(&sql, "CREATE DATABASE ");
		pg_quote_ident(app->shared, name, &sql);
		sb_appends(&sql, " OWNER ");
		pg_quote_ident(app->shared, owner, &sql);
		sb_appends(&sql, " TEMPLATE template0");
	}
	else if (!pg_create_database(app->shared, name, o->owner, NULL))
		return fail();
	else
		action = "created";
	if (o->json)
		cli_print_json(json_pack("{s:s, s:s, s:s, s:b, s:s?}", "database", name, "owner", owner,
							 "action", action, "dry_run", o->dry_run,
							 "sql", sql.len ? sb_str(&sql) : NULL));
	else
	{
		printf("%s %s (owner %s)\n", action, instance_show(&d, name), owner);
		if (sql.len)
			printf("  %s;\n", sb_str(&sql));
	}
	if (found)
		instance_db_free(&db);
	sb_free(&d);
	sb_free(&sql);
	return EXIT_OK;
}

/* ---- drop ------------------------------------------------------------------------ */

/* Checks shared by drop and restore: not a system database, and nobody
 * connected unless --force. */
static bool
may_replace(const InstanceDb *db, bool force, const char *verb)
{
	StrBuf d = STRBUF_INIT;
	bool ok = true;

	if (instance_db_is_system(db->name))
	{
		log_error("%s is a system database; pgfold does not %s it",
				  instance_show(&d, db->name), verb);
		exit_hint_set(EXIT_USAGE);
		ok = false;
	}
	else if (db->connections > 0 && !force)
	{
		log_error("%ld session(s) are connected to %s; stop the apps that use it%s%s%s, or "
				  "re-run with --force to end the sessions", db->connections,
				  instance_show(&d, db->name), db->service ? " (service " : "",
				  db->service ? db->service : "", db->service ? ")" : "");
		exit_hint_set(EXIT_BLOCKED);
		ok = false;
	}
	sb_free(&d);
	return ok;
}

static int
db_drop(App *app, InstanceOptions *o, Lock *lock)
{
	const char *name = o->argv[0];
	InstanceDb db;
	InstanceDumpResult backup;
	StrBuf d = STRBUF_INIT, q = STRBUF_INIT;
	char path[PATH_MAX] = "";
	int rc = EXIT_OK;

	memset(&backup, 0, sizeof(backup));
	if (!instance_db_require(app, name, &db))
		return fail();
	if (!may_replace(&db, o->force, "drop"))
	{
		instance_db_free(&db);
		return fail();
	}
	if (!o->no_backup)
		instance_backup_default_path(&app->cfg, name, time(NULL), path, sizeof(path));
	sb_appendf(&q, "Drop database %s (%s%s)%s%s? ", instance_show(&d, name),
			   db.service ? "used by service " : "no service uses it",
			   db.service ? db.service : "", path[0] ? ", after a backup to " : " WITHOUT a backup",
			   path);
	if (o->dry_run && !o->json)
		printf("would drop %s%s%s%s\n", sb_str(&d), path[0] ? " after a backup to " : "", path,
			   db.connections > 0 ? ", ending its sessions" : "");
	else if (o->dry_run)
		;
	else if (!runner_confirm(o->yes, true, sb_str(&q), "not dropping the database")
			 || !lock_acquire(app->cfg.root, "db drop", lock)
			 || (path[0] && !(fs_mkdir_p(app->cfg.backups_dir, 0750)
							  && instance_backup(app, name, path, &backup)))
			 || !pg_drop_database(app->shared, name, o->force))
		rc = fail();
	else if (!o->json)
		printf("dropped %s%s%s\n", sb_str(&d), backup.path[0] ? "; backup: " : "", backup.path);
	if (rc == EXIT_OK && o->json)
		cli_print_json(json_pack("{s:s, s:s, s:b, s:o, s:I}", "database", name,
							 "action", o->dry_run ? "would drop" : "dropped", "dry_run", o->dry_run,
							 "backup", dump_json(&backup),
							 "sessions", (json_int_t) db.connections));
	instance_db_free(&db);
	sb_free(&d);
	sb_free(&q);
	return rc;
}

/* ---- backup / restore ----------------------------------------------------------- */

static int
db_backup(App *app, InstanceOptions *o, Lock *lock)
{
	const char *name = o->argv[0];
	char path[PATH_MAX];
	InstanceDb db;
	InstanceDumpResult res;
	char size[32];

	if (!instance_db_require(app, name, &db))
		return fail();
	instance_db_free(&db);
	if (o->argc > 1)
		str_copy(path, sizeof(path), o->argv[1]);
	else if (!instance_backup_default_path(&app->cfg, name, time(NULL), path, sizeof(path))
			 || !fs_mkdir_p(app->cfg.backups_dir, 0750))
		return fail();
	if (!instance_backup(app, name, path, &res))
		return fail();
	if (o->json)
		cli_print_json(json_pack("{s:s, s:o}", "database", name, "backup", dump_json(&res)));
	else
	{
		stream_format_bytes(res.bytes, size, sizeof(size));
		printf("%s (%s, sha256 %s)\n", res.path, size, res.sha256);
	}
	return EXIT_OK;
}

static int
db_restore(App *app, InstanceOptions *o, Lock *lock)
{
	InstanceRestore req = { .db = o->argv[0], .file = o->argv[1], .owner = o->owner,
							.backup_first = !o->no_backup, .force = o->force };
	InstanceRestoreResult res;
	StrBuf d = STRBUF_INIT, q = STRBUF_INIT;
	InstanceDb db;
	bool found = false;

	if (!app_shared(app) || !instance_db_get(app, req.db, &db, &found))
		return fail();
	if (found && !may_replace(&db, o->force, "replace"))
	{
		instance_db_free(&db);
		return fail();
	}
	sb_appendf(&q, "Restore %s into %s%s? ", req.file, instance_show(&d, req.db),
			   found ? ", replacing the current database" : " (a new database)");
	if (found)
		instance_db_free(&db);
	if (o->dry_run)
	{
		if (!o->json)
			printf("would check %s against its sidecar and read it back, %srestore it into a "
				   "temporary database, compare every table's rows, then %s %s\n", req.file,
				   found && !o->no_backup ? "back up the current database, " : "",
				   found ? "swap it in for" : "rename it to", sb_str(&d));
		else
			cli_print_json(json_pack("{s:s, s:s, s:b, s:b}", "database", req.db, "file", req.file,
								 "exists", found, "dry_run", true));
		sb_free(&d);
		sb_free(&q);
		return EXIT_OK;
	}
	bool ok = runner_confirm(o->yes, true, sb_str(&q), "not restoring")
		&& lock_acquire(app->cfg.root, "db restore", lock)
		&& instance_restore(app, &req, &res);

	sb_free(&q);
	if (!ok)
	{
		sb_free(&d);
		return fail();
	}
	if (o->json)
		cli_print_json(json_pack("{s:s, s:s, s:b, s:b, s:o, s:I, s:I, s:I}", "database", req.db,
							 "file", req.file, "dry_run", false, "replaced", res.replaced,
							 "backup", dump_json(&res.backup), "tables", (json_int_t) res.tables,
							 "rows", (json_int_t) res.rows,
							 "sessions_ended", (json_int_t) res.terminated));
	else
		printf("restored %s into %s: %zu tables, %lld rows match the archive%s%s\n", req.file,
			   sb_str(&d), res.tables, res.rows, res.backup.path[0] ? "; previous data in " : "",
			   res.backup.path);
	sb_free(&d);
	return EXIT_OK;
}

/* ---- stats ---------------------------------------------------------------------- */

static void
print_stats(const char *name, const DbStats *st)
{
	char size[32], tbytes[32], ibytes[32];
	StrBuf s = STRBUF_INIT, t = STRBUF_INIT;

	stream_format_bytes((uint64_t) st->size_bytes, size, sizeof(size));
	printf("database %s: %s, %zu schema(s), %zu table(s)\n", instance_show(&s, name), size,
		   st->schema_count, st->count);
	printf("%-24s %-36s %14s %10s %10s\n", "SCHEMA", "TABLE", "ROWS", "TABLE", "INDEXES");
	for (size_t i = 0; i < st->count; i++)
	{
		const TableStat *ts = &st->tables[i];

		stream_format_bytes((uint64_t) ts->table_bytes, tbytes, sizeof(tbytes));
		stream_format_bytes((uint64_t) ts->index_bytes, ibytes, sizeof(ibytes));
		/* quoted like SQL identifiers only when they need it */
		instance_show(&s, ts->schema);
		instance_show(&t, ts->name);
		printf("%-24s %-36s %13lld%s %10s %10s\n", sb_str(&s), sb_str(&t), ts->rows,
			   ts->exact ? " " : "~", tbytes, ibytes);
	}
	sb_free(&s);
	sb_free(&t);
}

static int
db_stats(App *app, InstanceOptions *o, Lock *lock)
{
	const char *name = o->argv[0];
	InstanceDb db;
	DbStats st;
	PGconn *conn = NULL;
	bool ok;

	if (!instance_db_require(app, name, &db))
		return fail();
	instance_db_free(&db);
	if (!pg_connect_shared(&app->cfg, name, &conn))
		return fail();
	ok = instance_db_stats(conn, o->estimate, &st);
	pg_disconnect(conn);
	if (ok && o->json)
		cli_print_json(instance_db_stats_json(name, &st));
	else if (ok)
		print_stats(name, &st);
	instance_db_stats_free(&st);
	return ok ? EXIT_OK : fail();
}

/* ---- verify --------------------------------------------------------------------- */

static int
verify_against(App *app, InstanceOptions *o, const char *name)
{
	char container[256], user[128], defdb[128];
	const char *colon = strchr(o->against, ':'), *src;
	VerifyReport report;
	Inventory src_inv = { 0 }, dst_inv = { 0 };
	bool found = false, ok;
	int rc = EXIT_OK;

	memset(&report, 0, sizeof(report));
	if (!str_format(container, sizeof(container), "%.*s",
					(int) (colon ? (size_t) (colon - o->against) : strlen(o->against)), o->against)
		|| container[0] == '\0')
		return cli_usage_error("db", "--against takes CONTAINER or CONTAINER:DB");
	if (!instance_container_env(app, container, user, sizeof(user), defdb, sizeof(defdb), &found))
		return fail();
	src = colon && colon[1] ? colon + 1 : defdb;
	ok = verify_databases(app, container, user, src, name, NULL, o->deep, &report, &src_inv,
						  &dst_inv);
	if (ok && o->json)
		cli_print_json(json_pack("{s:s, s:s, s:{s:s, s:s}, s:b, s:b, s:I, s:I, s:I, s:o}",
							 "database", name, "mode", "against", "source", "container", container,
							 "database", src, "deep", o->deep, "ok", report.diff_count == 0,
							 "tables", (json_int_t) report.tables, "rows", (json_int_t) report.rows,
							 "items", (json_int_t) report.items,
							 "differences", instance_verify_diffs_json(&report)));
	else if (ok)
		verify_report_print(stdout, &report, container, name);
	if (!ok)
		rc = fail();
	else if (report.diff_count > 0)
		rc = EXIT_VERIFY;
	verify_report_free(&report);
	inventory_free(&src_inv);
	inventory_free(&dst_inv);
	return rc;
}

static int
verify_standalone(App *app, InstanceOptions *o, const char *name)
{
	PGconn *conn = NULL;
	SanityReport rep;
	bool ok;

	if (!pg_connect_shared(&app->cfg, name, &conn))
		return fail();
	ok = instance_db_sanity(conn, o->deep, &rep);
	pg_disconnect(conn);
	if (ok && o->json)
	{
		json_t *doc = instance_sanity_json(&rep);

		json_object_set_new(doc, "database", json_string(name));
		json_object_set_new(doc, "mode", json_string("standalone"));
		json_object_set_new(doc, "deep", json_boolean(o->deep));
		cli_print_json(doc);
	}
	else if (ok)
		for (size_t i = 0; i < rep.count; i++)
			printf("%-7s %-16s %s\n", instance_check_status_name(rep.checks[i].status),
				   rep.checks[i].name, rep.checks[i].detail);
	int rc = !ok ? fail() : rep.failures > 0 ? EXIT_VERIFY : EXIT_OK;

	instance_sanity_free(&rep);
	return rc;
}

static int
db_verify(App *app, InstanceOptions *o, Lock *lock)
{
	InstanceDb db;

	if (!instance_db_require(app, o->argv[0], &db))
		return fail();
	instance_db_free(&db);
	return o->against ? verify_against(app, o, o->argv[0]) : verify_standalone(app, o, o->argv[0]);
}

/* ---- migrate-from ----------------------------------------------------------------- */

static int
db_migrate_from(App *app, InstanceOptions *o, Lock *lock)
{
	InstanceCopy req = { .container = o->argv[0], .src_db = o->argv[1], .dest_db = o->argv[2],
						 .owner = o->owner, .deep = o->deep };
	InstanceCopyResult res;
	StrBuf s = STRBUF_INIT, d = STRBUF_INIT;
	int rc = EXIT_OK;

	if (!app_shared(app) || (o->owner && !role_must_exist(app, o->owner)))
		return fail();
	if (o->dry_run)
	{
		if (!o->json)
			printf("would stream pg_dump of %s in %s into a temporary database (keeping a copy "
				   "under %s), verify it against the source%s, and rename it to %s\n",
				   instance_show(&s, req.src_db), req.container, app->cfg.backups_dir,
				   o->deep ? " with content hashes" : "", instance_show(&d, req.dest_db));
		else
			cli_print_json(json_pack("{s:s, s:s, s:s, s:b}", "container", req.container,
								 "source_database", req.src_db, "database", req.dest_db,
								 "dry_run", true));
	}
	else if (!lock_acquire(app->cfg.root, "db migrate-from", lock)
			 || !instance_copy_from(app, &req, &res))
		rc = fail();
	else if (o->json)
		cli_print_json(json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:I, s:I, s:b}",
							 "container", req.container, "source_database", req.src_db,
							 "database", req.dest_db, "dry_run", false,
							 "backup", dump_json(&res.dump), "tables", (json_int_t) res.report.tables,
							 "rows", (json_int_t) res.report.rows,
							 "items", (json_int_t) res.report.items, "deep", o->deep));
	else
		printf("copied %s from %s into %s: %zu tables, %lld rows verified; dump kept in %s\n",
			   instance_show(&s, req.src_db), req.container, instance_show(&d, req.dest_db),
			   res.report.tables, res.report.rows, res.dump.path);
	if (rc == EXIT_OK && !o->dry_run)
		instance_copy_result_free(&res);
	sb_free(&s);
	sb_free(&d);
	return rc;
}

/* ---- dispatch --------------------------------------------------------------------- */

static int
db_console(App *app, InstanceOptions *o, Lock *lock)
{
	return instance_console(app, o->argc ? o->argv[0] : NULL);
}

static const InstanceSub subs[] = {
	{ "list", 0, 0, 0, true, db_list },
	{ "exists", 1, 1, 0, true, db_exists },
	{ "create", 1, 1, IOPT_OWNER, true, db_create },
	{ "drop", 1, 1, IOPT_FORCE | IOPT_NO_BACKUP, true, db_drop },
	{ "backup", 1, 2, 0, true, db_backup },
	{ "restore", 2, 2, IOPT_OWNER | IOPT_FORCE | IOPT_NO_BACKUP, true, db_restore },
	{ "stats", 1, 1, IOPT_ESTIMATE, true, db_stats },
	{ "verify", 1, 1, IOPT_AGAINST | IOPT_DEEP, true, db_verify },
	{ "console", 0, 1, 0, true, db_console },
	{ "migrate-from", 3, 3, IOPT_OWNER | IOPT_DEEP, true, db_migrate_from },
};

typedef struct SubCall
{
	const InstanceSub *sub;
	InstanceOptions    o;
} SubCall;

static int
run_sub(App *app, void *ctx, Lock *lock)
{
	SubCall *call = ctx;

	return call->sub->run(app, &call->o, lock);
}

int
cli_run_instance_command(const GlobalOptions *g, const char *command, unsigned opt_cmd,
						 const InstanceSub *table, size_t count, int argc, char **argv)
{
	SubCall call = { .sub = NULL };
	StrBuf names = STRBUF_INIT;
	int rc;

	for (size_t i = 0; i < count; i++)
	{
		sb_appendf(&names, "%s%s", i ? ", " : "", table[i].name);
		if (argc >= 2 && strcmp(argv[1], table[i].name) == 0)
			call.sub = &table[i];
	}
	if (call.sub == NULL)
	{
		rc = cli_usage_error(command, "%s %s%s: the subcommands are %s", command,
							 argc >= 2 ? "does not know " : "needs a subcommand",
							 argc >= 2 ? argv[1] : "", sb_str(&names));
		sb_free(&names);
		return rc;
	}
	sb_free(&names);
	rc = parse_options(g, command, opt_cmd, call.sub->accept, argc - 1, argv + 1, &call.o);
	if (rc != EXIT_OK)
		return rc;
	if (call.o.argc < call.sub->min || (call.sub->max >= 0 && call.o.argc > call.sub->max))
		return cli_usage_error(command, "%s %s takes %s", command, call.sub->name,
							   call.sub->min == 1 && call.sub->max == 1 ? "one name"
							   : "other arguments (see the usage)");
	return instance_main(g, call.sub->shared, run_sub, &call);
}

int
cli_db_main(const GlobalOptions *g, int argc, char **argv)
{
	return cli_run_instance_command(g, "db", OPT_CMD_DB, subs, sizeof(subs) / sizeof(subs[0]),
									argc, argv);
}
