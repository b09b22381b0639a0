/*
 * test_status_lab.c — `pgfold status` asks a running dedicated database
 * over its own Unix socket from the host (pg/local.c) and prints the very
 * facts the psql exec gives (PGFOLD_EXEC_ONLY=1 forces that path); when
 * the socket refuses (local connections need a password), it falls back
 * to the exec, quietly, with the same facts. `status --all` measures every
 * dedicated postgres on the engine the same two ways. See mig.h for the
 * stack.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(cli_status_lab, .fini = teardown, .timeout = 600);

/* The entry of status --all --json for container (json_dumps'd, owned). */
static char *
all_entry(const char *container, bool exec_only, StrBuf *err)
{
	const char *env[] = { "PGFOLD_EXEC_ONLY=1", NULL };
	json_error_t jerr;
	json_t *doc, *e;
	char *dump = NULL;
	size_t i;
	MigRun r;

	mig_pgfold(&stack, &r, exec_only ? env : NULL, "-v", "-v", "--json", "status", "--all", NULL);
	doc = json_loads(sb_str(&r.out), 0, &jerr);
	cr_assert_not_null(doc, "status --all --json: %s\n%s", jerr.text, sb_str(&r.out));
	json_array_foreach(doc, i, e)
		if (strcmp(json_string_value(json_object_get(e, "container")), container) == 0)
			dump = json_dumps(e, JSON_SORT_KEYS);
	cr_assert_not_null(dump, "%s not listed:\n%s", container, sb_str(&r.out));
	sb_reset(err);
	sb_appends(err, sb_str(&r.err));
	json_decref(doc);
	mig_run_free(&r);
	return dump;
}

/* status --json of svc; the run's stderr (debug) into *err. */
static void
status_json(const char *svc, bool exec_only, StrBuf *out, StrBuf *err)
{
	const char *env[] = { "PGFOLD_EXEC_ONLY=1", NULL };
	MigRun r;

	mig_pgfold(&stack, &r, exec_only ? env : NULL, "-v", "-v", "--json", "status", svc, NULL);
	mig_expect_exit(&r, 0, "status");
	sb_reset(out);
	sb_reset(err);
	sb_appends(out, sb_str(&r.out));
	sb_appends(err, sb_str(&r.err));
	mig_run_free(&r);
}

Test(cli_status_lab, facts_over_the_socket_equal_the_exec_and_refusal_falls_back)
{
	StrBuf by_exec = STRBUF_INIT, by_socket = STRBUF_INIT, err = STRBUF_INIT;
	char svc[96], db[160];

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(svc, sizeof(svc), "statuspw-%s", stack.id);
	str_format(db, sizeof(db), "%s-notes-db", stack.id);
	mig_service_add(&stack, "statuspw", svc, NULL);
	mig_service_up(&stack, svc, db);

	status_json(svc, true, &by_exec, &err);
	cr_assert_null(strstr(sb_str(&err), "answered over its socket"), "%s", sb_str(&err));
	cr_assert_not_null(strstr(sb_str(&by_exec), "\"ready\""), "%s", sb_str(&by_exec));
	status_json(svc, false, &by_socket, &err);
	cr_assert_not_null(strstr(sb_str(&err), "answered over its socket"), "%s", sb_str(&err));
	cr_assert_null(strstr(sb_str(&err), ": psql\n"), "no psql exec: %s", sb_str(&err));
	cr_assert_str_eq(sb_str(&by_socket), sb_str(&by_exec));

	/* status --all measures every dedicated postgres the same two ways */
	char *all_exec = all_entry(db, true, &err), *all_socket = all_entry(db, false, &err);

	cr_assert_not_null(strstr(sb_str(&err), "answered over its socket"), "%s", sb_str(&err));
	cr_assert_not_null(strstr(all_socket, "\"version\": \"15."), "%s", all_socket);
	cr_assert_str_eq(all_socket, all_exec);
	free(all_exec);
	free(all_socket);

	/* local connections need the password from now on: psql in the
	 * container has PGPASSWORD, the shortcut never sends one */
	cr_assert_eq(lab_sh("docker exec %s sh -c 'sed -i \"s/^local\\( .*\\)trust$/local\\1scram-sha-256/\" "
						"\"$PGDATA/pg_hba.conf\" && psql -XAtq -U notes -d notes -c \"SELECT "
						"pg_reload_conf()\"' >/dev/null", db), 0);
	status_json(svc, false, &by_socket, &err);
	cr_assert_not_null(strstr(sb_str(&err), "fe_sendauth: no password supplied; asking by exec"),
					   "%s", sb_str(&err));
	cr_assert_null(strstr(sb_str(&err), "answered over its socket"), "%s", sb_str(&err));
	cr_assert_null(strstr(sb_str(&err), "error"), "quiet fallback: %s", sb_str(&err));
	cr_assert_str_eq(sb_str(&by_socket), sb_str(&by_exec));
	sb_free(&by_exec);
	sb_free(&by_socket);
	sb_free(&err);
}

/* A server on the port its command line sets (`postgres -c port=5433`):
 * the socket's name holds the port, read from the container's arguments
 * as the exec's PGPORT is. */
Test(cli_status_lab, port_from_the_command_line)
{
	StrBuf by_exec = STRBUF_INIT, by_socket = STRBUF_INIT, err = STRBUF_INIT;
	char db[160];
	bool ready = false;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	str_format(db, sizeof(db), "%s-port-db", stack.id);
	mig_service_add(&stack, "port5433", "port5433", NULL);
	cr_assert_eq(mig_compose(&stack, NULL, "-f services/port5433.yml up -d"), 0);
	for (int i = 0; i < 120 && !ready; i++)
	{
		ready = lab_sh("docker exec %s psql -XAtq -p 5433 -U porty -d porty -c 'SELECT 1' "
					   ">/dev/null 2>&1", db) == 0;
		if (!ready)
			sleep(1);
	}
	cr_assert(ready, "%s does not answer on 5433", db);
	sleep(1);         /* the entrypoint's first-start server may have answered */

	status_json("port5433", true, &by_exec, &err);
	cr_assert_not_null(strstr(sb_str(&by_exec), "\"ready\""), "%s", sb_str(&by_exec));
	status_json("port5433", false, &by_socket, &err);
	cr_assert_not_null(strstr(sb_str(&err), "answered over its socket"), "%s", sb_str(&err));
	cr_assert_str_eq(sb_str(&by_socket), sb_str(&by_exec));
	sb_free(&by_exec);
	sb_free(&by_socket);
	sb_free(&err);
}
