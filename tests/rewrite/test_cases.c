/*
 * test_cases.c — edge cases and refusals of the service-file rewrite and
 * the rollback override, on small inline files parsed by src/compose. Each
 * refusal is what the reference tool got wrong, or a shape pgfold cannot
 * edit without guessing.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "rwfx.h"

static const char base_file[] =
	"services:\n"
	"  app:\n"
	"    image: example/app:1\n"
	"    environment:\n"
	"      DATABASE_URL: postgres://app:${APP_DB_PASSWORD}@app-db/app\n"
	"    depends_on:\n"
	"      - app-db\n"
	"  app-db:\n"
	"    image: postgres:16\n"
	"    environment:\n"
	"      POSTGRES_USER: app\n"
	"      POSTGRES_PASSWORD: ${APP_DB_PASSWORD}\n"
	"      POSTGRES_DB: app\n";

static char *
rewrite_ok(RwFx *fx, const RwTarget *t, RwServiceResult *res)
{
	cr_assert(rewrite_service_file(&fx->svc, t, res), "rewrite refused:\n%s", fx->svc.file.bytes);
	return res->bytes.data;
}

static void
expect_refused(const char *name, const char *yaml)
{
	RwFx fx;
	RwServiceResult res;

	cr_assert(rwfx_setup_bytes(&fx, name, yaml), "%s does not parse", name);

	RwTarget t = rwfx_target(&fx);

	cr_assert_not(rewrite_service_file(&fx.svc, &t, &res), "%s: rewrite accepted:\n%s", name,
				  res.bytes.data);
	cr_assert_eq(res.bytes.len, 0);
	cr_assert_eq(res.env_count, 0);
	rwfx_teardown(&fx);
}

Test(rewrite_cases, override_from_edited_file_refused)
{
	RwFx fx;
	RwServiceResult res;
	StackService edited;
	StrBuf ov = STRBUF_INIT;
	RwProvenance prov = { "services/app.yml", "overrides/app-dedicated-postgres.yml", NULL, NULL };

	cr_assert(rwfx_setup_bytes(&fx, "app", base_file));

	RwTarget t = rwfx_target(&fx);

	rewrite_ok(&fx, &t, &res);
	cr_assert(rwfx_reparse(&fx, res.bytes.data, res.bytes.len, &edited));
	/* the reference tool's bug: an override from the edited file */
	cr_assert_not(rewrite_rollback_override(&edited, &prov, &ov));
	cr_assert_eq(ov.len, 0);
	/* and migrating the migrated file again is refused too */
	RwServiceResult again;

	cr_assert_not(rewrite_service_file(&edited, &t, &again));
	/* from the original it works and is not empty */
	cr_assert(rewrite_rollback_override(&fx.svc, &prov, &ov));
	cr_assert_not_null(strstr(ov.data, "services:\n  app-db:\n    image: postgres:16\n"));
	cr_assert_not_null(strstr(ov.data, "  app:\n    environment:\n      DATABASE_URL: "
								 "postgres://app:${APP_DB_PASSWORD}@app-db/app\n"
								 "    depends_on:\n      - app-db\n"));
	cr_assert_not_null(strstr(ov.data, "# or run: pgfold rollback app\n"));
	cr_assert_not_null(strstr(ov.data, "#   docker-compose --project-directory . -f "
								 "services/app.yml -f overrides/app-dedicated-postgres.yml up -d\n"));
	cr_assert_not_null(strstr(ov.data, "# services/app.yml (sha256 "));
	sb_free(&ov);
	rwfx_free_svc(&edited);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

/* compose v2's `config` prints every top-level key, x- keys included (v1
 * drops those): for file + override to print the original's config under
 * both, `services:` is the override's only top-level line outside comments
 * (its provenance lives in the header comment). */
