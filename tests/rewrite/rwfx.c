/*
 * rwfx.c — see rwfx.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "rwfx.h"

/* What the stack's .env holds for the fixtures' own references. */
static const char fixture_env[] =
	"# test stack .env\n"
	"DOCMOST_POSTGRES_PASSWORD=docpw\n"
	"JOPLIN_POSTGRES_PASSWORD=joppw\n"
	"PG_PASS_NETBOX=netpw\n"
	"NOCODB_DB_PASSWORD=nocopw\n"
	"APP_DB_PASSWORD=apppw\n"
	"APP_DATABASE_URL=postgres://app:apppw@app-db:5432/app?sslmode=disable&application_name=x\n";

char *
rwfx_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	StrBuf sb = STRBUF_INIT;
	char buf[4096];
	size_t r;

	if (fp == NULL)
		return NULL;
	while ((r = fread(buf, 1, sizeof(buf), fp)) > 0)
		cr_assert(sb_append(&sb, buf, r));
	fclose(fp);
	*len = sb.len;
	return sb.data ? sb_steal(&sb) : xstrdup("");
}

void
rwfx_write(const char *dir, const char *name, const char *bytes, size_t len)
{
	char path[600];
	FILE *fp;

	cr_assert(str_format(path, sizeof(path), "%s/%s", dir, name));
	fp = fopen(path, "wb");
	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(bytes, 1, len, fp), len);
	cr_assert_eq(fclose(fp), 0);
}

/* tests/fixtures/rewrite/ from the repository root, or next to the binary. */
static char *
fixture_bytes(const char *file, size_t *len)
{
	char path[PATH_MAX];
	char exe[PATH_MAX];
	char *b;

	cr_assert(str_format(path, sizeof(path), "tests/fixtures/rewrite/%s", file));
	if ((b = rwfx_read(path, len)) != NULL)
		return b;

	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	cr_assert(str_format(path, sizeof(path), "%s/../tests/fixtures/rewrite/%s", exe, file));
	return rwfx_read(path, len);
}

static const char *
lookup(void *ctx, const char *name)
{
	return dotenv_get((const Dotenv *) ctx, name);
}

bool
rwfx_reparse(RwFx *fx, const char *bytes, size_t len, StackService *out)
{
	char env_path[300];

	memset(out, 0, sizeof(*out));
	dotenv_free(&fx->vars);
	cr_assert(str_format(env_path, sizeof(env_path), "%s/.env", fx->dir));
	cr_assert(dotenv_load(env_path, true, &fx->vars));
	out->name = xstrdup(fx->name);
	out->path = xstrdup(fx->path);
	if (!compose_parse(fx->path, bytes, len, lookup, &fx->vars, &out->file))
		return false;
	out->loaded = true;
	cr_assert(service_analyze(NULL, out));
	return true;
}

static void
setup_dir(RwFx *fx, const char *name)
{
	char tmpl[] = "/tmp/pgfold-rw-XXXXXX";

	memset(fx, 0, sizeof(*fx));
	cr_assert_not_null(mkdtemp(tmpl));
	str_copy(fx->dir, sizeof(fx->dir), tmpl);
	str_copy(fx->name, sizeof(fx->name), name);
	cr_assert(str_format(fx->path, sizeof(fx->path), "%s/%s.yml", fx->dir, name));
	rwfx_write(fx->dir, ".env", fixture_env, strlen(fixture_env));
}

bool
rwfx_setup_bytes(RwFx *fx, const char *name, const char *bytes)
{
	char file[128];

	setup_dir(fx, name);
	cr_assert(str_format(file, sizeof(file), "%s.yml", name));
	rwfx_write(fx->dir, file, bytes, strlen(bytes));
	return rwfx_reparse(fx, bytes, strlen(bytes), &fx->svc);
}

void
rwfx_setup(RwFx *fx, const char *name)
{
	char file[128];
	size_t len;
	char *bytes;

	setup_dir(fx, name);
	cr_assert(str_format(file, sizeof(file), "%s.env", name));
	if ((bytes = fixture_bytes(file, &len)) != NULL)
	{
		rwfx_write(fx->dir, file, bytes, len);
		free(bytes);
	}
	cr_assert(str_format(file, sizeof(file), "%s.yml", name));
	bytes = fixture_bytes(file, &len);
	cr_assert_not_null(bytes, "fixture %s missing", file);
	rwfx_write(fx->dir, file, bytes, len);
	cr_assert(rwfx_reparse(fx, bytes, len, &fx->svc), "fixture %s does not parse", file);
	free(bytes);
	cr_assert_null(fx->svc.problem, "%s: %s", name, fx->svc.problem);
	cr_assert_geq(fx->svc.db_service, 0, "%s: no db service found", name);
	cr_assert_gt(fx->svc.conn_count, 0, "%s: no connection found", name);
}

void
rwfx_free_svc(StackService *svc)
{
	service_analysis_clear(svc);
	compose_free(&svc->file);
	free(svc->name);
	free(svc->path);
	memset(svc, 0, sizeof(*svc));
}

void
rwfx_teardown(RwFx *fx)
{
	rwfx_free_svc(&fx->svc);
	dotenv_free(&fx->vars);
	if (fx->dir[0] == '/' && getenv("PGFOLD_TEST_KEEP") == NULL)
		lab_sh("rm -rf '%s'", fx->dir);
}

RwTarget
rwfx_target(const RwFx *fx)
{
	RwTarget t = {
		.host = "postgres",
		.port = 5432,
		.role = fx->name,
		.dbname = fx->name,
		.password = RWFX_PASSWORD,
		.password_style = RW_PASSWORD_MIRROR,
		.password_var = NULL,
	};

	return t;
}
