/*
 * test_lab.c — the shared integration-test helpers themselves (no engine).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

Test(docker_lab, unique_names_are_safe_and_distinct)
{
	char a[64], b[64];

	lab_unique_name("Pgf-Test.X", a, sizeof(a));
	lab_unique_name("Pgf-Test.X", b, sizeof(b));
	cr_assert_str_neq(a, b);
	cr_assert(str_has_prefix(a, "pgf_test_x_"), "%s", a);
	for (const char *p = a; *p; p++)
		cr_assert((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_', "%s", a);
	cr_assert_lt(strlen(a), 64);
}

Test(docker_lab, sh_returns_status_and_captures)
{
	StrBuf out = STRBUF_INIT;

	cr_assert_eq(lab_sh("exit %d", 7), 7);
	cr_assert_eq(lab_sh("true"), 0);
	cr_assert_eq(lab_sh("kill -TERM $$"), 128 + 15);
	cr_assert(lab_sh_capture(&out, "printf '%%s|' %s", "a b"));
	cr_assert_str_eq(sb_str(&out), "a|b|");
	sb_reset(&out);
	cr_assert_not(lab_sh_capture(&out, "echo partial; exit 3"));
	cr_assert_str_eq(sb_str(&out), "partial\n");
	sb_free(&out);
}

Test(docker_lab, quote_survives_the_shell)
{
	StrBuf cmd = STRBUF_INIT, out = STRBUF_INIT;
	const char *nasty = "it's $HOME `id` \"q\" \\ ;|&";

	sb_appends(&cmd, "printf %s ");
	lab_quote(&cmd, nasty);
	cr_assert(lab_sh_capture(&out, "%s", cmd.data));
	cr_assert_str_eq(sb_str(&out), nasty);
	sb_free(&cmd);
	sb_free(&out);
}

/* The selected compose decides the command, pgfold's PGFOLD_COMPOSE and
 * the names compose gives containers. */
Test(docker_lab, compose_switch)
{
	char name[64];

	setenv("PGFOLD_TEST_COMPOSE", "v2", 1);
	cr_assert_str_eq(lab_compose(), "docker compose");
	cr_assert_str_eq(lab_compose_env(), "PGFOLD_COMPOSE=docker compose");
	lab_compose_container("proj", "root_db", name, sizeof(name));
	cr_assert_str_eq(name, "proj-root_db-1");
	setenv("PGFOLD_TEST_COMPOSE", "v1", 1);
	cr_assert_str_eq(lab_compose(), "docker-compose");
	cr_assert_str_eq(lab_compose_env(), "PGFOLD_COMPOSE=docker-compose");
	lab_compose_container("proj", "root_db", name, sizeof(name));
	cr_assert_str_eq(name, "proj_root_db_1");
	unsetenv("PGFOLD_TEST_COMPOSE");
	cr_assert_eq(lab_compose_version(), LAB_COMPOSE_V1);
}

/* An environment as v2 prints it after a merge (list) and as v1 prints it
 * (map, quoted or not) is the same; another value, another type of a
 * non-environment scalar, or a missing variable is not. */
Test(docker_lab, compose_canonical_env_shapes)
{
	StrBuf a = STRBUF_INIT, b = STRBUF_INIT;
	const char *map = "services:\n  app:\n    environment:\n      A: \"5432\"\n      B: x=y\n"
		"      C: null\n    ports:\n      - 80\n";
	const char *list = "services:\n  app:\n    ports:\n      - 80\n    environment:\n"
		"      - B=x=y\n      - C\n      - A=5432\n";

	lab_compose_canonical(map, &a);
	lab_compose_canonical(list, &b);
	cr_assert_str_eq(sb_str(&a), sb_str(&b));
	cr_assert_str_eq(sb_str(&a), ".services.app.environment.A: 5432\n"
					 ".services.app.environment.B: x=y\n"
					 ".services.app.environment.C: <null>\n"
					 ".services.app.ports[0]: 80\n");
	lab_compose_canonical("services:\n  app:\n    environment:\n      - A=5433\n      - B=x=y\n"
						  "      - C\n    ports:\n      - 80\n", &b);
	cr_assert_str_neq(sb_str(&a), sb_str(&b));
	lab_compose_canonical("services:\n  app:\n    environment:\n      - A=5432\n      - B=x=y\n"
						  "    ports:\n      - 80\n", &b);
	cr_assert_str_neq(sb_str(&a), sb_str(&b));
	lab_compose_canonical("services:\n  app:\n    environment:\n      - A=5432\n      - B=x=y\n"
						  "      - C\n    ports:\n      - \"80\"\n", &b);
	cr_assert_str_neq(sb_str(&a), sb_str(&b));
	sb_free(&a);
	sb_free(&b);
}