Test(rewrite_cases, override_has_services_as_only_top_level_key)
{
	RwFx fx;
	StrBuf ov = STRBUF_INIT;
	RwProvenance prov = { "services/app.yml", "overrides/app-dedicated-postgres.yml", NULL, NULL };
	size_t top = 0;

	cr_assert(rwfx_setup_bytes(&fx, "app", base_file));
	cr_assert(rewrite_rollback_override(&fx.svc, &prov, &ov));
	for (const char *line = ov.data; line != NULL && *line != '\0';)
	{
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t) (nl - line) : strlen(line);

		if (len > 0 && line[0] != '#' && line[0] != ' ')
		{
			cr_assert(len == 9 && memcmp(line, "services:", 9) == 0,
					  "top-level line besides services: \"%.*s\"\n%s", (int) len, line, ov.data);
			top++;
		}
		line = nl ? nl + 1 : NULL;
	}
	cr_assert_eq(top, 1, "%s", ov.data);
	sb_free(&ov);
	rwfx_teardown(&fx);
}

Test(rewrite_cases, other_port_inserted_or_replaced)
{
	RwFx fx;
	RwServiceResult res;
	const char *yaml =
		"services:\n"
		"  app:\n"
		"    image: example/app:1\n"
		"    environment:\n"
		"      A_URL: postgresql://app:${APP_DB_PASSWORD}@app-db/app?x=1\n"
		"      B_URL: postgresql://app:${APP_DB_PASSWORD}@app-db:5432/app\n"
		"      C_URL: postgresql://app-db\n"
		"      DB_HOST: app-db\n"
		"      DB_PORT: '5432'\n"
		"      DB_USER: app\n"
		"      DB_PASSWORD: ${APP_DB_PASSWORD}\n"
		"      DB_NAME: app\n"
		"  app-db:\n"
		"    image: postgres:16\n"
		"    environment:\n"
		"      POSTGRES_USER: app\n"
		"      POSTGRES_PASSWORD: ${APP_DB_PASSWORD}\n";

	cr_assert(rwfx_setup_bytes(&fx, "app", yaml));

	RwTarget t = rwfx_target(&fx);

	t.port = 5433;
	t.host = "pg.lan";

	char *got = rewrite_ok(&fx, &t, &res);
	const char *ref = "${PGFOLD_APP_DB_PASSWORD:?missing in .env}";
	char want[1024];

	str_format(want, sizeof(want),
			   "      A_URL: postgresql://app:%s@pg.lan:5433/app?x=1\n"
			   "      B_URL: postgresql://app:%s@pg.lan:5433/app\n"
			   "      C_URL: postgresql://app:%s@pg.lan:5433/app\n"
			   "      DB_HOST: pg.lan\n"
			   "      DB_PORT: '5433'\n"
			   "      DB_USER: app\n"
			   "      DB_PASSWORD: %s\n"
			   "      DB_NAME: app\n", ref, ref, ref, ref);
	cr_assert_not_null(strstr(got, want), "got:\n%s", got);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_cases, forced_password_styles_and_variable_name)
{
	RwFx fx;
	RwServiceResult res;

	cr_assert(rwfx_setup_bytes(&fx, "app", base_file));

	RwTarget t = rwfx_target(&fx);

	t.password_style = RW_PASSWORD_LITERAL;
	t.password = "p@ss w/rd:%";
	rewrite_ok(&fx, &t, &res);
	cr_assert_not_null(strstr(res.bytes.data, "DATABASE_URL: postgres://app:p%40ss%20w%2Frd%3A%25"
										   "@postgres/app\n"), "%s", res.bytes.data);
	cr_assert_eq(res.env_count, 0);
	rewrite_service_result_free(&res);

	t.password_style = RW_PASSWORD_REFERENCE;
	t.password_var = "MY_APP_PG_PASSWORD";
	rewrite_ok(&fx, &t, &res);
	cr_assert_not_null(strstr(res.bytes.data, "postgres://app:${MY_APP_PG_PASSWORD:?missing in "
										   ".env}@postgres/app\n"));
	cr_assert_eq(res.env_count, 1);
	cr_assert_str_eq(res.env[0].key, "MY_APP_PG_PASSWORD");
	cr_assert_str_eq(res.env[0].value, "p@ss w/rd:%");
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);

	char var[64];

	cr_assert(rewrite_password_var("my-app.v2", var, sizeof(var)));
	cr_assert_str_eq(var, "PGFOLD_MY_APP_V2_DB_PASSWORD");
	cr_assert_not(rewrite_password_var("", var, sizeof(var)));
}

