/*
 * apply.c — one migration file applied to the database, the advisory lock
 * that keeps two runners apart, and the run log. See schema.h.
 *
 * A file runs statement by statement (schema_split), so the run log has
 * every statement and its result and a failure names its statement. In a
 * transaction (the default) its success row is written in the same
 * transaction: the file and its record commit together or not at all.
 */
#include "pgfold/schema.h"

#include "pgfold/downtime.h"
#include "pgfold/exitcodes.h"
#include "pgfold/instance.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/signals.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the run log ------------------------------------------------------------ */

bool
schema_log_open(const char *backups_dir, const char *db, SchemaLog *log)
{
	char dir[PATH_MAX], stamp[JOURNAL_STAMP_LEN + 1];
	StrBuf safe = STRBUF_INIT;
	bool ok;

	instance_file_safe(db, &safe);
	ok = journal_stamp(time(NULL), stamp)
		&& str_format(dir, sizeof(dir), "%s/schema", backups_dir)
		&& str_format(log->path, sizeof(log->path), "%s/%s_%s.log", dir, sb_str(&safe), stamp)
		&& fs_mkdir_p(dir, 0750)
		&& (log->fd = fs_open_append(log->path, LOG_FILE_MODE, "schema run log")) >= 0;
	sb_free(&safe);
	return ok;
}

void
schema_log(SchemaLog *log, const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	StrBuf line = STRBUF_INIT;
	va_list ap;
	char msg[8192];

	if (log == NULL || log->fd < 0)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb_appendf(&line, "%s %s\n", ts, msg);
	fs_write_full(log->fd, sb_str(&line), line.len, log->path);
	sb_free(&line);
}

void
schema_log_close(SchemaLog *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
}

/* ---- lock and session --------------------------------------------------------- */

/* 'pgfs': the first key of every pgfold schema advisory lock (advisory
 * locks belong to one database: the second key tells runners apart). */
#define SCHEMA_LOCK_KEY "1885824627"

bool
schema_lock(PGconn *conn, const char *db, long timeout_s)
{
	const char *params[1] = { db };
	double deadline = clock_now() + (double) timeout_s;
	StrBuf v = STRBUF_INIT, d = STRBUF_INIT;
	bool said = false;

	for (;;)
	{
		if (!pg_query_scalar(conn, "take the schema advisory lock",
							 "SELECT pg_catalog.pg_try_advisory_lock(" SCHEMA_LOCK_KEY
							 ", pg_catalog.hashtext($1))::text", 1, params, &v, NULL))
			break;
		if (strcmp(sb_str(&v), "true") == 0)
		{
			sb_free(&v);
			sb_free(&d);
			return true;
		}
		if (!said)
			log_notice("another `pgfold schema` runs on database %s; waiting up to %ld s",
					   pg_display(&d, db), timeout_s);
		said = true;
		if (signals_interrupted())
		{
			exit_hint_set(EXIT_INTERRUPTED);
			break;
		}
		if (clock_now() >= deadline)
		{
			sb_reset(&d);
			log_error("another `pgfold schema` still runs on database %s after %ld s; let it "
					  "finish (its log is under backups/schema/), then run again",
					  pg_display(&d, db), timeout_s);
			exit_hint_set(EXIT_LOCKED);
			break;
		}
		usleep(200 * 1000);
	}
	sb_free(&v);
	sb_free(&d);
	return false;
}

bool
schema_session(PGconn *conn, const char *db)
{
	PGresult *r = NULL;
	bool ok;

	(void) db;
	/* the owner makes the objects (as the service's own runner would) and
	 * the database's search_path, not the admin session's, resolves names */
	ok = pg_query(conn, "set the migration session's role and search_path",
				  "SELECT pg_catalog.set_config('role', "
				  "(SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database "
				  " WHERE datname = pg_catalog.current_database()), false), "
				  "pg_catalog.set_config('search_path', coalesce("
				  "(SELECT substr(s, 13) FROM pg_catalog.pg_db_role_setting r, "
				  " unnest(r.setconfig) s WHERE r.setrole = 0 AND r.setdatabase = "
				  " (SELECT oid FROM pg_catalog.pg_database "
				  "  WHERE datname = pg_catalog.current_database()) "
				  " AND s LIKE 'search\\_path=%'), '\"$user\", public'), false)", 0, NULL, &r);
	PQclear(r);
	return ok;
}

/* ---- running statements --------------------------------------------------------- */

typedef struct StmtError
{
	char   sqlstate[8];
	StrBuf message;
	size_t index;           /* of the failing statement */
} StmtError;

