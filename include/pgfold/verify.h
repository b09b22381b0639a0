/*
 * verify.h — prove that a restored database holds what the source held.
 *
 * One SQL query (verify_inventory_sql) describes a database as rows of
 * (kind, schema, name, value): object counts per class, the exact row count
 * of every table, sequence positions, extensions and, with --deep, an
 * order-independent hash of every table's row texts. The very same text runs
 * on both sides — through psql inside the source container and through
 * libpq on the shared instance — so the comparison is of like with like.
 * Identifiers are quoted by format('%I') on the server, never by us.
 */
#ifndef PGFOLD_VERIFY_H
#define PGFOLD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "pgfold/str.h"

typedef struct InventoryItem
{
	char *kind;     /* "objects", "rows", "hash", "sequence", "extension" */
	char *schema;   /* "" for database-wide items */
	char *name;
	char *value;
} InventoryItem;

typedef struct Inventory
{
	InventoryItem *items;   /* sorted by (kind, schema, name) */
	size_t         count;
} Inventory;

typedef enum DiffKind
{
	DIFF_MISSING = 0,   /* in the source, not in the target */
	DIFF_EXTRA,         /* in the target, not in the source */
	DIFF_VALUE          /* in both, different values */
} DiffKind;

typedef struct VerifyDiff
{
	DiffKind    kind;
	const InventoryItem *source;   /* NULL for DIFF_EXTRA */
	const InventoryItem *target;   /* NULL for DIFF_MISSING */
} VerifyDiff;

typedef struct VerifyReport
{
	VerifyDiff *diffs;
	size_t      diff_count;
	size_t      tables;            /* tables compared */
	long long   rows;              /* rows in the source, summed */
	size_t      items;             /* inventory items compared */
} VerifyReport;

/* The inventory query; deep adds a per-table content hash. */
const char *verify_inventory_sql(bool deep);

/* Take ownership-free copies of rows of 4 fields into an Inventory. */
bool inventory_add(Inventory *inv, const char *kind, const char *schema,
				   const char *name, const char *value);
void inventory_sort(Inventory *inv);
void inventory_free(Inventory *inv);

/* Compare; report->diff_count == 0 means identical. Items must be sorted. */
bool verify_compare(const Inventory *source, const Inventory *target,
					VerifyReport *report);
void verify_report_free(VerifyReport *report);

/* A table of differences for the operator (and the log). */
void verify_report_print(FILE *out, const VerifyReport *report,
						 const char *source_label, const char *target_label);

/* ---- comparing two databases (src/verify/run.c) ------------------------ */

/* Inventory of src_db in container (psql) and target_db on the shared
 * instance (libpq), with both databases' properties (dbprops.h: locale,
 * settings, comment; the settings of user there and of target_role here,
 * left out when target_role is NULL), compared into report (diff_count 0 =
 * identical). src and dst keep the items the report points into: free
 * them after it. */
struct App;
bool verify_databases(struct App *app, const char *container, const char *user,
					  const char *src_db, const char *target_db,
					  const char *target_role, bool deep,
					  VerifyReport *report, Inventory *src,
					  Inventory *dst);
/* One side's inventory (sorted): db in container (psql) / on the shared
 * instance (libpq). Also used by rollback. */
bool verify_container_inventory(struct App *app, const char *container, const char *user,
								   const char *db, bool deep, Inventory *inv);
/* The inventory on an open connection (inside the caller's transaction:
 * `pgfold backup` takes it in the snapshot its pg_dump reads). */
bool verify_conn_inventory(PGconn *conn, bool deep, Inventory *inv);
bool verify_shared_inventory(struct App *app, const char *db, bool deep, Inventory *inv);

#endif