Test(rewrite_cases, values_that_would_change_type_are_quoted)
{
	RwFx fx;
	RwServiceResult res;
	const char *yaml =
		"services:\n"
		"  app:\n"
		"    image: example/app:1\n"
		"    environment:\n"
		"      DB_HOST: app-db\n"
		"      DB_USER: app\n"
		"      DB_PASSWORD: oldliteral\n"
		"      DB_NAME: app\n"
		"  app-db:\n"
		"    image: postgres:16\n";

	cr_assert(rwfx_setup_bytes(&fx, "app", yaml));

	RwTarget t = rwfx_target(&fx);

	t.dbname = "on";           /* YAML 1.1 boolean if written plain */
	t.role = "0755";           /* YAML 1.1 octal int if written plain */
	t.password = "a: b #c";    /* would break a plain scalar */
	rewrite_ok(&fx, &t, &res);
	cr_assert_not_null(strstr(res.bytes.data,
							  "      DB_HOST: postgres\n      DB_USER: \"0755\"\n"
							  "      DB_PASSWORD: \"a: b #c\"\n      DB_NAME: \"on\"\n"),
					   "%s", res.bytes.data);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_cases, existing_header_updated_in_place)
{
	RwFx fx;
	RwServiceResult res;
	const char *yaml =
		"# database_name: olddb\n"
		"# database: dedicated\n"
		"services:\n"
		"  app:\n"
		"    image: example/app:1\n"
		"    environment:\n"
		"      DATABASE_URL: postgres://app:${APP_DB_PASSWORD}@app-db/app\n"
		"  app-db:\n"
		"    image: postgres:16\n";

	cr_assert(rwfx_setup_bytes(&fx, "app", yaml));

	RwTarget t = rwfx_target(&fx);

	rewrite_ok(&fx, &t, &res);
	cr_assert(strncmp(res.bytes.data, "# database_name: app\n# database: postgres\nservices:\n",
					  52) == 0, "%s", res.bytes.data);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_cases, refusals)
{
	/* another service links to the db */
	expect_refused("links",
		"services:\n  app:\n    image: a\n    environment:\n"
		"      DATABASE_URL: postgres://u:p@db/x\n    links:\n      - db:database\n"
		"  db:\n    image: postgres:16\n");
	/* network_mode through the db */
	expect_refused("netmode",
		"services:\n  app:\n    image: a\n    environment:\n"
		"      DATABASE_URL: postgres://u:p@db/x\n"
		"  side:\n    image: b\n    network_mode: \"service:db\"\n"
		"  db:\n    image: postgres:16\n");
	/* an anchor the db defines is used elsewhere */
	expect_refused("anchor",
		"services:\n  db:\n    image: postgres:16\n    restart: &rp unless-stopped\n"
		"  app:\n    image: a\n    environment:\n"
		"      DATABASE_URL: postgres://u:p@db/x\n    restart: *rp\n");
	/* the same, used by a service that is not an app */
	expect_refused("anchor2",
		"services:\n  db:\n    image: postgres:16\n    restart: &rp unless-stopped\n"
		"  app:\n    image: a\n    environment:\n"
		"      DATABASE_URL: postgres://u:p@db/x\n"
		"  cache:\n    image: redis\n    restart: *rp\n");
	/* flow-mapping depends_on (the condition would need a rewrite) */
	expect_refused("flowmap",
		"services:\n  app:\n    image: a\n    environment:\n"
		"      DATABASE_URL: postgres://u:p@db/x\n"
		"    depends_on: {db: {condition: service_healthy}, c: {condition: service_started}}\n"
		"  c:\n    image: c\n  db:\n    image: postgres:16\n");
	/* libpq query parameters would override the edited pieces */
	expect_refused("query",
		"services:\n  app:\n    image: a\n    environment:\n"
		"      DATABASE_URL: postgres://u:p@db/x?user=other\n"
		"  db:\n    image: postgres:16\n");
	/* *_HOST without *_PORT while the shared port is not 5432: see below;
	 * *_HOST without *_USER: pgfold cannot guess the app's variable name */
	expect_refused("nouser",
		"services:\n  app:\n    image: a\n    environment:\n"
		"      DB_HOST: db\n      DB_PASSWORD: x\n      DB_NAME: x\n"
		"  db:\n    image: postgres:16\n");
	/* list-form plain value that cannot hold the literal password */
	RwFx fx;
	RwServiceResult res;

	cr_assert(rwfx_setup_bytes(&fx, "plain",
		"services:\n  app:\n    image: a\n    environment:\n"
		"      - DB_HOST=db\n      - DB_USER=u\n      - DB_PASSWORD=literal\n      - DB_NAME=x\n"
		"  db:\n    image: postgres:16\n"));

	RwTarget t = rwfx_target(&fx);

	t.password = "has #hash";
	cr_assert_not(rewrite_service_file(&fx.svc, &t, &res));
	t.password = RWFX_PASSWORD;
	t.port = 6432;
	cr_assert(rewrite_service_file(&fx.svc, &t, &res) == false, "no DB_PORT to change");
	rwfx_teardown(&fx);
}

