/*
 * validate.c — `pgfold schema validate`: what can be said of the files
 * before anything runs. See schema.h.
 */
#include "pgfold/schema.h"

#include "pgfold/log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* BEGIN, COMMIT, ROLLBACK, END, START TRANSACTION: the file's own. */
static bool
tx_control(const char *stmt)
{
	char w[16];
	size_t n = 0;

	while (n < sizeof(w) - 1 && isalpha((unsigned char) stmt[n]))
	{
		w[n] = (char) toupper((unsigned char) stmt[n]);
		n++;
	}
	w[n] = '\0';
	return strcmp(w, "BEGIN") == 0 || strcmp(w, "COMMIT") == 0 || strcmp(w, "ROLLBACK") == 0
		|| strcmp(w, "END") == 0 || (strcmp(w, "START") == 0 && strcasestr(stmt, "TRANSACTION"));
}


static bool
down_has_statements(const SchemaDir *d, const SchemaFile *f)
{
	SchemaLint l;
	SchemaStmts s = { 0 };
	bool some;

	if (!f->has[SCHEMA_DOWN] || !schema_lint_file(d, f, SCHEMA_DOWN, NULL, &l, &s))
		return false;
	some = s.count > 0;
	schema_lint_free(&l);
	schema_stmts_free(&s);
	return some;
}

static void
validate_file(const SchemaDir *d, const SchemaFile *f, json_t *problems)
{
	SchemaLint l;
	SchemaStmts s = { 0 };
	char base[SCHEMA_VERSION_MAX + SCHEMA_NAME_MAX + 16];

	schema_file_name(f, SCHEMA_UP, base, sizeof(base));
	if (!schema_lint_file(d, f, SCHEMA_UP, NULL, &l, &s))
	{
		schema_problem(problems, "%s does not split into statements (see above)", base);
		return;
	}
	if (s.count == 0)
		schema_problem(problems, "%s/%s has no statement", d->path, base);
	for (size_t i = 0; i < s.count; i++)
	{
		if (!l.no_transaction && tx_control(s.items[i].text))
			schema_problem(problems, "%s/%s:%zu controls the transaction itself; remove it: "
						"pgfold runs each file in its own transaction", d->path, base,
						s.items[i].line);
		else if (!l.no_transaction && schema_stmt_needs_no_tx(s.items[i].text))
			schema_problem(problems, "%s/%s:%zu cannot run inside a transaction; add `%s` to the "
						"file (or move the statement to a file of its own)", d->path, base,
						s.items[i].line, SCHEMA_NO_TX_DIRECTIVE);
	}
	if (l.risk >= SCHEMA_RISK_MEDIUM && !down_has_statements(d, f))
		schema_problem(problems, "%s/%s is %s risk and has no %s_%s.down.sql with a statement; "
					"write one (or accept that reverting it means restoring a backup)", d->path,
					base, schema_risk_name(l.risk), f->version, f->name);
	schema_lint_free(&l);
	schema_stmts_free(&s);
}

void
schema_validate_files(const SchemaDir *d, json_t *problems)
{
	for (size_t i = 0; i < d->count; i++)
		validate_file(d, &d->files[i], problems);
}

void
schema_validate_order(const SchemaDir *d, const SchemaState *st, json_t *problems)
{
	const char *current = schema_state_current(st);

	for (size_t i = 0; i < d->count && current[0]; i++)
		if (schema_state_applied(st, d->files[i].version) == NULL
			&& schema_version_cmp(d->files[i].version, current) < 0)
			schema_problem(problems, "%s/%s_%s.up.sql (version %s) is pending below the current "
						"version %s: give it a version after %s", d->path, d->files[i].version,
						d->files[i].name, d->files[i].version, current, current);
}
