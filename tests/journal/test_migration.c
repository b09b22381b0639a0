/*
 * test_migration.c — journal_read_migration: a migrate run read back from
 * journal lines as migrate writes them (and as older versions wrote them),
 * a partial run, missing and hostile fields.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil/fstest.h"
#include "pgfold/journal.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

FST_SCRATCH_SUITE(journal_migration);

#define RUN "20261121T101500Z"
#define HEAD(step, status) \
	"{\"ts\":\"2026-11-21T10:15:00.000Z\",\"op\":\"migrate\",\"run\":\"" RUN \
	"\",\"step\":\"" step "\",\"status\":\"" status "\""
#define DONE(step, fields) HEAD(step, "done") fields "}\n"
#define STARTED(step) HEAD(step, "started") "}\n"

/* The records of a whole migration, with the fields migrate writes. */
#define SAVE DONE("save-original", ",\"copy\":\"/s/backups/postgres-migrations/docmost_" RUN \
				  ".yml\",\"sha256\":\"" SHA_A "\",\"service_file\":\"/s/services/docmost.yml\"")
#define STOP DONE("stop-apps", ",\"containers\":[\"c1\",\"c2\"],\"names\":[\"docmost\",\"w\"]," \
				  "\"file_apps\":[\"c2\"]")
#define ROLE DONE("role", ",\"role\":\"docmost\",\"action\":\"created\",\"db\":\"docmost\"," \
				  "\"tmp_db\":\"docmost__pgfold_incoming\",\"source_container\":\"docmost-db-1\"," \
				  "\"source_user\":\"dm\",\"source_db\":\"dmdb\",\"project\":\"docmost\"")
#define STREAM DONE("stream", ",\"dump\":\"/s/backups/postgres-migrations/docmost_" RUN \
					".dump\",\"sha256\":\"" SHA_B "\",\"bytes\":1234,\"seconds\":1.5," \
					"\"cpu_seconds\":0.2")
#define VERIFY DONE("verify", ",\"tables\":3,\"rows\":42,\"items\":9,\"deep\":false")
#define FILES DONE("files", ",\"service_sha256\":\"" SHA_C "\",\"override\":" \
				   "\"/s/overrides/docmost.override.yml\",\"env_keys\":[\"DOCMOST_DB_PASS\"]," \
				   "\"env_file\":\"/s/.env\",\"app_files\":[]")
#define COMPLETE DONE("complete", ",\"db\":\"docmost_shared\",\"role\":\"docmost\",\"dump\":" \
					  "\"/s/x.dump\",\"apps_down\":{\"seconds\":2.5,\"phases\":{}}")
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void
load(const char *text, Journal *j)
{
	char jdir[PATH_MAX], path[PATH_MAX];
	bool exists = false;

	fst_join(jdir, dir, JOURNAL_SUBDIR);
	mkdir(jdir, 0750);
	fst_join(path, jdir, "docmost" JOURNAL_SUFFIX);
	fst_put(path, text, strlen(text));
	cr_assert(journal_load(dir, "docmost", j, &exists));
	cr_assert(exists);
}

/* Every record migrate writes, in its order, each step started then done. */
Test(journal_migration, reads_a_complete_run)
{
	Journal j = JOURNAL_INIT;
	MigrationRecord m;

	load(DONE("connections", ",\"max\":3") STARTED("save-original") SAVE STARTED("stop-apps")
		 STOP STARTED("role") ROLE STARTED("stream") STREAM DONE("ownership", "")
		 DONE("properties", "") DONE("analyze", ",\"seconds\":0.1") VERIFY FILES
		 DONE("cutover", "") DONE("apply", ",\"applied\":true") DONE("proof", "") COMPLETE, &j);
	cr_assert(journal_read_migration(&j, RUN, &m));
	cr_assert_str_eq(m.run, RUN);
	cr_assert(m.complete);
	cr_assert(m.applied);
	cr_assert_not(m.aborted);
	cr_assert(m.save.done);
	cr_assert_str_eq(m.save.copy, "/s/backups/postgres-migrations/docmost_" RUN ".yml");
	cr_assert_str_eq(m.save.sha256, SHA_A);
	cr_assert(m.stop.done);
	cr_assert_eq(json_array_size(m.stop.containers), 2);
	cr_assert_str_eq(json_string_value(json_array_get(m.stop.containers, 1)), "c2");
	cr_assert_eq(json_array_size(m.stop.file_apps), 1);
	cr_assert(m.role.done);
	cr_assert_str_eq(m.role.db, "docmost");
	cr_assert_str_eq(m.role.tmp_db, "docmost__pgfold_incoming");
	cr_assert_str_eq(m.role.role, "docmost");
	cr_assert_str_eq(m.role.source_container, "docmost-db-1");
	cr_assert_str_eq(m.role.source_user, "dm");
	cr_assert_str_eq(m.role.source_db, "dmdb");
	cr_assert_str_eq(m.role.project, "docmost");
	cr_assert(m.stream.done);
	cr_assert_str_eq(m.stream.dump, "/s/backups/postgres-migrations/docmost_" RUN ".dump");
	cr_assert_str_eq(m.stream.sha256, SHA_B);
	cr_assert_not_null(m.verify);
	cr_assert_eq(json_integer_value(json_object_get(m.verify, "rows")), 42);
	cr_assert(m.files.done);
	cr_assert_str_eq(m.files.service_sha256, SHA_C);
	cr_assert_str_eq(m.files.override, "/s/overrides/docmost.override.yml");
	cr_assert_str_eq(m.files.env_file, "/s/.env");
	cr_assert_str_eq(json_string_value(json_array_get(m.files.env_keys, 0)), "DOCMOST_DB_PASS");
	cr_assert_eq(json_array_size(m.files.app_files), 0);
	/* the complete record names the database: it wins over the role's */
	cr_assert_str_eq(m.db, "docmost_shared");
	journal_close(&j);
}

