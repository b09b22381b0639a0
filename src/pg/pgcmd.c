/*
 * pgcmd.c — see pgcmd.h.
 */
#include "pgfold/pgcmd.h"

#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/pg.h"
#include "pgfold/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
pgcmd_dbname_conninfo(const char *db, char *out, size_t size)
{
	StrBuf sb = STRBUF_INIT;
	bool ok;

	sb_appends(&sb, "dbname='");
	for (const char *p = db; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			sb_appendc(&sb, '\\');
		sb_appendc(&sb, *p);
	}
	sb_appendc(&sb, '\'');
	ok = str_copy(out, size, sb_str(&sb));
	sb_free(&sb);
	if (!ok)
		log_error("database name too long: %s", db);
	return ok;
}

static const char *
own(PgCommand *pc, const char *s)
{
	char *copy = xstrdup(s);

	pc->owned[pc->owned_count++] = copy;
	return copy;
}

/* label: "<tool> of|into "<db>" in <where>" for every message about it */
static void
start(PgCommand *pc, const char *container, const char *tool, const char *db,
	  const char *where)
{
	memset(pc, 0, sizeof(*pc));
	str_format(pc->label, sizeof(pc->label), "%s \"%s\" in %s", tool, db, where);
	pc->cmd.container = container;
	pc->cmd.argv = pc->argv;
	pc->cmd.label = pc->label;
}

static bool
add_db(PgCommand *pc, size_t *n, const char *db)
{
	char conninfo[512];

	if (!pgcmd_dbname_conninfo(db, conninfo, sizeof(conninfo)))
		return false;
	pc->argv[(*n)++] = "-d";
	pc->argv[(*n)++] = own(pc, conninfo);
	return true;
}

/* "-U user -d db" and the terminator: a client inside a container
 * connects over the local socket as user. */
static bool
finish_in_container(PgCommand *pc, size_t n, const char *user, const char *db)
{
	char port[16];
	int p = pgx_container_port(NULL, pc->cmd.container);

	/* a port on the server's command line, known from the psql calls
	 * before this one (pg.h: pgx_container_port) */
	if (p > 0 && str_format(port, sizeof(port), "%d", p))
	{
		pc->argv[n++] = "-p";
		pc->argv[n++] = own(pc, port);
	}
	pc->argv[n++] = "-U";
	pc->argv[n++] = own(pc, user);
	if (!add_db(pc, &n, db))
		return false;
	pc->argv[n] = NULL;
	return true;
}

bool
pgcmd_dump_in_container(PgCommand *pc, const char *container, const char *user,
						const char *db)
{
	size_t n = 0;

	start(pc, container, "pg_dump of", db, container);
	pc->argv[n++] = "pg_dump";
	pc->argv[n++] = "-Fc";
	return finish_in_container(pc, n, user, db);
}

/* A local client reaches the shared instance over TCP with the admin
 * password from a private passfile. */
static bool
write_passfile(PgCommand *pc, const Config *cfg)
{
	StrBuf line = STRBUF_INIT;
	const char *fields[] = { cfg->pg_host, NULL, "*", cfg->pg_user, cfg->pg_pass ? cfg->pg_pass : "" };
	char port[16];
	bool ok;

	str_format(port, sizeof(port), "%d", cfg->pg_port);
	fields[1] = port;
	for (size_t f = 0; f < 5; f++)
	{
		if (f > 0)
			sb_appendc(&line, ':');
		for (const char *p = fields[f]; *p; p++)
		{
			if (*p == ':' || *p == '\\')
				sb_appendc(&line, '\\');
			sb_appendc(&line, *p);
		}
	}
	sb_appendc(&line, '\n');

	const char *dir = getenv("XDG_RUNTIME_DIR");

	/* Under sudo there is usually no XDG_RUNTIME_DIR: /tmp, where anyone
	 * may plant links, so never at a name known in advance. */
	ok = fs_private_write(&pc->passfile, dir && dir[0] == '/' ? dir : "/tmp", "pgpass",
						  line.data, line.len);
	sb_free_secret(&line);
	if (!ok)
		return false;

	char env[PATH_MAX + 16];

	str_format(env, sizeof(env), "PGPASSFILE=%s", pc->passfile.path);
	pc->env[0] = own(pc, env);
	pc->env[1] = NULL;
	pc->cmd.env = pc->env;
	return true;
}