Test(rewrite_cases, no_app_connection_refused)
{
	expect_refused("lonely",
		"services:\n  app:\n    image: a\n    environment:\n      X: y\n"
		"    depends_on: [db]\n  db:\n    image: postgres:16\n");
}

Test(rewrite_cases, override_refuses_alias_in_db_block)
{
	RwFx fx;
	StrBuf ov = STRBUF_INIT;
	RwProvenance prov = { "services/app.yml", "overrides/app-dedicated-postgres.yml", NULL, NULL };

	cr_assert(rwfx_setup_bytes(&fx, "app",
		"x-restart: &rp unless-stopped\n"
		"services:\n  app:\n    image: a\n    environment:\n"
		"      DATABASE_URL: postgres://u:p@db/x\n"
		"  db:\n    image: postgres:16\n    restart: *rp\n"));
	cr_assert_geq(fx.svc.db_service, 0);
	cr_assert_not(rewrite_rollback_override(&fx.svc, &prov, &ov));
	cr_assert_eq(ov.len, 0);
	rwfx_teardown(&fx);
}

Test(rewrite_cases, leftover_mentions_are_warned_not_edited)
{
	RwFx fx;
	RwServiceResult res;
	const char *yaml =
		"services:\n"
		"  app:\n"
		"    image: example/app:1\n"
		"    environment:\n"
		"      DATABASE_URL: postgres://app:${APP_DB_PASSWORD}@app-db/app\n"
		"      PGDUMP_TARGET: app_postgres   # the container name\n"
		"    command: [\"wait-for\", \"app-db:5432\", \"--\", \"run\"]  # app-db in a comment\n"
		"    depends_on: [app-db]\n"
		"  app-db:\n"
		"    image: postgres:16\n"
		"    container_name: app_postgres\n";

	cr_assert(rwfx_setup_bytes(&fx, "app", yaml));

	RwTarget t = rwfx_target(&fx);

	rewrite_ok(&fx, &t, &res);
	cr_assert_eq(res.warning_count, 2);
	cr_assert_not_null(strstr(res.warnings[0], ":7: service app still mentions app-db"),
					   "%s", res.warnings[0]);
	cr_assert_not_null(strstr(res.warnings[1], ":6: service app still mentions app_postgres"),
					   "%s", res.warnings[1]);
	cr_assert_not_null(strstr(res.bytes.data, "\"app-db:5432\""));
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

/* Random printable literal passwords: each is either refused or written so
 * that pgfold's own parser reads exactly that password back (through YAML
 * quoting, compose's $$ and, in URLs, percent-encoding). */
Test(rewrite_cases, random_literal_passwords_read_back_or_are_refused)
{
	static const char *const fixtures[] = { "commented", "literal", "crlf", "joplin" };
	unsigned seed = 4242;
	size_t written = 0, refused = 0;

	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++)
	{
		RwFx fx;

		rwfx_setup(&fx, fixtures[f]);
		for (int round = 0; round < 40; round++)
		{
			char pw[24];
			size_t n = 1 + (size_t) (rand_r(&seed) % (sizeof(pw) - 1));
			RwServiceResult res;
			StackService ns;

			for (size_t i = 0; i < n; i++)
				pw[i] = (char) (' ' + rand_r(&seed) % 95);
			pw[n] = '\0';

			RwTarget t = rwfx_target(&fx);

			t.password = pw;
			t.password_style = RW_PASSWORD_LITERAL;
			if (!rewrite_service_file(&fx.svc, &t, &res))
			{
				refused++;
				continue;
			}
			written++;
			cr_assert(rwfx_reparse(&fx, res.bytes.data, res.bytes.len, &ns));
			for (size_t k = 0; k < ns.conn_count; k++)
				cr_assert(ns.conns[k].values.password &&
						  strcmp(ns.conns[k].values.password, pw) == 0,
						  "%s: password [%s] read back as [%s]\n%s", fixtures[f], pw,
						  ns.conns[k].values.password ? ns.conns[k].values.password : "(null)",
						  res.bytes.data);
			rwfx_free_svc(&ns);
			rewrite_service_result_free(&res);
		}
		rwfx_teardown(&fx);
	}
	cr_log_info("random passwords: %zu written, %zu refused", written, refused);
	cr_assert_gt(written, refused, "most passwords should be writable");
}

