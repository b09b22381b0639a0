/*
 * refs_summary.c — the end of a migration: what outside pgfold's rewrite
 * still names the old container or the old database (refs.h), in one line
 * per kind, and the command that lists them.
 */
#include "run_internal.h"

#include "pgfold/refs.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

void
migrate_refs_summary(App *app, const char *old_host, const char *old_db, const char *new_db)
{
	const char *names[2];
	size_t n = 0;
	char pw_dir[PATH_MAX + 32];
	RefsResult res;

	if (old_host != NULL && old_host[0] != '\0')
		names[n++] = old_host;
	/* the same name on the shared instance is no stale reference */
	if (old_db != NULL && old_db[0] != '\0' && strcmp(old_db, new_db) != 0)
		names[n++] = old_db;
	if (n == 0)
		return;
	str_format(pw_dir, sizeof(pw_dir), "%s/etc/.db_passwords", app->cfg.root);

	const char *skip[] = { app->cfg.backups_dir, app->cfg.overrides_dir, pw_dir, NULL };
	RefsOptions o = { names, n, app->cfg.root, skip, NULL, true };

	if (!refs_find(&o, &res))
		return;
	if (res.count == 0)
		printf("  refs      nothing else names %s%s%s\n", names[0], n > 1 ? " or " : "",
			   n > 1 ? names[1] : "");
	else
	{
		size_t per[REF_KIND_COUNT] = { 0 };

		for (size_t i = 0; i < res.count; i++)
			per[res.hits[i].kind]++;
		printf("  refs      %zu line%s still name%s %s%s%s (", res.count,
			   res.count == 1 ? "" : "s", res.count == 1 ? "s" : "", names[0],
			   n > 1 ? " or " : "", n > 1 ? names[1] : "");
		for (int k = 0, first = 1; k < REF_KIND_COUNT; k++)
			if (per[k] > 0)
			{
				printf("%s%s %zu", first ? "" : ", ", refs_kind_name((RefKind) k), per[k]);
				first = 0;
			}
		printf("): `pgfold refs %s%s%s` lists them\n", names[0], n > 1 ? " " : "",
			   n > 1 ? names[1] : "");
	}
	refs_free(&res);
}
