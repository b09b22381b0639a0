/*
 * test_split.c — a file holding several dedicated postgres services is one
 * stack entry per db (stack.c, classify.c): addressed <stem>/<key>, named on
 * disk <stem>--<key>, each with its own db fixed and only the apps that
 * name it; a folded db stays addressable through its header line; the
 * rewrite of one leaves the other db and its apps alone.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/rewrite.h"
#include "pgfold/service.h"

static char root[PATH_MAX];

static void
setup(void)
{
	char path[PATH_MAX];

	cr_assert(str_copy(root, sizeof(root), "/tmp/pgfold-split-XXXXXX"));
	cr_assert_not_null(mkdtemp(root));
	cr_assert(str_format(path, sizeof(path), "%s/services", root));
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert(str_format(path, sizeof(path), "%s/.env", root));
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs("PGFOLD_SHARED_HOST=postgres\n", f);
	fclose(f);
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	if (root[0] && str_format(cmd, sizeof(cmd), "rm -rf %s", root))
		(void) !system(cmd);
}

TestSuite(service_split, .init = setup, .fini = teardown);

static void
write_service(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	cr_assert(str_format(path, sizeof(path), "%s/services/%s", root, name));
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* Two apps, each with its own db: wiki names its db by key in a URL,
 * notes names its db by container_name in parts; tool connects to none. */
static const char big_yml[] =
	"services:\n"
	"  wiki:\n"
	"    image: wiki:1\n"
	"    depends_on: [wiki-db]\n"
	"    environment:\n"
	"      - DATABASE_URL=postgresql://wiki:pw1@wiki-db:5432/wiki\n"
	"  wiki-db:\n"
	"    image: postgres:16\n"
	"    environment:\n"
	"      - POSTGRES_DB=wiki\n"
	"      - POSTGRES_USER=wiki\n"
	"      - POSTGRES_PASSWORD=pw1\n"
	"  notes:\n"
	"    image: notes:2\n"
	"    depends_on:\n"
	"      - db\n"
	"    environment:\n"
	"      POSTGRES_HOST: notes-postgres\n"
	"      POSTGRES_PORT: 5432\n"
	"      POSTGRES_USER: notes\n"
	"      POSTGRES_PASSWORD: pw2\n"
	"      POSTGRES_DATABASE: notes\n"
	"  db:\n"
	"    image: postgres:15\n"
	"    container_name: notes-postgres\n"
	"    environment:\n"
	"      POSTGRES_USER: notes\n"
	"      POSTGRES_PASSWORD: pw2\n"
	"      POSTGRES_DB: notes\n"
	"  tool:\n"
	"    image: busybox\n";

static int
key_index(const StackService *s, const char *key)
{
	for (size_t i = 0; i < s->file.service_count; i++)
		if (strcmp(s->file.services[i].key, key) == 0)
			return (int) i;
	return -1;
}

static void
load(Config *c, Stack *st)
{
	cr_assert(config_load(root, c));
	cr_assert(stack_load(c, st));
}

/* Each db is its own entry, its apps attributed by the host they name. */
Test(service_split, one_entry_per_db_with_its_own_apps)
{
	Config c;
	Stack st;

	write_service("big.yml", big_yml);
	write_service("solo.yml", "services:\n  app:\n    image: a\n    environment:\n"
				  "      DATABASE_URL: postgres://u:p@pg/x\n  pg:\n    image: postgres:16\n"
				  "    environment:\n      POSTGRES_PASSWORD: p\n");
	load(&c, &st);
	cr_assert_eq(st.count, 3);

	/* sorted by db key: the same order before and after a fold */
	StackService *b = &st.services[0], *a = &st.services[1], *solo = &st.services[2];

	cr_assert_str_eq(a->name, "big/wiki-db");
	cr_assert_str_eq(a->fsname, "big--wiki-db");
	cr_assert_str_eq(a->db_key, "wiki-db");
	cr_assert_null(a->problem, "%s", a->problem);
	cr_assert_eq(a->db_service, key_index(a, "wiki-db"));
	cr_assert_str_eq(a->db_name, "wiki");
	cr_assert_eq(a->conn_count, 1);
	cr_assert_eq(a->conns[0].app, (size_t) key_index(a, "wiki"));

	cr_assert_str_eq(b->name, "big/db");
	cr_assert_str_eq(b->fsname, "big--db");
	cr_assert_null(b->problem, "%s", b->problem);
	cr_assert_eq(b->db_service, key_index(b, "db"));
	cr_assert_str_eq(b->db_container, "notes-postgres");
	cr_assert_str_eq(b->db_name, "notes");
	cr_assert_eq(b->conn_count, 1);
	cr_assert_eq(b->conns[0].app, (size_t) key_index(b, "notes"));

	/* a file with one db is as before */
	cr_assert_str_eq(solo->name, "solo");
	cr_assert_str_eq(solo->fsname, "solo");
	cr_assert_null(solo->db_key);
	cr_assert_str_eq(service_fsname(solo), "solo");
	stack_free(&st);
	config_free(&c);
}

