/*
 * mig_shapes.c — the service-file shapes of tests/migrate/fixtures and what
 * each must look like after its migration (see MigShape in mig.h).
 */
#include "migrate/mig.h"

/* list env, DATABASE_URL from ${...} with the stray `}`, container_name
 * from ${VAR:-default}, depends_on: [db, redis] */
const MigShape mig_docmost = {
	.fixture = "docmost", .db = "docmost", .db_key = "docmost-db",
	.db_container = "%s-docmost-db", .db_user = "docmost", .src_db = "docmost",
	.db_volume = "docmost-db",
	.apps = { "%s-docmost", NULL },
	.others = { "%s-docmost-redis", NULL },
	.env_after = { "DATABASE_URL=postgresql://docmost:%PW%@postgres:5432/docmost?schema=public}",
				   NULL },
};

/* key `db` != container_name, map env with POSTGRES_* parts */
const MigShape mig_joplin = {
	.fixture = "joplin", .db = "joplin", .db_key = "db",
	.db_container = "%s-joplin-db", .db_user = "joplin", .src_db = "joplin",
	.db_volume = "joplin-db",
	.apps = { "%s-joplin", NULL },
	.others = { NULL },
	.env_after = { "POSTGRES_HOST=postgres", "POSTGRES_PORT=5432", "POSTGRES_USER=joplin",
				   "POSTGRES_PASSWORD=%PW%", "POSTGRES_DATABASE=joplin", NULL },
};

/* map env + env_file, map depends_on with conditions, ${VAR:?...}, two apps */
const MigShape mig_netbox = {
	.fixture = "netbox", .db = "netbox", .db_key = "netbox-postgresql",
	.db_container = "%s_netbox_postgresql", .db_user = "netbox", .src_db = "netbox",
	.db_volume = "netbox-postgresql",
	.apps = { "%s-netbox", "%s-netbox-worker", NULL },
	.others = { "%s-netbox-redis", NULL },
	.env_after = { "DB_HOST=postgres", "DB_NAME=netbox", "DB_USER=netbox", "DB_PASSWORD=%PW%",
				   NULL },
};

/* NC_DB=pg://host:port?u=&p=&d=, db container named by compose */
const MigShape mig_nocodb = {
	.fixture = "nocodb", .db = "root_db", .db_key = "root_db",
	.db_container = MIG_COMPOSE_NAMED("root_db"), .db_user = "nocodb", .src_db = "root_db",
	.db_volume = "nocodb-db",
	.apps = { "%s-nocodb", NULL },
	.others = { NULL },
	.env_after = { "NC_DB=pg://postgres:5432?u=root_db&p=%PW%&d=root_db", NULL },
};

/* a PostGIS database (fixtures/geo.sql on top of seed.sql) */
const MigShape mig_geo = {
	.fixture = "geo", .db = "geo", .db_key = "geo-db",
	.db_container = "%s-geo-db", .db_user = "geo", .src_db = "geo",
	.db_volume = "geo-db",
	.apps = { "%s-geo", NULL },
	.others = { NULL },
	.env_after = { "DATABASE_URL=postgres://geo:%PW%@postgres/geo?sslmode=disable", NULL },
};

/* Zabbix's official variables: DB_SERVER_HOST + POSTGRES_USER/_PASSWORD/_DB
 * (a convention), two apps, defaults left out */
const MigShape mig_zabbix = {
	.fixture = "zabbix", .db = "zabbix", .db_key = "postgres-server",
	.db_container = "%s-zabbix-db", .db_user = "zabbix", .src_db = "zabbix",
	.db_volume = "zabbix-db",
	.apps = { "%s-zabbix-server", "%s-zabbix-web", NULL },
	.others = { NULL },
	.env_after = { "DB_SERVER_HOST=postgres", "POSTGRES_USER=zabbix", "POSTGRES_PASSWORD=%PW%",
				   NULL },
};
