/*
 * endpoint.c — DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, read the
 * way the docker CLI reads them, so pgfold talks to the engine the
 * operator's `docker` talks to:
 *   unset or ""          unix:///var/run/docker.sock
 *   unix:///path         that socket (sun_path: at most 107 bytes)
 *   tcp://host[:port]    http, port 2375; https with client certificates,
 *                        port 2376, when DOCKER_TLS_VERIFY or
 *                        DOCKER_CERT_PATH is set. DOCKER_TLS_VERIFY set to
 *                        any non-empty value (even "0", as in the CLI)
 *                        also verifies the daemon's certificate.
 * Certificates: DOCKER_CERT_PATH, default ~/.docker: ca.pem, cert.pem, key.pem.
 */
#include "pgfold/docker.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

#include <string.h>

static bool
endpoint_fail(const char *docker_host, const char *why)
{
	log_error("DOCKER_HOST=%s: %s", docker_host, why);
	exit_hint_set(EXIT_ENGINE);
	return false;
}

static bool
parse_unix(const char *docker_host, const char *path, DockerEndpoint *out)
{
	if (*path == '\0')
		path = DOCKER_DEFAULT_SOCKET;
	if (path[0] != '/')
		return endpoint_fail(docker_host,
							 "the socket path must be absolute (unix:///path/to/docker.sock)");
	if (strlen(path) > DOCKER_UNIX_PATH_MAX)
	{
		log_error("DOCKER_HOST=%s: the socket path is %zu bytes long; a unix "
				  "socket path can have at most %d. Use a shorter path (a symlink "
				  "to the socket works)", docker_host, strlen(path),
				  DOCKER_UNIX_PATH_MAX);
		exit_hint_set(EXIT_ENGINE);
		return false;
	}
	out->kind = DOCKER_ENDPOINT_UNIX;
	str_copy(out->unix_path, sizeof(out->unix_path), path);
	/* The host part of the URL is ignored on a unix socket. */
	str_copy(out->base_url, sizeof(out->base_url), "http://localhost");
	return str_format(out->display, sizeof(out->display), "unix://%s", path);
}

static bool
cert_files(const char *cert_path, const char *home, DockerEndpoint *out)
{
	char dir[DOCKER_PATH_MAX];

	if (cert_path != NULL && *cert_path != '\0')
	{
		if (!str_copy(dir, sizeof(dir), cert_path))
			return false;
	}
	else if (home == NULL || *home == '\0' ||
			 !str_format(dir, sizeof(dir), "%s/.docker", home))
	{
		log_error("DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor "
				  "HOME says where ca.pem, cert.pem and key.pem are");
		exit_hint_set(EXIT_ENGINE);
		return false;
	}
	return str_format(out->ca_file, sizeof(out->ca_file), "%s/ca.pem", dir) &&
		str_format(out->cert_file, sizeof(out->cert_file), "%s/cert.pem", dir) &&
		str_format(out->key_file, sizeof(out->key_file), "%s/key.pem", dir);
}

/* "host", "host:port", "[v6]", "[v6]:port"; a trailing "/" is allowed. */
static bool
split_host_port(const char *docker_host, const char *rest, DockerEndpoint *out,
				int default_port)
{
	char hp[300];
	const char *port_s = NULL;

	if (!str_copy(hp, sizeof(hp), rest))
		return endpoint_fail(docker_host, "host name too long");

	size_t n = strlen(hp);

	if (n > 0 && hp[n - 1] == '/')
		hp[--n] = '\0';
	if (strchr(hp, '/') != NULL || strchr(hp, '@') != NULL || strchr(hp, '?') != NULL)
		return endpoint_fail(docker_host, "expected tcp://host:port (no path, user or query)");

	char *colon;

	if (hp[0] == '[')
	{
		char *close = strchr(hp, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return endpoint_fail(docker_host, "bad IPv6 address (expected tcp://[addr]:port)");
		colon = close[1] == ':' ? close + 1 : NULL;
	}
	else
	{
		colon = strchr(hp, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return endpoint_fail(docker_host, "IPv6 addresses need brackets: tcp://[addr]:port");
	}
	if (colon != NULL)
	{
		*colon = '\0';
		port_s = colon + 1;
	}
	if (hp[0] == '\0')
		return endpoint_fail(docker_host, "no host name (expected tcp://host:port)");

	long port = default_port;

	if (port_s != NULL && !str_to_long(port_s, 1, 65535, &port))
		return endpoint_fail(docker_host, "the port must be a number from 1 to 65535");
	for (const char *p = hp; *p; p++)
		if ((unsigned char) *p <= ' ' || *p == '%' || *p == '#')
			return endpoint_fail(docker_host, "bad character in the host name");
	str_copy(out->host, sizeof(out->host), hp);
	out->port = (int) port;
	return true;
}

static bool
parse_tcp(const char *docker_host, const char *rest, const char *tls_verify,
		  const char *cert_path, const char *home, DockerEndpoint *out)
{
	out->kind = DOCKER_ENDPOINT_TCP;
	out->tls_verify = tls_verify != NULL && *tls_verify != '\0';
	out->tls = out->tls_verify || (cert_path != NULL && *cert_path != '\0');
	if (!split_host_port(docker_host, rest, out, out->tls ? 2376 : 2375))
		return false;
	if (out->tls && !cert_files(cert_path, home, out))
		return false;
	if (!str_format(out->base_url, sizeof(out->base_url), "%s://%s:%d",
					out->tls ? "https" : "http", out->host, out->port))
		return endpoint_fail(docker_host, "host name too long");
	return str_format(out->display, sizeof(out->display), "tcp://%s:%d%s",
					  out->host, out->port, out->tls ? " (TLS)" : "");
}

bool
docker_endpoint_parse(const char *docker_host, const char *tls_verify,
					  const char *cert_path, const char *home,
					  DockerEndpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (docker_host == NULL || *docker_host == '\0')
		return parse_unix("unix://" DOCKER_DEFAULT_SOCKET, "", out);
	if (str_has_prefix(docker_host, "unix://"))
		return parse_unix(docker_host, docker_host + strlen("unix://"), out);
	if (str_has_prefix(docker_host, "tcp://"))
		return parse_tcp(docker_host, docker_host + strlen("tcp://"),
						 tls_verify, cert_path, home, out);
	if (str_has_prefix(docker_host, "ssh://"))
		return endpoint_fail(docker_host,
							 "ssh:// engines are not supported; forward the socket "
							 "(ssh -L /tmp/docker.sock:/var/run/docker.sock HOST) and "
							 "use DOCKER_HOST=unix:///tmp/docker.sock");
	if (str_has_prefix(docker_host, "npipe://"))
		return endpoint_fail(docker_host, "named pipes exist only on Windows");
	return endpoint_fail(docker_host,
						 "unsupported address; use unix:///path/to/docker.sock "
						 "or tcp://host:port");
}
