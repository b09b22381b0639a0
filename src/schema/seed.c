/*
 * seed.c — `pgfold schema seed [--clean]`: development data from
 * the .sql files of <dir>/seeds, never on a database marked production. The seeds (and
 * the clean before them) run in one transaction: all or nothing.
 */
#include "pgfold/schema.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool
schema_db_is_production(PGconn *conn, bool *production)
{
	StrBuf v = STRBUF_INIT;
	bool ok;

	ok = pg_query_scalar(conn, "read pgfold.environment of the database",
						 "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting r, "
						 "unnest(r.setconfig) s WHERE r.setrole = 0 AND r.setdatabase = "
						 "(SELECT oid FROM pg_catalog.pg_database WHERE datname = "
						 "pg_catalog.current_database()) AND lower(s) = "
						 "'pgfold.environment=production')::text", 0, NULL, &v, NULL);
	*production = ok && strcmp(sb_str(&v), "true") == 0;
	sb_free(&v);
	return ok;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The seed files' names, sorted; an empty list when there is no seeds/. */
static bool
list_seeds(const char *dir, char ***names, size_t *count)
{
	DIR *dh = opendir(dir);
	struct dirent *e;

	*names = NULL;
	*count = 0;
	if (dh == NULL)
	{
		log_error("cannot read the seed directory %s: %s", dir, strerror(errno));
		exit_hint_set(EXIT_USAGE);
		return false;
	}
	while ((e = readdir(dh)) != NULL && *count < SCHEMA_FILES_MAX)
		if (e->d_name[0] != '.' && str_has_suffix(e->d_name, ".sql"))
		{
			*names = xrealloc(*names, *count + 1, sizeof(char *));
			(*names)[(*count)++] = xstrdup(e->d_name);
		}
	closedir(dh);
	if (*count > 0)
		qsort(*names, *count, sizeof(char *), name_cmp);
	return true;
}

static const char clean_sql[] =
	"DO $pgfold$ DECLARE t text; BEGIN "
	"SELECT string_agg(pg_catalog.format('%I.%I', n.nspname, c.relname), ', ') INTO t "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
	"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	"AND n.nspname NOT LIKE 'pg\\_%' "
	"AND c.relname NOT IN ('" SCHEMA_TABLE "', 'schema_migrations', 'flyway_schema_history', "
	"'databasechangelog', 'databasechangeloglock', '_prisma_migrations', 'knex_migrations', "
	"'knex_migrations_lock', '_sqlx_migrations', 'alembic_version'); "
	"IF t IS NOT NULL THEN EXECUTE 'TRUNCATE ' || t || ' RESTART IDENTITY CASCADE'; END IF; "
	"END $pgfold$";

static bool
run_all(PGconn *conn, const char *seeds, char **names, size_t count, bool clean, SchemaLog *log)
{
	char path[PATH_MAX];

	if (clean)
	{
		schema_log(log, "seed --clean: every table emptied");
		if (!pg_exec(conn, "empty the tables (seed --clean)", clean_sql))
			return false;
	}
	for (size_t i = 0; i < count; i++)
	{
		StrBuf sql = STRBUF_INIT;
		SchemaStmts st;
		bool ok;

		if (!str_format(path, sizeof(path), "%s/%s", seeds, names[i]) || !schema_read(path, &sql)
			|| !schema_split(sb_str(&sql), path, &st))
		{
			sb_free(&sql);
			return false;
		}
		ok = true;
		schema_log(log, "== seed %s (%zu statements)", names[i], st.count);
		for (size_t k = 0; ok && k < st.count; k++)
		{
			PGresult *r = PQexec(conn, st.items[k].text);
			ExecStatusType s = PQresultStatus(r);

			ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
			schema_log(log, "%s:%zu -> %s", names[i], st.items[k].line,
					   ok ? PQcmdStatus(r) : PQresultErrorMessage(r));
			if (!ok)
			{
				const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
				const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

				log_error("seed %s failed at line %zu: [%s] %s; nothing was seeded (one "
						  "transaction)", path, st.items[k].line, state ? state : "?????",
						  msg ? msg : "");
				exit_hint_set(EXIT_FAIL);
			}
			PQclear(r);
		}
		schema_stmts_free(&st);
		sb_free(&sql);
		if (!ok)
			return false;
	}
	return true;
}

bool
schema_seed(PGconn *conn, const char *dir, bool clean, SchemaLog *log, size_t *files)
{
	char seeds[PATH_MAX];
	char **names = NULL;
	size_t count = 0;
	bool ok;

	*files = 0;
	if (!str_format(seeds, sizeof(seeds), "%s/seeds", dir) || !list_seeds(seeds, &names, &count))
		return false;
	ok = schema_session(conn, PQdb(conn)) && pg_exec(conn, "begin the seed transaction", "BEGIN")
		&& run_all(conn, seeds, names, count, clean, log)
		&& pg_exec(conn, "commit the seeds", "COMMIT");
	if (!ok && PQtransactionStatus(conn) != PQTRANS_IDLE)
	{
		PGresult *r = PQexec(conn, "ROLLBACK");

		PQclear(r);
	}
	if (ok)
		*files = count;
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return ok;
}
