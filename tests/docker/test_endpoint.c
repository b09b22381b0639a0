/*
 * test_endpoint.c — DOCKER_HOST parsing and container filter encoding.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/docker.h"

static DockerEndpoint ep;

Test(docker_endpoint, unset_is_default_socket)
{
	cr_assert(docker_endpoint_parse(NULL, NULL, NULL, "/root", &ep));
	cr_assert_eq(ep.kind, DOCKER_ENDPOINT_UNIX);
	cr_assert_str_eq(ep.unix_path, "/var/run/docker.sock");
	cr_assert_str_eq(ep.display, "unix:///var/run/docker.sock");
	cr_assert_str_eq(ep.base_url, "http://localhost");
	cr_assert_not(ep.tls);

	cr_assert(docker_endpoint_parse("", "1", "/certs", "/root", &ep));
	cr_assert_eq(ep.kind, DOCKER_ENDPOINT_UNIX);
	cr_assert_not(ep.tls, "TLS settings do not apply to unix sockets");
}

Test(docker_endpoint, unix_paths)
{
	cr_assert(docker_endpoint_parse("unix:///run/user/1000/docker.sock", NULL, NULL, NULL, &ep));
	cr_assert_str_eq(ep.unix_path, "/run/user/1000/docker.sock");
	cr_assert_str_eq(ep.display, "unix:///run/user/1000/docker.sock");

	cr_assert(docker_endpoint_parse("unix://", NULL, NULL, NULL, &ep));
	cr_assert_str_eq(ep.unix_path, "/var/run/docker.sock");

	cr_assert_not(docker_endpoint_parse("unix://relative.sock", NULL, NULL, NULL, &ep));
}

Test(docker_endpoint, unix_path_length_limit)
{
	char host[200], path[120];

	/* 107 bytes fits sun_path with its NUL; 108 does not. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	cr_assert(str_format(host, sizeof(host), "unix://%s", path));
	cr_assert(docker_endpoint_parse(host, NULL, NULL, NULL, &ep));
	cr_assert_eq(strlen(ep.unix_path), 107);

	path[107] = 'a';
	path[108] = '\0';
	cr_assert(str_format(host, sizeof(host), "unix://%s", path));
	cr_assert_not(docker_endpoint_parse(host, NULL, NULL, NULL, &ep));
}

Test(docker_endpoint, tcp_plain)
{
	cr_assert(docker_endpoint_parse("tcp://10.0.0.5:2375", NULL, NULL, NULL, &ep));
	cr_assert_eq(ep.kind, DOCKER_ENDPOINT_TCP);
	cr_assert_str_eq(ep.host, "10.0.0.5");
	cr_assert_eq(ep.port, 2375);
	cr_assert_str_eq(ep.base_url, "http://10.0.0.5:2375");
	cr_assert_not(ep.tls);

	cr_assert(docker_endpoint_parse("tcp://docker.lan", NULL, "", NULL, &ep));
	cr_assert_eq(ep.port, 2375);
	cr_assert_str_eq(ep.base_url, "http://docker.lan:2375");

	cr_assert(docker_endpoint_parse("tcp://[::1]:2375/", NULL, NULL, NULL, &ep));
	cr_assert_str_eq(ep.host, "[::1]");
	cr_assert_str_eq(ep.base_url, "http://[::1]:2375");
}

Test(docker_endpoint, tcp_tls_like_the_cli)
{
	cr_assert(docker_endpoint_parse("tcp://nas:2376", "1", "/etc/docker-certs", NULL, &ep));
	cr_assert(ep.tls);
	cr_assert(ep.tls_verify);
	cr_assert_str_eq(ep.base_url, "https://nas:2376");
	cr_assert_str_eq(ep.ca_file, "/etc/docker-certs/ca.pem");
	cr_assert_str_eq(ep.cert_file, "/etc/docker-certs/cert.pem");
	cr_assert_str_eq(ep.key_file, "/etc/docker-certs/key.pem");

	/* DOCKER_TLS_VERIFY alone: certificates from ~/.docker, port 2376. */
	cr_assert(docker_endpoint_parse("tcp://nas", "1", NULL, "/home/op", &ep));
	cr_assert_eq(ep.port, 2376);
	cr_assert_str_eq(ep.ca_file, "/home/op/.docker/ca.pem");

	/* DOCKER_CERT_PATH alone: TLS with client certs, no server verification. */
	cr_assert(docker_endpoint_parse("tcp://nas:2376", NULL, "/c", NULL, &ep));
	cr_assert(ep.tls);
	cr_assert_not(ep.tls_verify);

	/* Verification wanted but nowhere to find certificates. */
	cr_assert_not(docker_endpoint_parse("tcp://nas", "1", NULL, NULL, &ep));
}

Test(docker_endpoint, bad_values)
{
	static const char *const bad[] = {
		"http://localhost:2375", "ssh://me@nas", "npipe:////./pipe/docker_engine",
		"docker.sock", "/var/run/docker.sock", "tcp://", "tcp://:2375",
		"tcp://nas:0", "tcp://nas:99999", "tcp://nas:http", "tcp://nas:2375/path",
		"tcp://user@nas:2375", "tcp://::1:2375", "tcp://[::1", "tcp://na s:1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(docker_endpoint_parse(bad[i], NULL, NULL, NULL, &ep), "%s", bad[i]);
}

Test(docker_filter, json_and_query)
{
	static const char *const labels[] = { "com.docker.compose.project=home lab", "pgfold.test", NULL };
	DockerFilter f = { .labels = labels, .name = "db", .status = "running", .all = true };
	char *json = docker_filter_json(&f);
	StrBuf q = STRBUF_INIT;

	cr_assert_str_eq(json, "{\"label\":[\"com.docker.compose.project=home lab\",\"pgfold.test\"],"
					 "\"name\":[\"db\"],\"status\":[\"running\"]}");
	cr_assert(docker_filter_query(&f, &q));
	cr_assert_str_eq(sb_str(&q),
					 "all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3Dhome%20lab"
					 "%22%2C%22pgfold.test%22%5D%2C%22name%22%3A%5B%22db%22%5D%2C%22status%22%3A"
					 "%5B%22running%22%5D%7D");
	free(json);
	sb_free(&q);
}

Test(docker_filter, empty_fields_are_not_sent)
{
	static const char *const labels[] = { NULL };
	DockerFilter f = { .labels = labels, .name = "", .ancestor = NULL };
	StrBuf q = STRBUF_INIT;

	cr_assert_null(docker_filter_json(&f));
	cr_assert_null(docker_filter_json(NULL));
	cr_assert(docker_filter_query(&f, &q));
	cr_assert_str_eq(sb_str(&q), "");
	f.all = true;
	cr_assert(docker_filter_query(&f, &q));
	cr_assert_str_eq(sb_str(&q), "all=1");

	/* Quotes and backslashes in values stay inside the JSON strings. */
	f.ancestor = "we\"ird\\";
	char *json = docker_filter_json(&f);

	cr_assert_str_eq(json, "{\"ancestor\":[\"we\\\"ird\\\\\"]}");
	free(json);
	sb_free(&q);
}
