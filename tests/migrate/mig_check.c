/*
 * mig_check.c — what a migrated (or untouched) stack must look like; see
 * mig.h. YAML is read with libyaml, not with pgfold's compose module.
 */
#include "migrate/mig.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lab.h"

#define FIXTURES "tests/migrate/fixtures"

const char *
mig_svc(const MigStack *s, const MigShape *sh)
{
	static char ring[4][96];
	static unsigned next;
	char *buf = ring[next++ % 4];

	if (s->plain_names)
		return sh->fixture;
	cr_assert(str_format(buf, sizeof(ring[0]), "%s-%s", sh->fixture, s->id));
	return buf;
}

const char *
mig_name(const MigStack *s, const char *pattern)
{
	static char ring[8][160];
	static unsigned next;
	char *buf = ring[next++ % 8];
	const char *hit = strstr(pattern, "%s");

	/* one %s, replaced by hand: the pattern is data, not a format */
	if (strncmp(pattern, "compose:", 8) == 0)
		lab_compose_container(s->id, pattern + 8, buf, sizeof(ring[0]));
	else if (hit == NULL)
		cr_assert(str_copy(buf, sizeof(ring[0]), pattern));
	else
		cr_assert(str_format(buf, sizeof(ring[0]), "%.*s%s%s", (int) (hit - pattern), pattern,
							 s->id, hit + 2));
	return buf;
}

/* ---- YAML ------------------------------------------------------------------ */

typedef struct Yaml
{
	yaml_document_t doc;
	bool            loaded;
} Yaml;

static void
yaml_load(Yaml *y, const StrBuf *bytes, const char *what)
{
	yaml_parser_t p;

	memset(y, 0, sizeof(*y));
	cr_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *) sb_str(bytes), bytes->len);
	y->loaded = yaml_parser_load(&p, &y->doc) != 0;
	yaml_parser_delete(&p);
	cr_assert(y->loaded, "%s is not valid YAML:\n%s", what, sb_str(bytes));
	cr_assert_not_null(yaml_document_get_root_node(&y->doc), "%s is empty", what);
}

static void
yaml_free(Yaml *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = false;
}

static const char *
scalar(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : NULL;
}

static yaml_node_t *
map_get(Yaml *y, yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
	{
		const char *k = scalar(yaml_document_get_node(&y->doc, p->key));

		if (k != NULL && strcmp(k, key) == 0)
			return yaml_document_get_node(&y->doc, p->value);
	}
	return NULL;
}

/* A list of scalars, or a mapping's keys: does it name name? */
static bool
names(Yaml *y, yaml_node_t *n, const char *name)
{
	if (n == NULL)
		return false;
	if (n->type == YAML_SEQUENCE_NODE)
	{
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
		{
			const char *v = scalar(yaml_document_get_node(&y->doc, *i));

			if (v != NULL && strcmp(v, name) == 0)
				return true;
		}
	}
	if (n->type == YAML_MAPPING_NODE)
		return map_get(y, n, name) != NULL;
	return false;
}

/* The environment entry KEY of a service, list or map form (NULL if absent). */
static char *
env_value(Yaml *y, yaml_node_t *service, const char *key)
{
	yaml_node_t *env = map_get(y, service, "environment");
	size_t klen = strlen(key);

	if (env != NULL && env->type == YAML_MAPPING_NODE)
	{
		yaml_node_t *v = map_get(y, env, key);

		return v ? xstrdup(scalar(v) ? scalar(v) : "") : NULL;
	}
	if (env != NULL && env->type == YAML_SEQUENCE_NODE)
	{
		for (yaml_node_item_t *i = env->data.sequence.items.start; i < env->data.sequence.items.top; i++)
		{
			const char *v = scalar(yaml_document_get_node(&y->doc, *i));

			if (v != NULL && strncmp(v, key, klen) == 0 && v[klen] == '=')
				return xstrdup(v + klen + 1);
		}
	}
	return NULL;
}

/* ---- expectations -------------------------------------------------------- */

/* "KEY=VALUE" with %PW% replaced by pw. */
static char *
expand(const char *entry, const char *pw)
{
	StrBuf b = STRBUF_INIT;
	const char *hit;

	while ((hit = strstr(entry, "%PW%")) != NULL)
	{
		sb_append(&b, entry, (size_t) (hit - entry));
		sb_appends(&b, pw);
		entry = hit + 4;
	}
	sb_appends(&b, entry);
	return sb_steal(&b);
}

