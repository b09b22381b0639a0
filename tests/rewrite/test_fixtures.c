/*
 * test_fixtures.c — rewrite_service_file and rewrite_rollback_override on
 * files shaped like the real ones (tests/fixtures/rewrite/), parsed by
 * src/compose and analysed by src/service: outside the edited spans every
 * byte is identical, each edited span lies where an edit is allowed, the
 * db service and every depends_on on it are gone, and the connection
 * values read back (through pgfold's own parser) as the new ones.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "rwfx.h"

/* Is [s, e) inside one of the regions where pgfold may edit? */
static bool
span_allowed(const StackService *svc, Span sp)
{
	const ComposeFile *f = &svc->file;
	const ComposeService *db = &f->services[svc->db_service];
	size_t dbstart = db->lead.end == db->block.start ? db->lead.start : db->block.start;

	if (sp.start >= dbstart && sp.end <= db->block.end)
		return true;
	if (sp.start == sp.end && (sp.start == f->meta_block.end || sp.start == 0))
		return true;
	for (size_t i = 0; i < f->meta_count; i++)
		if (sp.start >= f->meta[i].value_span.start && sp.end <= f->meta[i].value_span.end)
			return true;
	for (size_t i = 0; i < f->service_count; i++)
		if (f->services[i].depends_count > 0 && sp.start >= f->services[i].depends_block.start &&
			sp.end <= f->services[i].depends_block.end)
			return true;
	for (size_t k = 0; k < svc->conn_count; k++)
	{
		const ConnRef *r = &svc->conns[k];
		const ComposeService *app = &f->services[r->app];
		int idx[6] = { r->var, r->host, r->port, r->user, r->password, r->dbname };

		for (int j = 0; j < 6; j++)
			if (idx[j] >= 0 && sp.start >= app->env[idx[j]].item.start &&
				sp.end <= app->env[idx[j]].item.end)
				return true;
	}
	return false;
}

/*
 * new = gap0 X0 gap1 X1 ... gapN where gap_i are the original bytes
 * between edited spans: check with a greedy left-to-right match (if any
 * split exists, the leftmost one does).
 */
static void
assert_outside_identical(const char *old, size_t oldlen, const RwServiceResult *res)
{
	const char *nb = res->bytes.data;
	size_t nlen = res->bytes.len, at = 0, prev = 0;

	for (size_t i = 0; i <= res->edited_count; i++)
	{
		size_t gs = prev;
		size_t ge = i < res->edited_count ? res->edited[i].start : oldlen;

		cr_assert_leq(gs, ge, "edited spans overlap");
		if (i == 0)
		{
			cr_assert(ge <= nlen && memcmp(nb, old, ge) == 0, "prefix before first edit differs");
			at = ge;
		}
		else if (i == res->edited_count)
			cr_assert(ge - gs <= nlen - at && memcmp(nb + nlen - (ge - gs), old + gs, ge - gs) == 0,
					  "bytes after the last edit differ");
		else if (ge > gs)
		{
			const char *hit = memmem(nb + at, nlen - at, old + gs, ge - gs);

			cr_assert_not_null(hit, "original bytes [%zu, %zu) not found in order in the new file",
							   gs, ge);
			at = (size_t) (hit - nb) + (ge - gs);
		}
		if (i < res->edited_count)
			prev = res->edited[i].end;
	}
}

static bool
any_depends_on(const ComposeFile *f, const char *key)
{
	for (size_t i = 0; i < f->service_count; i++)
		for (size_t k = 0; k < f->services[i].depends_count; k++)
			if (strcmp(f->services[i].depends[k].name, key) == 0)
				return true;
	return false;
}

typedef struct Expect
{
	size_t      depends_left;     /* depends_on entries left in the whole file */
	const char *password_var;     /* expected in res.env, NULL = literal everywhere */
	const char *must_contain[4];  /* substrings of the new file */
	const char *must_not[4];
} Expect;

