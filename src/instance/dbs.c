/*
 * dbs.c — the databases of the shared instance: listing, lookups, which
 * service uses which database, and the confirmation question every
 * destructive command asks.
 */
#include "pgfold/instance.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
instance_main(const GlobalOptions *g, bool shared, InstanceMain fn, void *ctx)
{
	Lock lock = LOCK_INIT;
	App app;
	int rc;

	if (!app_open(&app, g) || (shared && !app_shared(&app)))
		rc = exit_hint_get();
	else
		rc = fn(&app, ctx, &lock);
	lock_release(&lock);
	app_close(&app);
	return rc;
}

const char *
instance_show(StrBuf *out, const char *name)
{
	sb_reset(out);
	return pg_display(out, name);
}

bool
instance_db_is_system(const char *name)
{
	return strcmp(name, "postgres") == 0 || strcmp(name, "template0") == 0
		|| strcmp(name, "template1") == 0;
}

/* ---- which service uses a database ---------------------------------------- */

/* service → database pairs: from every journal under
 * backups/postgres-migrations (services may have left the stack since) and
 * from the metadata of migrated service files. */
static void
map_add(InstanceServiceMap *map, const char *service, const char *db)
{
	for (size_t i = 0; i < map->count; i++)
		if (strcmp(map->service[i], service) == 0)
			return;
	map->service = xrealloc(map->service, map->count + 1, sizeof(char *));
	map->db = xrealloc(map->db, map->count + 1, sizeof(char *));
	map->service[map->count] = xstrdup(service);
	map->db[map->count++] = xstrdup(db);
}

/* The database of the live migration in service's journal, if any. */
static void
map_journal(App *app, InstanceServiceMap *map, const char *service)
{
	Journal j = JOURNAL_INIT;
	bool exists = false;
	const char *run = NULL;

	if (!journal_load(app->cfg.backups_dir, service, &j, &exists))
		return;
	if (exists && journal_is_migrated(&j, &run))
	{
		MigrationRecord *m = xcalloc(1, sizeof(*m));

		if (journal_read_migration(&j, run, m) && m->db[0] != '\0')
			map_add(map, service, m->db);
		free(m);
	}
	journal_close(&j);
}

void
instance_service_map_build(App *app, InstanceServiceMap *map)
{
	char **services = NULL;
	size_t count = 0;

	memset(map, 0, sizeof(*map));
	if (journal_services(app->cfg.backups_dir, &services, &count))
		for (size_t i = 0; i < count; i++)
			map_journal(app, map, services[i]);
	instance_names_free(services, count);
	for (size_t i = 0; i < app->stack.count; i++)
	{
		const StackService *svc = &app->stack.services[i];

		if (svc->db_service < 0 && svc->meta_database != NULL
			&& strcmp(svc->meta_database, "postgres") == 0 && svc->meta_database_name != NULL)
			map_add(map, svc->name, svc->meta_database_name);
	}
}

const char *
instance_service_map_find(const InstanceServiceMap *map, const char *db)
{
	for (size_t i = 0; i < map->count; i++)
		if (strcmp(map->db[i], db) == 0)
			return map->service[i];
	return NULL;
}

void
instance_service_map_free(InstanceServiceMap *map)
{
	instance_names_free(map->service, map->count);
	instance_names_free(map->db, map->count);
	memset(map, 0, sizeof(*map));
}

/* ---- listing -------------------------------------------------------------- */

/* Size only where we may connect: pg_database_size needs CONNECT. */
#define DB_COLUMNS \
	"SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba), " \
	"pg_catalog.pg_encoding_to_char(d.encoding), " \
	"CASE WHEN d.datallowconn AND pg_catalog.has_database_privilege(d.oid, 'CONNECT') " \
	"THEN pg_catalog.pg_database_size(d.oid) ELSE -1 END, d.datconnlimit, " \
	"(SELECT count(*) FROM pg_catalog.pg_stat_activity a WHERE a.datid = d.oid " \
	"AND a.pid <> pg_catalog.pg_backend_pid()), d.datallowconn " \
	"FROM pg_catalog.pg_database d WHERE NOT d.datistemplate"

static void
fill_db(const InstanceServiceMap *map, PGresult *res, int row, InstanceDb *db)
{
	long v = 0;

	memset(db, 0, sizeof(*db));
	db->name = xstrdup(PQgetvalue(res, row, 0));
	db->owner = xstrdup(PQgetvalue(res, row, 1));
	db->encoding = xstrdup(PQgetvalue(res, row, 2));
	db->size_bytes = strtoll(PQgetvalue(res, row, 3), NULL, 10);
	db->connection_limit = str_to_long(PQgetvalue(res, row, 4), -1, INT32_MAX, &v) ? (int) v : -1;
	db->connections = str_to_long(PQgetvalue(res, row, 5), 0, LONG_MAX, &v) ? v : 0;
	db->allow_connections = strcmp(PQgetvalue(res, row, 6), "t") == 0;
	const char *service = instance_service_map_find(map, db->name);

	db->service = service ? xstrdup(service) : NULL;
}

bool
instance_db_list(App *app, InstanceDbList *out)
{
	PGresult *res = NULL;

	memset(out, 0, sizeof(*out));
	if (!app_shared(app)
		|| !pg_query(app->shared, "list the databases", DB_COLUMNS " ORDER BY d.datname", 0,
					 NULL, &res))
		return false;
	out->count = (size_t) PQntuples(res);
	out->items = xcalloc(out->count ? out->count : 1, sizeof(InstanceDb));

	InstanceServiceMap map;

	instance_service_map_build(app, &map);
	for (size_t i = 0; i < out->count; i++)
		fill_db(&map, res, (int) i, &out->items[i]);
	instance_service_map_free(&map);
	PQclear(res);
	return true;
}

void
instance_db_free(InstanceDb *db)
{
	free(db->name);
	free(db->owner);
	free(db->encoding);
	free(db->service);
	memset(db, 0, sizeof(*db));
}

void
instance_db_list_free(InstanceDbList *list)
{
	for (size_t i = 0; i < list->count; i++)
		instance_db_free(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

bool
instance_db_get(App *app, const char *name, InstanceDb *out, bool *found)
{
	const char *p[1] = { name };
	PGresult *res = NULL;

	memset(out, 0, sizeof(*out));
	*found = false;
	if (!app_shared(app)
		|| !pg_query(app->shared, "look up the database", DB_COLUMNS " AND d.datname = $1", 1,
					 p, &res))
		return false;
	if (PQntuples(res) == 1)
	{
		InstanceServiceMap map;

		instance_service_map_build(app, &map);
		fill_db(&map, res, 0, out);
		instance_service_map_free(&map);
		*found = true;
	}
	PQclear(res);
	return true;
}

bool
instance_db_require(App *app, const char *name, InstanceDb *out)
{
	StrBuf d = STRBUF_INIT;
	bool found = false;

	if (!instance_db_get(app, name, out, &found))
		return false;
	if (!found)
	{
		log_error("no database %s on the shared instance (see `pgfold db list`)",
				  instance_show(&d, name));
		sb_free(&d);
		return false;
	}
	return true;
}

json_t *
instance_db_json(const InstanceDb *db)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:i, s:I, s:b, s:s?}",
					 "name", db->name, "owner", db->owner, "encoding", db->encoding,
					 "size_bytes", (json_int_t) db->size_bytes,
					 "connection_limit", db->connection_limit,
					 "connections", (json_int_t) db->connections,
					 "allow_connections", db->allow_connections,
					 "service", db->service);
}
