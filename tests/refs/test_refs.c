/*
 * test_refs.c — refs on a fixture tree under a temporary directory: a
 * fake sysroot (crontab, cron.d, cron.daily, systemd units), a fake
 * `crontab -l`, a stack root (.env, compose files, scripts), binary, big
 * and .git files that must be skipped. Never reads the real /etc.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pgfold/refs.h"
#include "pgfold/str.h"

#include "fsutil/fstest.h"
#include "lab.h"

static char dir[PATH_MAX];

static void
put(const char *rel, const char *text)
{
	char path[PATH_MAX], cmd[PATH_MAX * 2];

	fst_join(path, dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	cr_assert_eq(system(cmd), 0);
	fst_put(path, text, strlen(text));
}

static void
setup(void)
{
	char p[PATH_MAX];

	fst_mkdtemp(dir);
	put("sys/etc/crontab", "SHELL=/bin/sh\n0 3 * * * root pg_dump -h docmost-db docmost > /b\n");
	put("sys/etc/cron.d/backup", "# nothing\n15 1 * * * root /opt/backup.sh nova_memory\n");
	put("sys/etc/cron.daily/vacuum", "#!/bin/sh\nvacuumdb -d nova_memory_old\n");
	put("sys/etc/systemd/system/app.service",
		"[Service]\nEnvironment=DATABASE_URL=postgres://nova:hunter2@docmost-db:5432/docmost\n"
		"Environment=PGPASSWORD=docmost-db\nExecStart=/usr/bin/app\n");
	put("home/.config/systemd/user/agent.service", "[Service]\nEnvironment=DB=nova_memory\n");
	put("stack/.env", "PG_HOST=localhost\nDOCMOST_DB_CONTAINER_NAME=docmost-db\n");
	put("stack/services/docmost.yml", "services:\n  app:\n    depends_on: [docmost-db]\n");
	put("stack/scripts/dump.sh", "#!/bin/sh\npsql -d nova_memory -c 'select 1'\n");
	put("stack/.git/config", "url = docmost-db\n");
	put("stack/backups/journal.json", "{\"db\": \"nova_memory\"}\n");
	fst_join(p, dir, "stack/scripts/binary.bin");
	fst_put(p, "nova_memory\0\1\2", 14);
	put("fakecrontab", "#!/bin/sh\necho '30 2 * * * /usr/bin/backup nova_memory'\n");
	fst_join(p, dir, "fakecrontab");
	chmod(p, 0755);
	setenv("PGFOLD_REFS_CRONTAB", p, 1);
	fst_join(p, dir, "sys");
	setenv("PGFOLD_REFS_SYSROOT", p, 1);
	fst_join(p, dir, "home");
	setenv("HOME", p, 1);
}

static void
teardown(void)
{
	fst_rm_rf(dir);
}

static const RefHit *
hit(const RefsResult *r, const char *file_end, size_t line)
{
	for (size_t i = 0; i < r->count; i++)
	{
		size_t n = strlen(r->hits[i].file), m = strlen(file_end);

		if (r->hits[i].line == line && n >= m && strcmp(r->hits[i].file + n - m, file_end) == 0)
			return &r->hits[i];
	}
	return NULL;
}

TestSuite(refs, .init = setup, .fini = teardown);

Test(refs, finds_every_kind_and_skips_the_rest)
{
	char root[PATH_MAX], skip[PATH_MAX];
	const char *names[] = { "nova_memory", "docmost-db" };
	const char *skips[] = { skip, NULL };
	RefsResult r;
	const RefHit *h;

	fst_join(root, dir, "stack");
	fst_join(skip, dir, "stack/backups");

	RefsOptions o = { names, 2, root, skips, NULL, true };

	cr_assert(refs_find(&o, &r));
	h = hit(&r, "crontab -l", 1);
	cr_assert_not_null(h);
	cr_expect_eq(h->kind, REF_CRONTAB);
	cr_expect_str_eq(h->text, "30 2 * * * /usr/bin/backup nova_memory");
	h = hit(&r, "/sys/etc/crontab", 2);
	cr_assert_not_null(h);
	cr_expect_eq(h->kind, REF_CRON);
	cr_expect_str_eq(h->name, "docmost-db");
	cr_expect_not_null(hit(&r, "/etc/cron.d/backup", 2));
	/* nova_memory_old is another word */
	cr_expect_null(hit(&r, "/etc/cron.daily/vacuum", 2));
	h = hit(&r, "/etc/systemd/system/app.service", 2);
	cr_assert_not_null(h);
	cr_expect_eq(h->kind, REF_SYSTEMD);
	/* the URL's password is masked; a line naming a password is not shown */
	cr_expect_str_eq(h->text, "Environment=DATABASE_URL=postgres://nova:***@docmost-db:5432/docmost");
	h = hit(&r, "/etc/systemd/system/app.service", 3);
	cr_assert_not_null(h);
	cr_expect_str_eq(h->text, "(holds a secret: not shown)");
	cr_expect_not_null(hit(&r, "/.config/systemd/user/agent.service", 2));
	h = hit(&r, "/stack/.env", 2);
	cr_assert_not_null(h);
	cr_expect_eq(h->kind, REF_STACK);
	h = hit(&r, "/stack/services/docmost.yml", 3);
	cr_assert_not_null(h);
	cr_expect_eq(h->kind, REF_STACK);
	h = hit(&r, "/stack/scripts/dump.sh", 2);
	cr_assert_not_null(h);
	cr_expect_eq(h->kind, REF_FILES);
	/* skipped: .git, backups/, binary */
	cr_expect_null(hit(&r, "/stack/.git/config", 1));
	cr_expect_null(hit(&r, "/stack/backups/journal.json", 1));
	cr_expect_null(hit(&r, "/stack/scripts/binary.bin", 1));
	cr_expect_geq(r.skipped, 1);
	cr_expect_eq(r.count, 9, "got %zu hits", r.count);
	refs_free(&r);
}