/* The migrated service file: no db service, nothing depends on it. */
static void
check_service_file(MigStack *s, const MigShape *sh)
{
	char path[PATH_MAX];
	StrBuf bytes = STRBUF_INIT;
	Yaml y;

	mig_path(s, path, sizeof(path), "services/%s.yml", mig_svc(s, sh));
	mig_read(path, &bytes, false);
	yaml_load(&y, &bytes, path);

	yaml_node_t *services = map_get(&y, yaml_document_get_root_node(&y.doc), "services");

	cr_assert(services != NULL && services->type == YAML_MAPPING_NODE, "%s: no services", path);
	cr_assert_null(map_get(&y, services, sh->db_key), "%s still has the db service \"%s\":\n%s",
				   path, sh->db_key, sb_str(&bytes));
	for (yaml_node_pair_t *p = services->data.mapping.pairs.start;
		 p < services->data.mapping.pairs.top; p++)
	{
		yaml_node_t *svc = yaml_document_get_node(&y.doc, p->value);
		const char *key = scalar(yaml_document_get_node(&y.doc, p->key));

		cr_assert_not(names(&y, map_get(&y, svc, "depends_on"), sh->db_key),
					  "%s: service %s still depends on \"%s\":\n%s", path, key, sh->db_key,
					  sb_str(&bytes));
	}
	yaml_free(&y);
	sb_free(&bytes);
}

/* compose config of the new file: it works, and the apps' resolved
 * environment is the expected one. */
static void
check_compose_config(MigStack *s, const MigShape *sh, const char *pw)
{
	StrBuf out = STRBUF_INIT;
	Yaml y;

	cr_assert_eq(mig_compose(s, &out, "-f services/%s.yml config", mig_svc(s, sh)), 0,
				 "compose config of the migrated %s.yml fails", mig_svc(s, sh));
	yaml_load(&y, &out, "compose config output");

	yaml_node_t *services = map_get(&y, yaml_document_get_root_node(&y.doc), "services");

	cr_assert_not_null(services);
	for (size_t e = 0; sh->env_after[e] != NULL; e++)
	{
		char *want = expand(sh->env_after[e], pw);
		char *eq = strchr(want, '=');
		size_t seen = 0;

		*eq = '\0';
		for (yaml_node_pair_t *p = services->data.mapping.pairs.start;
			 p < services->data.mapping.pairs.top; p++)
		{
			yaml_node_t *svc = yaml_document_get_node(&y.doc, p->value);
			char *got = env_value(&y, svc, want);

			if (got == NULL)
				continue;
			seen++;
			cr_expect_str_eq(got, eq + 1, "compose config: %s of %s is \"%s\", expected \"%s\"",
							 want, scalar(yaml_document_get_node(&y.doc, p->key)), got, eq + 1);
			free(got);
		}
		cr_expect_gt(seen, 0, "compose config: no service has %s", want);
		free(want);
	}
	yaml_free(&y);
	sb_free(&out);
}

/* file + rollback override must mean exactly what the saved original meant. */
static void
check_rollback_config(MigStack *s, const MigShape *sh)
{
	char backup[PATH_MAX], pattern[PATH_MAX];
	StrBuf a = STRBUF_INIT, b = STRBUF_INIT;

	const char *svc = mig_svc(s, sh);

	str_format(pattern, sizeof(pattern), "backups/postgres-migrations/%s_*.yml", svc);
	/* several runs (after failures) each saved the same original: the
	 * latest run's copy is the one its override was built from */
	mig_glob_last(s, pattern, backup, sizeof(backup));
	cr_assert_eq(mig_compose(s, &a, "-f services/%s.yml -f overrides/%s-dedicated-postgres.yml "
							 "config", svc, svc), 0,
				 "compose config of file + rollback override fails");
	cr_assert_eq(mig_compose(s, &b, "-f %s config", backup), 0,
				 "compose config of the saved original fails");
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
	{
		char pa[PATH_MAX], pb[PATH_MAX];
		StrBuf d = STRBUF_INIT;

		str_format(pa, sizeof(pa), "%s/config-rollback.yml", s->dir);
		str_format(pb, sizeof(pb), "%s/config-original.yml", s->dir);
		FILE *fa = fopen(pa, "w"), *fb = fopen(pb, "w");

		cr_assert(fa && fb);
		fwrite(a.data, 1, a.len, fa);
		fwrite(b.data, 1, b.len, fb);
		fclose(fa);
		fclose(fb);
		lab_sh_capture(&d, "diff -u %s %s", pb, pa);
		cr_assert_fail("config of services/%s.yml + rollback override differs from the saved "
					   "original's:\n%s", svc, sb_str(&d));
	}
	sb_free(&a);
	sb_free(&b);
}

