/*
 * test_lab.c — the shared integration-test helpers themselves (no engine).
 */
#include <criterion/criterion.h>
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
