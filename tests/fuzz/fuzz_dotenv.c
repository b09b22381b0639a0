/*
 * fuzz_dotenv.c — the .env parser (src/config/dotenv.c) and ${...}
 * interpolation in its three dialects (src/config/interpolate.c). The
 * input is parsed as a .env file; then the input is expanded as a value
 * against the variables that file defined. Invariants: an accepted file's
 * entries have keys, and each expansion stays within the bound it was given
 * (INTERP_MAX_OUTPUT, or a small budget) and terminates.
 */
#include "fuzz.h"

#include <string.h>

#include "pgfold/dotenv.h"

static const char *
lookup(void *ctx, const char *name)
{
	return dotenv_get((const Dotenv *) ctx, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();

	const char *s = (const char *) data;
	Dotenv env;

	memset(&env, 0, sizeof(env));
	if (dotenv_parse(s, size, "fuzz.env", &env))
	{
		FUZZ_CHECK(env.expanded <= DOTENV_MAX_EXPANDED, "expanded %zu", env.expanded);
		for (size_t i = 0; i < env.count; i++)
		{
			FUZZ_CHECK(env.items[i].key != NULL && env.items[i].key[0] != '\0', "empty key");
			FUZZ_CHECK(env.items[i].line >= 1, "line 0");
		}
	}

	static const InterpDialect dialects[] = { INTERP_COMPOSE_V2, INTERP_COMPOSE_V1, INTERP_DOTENV };

	for (size_t d = 0; d < 3; d++)
	{
		StrBuf out = STRBUF_INIT;
		char err[256];

		err[0] = '\0';
		dotenv_interpolate_dialect(s, size, dialects[d], lookup, &env, &out, err, sizeof(err));
		FUZZ_CHECK(out.len <= INTERP_MAX_OUTPUT, "dialect %zu: %zu bytes out", d, out.len);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "error not terminated");
		sb_free(&out);

		/* a small budget is a hard bound too */
		size_t budget = size / 2 + 1;
		bool ok = dotenv_interpolate_bounded(s, size, dialects[d], budget, lookup, &env, &out,
											 err, sizeof(err));

		FUZZ_CHECK(!ok || out.len <= budget, "dialect %zu: %zu bytes within a budget of %zu", d,
				   out.len, budget);
		sb_free(&out);
		(void) dotenv_interpolation_portable(s, size);
	}
	dotenv_free(&env);
	return 0;
}
