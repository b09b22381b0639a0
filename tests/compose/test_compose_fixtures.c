/*
 * test_compose_fixtures.c — the real service-file shapes pgfold meets, as
 * modelled by compose_parse: values, forms, resolution and exact spans.
 */
#include "compose/compose_fixture.h"

static void
quiet(void)
{
	log_set_level(LOG_FATAL);
}

TestSuite(compose_fixtures, .init = quiet);

Test(compose_fixtures, every_fixture_parses)
{
	for (size_t i = 0; i < N_FIXTURES; i++)
	{
		ComposeFile f = load_fixture(fixture_name(i));

		cr_assert_gt(f.service_count, 0, "%s", fixture_name(i));
		cr_assert_eq(f.bytes[f.len], '\0');
		cr_assert_eq(f.dir[0], '/', "dir is absolute: %s", f.dir);
		compose_free(&f);
	}
}

Test(compose_fixtures, docmost)
{
	ComposeFile f = load_fixture("docmost.yml");
	const ComposeService *app = need_service(&f, "docmost");
	const ComposeService *db = need_service(&f, "docmost-db");

	cr_assert_eq(f.service_count, 3);
	cr_assert_str_eq(f.services[2].key, "docmost-redis");

	/* header */
	cr_assert_eq(f.meta_count, 3);
	cr_assert_str_eq(compose_meta_get(&f, "website"), "https://docmost.com");
	cr_assert_str_eq(compose_meta_get(&f, "database_name"), "docmost");
	cr_assert_null(compose_meta_get(&f, "database"));
	SPAN_EXPECT(f.bytes, f.len, f.meta[2].line, "# database_name: docmost\n");
	SPAN_EXPECT(f.bytes, f.len, f.meta[2].value_span, "docmost");
	cr_assert_eq(f.meta_block.start, 0);
	cr_assert_eq(f.meta_block.end, f.meta[2].line.end);

	/* the db service: container_name with a default */
	cr_assert_str_eq(db->container_name_raw, "${DOCMOST_DB_CONTAINER_NAME:-docmost-db}");
	cr_assert_str_eq(db->container_name, "docmost-db");
	cr_assert_str_eq(db->image, "postgres:16-alpine");
	cr_assert_eq(db->volume_count, 1);
	cr_assert_str_eq(db->volumes[0], "./etc/docmost/db:/var/lib/postgresql/data");
	cr_assert_eq(db->env_form, FORM_LIST);
	cr_assert_eq(db->env_count, 3);
	cr_assert_str_eq(need_env(db, "POSTGRES_USER")->resolved, "docmost");
	SPAN_EXPECT(f.bytes, f.len, need_env(db, "POSTGRES_PASSWORD")->item,
				"      - POSTGRES_PASSWORD=${DOCMOST_POSTGRES_PASSWORD}\n");
	SPAN_EXPECT(f.bytes, f.len, need_env(db, "POSTGRES_PASSWORD")->value, "${DOCMOST_POSTGRES_PASSWORD}");
	cr_assert_str_eq(need_env(db, "POSTGRES_PASSWORD")->resolved, "docpass");
	SPAN_EXPECT(f.bytes, f.len, db->env_block,
				"    environment:\n"
				"      - POSTGRES_DB=docmost\n"
				"      - POSTGRES_USER=${DOCMOST_POSTGRES_USER:-docmost}\n"
				"      - POSTGRES_PASSWORD=${DOCMOST_POSTGRES_PASSWORD}\n");
	cr_assert_eq(db->env_item_indent, 6);
	cr_assert_eq(db->indent, 2);
	cr_assert_eq(f.service_indent, 2);

	/* the app: flow depends_on and the stray-brace URL */
	cr_assert_eq(app->depends_form, FORM_LIST);
	cr_assert_eq(app->depends_count, 2);
	cr_assert(app->depends[0].flow);
	cr_assert_str_eq(app->depends[0].name, "docmost-db");
	cr_assert_str_eq(app->depends[1].name, "docmost-redis");
	SPAN_EXPECT(f.bytes, f.len, app->depends[0].item, "docmost-db");
	SPAN_EXPECT(f.bytes, f.len, app->depends[0].cut, "docmost-db, ");
	SPAN_EXPECT(f.bytes, f.len, app->depends[1].cut, ", docmost-redis");
	SPAN_EXPECT(f.bytes, f.len, app->depends_block, "    depends_on: [docmost-db, docmost-redis]\n");

	const EnvItem *url = need_env(app, "DATABASE_URL");

	cr_assert_str_eq(url->raw, "postgresql://${DOCMOST_POSTGRES_USER:-docmost}:${DOCMOST_POSTGRES_PASSWORD}"
					 "@${DOCMOST_DB_CONTAINER_NAME:-docmost-db}:5432/docmost?schema=public}");
	cr_assert_str_eq(url->resolved, "postgresql://docmost:docpass@docmost-db:5432/docmost?schema=public}");
	SPAN_EXPECT(f.bytes, f.len, url->name_span, "DATABASE_URL");
	cr_assert_str_eq(need_env(app, "APP_URL")->resolved, "https://docmost.example.lan");
	cr_assert_str_eq(app->image, "docmost/docmost:latest");
	cr_assert_str_eq(app->image_raw, "docmost/docmost:${DOCMOST_DOCKER_TAG:-latest}");
	cr_assert_str_eq(compose_env_effective(app, "REDIS_URL"), "redis://docmost-redis:6379");

	/* blocks: the blank line between services belongs to nobody */
	SPAN_EXPECT(f.bytes, f.len, f.services[2].block,
				"  docmost-redis:\n"
				"    image: redis:7.2-alpine\n"
				"    container_name: ${DOCMOST_REDIS_CONTAINER_NAME:-docmost-redis}\n"
				"    restart: unless-stopped\n"
				"    volumes:\n"
				"      - ./etc/docmost/redis:/data\n");
	cr_assert_eq(f.bytes[db->block.start - 1], '\n');
	cr_assert_eq(f.bytes[db->block.start - 2], '\n');
	cr_assert_eq(f.services_block.end, f.len);
	compose_free(&f);
}

