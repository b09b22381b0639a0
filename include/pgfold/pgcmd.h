/*
 * pgcmd.h — the pg_dump / pg_restore commands every stream uses (migrate,
 * rollback, db backup/restore): one place decides their flags.
 *
 * In a container they run over the local socket as the given user (the
 * official image trusts local connections). A local pg_restore gets the
 * admin password through a 0600 passfile named by PGPASSFILE: never argv,
 * never a PGPASSWORD variable. The passfile lives in a fresh 0700
 * directory (fs_private_write) and is gone after pgcmd_free; a builder that
 * fails leaves nothing to free.
 */
#ifndef PGFOLD_PGCMD_H
#define PGFOLD_PGCMD_H

#include <limits.h>
#include <stdbool.h>

#include "pgfold/config.h"
#include "pgfold/fsutil.h"
#include "pgfold/stream.h"

#define PGCMD_MAX_ARGS 24

typedef struct PgCommand
{
	StreamCommand cmd;
	const char   *argv[PGCMD_MAX_ARGS];
	const char   *env[4];
	char         *owned[PGCMD_MAX_ARGS];   /* strings we allocated */
	size_t        owned_count;
	FsPrivateFile passfile;                /* removed by pgcmd_free */
	char          label[256];
} PgCommand;

/* pg_dump -Fc of db inside container, as user. */
bool pgcmd_dump_in_container(PgCommand *pc, const char *container,
							 const char *user, const char *db);

/* pg_dump -Fc of db on the shared instance (its container, or locally). */
bool pgcmd_dump_shared(PgCommand *pc, const Config *cfg, const char *db);
/* The same, reading the exported snapshot (pg_export_snapshot) when not
 * NULL: the dump then sees exactly what that transaction sees. */
bool pgcmd_dump_shared_at(PgCommand *pc, const Config *cfg, const char *db,
						  const char *snapshot);

/* pg_dumpall --globals-only of the shared instance: roles with their
 * password verifiers, memberships, role settings, tablespaces. */
bool pgcmd_dumpall_globals_shared(PgCommand *pc, const Config *cfg);

/* pg_restore --no-owner --no-acl --exit-on-error into db on the shared
 * instance (its container, or locally). */
bool pgcmd_restore_shared(PgCommand *pc, const Config *cfg, const char *db);

/* Which sections of the archive a restore takes: --jobs splits the
 * archive at the data's end, so the part pg_restore would run one item at
 * a time (indexes, constraints, triggers) runs in parallel from the file. */
typedef enum PgcmdPart
{
	PGCMD_WHOLE,
	PGCMD_PRE_DATA_AND_DATA,    /* --section=pre-data --section=data */
} PgcmdPart;

bool pgcmd_restore_shared_part(PgCommand *pc, const Config *cfg, const char *db,
							   PgcmdPart part);

/* pg_restore --jobs=jobs --section=post-data (and the flags above) of
 * file into db: by exec in the shared container, file the path as that
 * container sees it; or local, this host's pg_restore over TCP with the
 * passfile. A post-data item carries no data block, so a file a pipe wrote
 * (no data offsets) serves. */
bool pgcmd_restore_shared_post_data(PgCommand *pc, const Config *cfg, const char *db,
									const char *file, int jobs, bool local);

/* "pg_restore (PostgreSQL) 15.5 (Debian ...)" -> 15; -1 when not that. */
int pgcmd_version_major(const char *text);
/* This host's pg_restore major, -1 when there is none. */
int pgcmd_local_restore_major(void);

/* pg_restore --exit-on-error into db inside container, as user, keeping
 * ownership with --role-less --no-owner (objects owned by user). */
bool pgcmd_restore_in_container(PgCommand *pc, const char *container,
								const char *user, const char *db);

/* psql on this host, connected over TCP to db on the shared instance
 * (PG_HOST/PG_PORT, the password in the passfile): `db console`. */
bool pgcmd_psql_local(PgCommand *pc, const Config *cfg, const char *db);

/* pg_restore reading an archive on stdin and writing its SQL script to
 * stdout, connected to no database: reads (and checks) every byte of the
 * archive. In container, or locally when container is NULL. */
bool pgcmd_archive_script(PgCommand *pc, const char *container);

void pgcmd_free(PgCommand *pc);

/* "dbname='...'" with \ and ' escaped: a name containing '=' must never be
 * taken for a connection string by libpq. */
bool pgcmd_dbname_conninfo(const char *db, char *out, size_t size);

#endif
