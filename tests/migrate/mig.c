/*
 * mig.c — see mig.h. Uses the docker CLI, the compose PGFOLD_TEST_COMPOSE
 * selects (lab_compose) and psql in the containers (not pgfold's own modules), so a bug in pgfold cannot
 * hide behind the helpers that check it.
 */
#include "migrate/mig.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "pg/pg_fixture.h"

#define FIXTURES "tests/migrate/fixtures"
#define MAX_FILE (8 * 1024 * 1024)

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
trim(StrBuf *sb)
{
	while (sb->len > 0 && (sb->data[sb->len - 1] == '\n' || sb->data[sb->len - 1] == '\r'))
		sb->data[--sb->len] = '\0';
}

static char *
quoted(const char *s)
{
	StrBuf q = STRBUF_INIT;

	lab_quote(&q, s);
	return sb_steal(&q);
}

void
mig_path(const MigStack *s, char *out, size_t size, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof(rel), fmt, ap);

	va_end(ap);
	cr_assert(n >= 0 && (size_t) n < sizeof(rel));
	cr_assert(str_format(out, size, "%s/%s", s->root, rel), "path too long");
}

bool
mig_read(const char *path, StrBuf *out, bool missing_ok)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[8192];
	ssize_t n;

	sb_reset(out);
	if (fd < 0)
	{
		cr_assert(missing_ok && errno == ENOENT, "cannot read %s: %s", path, strerror(errno));
		return false;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0)
	{
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert(n > 0, "read %s: %s", path, strerror(errno));
		sb_append(out, buf, (size_t) n);
		cr_assert(out->len <= MAX_FILE, "%s is too large", path);
	}
	close(fd);
	return true;
}

bool
mig_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

mode_t
mig_file_mode(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_mode & 07777;
}

bool
mig_file_contains(const char *path, const char *needle)
{
	StrBuf b = STRBUF_INIT;
	bool found = mig_read(path, &b, true) && memmem(b.data, b.len, needle, strlen(needle)) != NULL;

	sb_free(&b);
	return found;
}

static void
write_file(const char *path, const char *bytes, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert(fd >= 0, "create %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, bytes, len), (ssize_t) len, "write %s", path);
	close(fd);
}

static void
append_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
}

/* Replace every occurrence of from by to in *sb. */
static void
replace_all(StrBuf *sb, const char *from, const char *to)
{
	StrBuf outb = STRBUF_INIT;
	const char *p = sb_str(sb), *hit;
	size_t flen = strlen(from);

	while ((hit = strstr(p, from)) != NULL)
	{
		sb_append(&outb, p, (size_t) (hit - p));
		sb_appends(&outb, to);
		p = hit + flen;
	}
	sb_appends(&outb, p);
	sb_free(sb);
	*sb = outb;
}

/* ---- the stack ----------------------------------------------------------- */

