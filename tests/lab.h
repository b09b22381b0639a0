/*
 * lab.h — helpers for integration tests that use the lab engine
 * (`make lab`: a local dockerd and the pgfold-lab images).
 *
 * Criterion runs every test in its own forked process, in parallel: use
 * lab_unique_name() for containers and databases, and remove what you
 * create (a .fini, or lab_remove() at the start of the next step), because
 * a failed assertion ends the test process at once.
 *
 *   Test(mod, thing, .fini = cleanup) {
 *       lab_require();
 *       lab_unique_name("pgf_mod", name, sizeof(name));
 *       cr_assert(lab_start_postgres("pgfold-lab/postgres:15", name, env, NULL));
 *       cr_assert(lab_wait_ready(name, 60));
 *       ...
 *   }
 */
#ifndef PGFOLD_TESTS_LAB_H
#define PGFOLD_TESTS_LAB_H

#include <stdbool.h>
#include <stddef.h>

#include "pgfold/str.h"

/* Every container the helpers start carries this label (lab.sh down removes
 * them all). */
#define LAB_LABEL "pgfold.test=1"

/* Skip the test when PGFOLD_TEST_UNIT_ONLY=1; otherwise fail it unless the
 * engine answers (the message says to run `make lab`). Call first. */
void lab_require(void);

/* prefix + pid + counter + random, lowercased to [a-z0-9_]: valid as a
 * container name and as an unquoted PostgreSQL identifier (start the prefix
 * with a letter; keep it short, identifiers stop at 63 bytes). Fails the
 * test if it does not fit in size. */
void lab_unique_name(const char *prefix, char *buf, size_t size);

/*
 * The litter ledger: when PGFOLD_TEST_LEDGER names a file (`make check`
 * sets it), every unique name (lab_unique_name: "id NAME") and every volume
 * a removed container mounted ("volume NAME", lab_remove and
 * mig_stack_destroy) is appended to it; scripts/litter.sh then fails the
 * run when a container, compose project or volume of the ledger is still
 * there. Only the lab's own objects are ever counted (other runs on the
 * same engine are not).
 */
void lab_ledger(const char *kind, const char *name);
/* Append "volume NAME" for each volume the containers (shell words, quoted)
 * mount, before they are removed. */
void lab_ledger_volumes_of(const char *containers);

/* Run `/bin/sh -c CMD` (CMD from printf-style fmt) in a child process and
 * return its exit status (-1 if it could not run, 128+N if killed by signal
 * N). Output goes to the test's stdout/stderr. Only pass values you made
 * (lab_unique_name) or quoted with lab_quote(). */
int lab_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether pid runs: a process that ended but that whoever adopted it has
 * not reaped (a zombie) does not. */
bool lab_pid_running(long pid);

/* As lab_sh, capturing stdout (appended to *out); true when it exited 0. */
bool lab_sh_capture(StrBuf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* s in single quotes for the shell, appended to *out. */
void lab_quote(StrBuf *out, const char *s);

/* docker run -d --name NAME --label pgfold.test=1 --network NETWORK
 * [-e K=V ...] IMAGE. env: "K=V", NULL-terminated, may be NULL. network:
 * NULL or "none" (default) or "host" — never a bridge: the lab engine has
 * none. On "host", set PGPORT to a free port in env. */
bool lab_start_postgres(const char *image, const char *name,
						const char *const *env, const char *network);

/* Poll `docker exec NAME pg_isready` until it succeeds (true) or timeout_s
 * passes or the container stops (false; its last log lines are printed). */
bool lab_wait_ready(const char *name, int timeout_s);

/* docker rm -f -v NAME; quiet, and fine if NAME does not exist. */
void lab_remove(const char *name);

/* ---- compose ---------------------------------------------------------------
 * PGFOLD_TEST_COMPOSE picks the compose every lab test runs, both for its
 * own calls (bringing stacks up, `config`) and for pgfold's (PGFOLD_COMPOSE
 * in the child's environment): "v1" (default) = docker-compose 1.29, "v2" =
 * the docker CLI plugin (`docker compose`, installed by `make lab`). Any
 * other value fails the test. */
typedef enum LabCompose
{
	LAB_COMPOSE_V1 = 1,
	LAB_COMPOSE_V2 = 2,
} LabCompose;

LabCompose lab_compose_version(void);

/* The command as shell words: "docker-compose" or "docker compose". */
const char *lab_compose(void);

/* "PGFOLD_COMPOSE=<lab_compose()>", for a pgfold child's environment. */
const char *lab_compose_env(void);

/* Skip the test when v1 is selected and docker-compose is not installed;
 * fail it when v2 is selected and `docker compose version` does not answer
 * (a v2 run must not pass by skipping). */
void lab_compose_require(void);

/* compose `config` output (yaml) in one shape for both versions, into *out
 * (reset first): one "path: value" line per scalar, sorted, quoted scalars
 * marked with '"', and each service's environment as path.environment.NAME
 * whatever its form. v2 prints environment in its source form under
 * --no-interpolate, and as a list as soon as two files define it; v1 and
 * interpolated v2 print a map: the same settings either way. Fails the test
 * when yaml does not parse. */
void lab_compose_canonical(const char *yaml, StrBuf *out);

/* The name compose gives replica 1 of service key in project:
 * <project>_<key>_1 (v1) or <project>-<key>-1 (v2). */
void lab_compose_container(const char *project, const char *key, char *buf, size_t size);

#endif
