/*
 * test_backups_lab.c — `pgfold backups list|verify|prune` on a backups
 * directory with manual dumps, migration dumps, a pre-rollback dump and a
 * journal saying which migration is live.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"
#include "pgfold/journal.h"

IFX_SUITE(instance_backups_lab);

#define MIG_OLD   "docmost_20250101T000000Z.dump"          /* aborted migration */
#define MIG_LIVE  "docmost_20250201T000000Z.dump"          /* the live migration */
#define PRE_RB    "docmost_pre_rollback_20250301T000000Z.dump"

static void
mig_path(const char *name, char *out, size_t size)
{
	char rel[256];

	str_format(rel, sizeof(rel), "backups/postgres-migrations/%s", name);
	ifx_path(&x, rel, out, size);
}

/* A copy of a real dump under another name, with its own sidecar. */
static void
place(const char *src, const char *name)
{
	char dst[4096];

	mig_path(name, dst, sizeof(dst));
	cr_assert_eq(lab_sh("mkdir -p \"$(dirname %s)\" && cp %s %s && cd \"$(dirname %s)\" && "
						"sha256sum %s > %s.sha256", dst, src, dst, dst, name, name), 0);
}

static void
write_journal(void)
{
	char old[4096], live[4096];
	Journal j = JOURNAL_INIT;
	json_t *f;

	char backups[4096];

	mig_path(MIG_OLD, old, sizeof(old));
	mig_path(MIG_LIVE, live, sizeof(live));

	ifx_path(&x, "backups", backups, sizeof(backups));
	cr_assert(journal_open(backups, "docmost", &j));
	f = json_pack("{s:s}", "dump", old);
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "20250101T000000Z", "stream", JOURNAL_DONE, f));
	json_decref(f);
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "20250101T000000Z", "abort", JOURNAL_FAILED, NULL));
	f = json_pack("{s:s}", "dump", live);
	cr_assert(journal_append(&j, JOURNAL_MIGRATE, "20250201T000000Z", "stream", JOURNAL_DONE, f));
	json_decref(f);
	f = json_pack("{s:s, s:s, s:s}", "db", "docmost", "role", "docmost", "dump", live);
	cr_assert(journal_complete(&j, JOURNAL_MIGRATE, "20250201T000000Z", f));
	json_decref(f);
	journal_close(&j);
}

static json_t *
entry(json_t *list, const char *suffix)
{
	return ifx_find(list, "file", suffix, true);
}

static const char *
field(json_t *list, const char *suffix, const char *key)
{
	return json_string_value(json_object_get(entry(list, suffix), key));
}

