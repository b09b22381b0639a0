/*
 * test_hostile.c — hostile bytes in a service file and in the names pgfold
 * writes. The rewrite edits only the connection's bytes: values with
 * quotes, semicolons, newlines, `$(...)` and 10 kB of text arrive in the
 * new file byte for byte and read back the same. A role or database name
 * with quotes, ';', '$(...)' or '@' is written encoded and reads back as
 * itself, never as syntax; one with a newline is refused with its reason.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgfold/log.h"
#include "rwfx.h"

#define BIG_LEN (10 * 1024)

static const char head[] =
	"services:\n"
	"  app:\n"
	"    image: example/app:1\n"
	"    environment:\n"
	"      DATABASE_URL: postgres://app:${APP_DB_PASSWORD}@app-db/app\n"
	"      EVIL_SQ: 'it''s; DROP TABLE users; --'\n"
	"      EVIL_DQ: \"a\\\"b\\nc; $$(touch /tmp/pgfold-pwned) `id` ${APP_DB_PASSWORD:-x}\"\n"
	"      EVIL_PLAIN: x;rm -rf / #not a comment? yes it is\n"
	"      BIG: \"";
static const char tail[] =
	"\"\n"
	"    depends_on:\n"
	"      - app-db\n"
	"  app-db:\n"
	"    image: postgres:16\n"
	"    environment:\n"
	"      POSTGRES_USER: app\n"
	"      POSTGRES_PASSWORD: ${APP_DB_PASSWORD}\n"
	"      POSTGRES_DB: app\n";

static char *
hostile_file(void)
{
	StrBuf sb = STRBUF_INIT;

	sb_appends(&sb, head);
	/* 10 kB of shell and SQL syntax; "$$" is compose's literal '$' */
	while (sb.len - strlen(head) + 14 <= BIG_LEN)
		sb_appends(&sb, "x;'`|&<>$$(id)");
	while (sb.len - strlen(head) < BIG_LEN)
		sb_appendc(&sb, 'x');
	sb_appends(&sb, tail);
	return sb_steal(&sb);
}

static const EnvItem *
env_of(const StackService *svc, const char *name)
{
	const ComposeService *app = compose_find_service(&svc->file, "app");

	cr_assert_not_null(app);
	return compose_find_env(app, name);
}

Test(rewrite_hostile, values_arrive_byte_for_byte)
{
	static const char *const names[] = { "EVIL_SQ", "EVIL_DQ", "EVIL_PLAIN", "BIG" };
	char *bytes = hostile_file();
	RwFx fx;
	RwServiceResult res;
	StackService ns;

	cr_assert(rwfx_setup_bytes(&fx, "app", bytes), "the hostile file does not parse");
	cr_assert_str_eq(env_of(&fx.svc, "EVIL_SQ")->resolved, "it's; DROP TABLE users; --");
	cr_assert_str_eq(env_of(&fx.svc, "EVIL_DQ")->resolved,
					 "a\"b\nc; $(touch /tmp/pgfold-pwned) `id` apppw");
	cr_assert_str_eq(env_of(&fx.svc, "EVIL_PLAIN")->resolved, "x;rm -rf /");
	cr_assert_not_null(env_of(&fx.svc, "BIG")->resolved);
	cr_assert_gt(strlen(env_of(&fx.svc, "BIG")->resolved), BIG_LEN - BIG_LEN / 14 - 14);
	cr_assert_not_null(strstr(env_of(&fx.svc, "BIG")->resolved, "x;'`|&<>$(id)x;"));

	RwTarget t = rwfx_target(&fx);

	cr_assert(rewrite_service_file(&fx.svc, &t, &res), "rewrite refused");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		const EnvItem *e = env_of(&fx.svc, names[i]);
		size_t n = e->item.end - e->item.start;

		cr_assert_not_null(memmem(res.bytes.data, res.bytes.len, fx.svc.file.bytes + e->item.start, n),
						   "%s: its %zu bytes are not in the new file as they were", names[i], n);
	}
	cr_assert(rwfx_reparse(&fx, res.bytes.data, res.bytes.len, &ns), "the new file does not parse");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_str_eq(env_of(&ns, names[i])->resolved, env_of(&fx.svc, names[i])->resolved,
						 "%s reads back otherwise", names[i]);
	cr_assert(access("/tmp/pgfold-pwned", F_OK) != 0, "something ran $(touch ...)");
	rwfx_free_svc(&ns);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
	free(bytes);
}