Test(compose_fixtures, joplin_map_environment)
{
	ComposeFile f = load_fixture("joplin.yml");
	const ComposeService *app = need_service(&f, "joplin");
	const ComposeService *db = need_service(&f, "db");

	cr_assert_str_eq(compose_meta_get(&f, "database"), "joplin-db");
	cr_assert_str_eq(db->container_name, "joplin-db");
	cr_assert_str_eq(app->container_name, "joplin");
	cr_assert_eq(app->env_form, FORM_MAP);
	cr_assert_str_eq(need_env(app, "POSTGRES_PORT")->raw, "5432");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "POSTGRES_PORT")->item, "      POSTGRES_PORT: 5432\n");
	cr_assert_str_eq(need_env(app, "POSTGRES_HOST")->raw, "joplin-db");
	cr_assert_str_eq(need_env(app, "DB_CLIENT")->resolved, "pg");
	cr_assert_str_eq(need_env(app, "POSTGRES_PASSWORD")->resolved, "joplin");
	cr_assert_str_eq(need_env(app, "APP_BASE_URL")->resolved, "https://joplin.example.lan");

	cr_assert_eq(app->depends_form, FORM_LIST);
	cr_assert_not(app->depends[0].flow);
	SPAN_EXPECT(f.bytes, f.len, app->depends[0].item, "      - db\n");
	SPAN_EXPECT(f.bytes, f.len, app->depends_block, "    depends_on:\n      - db\n");

	const EnvItem *pw = need_env(db, "POSTGRES_PASSWORD");

	cr_assert_eq(pw->style, YSTYLE_DOUBLE);
	SPAN_EXPECT(f.bytes, f.len, pw->scalar, "\"${JOPLIN_POSTGRES_PASSWORD:-joplin}\"");
	SPAN_EXPECT(f.bytes, f.len, pw->value, "${JOPLIN_POSTGRES_PASSWORD:-joplin}");
	SPAN_EXPECT(f.bytes, f.len, pw->name_span, "POSTGRES_PASSWORD");
	cr_assert_eq(need_env(db, "POSTGRES_USER")->style, YSTYLE_SINGLE);
	cr_assert_str_eq(need_env(db, "POSTGRES_USER")->raw, "joplin");

	/* `PGDATA:` is a null: no value, an empty span right after the colon */
	const EnvItem *pgdata = need_env(db, "PGDATA");

	cr_assert_not(pgdata->has_value);
	cr_assert_null(pgdata->raw);
	cr_assert_null(pgdata->resolved);
	cr_assert_eq(pgdata->value.start, pgdata->value.end);
	cr_assert_eq(f.bytes[pgdata->value.start - 1], ':');
	SPAN_EXPECT(f.bytes, f.len, pgdata->item, "      PGDATA:\n");
	cr_assert_eq(pgdata->item.end, f.len);
	cr_assert_eq(db->block.end, f.len);
	compose_free(&f);
}