void
mig_stack_init(MigStack *s)
{
	unsigned char rnd[16];
	char tmpl[] = "/tmp/pgfold-mig-XXXXXX", path[PATH_MAX];
	StrBuf env = STRBUF_INIT;

	lab_require();
	memset(s, 0, sizeof(*s));
	cr_assert(access(FIXTURES "/seed.sql", R_OK) == 0,
			  "run the tests from the repository root (" FIXTURES " not found)");
	lab_unique_name("pm", s->id, sizeof(s->id));
	cr_assert_not_null(mkdtemp(tmpl));
	str_copy(s->dir, sizeof(s->dir), tmpl);
	str_format(s->root, sizeof(s->root), "%s/root", s->dir);
	str_copy(s->cwd, sizeof(s->cwd), s->root);
	cr_assert_eq(lab_sh("mkdir -p %s/services %s/overrides %s/backups %s/orig", s->root, s->root,
						s->root, s->dir), 0);

	cr_assert_eq(getrandom(rnd, sizeof(rnd), 0), (ssize_t) sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		str_format(s->admin_pw + 2 * i, 3, "%02x", rnd[i]);
	s->port = pgtest_free_port();
	str_format(s->shared, sizeof(s->shared), "%s-shared", s->id);

	sb_appendf(&env, "# stack of a pgfold migrate lab test\n"
			   "PG_USER=admin\nPG_PASS=%s\nPG_HOST=127.0.0.1\nPG_PORT=%d\n"
			   "PGFOLD_SHARED_CONTAINER=%s\nPGFOLD_SHARED_HOST=postgres\n",
			   s->admin_pw, s->port, s->shared);
	mig_path(s, path, sizeof(path), ".env");
	write_file(path, env.data, env.len, 0600);
	sb_free(&env);
	/* not started yet: destroy must not remove someone else's container */
	s->shared[0] = '\0';
}

/* Point PG_PORT in <root>/.env at port. */
static void
set_env_port(MigStack *s, int old_port, int port)
{
	char path[PATH_MAX], from[32], to[32];
	StrBuf env = STRBUF_INIT;

	mig_path(s, path, sizeof(path), ".env");
	mig_read(path, &env, false);
	str_format(from, sizeof(from), "\nPG_PORT=%d\n", old_port);
	str_format(to, sizeof(to), "\nPG_PORT=%d\n", port);
	replace_all(&env, from, to);
	write_file(path, env.data, env.len, 0600);
	sb_free(&env);
}

void
mig_shared_start(MigStack *s, const char *image)
{
	mig_shared_start_with(s, image, "");
}

void
mig_shared_start_with(MigStack *s, const char *image, const char *run_args)
{
	str_format(s->shared, sizeof(s->shared), "%s-shared", s->id);
	/* a free port can be taken by someone else before the server binds
	 * it (tests run in parallel): then the server exits, try another */
	for (int attempt = 0; attempt < 3; attempt++)
	{
		StrBuf cmd = STRBUF_INIT;

		/* The admin password is a test fixture: in this docker run's argv
		 * it is the test's business, not pgfold's. */
		sb_appendf(&cmd, "docker run -d --label " LAB_LABEL " --name %s --network host "
				   "-e PGPORT=%d -e POSTGRES_USER=admin -e POSTGRES_PASSWORD=%s %s %s "
				   "postgres -c listen_addresses=127.0.0.1 -c log_statement=all >/dev/null",
				   s->shared, s->port, s->admin_pw, run_args, image);
		cr_assert_eq(lab_sh("%s", cmd.data), 0, "docker run %s failed; is the lab up (make lab)?",
					 image);
		sb_free(&cmd);
		if (lab_wait_ready(s->shared, 120))
			break;

		char *state = mig_inspect(s->shared, "{{.State.Status}}");
		bool exited = strcmp(state, "exited") == 0;

		free(state);
		cr_assert(exited && attempt < 2, "shared container %s not ready", s->shared);
		lab_remove(s->shared);

		int port = pgtest_free_port();

		set_env_port(s, s->port, port);
		s->port = port;
	}
	for (int i = 0; i < 300; i++)
	{
		if (lab_sh("docker exec %s pg_isready -q -h 127.0.0.1 -p %d >/dev/null 2>&1",
				   s->shared, s->port) == 0)
			return;
		sleep_ms(200);
	}
	cr_assert_fail("%s does not answer on 127.0.0.1:%d", s->shared, s->port);
}

void
mig_service_add(MigStack *s, const char *fixture, const char *svc, const char *db_image)
{
	char src[PATH_MAX], dst[PATH_MAX];
	StrBuf b = STRBUF_INIT;

	cr_assert_lt(s->service_count, MIG_MAX_SERVICES);
	str_format(src, sizeof(src), FIXTURES "/%s.yml", fixture);
	mig_read(src, &b, false);
	replace_all(&b, "@ID@", s->id);
	replace_all(&b, "@DB_IMAGE@", db_image ? db_image : MIG_PG15);
	replace_all(&b, "@APP_IMAGE@", MIG_PG15);
	mig_path(s, dst, sizeof(dst), "services/%s.yml", svc);
	write_file(dst, b.data, b.len, 0644);
	str_format(dst, sizeof(dst), "%s/orig/%s.yml", s->dir, svc);
	write_file(dst, b.data, b.len, 0644);

	str_format(src, sizeof(src), FIXTURES "/%s.dotenv", fixture);
	if (mig_read(src, &b, true))
	{
		replace_all(&b, "@ID@", s->id);
		mig_path(s, dst, sizeof(dst), ".env");
		append_file(dst, sb_str(&b));
	}
	str_format(src, sizeof(src), FIXTURES "/%s.env", fixture);
	if (mig_read(src, &b, true))
	{
		mig_path(s, dst, sizeof(dst), "services/%s.env", fixture);
		write_file(dst, b.data, b.len, 0644);
	}
	sb_free(&b);
	str_copy(s->services[s->service_count++], sizeof(s->services[0]), svc);
}

int
mig_compose(const MigStack *s, StrBuf *out, const char *fmt, ...)
{
	va_list ap;
	char args[2048], errpath[PATH_MAX];

	va_start(ap, fmt);
	int n = vsnprintf(args, sizeof(args), fmt, ap);

	va_end(ap);
	cr_assert(n >= 0 && (size_t) n < sizeof(args));
	str_format(errpath, sizeof(errpath), "%s/compose.err", s->dir);

	StrBuf tmp = STRBUF_INIT;
	bool ok = lab_sh_capture(out ? out : &tmp, "cd %s && %s --project-directory %s -p %s %s 2>%s",
							 s->root, lab_compose(), s->root, s->id, args, errpath);

	sb_free(&tmp);
	if (!ok)
	{
		fprintf(stderr, "mig: %s %s failed:\n", lab_compose(), args);
		lab_sh("cat %s >&2", errpath);
	}
	return ok ? 0 : 1;
}

void
mig_service_up(MigStack *s, const char *svc, const char *db_container)
{
	cr_assert_eq(mig_compose(s, NULL, "-f services/%s.yml up -d", svc), 0,
				 "compose up of %s failed", svc);
	cr_assert(lab_wait_ready(db_container, 120), "%s not ready", db_container);
}

void
mig_stack_destroy(MigStack *s)
{
	char volumes[PATH_MAX];

	if (s->dir[0] == '\0')
		return;
	/* The volumes the project's containers mount, before they go: compose
	 * recreates an app (new environment) by handing the old container's
	 * anonymous volume to the new one by name, and neither `down -v` nor
	 * `rm -v` removes a volume a container mounts by name. The placeholder
	 * apps run the postgres image, whose VOLUME made one per recreated app:
	 * about 50 left behind by a full run. */
	str_format(volumes, sizeof(volumes), "%s/volumes", s->dir);
	lab_sh("docker ps -aq --filter label=com.docker.compose.project=%s | xargs -r docker inspect "
		   "-f '{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}}{{\"\\n\"}}{{end}}{{end}}' "
		   ">%s 2>/dev/null", s->id, volumes);
	lab_sh("[ -z \"$PGFOLD_TEST_LEDGER\" ] || sed -n 's/^./volume &/p' %s >>\"$PGFOLD_TEST_LEDGER\"",
		   volumes);
	for (size_t i = 0; i < s->service_count; i++)
	{
		char errpath[PATH_MAX];

		/* the pristine file names every container, whatever pgfold did */
		str_format(errpath, sizeof(errpath), "%s/compose.err", s->dir);
		lab_sh("cd %s && %s --project-directory %s -p %s -f %s/orig/%s.yml "
			   "down -v --remove-orphans -t 2 >/dev/null 2>%s", s->root, lab_compose(), s->root,
			   s->id, s->dir, s->services[i], errpath);
	}
	/* whatever compose did not know about (a failed up, a renamed file) */
	lab_sh("docker ps -aq --filter label=com.docker.compose.project=%s | xargs -r docker rm -f -v "
		   ">/dev/null 2>&1", s->id);
	lab_sh("docker volume ls -q --filter label=com.docker.compose.project=%s | "
		   "xargs -r docker volume rm >/dev/null 2>&1", s->id);
	lab_sh("xargs -r docker volume rm <%s >/dev/null 2>&1", volumes);
	if (s->shared[0] != '\0')
		lab_remove(s->shared);
	if (getenv("PGFOLD_TEST_KEEP") != NULL)
		fprintf(stderr, "mig: kept %s (PGFOLD_TEST_KEEP)\n", s->dir);
	else
		lab_sh("rm -rf %s", s->dir);
	memset(s, 0, sizeof(*s));
}

/* ---- SQL ----------------------------------------------------------------- */

/* cmd with stdin from a temporary file holding input; stdout+stderr into
 * *out. */
static bool
run_with_input(StrBuf *out, const char *input, size_t len, const char *cmd)
{
	char tmp[] = "/tmp/pgfold-mig-in-XXXXXX";
	int fd = mkstemp(tmp);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, input, len), (ssize_t) len);
	close(fd);
	sb_reset(out);

	bool ok = lab_sh_capture(out, "%s <%s 2>&1", cmd, tmp);

	unlink(tmp);
	trim(out);
	return ok;
}

