/*
 * fidelity.h — the fidelity lab tests' stacks (issue 9): services whose
 * database has its own locale (C, ICU, a libc locale the shared instance
 * lacks), database settings, a comment and settings of the app's role,
 * and how to read those back on either side. Shared by the migrate and the
 * rollback suites.
 */
#ifndef PGFOLD_TESTS_FIDELITY_H
#define PGFOLD_TESTS_FIDELITY_H

#include "migrate/mig.h"

/* fixtures/synapse.yml (C locale), icu.yml (ICU de-DE), builtin.yml (the
 * builtin provider of 17+, C.UTF-8), dede.yml (libc de_DE.utf8, generated
 * in the db image only). */
extern const MigShape fid_synapse, fid_icu, fid_builtin, fid_dede;

/* The order of 'a', 'B', 'b', 'A', '_x', 'Z' under the C collation. */
#define FID_C_ORDER "A,B,Z,_x,a,b"

/* What a database looks like, as one line each. */
typedef struct FidProps
{
	char *locale;      /* encoding/collate/ctype/provider/locale */
	char *settings;    /* the database's settings (setrole = 0) */
	char *comment;
	char *order;       /* string_agg of sortme ORDER BY t */
	char *session;     /* work_mem,lock_timeout,statement_timeout,search_path
						* as a session of the app's role sees them */
} FidProps;

/* mig_seed_service, then the properties: ALTER DATABASE … SET
 * (statement_timeout, a search_path with a quoted schema), ALTER ROLE
 * <user> SET work_mem and IN DATABASE … SET lock_timeout, COMMENT ON
 * DATABASE (quote, unicode), table sortme. Returns the fingerprint after
 * all that (caller frees). */
char *fid_seed(MigStack *s, const MigShape *sh, const char *db_image);

/* A new stack s with its shared instance on shared_image, sh seeded on
 * db_image (fid_seed), its db container's name in dbc[size] and the
 * source's properties in src. Returns fid_seed's fingerprint. */
char *fid_start(MigStack *s, const MigShape *sh, const char *db_image, const char *shared_image,
				char *dbc, size_t size, FidProps *src);

/* The properties of db in a container (as user, psql over the socket). */
void fid_props_container(const char *container, const char *user, const char *db,
						 FidProps *out);
/* The same on the shared instance: the service role's session logs in
 * with its password file. */
void fid_props_shared(const MigStack *s, const char *role, const char *db, FidProps *out);
void fid_props_free(FidProps *p);
/* Every field equal (cr_assert, naming the field). */
void fid_props_assert_eq(const FidProps *want, const FidProps *got, const char *where);

#endif