static void
run_fixture(const char *name, const Expect *ex)
{
	RwFx fx;
	RwServiceResult res;

	rwfx_setup(&fx, name);

	RwTarget t = rwfx_target(&fx);
	const ComposeFile *of = &fx.svc.file;
	char *dbkey = xstrdup(of->services[fx.svc.db_service].key);
	size_t conns = fx.svc.conn_count;

	cr_assert(rewrite_service_file(&fx.svc, &t, &res), "%s: rewrite failed", name);
	rwfx_write(fx.dir, "new.yml", res.bytes.data, res.bytes.len);   /* PGFOLD_TEST_KEEP=1 */
	assert_outside_identical(of->bytes, of->len, &res);
	for (size_t i = 0; i < res.edited_count; i++)
		cr_assert(span_allowed(&fx.svc, res.edited[i]), "%s: edit [%zu, %zu) outside allowed regions",
				  name, res.edited[i].start, res.edited[i].end);
	for (size_t i = 0; i < 4 && ex->must_contain[i]; i++)
		cr_assert_not_null(strstr(res.bytes.data, ex->must_contain[i]), "%s: missing '%s' in\n%s",
						   name, ex->must_contain[i], res.bytes.data);
	for (size_t i = 0; i < 4 && ex->must_not[i]; i++)
		cr_assert_null(strstr(res.bytes.data, ex->must_not[i]), "%s: '%s' still in\n%s",
					   name, ex->must_not[i], res.bytes.data);

	cr_assert_eq(res.warning_count, 0, "%s: %s", name,
				 res.warning_count ? res.warnings[0] : "");

	/* the .env variable, when the file referenced its password */
	if (ex->password_var)
	{
		cr_assert_eq(res.env_count, 1);
		cr_assert_str_eq(res.env[0].key, ex->password_var);
		cr_assert_str_eq(res.env[0].value, RWFX_PASSWORD);
	}
	else
		cr_assert_eq(res.env_count, 0);

	/* the rollback override, from the original */
	StrBuf ov = STRBUF_INIT;
	RwProvenance prov = { "services/x.yml", "overrides/x-dedicated-postgres.yml",
						  "2026-11-21T10:00:00Z", NULL };

	cr_assert(rewrite_rollback_override(&fx.svc, &prov, &ov), "%s: override failed", name);
	rwfx_write(fx.dir, "override.yml", ov.data, ov.len);
	cr_assert_null(strstr(ov.data, "services: {}"));
	cr_assert_not_null(strstr(ov.data, of->services[fx.svc.db_service].image_raw));

	/* read the new file back with pgfold's parser, .env updated */
	char env_path[300];
	size_t elen = 0;
	char *env;
	StrBuf newenv = STRBUF_INIT;
	StackService ns;

	str_format(env_path, sizeof(env_path), "%s/.env", fx.dir);
	env = rwfx_read(env_path, &elen);
	for (size_t i = 0; i < res.env_count; i++)
		cr_assert(rewrite_env_file_set(env, elen, res.env[i].key, res.env[i].value, &newenv));
	if (res.env_count > 0)
		rwfx_write(fx.dir, ".env", newenv.data, newenv.len);
	cr_assert(rwfx_reparse(&fx, res.bytes.data, res.bytes.len, &ns), "%s: new file does not parse",
			  name);
	cr_assert_null(compose_find_service(&ns.file, dbkey), "%s: %s still defined", name, dbkey);
	cr_assert_not(any_depends_on(&ns.file, dbkey), "%s: something still depends on %s", name, dbkey);
	cr_assert_eq(ns.db_service, -1);
	cr_assert_str_eq(compose_meta_get(&ns.file, "database"), "postgres");
	cr_assert_str_eq(compose_meta_get(&ns.file, "database_name"), name);
	cr_assert_eq(ns.conn_count, conns, "%s: %zu connections after, %zu before", name,
				 ns.conn_count, conns);
	for (size_t k = 0; k < ns.conn_count; k++)
	{
		const ConnValues *v = &ns.conns[k].values;

		cr_assert(ns.conns[k].shared, "%s: connection %zu not on the shared host", name, k);
		cr_assert_str_eq(v->host, "postgres");
		cr_assert(v->port == 5432 || v->port == -1, "%s: port %d", name, v->port);
		cr_assert_str_eq(v->user, name);
		cr_assert_str_eq(v->dbname, name);
		cr_assert_not_null(v->password, "%s: password does not resolve", name);
		cr_assert_str_eq(v->password, RWFX_PASSWORD);
	}
	size_t deps = 0;

	for (size_t i = 0; i < ns.file.service_count; i++)
		deps += ns.file.services[i].depends_count;
	cr_assert_eq(deps, ex->depends_left, "%s: %zu depends_on entries left", name, deps);

	rwfx_free_svc(&ns);
	sb_free(&ov);
	sb_free_secret(&newenv);
	free(env);
	free(dbkey);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_fixtures, docmost_list_env_url_stray_brace_flow_depends)
{
	Expect ex = {
		.depends_left = 1,
		.password_var = "PGFOLD_DOCMOST_DB_PASSWORD",
		.must_contain = {
			"depends_on: [docmost-redis]\n",
			"- DATABASE_URL=postgresql://docmost:${PGFOLD_DOCMOST_DB_PASSWORD:?missing in .env}"
			"@postgres:5432/docmost?schema=public}\n",
			"# category: documentation\n# database: postgres\n# database_name: docmost\n",
		},
		.must_not = { "docmost-db:", "# The database", "POSTGRES_PASSWORD" },
	};

	run_fixture("docmost", &ex);
}