Test(rewrite_hostile, names_are_encoded_and_read_back)
{
	static const char file[] =
		"services:\n"
		"  app:\n"
		"    image: example/app:1\n"
		"    environment:\n"
		"      DATABASE_URL: postgres://app:${APP_DB_PASSWORD}@app-db/app\n"
		"  app-db:\n"
		"    image: postgres:16\n"
		"    environment:\n"
		"      POSTGRES_PASSWORD: ${APP_DB_PASSWORD}\n"
		"      POSTGRES_DB: app\n";
	static const char role[] = "r'o\"l;e$(id)@x";
	static const char db[] = "d\"b; DROP DATABASE postgres; -- ${X}/?#";
	RwFx fx;
	RwServiceResult res;
	StackService ns;

	cr_assert(rwfx_setup_bytes(&fx, "app", file));

	RwTarget t = rwfx_target(&fx);

	t.role = role;
	t.dbname = db;
	cr_assert(rewrite_service_file(&fx.svc, &t, &res), "rewrite refused");
	/* in the URL, percent-encoded; as itself only in the header comment */
	cr_assert_not_null(strstr(res.bytes.data, "DATABASE_URL: postgres://r%27o%22l%3Be%24%28id%29%40x:"
							  "${PGFOLD_APP_DB_PASSWORD:?missing in .env}@postgres/d%22b%3B%20DROP%20"
							  "DATABASE%20postgres%3B%20--%20%24%7BX%7D%2F%3F%23\n"), "%s",
					   res.bytes.data);
	cr_assert_not_null(strstr(res.bytes.data, "\n# database_name: d\"b; DROP DATABASE postgres; -- "
							  "${X}/?#\n"), "%s", res.bytes.data);
	cr_assert(rwfx_reparse(&fx, res.bytes.data, res.bytes.len, &ns));
	cr_assert_str_eq(compose_meta_get(&ns.file, "database_name"), db);
	cr_assert_eq(ns.conn_count, 1);
	cr_assert_str_eq(ns.conns[0].values.user, role);
	cr_assert_str_eq(ns.conns[0].values.dbname, db);
	cr_assert_str_eq(ns.conns[0].values.host, "postgres");
	rwfx_free_svc(&ns);
	rewrite_service_result_free(&res);

	/* a newline cannot be written into one YAML line: refused, said once */
	t.dbname = "app\nevil: 1";
	cr_assert_not(rewrite_service_file(&fx.svc, &t, &res));
	rwfx_teardown(&fx);
}

/* A connection value compose cannot interpolate (here an unclosed "${"):
 * the file does not run as it is, and an edit would keep the broken tail,
 * so the new file would not read as the new settings (tests/fuzz
 * regressions/rewrite/url-with-unclosed-interpolation). Refused, said once. */
Test(rewrite_hostile, value_that_does_not_interpolate_refused)
{
	static const char file[] =
		"services:\n"
		"  app:\n"
		"    image: example/app:1\n"
		"    environment:\n"
		"      DATABASE_URL: postgres://app:${APP_DB_PASSWORD}@app-db/app?schema=publ${P\n"
		"  app-db:\n"
		"    image: postgres:16\n"
		"    environment:\n"
		"      POSTGRES_PASSWORD: ${APP_DB_PASSWORD}\n"
		"      POSTGRES_DB: app\n";
	RwFx fx;
	RwServiceResult res;
	char log[1024], want[1024];

	cr_assert(rwfx_setup_bytes(&fx, "app", file));

	RwTarget t = rwfx_target(&fx);

	log_capture_begin(log, sizeof(log));
	cr_assert_not(rewrite_service_file(&fx.svc, &t, &res), "rewrite accepted:\n%s", res.bytes.data);
	log_capture_end();
	cr_assert(str_format(want, sizeof(want), "%s: DATABASE_URL of service app does not interpolate "
						 "(unterminated ${P); compose cannot run the file as it is: fix the value "
						 "and retry", fx.path));
	cr_assert_str_eq(log, want);
	rwfx_teardown(&fx);
}