/* stmt redacted (schema_redact) on one line of at most max bytes. */
static void
one_line(const char *stmt, size_t max, StrBuf *out)
{
	StrBuf r = STRBUF_INIT;
	const char *s;
	size_t n = 0;

	schema_redact(stmt, &r);
	sb_reset(out);
	for (s = sb_str(&r); *s && n < max; s++, n++)
		sb_appendc(out, (*s == '\n' || *s == '\t') ? ' ' : *s);
	if (*s)
		sb_appends(out, " ...");
	sb_free(&r);
}

/* Run one statement; false with err filled (logged in the run log only:
 * the caller says it once to the operator). */
static bool
run_stmt(PGconn *conn, const char *file, const SchemaStmt *st, SchemaLog *log, PGresult **keep,
		 StmtError *err)
{
	double t0 = clock_now();
	PGresult *r = PQexec(conn, st->text);
	ExecStatusType s = PQresultStatus(r);
	StrBuf shown = STRBUF_INIT;

	one_line(st->text, 400, &shown);
	schema_log(log, "%s:%zu %s", file, st->line, sb_str(&shown));
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY)
	{
		schema_log(log, "  -> ok %s (%.0f ms)", PQcmdStatus(r), (clock_now() - t0) * 1000);
		if (keep != NULL)
			*keep = r;
		else
			PQclear(r);
		sb_free(&shown);
		return true;
	}
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	str_copy(err->sqlstate, sizeof(err->sqlstate), state ? state : "?????");
	sb_reset(&err->message);
	sb_appends(&err->message, msg ? msg : PQerrorMessage(conn));
	while (err->message.len > 0 && err->message.data[err->message.len - 1] == '\n')
		err->message.data[--err->message.len] = '\0';
	schema_log(log, "  -> ERROR [%s] %s", err->sqlstate, sb_str(&err->message));
	PQclear(r);
	sb_free(&shown);
	return false;
}

static bool
simple(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		pg_log_result_error(conn, sql, r);
	PQclear(r);
	return ok;
}

static void
record_failure(PGconn *conn, const SchemaFile *f, const char *kind, const char *sum,
			   const StmtError *err, const char *stmt, long ms, const char *note)
{
	StrBuf e = STRBUF_INIT, shown = STRBUF_INIT;
	SchemaRow row = { .version = f->version, .name = f->name, .checksum = sum, .kind = kind,
					  .note = note, .applied = strcmp(kind, "down") == 0, .success = false,
					  .duration_ms = ms };

	schema_redact(stmt, &shown);
	row.statement = sb_str(&shown);
	sb_appendf(&e, "[%s] %s", err->sqlstate, sb_str(&err->message));
	row.error = sb_str(&e);
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		simple(conn, "ROLLBACK");
	schema_state_insert(conn, &row);
	sb_free(&e);
	sb_free(&shown);
}

