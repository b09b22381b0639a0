/*
 * console.c — `db console`: an interactive psql on a database of the
 * shared instance.
 *
 * The host's psql is preferred: it gets the terminal as it is, and the
 * password through a 0600 passfile pgcmd writes and removes (never argv,
 * never PGPASSWORD). Without one, `docker exec -it` runs psql in the shared
 * container over its local socket; the engine API client of pgfold does not
 * drive terminals, the docker CLI does.
 */
#include "pgfold/instance.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/pgcmd.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool
on_path(const char *program)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX], full[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;)
	{
		size_t n = strcspn(p, ":");

		if (n > 0 && str_format(dir, sizeof(dir), "%.*s", (int) n, p)
			&& str_format(full, sizeof(full), "%s/%s", dir, program) && access(full, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* Run argv with the terminal; our own Ctrl-C handling stays out of the
 * way (psql cancels its query on SIGINT and carries on). */
static int
run_interactive(const char *const *argv, const char *const *env)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	int status = 0;
	pid_t pid;

	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid == 0)
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		for (; env != NULL && *env != NULL; env++)
			putenv((char *) *env);
		execvp(argv[0], (char *const *) argv);
		_exit(127);
	}
	if (pid < 0)
		log_error("cannot start %s: %s", argv[0], strerror(errno));
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (pid < 0)
		return EXIT_FAIL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
instance_console(App *app, const char *db)
{
	InstanceDb info;
	PgCommand pc;
	int rc;

	if (db == NULL)
		db = PG_MAINTENANCE_DB;
	if (!instance_db_require(app, db, &info))
		return exit_hint_get();
	instance_db_free(&info);
	if (on_path("psql"))
	{
		if (!pgcmd_psql_local(&pc, &app->cfg, db))
			return exit_hint_get();
		rc = run_interactive(pc.argv, pc.env[0] ? pc.env : NULL);
		pgcmd_free(&pc);
		return rc;
	}
	if (app->cfg.shared_container[0] == '\0' || !on_path("docker"))
	{
		log_error("no psql on this host%s; install postgresql-client",
				  app->cfg.shared_container[0] ? " and no docker CLI to exec one in the shared "
				  "container" : "");
		return EXIT_FAIL;
	}

	char conninfo[512];

	if (!pgcmd_dbname_conninfo(db, conninfo, sizeof(conninfo)))
		return EXIT_FAIL;

	/* -t only with a terminal: piped SQL must not go through a pty */
	const char *argv[] = { "docker", "exec", isatty(STDIN_FILENO) ? "-it" : "-i",
						   app->cfg.shared_container, "psql", "-U", app->cfg.pg_user,
						   "-d", conninfo, NULL };

	return run_interactive(argv, NULL);
}