Test(rewrite_fixtures, joplin_key_differs_from_container_map_parts)
{
	Expect ex = {
		.depends_left = 0,
		.password_var = "PGFOLD_JOPLIN_DB_PASSWORD",
		.must_contain = {
			"      POSTGRES_HOST: postgres\n      POSTGRES_PORT: 5432\n"
			"      POSTGRES_USER: joplin\n"
			"      POSTGRES_PASSWORD: ${PGFOLD_JOPLIN_DB_PASSWORD:?missing in .env}\n"
			"      POSTGRES_DATABASE: joplin\n",
			"    container_name: joplin\n    environment:\n",
			"version: \"3.8\"\n",
		},
		.must_not = { "depends_on", "container_name: joplin-db", "  db:" },
	};

	run_fixture("joplin", &ex);
}

Test(rewrite_fixtures, netbox_map_env_env_file_map_depends_condition)
{
	Expect ex = {
		.depends_left = 1,
		.password_var = "PGFOLD_NETBOX_DB_PASSWORD",
		.must_contain = {
			"    depends_on:\n      netbox-redis:\n        condition: service_started\n"
			"    env_file: netbox.env\n",
			"      DB_HOST: postgres\n      DB_NAME: netbox\n      DB_USER: netbox\n"
			"      DB_PASSWORD: ${PGFOLD_NETBOX_DB_PASSWORD:?missing in .env}\n\n"
			"  netbox-worker:",
			"    command: [\"/opt/netbox/venv/bin/python\"",
		},
		.must_not = { "netbox-postgresql", "netbox_postgresql", "service_healthy" },
	};

	run_fixture("netbox", &ex);
}

Test(rewrite_fixtures, nocodb_nc_db)
{
	Expect ex = {
		.depends_left = 0,
		.password_var = "PGFOLD_NOCODB_DB_PASSWORD",
		.must_contain = {
			"      NC_DB: \"pg://postgres:5432?u=nocodb&p=${PGFOLD_NOCODB_DB_PASSWORD:?missing "
			"in .env}&d=nocodb\"\n",
			"# description: NocoDB\n# database: postgres\n# database_name: nocodb\nservices:\n",
			"volumes:\n  nocodb-data:\n  nocodb-db:\n",
		},
		.must_not = { "root_db", "depends_on" },
	};

	run_fixture("nocodb", &ex);
}

