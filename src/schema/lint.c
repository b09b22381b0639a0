/*
 * lint.c — the risk class of a migration, statement by statement, as the
 * migration safety guides class them:
 *
 *   low     new tables, new nullable columns, new indexes, views, functions,
 *           comments, grants, inserts
 *   medium  type changes, NOT NULL on existing columns, renames, dropped
 *           indexes, a CREATE INDEX without CONCURRENTLY on a big table,
 *           a statement PostgreSQL refuses in a transaction, anything not
 *           recognised
 *   high    DROP TABLE / COLUMN / SCHEMA, TRUNCATE, DELETE and UPDATE (data
 *           rewrites), key and constraint changes
 *
 * The statement is read as upper-case words; string literals and comments
 * are skipped, quoted identifiers kept as written.
 */
#include "pgfold/schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64

typedef struct Words
{
	char   w[MAX_WORDS][64];
	size_t n;
} Words;

static void
words_of(const char *s, Words *out)
{
	out->n = 0;
	while (*s && out->n < MAX_WORDS)
	{
		if (s[0] == '-' && s[1] == '-')
			while (*s && *s != '\n')
				s++;
		else if (s[0] == '/' && s[1] == '*')
		{
			const char *e = strstr(s + 2, "*/");

			s = e ? e + 2 : s + strlen(s);
		}
		else if (*s == '\'')
		{
			for (s++; *s && !(*s == '\'' && s[1] != '\''); s += (*s == '\'' ? 2 : 1))
				;
			if (*s)
				s++;
		}
		else if (isalnum((unsigned char) *s) || *s == '_' || *s == '"')
		{
			size_t n = 0;

			while (*s && (isalnum((unsigned char) *s) || *s == '_' || *s == '.' || *s == '$'
						  || *s == '"'))
			{
				if (*s == '"')
				{
					for (s++; *s && *s != '"'; s++)
						if (n < 63)
							out->w[out->n][n++] = *s;
					if (*s)
						s++;
					continue;
				}
				if (n < 63)
					out->w[out->n][n++] = (char) toupper((unsigned char) *s);
				s++;
			}
			out->w[out->n][n] = '\0';
			out->n++;
		}
		else
			s++;
	}
}

static bool
is(const Words *w, size_t i, const char *word)
{
	return i < w->n && strcmp(w->w[i], word) == 0;
}

/* Does word appear in w from index i on? Its index into *at. */
static bool
has(const Words *w, size_t from, const char *word, size_t *at)
{
	for (size_t i = from; i < w->n; i++)
		if (strcmp(w->w[i], word) == 0)
		{
			if (at)
				*at = i;
			return true;
		}
	return false;
}

const char *
schema_risk_name(SchemaRisk r)
{
	return r == SCHEMA_RISK_HIGH ? "high" : r == SCHEMA_RISK_MEDIUM ? "medium" : "low";
}

bool
schema_stmt_needs_no_tx(const char *stmt)
{
	Words w;

	words_of(stmt, &w);
	return ((is(&w, 0, "CREATE") || is(&w, 0, "DROP") || is(&w, 0, "REINDEX"))
			&& has(&w, 1, "CONCURRENTLY", NULL))
		|| is(&w, 0, "VACUUM") || (is(&w, 0, "ALTER") && is(&w, 1, "SYSTEM"))
		|| ((is(&w, 0, "CREATE") || is(&w, 0, "DROP"))
			&& (is(&w, 1, "DATABASE") || is(&w, 1, "TABLESPACE")));
}

/* The table a CREATE INDEX is on, lower-cased, without its schema. */
static void
index_table(const Words *w, char *out, size_t size)
{
	size_t at;
	const char *name, *dot;

	out[0] = '\0';
	if (!has(w, 1, "ON", &at))
		return;
	at += is(w, at + 1, "ONLY") ? 2 : 1;
	if (at >= w->n)
		return;
	name = w->w[at];
	dot = strrchr(name, '.');
	str_copy(out, size, dot ? dot + 1 : name);
	for (char *p = out; *p; p++)
		*p = (char) tolower((unsigned char) *p);
}

static SchemaRisk
set(char *why, size_t size, SchemaRisk r, const char *text)
{
	str_copy(why, size, text);
	return r;
}

static SchemaRisk
alter_table(const Words *w, char *why, size_t ws)
{
	size_t at;

	if (has(w, 2, "DROP", &at) && (is(w, at + 1, "COLUMN") || (!is(w, at + 1, "CONSTRAINT")
																&& !is(w, at + 1, "DEFAULT")
																&& !is(w, at + 1, "NOT"))))
		return set(why, ws, SCHEMA_RISK_HIGH, "DROP COLUMN: the data goes with it");
	if (has(w, 2, "DROP", &at) && is(w, at + 1, "CONSTRAINT"))
		return set(why, ws, SCHEMA_RISK_HIGH, "drops a constraint or key");
	if (has(w, 2, "PRIMARY", NULL) || has(w, 2, "FOREIGN", NULL)
		|| (has(w, 2, "ADD", &at) && (is(w, at + 1, "CONSTRAINT") || is(w, at + 1, "UNIQUE"))))
		return set(why, ws, SCHEMA_RISK_HIGH, "key or constraint change: validates every row "
				   "under a lock");
	if (has(w, 2, "TYPE", NULL) && has(w, 2, "ALTER", NULL))
		return set(why, ws, SCHEMA_RISK_MEDIUM, "column type change: may rewrite the table");
	if (has(w, 2, "SET", &at) && is(w, at + 1, "NOT") && is(w, at + 2, "NULL"))
		return set(why, ws, SCHEMA_RISK_MEDIUM, "SET NOT NULL on an existing column: scans "
				   "the table under a lock, fails on NULLs");
	if (has(w, 2, "RENAME", NULL))
		return set(why, ws, SCHEMA_RISK_MEDIUM, "rename: the apps' queries break until they "
				   "follow");
	if (has(w, 2, "ADD", &at))
	{
		size_t nn;

		if (has(w, at, "NOT", &nn) && is(w, nn + 1, "NULL") && !has(w, at, "DEFAULT", NULL))
			return set(why, ws, SCHEMA_RISK_MEDIUM, "new NOT NULL column without a default: "
					   "fails on a table with rows");
		return set(why, ws, SCHEMA_RISK_LOW, "new column");
	}
	if (has(w, 2, "SET", &at) && is(w, at + 1, "DEFAULT"))
		return set(why, ws, SCHEMA_RISK_LOW, "new default");
	return set(why, ws, SCHEMA_RISK_MEDIUM, "ALTER TABLE not classified");
}