Test(compose_fixtures, netbox_env_file_and_conditions)
{
	ComposeFile f = load_fixture("netbox.yml");
	const ComposeService *app = need_service(&f, "netbox");
	const ComposeService *db = need_service(&f, "netbox-postgresql");

	cr_assert_str_eq(db->container_name, "netbox_postgresql");
	cr_assert_str_eq(db->user, "1000:1000");
	cr_assert_str_eq(app->user, "unit:root");
	cr_assert_str_eq(need_env(db, "POSTGRES_PASSWORD")->resolved, "nbpass");
	cr_assert_null(need_env(db, "POSTGRES_PASSWORD")->error);

	/* env_file: a string, and a list */
	cr_assert_eq(app->env_file_count, 1);
	cr_assert_str_eq(app->env_files[0], "./etc/netbox/netbox.env");
	cr_assert_eq(db->env_file_count, 1);
	cr_assert_str_eq(compose_env_effective(db, "POSTGRES_DB"), "netbox");
	cr_assert_str_eq(compose_env_effective(db, "POSTGRES_USER"), "netbox");
	/* environment: wins over env_file */
	cr_assert_str_eq(compose_env_effective(app, "DB_HOST"), "netbox_postgresql");
	cr_assert_str_eq(compose_env_effective(app, "REDIS_HOST"), "netbox_redis");
	cr_assert_str_eq(compose_env_effective(app, "SECRET_KEY"),
					 "r8OwDznj!!dci#P9ghmRfdu1Ysxm0AiPeDCQhKE+N_rClfWNj");
	/* a bare KEY in an env_file takes the stack's value */
	cr_assert_str_eq(compose_env_effective(app, "SUPERUSER_EMAIL"), "admin@example.lan");
	cr_assert_null(compose_env_effective(app, "NOT_SET_ANYWHERE"));

	/* map-form depends_on, block and flow values */
	cr_assert_eq(app->depends_form, FORM_MAP);
	cr_assert_eq(app->depends_count, 2);
	cr_assert_str_eq(app->depends[0].name, "netbox-postgresql");
	cr_assert_str_eq(app->depends[0].condition, "service_healthy");
	SPAN_EXPECT(f.bytes, f.len, app->depends[0].item,
				"      netbox-postgresql:\n        condition: service_healthy\n");
	SPAN_EXPECT(f.bytes, f.len, app->depends[1].item, "      netbox-redis: {condition: service_started}\n");
	cr_assert_str_eq(app->depends[1].condition, "service_started");
	SPAN_EXPECT(f.bytes, f.len, app->depends[1].name_span, "netbox-redis");
	compose_free(&f);
}

Test(compose_fixtures, netbox_required_variable_unset)
{
	size_t len;
	char *text = read_fixture("netbox.yml", &len);
	char path[512];
	ComposeFile f;

	fixture_path(path, sizeof(path), "netbox.yml");
	/* No lookup at all: ${PG_PASS_NETBOX:?...} cannot resolve. */
	cr_assert(compose_parse(path, text, len, NULL, NULL, &f), "%s", f.error);

	const EnvItem *pw = need_env(need_service(&f, "netbox-postgresql"), "POSTGRES_PASSWORD");

	cr_assert_null(pw->resolved);
	cr_assert_not_null(pw->error);
	cr_assert(strstr(pw->error, "PG_PASS_NETBOX must be set in .env") != NULL, "%s", pw->error);
	cr_assert_null(compose_env_effective(need_service(&f, "netbox-postgresql"), "POSTGRES_PASSWORD"));
	compose_free(&f);
	free(text);
}