/* Interrupted in the files step: what is done reads, the rest does not. */
Test(journal_migration, reads_a_partial_run)
{
	Journal j = JOURNAL_INIT;
	MigrationRecord m;

	load(SAVE STOP ROLE STREAM VERIFY STARTED("files"), &j);
	cr_assert(journal_read_migration(&j, RUN, &m));
	cr_assert_not(m.complete);
	cr_assert_not(m.applied);
	cr_assert(m.save.done && m.stop.done && m.role.done && m.stream.done);
	cr_assert_not(m.files.done);
	cr_assert_str_eq(m.files.override, "");
	cr_assert_null(m.files.env_keys);
	/* no complete record: the role's database */
	cr_assert_str_eq(m.db, "docmost");
	journal_close(&j);
}

/* A step started again after it was done is not done. */
Test(journal_migration, restarted_step_is_not_done)
{
	Journal j = JOURNAL_INIT;
	MigrationRecord m;

	load(SAVE ROLE STARTED("role"), &j);
	cr_assert(journal_read_migration(&j, RUN, &m));
	cr_assert(m.save.done);
	cr_assert_not(m.role.done);
	cr_assert_str_eq(m.role.db, "");
	cr_assert_str_eq(m.db, "");
	journal_close(&j);
}

/* Journals of older versions: files without env_file, complete without db;
 * an aborted run. */
Test(journal_migration, reads_older_records)
{
	Journal j = JOURNAL_INIT;
	MigrationRecord m;

	load(SAVE STOP ROLE STREAM DONE("files", ",\"service_sha256\":\"" SHA_C "\",\"override\":"
									"\"/s/o.yml\",\"env_keys\":[]")
		 DONE("apply", "") HEAD("abort", "failed") ",\"exit\":6}\n"
		 DONE("complete", ",\"role\":\"docmost\""), &j);
	cr_assert(journal_read_migration(&j, RUN, &m));
	cr_assert(m.files.done);
	cr_assert_str_eq(m.files.env_file, "");
	cr_assert_null(m.files.app_files);
	cr_assert(m.aborted);
	cr_assert(m.complete);
	cr_assert_str_eq(m.db, "docmost");
	journal_close(&j);
}

/* A field absent, of the wrong type or too long for a database name reads
 * as empty: callers refuse the run, nothing overflows. */
Test(journal_migration, missing_or_hostile_fields_read_empty)
{
	Journal j = JOURNAL_INIT;
	MigrationRecord m;

	load(SAVE DONE("role", ",\"role\":\"docmost\",\"db\":\"a_database_name_that_is_much_too_long_"
				   "for_postgres_to_have_ever_made_it\",\"tmp_db\":7,\"source_container\":\"c\"")
		 DONE("files", ",\"service_sha256\":null"), &j);
	cr_assert(journal_read_migration(&j, RUN, &m));
	cr_assert(m.role.done);
	cr_assert_str_eq(m.role.role, "docmost");
	cr_assert_str_eq(m.role.db, "");
	cr_assert_str_eq(m.role.tmp_db, "");
	cr_assert_str_eq(m.role.source_user, "");
	cr_assert_str_eq(m.role.project, "");
	cr_assert(m.files.done);
	cr_assert_str_eq(m.files.service_sha256, "");
	cr_assert_str_eq(m.db, "");
	journal_close(&j);
}

Test(journal_migration, unknown_run_reads_nothing_done)
{
	Journal j = JOURNAL_INIT;
	MigrationRecord m;

	load(SAVE ROLE COMPLETE, &j);
	cr_assert(journal_read_migration(&j, "20200101T000000Z", &m));
	cr_assert_not(m.complete || m.save.done || m.role.done || m.files.done);
	cr_assert_str_eq(m.db, "");
	log_set_level(LOG_FATAL);
	cr_assert_not(journal_read_migration(&j, NULL, &m));
	journal_close(&j);
}
