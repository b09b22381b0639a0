/*
 * app.h — what a command works with, opened once and only when needed:
 * configuration, the stack's service files, the Docker engine with one
 * container list for the whole stack, and the shared instance.
 */
#ifndef PGFOLD_APP_H
#define PGFOLD_APP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "pgfold/cli.h"
#include "pgfold/config.h"
#include "pgfold/docker.h"
#include "pgfold/service.h"

typedef struct App
{
	const GlobalOptions *opts;
	Config           cfg;
	Stack            stack;
	bool             loaded;

	DockerClient    *docker;           /* NULL until app_engine() */
	json_t          *container_list;   /* one GET /containers/json?all=1 */
	StackContainers  containers;
	bool             engine_tried;
	/* how the operator's compose runs each service file (parallel to
	 * stack.services; NULL until app_invocation or app_engine) */
	ComposeInvocation *invocations;

	PGconn          *shared;           /* NULL until app_shared() */
	bool             shared_tried;
} App;

/* Configuration and every service file. */
bool app_open(App *app, const GlobalOptions *opts);
void app_close(App *app);

/* Connect to the engine and list containers once; false (logged, EXIT_ENGINE
 * hint) when unreachable. Later calls return the first outcome. */
bool app_engine(App *app);

/* How the operator's compose runs service i: from its containers' labels
 * after app_engine, else pgfold's defaults. */
const ComposeInvocation *app_invocation(App *app, size_t index);

/* Connect to the shared instance (maintenance db) once; logged on failure. */
bool app_shared(App *app);

/* A service by name, with a one-line error listing the known ones. */
StackService *app_service(App *app, const char *name, size_t *index);

/* The db container of service i (after app_engine), or NULL. */
const ContainerInfo *app_db_container(const App *app, size_t index);

/* Stop every running container matched to service index (after
 * app_engine) except slot skip (-1: none), all at once, each with its own
 * grace period (docker_stop_containers); the ones asked to stop are
 * appended to ids (their ids) and names. False (logged) when any could not
 * be stopped. Used by migrate and rollback to stop a service's apps. */
bool app_stop_containers(App *app, size_t index, int skip,
						 json_t *ids, json_t *names);

/* Start the containers whose ids are in the JSON array again, best effort
 * (each failure is logged). */
void app_start_containers(App *app, json_t *ids);

/* Entry c of the container list: a running container of compose project
 * `project` whose id is not in ids; its id, service and name (no leading
 * '/', else the id) set. Used to find the apps of the project that read an
 * app file. */
bool app_project_running(json_t *c, const char *project, json_t *ids, const char **id,
						 const char **service, const char **name);

/* Stop container id ("stopping NAME (it reads WHAT)"), appended to ids and
 * names when stopped; false (logged) when it could not be stopped. */
bool app_stop_reader(App *app, const char *id, const char *name, const char *what,
					 json_t *ids, json_t *names);

/* The containers whose ids are in the JSON array started again when they
 * still exist (compose may have recreated them: then they run already) and
 * do not run, best effort. */
void app_start_again(App *app, json_t *ids);

#endif