bool
mig_sql(StrBuf *out, const char *container, const char *user, const char *db,
		const char *sql, const char *const *vars)
{
	StrBuf cmd = STRBUF_INIT;
	char *c = quoted(container), *u = quoted(user), *d = quoted(db);

	sb_appendf(&cmd, "docker exec -i -e PGTZ=UTC %s psql -X -A -t -q -v ON_ERROR_STOP=1 "
			   "-U %s -d %s", c, u, d);
	for (; vars != NULL && *vars != NULL; vars++)
	{
		sb_appends(&cmd, " -v ");
		lab_quote(&cmd, *vars);
	}
	sb_appends(&cmd, " -f -");

	bool ok = run_with_input(out, sql, strlen(sql), cmd.data);

	free(c);
	free(u);
	free(d);
	sb_free(&cmd);
	return ok;
}

char *
mig_sql_value(const char *container, const char *user, const char *db, const char *sql)
{
	StrBuf out = STRBUF_INIT;
	bool ok = mig_sql(&out, container, user, db, sql, NULL);

	cr_assert(ok, "psql in %s (%s@%s) failed: %s\nSQL: %s", container, user, db, sb_str(&out), sql);
	return sb_steal(&out);
}

char *
mig_shared_value(const MigStack *s, const char *db, const char *sql)
{
	return mig_sql_value(s->shared, "admin", db, sql);
}

