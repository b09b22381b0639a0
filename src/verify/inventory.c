/*
 * inventory.c — the inventory query and the comparison; see verify.h.
 *
 * Extension member objects are left out of the object counts: the shared
 * instance may carry another version of an extension, whose own functions
 * differ, while the service's own objects must match one for one. The
 * extensions themselves are listed by name (their versions are reported,
 * not compared: a newer server legitimately ships newer versions).
 */
#include "pgfold/verify.h"
#include "pgfold/log.h"

#include <stdlib.h>
#include <string.h>

/*
 * Row counts and hashes use query_to_xml() so a single statement can run a
 * per-table query without creating a function on either server (the source
 * must stay untouched). The hash sums the first 64 bits of md5(row text):
 * independent of physical row order, computed identically on both sides.
 */
#define USER_SCHEMAS \
	"SELECT oid, nspname FROM pg_catalog.pg_namespace " \
	"WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') " \
	"AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'"

#define NOT_EXTENSION_MEMBER(catalog, oidcol) \
	"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '" catalog "'::regclass " \
	"AND d.objid = " oidcol " AND d.deptype = 'e')"

#define TABLES \
	"SELECT s.nspname, c.relname FROM pg_catalog.pg_class c JOIN s ON s.oid = c.relnamespace " \
	"WHERE (c.relkind IN ('r', 'p') OR (c.relkind = 'm' AND c.relispopulated)) " \
	"AND " NOT_EXTENSION_MEMBER("pg_class", "c.oid")

#define INVENTORY_HEAD \
	"WITH s AS (" USER_SCHEMAS "), " \
	"rel AS (SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN s ON s.oid = c.relnamespace " \
	"        WHERE " NOT_EXTENSION_MEMBER("pg_class", "c.oid") "), " \
	"t AS (" TABLES ") " \
	"SELECT 'objects', '', 'schemas', count(*)::text FROM s WHERE s.nspname <> 'public' " \
	"UNION ALL SELECT 'objects', '', 'tables', count(*)::text FROM rel WHERE relkind IN ('r', 'p') " \
	"UNION ALL SELECT 'objects', '', 'views', count(*)::text FROM rel WHERE relkind = 'v' " \
	"UNION ALL SELECT 'objects', '', 'materialized views', count(*)::text FROM rel WHERE relkind = 'm' " \
	"UNION ALL SELECT 'objects', '', 'sequences', count(*)::text FROM rel WHERE relkind = 'S' " \
	"UNION ALL SELECT 'objects', '', 'indexes', count(*)::text FROM rel WHERE relkind IN ('i', 'I') " \
	"UNION ALL SELECT 'objects', '', 'foreign tables', count(*)::text FROM rel WHERE relkind = 'f' " \
	"UNION ALL SELECT 'objects', '', 'functions', count(*)::text FROM pg_catalog.pg_proc p " \
	"  JOIN s ON s.oid = p.pronamespace WHERE " NOT_EXTENSION_MEMBER("pg_proc", "p.oid") " " \
	"UNION ALL SELECT 'objects', '', 'constraints', count(*)::text FROM pg_catalog.pg_constraint k " \
	"  JOIN s ON s.oid = k.connamespace WHERE " NOT_EXTENSION_MEMBER("pg_constraint", "k.oid") " " \
	"  AND (k.conrelid = 0 OR k.conrelid IN (SELECT oid FROM rel)) " \
	"UNION ALL SELECT 'objects', '', 'triggers', count(*)::text FROM pg_catalog.pg_trigger g " \
	"  WHERE NOT g.tgisinternal AND g.tgrelid IN (SELECT oid FROM rel) " \
	"UNION ALL SELECT 'objects', '', 'types', count(*)::text FROM pg_catalog.pg_type y " \
	"  JOIN s ON s.oid = y.typnamespace WHERE y.typtype IN ('e', 'd', 'r', 'm') " \
	"  AND " NOT_EXTENSION_MEMBER("pg_type", "y.oid") " " \
	"UNION ALL SELECT 'extension', '', e.extname, '' FROM pg_catalog.pg_extension e " \
	"UNION ALL SELECT 'sequence', q.schemaname::text, q.sequencename::text, " \
	"  coalesce(q.last_value::text, 'unused') FROM pg_catalog.pg_sequences q " \
	"  JOIN s ON s.nspname = q.schemaname " \
	"UNION ALL SELECT 'rows', t.nspname::text, t.relname::text, " \
	"  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', " \
	"   t.nspname, t.relname), false, true, '')))[1]::text FROM t"

#define INVENTORY_DEEP \
	" UNION ALL SELECT 'hash', t.nspname::text, t.relname::text, " \
	"  (xpath('/row/h/text()', query_to_xml(format('SELECT coalesce(sum((''x'' || " \
	"   substr(md5(r::text), 1, 16))::bit(64)::bigint::numeric), 0) AS h FROM %I.%I r', " \
	"   t.nspname, t.relname), false, true, '')))[1]::text FROM t"