/* Entry e is addressed name, with a problem containing problem (NULL: none). */
static void
expect_entry(const StackService *e, const char *name, const char *problem)
{
	cr_assert_str_eq(e->name, name);
	if (problem == NULL)
		cr_assert_null(e->problem, "%s: %s", name, e->problem);
	else
		cr_assert(e->problem != NULL && strstr(e->problem, problem) != NULL, "%s: %s", name,
				  e->problem ? e->problem : "no problem");
}

/* A db no app connects to is that entry's problem, not the file's. */
Test(service_split, db_without_app_is_its_own_problem)
{
	Config c;
	Stack st;

	write_service("big.yml",
				  "services:\n  wiki:\n    image: wiki:1\n    environment:\n"
				  "      DATABASE_URL: postgresql://wiki:pw1@wiki-db:5432/wiki\n"
				  "  wiki-db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: pw1\n"
				  "  analytics:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: pw3\n");
	load(&c, &st);
	cr_assert_eq(st.count, 2);
	expect_entry(&st.services[1], "big/wiki-db", NULL);
	expect_entry(&st.services[0], "big/analytics",
				 "no app service connects to postgres service 'analytics'");
	stack_free(&st);
	config_free(&c);
}

/* After one db is folded the file no longer holds it: its header line
 * keeps the entry (migrated, with its own database), and the other db's
 * entry takes no database name from it. */
Test(service_split, folded_db_stays_addressable_by_its_header)
{
	Config c;
	Stack st;

	write_service("big.yml",
				  "# database: postgres\n# database_name.wiki-db: wiki_shared\n\n"
				  "services:\n  wiki:\n    image: wiki:1\n    environment:\n"
				  "      DATABASE_URL: postgresql://wiki:pw1@postgres:5432/wiki_shared\n"
				  "  notes:\n    image: notes:2\n    environment:\n"
				  "      DATABASE_URL: postgresql://notes:pw2@db:5432/notes\n"
				  "  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: pw2\n"
				  "      POSTGRES_USER: notes\n");
	load(&c, &st);
	cr_assert_eq(st.count, 2);

	StackService *b = &st.services[0], *a = &st.services[1];

	cr_assert_str_eq(b->name, "big/db");
	cr_assert_eq(b->db_service, key_index(b, "db"));
	cr_assert_null(b->meta_database_name, "the folded db's name leaked: %s", b->meta_database_name);
	cr_assert_str_eq(b->db_name, "notes");
	cr_assert_str_eq(a->name, "big/wiki-db");
	cr_assert_eq(a->db_service, -1);
	cr_assert_str_eq(a->meta_database, "postgres");
	cr_assert_str_eq(a->meta_database_name, "wiki_shared");
	stack_free(&st);
	config_free(&c);
}

/* Folding one db of the file: its block and depends_on go, its apps point
 * at the shared instance, the header names its database under its key,
 * and the other db, its app and its depends_on are untouched bytes. */
Test(service_split, rewrite_folds_one_db_only)
{
	Config c;
	Stack st;
	RwServiceResult res;
	RwTarget t = { .host = "postgres", .port = 5432, .role = "wiki", .dbname = "wiki",
				   .password = "newpw", .password_style = RW_PASSWORD_REFERENCE };

	write_service("big.yml", big_yml);
	load(&c, &st);
	cr_assert_str_eq(st.services[1].name, "big/wiki-db");
	cr_assert(rewrite_service_file(&st.services[1], &t, &res));

	const char *out = sb_str(&res.bytes);
	const char *notes = strstr(big_yml, "  notes:\n");

	cr_assert(str_has_prefix(out, "# database: postgres\n# database_name.wiki-db: wiki\n"), "%s", out);
	cr_assert_null(strstr(out, "\n  wiki-db:"), "%s", out);
	cr_assert_null(strstr(out, "[wiki-db]"), "%s", out);
	cr_assert_not_null(strstr(out, "@postgres:5432/wiki"), "%s", out);
	cr_assert_not_null(strstr(out, notes), "the other db's part of the file changed:\n%s", out);
	cr_assert_str_eq(res.env[0].key, "PGFOLD_BIG_WIKI_DB_DB_PASSWORD");
	rewrite_service_result_free(&res);
	stack_free(&st);
	config_free(&c);
}