bool
mig_sql_as(StrBuf *out, const MigStack *s, const char *role, const char *pwfile,
		   const char *db, const char *sql)
{
	StrBuf cmd = STRBUF_INIT, in = STRBUF_INIT;

	/* the password is the first line on stdin; sh puts it in psql's
	 * environment only */
	mig_read(pwfile, &in, false);
	sb_appendf(&cmd, "docker exec -i %s sh -c 'IFS= read -r PGPASSWORD; export PGPASSWORD; "
			   "exec psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U \"$0\" -d \"$1\" "
			   "-c \"$2\"' ", s->shared, s->port);
	lab_quote(&cmd, role);
	sb_appendc(&cmd, ' ');
	lab_quote(&cmd, db);
	sb_appendc(&cmd, ' ');
	lab_quote(&cmd, sql);

	bool ok = run_with_input(out, in.data, in.len, cmd.data);

	sb_free_secret(&in);
	sb_free(&cmd);
	return ok;
}

void
mig_sql_fixture(const char *container, const char *user, const char *db, const char *name)
{
	char path[PATH_MAX];
	StrBuf sql = STRBUF_INIT, out = STRBUF_INIT;

	str_format(path, sizeof(path), FIXTURES "/%s", name);
	mig_read(path, &sql, false);
	cr_assert(mig_sql(&out, container, user, db, sb_str(&sql), NULL),
			  "%s in %s failed: %s", name, container, sb_str(&out));
	sb_free(&sql);
	sb_free(&out);
}

