/*
 * test_compose_networks.c — a service's networks as compose resolves them
 * (network_mode, networks: in list and map form through the top-level
 * networks: name / external / <project>_<key>, the default network),
 * extra_hosts, and the shared container's networks read from an inspect
 * document.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/compose.h"
#include "pgfold/docker.h"

static const char *
no_vars(void *ctx, const char *name)
{
	(void) ctx;
	return strcmp(name, "NET") == 0 ? "edge-net" : NULL;
}

static char *
joined(const ComposeFile *f, const char *key, const char **mode)
{
	char **names = NULL;
	size_t n = 0;
	StrBuf sb = STRBUF_INIT;

	compose_service_networks(f, compose_find_service(f, key), "proj", &names, &n, mode);
	for (size_t i = 0; i < n; i++)
	{
		sb_appendf(&sb, "%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
	free(names);
	return sb.data ? sb_steal(&sb) : strdup("");
}

Test(compose_networks, resolved_as_compose_names_them)
{
	const char *y = "services:\n"
		"  plain:\n    image: a\n"
		"  listed:\n    image: a\n    networks:\n      - int\n      - edge\n      - ext\n"
		"  mapped:\n    image: a\n    networks:\n      int:\n        aliases: [x]\n      legacy: {}\n"
		"  hosted:\n    image: a\n    network_mode: host\n"
		"    extra_hosts:\n      - \"host.docker.internal:host-gateway\"\n"
		"networks:\n  int:\n    internal: true\n  edge:\n    name: ${NET}\n"
		"  ext:\n    external: true\n  legacy:\n    external:\n      name: old-net\n";
	ComposeFile f;
	const char *mode = NULL;

	cr_assert(compose_parse("t.yml", y, strlen(y), no_vars, NULL, &f), "%s", f.error);

	char *s = joined(&f, "plain", &mode);

	cr_assert_str_eq(s, "proj_default");
	cr_assert_null(mode);
	free(s);
	s = joined(&f, "listed", &mode);
	cr_assert_str_eq(s, "proj_int,edge-net,ext");
	free(s);
	s = joined(&f, "mapped", &mode);
	cr_assert_str_eq(s, "proj_int,old-net");
	free(s);
	s = joined(&f, "hosted", &mode);
	cr_assert_str_eq(s, "");
	cr_assert_str_eq(mode, "host");
	free(s);

	const ComposeService *h = compose_find_service(&f, "hosted");

	cr_assert_eq(h->extra_host_count, 1);
	cr_assert_str_eq(h->extra_hosts[0], "host.docker.internal:host-gateway");
	cr_assert(f.networks_present);
	cr_assert_eq(f.network_count, 4);
	compose_free(&f);
}

Test(compose_networks, duplicate_network_keys_refused)
{
	const char *y = "services:\n  a:\n    image: a\n    networks:\n      n1: {}\n      n1: {}\n";
	ComposeFile f;
	ComposeOptions o = { .quiet = true };

	cr_assert_not(compose_parse_opts("t.yml", y, strlen(y), no_vars, NULL, &o, &f));
	compose_free(&f);
}

Test(compose_networks, shared_container_networks_from_inspect)
{
	json_t *js = json_loads("{\"HostConfig\":{\"NetworkMode\":\"traefik\"},"
							"\"NetworkSettings\":{\"Networks\":{\"traefik\":{},\"db-net\":{}}}}",
							0, NULL);
	char *mode = NULL, **names = NULL;
	size_t n = 0;

	docker_inspect_networks(js, &mode, &names, &n);
	cr_assert_str_eq(mode, "traefik");
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "db-net");
	cr_assert_str_eq(names[1], "traefik");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(mode);
	json_decref(js);

	js = json_loads("{\"HostConfig\":{\"NetworkMode\":\"host\"},"
					"\"NetworkSettings\":{\"Networks\":{\"host\":{}}}}", 0, NULL);
	docker_inspect_networks(js, &mode, &names, &n);
	cr_assert_str_eq(mode, "host");
	cr_assert_eq(n, 1);
	free(names[0]);
	free(names);
	free(mode);
	json_decref(js);
}
