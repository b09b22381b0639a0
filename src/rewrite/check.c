/*
 * check.c — re-read what the rewriter produced with libyaml, independently
 * of the edit logic: it must parse, the db service must be gone, nothing may
 * still depend on it (merge keys included), and every connection variable
 * must hold exactly the value pgfold meant to write.
 */
#include "rw_internal.h"

#include "pgfold/log.h"

#include <string.h>

#include <yaml.h>

bool
rw_yaml_load(const char *path, const char *bytes, size_t len, yaml_document_t *doc)
{
	yaml_parser_t parser;
	bool ok;

	if (len > RW_MAX_FILE)
	{
		log_error("%s: %zu bytes is too large for a service file", path, len);
		return false;
	}
	if (!yaml_parser_initialize(&parser))
	{
		log_error("%s: cannot initialise the YAML parser", path);
		return false;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *) bytes, len);
	ok = yaml_parser_load(&parser, doc) != 0;
	if (!ok)
		log_error("%s:%zu:%zu: generated YAML does not parse: %s%s%s", path,
				  parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				  parser.problem ? parser.problem : "error",
				  parser.context ? " " : "", parser.context ? parser.context : "");
	else if (yaml_document_get_root_node(doc) == NULL)
	{
		log_error("%s: generated YAML is empty", path);
		yaml_document_delete(doc);
		ok = false;
	}
	yaml_parser_delete(&parser);
	return ok;
}

static bool
scalar_is(yaml_node_t *n, const char *s)
{
	return n != NULL && n->type == YAML_SCALAR_NODE &&
		   n->data.scalar.length == strlen(s) &&
		   memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

yaml_node_t *
rw_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_t *found = NULL;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
		 p < map->data.mapping.pairs.top; p++)
	{
		if (scalar_is(yaml_document_get_node(doc, p->key), key))
			found = yaml_document_get_node(doc, p->value);   /* last wins */
	}
	return found;
}

/* Does a depends_on node (sequence of names or mapping by name) name key? */
static bool
depends_names(yaml_document_t *doc, yaml_node_t *dep, const char *key)
{
	if (dep == NULL)
		return false;
	if (dep->type == YAML_SEQUENCE_NODE)
	{
		for (yaml_node_item_t *i = dep->data.sequence.items.start;
			 i < dep->data.sequence.items.top; i++)
			if (scalar_is(yaml_document_get_node(doc, *i), key))
				return true;
		return false;
	}
	if (dep->type == YAML_MAPPING_NODE)
		return rw_yaml_get(doc, dep, key) != NULL;
	return false;
}

/* depends_on of a service mapping, also through `<<` merge keys. */
static bool
service_depends_on(yaml_document_t *doc, yaml_node_t *svc, const char *key, int depth)
{
	if (svc == NULL || svc->type != YAML_MAPPING_NODE || depth > 8)
		return false;
	if (depends_names(doc, rw_yaml_get(doc, svc, "depends_on"), key))
		return true;

	yaml_node_t *merge = rw_yaml_get(doc, svc, "<<");

	if (merge == NULL)
		return false;
	if (merge->type == YAML_MAPPING_NODE)
		return service_depends_on(doc, merge, key, depth + 1);
	if (merge->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *i = merge->data.sequence.items.start;
			 i < merge->data.sequence.items.top; i++)
			if (service_depends_on(doc, yaml_document_get_node(doc, *i), key, depth + 1))
				return true;
	return false;
}

/* The value of env var name in a service's environment node; "" for a
 * list item without '='. Sets *count to how many items define it. */
