/*
 * test_secrets.c — the service role's generated password goes exactly
 * where it belongs (etc/.db_passwords, .env, the app's environment) and
 * nowhere else during a whole migration: no process's command line, no
 * environment but the app's, not the run's log or journal, not pgfold's
 * output, not the shared server's statement log (log_statement=all), not
 * the files under backups/, overrides/ or services/.
 *
 * The watcher scans every /proc/<pid>/cmdline and environ of the host
 * (container processes included) many times per second while pgfold runs.
 * Environments of the placeholder app processes (`sleep infinity` and its
 * docker-init) legitimately hold the password and are kept apart: seeing
 * it there proves the watcher reaches container processes.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "migrate/mig.h"

static MigStack stack;

static void
teardown(void)
{
	mig_stack_destroy(&stack);
}

TestSuite(migrate_secrets, .fini = teardown, .timeout = 600);

/* ---- /proc watcher -------------------------------------------------------- */

typedef struct Seen
{
	unsigned long hash;
	char         *blob;        /* "C <cmdline>", "E <environ>" or "A <app environ>" */
} Seen;

typedef struct Watch
{
	pthread_t       thread;
	pthread_mutex_t lock;
	volatile int    stop;
	Seen           *seen;
	size_t          count, cap;
	long            scans;
} Watch;

static unsigned long
fnv(const char *s, size_t len)
{
	unsigned long h = 1469598103934665603UL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) s[i]) * 1099511628211UL;
	return h;
}

/* kind + ' ' + data (NULs as spaces), and for environments the command
 * line after it, so a failure says whose environment it was. */
static void
remember(Watch *w, char kind, const char *data, size_t len, const char *cmd, size_t clen)
{
	size_t total = len + 2 + (cmd ? clen + 8 : 0);
	char *blob = malloc(total + 1), *p = blob;

	cr_assert_not_null(blob);
	*p++ = kind;
	*p++ = ' ';
	for (size_t i = 0; i < len; i++)
		*p++ = data[i] == '\0' ? ' ' : data[i];
	if (cmd != NULL)
	{
		memcpy(p, " [CMD: ", 7);
		p += 7;
		for (size_t i = 0; i < clen; i++)
			*p++ = cmd[i] == '\0' ? ' ' : cmd[i];
		*p++ = ']';
	}
	*p = '\0';

	unsigned long h = fnv(blob, (size_t) (p - blob));

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->count; i++)
		if (w->seen[i].hash == h && strcmp(w->seen[i].blob, blob) == 0)
		{
			pthread_mutex_unlock(&w->lock);
			free(blob);
			return;
		}
	if (w->count == w->cap)
	{
		w->cap = w->cap ? w->cap * 2 : 1024;
		w->seen = xrealloc(w->seen, w->cap, sizeof(Seen));
	}
	w->seen[w->count++] = (Seen) { h, blob };
	pthread_mutex_unlock(&w->lock);
}

static size_t
read_proc(const char *pid, const char *file, char *buf, size_t size)
{
	char path[300];
	size_t len = 0;
	ssize_t n;

	str_format(path, sizeof(path), "/proc/%s/%s", pid, file);

	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while (len < size && (n = read(fd, buf + len, size - len)) > 0)
		len += (size_t) n;
	close(fd);
	return len;
}

static void
scan(Watch *w)
{
	static __thread char cmd[65536], env[262144];
	DIR *d = opendir("/proc");

	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
	{
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;

		/* environ first: a process that execs between the two reads
		 * (runc init becoming the app) then shows its old environment
		 * with its new command line, never the app's environment under
		 * runc's command line */
		size_t elen = read_proc(e->d_name, "environ", env, sizeof(env) - 1);
		size_t clen = read_proc(e->d_name, "cmdline", cmd, sizeof(cmd) - 1);

		cmd[clen] = '\0';
		if (clen > 0)
			remember(w, 'C', cmd, clen, NULL, 0);
		if (elen == 0)
			continue;

		/* cmdline with NULs: "sleep\0infinity" or docker-init's
		 * "/sbin/docker-init\0--\0sleep\0infinity" */
		bool app = false;

		for (size_t i = 0; i + 5 < clen; i++)
			if (memcmp(cmd + i, "sleep", 5) == 0 && (i == 0 || cmd[i - 1] == '\0')
				&& strcmp(cmd + i, "sleep") == 0 && i + 6 < clen
				&& strcmp(cmd + i + 6, "infinity") == 0)
				app = true;
		remember(w, app ? 'A' : 'E', env, elen, cmd, clen);
	}
	closedir(d);
	w->scans++;
}