char *
mig_fingerprint(const char *container, const char *user, const char *db)
{
	char path[PATH_MAX];
	StrBuf sql = STRBUF_INIT;

	str_format(path, sizeof(path), FIXTURES "/fingerprint.sql");
	mig_read(path, &sql, false);

	char *v = mig_sql_value(container, user, db, sb_str(&sql));

	sb_free(&sql);
	return v;
}

/* ---- pgfold ---------------------------------------------------------------- */

static const char *
pgfold_bin(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("PGFOLD_TEST_BIN");

	if (b == NULL || b[0] == '\0')
		b = "build/pgfold";
	cr_assert_not_null(realpath(b, path), "pgfold binary %s not found (make; or set "
					   "PGFOLD_TEST_BIN)", b);
	return path;
}

/* Settings pgfold would take from the environment before <root>/.env. */
static const char *const config_keys[] = {
	"PG_USER", "PG_PASS", "PG_HOST", "PG_PORT", "PGFOLD_SHARED_CONTAINER",
	"PGFOLD_SHARED_HOST", "PGFOLD_SHARED_PORT", "PGFOLD_ROOT", "PGFOLD_FAULT_AFTER",
	"PGFOLD_COMPOSE", NULL
};

void
mig_pgfold_start(MigStack *s, MigProc *p, const char *const *env, const char *const *args)
{
	const char *argv[32];
	size_t n = 0;
	const char *bin = pgfold_bin();

	const char *compose_env = lab_compose_env();

	memset(p, 0, sizeof(*p));
	s->runs++;
	str_format(p->out_path, sizeof(p->out_path), "%s/run-%d.out", s->dir, s->runs);
	str_format(p->err_path, sizeof(p->err_path), "%s/run-%d.err", s->dir, s->runs);
	argv[n++] = "pgfold";
	argv[n++] = "--root";
	argv[n++] = s->root;
	argv[n++] = "--no-color";
	for (; *args != NULL; args++)
	{
		cr_assert_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
		argv[n++] = *args;
	}
	argv[n] = NULL;

	fflush(stdout);
	fflush(stderr);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0)
	{
		int in = open("/dev/null", O_RDONLY);
		int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0
			|| dup2(err, 2) < 0 || chdir(s->cwd) != 0)
			_exit(126);
		for (size_t i = 0; config_keys[i] != NULL; i++)
			unsetenv(config_keys[i]);
		/* the compose the test brought the stack up with; env may override */
		putenv((char *) compose_env);
		for (; env != NULL && *env != NULL; env++)
			putenv((char *) *env);
		execv(bin, (char *const *) argv);
		_exit(127);
	}
}

void
mig_pgfold_wait(MigProc *p, MigRun *r, int timeout_s)
{
	int status = 0;
	pid_t got;
	time_t start = time(NULL);

	memset(r, 0, sizeof(*r));
	while ((got = waitpid(p->pid, &status, WNOHANG)) == 0)
	{
		if (time(NULL) - start > timeout_s)
		{
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			mig_read(p->err_path, &r->err, true);
			cr_assert_fail("pgfold did not finish within %d s; stderr:\n%s", timeout_s,
						   sb_str(&r->err));
		}
		sleep_ms(50);
	}
	cr_assert_eq(got, p->pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status)
		: WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
	mig_read(p->out_path, &r->out, true);
	mig_read(p->err_path, &r->err, true);
}