static const yaml_node_t *
env_value(yaml_document_t *doc, yaml_node_t *env, const char *name, size_t *count,
		  size_t *skip)
{
	const yaml_node_t *found = NULL;
	size_t n = strlen(name);

	*count = 0;
	*skip = 0;
	if (env == NULL)
		return NULL;
	if (env->type == YAML_MAPPING_NODE)
	{
		for (yaml_node_pair_t *p = env->data.mapping.pairs.start;
			 p < env->data.mapping.pairs.top; p++)
			if (scalar_is(yaml_document_get_node(doc, p->key), name))
			{
				found = yaml_document_get_node(doc, p->value);
				(*count)++;
			}
		return found;
	}
	if (env->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = env->data.sequence.items.start;
		 i < env->data.sequence.items.top; i++)
	{
		yaml_node_t *item = yaml_document_get_node(doc, *i);

		if (item == NULL || item->type != YAML_SCALAR_NODE ||
			item->data.scalar.length < n ||
			memcmp(item->data.scalar.value, name, n) != 0 ||
			(item->data.scalar.length > n && item->data.scalar.value[n] != '='))
			continue;
		found = item;
		*skip = item->data.scalar.length > n ? n + 1 : n;
		(*count)++;
	}
	return found;
}

static bool
check_env(const char *path, yaml_document_t *doc, yaml_node_t *services,
		  const RwEnvCheck *c)
{
	yaml_node_t *svc = rw_yaml_get(doc, services, c->app);
	size_t count = 0, skip = 0;
	const yaml_node_t *v = env_value(doc, rw_yaml_get(doc, svc, "environment"),
									 c->name, &count, &skip);

	if (v == NULL || v->type != YAML_SCALAR_NODE || count != 1)
	{
		log_error("%s: after the rewrite, service %s has %zu definitions of %s "
				  "(expected exactly one); file left unchanged", path, c->app, count, c->name);
		return false;
	}

	size_t vlen = v->data.scalar.length - skip;

	if (vlen != strlen(c->value) ||
		memcmp(v->data.scalar.value + skip, c->value, vlen) != 0)
	{
		/* never print the values: they may hold a password */
		log_error("%s: after the rewrite, %s of service %s does not read back as the "
				  "value pgfold wrote (quoting or YAML structure changed it); file left "
				  "unchanged", path, c->name, c->app);
		return false;
	}
	return true;
}

bool
rw_check_output(const char *path, const char *bytes, size_t len, const char *db_key,
				const RwEnvCheck *checks, size_t count)
{
	yaml_document_t doc;

	if (!rw_yaml_load(path, bytes, len, &doc))
		return false;

	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *services = rw_yaml_get(&doc, root, "services");
	bool ok = true;

	/* `services: {}` is what a file whose only service was the db keeps
	 * (service_file.c); null or absent is an error */
	if (services == NULL || services->type != YAML_MAPPING_NODE ||
		(services->data.mapping.pairs.top == services->data.mapping.pairs.start &&
		 services->data.mapping.style != YAML_FLOW_MAPPING_STYLE))
	{
		log_error("%s: after the rewrite there is no services mapping left", path);
		ok = false;
	}
	else if (db_key != NULL && rw_yaml_get(&doc, services, db_key) != NULL)
	{
		log_error("%s: after the rewrite, service %s is still defined", path, db_key);
		ok = false;
	}
	for (yaml_node_pair_t *p = ok ? services->data.mapping.pairs.start : NULL;
		 ok && db_key != NULL && p < services->data.mapping.pairs.top; p++)
	{
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);

		if (service_depends_on(&doc, yaml_document_get_node(&doc, p->value), db_key, 0))
		{
			log_error("%s: after the rewrite, service %.*s still depends on %s (a YAML "
					  "merge key or anchor pgfold does not edit?); remove it by hand",
					  path, k && k->type == YAML_SCALAR_NODE ? (int) k->data.scalar.length : 1,
					  k && k->type == YAML_SCALAR_NODE ? (const char *) k->data.scalar.value : "?",
					  db_key);
			ok = false;
		}
	}
	for (size_t i = 0; ok && i < count; i++)
		ok = check_env(path, &doc, services, &checks[i]);
	yaml_document_delete(&doc);
	return ok;
}

