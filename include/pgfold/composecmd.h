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
#include <sys/types.h>

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

/*
 * A compose run in the background, its stdout and stderr kept in memory
 * files (never a pipe the caller would have to drain while it does other
 * work): compose 1.x is a Python program that takes half a second to
 * answer anything, so a pre-flight starts its questions early and reads
 * the answers last. Every started job must be finished or abandoned.
 */
typedef struct ComposeJob
{
	pid_t  pid;                 /* -1: not running */
	int    out_fd, err_fd;
	bool   quiet;               /* no "running ..." line, output not logged */
	char   what[64];
	StrBuf cmdline;
} ComposeJob;

/* Start argv; false (logged) when it cannot. capture: its stdout is data
 * for composecmd_finish's out, else it is logged with stderr. */
bool composecmd_start(char *const *argv, const char *what, bool quiet, bool capture,
					  ComposeJob *job);
/* Wait for it; its stdout (at most 1 MiB) appended to *out (capture), or
 * logged. False (logged) when it failed. */
bool composecmd_finish(ComposeJob *job, StrBuf *out);
/* Wait for it and forget what it said. */
void composecmd_abandon(ComposeJob *job);
/* The major version of the compose pgfold runs for inv (`version --short`),
 * asked in the background: -1 when it does not say. */
bool composecmd_major_start(App *app, const ComposeInvocation *inv, ComposeJob *job);
int composecmd_major_finish(ComposeJob *job);
/* The same, with compose's stdout (at most 1 MiB) appended to *out. */
bool composecmd_capture(char *const *argv, const char *what, StrBuf *out);

/* The compose project the service's containers run under. */
const char *composecmd_project(App *app, size_t index);
/* "up -d" for a file's own invocation; with other files in the project,
 * or other dbs' services in this file (others: stack_others_services,
 * NULL = none), "up -d --no-deps <every service of this file but slot skip
 * (-1: none) and the others>" so that only this entry's containers are
 * recreated. NULL-terminated; caller frees with composecmd_argv_free. */
char **composecmd_up_args(const ComposeInvocation *inv, const StackService *svc, int skip,
						  char *const *others);

#endif