Test(instance_backups_lab, list_verify_prune)
{
	char manual1[4096], manual2[4096], path[4096];
	json_t *doc;

	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_seeded_db(&x, "docmost", 2000);
	ifx_backup(&x, "docmost", manual1, sizeof(manual1));
	sleep(1);    /* a second stamp */
	ifx_backup(&x, "docmost", manual2, sizeof(manual2));
	place(manual1, MIG_OLD);
	place(manual1, MIG_LIVE);
	place(manual1, PRE_RB);
	write_journal();
	ifx_path(&x, "backups/random.dump", path, sizeof(path));
	cr_assert_eq(lab_sh("cp %s %s", manual1, path), 0);    /* no stamp, no sidecar */

	/* list: kinds, services (journal: the docmost database is service docmost) */
	ifx_run(&x, "backups", "list", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "backups list");
	doc = ifx_json(&x);
	cr_assert_eq(json_array_size(doc), 6, "%s", sb_str(&x.out));
	cr_assert_str_eq(field(doc, MIG_OLD, "kind"), "migration");
	cr_assert_str_eq(field(doc, MIG_OLD, "service"), "docmost");
	cr_assert_str_eq(field(doc, MIG_OLD, "time"), "2025-01-01T00:00:00Z");
	cr_assert(json_is_true(json_object_get(entry(doc, MIG_LIVE), "referenced")));
	cr_assert(json_is_false(json_object_get(entry(doc, MIG_OLD), "referenced")));
	cr_assert_str_eq(field(doc, PRE_RB, "kind"), "pre-rollback");
	cr_assert_str_eq(field(doc, PRE_RB, "service"), "docmost");
	cr_assert_str_eq(field(doc, strrchr(manual2, '/'), "kind"), "manual");
	cr_assert_str_eq(field(doc, strrchr(manual2, '/'), "service"), "docmost");
	cr_assert_str_eq(field(doc, strrchr(manual2, '/'), "checksum"), "ok");
	cr_assert(json_is_true(json_object_get(entry(doc, strrchr(manual2, '/')), "newest")));
	cr_assert_str_eq(field(doc, "/random.dump", "checksum"), "missing");
	cr_assert(json_is_null(json_object_get(entry(doc, "/random.dump"), "service")));
	cr_assert_eq(json_object_size(entry(doc, MIG_OLD)), 10);
	json_decref(doc);
	/* db list names the service from the journal too */
	ifx_run(&x, "db", "list", "--json", NULL);
	doc = ifx_json(&x);
	cr_assert_str_eq(json_string_value(json_object_get(ifx_find(doc, "name", "docmost", false),
														"service")), "docmost");
	json_decref(doc);
	ifx_run(&x, "backups", "list", "nosuchservice", "--json", NULL);
	doc = ifx_json(&x);
	cr_assert_eq(json_array_size(doc), 0);
	json_decref(doc);

	/* verify: a tampered and a truncated dump fail, the others pass */
	mig_path(PRE_RB, path, sizeof(path));
	cr_assert_eq(lab_sh("printf x >> %s", path), 0);
	mig_path(MIG_OLD, path, sizeof(path));
	ifx_truncate(path, 5000);
	cr_assert_eq(lab_sh("cd \"$(dirname %s)\" && sha256sum " MIG_OLD " > " MIG_OLD ".sha256",
						path), 0);
	ifx_run(&x, "backups", "verify", "--all", "--json", NULL);
	ifx_expect(&x, EXIT_VERIFY, "backups verify --all");
	doc = ifx_json(&x);
	cr_assert_str_eq(field(doc, PRE_RB, "checksum"), "mismatch");
	cr_assert_str_eq(field(doc, MIG_OLD, "checksum"), "ok");
	cr_assert_str_eq(field(doc, MIG_OLD, "archive"), "error");
	cr_assert(json_is_true(json_object_get(entry(doc, MIG_LIVE), "ok")));
	cr_assert_eq(json_integer_value(json_object_get(entry(doc, MIG_LIVE), "rows")),
				 2000 + 25 + 3 + 1500 + 3 + 2);
	cr_assert_str_eq(field(doc, MIG_LIVE, "database"), "docmost");
	json_decref(doc);
	ifx_run(&x, "backups", "verify", manual2, NULL);
	ifx_expect(&x, EXIT_OK, "backups verify FILE");
	ifx_run(&x, "backups", "verify", NULL);
	ifx_expect(&x, EXIT_USAGE, "backups verify without FILE or --all");

	/* prune: no terminal and no --yes refuses; --dry-run removes nothing */
	ifx_run(&x, "backups", "prune", "--older-than", "30d", NULL);
	ifx_expect(&x, EXIT_USAGE, "prune without --yes");
	ifx_run(&x, "backups", "prune", "--older-than", "30d", "--dry-run", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "prune --dry-run");
	doc = ifx_json(&x);
	cr_assert(json_is_true(json_object_get(doc, "dry_run")));
	cr_assert_str_eq(field(json_object_get(doc, "files"), MIG_OLD, "action"), "remove");
	cr_assert_str_eq(field(json_object_get(doc, "files"), MIG_LIVE, "action"), "keep");
	json_decref(doc);
	mig_path(MIG_OLD, path, sizeof(path));
	cr_assert(ifx_exists(path));
	ifx_run(&x, "backups", "prune", "--older-than", "soon", NULL);
	ifx_expect(&x, EXIT_USAGE, "prune with a bad age");
	ifx_run(&x, "backups", "prune", "--yes", NULL);
	ifx_expect(&x, EXIT_USAGE, "prune without a rule");

	/* --yes: the old ones go with their sidecars; the live migration's dump,
	 * the newest of each group and the young ones stay */
	ifx_run(&x, "backups", "prune", "--older-than", "30d", "--yes", NULL);
	ifx_expect(&x, EXIT_OK, "prune --yes");
	cr_assert_not(ifx_exists(path));
	str_format(path + strlen(path), sizeof(path) - strlen(path), ".sha256");
	cr_assert_not(ifx_exists(path), "sidecar left");
	mig_path(PRE_RB, path, sizeof(path));
	cr_assert_not(ifx_exists(path));
	mig_path(MIG_LIVE, path, sizeof(path));
	cr_assert(ifx_exists(path), "the live migration's dump was pruned");
	cr_assert(ifx_exists(manual1) && ifx_exists(manual2));
	ifx_path(&x, "backups/random.dump", path, sizeof(path));
	cr_assert(ifx_exists(path));

	/* --keep-last 1: only the newest manual dump of docmost and the live one */
	ifx_run(&x, "backups", "prune", "--keep-last", "1", "--yes", "--json", NULL);
	ifx_expect(&x, EXIT_OK, "prune --keep-last 1");
	cr_assert_not(ifx_exists(manual1));
	cr_assert(ifx_exists(manual2));
	mig_path(MIG_LIVE, path, sizeof(path));
	cr_assert(ifx_exists(path));
	ifx_path(&x, "backups/postgres-migrations/docmost.journal", path, sizeof(path));
	cr_assert(ifx_exists(path), "prune removed a journal");
}
