/*
 * service.h — what a service file means for pgfold: which compose service
 * is the dedicated postgres, which app services connect to it and how, and
 * what credentials and database they use.
 */
#ifndef PGFOLD_SERVICE_H
#define PGFOLD_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/compose.h"
#include "pgfold/config.h"

typedef enum ConnKind
{
	CONN_URL = 0,     /* DATABASE_URL=postgres[ql]://user:pass@host:port/db?... */
	CONN_PARTS,       /* *_HOST, *_PORT, *_USER, *_PASSWORD, *_DB / *_NAME */
	CONN_NOCODB       /* NC_DB=pg://host:port?u=..&p=..&d=.. */
} ConnKind;

/* A URL-ish value split into raw pieces; each span is into the file bytes. */
typedef struct ConnUrlParts
{
	Span user, password, host, port, dbname;   /* empty span = absent */
} ConnUrlParts;

typedef struct ConnRef
{
	ConnKind      kind;
	size_t        app;         /* index into file.services */
	const char   *prefix;      /* CONN_PARTS: e.g. "DB_" or "POSTGRES_" */
	int           var;         /* CONN_URL/NOCODB: index into env */
	ConnUrlParts  url;         /* CONN_URL/NOCODB */
	/* CONN_PARTS: env indices, -1 when absent */
	int           host, port, user, password, dbname;
} ConnRef;

typedef struct StackService
{
	char        *name;           /* file stem: services/<name>.yml */
	char        *path;
	ComposeFile  file;
	bool         loaded;         /* file parsed */
	char        *problem;        /* why pgfold cannot handle it, or NULL */

	/* metadata header */
	const char  *meta_database;      /* "# database:" e.g. "postgres" once migrated */
	const char  *meta_database_name; /* "# database_name:" */

	/* the dedicated postgres service, if any */
	int          db_service;         /* index into file.services, -1 = none */
	char        *db_container;       /* container_name, or compose's default */
	char        *db_image;
	int          db_image_major;     /* from the image tag, -1 unknown */
	char        *db_user;            /* POSTGRES_USER resolved, default postgres */
	char        *db_name;            /* POSTGRES_DB resolved, default = user */

	/* app services that connect to it */
	ConnRef     *conns;
	size_t       conn_count;
} StackService;

typedef struct Stack
{
	StackService *services;
	size_t        count;
} Stack;

/* Load every services/*.yml (sorted); a file that cannot be parsed is kept
 * with .problem set so status can report it, not abort the whole stack. */
bool stack_load(const Config *cfg, Stack *out);
void stack_free(Stack *stack);
StackService *stack_find(Stack *stack, const char *name);

/* Classify one parsed file (exposed for tests). */
bool service_analyze(const Config *cfg, StackService *svc);

/* Is this image reference a postgres server image we recognise? */
bool service_image_is_postgres(const char *image, int *major_out);

#endif
