/*
 * test_name_cli.c — `pgfold name SERVICE` on a stack root under a
 * temporary directory: the names and why, PGUSER in the template, the
 * JSON shape, an unknown placeholder.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil/fstest.h"
#include "lab.h"

static char dir[PATH_MAX];

static const char service[] =
	"# database_name: Nova-Staging\n"
	"services:\n"
	"  nova:\n"
	"    image: nginx\n"
	"    environment:\n"
	"      DATABASE_URL: postgres://nova:pw@nova-db:5432/nova\n"
	"  nova-db:\n"
	"    image: postgres:15\n"
	"    environment:\n"
	"      POSTGRES_USER: nova\n"
	"      POSTGRES_PASSWORD: pw\n";

static void
setup(void)
{
	char p[PATH_MAX];

	fst_mkdtemp(dir);
	fst_join(p, dir, "services");
	cr_assert_eq(lab_sh("mkdir -p '%s'", p), 0);
	fst_join(p, dir, "services/nova.yml");
	fst_put(p, service, strlen(service));
}

static void
teardown(void)
{
	fst_rm_rf(dir);
}

TestSuite(name_cli, .init = setup, .fini = teardown);

static char *
run(const char *env, const char *args, int *rc)
{
	const char *bin = getenv("PGFOLD_TEST_BIN") ? getenv("PGFOLD_TEST_BIN") : "build/pgfold";
	char out[PATH_MAX];

	fst_join(out, dir, "out.txt");
	*rc = lab_sh("env -u PGFOLD_DB_NAME -u PGUSER %s %s --root %s %s >%s 2>&1", env, bin, dir, args,
				 out);
	return fst_slurp(out, NULL);
}

Test(name_cli, default_rule_and_why)
{
	int rc;
	char *t = run("", "name nova", &rc);

	cr_expect_eq(rc, 0);
	cr_expect_str_eq(t,
		"nova: database \"nova_staging\", role \"nova_staging\"\n"
		"  template         {database_name} (default; PGFOLD_DB_NAME unset)\n"
		"  {database_name}  from the file's \"# database_name:\"\n"
		"  expanded         \"Nova-Staging\"; lowercase, invalid characters to '_'\n"
		"  during migrate   \"nova_staging__pgfold_incoming\" (temporary database)\n");
	free(t);
}

Test(name_cli, per_user_template_json)
{
	int rc;
	char *t = run("PGFOLD_DB_NAME='{user}_memory' PGUSER=nova-staging", "name nova --json", &rc);

	cr_expect_eq(rc, 0);
	cr_expect(strstr(t, "\"database\": \"nova_staging_memory\"") != NULL, "%s", t);
	cr_expect(strstr(t, "\"template\": \"{user}_memory\"") != NULL, "%s", t);
	free(t);
}

Test(name_cli, unknown_placeholder_and_service)
{
	int rc;
	char *t = run("PGFOLD_DB_NAME='{db}'", "name nova", &rc);

	cr_expect_eq(rc, 1);
	cr_expect(strstr(t, "pgfold: error: nova: PGFOLD_DB_NAME \"{db}\": unknown placeholder {db} "
					 "(known: {database_name}, {service}, {user})\n") != NULL, "%s", t);
	free(t);
	t = run("", "name nope", &rc);
	cr_expect_eq(rc, 2);
	cr_expect(strstr(t, "no service \"nope\"") != NULL, "%s", t);
	free(t);
}