static void
check_containers(MigStack *s, const MigShape *sh, const char *pw)
{
	for (size_t i = 0; sh->apps[i] != NULL; i++)
	{
		const char *name = mig_name(s, sh->apps[i]);
		char *state = mig_inspect(name, "{{.State.Status}}");
		char *env = mig_inspect(name, "{{range .Config.Env}}{{println .}}{{end}}");
		StrBuf lines = STRBUF_INIT;

		cr_expect_str_eq(state, "running", "app %s is %s", name, state);
		sb_appendc(&lines, '\n');
		sb_appends(&lines, env);
		sb_appendc(&lines, '\n');
		for (size_t e = 0; sh->env_after[e] != NULL; e++)
		{
			char *want = expand(sh->env_after[e], pw);
			StrBuf line = STRBUF_INIT;

			sb_appendf(&line, "\n%s\n", want);
			cr_expect_not_null(strstr(sb_str(&lines), sb_str(&line)),
							   "app %s does not have %s in its environment:\n%s", name, want, env);
			free(want);
			sb_free(&line);
		}
		sb_free(&lines);
		free(state);
		free(env);
	}
	for (size_t i = 0; sh->others[i] != NULL; i++)
	{
		char *state = mig_inspect(mig_name(s, sh->others[i]), "{{.State.Status}}");

		cr_expect_str_eq(state, "running", "%s is %s", mig_name(s, sh->others[i]), state);
		free(state);
	}

	const char *db = mig_name(s, sh->db_container);
	char *state = mig_inspect(db, "{{.State.Status}}");

	cr_expect_str_eq(state, "exited", "the dedicated %s is \"%s\" (stopped, not removed, "
					 "expected)", db, state);
	free(state);
	cr_expect_eq(lab_sh("docker volume inspect %s_%s >/dev/null 2>&1", s->id, sh->db_volume), 0,
				 "the volume %s_%s of the dedicated database is gone", s->id, sh->db_volume);
}

static void
check_data(MigStack *s, const MigShape *sh, const char *fp_before)
{
	char path[PATH_MAX], pwfile[PATH_MAX];
	StrBuf sql = STRBUF_INIT, out = STRBUF_INIT;
	char role_var[128];
	const char *vars[] = { role_var, NULL };

	char *fp = mig_fingerprint(s->shared, "admin", sh->db);

	cr_assert_str_eq(fp, fp_before, "data differs on the shared instance:\n  source %s\n  shared %s",
					 fp_before, fp);
	free(fp);

	str_format(role_var, sizeof(role_var), "role=%s", sh->db);
	str_format(path, sizeof(path), FIXTURES "/ownership.sql");
	mig_read(path, &sql, false);
	cr_assert(mig_sql(&out, s->shared, "admin", sh->db, sb_str(&sql), vars), "ownership query: %s",
			  sb_str(&out));
	cr_assert_str_eq(sb_str(&out), "", "objects of \"%s\" not owned by role \"%s\":\n%s", sh->db,
					 sh->db, sb_str(&out));

	/* and the role itself logs in and may use every table */
	mig_path(s, pwfile, sizeof(pwfile), "etc/.db_passwords/%s.txt", sh->db);
	cr_assert(mig_sql_as(&out, s, sh->db, pwfile, sh->db,
						 "SELECT current_user || ' ' || (count(*) FILTER (WHERE has_table_privilege("
						 "format('%I.%I', schemaname, tablename), 'SELECT,INSERT,UPDATE,DELETE')) "
						 "= count(*))::text || ' ' || count(*) FROM pg_tables WHERE schemaname "
						 "NOT IN ('pg_catalog', 'information_schema')"),
			  "role %s cannot log in to %s: %s", sh->db, sh->db, sb_str(&out));

	char want[160];

	str_format(want, sizeof(want), "%s true ", sh->db);
	cr_assert(str_has_prefix(sb_str(&out), want) && strcmp(sb_str(&out) + strlen(want), "0") != 0,
			  "role %s may not use every table of %s (user, all usable, tables): %s", sh->db,
			  sh->db, sb_str(&out));
	sb_free(&sql);
	sb_free(&out);
}

