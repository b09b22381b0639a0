/*
 * rwfx.h — fixtures for the rewrite tests: a service file from
 * tests/fixtures/rewrite/ copied into a temporary stack directory (the
 * file's directory is also the compose project directory, so pgfold's
 * parser and docker-compose resolve .env and env_file the same way),
 * parsed by src/compose and analysed by src/service.
 */
#ifndef PGFOLD_TESTS_RWFX_H
#define PGFOLD_TESTS_RWFX_H

#include <stdbool.h>

#include "pgfold/dotenv.h"
#include "pgfold/rewrite.h"
#include "pgfold/service.h"

#define RWFX_PASSWORD "Gen3rated0Passw0rdXyz"

typedef struct RwFx
{
	char         dir[256];      /* temporary stack directory */
	char         name[64];      /* fixture stem */
	char         path[512];     /* dir/name.yml (the original, then the new file) */
	Dotenv       vars;          /* dir/.env */
	StackService svc;
} RwFx;

/* Copy fixture NAME (and NAME.env if present) into a new temp dir, write
 * .env, parse and analyse. Fails the test on any error. */
void rwfx_setup(RwFx *fx, const char *name);
/* The same from inline bytes (saved as NAME.yml); false on a parse error,
 * no other assertion (refusal tests). */
bool rwfx_setup_bytes(RwFx *fx, const char *name, const char *bytes);
/* Re-read dir/.env and parse + analyse bytes as the service file (tests of
 * the rewritten file); returns false (test continues) on a parse error. */
bool rwfx_reparse(RwFx *fx, const char *bytes, size_t len, StackService *out);
void rwfx_free_svc(StackService *svc);
void rwfx_teardown(RwFx *fx);

/* The standard target: shared host postgres:5432, role/db = the fixture's
 * stem, RWFX_PASSWORD, mirror the file's password style. */
RwTarget rwfx_target(const RwFx *fx);

void rwfx_write(const char *dir, const char *name, const char *bytes, size_t len);
char *rwfx_read(const char *path, size_t *len);   /* NULL when missing */

#endif