Test(rewrite_fixtures, comments_and_odd_quoting)
{
	Expect ex = {
		.depends_left = 3,
		.password_var = NULL,   /* the file wrote its password literally */
		.must_contain = {
			"# database: postgres\n# website: https://js.wiki\n# database_name: commented\n\n"
			"# Free-standing",
			"    depends_on:   # flow list, quoted entries, db in the middle\n"
			"      [\"cache\", 'search']\n",
			"      DB_HOST: 'postgres'        # single-quoted host\n"
			"      DB_PORT: \"5432\"           # a string port stays a string\n"
			"      DB_USER: \"commented\"\n"
			"      DB_PASS: \"" RWFX_PASSWORD "\"  # literal password, double-quoted\n"
			"      DB_NAME: commented   # plain\n"
			"      # trailing comment inside environment\n",
			"      - cache   # keep\n\n\n# trailing comment at the end of the file\n",
		},
		.must_not = { "wiki-db", "wikijs_db", "# ---- the database", "# logging: none" },
	};

	run_fixture("commented", &ex);
}

Test(rewrite_fixtures, literal_url_password_percent_encoded_and_map_depends_removed)
{
	Expect ex = {
		.depends_left = 0,
		.password_var = NULL,
		.must_contain = {
			"      DATABASE_URL: \"postgres://literal:" RWFX_PASSWORD
			"@postgres/literal?sslmode=disable\"\n      OTHER: value\n",
		},
		.must_not = { "app-db:\n    image", "depends_on", "0ld" },
	};

	run_fixture("literal", &ex);
}

Test(rewrite_fixtures, crlf_list_parts)
{
	Expect ex = {
		.depends_left = 1,
		.password_var = "PGFOLD_CRLF_DB_PASSWORD",
		.must_contain = {
			"# database: postgres\r\n# database_name: crlf\r\nservices:\r\n",
			"    depends_on:\r\n      - cache\r\n    environment:\r\n"
			"      - DB_HOST=postgres\r\n      - DB_PORT=5432\r\n      - DB_USER=crlf\r\n"
			"      - DB_PASSWORD=${PGFOLD_CRLF_DB_PASSWORD:?missing in .env}\r\n"
			"      - DB_NAME=crlf\r\n  cache:\r\n    image: redis:7\r\n",
		},
		.must_not = { "app-db", "\n\n", "postgres:13" },
	};

	run_fixture("crlf", &ex);
}

Test(rewrite_fixtures, indirect_whole_url_from_env)
{
	Expect ex = {
		.depends_left = 0,
		.password_var = "PGFOLD_INDIRECT_DB_PASSWORD",
		.must_contain = {
			"      - DATABASE_URL=postgres://indirect:${PGFOLD_INDIRECT_DB_PASSWORD:?missing in .env}"
			"@postgres:5432/indirect?sslmode=disable&application_name=x\n      - LOG_LEVEL=info\n",
		},
		.must_not = { "app-db", "APP_DATABASE_URL", "depends_on" },
	};

	run_fixture("indirect", &ex);
}

Test(rewrite_fixtures, flow_style_environments)
{
	Expect ex = {
		.depends_left = 0,
		.password_var = "PGFOLD_FLOWENV_DB_PASSWORD",
		.must_contain = {
			"    environment: [DB_HOST=postgres, DB_PORT=5432, DB_USER=flowenv, "
			"\"DB_PASSWORD=${PGFOLD_FLOWENV_DB_PASSWORD:?missing in .env}\", DB_NAME=flowenv, "
			"MODE=api]\n",
			"    environment: {MODE: worker, DATABASE_URL: \"postgres://flowenv:"
			"${PGFOLD_FLOWENV_DB_PASSWORD:?missing in .env}@postgres:5432/flowenv\"}\n",
		},
		.must_not = { "app-db", "depends_on" },
	};

	run_fixture("flowenv", &ex);
}