void
mig_assert_migrated(MigStack *s, const MigShape *sh, const char *fp_before)
{
	char *pw = mig_role_password(s, sh->db);

	check_data(s, sh, fp_before);
	check_service_file(s, sh);
	check_compose_config(s, sh, pw);
	check_rollback_config(s, sh);
	check_containers(s, sh, pw);
	free(pw);
}

void
mig_assert_rerun_noop(MigStack *s, const MigShape *sh)
{
	char svc[PATH_MAX], ovr[PATH_MAX], env[PATH_MAX];
	StrBuf b1 = STRBUF_INIT, b2 = STRBUF_INIT, o1 = STRBUF_INIT, o2 = STRBUF_INIT;
	StrBuf e1 = STRBUF_INIT, e2 = STRBUF_INIT;
	MigRun r;

	const char *name = mig_svc(s, sh);

	mig_path(s, svc, sizeof(svc), "services/%s.yml", name);
	mig_path(s, ovr, sizeof(ovr), "overrides/%s-dedicated-postgres.yml", name);
	mig_path(s, env, sizeof(env), ".env");
	mig_read(svc, &b1, false);
	mig_read(ovr, &o1, false);
	mig_read(env, &e1, false);
	size_t journal_lines = mig_journal_count(s, name, NULL, NULL);

	mig_pgfold(s, &r, NULL, "migrate", name, "--yes", NULL);
	mig_expect_exit(&r, 0, "second migrate");
	cr_assert_not_null(strstr(sb_str(&r.out), "already migrated"),
					   "second migrate does not say `already migrated`:\n%s\n%s",
					   sb_str(&r.out), sb_str(&r.err));
	mig_read(svc, &b2, false);
	mig_read(ovr, &o2, false);
	mig_read(env, &e2, false);
	cr_assert(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0,
			  "second migrate changed %s", svc);
	cr_assert(o1.len == o2.len && memcmp(o1.data, o2.data, o1.len) == 0,
			  "second migrate changed %s", ovr);
	cr_assert(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0,
			  "second migrate changed .env");
	cr_expect_eq(mig_journal_count(s, name, NULL, NULL), journal_lines,
				 "second migrate wrote to the journal");

	char *state = mig_inspect(mig_name(s, sh->db_container), "{{.State.Status}}");

	cr_expect_str_eq(state, "exited", "second migrate changed the dedicated container");
	free(state);
	mig_run_free(&r);
	sb_free(&b1);
	sb_free(&b2);
	sb_free(&o1);
	sb_free(&o2);
	sb_free(&e1);
	sb_free(&e2);
}

char *
mig_shared_databases(const MigStack *s)
{
	return mig_shared_value(s, "postgres",
							"SELECT coalesce(string_agg(datname, ',' ORDER BY datname), '') "
							"FROM pg_database WHERE datname NOT IN "
							"('postgres', 'template0', 'template1', 'admin')");
}

char *
mig_shared_roles(const MigStack *s)
{
	return mig_shared_value(s, "postgres",
							"SELECT coalesce(string_agg(rolname, ',' ORDER BY rolname), '') "
							"FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'admin'");
}

/* ---- nothing changed ----------------------------------------------------- */

static char *
listing(const MigStack *s, const char *rel)
{
	StrBuf out = STRBUF_INIT;

	lab_sh_capture(&out, "cd %s && ls -A %s 2>/dev/null", s->root, rel);
	return sb_steal(&out);
}

void
mig_snapshot(MigStack *s, const char *svc, MigSnapshot *snap)
{
	char path[PATH_MAX];

	memset(snap, 0, sizeof(*snap));
	mig_path(s, path, sizeof(path), "services/%s.yml", svc);
	mig_read(path, &snap->service, false);
	mig_path(s, path, sizeof(path), ".env");
	mig_read(path, &snap->env, false);
	snap->databases = mig_shared_databases(s);
	snap->roles = mig_shared_roles(s);
	snap->overrides = listing(s, "overrides");
	snap->passwords = listing(s, "etc/.db_passwords");
}