SchemaRisk
schema_lint_stmt(const char *stmt, const char *const *big, char *why, size_t ws)
{
	Words w;

	words_of(stmt, &w);
	if (w.n == 0)
		return set(why, ws, SCHEMA_RISK_LOW, "empty");
	if (schema_stmt_needs_no_tx(stmt) && !is(&w, 1, "INDEX") && !is(&w, 1, "UNIQUE"))
		return set(why, ws, SCHEMA_RISK_MEDIUM, "cannot run inside a transaction");
	if (is(&w, 0, "DROP") && (is(&w, 1, "TABLE") || is(&w, 1, "SCHEMA")
							  || is(&w, 1, "DATABASE")))
		return set(why, ws, SCHEMA_RISK_HIGH, "DROP TABLE/SCHEMA: the data goes with it");
	if (is(&w, 0, "TRUNCATE") || is(&w, 0, "DELETE") || is(&w, 0, "UPDATE"))
		return set(why, ws, SCHEMA_RISK_HIGH, "data rewrite (UPDATE/DELETE/TRUNCATE)");
	if (is(&w, 0, "ALTER") && is(&w, 1, "TABLE"))
		return alter_table(&w, why, ws);
	if (is(&w, 0, "CREATE") && (is(&w, 1, "INDEX") || (is(&w, 1, "UNIQUE")
													   && is(&w, 2, "INDEX"))))
	{
		char table[64];

		if (has(&w, 1, "CONCURRENTLY", NULL))
			return set(why, ws, SCHEMA_RISK_LOW,
					   "new index, CONCURRENTLY (needs -- pgfold:no-transaction)");
		index_table(&w, table, sizeof(table));
		for (size_t i = 0; big != NULL && big[i] != NULL && table[0]; i++)
			if (strcmp(big[i], table) == 0)
			{
				if (!str_format(why, ws, "CREATE INDEX without CONCURRENTLY on big table %s: "
								"blocks its writes while it builds", table))
					why[0] = '\0';
				return SCHEMA_RISK_MEDIUM;
			}
		return set(why, ws, SCHEMA_RISK_LOW, "new index");
	}
	if (is(&w, 0, "DROP") && is(&w, 1, "INDEX"))
		return set(why, ws, SCHEMA_RISK_MEDIUM, "dropped index: queries may slow down");
	if (is(&w, 0, "ALTER") && (is(&w, 1, "TYPE") || is(&w, 1, "DOMAIN")) && has(&w, 2, "RENAME",
																				   NULL))
		return set(why, ws, SCHEMA_RISK_MEDIUM, "rename");
	if (is(&w, 0, "DROP"))
		return set(why, ws, SCHEMA_RISK_MEDIUM, "drops an object");
	if (is(&w, 0, "CREATE") || is(&w, 0, "COMMENT") || is(&w, 0, "GRANT")
		|| is(&w, 0, "INSERT") || is(&w, 0, "SELECT") || is(&w, 0, "SET"))
		return set(why, ws, SCHEMA_RISK_LOW, "additive");
	if (is(&w, 0, "ALTER") && (is(&w, 1, "SEQUENCE") || is(&w, 1, "VIEW") || is(&w, 1, "TYPE")
							   || is(&w, 1, "FUNCTION")))
		return set(why, ws, SCHEMA_RISK_LOW, "alters a sequence, view, type or function");
	return set(why, ws, SCHEMA_RISK_MEDIUM, "not classified");
}

void
schema_lint(const char *sql, const SchemaStmts *stmts, const char *const *big, SchemaLint *out)
{
	memset(out, 0, sizeof(*out));
	out->no_transaction = schema_no_transaction(sql);
	for (size_t i = 0; i < stmts->count; i++)
	{
		SchemaFinding f = { .line = stmts->items[i].line };

		f.risk = schema_lint_stmt(stmts->items[i].text, big, f.why, sizeof(f.why));
		if (!out->no_transaction && schema_stmt_needs_no_tx(stmts->items[i].text))
		{
			f.risk = f.risk > SCHEMA_RISK_MEDIUM ? f.risk : SCHEMA_RISK_MEDIUM;
			str_copy(f.why, sizeof(f.why), "cannot run inside a transaction: add "
					 "`-- pgfold:no-transaction` to the file");
		}
		if (f.risk > out->risk)
			out->risk = f.risk;
		out->items = xrealloc(out->items, out->count + 1, sizeof(SchemaFinding));
		out->items[out->count++] = f;
	}
}

void
schema_lint_free(SchemaLint *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}