Test(compose_fixtures, nocodb_url)
{
	ComposeFile f = load_fixture("nocodb.yml");
	const ComposeService *app = need_service(&f, "nocodb");
	const EnvItem *nc = need_env(app, "NC_DB");

	cr_assert_eq(nc->style, YSTYLE_DOUBLE);
	cr_assert_str_eq(nc->resolved, "pg://nocodb-db:5432?u=nocodb&p=ncpass&d=nocodb");
	SPAN_EXPECT(f.bytes, f.len, nc->value, "pg://nocodb-db:5432?u=${NOCODB_DB_USER:-nocodb}&p=${NOCODB_DB_PASS}&d=nocodb");
	cr_assert_str_eq(need_service(&f, "nocodb-db")->container_name, "nocodb-db");
	cr_assert_eq(f.meta_count, 0);
	cr_assert_eq(f.meta_block.start, 0);
	cr_assert_eq(f.meta_block.end, 0);
	compose_free(&f);
}

Test(compose_fixtures, crlf_line_endings)
{
	ComposeFile f = load_fixture("odoo-crlf.yml");
	const ComposeService *app = need_service(&f, "odoo");
	const ComposeService *db = need_service(&f, "db");

	cr_assert_str_eq(compose_meta_get(&f, "database"), "db");
	cr_assert_str_eq(compose_meta_get(&f, "database_name"), "postgres");
	SPAN_EXPECT(f.bytes, f.len, f.meta[0].line, "# database: db\r\n");
	cr_assert_str_eq(db->container_name, "odoo_postgres");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "HOST")->item, "      - HOST=odoo_postgres\r\n");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "PASSWORD")->value, "${ODOO_DB_PASS:-odoo}");
	cr_assert_str_eq(need_env(db, "POSTGRES_PASSWORD")->resolved, "odoo");
	SPAN_EXPECT(f.bytes, f.len, db->lead, "  # the database\r\n");
	SPAN_EXPECT(f.bytes, f.len, app->depends[0].item, "      - db\r\n");
	cr_assert_eq(db->block.end, f.len);
	cr_assert_eq(app->block.end, db->lead.start);
	compose_free(&f);
}

Test(compose_fixtures, comments_everywhere)
{
	ComposeFile f = load_fixture("commented.yml");
	const ComposeService *wiki = need_service(&f, "wiki");
	const ComposeService *db = need_service(&f, "wiki-db");
	const ComposeService *cache = need_service(&f, "cache");

	cr_assert_str_eq(f.version, "3.8");
	cr_assert_eq(f.meta_count, 2);
	cr_assert_str_eq(compose_meta_get(&f, "database"), "wiki-db");
	cr_assert_str_eq(compose_meta_get(&f, "note"),
					 "comments everywhere, unicode too \xe2\x80\x94 \xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x98");
	cr_assert_null(compose_meta_get(&f, "http"));

	/* a header of four lines, the blank line ends it */
	SPAN_EXPECT(f.bytes, f.len, ((Span) { f.meta_block.end - 41, f.meta_block.end }),
				"# http://example.com is prose, not a key\n");

	SPAN_EXPECT(f.bytes, f.len, wiki->lead, "  # The wiki itself \xe2\x80\x94 app\n");
	/* wiki's deeper trailing comments are its own */
	SPAN_EXPECT(f.bytes, f.len, ((Span) { wiki->block.end - 25, wiki->block.end }),
				"    #   - commented: out\n");
	SPAN_EXPECT(f.bytes, f.len, db->lead, "  # Heading for the db \xe2\x80\x94 belongs to wiki-db\n  # second heading line\n");
	SPAN_EXPECT(f.bytes, f.len, cache->lead, "# a column-0 comment between services\n");
	cr_assert_eq(db->block.end, cache->lead.start);

	cr_assert_eq(wiki->env_count, 4);
	cr_assert_str_eq(need_env(wiki, "DB_NAME")->raw, "wiki # not a comment");
	SPAN_EXPECT(f.bytes, f.len, need_env(wiki, "DB_TYPE")->item, "      - DB_TYPE=postgres   # comment after an item\n");
	SPAN_EXPECT(f.bytes, f.len, need_env(wiki, "DB_PASS")->value, "${WIKI_DB_PASS:-wikipass}");
	cr_assert_str_eq(need_env(wiki, "DB_PASS")->resolved, "wikipass");
	SPAN_EXPECT(f.bytes, f.len, wiki->depends[0].item, "      - wiki-db   # \xe2\x9c\x93\n");
	SPAN_EXPECT(f.bytes, f.len, wiki->key_span, "wiki");
	SPAN_EXPECT(f.bytes, f.len, db->key_span, "wiki-db");
	cr_assert_str_eq(wiki->image, "ghcr.io/example/wiki:2.5");

	cr_assert_eq(db->env_form, FORM_MAP);
	cr_assert_eq(db->env_count, 3);
	SPAN_EXPECT(f.bytes, f.len, need_env(db, "POSTGRES_PASSWORD")->item,
				"      POSTGRES_PASSWORD: ${WIKI_DB_PASS:-wikipass}   # secret\n");

	/* the block scalar's '#' line is content, and the blank line ends the block */
	SPAN_EXPECT(f.bytes, f.len, ((Span) { cache->block.end - 18, cache->block.end }),
				"      --save 60 1\n");
	compose_free(&f);
}