Test(refs, path_given_and_missing_path)
{
	char root[PATH_MAX], scripts[PATH_MAX], missing[PATH_MAX];
	const char *names[] = { "nova_memory" };
	const char *paths[] = { scripts, NULL };
	RefsResult r;

	fst_join(root, dir, "stack");
	fst_join(scripts, dir, "stack/scripts");
	fst_join(missing, dir, "nope");

	RefsOptions o = { names, 1, root, NULL, paths, false };

	cr_assert(refs_find(&o, &r));
	cr_expect_eq(r.count, 1, "got %zu", r.count);
	cr_expect_not_null(hit(&r, "/stack/scripts/dump.sh", 2));
	refs_free(&r);
	paths[0] = missing;
	cr_expect(!refs_find(&o, &r));
}

Test(refs, cli_groups_exit_codes_and_bad_path)
{
	StrBuf out = STRBUF_INIT;
	const char *bin = getenv("PGFOLD_TEST_BIN") ? getenv("PGFOLD_TEST_BIN") : "build/pgfold";
	char root[PATH_MAX];
	int rc;

	fst_join(root, dir, "stack");
	rc = lab_sh("%s --root %s refs nova_memory >%s/out.txt 2>&1", bin, root, dir);
	cr_expect_eq(rc, 1);
	char path[PATH_MAX];
	fst_join(path, dir, "out.txt");
	char *text = fst_slurp(path, NULL);
	cr_assert_not_null(text);
	cr_expect(strstr(text, "crontab (edit with `crontab -e` (as the same user)):\n"
						   "  crontab -l:1: 30 2 * * * /usr/bin/backup nova_memory\n") != NULL, "%s", text);
	cr_expect(strstr(text, "files (edit the file, then restart what reads it):\n") != NULL, "%s", text);
	cr_expect(strstr(text, "/stack/scripts/dump.sh:2: psql -d nova_memory -c 'select 1'\n") != NULL,
			  "%s", text);
	free(text);
	rc = lab_sh("%s --root %s refs nothing_like_it >/dev/null 2>&1", bin, root);
	cr_expect_eq(rc, 0);
	rc = lab_sh("%s --root %s refs nova_memory ./no/such/dir >%s/out.txt 2>&1", bin, root, dir);
	cr_expect_eq(rc, 2);
	text = fst_slurp(path, NULL);
	cr_expect(strstr(text, "refs: ./no/such/dir: No such file or directory; nothing was searched")
			  != NULL, "%s", text);
	free(text);
	sb_free(&out);
}

/*
 * A file the caller may not read is counted, named once and skipped; the
 * search goes on. As root (CI) the command runs as nobody through
 * setpriv, since root reads a mode-0000 file.
 */
Test(refs, unreadable_file_is_named_and_skipped)
{
	const char *bin = getenv("PGFOLD_TEST_BIN") ? getenv("PGFOLD_TEST_BIN") : "build/pgfold";
	char root[PATH_MAX], secret[PATH_MAX], out[PATH_MAX], binpath[PATH_MAX], says[PATH_MAX + 160];
	const char *as = geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
	char *text;
	int rc;

	cr_assert_not_null(realpath(bin, binpath), "no %s", bin);
	cr_assert_eq(chmod(dir, 0755), 0);
	fst_join(root, dir, "stack");
	put("stack/scripts/secret.sh", "#!/bin/sh\npg_dump nova_memory\n");
	fst_join(secret, dir, "stack/scripts/secret.sh");
	cr_assert_eq(chmod(secret, 0), 0);
	fst_join(out, dir, "out.txt");
	rc = lab_sh("%s%s --root %s refs nova_memory >%s 2>&1", as, binpath, root, out);
	text = fst_slurp(out, NULL);
	cr_assert_eq(rc, 1, "the other references are still found: %s", text);
	str_format(says, sizeof(says), "refs: 1 file or directory could not be read and was skipped "
			   "(first: %s (Permission denied)); run as their owner to search them", secret);
	cr_assert_not_null(strstr(text, says), "%s", text);
	cr_assert_not_null(strstr(text, "/stack/scripts/dump.sh:2: psql -d nova_memory"), "%s", text);
	cr_assert_null(strstr(text, "secret.sh:2"), "%s", text);
	free(text);
	rc = lab_sh("%s%s --root %s --json refs nova_memory >%s 2>/dev/null", as, binpath, root, out);
	text = fst_slurp(out, NULL);
	cr_assert_eq(rc, 1);
	cr_assert_not_null(strstr(text, "\"unreadable\": 1"), "%s", text);
	free(text);
}
