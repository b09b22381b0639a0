/*
 * preflight_out.c — how pre-flight's findings are shown: one line per check
 * for people, one object per service for --json.
 */
#include "pgfold/preflight.h"

#include <stdio.h>

void
preflight_print(FILE *out, const Preflight *pf, bool color)
{
	static const char *const marks[] = { "ok", "--", "!!", "XX" };
	static const char *const colors[] = { "\033[32m", "\033[2m", "\033[33m", "\033[31m" };

	for (size_t i = 0; i < pf->count; i++)
	{
		const Check *c = &pf->checks[i];

		if (color)
			fprintf(out, "  %s%s\033[0m %-18s %s\n", colors[c->level], marks[c->level],
					c->name, c->detail);
		else
			fprintf(out, "  %s %-18s %s\n", marks[c->level], c->name, c->detail);
	}
}

json_t *
preflight_json(const StackService *svc, const Preflight *pf)
{
	json_t *checks = json_array();

	for (size_t i = 0; i < pf->count; i++)
		json_array_append_new(checks, json_pack("{s:s, s:s, s:s}",
												"name", pf->checks[i].name,
												"level", preflight_level_name(pf->checks[i].level),
												"detail", pf->checks[i].detail));

	json_t *o = json_pack("{s:s, s:s, s:o}", "service", svc->name,
						  "state", preflight_state_name(pf->state), "checks", checks);

	json_object_set_new(o, "reason", pf->reason ? json_string(pf->reason) : json_null());
	json_object_set_new(o, "container", pf->db_container ? json_string(pf->db_container->name)
						: svc->db_container ? json_string(svc->db_container) : json_null());
	json_object_set_new(o, "database", pf->names.db[0] ? json_string(pf->names.db)
						: svc->meta_database_name ? json_string(svc->meta_database_name)
						: json_null());
	json_object_set_new(o, "size_bytes", pf->source.known
						? json_integer(pf->source.db_size) : json_null());
	json_object_set_new(o, "source_version", pf->source.known
						? json_integer(pf->source.version_num) : json_null());
	return o;
}