static void *
watch_main(void *arg)
{
	Watch *w = arg;

	while (!w->stop)
	{
		scan(w);

		struct timespec ts = { 0, 20 * 1000000L };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Blobs of kind containing needle; the first one into *first. */
static size_t
found(Watch *w, char kind, const char *needle, const char **first)
{
	size_t n = 0;

	*first = NULL;
	for (size_t i = 0; i < w->count; i++)
		if (w->seen[i].blob[0] == kind && strstr(w->seen[i].blob, needle) != NULL)
		{
			if (n++ == 0)
				*first = w->seen[i].blob;
		}
	return n;
}

static void
watch_free(Watch *w)
{
	for (size_t i = 0; i < w->count; i++)
		free(w->seen[i].blob);
	free(w->seen);
	pthread_mutex_destroy(&w->lock);
}

/* ---- the test --------------------------------------------------------------- */

static void
assert_not_in(const char *what, const StrBuf *text, const char *pw)
{
	cr_assert_null(memmem(text->data ? text->data : "", text->len, pw, strlen(pw)),
				   "the service password appears in %s", what);
}

/* Every regular file under root/rel must not contain pw. */
static void
assert_not_in_tree(const char *rel, const char *pw)
{
	StrBuf list = STRBUF_INIT, bytes = STRBUF_INIT;

	lab_sh_capture(&list, "cd %s && find %s -type f", stack.root, rel);
	for (char *line = list.data, *nl; line != NULL && *line; line = nl ? nl + 1 : NULL)
	{
		char path[PATH_MAX];

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		mig_path(&stack, path, sizeof(path), "%s", line);
		mig_read(path, &bytes, true);
		cr_assert_null(memmem(bytes.data ? bytes.data : "", bytes.len, pw, strlen(pw)),
					   "the service password appears in %s", path);
	}
	sb_free(&list);
	sb_free(&bytes);
}

Test(migrate_secrets, generated_password_stays_in_its_places)
{
	Watch w;
	MigRun r;
	StrBuf logs = STRBUF_INIT, bytes = STRBUF_INIT;
	char svc[96], path[PATH_MAX];
	const char *hit;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);

	char *fp = mig_seed_service(&stack, &mig_docmost, NULL);

	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	/* ~20 MB more, so the stream lasts long enough for the watcher to
	 * see pg_dump and pg_restore at work */
	free(mig_sql_value(mig_name(&stack, mig_docmost.db_container), "docmost", "docmost",
					   "CREATE TABLE filler AS SELECT g AS id, md5(g::text) || md5((g * 3)::text) "
					   "AS pad FROM generate_series(1, 200000) g"));

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	cr_assert_eq(pthread_create(&w.thread, NULL, watch_main, &w), 0);
	mig_pgfold(&stack, &r, NULL, "-v", "migrate", svc, "--yes", NULL);
	w.stop = 1;
	pthread_join(w.thread, NULL);
	scan(&w);   /* the apps as they run now */
	mig_expect_exit(&r, 0, "migrate");
	mig_assert_migrated(&stack, &mig_docmost, fp);

	char *pw = mig_role_password(&stack, "docmost");

	fprintf(stderr, "migrate_secrets: %ld scans, %zu distinct command lines/environments\n",
			w.scans, w.count);
	cr_assert_gt(w.scans, 5, "the watcher scanned only %ld times", w.scans);
	cr_assert_eq(found(&w, 'C', pw, &hit), 0, "the password is in a command line: %s", hit);
	cr_assert_eq(found(&w, 'E', pw, &hit), 0, "the password is in an environment: %s", hit);
	/* sanity: the watcher does see container processes' environments */
	cr_assert_gt(found(&w, 'A', pw, &hit), 0, "the watcher never saw the app's environment");
	cr_expect_gt(found(&w, 'C', "pg_dump -Fc", &hit) + found(&w, 'C', "pg_restore", &hit), 0,
				 "the watcher saw no pg_dump/pg_restore command line");

	/* pgfold's output, its log, its journal */
	assert_not_in("pgfold's stdout", &r.out, pw);
	assert_not_in("pgfold's stderr", &r.err, pw);
	mig_glob_one(&stack, "backups/postgres-migrations/*.log", path, sizeof(path));
	mig_read(path, &bytes, false);
	cr_assert_gt(bytes.len, 0, "the run's log %s is empty", path);
	assert_not_in("the run's log", &bytes, pw);
	assert_not_in_tree("backups", pw);
	assert_not_in_tree("overrides", pw);
	assert_not_in_tree("services", pw);

	/* the server saw verifiers only */
	lab_sh_capture(&logs, "docker logs %s 2>&1", stack.shared);
	cr_assert_not_null(strstr(sb_str(&logs), "statement: "), "log_statement=all not in effect?");
	assert_not_in("the shared server's log", &logs, pw);

	/* where it does belong */
	mig_path(&stack, path, sizeof(path), ".env");
	cr_assert(mig_file_contains(path, pw), ".env does not carry the password for compose");

	char *mode = NULL;
	StrBuf m = STRBUF_INIT;

	lab_sh_capture(&m, "stat -c %%a %s %s/etc/.db_passwords/docmost.txt", path, stack.root);
	mode = sb_steal(&m);
	cr_expect_str_eq(mode, "600\n600\n", ".env and the password file must be mode 0600: %s", mode);

	free(mode);
	free(pw);
	free(fp);
	watch_free(&w);
	mig_run_free(&r);
	sb_free(&logs);
	sb_free(&bytes);
}

/* ---- what a child of pgfold inherits ---------------------------------------- */

/* Each line "<fd> <target>" of `ls -l /proc/self/fd` run by compose is
 * 0-2, the directory `ls` itself reads (/proc/<pid>/fd) or the stack lock,
 * which compose must hold (an orphaned `up` keeps re-runs out); how many
 * runs. */
static size_t
fds_are_std_and_lock(const char *text, const char *lock)
{
	size_t runs = 0, locks = 0, own = 0;

	for (const char *line = text; *line;)
	{
		size_t len = strcspn(line, "\n");
		const char *target = memchr(line, ' ', len);
		size_t tlen;

		cr_assert_not_null(target, "no target in \"%.*s\"", (int) len, line);
		target++;
		tlen = (size_t) (line + len - target);
		if (line[0] >= '0' && line[0] <= '2' && line[1] == ' ')
			runs += line[0] == '0';
		else if (tlen == strlen(lock) && strncmp(target, lock, tlen) == 0)
			locks++;
		else
		{
			cr_assert(strncmp(target, "/proc/", 6) == 0 && tlen > 9
					  && strncmp(target + tlen - 3, "/fd", 3) == 0,
					  "compose inherited \"%.*s\":\n%s", (int) len, line, text);
			own++;
		}
		line += len + (line[len] == '\n');
	}
	cr_assert_eq(locks, runs, "%zu compose runs, %zu held the stack lock:\n%s", runs, locks,
				 text);
	cr_assert_eq(own, runs, "%s", text);
	return runs;
}

/* compose, run by pgfold with PG_PASS in pgfold's environment (as an
 * operator may pass it), through a wrapper that records what it got: no
 * PG_PASS nor the admin password in its environment, no descriptor but
 * 0-2 and the stack lock, core dumps off. The engine's keep-alive socket and the run log are open in
 * pgfold at that moment. */
Test(migrate_secrets, compose_inherits_no_password_fd_or_core_dumps)
{
	char wrapper[PATH_MAX], rec[PATH_MAX], env_compose[PATH_MAX + 32], env_pass[80], path[PATH_MAX];
	char lock[PATH_MAX];
	StrBuf text = STRBUF_INIT;
	MigRun r;

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	str_format(rec, sizeof(rec), "%s/compose-rec", stack.dir);
	str_format(wrapper, sizeof(wrapper), "%s/compose-wrapper", stack.dir);
	cr_assert_eq(lab_sh("printf '%%s\\n' '#!/bin/sh' "
						"'ls -l /proc/self/fd | sed -n \"s/.* \\([0-9]*\\) -> /\\1 /p\" >> %s.fd' "
						"'env >> %s.env' 'grep \"^Max core file size\" /proc/self/limits >> %s.core' "
						"'exec docker-compose \"$@\"' > %s && chmod +x %s",
						rec, rec, rec, wrapper, wrapper), 0);
	str_format(env_compose, sizeof(env_compose), "PGFOLD_COMPOSE=%s", wrapper);
	str_format(env_pass, sizeof(env_pass), "PG_PASS=%s", stack.admin_pw);

	const char *env[] = { env_compose, env_pass, NULL };

	mig_pgfold(&stack, &r, env, "migrate", mig_svc(&stack, &mig_docmost), "--yes", NULL);
	mig_expect_exit(&r, 0, "migrate through the compose wrapper");
	mig_run_free(&r);

	str_format(path, sizeof(path), "%s.fd", rec);
	mig_read(path, &text, false);
	str_format(lock, sizeof(lock), "%s/.pgfold.lock", stack.root);
	cr_assert_geq(fds_are_std_and_lock(sb_str(&text), lock), 1, "compose never ran:\n%s",
				  sb_str(&text));

	sb_reset(&text);
	str_format(path, sizeof(path), "%s.env", rec);
	mig_read(path, &text, false);
	cr_assert_null(strstr(sb_str(&text), "\nPG_PASS="), "compose got PG_PASS:\n%s", sb_str(&text));
	cr_assert(strncmp(sb_str(&text), "PG_PASS=", 8) != 0, "compose got PG_PASS");
	assert_not_in("compose's environment (admin password)", &text, stack.admin_pw);

	sb_reset(&text);
	str_format(path, sizeof(path), "%s.core", rec);
	mig_read(path, &text, false);
	for (const char *line = sb_str(&text); *line; line = strchr(line, '\n') + 1)
	{
		char soft[32], hard[32];

		cr_assert_eq(sscanf(line, "Max core file size %31s %31s", soft, hard), 2, "%s", line);
		cr_assert(strcmp(soft, "0") == 0 && strcmp(hard, "0") == 0,
				  "compose may dump core: %.*s", (int) strcspn(line, "\n"), line);
	}
	cr_assert_gt(text.len, 0);
	sb_free(&text);
}

/*
 * A password file whose role does not exist (left by an earlier life of
 * the role) is used for the new role, and a migration that then fails must
 * not delete it: the undo drops the role it created, not a file it did not
 * write. The failure comes late, in the files step: the override's path
 * is taken by a directory.
 */
Test(migrate_secrets, undo_keeps_a_password_file_it_did_not_create)
{
	static const char orphan[] = "Orphan-Password-Kept-0123456789\n";
	MigRun r;
	MigSnapshot snap;
	StrBuf after = STRBUF_INIT;
	char svc[96], path[PATH_MAX];

	mig_stack_init(&stack);
	mig_shared_start(&stack, MIG_PG15);
	free(mig_seed_service(&stack, &mig_docmost, NULL));
	str_copy(svc, sizeof(svc), mig_svc(&stack, &mig_docmost));
	cr_assert_eq(lab_sh("mkdir -p %s/overrides/%s-dedicated-postgres.yml", stack.root, svc), 0);

	cr_assert_eq(lab_sh("mkdir -p %s/etc/.db_passwords && chmod 700 %s/etc/.db_passwords",
						stack.root, stack.root), 0);
	mig_path(&stack, path, sizeof(path), "etc/.db_passwords/docmost.txt");

	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(orphan, f);
	fclose(f);
	cr_assert_eq(chmod(path, 0600), 0);
	mig_snapshot(&stack, svc, &snap);

	mig_pgfold(&stack, &r, NULL, "migrate", svc, "--yes", NULL);
	mig_expect_exit(&r, 1, "migrate whose override cannot be written");
	cr_expect_not_null(strstr(sb_str(&r.err), "-dedicated-postgres.yml"),
					   "the failure is not the override's:\n%s", sb_str(&r.err));
	mig_run_free(&r);

	cr_assert(mig_read(path, &after, true), "the undo removed %s, which it did not create", path);
	cr_assert(after.len == sizeof(orphan) - 1 && memcmp(after.data, orphan, after.len) == 0,
			  "%s changed: \"%s\"", path, sb_str(&after));

	/* and everything else is undone: the role it created is gone */
	const char *running[] = { mig_name(&stack, mig_docmost.apps[0]),
							  mig_name(&stack, mig_docmost.others[0]),
							  mig_name(&stack, mig_docmost.db_container), NULL };

	mig_assert_unchanged(&stack, svc, &snap, running);
	mig_path(&stack, path, sizeof(path), "backups/postgres-migrations/%s.journal", svc);
	cr_expect(mig_file_contains(path, "\"action\":\"created-from-file\""),
			  "the journal does not record that the password file was reused");
	mig_snapshot_free(&snap);
	sb_free(&after);
}
