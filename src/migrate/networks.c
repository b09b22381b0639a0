/*
 * networks.c — can the apps reach the shared instance after the fold?
 * The shared container is inspected for its networks; an app that shares
 * none of them is put on one by the rewriter (src/rewrite/networks.c).
 * When the shared instance uses host networking, or is not a container,
 * no network can be shared: the host the apps get (PGFOLD_SHARED_HOST)
 * must then be one they can reach from where they are, which the
 * pre-flight says for each app.
 */
#include "pgfold/composecmd.h"
#include "pgfold/migrate.h"

#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

void
migration_shared_net(App *app, size_t index, SharedNet *out)
{
	json_t *js = NULL;
	bool found = false;
	const char *project = composecmd_project(app, index);

	memset(out, 0, sizeof(*out));
	str_copy(out->project, sizeof(out->project), project ? project : "");
	if (app->cfg.shared_container[0] == '\0' || app->docker == NULL)
		return;
	bool ok = docker_inspect_container(app->docker, app->cfg.shared_container, &js, &found);

	if (!ok || !found || js == NULL)
	{
		json_decref(js);
		return;
	}
	docker_inspect_networks(js, &out->mode, &out->names, &out->count);
	json_decref(js);
	out->container = true;
	out->rw = (RwSharedNet) { app->cfg.shared_container, out->mode, out->names, out->count,
							  out->project };
}

void
migration_shared_net_free(SharedNet *net)
{
	for (size_t i = 0; i < net->count; i++)
		free(net->names[i]);
	free(net->names);
	free(net->mode);
	memset(net, 0, sizeof(*net));
}

/* ---- pre-flight ---------------------------------------------------------- */

static bool
loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0
		|| strcmp(host, "::1") == 0;
}

static bool
has_extra_host(const ComposeService *s, const char *host)
{
	size_t n = strlen(host);

	for (size_t i = 0; i < s->extra_host_count; i++)
		if (strncmp(s->extra_hosts[i], host, n) == 0
			&& (s->extra_hosts[i][n] == ':' || s->extra_hosts[i][n] == '='))
			return true;
	return false;
}

/* Shared instance on the host's network (or no container): what the
 * host PGFOLD_SHARED_HOST means from the app's network namespace. */
static void
check_host_reach(Preflight *pf, App *app, const ComposeService *s, const char *why)
{
	const char *host = app->cfg.shared_host, *mode = s->network_mode;
	int port = app->cfg.shared_port;

	if (mode != NULL && strcmp(mode, "host") == 0)
	{
		if (loopback(host))
			preflight_add(pf, "network", CHECK_OK, "%s uses host networking and the shared "
						  "instance is %s: %s:%d reaches it on the host", s->key, why, host, port);
		else
			preflight_add(pf, "network", CHECK_WARN, "%s uses host networking and the shared "
						  "instance is %s: PGFOLD_SHARED_HOST=%s must resolve on the host itself "
						  "(a compose service name does not); 127.0.0.1 reaches a server "
						  "listening on the host's loopback", s->key, why, host);
	}
	else if (mode != NULL && strcmp(mode, "none") == 0)
		preflight_add(pf, "network", CHECK_INFO, "%s has network_mode: none: it reaches no "
					  "server over TCP, the shared instance included (a socket or a test setup?)",
					  s->key);
	else if (loopback(host))
		preflight_add(pf, "network", CHECK_WARN, "%s runs on a compose network and the shared "
					  "instance is %s: inside %s, %s is the app's own container, not the host. "
					  "Set PGFOLD_SHARED_HOST=host.docker.internal, give %s `extra_hosts: "
					  "[\"host.docker.internal:host-gateway\"]`, and have postgres listen on "
					  "the docker gateway address", s->key, why, s->key, host, s->key);
	else if (strcmp(host, "host.docker.internal") == 0 && !has_extra_host(s, host))
		preflight_add(pf, "network", CHECK_WARN, "%s resolves host.docker.internal only on "
					  "Docker Desktop unless its service has `extra_hosts: "
					  "[\"host.docker.internal:host-gateway\"]`: add it to %s", s->key, s->key);
	else
		preflight_add(pf, "network", CHECK_INFO, "%s must reach %s:%d from its networks (the "
					  "shared instance is %s); pgfold cannot check that from here", s->key, host,
					  port, why);
}

void
preflight_networks(Preflight *pf, App *app, const StackService *svc)
{
	const MigrationFiles *mf = pf->files;

	if (mf == NULL)
		return;

	const SharedNet *net = &mf->net;
	const char *why = NULL;
	char whybuf[320];

	if (!net->container)
		why = app->cfg.shared_container[0] ? "not a running container pgfold can inspect"
			: "not a container (PGFOLD_SHARED_CONTAINER is empty)";
	else if (net->mode != NULL && strcmp(net->mode, "host") == 0)
	{
		str_format(whybuf, sizeof(whybuf), "on the host's network (container %s)",
				   app->cfg.shared_container);
		why = whybuf;
	}
	for (size_t i = 0; i < mf->service.net_added_count; i++)
	{
		const RwNetAdded *a = &mf->service.net_added[i];

		preflight_add(pf, "network", CHECK_INFO, "%s shares no network with the shared "
					  "container %s (it is on %s): the fold adds network %s to its networks:%s",
					  a->app, app->cfg.shared_container, a->was[0] ? a->was : "none", a->network,
					  a->top_level ? " and declares it `external: true`" : "");
	}
	if (why == NULL)
		return;
	for (size_t i = 0; i < svc->file.service_count; i++)
	{
		bool connects = false;

		for (size_t k = 0; k < svc->conn_count; k++)
			connects = connects || svc->conns[k].app == i;
		for (size_t k = 0; k < mf->app_files.count; k++)
			connects = connects || strcmp(mf->app_files.items[k].app,
										  svc->file.services[i].key) == 0;
		if (connects && (int) i != svc->db_service)
			check_host_reach(pf, app, &svc->file.services[i], why);
	}
}