Test(compose_fixtures, quoted_keys_and_values)
{
	ComposeFile f = load_fixture("quoted.yml");
	const ComposeService *app = need_service(&f, "app");
	const ComposeService *db = need_service(&f, "app-db");

	SPAN_EXPECT(f.bytes, f.len, app->key_span, "\"app\"");
	SPAN_EXPECT(f.bytes, f.len, db->key_span, "'app-db'");
	cr_assert_str_eq(app->image, "example/app:1.0");
	cr_assert_str_eq(app->container_name, "app");
	cr_assert_str_eq(app->depends[0].name, "app-db");
	SPAN_EXPECT(f.bytes, f.len, app->depends[0].name_span, "app-db");

	cr_assert_str_eq(need_env(app, "A")->raw, "1");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "A")->scalar, "'A=1'");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "B")->value, "two words");
	cr_assert_str_eq(need_env(app, "C")->raw, "esc\"aped\\");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "C")->value, "esc\\\"aped\\\\");
	cr_assert_str_eq(need_env(app, "D")->raw, "it's");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "D")->value, "it''s");
	cr_assert_not(need_env(app, "E")->has_value);
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "E")->name_span, "E");
	cr_assert_eq(need_env(app, "E")->value.start, need_env(app, "E")->name_span.end);
	cr_assert(need_env(app, "F")->has_value);
	cr_assert_str_eq(need_env(app, "F")->raw, "");
	cr_assert_not(need_env(app, "G")->has_value);

	SPAN_EXPECT(f.bytes, f.len, need_env(db, "POSTGRES_USER")->name_span, "POSTGRES_USER");
	cr_assert_str_eq(need_env(db, "POSTGRES_PASSWORD")->raw, "p@ss'word");
	cr_assert_str_eq(need_env(db, "POSTGRES_DB")->raw, "42");
	SPAN_EXPECT(f.bytes, f.len, need_env(db, "POSTGRES_DB")->scalar, "42");
	cr_assert(need_env(db, "EMPTY")->has_value);
	cr_assert_str_eq(need_env(db, "EMPTY")->raw, "");
	cr_assert_not(need_env(db, "NULLISH")->has_value);
	SPAN_EXPECT(f.bytes, f.len, need_env(db, "NULL2")->value, "null");
	compose_free(&f);
}

Test(compose_fixtures, flow_style)
{
	ComposeFile f = load_fixture("flow.yml");
	const ComposeService *app = need_service(&f, "app");
	const ComposeService *worker = need_service(&f, "worker");
	const ComposeService *cache = need_service(&f, "cache");

	cr_assert(app->env_flow);
	cr_assert_eq(app->env_form, FORM_MAP);
	cr_assert_eq(app->env_count, 4);
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "DB_HOST")->item, "DB_HOST: db");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "DB_HOST")->cut, "DB_HOST: db, ");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "DB_PASS")->cut, ", DB_PASS: \"${APP_DB_PASS}\"");
	cr_assert_str_eq(need_env(app, "DB_PASS")->resolved, "apppass");
	SPAN_EXPECT(f.bytes, f.len, need_env(app, "DB_USER")->value, "app");
	SPAN_EXPECT(f.bytes, f.len, app->env_block,
				"    environment: {DB_HOST: db, DB_PORT: 5432, \"DB_USER\": 'app', DB_PASS: \"${APP_DB_PASS}\"}\n");

	cr_assert_eq(worker->env_form, FORM_LIST);
	SPAN_EXPECT(f.bytes, f.len, need_env(worker, "DB_USER")->item, "\"DB_USER=app\"");
	cr_assert_not(need_env(worker, "DB_NONE")->has_value);
	cr_assert_eq(worker->depends_form, FORM_MAP);
	SPAN_EXPECT(f.bytes, f.len, worker->depends[1].item, "cache: {condition: service_started}");
	SPAN_EXPECT(f.bytes, f.len, worker->depends[1].cut, ", cache: {condition: service_started}");
	cr_assert_str_eq(worker->depends[0].condition, "service_healthy");

	const ComposeService *db = need_service(&f, "db");

	cr_assert_eq(db->env_form, FORM_LIST);
	cr_assert_eq(db->env_count, 0);
	cr_assert_str_eq(cache->image, "redis:7");
	cr_assert_str_eq(cache->container_name, "cache");
	SPAN_EXPECT(f.bytes, f.len, cache->block, "  cache: {image: \"redis:7\", container_name: cache}\n");
	compose_free(&f);
}

