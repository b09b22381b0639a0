/*
 * app.c — see app.h.
 */
#include "pgfold/app.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/str.h"

#include <stdlib.h>
#include <string.h>

bool
app_open(App *app, const GlobalOptions *opts)
{
	memset(app, 0, sizeof(*app));
	app->opts = opts;
	if (!config_load(opts->root, &app->cfg))
		return false;
	if (!stack_load(&app->cfg, &app->stack))
		return false;
	app->loaded = true;
	return true;
}

static void
free_invocations(App *app)
{
	for (size_t i = 0; app->invocations != NULL && i < app->stack.count; i++)
		compose_invocation_free(&app->invocations[i]);
	free(app->invocations);
	app->invocations = NULL;
}

static void
compute_invocations(App *app)
{
	free_invocations(app);
	app->invocations = xcalloc(app->stack.count ? app->stack.count : 1, sizeof(ComposeInvocation));
	for (size_t i = 0; i < app->stack.count; i++)
	{
		service_invocation(&app->cfg, &app->stack.services[i],
						   app->container_list ? &app->containers.services[i] : NULL,
						   &app->invocations[i]);
		/* none of its own containers says (a db file folded to `services:
		 * {}`): one of another file of the same project may, when its
		 * labels name this file among the project's files */
		for (size_t j = 0; app->container_list && app->invocations[i].source == NULL
			 && j < app->stack.count; j++)
		{
			ComposeInvocation probe;

			if (j == i)
				continue;
			service_invocation(&app->cfg, &app->stack.services[i], &app->containers.services[j],
							   &probe);
			if (probe.source == NULL)
			{
				compose_invocation_free(&probe);
				continue;
			}
			compose_invocation_free(&app->invocations[i]);
			app->invocations[i] = probe;
		}
	}
}

/*
 * A file whose containers were created by a compose that read other
 * variables than <root>/.env (another project directory, --env-file) is
 * read again with those, as that compose reads it; its containers are then
 * matched again (a container_name may come from a variable).
 */
static bool
follow_invocations(App *app)
{
	bool reloaded = false;

	compute_invocations(app);
	for (size_t i = 0; i < app->stack.count; i++)
	{
		StackService *svc = &app->stack.services[i];
		const ComposeInvocation *inv = &app->invocations[i];

		if (inv->source == NULL || inv->problem != NULL || !svc->loaded
			|| !compose_invocation_has_own_env(&app->cfg, inv))
			continue;
		if (!service_set_project_env(svc, inv))
		{
			/* that one file cannot be read as its compose reads it: said
			 * above, and status/plan show it as the file's problem */
			free(svc->problem);
			svc->problem = xstrdup("the env file its compose reads cannot be read (see above)");
			continue;
		}
		stack_reload_service(&app->cfg, svc);
		reloaded = true;
	}
	if (!reloaded)
		return true;
	stack_containers_free(&app->containers);
	if (!stack_match_containers(&app->stack, app->container_list, &app->containers))
		return false;
	compute_invocations(app);
	return true;
}

const ComposeInvocation *
app_invocation(App *app, size_t index)
{
	if (app->invocations == NULL)
		compute_invocations(app);
	return index < app->stack.count ? &app->invocations[index] : NULL;
}

void
app_close(App *app)
{
	free_invocations(app);
	if (app->shared != NULL)
		pg_disconnect(app->shared);
	if (app->container_list != NULL)
	{
		stack_containers_free(&app->containers);
		json_decref(app->container_list);
	}
	if (app->docker != NULL)
		docker_disconnect(app->docker);
	if (app->loaded)
		stack_free(&app->stack);
	config_free(&app->cfg);
	memset(app, 0, sizeof(*app));
}

bool
app_engine(App *app)
{
	if (app->engine_tried)
		return app->container_list != NULL;
	app->engine_tried = true;

	DockerFilter all = { .all = true };

	if (!docker_connect(&app->docker))
		return false;
	if (!docker_list_containers(app->docker, &all, &app->container_list))
		return false;
	if (!stack_match_containers(&app->stack, app->container_list, &app->containers))
	{
		json_decref(app->container_list);
		app->container_list = NULL;
		return false;
	}
	if (!follow_invocations(app))
	{
		stack_containers_free(&app->containers);
		json_decref(app->container_list);
		app->container_list = NULL;
		return false;
	}
	return true;
}

bool
app_shared(App *app)
{
	if (app->shared_tried)
		return app->shared != NULL;
	app->shared_tried = true;
	return pg_connect_shared(&app->cfg, NULL, &app->shared);
}

/* A bare SERVICE whose file holds several dedicated dbs: which would it
 * be? Say how to address each (logged); false when name is not such a file. */
static bool
several_dbs(const App *app, const char *name)
{
	StrBuf addrs = STRBUF_INIT;
	size_t n = strlen(name);

	for (size_t i = 0; i < app->stack.count; i++)
	{
		const StackService *s = &app->stack.services[i];

		if (s->db_key != NULL && strncmp(s->name, name, n) == 0 && s->name[n] == '/'
			&& strcmp(s->name + n + 1, s->db_key) == 0)
			sb_appendf(&addrs, "%s%s", addrs.len ? ", " : "", s->name);
	}
	bool found = addrs.len > 0;

	if (found)
		log_error("\"%s\" holds several postgres services; name one: %s", name, sb_str(&addrs));
	sb_free(&addrs);
	return found;
}

