/*
 * test_hostile_names.c — service file names are outside bytes. A name with
 * a newline or an escape sequence is listed with '?' in their place and a
 * problem (status prints names as they are: it must not forge lines or
 * drive the terminal); one with shell or SQL syntax is listed as written
 * and refused by every command that would act on it, before anything runs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"
#include "pgfold/config.h"
#include "pgfold/service.h"

static char root[PATH_MAX];

static const char file[] =
	"services:\n"
	"  app:\n"
	"    image: example/app:1\n"
	"    environment:\n"
	"      DATABASE_URL: postgres://app:pw@app-db/app\n"
	"  app-db:\n"
	"    image: postgres:16\n"
	"    environment:\n"
	"      POSTGRES_PASSWORD: pw\n"
	"      POSTGRES_DB: app\n";

static void
write_service(const char *name)
{
	char path[PATH_MAX];
	FILE *f;

	cr_assert(str_format(path, sizeof(path), "%s/services/%s.yml", root, name));
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(file, f);
	fclose(f);
}

static void
setup(void)
{
	char path[PATH_MAX];

	str_copy(root, sizeof(root), "/tmp/pgfold-hostile-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	cr_assert(str_format(path, sizeof(path), "%s/services", root));
	cr_assert_eq(mkdir(path, 0755), 0);
	write_service("evil\nname\033[31m");
	write_service("a;touch MARK1");
	write_service("$(touch MARK2)");
	write_service("q'x\"y");
}

static void
teardown(void)
{
	lab_sh("rm -rf '%s'", root);
}

TestSuite(service_hostile_names, .init = setup, .fini = teardown);

Test(service_hostile_names, control_bytes_are_listed_escaped_with_a_problem)
{
	Config cfg;
	Stack stack;

	memset(&cfg, 0, sizeof(cfg));
	cr_assert(config_load(root, &cfg));
	cr_assert(stack_load(&cfg, &stack));
	cr_assert_eq(stack.count, 4);

	StackService *bad = stack_find(&stack, "evil?name?[31m");

	cr_assert_not_null(bad, "the name is not listed with '?'");
	cr_assert_str_eq(bad->problem, "its file name holds control bytes (shown as '?'): rename the "
					 "file to letters, digits, '.', '_' or '-'");
	cr_assert_not(bad->loaded, "a file with such a name was parsed");
	for (size_t i = 0; i < stack.count; i++)
		cr_assert_not(str_has_control(stack.services[i].name), "a raw control byte in %s",
					  stack.services[i].name);
	/* shell syntax is listed as written: it is never run */
	cr_assert_not_null(stack_find(&stack, "a;touch MARK1"));
	cr_assert_not_null(stack_find(&stack, "$(touch MARK2)"));
	stack_free(&stack);
	config_free(&cfg);
}

/* migrate and rollback refuse the name with its reason, exit 1, and run
 * nothing (no marker file appears, in the root or the working directory). */
Test(service_hostile_names, commands_refuse_them)
{
	static const char *const names[] = { "a;touch MARK1", "$(touch MARK2)", "q'x\"y" };
	static const char *const cmds[] = { "migrate", "rollback" };
	char bin[PATH_MAX];

	/* absolute: the commands run from the stack's root */
	cr_assert_not_null(realpath(getenv("PGFOLD_TEST_BIN") ? getenv("PGFOLD_TEST_BIN") : "build/pgfold",
								bin), "no pgfold binary: set PGFOLD_TEST_BIN");

	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < 3; i++)
		{
			StrBuf q = STRBUF_INIT, out = STRBUF_INIT, want = STRBUF_INIT;
			char errpath[PATH_MAX];

			lab_quote(&q, names[i]);
			cr_assert(str_format(errpath, sizeof(errpath), "%s/err", root));
			int rc = lab_sh("cd '%s' && PG_PASS=x '%s' --root '%s' --no-color %s %s --yes "
							"</dev/null >/dev/null 2>'%s'", root, bin, root, cmds[c], q.data, errpath);
			FILE *f = fopen(errpath, "r");
			char buf[1024];
			size_t n;

			cr_assert_not_null(f);
			n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			fclose(f);
			sb_appendf(&want, "pgfold: error: invalid service name \"%s\": expected letters, "
					   "digits, '.', '_' or '-' (at most 64)\n", names[i]);
			cr_assert_eq(rc, 1, "%s %s: exit %d, said: %s", cmds[c], names[i], rc, buf);
			cr_assert_str_eq(buf, sb_str(&want), "%s %s", cmds[c], names[i]);
			sb_free(&q);
			sb_free(&out);
			sb_free(&want);
		}
	cr_assert(lab_sh("test ! -e '%s/MARK1' && test ! -e '%s/MARK2' && test ! -e MARK1 && "
					 "test ! -e MARK2", root, root) == 0, "a marker file appeared: something ran");
}