#define INVENTORY_TAIL " ORDER BY 1, 2, 3"

static const char inventory_sql[] = INVENTORY_HEAD INVENTORY_TAIL;
static const char inventory_sql_deep[] = INVENTORY_HEAD INVENTORY_DEEP INVENTORY_TAIL;

const char *
verify_inventory_sql(bool deep)
{
	return deep ? inventory_sql_deep : inventory_sql;
}

bool
inventory_add(Inventory *inv, const char *kind, const char *schema,
			  const char *name, const char *value)
{
	inv->items = xrealloc(inv->items, inv->count + 1, sizeof(InventoryItem));

	InventoryItem *it = &inv->items[inv->count++];

	it->kind = xstrdup(kind);
	it->schema = xstrdup(schema ? schema : "");
	it->name = xstrdup(name);
	it->value = xstrdup(value ? value : "");
	return true;
}

/* Byte order, not collation order: both sides must sort the same way. */
static int
item_key_cmp(const InventoryItem *a, const InventoryItem *b)
{
	int c = strcmp(a->kind, b->kind);

	if (c == 0)
		c = strcmp(a->schema, b->schema);
	if (c == 0)
		c = strcmp(a->name, b->name);
	return c;
}

static int
item_qsort_cmp(const void *a, const void *b)
{
	return item_key_cmp(a, b);
}

void
inventory_sort(Inventory *inv)
{
	if (inv->count > 1)
		qsort(inv->items, inv->count, sizeof(InventoryItem), item_qsort_cmp);
}

void
inventory_free(Inventory *inv)
{
	for (size_t i = 0; i < inv->count; i++)
	{
		free(inv->items[i].kind);
		free(inv->items[i].schema);
		free(inv->items[i].name);
		free(inv->items[i].value);
	}
	free(inv->items);
	inv->items = NULL;
	inv->count = 0;
}

static void
add_diff(VerifyReport *report, DiffKind kind, const InventoryItem *s,
		 const InventoryItem *t)
{
	report->diffs = xrealloc(report->diffs, report->diff_count + 1, sizeof(VerifyDiff));
	report->diffs[report->diff_count++] = (VerifyDiff) { kind, s, t };
}

static void
account_source_item(VerifyReport *report, const InventoryItem *s)
{
	long v = 0;

	report->items++;
	if (strcmp(s->kind, "rows") == 0)
	{
		report->tables++;
		if (str_to_long(s->value, 0, __LONG_MAX__, &v))
			report->rows += v;
	}
}

bool
verify_compare(const Inventory *source, const Inventory *target,
			   VerifyReport *report)
{
	size_t i = 0, j = 0;

	memset(report, 0, sizeof(*report));
	while (i < source->count || j < target->count)
	{
		const InventoryItem *s = i < source->count ? &source->items[i] : NULL;
		const InventoryItem *t = j < target->count ? &target->items[j] : NULL;
		int c = s == NULL ? 1 : t == NULL ? -1 : item_key_cmp(s, t);

		if (c < 0)
		{
			account_source_item(report, s);
			add_diff(report, DIFF_MISSING, s, NULL);
			i++;
		}
		else if (c > 0)
		{
			add_diff(report, DIFF_EXTRA, NULL, t);
			j++;
		}
		else
		{
			account_source_item(report, s);
			if (strcmp(s->value, t->value) != 0)
				add_diff(report, DIFF_VALUE, s, t);
			i++;
			j++;
		}
	}
	return true;
}

void
verify_report_free(VerifyReport *report)
{
	free(report->diffs);
	memset(report, 0, sizeof(*report));
}

static const char *
item_label(const InventoryItem *it, char *buf, size_t size)
{
	if (it->schema[0] != '\0')
		str_format(buf, size, "%s %s.%s", it->kind, it->schema, it->name);
	else
		str_format(buf, size, "%s %s", it->kind, it->name);
	return buf;
}

void
verify_report_print(FILE *out, const VerifyReport *report,
					const char *source_label, const char *target_label)
{
	char label[512];

	if (report->diff_count == 0)
	{
		fprintf(out, "verified: %zu items, %zu tables, %lld rows identical\n",
				report->items, report->tables, report->rows);
		return;
	}
	fprintf(out, "%zu difference(s) between %s and %s:\n", report->diff_count,
			source_label, target_label);
	fprintf(out, "  %-50s %20s %20s\n", "item", source_label, target_label);
	for (size_t k = 0; k < report->diff_count; k++)
	{
		const VerifyDiff *d = &report->diffs[k];
		const InventoryItem *it = d->source ? d->source : d->target;

		fprintf(out, "  %-50s %20s %20s\n", item_label(it, label, sizeof(label)),
				d->source ? d->source->value : "(absent)",
				d->target ? d->target->value : "(absent)");
	}
}