/* -U user -h host -p port -w, and the passfile: a client on this host. */
static bool
add_local_target(PgCommand *pc, const Config *cfg, size_t *n)
{
	char port[16];

	pc->argv[(*n)++] = "-U";
	pc->argv[(*n)++] = own(pc, cfg->pg_user);
	str_format(port, sizeof(port), "%d", cfg->pg_port);
	pc->argv[(*n)++] = "-h";
	pc->argv[(*n)++] = own(pc, cfg->pg_host);
	pc->argv[(*n)++] = "-p";
	pc->argv[(*n)++] = own(pc, port);
	pc->argv[(*n)++] = "-w";   /* never prompt: the passfile has it or it fails */
	return write_passfile(pc, cfg);
}

static bool
add_shared_target(PgCommand *pc, const Config *cfg, size_t *n)
{
	if (cfg->shared_container[0] != '\0')
	{
		pc->argv[(*n)++] = "-U";
		pc->argv[(*n)++] = own(pc, cfg->pg_user);
		return true;
	}
	return add_local_target(pc, cfg, n);
}

/* A builder that fails after the passfile was written removes it: callers
 * may return without pgcmd_free. */
static bool
built(PgCommand *pc, bool ok)
{
	if (!ok)
		pgcmd_free(pc);
	return ok;
}

bool
pgcmd_dump_shared(PgCommand *pc, const Config *cfg, const char *db)
{
	return pgcmd_dump_shared_at(pc, cfg, db, NULL);
}

/* A snapshot id is the server's ("00000003-0000001B-1"), but it still goes
 * into argv: only hex digits and dashes pass. */
static bool
snapshot_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F') || (*p >= 'a' && *p <= 'f')
			  || *p == '-'))
			return false;
	return true;
}

bool
pgcmd_dump_shared_at(PgCommand *pc, const Config *cfg, const char *db, const char *snapshot)
{
	size_t n = 0;
	const char *where = cfg->shared_container[0] ? cfg->shared_container : "the shared instance";

	start(pc, cfg->shared_container[0] ? cfg->shared_container : NULL,
		  "pg_dump of", db, where);
	pc->argv[n++] = "pg_dump";
	pc->argv[n++] = "-Fc";
	if (snapshot != NULL)
	{
		char arg[96];

		if (!snapshot_valid(snapshot))
		{
			log_error("unexpected snapshot id from the server: %s", snapshot);
			return false;
		}
		str_format(arg, sizeof(arg), "--snapshot=%s", snapshot);
		pc->argv[n++] = own(pc, arg);
	}
	if (!built(pc, add_shared_target(pc, cfg, &n) && add_db(pc, &n, db)))
		return false;
	pc->argv[n] = NULL;
	return true;
}

bool
pgcmd_dumpall_globals_shared(PgCommand *pc, const Config *cfg)
{
	size_t n = 0;
	const char *where = cfg->shared_container[0] ? cfg->shared_container : "the shared instance";

	start(pc, cfg->shared_container[0] ? cfg->shared_container : NULL, "", "", "");
	str_format(pc->label, sizeof(pc->label), "pg_dumpall --globals-only in %s", where);
	pc->argv[n++] = "pg_dumpall";
	pc->argv[n++] = "--globals-only";
	if (!built(pc, add_shared_target(pc, cfg, &n)))
		return false;
	pc->argv[n] = NULL;
	return true;
}

/* The flags every restore uses: ownership and grants are the target's
 * business, and the first error stops it (never "errors ignored"). */
static size_t
restore_flags(PgCommand *pc)
{
	size_t n = 0;

	pc->argv[n++] = "pg_restore";
	pc->argv[n++] = "--no-owner";
	pc->argv[n++] = "--no-acl";
	pc->argv[n++] = "--exit-on-error";
	return n;
}

bool
pgcmd_restore_shared(PgCommand *pc, const Config *cfg, const char *db)
{
	return pgcmd_restore_shared_part(pc, cfg, db, PGCMD_WHOLE);
}

bool
pgcmd_restore_shared_part(PgCommand *pc, const Config *cfg, const char *db, PgcmdPart part)
{
	const char *where = cfg->shared_container[0] ? cfg->shared_container : "the shared instance";
	size_t n;

	start(pc, cfg->shared_container[0] ? cfg->shared_container : NULL,
		  "pg_restore into", db, where);
	n = restore_flags(pc);
	if (part == PGCMD_PRE_DATA_AND_DATA)
	{
		pc->argv[n++] = "--section=pre-data";
		pc->argv[n++] = "--section=data";
	}
	if (!built(pc, add_shared_target(pc, cfg, &n) && add_db(pc, &n, db)))
		return false;
	pc->argv[n] = NULL;
	return true;
}

