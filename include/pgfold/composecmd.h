/*
 * composecmd.h — running the stack's compose as the project itself runs it
 * (its directory, project name, env files and -f files, as the containers'
 * labels recorded them), v1 `docker-compose` or the v2 plugin
 * (PGFOLD_COMPOSE). Migrate, rollback and retire recreate apps with it;
 * plan prints the same command lines. (The compose FILE reader is compose.h.)
 */
#ifndef PGFOLD_COMPOSECMD_H
#define PGFOLD_COMPOSECMD_H

#include <stdbool.h>

#include "pgfold/app.h"
#include "pgfold/str.h"

/* argv of the compose command that reproduces the project's own (inv: its
 * project directory, project, env files and -f files), with more_files
 * (e.g. the rollback override; relative ones are under the stack root)
 * after them; NULL-terminated, caller frees with composecmd_argv_free. extra:
 * arguments after the files. */
char **composecmd_argv(App *app, const ComposeInvocation *inv, const char *const *more_files,
					const char *const *extra);
void composecmd_argv_free(char **argv);
/* The same as one shell-quoted line, for printing. */
bool composecmd_line(char *const *argv, StrBuf *out);
/* Run it; output goes to the log. */
bool composecmd_run(char *const *argv, const char *what);
/* The major version of the compose pgfold runs for inv (`version --short`),
 * -1 when it does not say. */
int composecmd_major(App *app, const ComposeInvocation *inv);
/* The same, with compose's stdout (at most 1 MiB) appended to *out. */
bool composecmd_capture(char *const *argv, const char *what, StrBuf *out);

/* The compose project the service's containers run under. */
const char *composecmd_project(App *app, size_t index);
/* "up -d" for a file's own invocation; with other files in the project,
 * "up -d --no-deps <every service of this file but slot skip (-1: none)>"
 * so that only this file's containers are recreated. NULL-terminated;
 * caller frees with composecmd_argv_free. */
char **composecmd_up_args(const ComposeInvocation *inv, const StackService *svc, int skip);

#endif
