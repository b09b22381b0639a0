/*
 * test_naming.c — the naming rule (naming.h): the table of the naming
 * guide, PGUSER over the login name, long names, unicode, reserved names.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pgfold/naming.h"

typedef struct Row
{
	const char *tmpl, *meta, *pgdb, *service, *user;
	const char *want;    /* NULL: refused */
} Row;

static const Row rows[] = {
	/* the guide's per-user variant: ${PGUSER:-$(whoami)} with - -> _ plus a suffix */
	{ "{user}_memory", NULL, NULL, "memory", "nova", "nova_memory" },
	{ "{user}_memory", NULL, NULL, "memory", "nova-staging", "nova_staging_memory" },
	{ "{user}_memory", NULL, NULL, "memory", "Nova.Staging", "nova_staging_memory" },
	/* the default: metadata, else POSTGRES_DB, else the service */
	{ NULL, "nova", "other", "svc", NULL, "nova" },
	{ "", NULL, "Docmost-DB", "svc", NULL, "docmost_db" },
	{ NULL, NULL, NULL, "my-app", NULL, "my_app" },
	{ NULL, NULL, "", "my-app", NULL, "my_app" },
	{ "{service}_{database_name}", NULL, "db", "twin/b-db", NULL, "twin_b_db_db" },
	/* unicode: one '_' per character */
	{ NULL, "café-notes", NULL, "x", NULL, "caf__notes" },
	{ NULL, "日本db", NULL, "x", NULL, "__db" },
	/* long: 54 bytes, '_', 8 hex digits of the SHA-256 of the whole */
	{ NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, "x", NULL,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_6bd5e503" },
	{ NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", NULL, "x", NULL,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_51c4de49" },
	/* reserved */
	{ NULL, "postgres", NULL, "x", NULL, NULL },
	{ NULL, "Template1", NULL, "x", NULL, NULL },
	{ NULL, "template0", NULL, "x", NULL, NULL },
	{ NULL, "admin", NULL, "x", NULL, NULL },
	{ NULL, "pg_monitor", NULL, "x", NULL, NULL },
	{ NULL, "---", NULL, "x", NULL, NULL },
	{ "{nope}", "a", NULL, "x", NULL, NULL },
	{ "{user", "a", NULL, "x", NULL, NULL },
};

Test(naming, table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
	{
		const Row *r = &rows[i];
		NamingInputs in = { r->tmpl, r->meta, r->pgdb, r->service, r->user, "admin" };
		NamingResult out;
		char err[512] = "";
		bool ok = naming_apply(&in, &out, err, sizeof(err));

		if (r->want == NULL)
		{
			cr_expect(!ok, "row %zu: refused expected, got \"%s\"", i, out.name);
			cr_expect(err[0] != '\0', "row %zu: a reason", i);
			continue;
		}
		cr_expect(ok, "row %zu: %s", i, err);
		cr_expect_str_eq(out.name, r->want, "row %zu: got \"%s\", want \"%s\"", i, out.name,
						 r->want);
		cr_expect_leq(strlen(out.name), 63);
	}
}

Test(naming, reserved_reason_and_placeholder_reason)
{
	NamingInputs in = { NULL, "Postgres", NULL, "x", NULL, "admin" };
	NamingResult out;
	char err[512];

	cr_assert(!naming_apply(&in, &out, err, sizeof(err)));
	cr_expect(strstr(err, "\"postgres\", a reserved name") != NULL, "%s", err);
	in.template_text = "{db}";
	cr_assert(!naming_apply(&in, &out, err, sizeof(err)));
	cr_expect(strstr(err, "unknown placeholder {db}") != NULL, "%s", err);
}

Test(naming, why_database_from)
{
	NamingInputs in = { NULL, NULL, "wiki", "x", NULL, NULL };
	NamingResult out;
	char err[256];

	cr_assert(naming_apply(&in, &out, err, sizeof(err)));
	cr_expect_str_eq(out.database_from, "the dedicated container's POSTGRES_DB");
	cr_expect_str_eq(out.template_text, "{database_name}");
	cr_expect(!out.changed && !out.truncated);
}

Test(naming, pguser_over_login_name)
{
	NamingInputs in = { "{user}_memory", NULL, NULL, "x", NULL, NULL };
	NamingResult out;
	char err[256];

	setenv("PGUSER", "Nova-Staging", 1);
	cr_assert(naming_apply(&in, &out, err, sizeof(err)));
	cr_expect_str_eq(out.name, "nova_staging_memory");
	unsetenv("PGUSER");
	cr_assert(naming_apply(&in, &out, err, sizeof(err)));
	cr_expect_str_neq(out.name, "nova_staging_memory");
	cr_expect(strstr(out.name, "_memory") != NULL);
}

Test(naming, valid)
{
	char why[256];

	cr_expect(naming_valid("nova_memory", "admin", why, sizeof(why)));
	cr_expect(!naming_valid("Nova-Memory", "admin", why, sizeof(why)));
	cr_expect(strstr(why, "use \"nova_memory\"") != NULL, "%s", why);
	cr_expect(!naming_valid("admin", "admin", why, sizeof(why)));
	cr_expect(strstr(why, "reserved") != NULL, "%s", why);
	cr_expect(!naming_valid("", "admin", why, sizeof(why)));
	cr_expect(!naming_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
							"admin", why, sizeof(why)));
}

Test(naming, with_suffix)
{
	char out[64];

	cr_assert(naming_with_suffix("nova", "__pgfold_incoming", out));
	cr_expect_str_eq(out, "nova__pgfold_incoming");
	cr_assert(naming_with_suffix("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
								 "__pgfold_incoming", out));
	cr_expect_str_eq(out, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_77cf1206__pgfold_incoming");
	cr_expect_eq(strlen(out), 63);
}
