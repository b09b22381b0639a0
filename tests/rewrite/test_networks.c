/*
 * test_networks.c — an app that shares no network with the shared
 * container joins one: its networks: and the top-level networks: edited
 * byte for byte (list, map and absent forms, a top-level entry reused),
 * nothing edited when it already shares one, uses network_mode, or the
 * shared instance uses host networking; and what real compose (1.29, or
 * v2 with PGFOLD_TEST_COMPOSE=v2) resolves from the result: the app on its
 * own network and the shared one, and on its own network only again once
 * the original file is back (what `pgfold rollback` restores). The lab
 * has no bridge networks and creates none: `config` needs no engine.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "pgfold/log.h"
#include "rwfx.h"

static char *const SHARED_NETS[] = { "traefik" };
static const RwSharedNet SHARED = { "shared-pg", "traefik", SHARED_NETS, 1, "proj" };

#define APP_HEAD "services:\n  app:\n    image: example/app\n    environment:\n" \
	"      DB_HOST: app-db\n      DB_PORT: 5432\n      DB_USER: app\n" \
	"      DB_PASSWORD: ${APP_DB_PASSWORD}\n      DB_NAME: app\n"
#define DB_BLOCK "  app-db:\n    image: postgres:15\n    environment:\n" \
	"      POSTGRES_USER: app\n      POSTGRES_PASSWORD: ${APP_DB_PASSWORD}\n" \
	"      POSTGRES_DB: app\n"

static char *
fold(RwFx *fx, const char *yaml, const RwSharedNet *net, RwServiceResult *res)
{
	cr_assert(rwfx_setup_bytes(fx, "app", yaml), "does not parse:\n%s", yaml);

	RwTarget t = rwfx_target(fx);

	t.net = net;
	cr_assert(rewrite_service_file(&fx->svc, &t, res), "refused:\n%s", yaml);
	return res->bytes.data;
}

Test(rewrite_networks, list_form_gets_the_shared_network_and_a_top_level_external)
{
	RwFx fx;
	RwServiceResult res;
	const char *in = APP_HEAD "    networks:\n      - app-int   # internal only\n"
		DB_BLOCK "    networks:\n      - app-int\n\nnetworks:\n  app-int:\n    internal: true\n";
	char *got = fold(&fx, in, &SHARED, &res);

	cr_assert(strstr(got, "    networks:\n      - app-int   # internal only\n      - traefik\n")
			  != NULL, "%s", got);
	cr_assert(str_has_suffix(got, "\nnetworks:\n  app-int:\n    internal: true\n  traefik:\n"
							 "    external: true\n"), "%s", got);
	cr_assert_eq(res.net_added_count, 1);
	cr_assert_str_eq(res.net_added[0].app, "app");
	cr_assert_str_eq(res.net_added[0].network, "traefik");
	cr_assert_str_eq(res.net_added[0].was, "proj_app-int");
	cr_assert(res.net_added[0].top_level);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_networks, no_networks_keeps_default_and_declares_at_the_end)
{
	RwFx fx;
	RwServiceResult res;
	char *got = fold(&fx, APP_HEAD DB_BLOCK, &SHARED, &res);

	cr_assert(strstr(got, "  app:\n    networks:\n      - default\n      - traefik\n"
					 "    image: example/app\n") != NULL, "%s", got);
	cr_assert(str_has_suffix(got, "\n\nnetworks:\n  traefik:\n    external: true\n"), "%s", got);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_networks, map_form_and_an_existing_top_level_entry_reused)
{
	RwFx fx;
	RwServiceResult res;
	const char *in = APP_HEAD "    networks:\n      app-int:\n        aliases: [web]\n"
		DB_BLOCK "\nnetworks:\n  app-int: {}\n  proxy:\n    external: true\n    name: traefik\n";
	char *got = fold(&fx, in, &SHARED, &res);

	cr_assert(strstr(got, "      app-int:\n        aliases: [web]\n      proxy: {}\n") != NULL,
			  "%s", got);
	cr_assert(str_has_suffix(got, "  proxy:\n    external: true\n    name: traefik\n"), "%s", got);
	cr_assert_not(res.net_added[0].top_level);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_networks, nothing_to_do)
{
	RwFx fx;
	RwServiceResult res;
	/* already on it */
	const char *on = APP_HEAD "    networks:\n      - edge\n" DB_BLOCK
		"\nnetworks:\n  edge:\n    external: true\n    name: traefik\n";
	char *got = fold(&fx, on, &SHARED, &res);

	cr_assert_null(strstr(got, "- traefik"));
	cr_assert_eq(res.net_added_count, 0);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);

	/* network_mode: the pre-flight's business */
	got = fold(&fx, APP_HEAD "    network_mode: host\n" DB_BLOCK, &SHARED, &res);
	cr_assert_null(strstr(got, "networks"));
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);

	/* the shared instance on the host's network: no network to share */
	RwSharedNet host = SHARED;
	static char *const HOSTNET[] = { "host" };

	host.mode = "host";
	host.networks = HOSTNET;
	got = fold(&fx, APP_HEAD DB_BLOCK, &host, &res);
	cr_assert_null(strstr(got, "networks"));
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_networks, flow_networks_refused)
{
	RwFx fx;
	RwServiceResult res;
	RwTarget t;

	log_set_level(LOG_FATAL);
	cr_assert(rwfx_setup_bytes(&fx, "app", APP_HEAD "    networks: [app-int]\n" DB_BLOCK));
	t = rwfx_target(&fx);
	t.net = &SHARED;
	cr_assert_not(rewrite_service_file(&fx.svc, &t, &res));
	rwfx_teardown(&fx);
}