StackService *
app_service(App *app, const char *name, size_t *index)
{
	StrBuf known = STRBUF_INIT;

	for (size_t i = 0; i < app->stack.count; i++)
	{
		if (strcmp(app->stack.services[i].name, name) == 0)
		{
			if (index != NULL)
				*index = i;
			sb_free(&known);
			return &app->stack.services[i];
		}
		sb_appendf(&known, "%s%s", i ? ", " : "", app->stack.services[i].name);
	}
	if (!several_dbs(app, name))
		log_error("no service \"%s\" in %s (known: %s)", name, app->cfg.services_dir,
				  known.len ? sb_str(&known) : "none");
	exit_hint_set(EXIT_USAGE);
	sb_free(&known);
	return NULL;
}

const ContainerInfo *
app_db_container(const App *app, size_t index)
{
	if (app->container_list == NULL)
		return NULL;
	return stack_containers_db(&app->containers, index);
}

bool
app_stop_containers(App *app, size_t index, int skip, json_t *ids, json_t *names)
{
	const ServiceContainers *sc = &app->containers.services[index];
	const char **stop = xcalloc(sc->count ? sc->count : 1, sizeof(char *));
	/* one big file: the other dbs' containers are not this one's apps */
	char **others = stack_others_services(&app->stack, index);
	const StackService *svc = &app->stack.services[index];
	StrBuf list = STRBUF_INIT;
	size_t n = 0;
	bool ok = true;

	for (size_t i = 0; i < sc->count; i++)
	{
		const ContainerInfo *ci = &sc->members[i];

		if ((int) i == skip || ci->match == MATCH_NONE
			|| (i < svc->file.service_count && stack_others_has(others, svc->file.services[i].key))
			|| strcmp(ci->state, "running") != 0)
			continue;
		stop[n++] = ci->id;
		sb_appendf(&list, "%s%s", list.len ? ", " : "", ci->name);
		json_array_append_new(ids, json_string(ci->id));
		json_array_append_new(names, json_string(ci->name));
	}
	if (n > 0)
	{
		log_notice("stopping %s", sb_str(&list));
		ok = docker_stop_containers(app->docker, stop, n);
	}
	sb_free(&list);
	free(stop);
	stack_others_free(others);
	return ok;
}

/* The container's name from the one container list, for messages. */
static const char *
container_name(const App *app, const char *id)
{
	size_t i;
	json_t *c;

	json_array_foreach(app->container_list, i, c)
	{
		const char *cid = json_string_value(json_object_get(c, "Id"));
		const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

		if (cid != NULL && name != NULL && strcmp(cid, id) == 0)
			return name[0] == '/' ? name + 1 : name;
	}
	return NULL;
}

void
app_start_containers(App *app, json_t *ids)
{
	size_t i;
	json_t *id;

	json_array_foreach(ids, i, id)
	{
		const char *cid = json_string_value(id);
		const char *name = cid ? container_name(app, cid) : NULL;

		if (cid == NULL || !docker_start_container(app->docker, cid))
			continue;
		if (name != NULL)
			log_notice("started %s again", name);
		else
			log_notice("started %.12s again", cid);
	}
}

/* Whether the JSON array of strings ids holds id. */
static bool
listed(json_t *ids, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
		if (json_string_value(v) && strcmp(json_string_value(v), id) == 0)
			return true;
	return false;
}

bool
app_project_running(json_t *c, const char *project, json_t *ids, const char **id,
					const char **service, const char **name)
{
	json_t *labels = json_object_get(c, "Labels");
	const char *state = json_string_value(json_object_get(c, "State"));
	const char *proj = json_string_value(json_object_get(labels, "com.docker.compose.project"));
	const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

	*id = json_string_value(json_object_get(c, "Id"));
	*service = json_string_value(json_object_get(labels, "com.docker.compose.service"));
	if (*id == NULL || *service == NULL || proj == NULL || state == NULL
		|| strcmp(proj, project) != 0 || strcmp(state, "running") != 0 || listed(ids, *id))
		return false;
	*name = n ? (n[0] == '/' ? n + 1 : n) : *id;
	return true;
}

bool
app_stop_reader(App *app, const char *id, const char *name, const char *what, json_t *ids,
				json_t *names)
{
	log_notice("stopping %s (it reads %s)", name, what);
	if (!docker_stop_container(app->docker, id, 30))
		return false;
	json_array_append_new(ids, json_string(id));
	json_array_append_new(names, json_string(name));
	return true;
}

void
app_start_again(App *app, json_t *ids)
{
	size_t i;
	json_t *id;

	json_array_foreach(ids, i, id)
	{
		json_t *js = NULL;
		bool found = false;
		const char *cid = json_string_value(id);

		if (cid == NULL || !docker_inspect_container(app->docker, cid, &js, &found) || !found)
		{
			json_decref(js);
			continue;     /* recreated by compose: it runs already */
		}
		if (!docker_inspect_running(js) && docker_start_container(app->docker, cid))
			log_notice("started %s again", json_string_value(json_object_get(js, "Name")));
		json_decref(js);
	}
}
