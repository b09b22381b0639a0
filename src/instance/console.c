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
#include "pgfold/proc.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Run argv with the terminal; our own Ctrl-C handling stays out of the
 * way (psql cancels its query on SIGINT and carries on). */
static int
run_interactive(const char *const *argv, const char *const *env)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	ProcSpec child = {
		.argv = argv, .env = env,
		.stdin_fd = STDIN_FILENO, .stdout_fd = STDOUT_FILENO, .stderr_fd = STDERR_FILENO,
	};
	pid_t pid;
	int rc = EXIT_FAIL;

	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	if (proc_spawn(&child, &pid))
		rc = proc_wait(pid);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return rc < 0 ? EXIT_FAIL : rc;
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
	if (proc_on_path("psql"))
	{
		if (!pgcmd_psql_local(&pc, &app->cfg, db))
			return exit_hint_get();
		rc = run_interactive(pc.argv, pc.env[0] ? pc.env : NULL);
		pgcmd_free(&pc);
		return rc;
	}
	if (app->cfg.shared_container[0] == '\0' || !proc_on_path("docker"))
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