void
mig_pgfold(MigStack *s, MigRun *r, const char *const *env, ...)
{
	const char *args[24];
	size_t n = 0;
	va_list ap;
	MigProc p;

	va_start(ap, env);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
	{
		cr_assert_lt(n, sizeof(args) / sizeof(args[0]) - 1);
		args[n++] = a;
	}
	va_end(ap);
	args[n] = NULL;
	mig_pgfold_start(s, &p, env, args);
	mig_pgfold_wait(&p, r, 600);
}

void
mig_run_free(MigRun *r)
{
	sb_free(&r->out);
	sb_free(&r->err);
}

void
mig_expect_exit(const MigRun *r, int status, const char *what)
{
	cr_assert_eq(r->status, status, "%s: exit %d, expected %d\n--- stdout:\n%s\n--- stderr:\n%s",
				 what, r->status, status, sb_str(&r->out), sb_str(&r->err));
}

char *
mig_not_ready_reason(const MigRun *r)
{
	const char *p = strstr(sb_str(&r->out), "\nnot ready: ");
	const char *end;

	cr_assert_not_null(p, "plan says no \"not ready\":\n%s", sb_str(&r->out));
	p += strlen("\nnot ready: ");
	end = strchr(p, '\n');
	return xstrndup(p, end ? (size_t) (end - p) : strlen(p));
}

/* ---- small things ---------------------------------------------------------- */

char *
mig_inspect(const char *name, const char *format)
{
	StrBuf out = STRBUF_INIT;
	char *n = quoted(name), *f = quoted(format);

	if (!lab_sh_capture(&out, "docker inspect -f %s %s 2>/dev/null", f, n))
		sb_reset(&out);
	free(n);
	free(f);
	trim(&out);
	return sb_steal(&out);
}

char *
mig_role_password(const MigStack *s, const char *role)
{
	char path[PATH_MAX];
	StrBuf pw = STRBUF_INIT;

	mig_path(s, path, sizeof(path), "etc/.db_passwords/%s.txt", role);
	cr_assert(mig_read(path, &pw, true), "no password file %s", path);
	trim(&pw);
	cr_assert_geq(pw.len, 16, "password in %s is too short", path);
	return sb_steal(&pw);
}

size_t
mig_glob_count(const MigStack *s, const char *pattern)
{
	char path[PATH_MAX];
	glob_t g;
	size_t n = 0;

	mig_path(s, path, sizeof(path), "%s", pattern);
	if (glob(path, 0, NULL, &g) == 0)
		n = g.gl_pathc;
	globfree(&g);
	return n;
}

void
mig_glob_last(const MigStack *s, const char *pattern, char *out, size_t size)
{
	char path[PATH_MAX];
	glob_t g;

	mig_path(s, path, sizeof(path), "%s", pattern);
	cr_assert(glob(path, 0, NULL, &g) == 0 && g.gl_pathc > 0, "no %s", path);
	str_copy(out, size, g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
}

void
mig_glob_one(const MigStack *s, const char *pattern, char *out, size_t size)
{
	char path[PATH_MAX];
	glob_t g;

	mig_path(s, path, sizeof(path), "%s", pattern);
	int rc = glob(path, 0, NULL, &g);

	cr_assert(rc == 0 && g.gl_pathc == 1, "expected exactly one %s, found %zu", path,
			  rc == 0 ? (size_t) g.gl_pathc : (size_t) 0);
	str_copy(out, size, g.gl_pathv[0]);
	globfree(&g);
}

long
mig_count_procs(const char *container, const char *prog)
{
	StrBuf out = STRBUF_INIT;
	long n = -1;

	lab_sh_capture(&out, "docker exec %s sh -c 'for f in /proc/[0-9]*/cmdline; do "
				   "tr \"\\0\" \" \" <$f; echo; done' 2>/dev/null | grep -c '^%s '", container, prog);
	while (out.len > 0 && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	str_to_long(sb_str(&out), 0, 100000, &n);
	sb_free(&out);
	return n;
}