/* The flags that decide which files must be private, and that they match
 * the bytes: literal = the new password in clear in the new file. */
static void
expect_flags(RwFx *fx, RwPasswordStyle style, bool literal, bool original)
{
	RwTarget t = rwfx_target(fx);
	RwServiceResult res;

	t.password_style = style;
	rewrite_ok(fx, &t, &res);
	cr_assert_eq(strstr(res.bytes.data, RWFX_PASSWORD) != NULL, literal, "%s", res.bytes.data);
	cr_assert_eq(res.literal_password, literal, "%s", res.bytes.data);
	cr_assert_eq(res.original_literal_password, original, "%s", fx->svc.file.bytes);
	rewrite_service_result_free(&res);
}

/* Which files must be private: a password written in clear in the new
 * file, or one in clear in the original (which the override copies). */
Test(rewrite_cases, literal_password_flags)
{
	RwFx fx;

	rwfx_setup(&fx, "literal");
	expect_flags(&fx, RW_PASSWORD_MIRROR, true, true);
	/* a reference now, but the override still copies the old literal */
	expect_flags(&fx, RW_PASSWORD_REFERENCE, false, true);
	rwfx_teardown(&fx);

	cr_assert(rwfx_setup_bytes(&fx, "app", base_file));
	expect_flags(&fx, RW_PASSWORD_MIRROR, false, false);
	expect_flags(&fx, RW_PASSWORD_LITERAL, true, false);
	rwfx_teardown(&fx);

	/* the app refers to a variable, the db service has it in clear */
	const char *ref = "POSTGRES_PASSWORD: ${APP_DB_PASSWORD}";
	const char *at = strstr(base_file, ref);
	StrBuf db_literal = STRBUF_INIT;

	cr_assert_not_null(at);
	sb_append(&db_literal, base_file, (size_t) (at - base_file));
	sb_appends(&db_literal, "POSTGRES_PASSWORD: 'in-clear'");
	sb_appends(&db_literal, at + strlen(ref));
	cr_assert(rwfx_setup_bytes(&fx, "app", sb_str(&db_literal)));
	expect_flags(&fx, RW_PASSWORD_MIRROR, false, true);
	rwfx_teardown(&fx);
	sb_free(&db_literal);
}
