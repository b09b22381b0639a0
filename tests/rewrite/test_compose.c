/*
 * test_compose.c — what real compose (docker-compose 1.29, or v2 with
 * PGFOLD_TEST_COMPOSE=v2) makes of pgfold's output.
 * For every fixture, in a temporary stack directory:
 *   - the new file alone passes `docker-compose config` (no db service, the
 *     password variable written to .env resolves);
 *   - new file + rollback override gives the same `config` output as the
 *     original file (compose prints a normalised document: keys sorted,
 *     depends_on as a map with conditions; environment as a map, except v2
 *     under --no-interpolate: lab_compose_canonical),
 *     both interpolated and with --no-interpolate (raw ${...} intact), with
 *     --project-directory and with the default project directory.
 * `config` needs no engine.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "rwfx.h"

/* Hermetic: nothing from the test's environment may leak into compose's
 * interpolation (DOCKER_CONFIG stays: the docker CLI finds plugins there). */
#define ENV_I "env -i PATH=\"$PATH\" HOME=\"$HOME\" ${DOCKER_CONFIG:+DOCKER_CONFIG=\"$DOCKER_CONFIG\"}"

static char *
config(const char *dir, const char *flags, const char *files, const char *cflags)
{
	StrBuf out = STRBUF_INIT;
	bool ok = lab_sh_capture(&out, "cd '%s' && " ENV_I " %s %s %s config %s", dir, lab_compose(),
							 flags, files, cflags);

	cr_assert(ok, "%s %s %s config %s failed in %s", lab_compose(), flags, files, cflags, dir);
	return out.data ? sb_steal(&out) : xstrdup("");
}

/* The same settings: compared in lab_compose_canonical's shape, since v2
 * prints a merged environment as a list under --no-interpolate. */
static void
assert_same(const char *what, const char *want, const char *got)
{
	StrBuf w = STRBUF_INIT, g = STRBUF_INIT, d = STRBUF_INIT;

	lab_compose_canonical(want, &w);
	lab_compose_canonical(got, &g);
	if (strcmp(sb_str(&w), sb_str(&g)) != 0)
	{
		rewrite_unified_diff(sb_str(&w), w.len, sb_str(&g), g.len, "original", "new+override", &d);
		cr_assert_fail("%s: config differs:\n%s", what, sb_str(&d));
	}
	sb_free(&w);
	sb_free(&g);
}

static void
run(const char *name)
{
	RwFx fx;
	RwServiceResult res;
	StrBuf ov = STRBUF_INIT, env = STRBUF_INIT;
	char files[600], ovdir[300], ovname[128], rel[300], envpath[300];

	lab_compose_require();
	rwfx_setup(&fx, name);

	RwTarget t = rwfx_target(&fx);
	const char *dbkey = fx.svc.file.services[fx.svc.db_service].key;

	cr_assert(rewrite_override_name(name, ovname, sizeof(ovname)));
	cr_assert(str_format(rel, sizeof(rel), "overrides/%s", ovname));

	char svcpath[200];

	cr_assert(str_format(svcpath, sizeof(svcpath), "%s.yml", name));

	RwProvenance prov = { svcpath, rel, NULL, NULL };

	cr_assert(rewrite_service_file(&fx.svc, &t, &res));
	cr_assert(rewrite_rollback_override(&fx.svc, &prov, &ov));

	/* lay out the stack: original.yml, NAME.yml (new), overrides/, .env */
	rwfx_write(fx.dir, "original.yml", fx.svc.file.bytes, fx.svc.file.len);
	rwfx_write(fx.dir, svcpath, res.bytes.data, res.bytes.len);
	cr_assert(str_format(ovdir, sizeof(ovdir), "%s/overrides", fx.dir));
	cr_assert_eq(lab_sh("mkdir -p '%s'", ovdir), 0);
	rwfx_write(ovdir, ovname, ov.data, ov.len);

	size_t elen = 0;
	char *old_env;

	cr_assert(str_format(envpath, sizeof(envpath), "%s/.env", fx.dir));
	old_env = rwfx_read(envpath, &elen);
	cr_assert_not_null(old_env);
	if (res.env_count == 0)
		cr_assert(sb_append(&env, old_env, elen));
	for (size_t i = 0; i < res.env_count; i++)
		cr_assert(rewrite_env_file_set(old_env, elen, res.env[i].key, res.env[i].value, &env));
	rwfx_write(fx.dir, ".env", env.data, env.len);

	/* the new file alone */
	char alone_files[300];

	cr_assert(str_format(alone_files, sizeof(alone_files), "-f %s", svcpath));

	char *alone = config(fx.dir, "--project-directory .", alone_files, "");
	char needle[200];

	cr_assert(str_format(needle, sizeof(needle), "\n  %s:\n", dbkey));
	cr_assert_null(strstr(alone, needle), "%s: %s still in compose's view:\n%s", name, dbkey, alone);
	cr_assert_not_null(strstr(alone, RWFX_PASSWORD), "%s: the new password does not reach the "
					   "app through compose's .env:\n%s", name, alone);
	cr_assert_not_null(strstr(alone, "postgres"));

	/* new + override == original, four ways */
	static const char *const flags[][2] = {
		{ "--project-directory .", "" }, { "", "" },
		{ "--project-directory .", "--no-interpolate" }, { "", "--no-interpolate" },
	};

	cr_assert(str_format(files, sizeof(files), "-f %s -f %s", svcpath, rel));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
	{
		char *want = config(fx.dir, flags[i][0], "-f original.yml", flags[i][1]);
		char *got = config(fx.dir, flags[i][0], files, flags[i][1]);
		char what[200];

		str_format(what, sizeof(what), "%s [%s %s]", name, flags[i][0], flags[i][1]);
		assert_same(what, want, got);
		cr_assert_not_null(strstr(want, needle), "%s: the original has no %s?", what, dbkey);
		free(want);
		free(got);
	}

	free(alone);
	free(old_env);
	sb_free_secret(&env);
	sb_free(&ov);
	rewrite_service_result_free(&res);
	rwfx_teardown(&fx);
}

Test(rewrite_compose, docmost) { run("docmost"); }
Test(rewrite_compose, joplin) { run("joplin"); }
Test(rewrite_compose, netbox) { run("netbox"); }
Test(rewrite_compose, nocodb) { run("nocodb"); }
Test(rewrite_compose, commented) { run("commented"); }
Test(rewrite_compose, literal) { run("literal"); }
Test(rewrite_compose, crlf) { run("crlf"); }
Test(rewrite_compose, indirect) { run("indirect"); }
Test(rewrite_compose, flowenv) { run("flowenv"); }