bool
schema_apply_file(PGconn *conn, const SchemaDir *d, const SchemaFile *f, SchemaKind kind,
				  SchemaLog *log)
{
	char path[PATH_MAX], base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];
	const char *kname = kind == SCHEMA_DOWN ? "down" : "up";
	StrBuf sql = STRBUF_INIT, shown = STRBUF_INIT;
	SchemaStmts stmts = { 0 };
	StmtError err = { .message = STRBUF_INIT };
	char sum[FS_SHA256_HEX_LEN + 1];
	double t0 = clock_now();
	bool tx, ok = true;
	size_t i = 0;

	if (!schema_file_path(d, f, kind, path, sizeof(path))
		|| !schema_file_name(f, kind, base, sizeof(base)) || !schema_read(path, &sql))
		return false;
	schema_sum(sb_str(&sql), sql.len, sum);
	if (strcmp(sum, f->sum[kind]) != 0)
	{
		log_error("%s changed while pgfold was reading the directory; run again", path);
		exit_hint_set(EXIT_VERIFY);
		sb_free(&sql);
		return false;
	}
	if (!schema_split(sb_str(&sql), path, &stmts))
	{
		sb_free(&sql);
		return false;
	}
	if (kind == SCHEMA_DOWN && stmts.count == 0)
	{
		log_error("%s has no statement: it would mark version %s reverted without changing "
				  "anything; write the statements that undo %s_%s.up.sql", path, f->version,
				  f->version, f->name);
		exit_hint_set(EXIT_USAGE);
		schema_stmts_free(&stmts);
		sb_free(&sql);
		return false;
	}
	tx = !schema_no_transaction(sb_str(&sql));
	schema_log(log, "== %s %s (%s, %zu statements)", kname, base,
			   tx ? "one transaction" : "no transaction: statement by statement", stmts.count);
	log_info("%s %s", kind == SCHEMA_DOWN ? "reverting" : "applying", base);
	bool recorded = false;      /* failed and already said (pg_query, BEGIN) */

	if (tx && !simple(conn, "BEGIN"))
		ok = false, recorded = true;
	for (i = 0; ok && i < stmts.count; i++)
		ok = run_stmt(conn, base, &stmts.items[i], log, NULL, &err);
	long ms = (long) ((clock_now() - t0) * 1000);
	SchemaRow row = { .version = f->version, .name = f->name, .checksum = sum, .kind = kname,
					  .applied = kind == SCHEMA_UP, .success = true, .duration_ms = ms };

	if (ok && !schema_state_insert(conn, &row))
	{
		if (tx)
			simple(conn, "ROLLBACK");
		ok = false;
		recorded = true;
	}
	else if (ok && tx)
	{
		PGresult *r = PQexec(conn, "COMMIT");

		/* a deferred constraint fails at COMMIT: the file did not apply */
		if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0)
		{
			const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

			str_copy(err.sqlstate, sizeof(err.sqlstate), st ? st : "40000");
			sb_appends(&err.message, msg ? msg : "the transaction was rolled back at COMMIT");
			schema_log(log, "  COMMIT -> ERROR [%s] %s", err.sqlstate, sb_str(&err.message));
			i = stmts.count + 1;
			ok = false;
		}
		PQclear(r);
	}
	if (!ok && !recorded)
	{
		bool at_stmt = i > 0 && i <= stmts.count;
		const char *stmt = at_stmt ? stmts.items[i - 1].text : "COMMIT";
		size_t line = at_stmt ? stmts.items[i - 1].line : 0;
		char note[128], where[64];

		if (at_stmt)
			str_format(where, sizeof(where), "at line %zu", line);
		else
			str_copy(where, sizeof(where), "at COMMIT (a deferred constraint)");
		str_format(note, sizeof(note), tx ? "rolled back: the database is as before this file"
				   : "no transaction: statements 1 to %zu of %zu ran", i - 1, stmts.count);
		record_failure(conn, f, kname, sum, &err, stmt, ms, note);
		one_line(stmt, 200, &shown);
		if (tx)
			log_error("%s failed %s in database %s: [%s] %s (statement: %s); the file "
					  "was rolled back, the database is as before it; fix the file (it was not "
					  "applied, so editing it is fine), `pgfold schema hash`, run again",
					  base, where, PQdb(conn), err.sqlstate, sb_str(&err.message), sb_str(&shown));
		else
			log_error("%s (no transaction) failed %s in database %s: [%s] %s "
					  "(statement: %s); statements 1 to %zu ran and stay; finish or undo them by "
					  "hand, then `pgfold schema force VERSION --yes`", base, where, PQdb(conn),
					  err.sqlstate, sb_str(&err.message), sb_str(&shown), i - 1);
		exit_hint_set(EXIT_FAIL);
	}
	schema_log(log, "== %s %s: %s (%ld ms)", kname, base, ok ? "done" : "FAILED", ms);
	schema_stmts_free(&stmts);
	sb_free(&sql);
	sb_free(&shown);
	sb_free(&err.message);
	return ok;
}

bool
schema_run_check(PGconn *conn, const SchemaDir *d, const SchemaFile *f, SchemaLog *log)
{
	char path[PATH_MAX], base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];
	StrBuf sql = STRBUF_INIT, shown = STRBUF_INIT;
	SchemaStmts stmts = { 0 };
	StmtError err = { .message = STRBUF_INIT };
	bool ok = true;

	if (!f->has[SCHEMA_CHECK])
		return true;
	if (!schema_file_path(d, f, SCHEMA_CHECK, path, sizeof(path))
		|| !schema_file_name(f, SCHEMA_CHECK, base, sizeof(base)) || !schema_read(path, &sql)
		|| !schema_split(sb_str(&sql), path, &stmts) || !simple(conn, "BEGIN"))
	{
		sb_free(&sql);
		return false;
	}
	for (size_t i = 0; ok && i < stmts.count; i++)
	{
		PGresult *r = NULL;

		one_line(stmts.items[i].text, 200, &shown);
		if (!run_stmt(conn, base, &stmts.items[i], log, &r, &err))
		{
			log_error("check %s:%zu failed: [%s] %s (statement: %s)", base,
					  stmts.items[i].line, err.sqlstate, sb_str(&err.message), sb_str(&shown));
			ok = false;
		}
		else if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1 && PQnfields(r) >= 1
				 && strcmp(PQgetvalue(r, 0, 0), "f") == 0)
		{
			log_error("check %s:%zu is false: %s", base, stmts.items[i].line, sb_str(&shown));
			schema_log(log, "  -> check is false");
			ok = false;
		}
		PQclear(r);
	}
	simple(conn, "ROLLBACK");
	if (!ok)
		exit_hint_set(EXIT_VERIFY);
	schema_stmts_free(&stmts);
	sb_free(&sql);
	sb_free(&shown);
	sb_free(&err.message);
	return ok;
}