void
mig_assert_unchanged(MigStack *s, const char *svc, const MigSnapshot *snap,
					 const char *const *running)
{
	MigSnapshot now;

	mig_snapshot(s, svc, &now);
	cr_assert(now.service.len == snap->service.len
			  && memcmp(now.service.data, snap->service.data, now.service.len) == 0,
			  "services/%s.yml changed:\n%s", svc, sb_str(&now.service));
	cr_assert(now.env.len == snap->env.len && memcmp(now.env.data, snap->env.data, now.env.len) == 0,
			  ".env changed:\n%s", sb_str(&now.env));
	cr_assert_str_eq(now.databases, snap->databases, "databases on the shared instance changed");
	cr_assert_str_eq(now.roles, snap->roles, "roles on the shared instance changed");
	cr_assert_str_eq(now.overrides, snap->overrides, "overrides/ changed");
	cr_assert_str_eq(now.passwords, snap->passwords, "etc/.db_passwords changed");
	for (; running != NULL && *running != NULL; running++)
	{
		char *state = mig_inspect(*running, "{{.State.Status}}");

		cr_assert_str_eq(state, "running", "%s is %s, expected running", *running, state);
		free(state);
	}
	mig_snapshot_free(&now);
}

void
mig_snapshot_free(MigSnapshot *snap)
{
	sb_free(&snap->service);
	sb_free(&snap->env);
	free(snap->databases);
	free(snap->roles);
	free(snap->overrides);
	free(snap->passwords);
	memset(snap, 0, sizeof(*snap));
}

/* ---- journal ------------------------------------------------------------- */

/* Call fn for every record of the service's journal. */
static size_t
journal_each(const MigStack *s, const char *svc, void (*fn)(json_t *, void *), void *ctx)
{
	char path[PATH_MAX];
	StrBuf b = STRBUF_INIT;
	size_t n = 0;

	mig_path(s, path, sizeof(path), "backups/postgres-migrations/%s.journal", svc);
	if (!mig_read(path, &b, true))
		return 0;
	for (char *line = b.data, *nl; line != NULL && *line; line = nl ? nl + 1 : NULL)
	{
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line == '\0')
			continue;

		json_error_t err;
		json_t *rec = json_loads(line, 0, &err);

		cr_assert_not_null(rec, "journal %s: bad record: %s", path, line);
		fn(rec, ctx);
		json_decref(rec);
		n++;
	}
	sb_free(&b);
	return n;
}

typedef struct CountCtx
{
	const char *step, *status;
	size_t      n;
	char        runs[16][64];
	size_t      run_count;
} CountCtx;

/* Whether rec's step and status are these (NULL: any). */
static bool
record_is(json_t *rec, const char *step, const char *status)
{
	const char *s = json_string_value(json_object_get(rec, "step"));
	const char *st = json_string_value(json_object_get(rec, "status"));

	return (step == NULL || (s && strcmp(s, step) == 0))
		&& (status == NULL || (st && strcmp(st, status) == 0));
}

static void
count_fn(json_t *rec, void *ctx)
{
	CountCtx *c = ctx;
	const char *run = json_string_value(json_object_get(rec, "run"));

	if (record_is(rec, c->step, c->status))
		c->n++;
	if (run == NULL)
		return;
	for (size_t i = 0; i < c->run_count; i++)
		if (strcmp(c->runs[i], run) == 0)
			return;
	if (c->run_count < 16)
		str_copy(c->runs[c->run_count++], sizeof(c->runs[0]), run);
}

size_t
mig_journal_count(const MigStack *s, const char *svc, const char *step, const char *status)
{
	CountCtx c = { .step = step, .status = status };

	journal_each(s, svc, count_fn, &c);
	return c.n;
}

typedef struct LastCtx
{
	const char *step, *status;
	json_t     *last;
} LastCtx;

static void
last_fn(json_t *rec, void *ctx)
{
	LastCtx *c = ctx;

	if (record_is(rec, c->step, c->status))
	{
		json_decref(c->last);
		c->last = json_incref(rec);
	}
}

