/*
 * fuzz_rewrite.c — the URL rewriter (src/rewrite/, through
 * rewrite_service_file) on a whole service file, as migrate uses it: the
 * file is parsed and analysed (src/service/), every connection pointed at
 * the shared instance, the result parsed back. The rewriter may refuse;
 * when it does not, the new file must parse, keep every connection, and
 * each must read back as exactly the new host, port, role, database and
 * password. Byte 0 picks the password style; the rest is the file.
 */
#include "fuzz.h"

#include <string.h>

#include "pgfold/compose.h"
#include "pgfold/rewrite.h"
#include "pgfold/service.h"

#define FUZZ_PASSWORD "Gen3rated0Passw0rdXyz"
#define FUZZ_PATH "/nonexistent-pgfold-fuzz/fz.yml"

/* What the stack's .env holds (tests/rewrite/rwfx.c's fixtures use these). */
static const char stack_env[] =
	"DOCMOST_POSTGRES_PASSWORD=docpw\n"
	"JOPLIN_POSTGRES_PASSWORD=joppw\n"
	"PG_PASS_NETBOX=netpw\n"
	"NOCODB_DB_PASSWORD=nocopw\n"
	"APP_DB_PASSWORD=apppw\n"
	"APP_DATABASE_URL=postgres://app:apppw@app-db:5432/app?sslmode=disable&application_name=x\n";

typedef struct Vars
{
	const Dotenv          *stack;
	const RwServiceResult *res;   /* the variables the new file references */
} Vars;

static const char *
lookup(void *ctx, const char *name)
{
	const Vars *v = ctx;

	for (size_t i = 0; v->res != NULL && i < v->res->env_count; i++)
		if (strcmp(v->res->env[i].key, name) == 0)
			return v->res->env[i].value;
	return dotenv_get(v->stack, name);
}

static bool
load(StackService *svc, const char *bytes, size_t len, Vars *vars)
{
	ComposeOptions opts = { .quiet = true, .project_dir = "/nonexistent-pgfold-fuzz" };

	memset(svc, 0, sizeof(*svc));
	svc->name = xstrdup("fz");
	svc->path = xstrdup(FUZZ_PATH);
	if (!compose_parse_opts(FUZZ_PATH, bytes, len, lookup, vars, &opts, &svc->file))
		return false;
	svc->loaded = true;
	return service_analyze(NULL, svc);
}

static void
unload(StackService *svc)
{
	service_analysis_clear(svc);
	compose_free(&svc->file);
	free(svc->name);
	free(svc->path);
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Dotenv stack;
	static bool have_stack;

	fuzz_quiet();
	if (!have_stack)
		have_stack = dotenv_parse(stack_env, strlen(stack_env), ".env", &stack);
	if (size < 1)
		return 0;

	Vars vars = { &stack, NULL };
	StackService svc, ns;
	RwServiceResult res;

	memset(&res, 0, sizeof(res));
	if (!load(&svc, (const char *) data + 1, size - 1, &vars) || svc.problem != NULL ||
		svc.db_service < 0 || svc.conn_count == 0)
	{
		unload(&svc);
		return 0;
	}

	RwTarget t = {
		.host = "postgres", .port = 5432, .role = "fz", .dbname = "fz",
		.password = FUZZ_PASSWORD,
		.password_style = (RwPasswordStyle) (data[0] % 3),
	};
	size_t conns = svc.conn_count;

	if (!rewrite_service_file(&svc, &t, &res))
	{
		unload(&svc);
		return 0;   /* refused: allowed, with its one line (logged) */
	}
	vars.res = &res;
	FUZZ_CHECK(load(&ns, res.bytes.data, res.bytes.len, &vars), "the rewritten file does not parse");
	FUZZ_CHECK(ns.conn_count == conns, "%zu connections after, %zu before", ns.conn_count, conns);
	for (size_t k = 0; k < ns.conn_count; k++)
	{
		const ConnValues *v = &ns.conns[k].values;

		FUZZ_CHECK(ns.conns[k].shared, "connection %zu not on the shared host", k);
		FUZZ_CHECK(same(v->host, "postgres"), "connection %zu: host %s", k, v->host ? v->host : "(none)");
		FUZZ_CHECK(v->port == 5432 || v->port == -1, "connection %zu: port %d", k, v->port);
		FUZZ_CHECK(same(v->user, "fz"), "connection %zu: user %s", k, v->user ? v->user : "(none)");
		FUZZ_CHECK(same(v->dbname, "fz"), "connection %zu: database %s", k,
				   v->dbname ? v->dbname : "(none)");
		FUZZ_CHECK(same(v->password, FUZZ_PASSWORD), "connection %zu: not the new password", k);
	}
	unload(&ns);
	rewrite_service_result_free(&res);
	unload(&svc);
	return 0;
}