static bool
nodes_equal(yaml_document_t *da, yaml_node_t *a, yaml_document_t *db, yaml_node_t *b, int depth)
{
	if (a == NULL || b == NULL || a->type != b->type || depth > 64)
		return false;
	switch (a->type)
	{
		case YAML_SCALAR_NODE:
			/* plain vs quoted decides the type compose sees (5432 vs "5432") */
			return a->data.scalar.length == b->data.scalar.length &&
				   memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0 &&
				   (a->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) ==
				   (b->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
		case YAML_SEQUENCE_NODE:
		{
			yaml_node_item_t *x = a->data.sequence.items.start;
			yaml_node_item_t *y = b->data.sequence.items.start;

			if (a->data.sequence.items.top - x != b->data.sequence.items.top - y)
				return false;
			for (; x < a->data.sequence.items.top; x++, y++)
				if (!nodes_equal(da, yaml_document_get_node(da, *x),
								 db, yaml_document_get_node(db, *y), depth + 1))
					return false;
			return true;
		}
		case YAML_MAPPING_NODE:
		{
			yaml_node_pair_t *x = a->data.mapping.pairs.start;
			yaml_node_pair_t *y = b->data.mapping.pairs.start;

			if (a->data.mapping.pairs.top - x != b->data.mapping.pairs.top - y)
				return false;
			for (; x < a->data.mapping.pairs.top; x++, y++)
				if (!nodes_equal(da, yaml_document_get_node(da, x->key),
								 db, yaml_document_get_node(db, y->key), depth + 1) ||
					!nodes_equal(da, yaml_document_get_node(da, x->value),
								 db, yaml_document_get_node(db, y->value), depth + 1))
					return false;
			return true;
		}
		case YAML_NO_NODE:
		default:
			return false;
	}
}

/* The entry for key in a depends_on node: the mapping value, or the
 * sequence item itself. */
static yaml_node_t *
depends_entry(yaml_document_t *doc, yaml_node_t *dep, const char *key)
{
	if (dep != NULL && dep->type == YAML_MAPPING_NODE)
		return rw_yaml_get(doc, dep, key);
	if (dep != NULL && dep->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *i = dep->data.sequence.items.start;
			 i < dep->data.sequence.items.top; i++)
			if (scalar_is(yaml_document_get_node(doc, *i), key))
				return yaml_document_get_node(doc, *i);
	return NULL;
}

/* A variable the original does not set but the migrated file added: the
 * override must set it to the app's default (value: the decoded scalar
 * after "NAME="). */
static bool
added_restored(const RwAdded *added, size_t n, const char *app, const char *name,
			   const yaml_node_t *node, size_t skip)
{
	for (size_t i = 0; node != NULL && node->type == YAML_SCALAR_NODE && i < n; i++)
	{
		StrBuf want = STRBUF_INIT;
		bool same;

		if (strcmp(added[i].app, app) != 0 || strcmp(added[i].key, name) != 0)
			continue;
		same = rw_compose_escape(added[i].restore, &want) &&
			node->data.scalar.length == skip + want.len &&
			memcmp(node->data.scalar.value + skip, sb_str(&want), want.len) == 0;
		sb_free(&want);
		return same;
	}
	return false;
}

static bool
check_override_app(const char *path, yaml_document_t *od, yaml_node_t *osvcs,
				   yaml_document_t *gd, yaml_node_t *gsvcs, const ComposeService *app,
				   const char *dbkey, const RwAdded *added, size_t added_count)
{
	yaml_node_t *o = rw_yaml_get(od, osvcs, app->key);
	yaml_node_t *g = rw_yaml_get(gd, gsvcs, app->key);

	if (o == NULL)
		return true;       /* nothing restored for it */

	yaml_node_t *oenv = rw_yaml_get(od, o, "environment");
	yaml_node_t *genv = rw_yaml_get(gd, g, "environment");

	if (oenv != NULL && oenv->type == YAML_SEQUENCE_NODE)
	{
		for (yaml_node_item_t *i = oenv->data.sequence.items.start;
			 i < oenv->data.sequence.items.top; i++)
		{
			yaml_node_t *n = yaml_document_get_node(od, *i);
			char name[256];
			size_t cnt, skip, cnt2, skip2;

			if (n == NULL || n->type != YAML_SCALAR_NODE)
				return false;

			size_t nl = strcspn((const char *) n->data.scalar.value, "=");

			if (nl >= sizeof(name))
				return false;
			memcpy(name, n->data.scalar.value, nl);
			name[nl] = '\0';

			const yaml_node_t *ov = env_value(od, oenv, name, &cnt, &skip);
			const yaml_node_t *gv = env_value(gd, genv, name, &cnt2, &skip2);

			if (gv == NULL && cnt == 1 &&
				added_restored(added, added_count, app->key, name, ov, skip))
				continue;
			if (gv == NULL || cnt != 1 || !nodes_equal(od, (yaml_node_t *) ov, gd,
													   (yaml_node_t *) gv, 0))
			{
				log_error("%s: %s of service %s in the rollback override differs from the "
						  "original", path, name, app->key);
				return false;
			}
		}
	}
	else if (oenv != NULL && oenv->type == YAML_MAPPING_NODE)
	{
		for (yaml_node_pair_t *p = oenv->data.mapping.pairs.start;
			 p < oenv->data.mapping.pairs.top; p++)
		{
			yaml_node_t *k = yaml_document_get_node(od, p->key);
			char name[256];

			if (k == NULL || k->type != YAML_SCALAR_NODE || k->data.scalar.length >= sizeof(name))
				return false;
			memcpy(name, k->data.scalar.value, k->data.scalar.length);
			name[k->data.scalar.length] = '\0';
			if (rw_yaml_get(gd, genv, name) == NULL &&
				added_restored(added, added_count, app->key, name,
							   yaml_document_get_node(od, p->value), 0))
				continue;
			if (!nodes_equal(od, yaml_document_get_node(od, p->value), gd,
							 rw_yaml_get(gd, genv, name), 0))
			{
				log_error("%s: %s of service %s in the rollback override differs from the "
						  "original", path, name, app->key);
				return false;
			}
		}
	}

	yaml_node_t *odep = rw_yaml_get(od, o, "depends_on");

	if (odep != NULL)
	{
		yaml_node_t *gdep = rw_yaml_get(gd, g, "depends_on");
		yaml_node_t *oe = depends_entry(od, odep, dbkey);
		yaml_node_t *ge = depends_entry(gd, gdep, dbkey);

		if (oe == NULL || ge == NULL ||
			(odep->type == YAML_MAPPING_NODE && !nodes_equal(od, oe, gd, ge, 0)))
		{
			log_error("%s: depends_on of service %s in the rollback override differs from "
					  "the original", path, app->key);
			return false;
		}
	}
	return true;
}

bool
rw_check_override(const StackService *svc, const char *path, const char *bytes, size_t len,
				  const RwAdded *added, size_t added_count)
{
	const ComposeFile *f = &svc->file;
	const char *dbkey = f->services[svc->db_service].key;
	yaml_document_t od, gd;

	if (!rw_yaml_load(path, bytes, len, &od))
		return false;
	if (!rw_yaml_load(svc->path ? svc->path : f->path, f->bytes, f->len, &gd))
	{
		yaml_document_delete(&od);
		return false;
	}

	yaml_node_t *osvcs = rw_yaml_get(&od, yaml_document_get_root_node(&od), "services");
	yaml_node_t *gsvcs = rw_yaml_get(&gd, yaml_document_get_root_node(&gd), "services");
	bool ok = osvcs != NULL && osvcs->type == YAML_MAPPING_NODE &&
		osvcs->data.mapping.pairs.top > osvcs->data.mapping.pairs.start;

	if (!ok)
		log_error("%s: the rollback override restores no service; refusing to write it", path);
	else if (yaml_document_get_root_node(&od)->data.mapping.pairs.top -
			 yaml_document_get_root_node(&od)->data.mapping.pairs.start != 1)
	{
		/* compose v2's `config` prints every other top-level key (x- too):
		 * file + override would no longer give the original's config */
		log_error("internal error: %s has top-level keys besides services", path);
		ok = false;
	}
	else if (!nodes_equal(&od, rw_yaml_get(&od, osvcs, dbkey), &gd, rw_yaml_get(&gd, gsvcs, dbkey), 0))
	{
		log_error("%s: service %s in the rollback override differs from the original",
				  path, dbkey);
		ok = false;
	}
	for (size_t i = 0; ok && i < f->service_count; i++)
		if (i != (size_t) svc->db_service)
			ok = check_override_app(path, &od, osvcs, &gd, gsvcs, &f->services[i], dbkey,
									added, added_count);
	yaml_document_delete(&od);
	yaml_document_delete(&gd);
	return ok;
}
