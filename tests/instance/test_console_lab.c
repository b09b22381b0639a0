/*
 * test_console_lab.c — `db console` with the host's psql: the admin's
 * passfile is not written through a link planted at the old predictable
 * /tmp name, lives in a fresh 0700 directory while psql runs, and is gone
 * afterwards, also after a Ctrl-C. See ifix.h.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "instance/ifix.h"
#include "lab.h"
#include "pgfold/exitcodes.h"

static Ifx x;
static char planted[PATH_MAX];
static pid_t child = -1;

static void
fini(void)
{
	if (child > 0)
	{
		kill(-child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	if (planted[0] != '\0')
		unlink(planted);
	ifx_destroy(&x);
}

TestSuite(instance_console_lab, .fini = fini, .timeout = 300);

static const char *
bin(void)
{
	const char *b = getenv("PGFOLD_TEST_BIN");

	return b && *b ? b : "build/pgfold";
}

static char *
slurp(const char *path)
{
	StrBuf b = STRBUF_INIT;

	lab_sh_capture(&b, "cat %s", path);
	return sb_steal(&b);
}

/* The value after "key=" on its own line of text, into out. */
static void
field(const char *text, const char *key, char *out, size_t size)
{
	const char *p = strstr(text, key);

	cr_assert_not_null(p, "no %s in:\n%s", key, text);
	p += strlen(key);
	cr_assert(str_format(out, size, "%.*s", (int) strcspn(p, "\n"), p));
}