Test(compose_fixtures, merge_keys_and_aliases_are_flagged)
{
	ComposeFile f = load_fixture("anchors.yml");
	const ComposeService *app = need_service(&f, "app");
	const ComposeService *db = need_service(&f, "app-db");
	const ComposeService *plain = need_service(&f, "plain");

	cr_assert(f.has_anchors);
	cr_assert(app->uses_merge);
	cr_assert(app->uses_alias);
	cr_assert(db->uses_merge);
	cr_assert(db->uses_alias);
	cr_assert_eq(db->env_form, FORM_ABSENT, "an aliased environment is not modelled");
	cr_assert_null(db->image, "merged values are not expanded");
	cr_assert_not(plain->uses_merge);
	cr_assert_not(plain->uses_alias);
	cr_assert_str_eq(need_env(app, "DB_HOST")->raw, "app-db");
	compose_free(&f);
}

Test(compose_fixtures, nested_default_dialects)
{
	size_t len;
	char *text = read_fixture("migrated.yml", &len);
	char path[512];
	ComposeFile f;
	ComposeOptions v1 = { .dialect = INTERP_COMPOSE_V1, .quiet = true };

	fixture_path(path, sizeof(path), "migrated.yml");
	cr_assert(compose_parse(path, text, len, fixture_lookup, NULL, &f));
	cr_assert_str_eq(need_env(need_service(&f, "docmost"), "DATABASE_URL")->resolved,
					 "postgresql://admin:dbpass@postgres:5432/docmost");
	cr_assert_str_eq(compose_meta_get(&f, "database"), "postgres");
	compose_free(&f);

	/* docker-compose 1.29 does not nest: the inner default stays literal. */
	cr_assert(compose_parse_opts(path, text, len, fixture_lookup, NULL, &v1, &f));
	cr_assert_str_eq(need_env(need_service(&f, "docmost"), "DATABASE_URL")->resolved,
					 "postgresql://${PG_USER:-admin}:dbpass@postgres:5432/docmost");
	cr_assert_str_eq(need_env(need_service(&f, "docmost"), "PLAIN_USER")->resolved, "admin");
	cr_assert_not(dotenv_interpolation_portable(need_env(need_service(&f, "docmost"), "DATABASE_URL")->raw,
												strlen(need_env(need_service(&f, "docmost"), "DATABASE_URL")->raw)));
	compose_free(&f);
	free(text);
}

Test(compose_fixtures, value_less_entry_takes_the_stack_value)
{
	static const char text[] =
		"services:\n"
		"  a:\n"
		"    image: x\n"
		"    env_file: etc/netbox/netbox.env\n"
		"    environment:\n"
		"      - HOST_DOMAIN\n"
		"      - DB_HOST\n";
	ComposeFile f;

	cr_assert(parse_text("inline.yml", text, sizeof(text) - 1, &f), "%s", f.error);

	const ComposeService *a = need_service(&f, "a");

	cr_assert_str_eq(need_env(a, "HOST_DOMAIN")->resolved, "example.lan");
	/* compose 1.29: `- DB_HOST` overrides the env_file value with the
	 * (unset) environment value. */
	cr_assert_null(need_env(a, "DB_HOST")->resolved);
	cr_assert_null(compose_env_effective(a, "DB_HOST"));
	cr_assert_str_eq(compose_env_effective(a, "REDIS_HOST"), "netbox_redis");
	compose_free(&f);
}

