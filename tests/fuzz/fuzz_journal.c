/*
 * fuzz_journal.c — the journal reader (src/journal/journal.c, query.c,
 * migration.c): the input is a service's journal file as a crash, a full
 * disk or an editor may leave it. journal_load accepts it (a torn last
 * line ignored) or refuses it with one line; accepted, every run reads
 * back through journal_runs and journal_read_migration, whose strings are
 * terminated and whose JSON fields have the types migrate relies on.
 */
#include "fuzz.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/journal.h"

static char backups[64];
static char path[128];

static void
setup(void)
{
	char tmpl[] = "/tmp/pgfold-fuzz-journal-XXXXXX";

	FUZZ_CHECK(mkdtemp(tmpl) != NULL, "mkdtemp");
	str_copy(backups, sizeof(backups), tmpl);
	FUZZ_CHECK(str_format(path, sizeof(path), "%s/" JOURNAL_SUBDIR, backups), "path");
	FUZZ_CHECK(mkdir(path, 0750) == 0, "mkdir %s", path);
	FUZZ_CHECK(str_format(path, sizeof(path), "%s/" JOURNAL_SUBDIR "/fz" JOURNAL_SUFFIX, backups),
			   "path");
}

static void
cleanup(void)
{
	char dir[128];

	unlink(path);
	if (str_format(dir, sizeof(dir), "%s/" JOURNAL_SUBDIR, backups))
		rmdir(dir);
	rmdir(backups);
}

static void
check_terminated(const char *s, size_t size, const char *what)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL, "%s not terminated", what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();
	if (backups[0] == '\0')
	{
		setup();
		atexit(cleanup);
	}

	FILE *fp = fopen(path, "wb");

	FUZZ_CHECK(fp != NULL, "cannot write %s", path);
	FUZZ_CHECK(fwrite(data, 1, size, fp) == size && fclose(fp) == 0, "cannot write %s", path);

	Journal j;
	bool exists = false;

	if (!journal_load(backups, "fz", &j, &exists))
		return 0;
	FUZZ_CHECK(exists, "an existing journal reads as missing");

	JournalRun *runs = NULL;
	size_t n = journal_runs(&j, &runs);

	FUZZ_CHECK(n <= journal_count(&j), "%zu runs in %zu records", n, journal_count(&j));
	for (size_t i = 0; i < n; i++)
	{
		MigrationRecord m;

		FUZZ_CHECK(runs[i].run != NULL && runs[i].records >= 1, "run %zu", i);
		if (!journal_read_migration(&j, runs[i].run, &m))
			continue;
		check_terminated(m.run, sizeof(m.run), "run");
		check_terminated(m.save.copy, sizeof(m.save.copy), "save.copy");
		check_terminated(m.role.db, sizeof(m.role.db), "role.db");
		check_terminated(m.role.tmp_db, sizeof(m.role.tmp_db), "role.tmp_db");
		check_terminated(m.role.role, sizeof(m.role.role), "role.role");
		check_terminated(m.stream.dump, sizeof(m.stream.dump), "stream.dump");
		check_terminated(m.files.override, sizeof(m.files.override), "files.override");
		check_terminated(m.db, sizeof(m.db), "db");
		(void) journal_run_complete(&j, runs[i].run);
		(void) journal_step_done(&j, runs[i].run, MIG_STEP_STREAM);
	}
	free(runs);
	(void) journal_is_migrated(&j, NULL);
	(void) journal_latest_run(&j, JOURNAL_MIGRATE);
	journal_close(&j);
	return 0;
}