Test(instance_console_lab, passfile_ignores_a_planted_link_and_is_removed)
{
	char victim[PATH_MAX], pidfile[PATH_MAX], passfile[PATH_MAX], dir[PATH_MAX];
	char line[PATH_MAX + 64];
	StrBuf cmd = STRBUF_INIT;
	struct stat st;

	cr_assert_eq(lab_sh("command -v psql >/dev/null"), 0, "this test needs psql on the host");
	ifx_init(&x, "pgfold-lab/postgres:15");
	ifx_local_clients(&x);
	str_format(victim, sizeof(victim), "%s/victim", x.dir);
	str_format(pidfile, sizeof(pidfile), "%s/pid", x.dir);
	cr_assert_eq(lab_sh("printf 'untouched\\n' > %s", victim), 0);

	/* The shell plants the link at /tmp/pgfold-pgpass-<its pid>, then
	 * becomes pgfold (exec keeps the pid); psql's \! shows what the
	 * passfile looks like while it runs. No XDG_RUNTIME_DIR, as under sudo. */
	sb_appendf(&cmd, "cd %s && printf '%%s' ", x.dir);
	lab_quote(&cmd, "\\! d=$(dirname \"$PGPASSFILE\"); echo \"WHERE=$PGPASSFILE\"; "
			  "echo \"DIRMODE=$(stat -c '%a %u %F' \"$d\")\"; "
			  "echo \"FILEMODE=$(stat -c '%a %u %F' \"$PGPASSFILE\")\"\n"
			  "SELECT 'logged in ' || current_user;\n");
	sb_appendf(&cmd, " | env -u XDG_RUNTIME_DIR sh -c 'echo $$ > %s; ln -s %s "
			   "/tmp/pgfold-pgpass-$$ && exec \"$0\" \"$@\"' ", pidfile, victim);
	lab_quote(&cmd, bin());
	sb_appendf(&cmd, " --root %s --no-color db console >%s/out 2>%s/err", x.root, x.dir, x.dir);
	int rc = lab_sh("%s", cmd.data);

	sb_free(&cmd);

	char out[PATH_MAX], want[64];

	str_format(out, sizeof(out), "%s/out", x.dir);

	char *pid = slurp(pidfile), *text = slurp(out);

	str_format(planted, sizeof(planted), "/tmp/pgfold-pgpass-%ld", strtol(pid, NULL, 10));
	cr_assert_eq(rc, 0, "console failed (%d):\n%s", rc, text);
	cr_assert_not_null(strstr(text, "logged in admin"), "psql did not log in:\n%s", text);
	field(text, "WHERE=", passfile, sizeof(passfile));
	field(text, "DIRMODE=", line, sizeof(line));
	str_format(want, sizeof(want), "700 %ld directory", (long) geteuid());
	cr_assert_str_eq(line, want, "the passfile's directory: %s", line);
	field(text, "FILEMODE=", line, sizeof(line));
	str_format(want, sizeof(want), "600 %ld regular file", (long) geteuid());
	cr_assert_str_eq(line, want, "the passfile: %s", line);
	cr_assert_str_neq(passfile, planted);

	char *v = slurp(victim);

	cr_assert_str_eq(v, "untouched\n", "the planted link was followed");
	cr_assert_eq(lstat(planted, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert(str_copy(dir, sizeof(dir), passfile) && strrchr(dir, '/') != NULL);
	*strrchr(dir, '/') = '\0';
	cr_assert_neq(lstat(passfile, &st), 0, "%s is still there", passfile);
	cr_assert_neq(lstat(dir, &st), 0, "%s is still there", dir);
	free(v);
	free(pid);
	free(text);
}

/* Ctrl-C at the terminal reaches psql and pgfold alike (one process
 * group): psql stops, pgfold still removes the passfile. */
Test(instance_console_lab, ctrl_c_removes_the_passfile)
{
	char run[PATH_MAX], outp[PATH_MAX], errp[PATH_MAX];
	int in[2], status = 0;
	const char *b = bin();

	cr_assert_eq(lab_sh("command -v psql >/dev/null"), 0, "this test needs psql on the host");
	ifx_init(&x, "pgfold-lab/postgres:15");
	str_format(run, sizeof(run), "%s/run", x.dir);
	str_format(outp, sizeof(outp), "%s/out", x.dir);
	str_format(errp, sizeof(errp), "%s/err", x.dir);
	cr_assert_eq(mkdir(run, 0700), 0);
	cr_assert_eq(pipe(in), 0);
	fflush(NULL);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
	{
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		setpgid(0, 0);
		dup2(in[0], STDIN_FILENO);
		dup2(o, STDOUT_FILENO);
		dup2(e, STDERR_FILENO);
		close(in[1]);
		setenv("XDG_RUNTIME_DIR", run, 1);
		execl(b, b, "--root", x.root, "--no-color", "db", "console", (char *) NULL);
		_exit(127);
	}
	setpgid(child, child);
	close(in[0]);
	cr_assert_eq(write(in[1], "SELECT pg_sleep(120);\n", 22), 22);
	close(in[1]);

	/* wait until psql is inside its query: the passfile exists then */
	char *n = NULL;

	for (int i = 0; i < 300; i++)
	{
		free(n);
		n = ifx_value(&x, "postgres", "SELECT count(*) FROM pg_stat_activity "
					  "WHERE query LIKE 'SELECT pg_sleep(120)%'");
		if (strcmp(n, "1") == 0)
			break;
		usleep(100 * 1000);
	}
	cr_assert_str_eq(n, "1", "psql never started its query:\n%s", slurp(errp));
	free(n);
	cr_assert_eq(lab_sh("test $(ls -A %s | wc -l) -eq 1", run), 0,
				 "no private directory for the passfile while psql runs");

	cr_assert_eq(kill(-child, SIGINT), 0);

	pid_t done = 0;

	for (int i = 0; i < 300 && (done = waitpid(child, &status, WNOHANG)) == 0; i++)
		usleep(100 * 1000);
	cr_assert_eq(done, child, "pgfold did not exit within 30 s of Ctrl-C");
	child = -1;
	cr_assert(WIFEXITED(status), "pgfold was killed (status %#x):\n%s", status, slurp(errp));
	cr_assert_eq(lab_sh("test -z \"$(ls -A %s)\"", run), 0,
				 "the passfile's directory is still in %s after Ctrl-C", run);
}