bool
pgcmd_restore_shared_post_data(PgCommand *pc, const Config *cfg, const char *db,
							   const char *file, int jobs, bool local)
{
	char jarg[32];
	size_t n;
	bool ok;

	if (!local && cfg->shared_container[0] == '\0')
	{
		log_error("no shared container to run pg_restore in");
		return false;
	}
	/* a positional argument: never one pg_restore could take for an option */
	if (file[0] != '/')
	{
		log_error("the dump for pg_restore -j must be an absolute path, not \"%s\"", file);
		return false;
	}
	start(pc, local ? NULL : cfg->shared_container, "pg_restore -j of", db,
		  local ? "this host" : cfg->shared_container);
	str_format(pc->label, sizeof(pc->label), "pg_restore -j %d --section=post-data into \"%s\" %s %s",
			   jobs, db, local ? "on" : "in", local ? "this host" : cfg->shared_container);
	n = restore_flags(pc);
	str_format(jarg, sizeof(jarg), "--jobs=%d", jobs);
	pc->argv[n++] = own(pc, jarg);
	pc->argv[n++] = "--section=post-data";
	if (local)
		ok = add_local_target(pc, cfg, &n);
	else
	{
		pc->argv[n++] = "-U";
		pc->argv[n++] = own(pc, cfg->pg_user);
		ok = true;
	}
	if (!built(pc, ok && add_db(pc, &n, db)))
		return false;
	pc->argv[n++] = own(pc, file);
	pc->argv[n] = NULL;
	return true;
}

int
pgcmd_version_major(const char *text)
{
	const char *p = strstr(text, "(PostgreSQL) ");
	long v = 0;
	char num[8];
	size_t i = 0;

	if (p == NULL)
		return -1;
	for (p += 13; i < sizeof(num) - 1 && *p >= '0' && *p <= '9'; p++)
		num[i++] = *p;
	num[i] = '\0';
	return str_to_long(num, 1, 1000, &v) ? (int) v : -1;
}

int
pgcmd_local_restore_major(void)
{
	const char *argv[] = { "pg_restore", "--version", NULL };
	char buf[256] = "";
	int fds[2];
	pid_t pid;

	if (!proc_on_path("pg_restore") || pipe2(fds, O_CLOEXEC) != 0)
		return -1;

	ProcSpec child = { .argv = argv, .stdin_fd = PROC_DEVNULL, .stdout_fd = fds[1],
					   .stderr_fd = PROC_DEVNULL };
	bool started = proc_spawn(&child, &pid);
	size_t len = 0;
	ssize_t n;

	close(fds[1]);
	while (started && len < sizeof(buf) - 1
		   && ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t) n : 0;
	buf[len] = '\0';
	close(fds[0]);
	if (!started)
		return -1;
	proc_wait(pid);
	return pgcmd_version_major(buf);
}

bool
pgcmd_restore_in_container(PgCommand *pc, const char *container, const char *user,
						   const char *db)
{
	size_t n;

	start(pc, container, "pg_restore into", db, container);
	n = restore_flags(pc);
	return finish_in_container(pc, n, user, db);
}

bool
pgcmd_psql_local(PgCommand *pc, const Config *cfg, const char *db)
{
	size_t n = 0;

	start(pc, NULL, "psql on", db, "this host");
	pc->argv[n++] = "psql";
	if (!built(pc, add_local_target(pc, cfg, &n) && add_db(pc, &n, db)))
		return false;
	pc->argv[n] = NULL;
	return true;
}

bool
pgcmd_archive_script(PgCommand *pc, const char *container)
{
	start(pc, container, "pg_restore", "", "");
	str_format(pc->label, sizeof(pc->label), "pg_restore reading the archive %s %s",
			   container ? "in" : "on", container ? container : "this host");
	pc->argv[0] = "pg_restore";
	pc->argv[1] = "-f";     /* pg_restore 12+ wants the script's destination named */
	pc->argv[2] = "-";
	pc->argv[3] = NULL;
	return true;
}

void
pgcmd_free(PgCommand *pc)
{
	fs_private_remove(&pc->passfile);
	for (size_t i = 0; i < pc->owned_count; i++)
		free(pc->owned[i]);
	memset(pc, 0, sizeof(*pc));
}