Test(compose_fixtures, bom_is_skipped)
{
	static const char text[] = "\xEF\xBB\xBF# database: db\nservices:\n  db:\n    image: postgres:15\n";
	ComposeFile f;

	cr_assert(parse_text("bom.yml", text, sizeof(text) - 1, &f), "%s", f.error);
	cr_assert_eq(f.meta_block.start, 3);
	cr_assert_str_eq(compose_meta_get(&f, "database"), "db");
	SPAN_EXPECT(f.bytes, f.len, f.services[0].key_span, "db");
	SPAN_EXPECT(f.bytes, f.len, f.services[0].block, "  db:\n    image: postgres:15\n");
	compose_free(&f);

	static const char nohdr[] = "\xEF\xBB\xBFservices:\n  db: {}\n";

	cr_assert(parse_text("bom.yml", nohdr, sizeof(nohdr) - 1, &f), "%s", f.error);
	cr_assert_eq(f.meta_block.start, 3);
	cr_assert_eq(f.meta_block.end, 3);
	compose_free(&f);
}

Test(compose_fixtures, long_volumes_and_misc)
{
	static const char text[] =
		"services:\n"
		"  db:\n"
		"    image: \"postgres:${PGV:-15}\"\n"
		"    network_mode: host\n"
		"    user: \"${EMPTY_VAR:-999}:999\"\n"
		"    volumes:\n"
		"      - type: bind\n"
		"        source: ./data\n"
		"        target: /var/lib/postgresql/data\n"
		"      - {type: tmpfs, target: /tmp, read_only: true}\n"
		"      - ./x:/y:ro\n";
	ComposeFile f;

	cr_assert(parse_text("inline.yml", text, sizeof(text) - 1, &f), "%s", f.error);

	const ComposeService *db = need_service(&f, "db");

	cr_assert_str_eq(db->image, "postgres:15");
	cr_assert_str_eq(db->network_mode, "host");
	cr_assert_str_eq(db->user, "999:999");
	cr_assert_eq(db->volume_count, 3);
	cr_assert_str_eq(db->volumes[0], "./data:/var/lib/postgresql/data");
	cr_assert_str_eq(db->volumes[1], "/tmp:ro");
	cr_assert_str_eq(db->volumes[2], "./x:/y:ro");
	cr_assert_null(db->container_name);
	cr_assert_eq(db->env_form, FORM_ABSENT);
	cr_assert_eq(db->depends_form, FORM_ABSENT);
	compose_free(&f);
}

Test(compose_fixtures, error_text_survives_free)
{
	ComposeFile f;

	cr_assert_not(parse_text("bad.yml", "services: [x]\n", 14, &f));
	cr_assert(strstr(f.error, "bad.yml:1:11: ") != NULL, "%s", f.error);
	cr_assert_null(f.services);
	cr_assert_null(f.bytes);
	compose_free(&f);
	cr_assert_neq(f.error[0], '\0');
}

Test(compose_fixtures, env_file_resolves_against_the_project_dir)
{
	char path[512], root[512], real[4096];
	ComposeFile f;
	ComposeOptions opts = { .quiet = true };

	fixture_path(path, sizeof(path), "project/services/app.yml");
	fixture_path(root, sizeof(root), "project");

	/* compose's default: the file's own directory */
	cr_assert(compose_load_opts(path, fixture_lookup, NULL, &opts, &f), "%s", f.error);
	cr_assert_str_eq(compose_env_effective(&f.services[0], "WHERE"), "services-dir");
	cr_assert_null(compose_env_effective(&f.services[0], "ROOT_ONLY"));
	cr_assert(str_has_suffix(f.dir, "/project/services"), "%s", f.dir);
	compose_free(&f);

	/* as pgfold runs compose: --project-directory <root> */
	opts.project_dir = root;
	cr_assert(compose_load_opts(path, fixture_lookup, NULL, &opts, &f), "%s", f.error);
	cr_assert_str_eq(compose_env_effective(&f.services[0], "WHERE"), "project-root");
	cr_assert_str_eq(compose_env_effective(&f.services[0], "ROOT_ONLY"), "1");
	cr_assert_not_null(realpath(root, real));
	cr_assert_str_eq(f.dir, real);
	cr_assert_str_eq(need_env(&f.services[0], "FROM_ENV")->resolved, "example.lan");
	compose_free(&f);
}