json_t *
mig_journal_last(const MigStack *s, const char *svc, const char *step, const char *status)
{
	LastCtx c = { .step = step, .status = status };

	journal_each(s, svc, last_fn, &c);
	return c.last;
}

size_t
mig_journal_runs(const MigStack *s, const char *svc)
{
	CountCtx c = { 0 };

	journal_each(s, svc, count_fn, &c);
	return c.run_count;
}

/* ---- scenarios ----------------------------------------------------------- */

char *
mig_seed_service(MigStack *s, const MigShape *sh, const char *db_image)
{
	const char *dbc = mig_name(s, sh->db_container);
	char dbc_copy[160];

	str_copy(dbc_copy, sizeof(dbc_copy), dbc);
	char svc[96];

	str_copy(svc, sizeof(svc), mig_svc(s, sh));
	mig_service_add(s, sh->fixture, svc, db_image);
	mig_service_up(s, svc, dbc_copy);
	mig_sql_fixture(dbc_copy, sh->db_user, sh->src_db, "seed.sql");

	char *fp = mig_fingerprint(dbc_copy, sh->db_user, sh->src_db);

	cr_assert(str_has_prefix(fp, MIG_SEED_COUNTS " md5="), "seeded data: %s", fp);
	for (size_t i = 0; sh->apps[i] != NULL; i++)
	{
		char *state = mig_inspect(mig_name(s, sh->apps[i]), "{{.State.Status}}");

		cr_assert_str_eq(state, "running", "app %s is %s before the migration",
						 mig_name(s, sh->apps[i]), state);
		free(state);
	}
	return fp;
}

void
mig_expect_downtime(const char *out)
{
	const char *line = strstr(out, "\n  apps down ");
	int min = -1;
	double sec = -1, sum = 0;

	cr_assert_not_null(line, "the summary gives no downtime:\n%s", out);
	cr_assert_eq(sscanf(line, "\n  apps down %d:%lf", &min, &sec), 2, "%.80s", line + 1);
	cr_expect_not_null(strstr(line, " apply "), "recreating the apps is not among the phases: "
					   "%.200s", line + 1);
	const char *end = strchr(line + 1, '\n');

	for (const char *p = strchr(line, '('); p != NULL && (end == NULL || p < end);
		 p = strchr(p + 1, ' '))
	{
		double v = 0;

		if (sscanf(p + 1, "%lf s", &v) == 1)
			sum += v;
	}
	cr_expect_geq(min * 60 + sec + 0.2, sum, "down %d:%.1f but its phases add up to %.1f s",
				  min, sec, sum);
}

void
mig_happy_path(MigStack *s, const MigShape *sh, const char *db_image)
{
	MigRun r;

	mig_stack_init(s);
	mig_shared_start(s, MIG_PG15);

	char *fp = mig_seed_service(s, sh, db_image);

	mig_pgfold(s, &r, NULL, "migrate", mig_svc(s, sh), "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate");
	cr_assert_not_null(strstr(sb_str(&r.out), "migrated "), "no summary:\n%s", sb_str(&r.out));
	mig_expect_downtime(sb_str(&r.out));

	/* the promised log exists, is named in the summary and has the run */
	char pattern[PATH_MAX], logpath[PATH_MAX];
	StrBuf log = STRBUF_INIT;

	str_format(pattern, sizeof(pattern), "backups/postgres-migrations/%s_*.log", mig_svc(s, sh));
	mig_glob_one(s, pattern, logpath, sizeof(logpath));
	mig_read(logpath, &log, false);
	cr_expect_not_null(strstr(sb_str(&r.out), logpath), "the summary does not name the log %s",
					   logpath);
	cr_expect_not_null(strstr(sb_str(&log), "complete"), "the log does not record the end:\n%s",
					   sb_str(&log));
	sb_free(&log);
	mig_run_free(&r);
	mig_assert_migrated(s, sh, fp);

	char *dbs = mig_shared_databases(s), *roles = mig_shared_roles(s);

	cr_expect_str_eq(dbs, sh->db, "databases on the shared instance: %s", dbs);
	cr_expect_str_eq(roles, sh->db, "roles on the shared instance: %s", roles);
	free(dbs);
	free(roles);
	mig_assert_rerun_noop(s, sh);
	free(fp);
}