/* ---- what compose resolves ------------------------------------------------- */

#define ENV_I "env -i PATH=\"$PATH\" HOME=\"$HOME\" ${DOCKER_CONFIG:+DOCKER_CONFIG=\"$DOCKER_CONFIG\"}"

/* The networks compose gives service app: `config --format json` is v2
 * only, so the printed YAML's `app:` block is read for its networks. */
static char *
app_networks(const char *dir, const char *files)
{
	StrBuf out = STRBUF_INIT, nets = STRBUF_INIT;
	bool ok = lab_sh_capture(&out, "cd '%s' && " ENV_I " %s -p proj %s config", dir,
							 lab_compose(), files);

	cr_assert(ok, "%s %s config failed in %s", lab_compose(), files, dir);

	const char *app = strstr(sb_str(&out), "\n  app:\n");
	const char *n = app ? strstr(app, "\n    networks:\n") : NULL;

	cr_assert_not_null(n, "no networks for app in:\n%s", sb_str(&out));
	for (const char *p = n + strlen("\n    networks:\n"); strncmp(p, "      ", 6) == 0;)
	{
		const char *e = strchr(p, '\n');

		if (p[6] != ' ')
			sb_appendf(&nets, "%.*s;", (int) (strcspn(p + 6, ":\n")), p + 6);
		p = e ? e + 1 : p + strlen(p);
	}
	sb_free(&out);
	return sb_steal(&nets);
}

Test(rewrite_networks, compose_resolves_the_app_on_both_then_on_its_own_again)
{
	RwFx fx;
	RwServiceResult res;
	const char *in = APP_HEAD "    networks:\n      - app-int\n" DB_BLOCK
		"    networks:\n      - app-int\n\nnetworks:\n  app-int:\n    internal: true\n";

	lab_compose_require();

	char *got = fold(&fx, in, &SHARED, &res);

	rwfx_write(fx.dir, "migrated.yml", got, strlen(got));
	/* the password variable the new file references, as migrate writes it */
	cr_assert_eq(res.env_count, 1);
	cr_assert_eq(lab_sh("cd '%s' && printf '%%s=%%s\\n' '%s' '%s' >> .env", fx.dir, res.env[0].key,
						res.env[0].value), 0);

	char *before = app_networks(fx.dir, "-f app.yml");
	char *after = app_networks(fx.dir, "-f migrated.yml");

	cr_assert_str_eq(before, "app-int;");
	cr_assert_str_eq(after, "app-int;traefik;");

	/* the external network keeps its own name, not proj_traefik */
	StrBuf out = STRBUF_INIT;

	cr_assert(lab_sh_capture(&out, "cd '%s' && " ENV_I " %s -p proj -f migrated.yml config",
							 fx.dir, lab_compose()));
	cr_assert(strstr(sb_str(&out), "  traefik:\n") != NULL);
	cr_assert(strstr(sb_str(&out), "external: true") != NULL, "%s", sb_str(&out));
	cr_assert_null(strstr(sb_str(&out), "proj_traefik"), "%s", sb_str(&out));
	sb_free(&out);

	/* rollback puts the original bytes back: compose resolves it as before */
	char *restored = app_networks(fx.dir, "-f app.yml");

	cr_assert_str_eq(restored, before);
	free(before);
	free(after);
	free(restored);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}
