/*
 * refs.c — `pgfold refs NAME... [PATH...] [--json]`: what still points at
 * a database, host or container name (refs.h). Reads only.
 */
#include "pgfold/cli.h"
#include "pgfold/config.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/options.h"
#include "pgfold/refs.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_refs_usage[] =
	"usage: pgfold refs NAME... [PATH...] [--json]\n"
	"\n"
	"List the lines that still name NAME (a database, host or container name,\n"
	"e.g. nova_memory, docmost-db) as a whole word, grouped by where they are,\n"
	"with how to update each kind:\n"
	"  crontab  the user's crontab (`crontab -l`)\n"
	"  cron     /etc/crontab, /etc/cron.d, /etc/cron.{hourly,daily,weekly,monthly}\n"
	"  systemd  unit files (system and user directories), Environment= lines too\n"
	"  stack    the stack root's .env and compose files\n"
	"  files    every text file under the PATHs (default: the stack root)\n"
	"An argument with a '/' in it (./scripts, /opt/bin) is a PATH. Binary\n"
	"files, files over 1 MiB, .git, backups/ and overrides/ are skipped;\n"
	"symlinks are not followed. A line that holds a secret is not shown.\n"
	"Never edits anything. PGFOLD_REFS_SYSROOT moves /etc and /usr (tests).\n"
	"\n"
	"With --json: {names, references: [{kind, file, line, text, name}],\n"
	"scanned, skipped, unreadable, truncated}.\n"
	"Exit: 0 nothing found, 1 references found, 2 usage (e.g. a PATH that\n"
	"does not exist).\n";

static void
print_text(const RefsResult *r, const char *const *names, size_t nnames)
{
	for (int k = 0; k < REF_KIND_COUNT; k++)
	{
		bool head = false;

		for (size_t i = 0; i < r->count; i++)
		{
			if ((int) r->hits[i].kind != k)
				continue;
			if (!head)
				printf("%s (%s):\n", refs_kind_name((RefKind) k), refs_kind_hint((RefKind) k));
			head = true;
			printf("  %s:%zu: %s\n", r->hits[i].file, r->hits[i].line, r->hits[i].text);
		}
	}
	printf("%zu reference%s to", r->count, r->count == 1 ? "" : "s");
	for (size_t i = 0; i < nnames; i++)
		printf("%s %s", i ? "," : "", names[i]);
	printf(" (%zu files searched%s)\n", r->scanned, r->truncated ? "; stopped at the limit" : "");
}

static json_t *
to_json(const RefsResult *r, const char *const *names, size_t nnames)
{
	json_t *n = json_array(), *refs = json_array();

	for (size_t i = 0; i < nnames; i++)
		json_array_append_new(n, json_string(names[i]));
	for (size_t i = 0; i < r->count; i++)
		json_array_append_new(refs, json_pack("{s:s, s:s, s:I, s:s, s:s}",
											  "kind", refs_kind_name(r->hits[i].kind),
											  "file", r->hits[i].file,
											  "line", (json_int_t) r->hits[i].line,
											  "text", r->hits[i].text, "name", r->hits[i].name));
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:b}", "names", n, "references", refs,
					 "scanned", (json_int_t) r->scanned, "skipped", (json_int_t) r->skipped,
					 "unreadable", (json_int_t) r->unreadable, "truncated", r->truncated);
}

int
cli_refs_main(const GlobalOptions *g, int argc, char **argv)
{
	OptParser p;
	Config cfg;
	int id, rc;
	const char **names, **paths;
	size_t nn = 0, np = 0;
	RefsResult r;

	opt_init(&p, "refs", NULL, OPT_CMD_REFS, 0, argc, argv);
	while ((id = opt_next(&p)) > OPT_END)
		;
	if (id == OPT_ERROR)
		return EXIT_USAGE;
	names = xrealloc(NULL, (size_t) p.npos + 1, sizeof(char *));
	paths = xrealloc(NULL, (size_t) p.npos + 1, sizeof(char *));
	for (int i = 0; i < p.npos; i++)
	{
		if (strchr(p.pos[i], '/') != NULL || strcmp(p.pos[i], ".") == 0)
			paths[np++] = p.pos[i];
		else if (p.pos[i][0] != '\0')
			names[nn++] = p.pos[i];
	}
	names[nn] = NULL;
	paths[np] = NULL;
	if (nn == 0)
	{
		free(names);
		free(paths);
		return cli_usage_error("refs", "refs takes at least one NAME (a PATH has a '/' in it)");
	}
	if (!config_load(g->root, &cfg))
	{
		free(names);
		free(paths);
		return exit_hint_get();
	}

	char pw_dir[PATH_MAX + 32];

	str_format(pw_dir, sizeof(pw_dir), "%s/etc/.db_passwords", cfg.root);

	const char *skip[] = { cfg.backups_dir, cfg.overrides_dir, pw_dir, NULL };
	RefsOptions o = { names, nn, cfg.root, skip, paths, true };

	if (!refs_find(&o, &r))
		rc = exit_hint_get();
	else
	{
		if (r.unreadable > 0)
			log_warn("refs: %zu file%s or director%s could not be read and %s skipped "
					 "(first: %s); run as their owner to search them", r.unreadable,
					 r.unreadable == 1 ? "" : "s", r.unreadable == 1 ? "y" : "ies",
					 r.unreadable == 1 ? "was" : "were", r.first_unreadable);
		if (g->json)
			cli_print_json(to_json(&r, names, nn));
		else
			print_text(&r, names, nn);
		rc = r.count > 0 ? EXIT_FAIL : EXIT_OK;
		refs_free(&r);
	}
	config_free(&cfg);
	free(names);
	free(paths);
	return rc;
}
