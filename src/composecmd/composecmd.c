/*
 * composecmd.c — running the operator's compose for a service file.
 *
 * PGFOLD_COMPOSE names the command ("docker compose", "docker-compose",
 * "podman-compose"); when unset, `docker compose` is used if the plugin
 * answers, else `docker-compose`. Every invocation names the project
 * directory (the stack root, so compose reads <root>/.env, the file pgfold
 * writes) and the project name the service's containers already run under,
 * so compose recreates those containers instead of starting a twin set.
 */
#include "pgfold/composecmd.h"

#include "pgfold/log.h"
#include "pgfold/proc.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_COMPOSE_WORDS 8

/*
 * Is the compose v2 plugin installed? The docker CLI looks for it in these
 * directories; checking them spares a fork of the CLI (tens of MiB, and
 * time) just to ask.
 */
static bool
plugin_installed(void)
{
	static const char *const dirs[] = {
		"/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins",
	};
	char path[PATH_MAX];
	const char *home = getenv("HOME");
	const char *config = getenv("DOCKER_CONFIG");

	if (config != NULL && config[0] != '\0'
		&& str_format(path, sizeof(path), "%s/cli-plugins/docker-compose", config)
		&& access(path, X_OK) == 0)
		return true;
	if (home != NULL && home[0] != '\0'
		&& str_format(path, sizeof(path), "%s/.docker/cli-plugins/docker-compose", home)
		&& access(path, X_OK) == 0)
		return true;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (str_format(path, sizeof(path), "%s/docker-compose", dirs[i]) && access(path, X_OK) == 0)
			return true;
	return false;
}

/*
 * Which compose: PGFOLD_COMPOSE when set; else the major that created the
 * service's containers (their com.docker.compose.version label), when that
 * one is installed: v1 and v2 name containers differently (_1 / -1), so
 * the other would create a second set instead of recreating these; else
 * the v2 plugin if installed, else docker-compose.
 */
static size_t
compose_words(const App *app, const ComposeInvocation *inv, char *words[MAX_COMPOSE_WORDS])
{
	static int detected = -1;
	size_t n = 0;
	const char *made_by = inv != NULL ? inv->compose_version : NULL;

	if (app->cfg.compose_cmd[0] != '\0')
	{
		char copy[sizeof(app->cfg.compose_cmd)];
		char *save = NULL;

		str_copy(copy, sizeof(copy), app->cfg.compose_cmd);
		for (char *w = strtok_r(copy, " \t", &save); w && n < MAX_COMPOSE_WORDS;
			 w = strtok_r(NULL, " \t", &save))
			words[n++] = xstrdup(w);
		return n;
	}
	if (detected < 0)
		detected = plugin_installed() ? 1 : 0;
	if (made_by != NULL && made_by[0] == '1' && made_by[1] == '.' && proc_on_path("docker-compose"))
		words[n++] = xstrdup("docker-compose");
	else if (made_by != NULL && made_by[0] == '2' && made_by[1] == '.' && plugin_installed())
	{
		words[n++] = xstrdup("docker");
		words[n++] = xstrdup("compose");
	}
	else if (detected)
	{
		words[n++] = xstrdup("docker");
		words[n++] = xstrdup("compose");
	}
	else
		words[n++] = xstrdup("docker-compose");
	return n;
}

char **
composecmd_argv(App *app, const ComposeInvocation *inv, const char *const *more_files,
			 const char *const *extra)
{
	char *words[MAX_COMPOSE_WORDS];
	size_t nw = compose_words(app, inv, words);
	size_t nm = str_vec_len(more_files), ne = str_vec_len(extra);
	char **argv = xcalloc(nw + 4 + 2 * (inv->env_file_count + inv->file_count + nm) + ne + 1,
						  sizeof(char *));
	size_t k = 0;

	for (size_t i = 0; i < nw; i++)
		argv[k++] = words[i];
	argv[k++] = xstrdup("--project-directory");
	argv[k++] = xstrdup(inv->project_dir);
	argv[k++] = xstrdup("-p");
	argv[k++] = xstrdup(inv->project);
	for (size_t i = 0; i < inv->env_file_count; i++)
	{
		argv[k++] = xstrdup("--env-file");
		argv[k++] = xstrdup(inv->env_files[i]);
	}
	/* compose resolves -f against its own working directory, not the
	 * project directory: absolute paths work from wherever pgfold (or an
	 * operator pasting the printed command) runs */
	for (size_t i = 0; i < inv->file_count; i++)
	{
		argv[k++] = xstrdup("-f");
		argv[k++] = xstrdup(inv->files[i]);
	}
	for (size_t i = 0; i < nm; i++)
	{
		StrBuf f = STRBUF_INIT;

		if (more_files[i][0] == '/')
			sb_appends(&f, more_files[i]);
		else
			sb_appendf(&f, "%s/%s", app->cfg.root, more_files[i]);
		argv[k++] = xstrdup("-f");
		argv[k++] = sb_steal(&f);
	}
	for (size_t i = 0; i < ne; i++)
		argv[k++] = xstrdup(extra[i]);
	argv[k] = NULL;
	return argv;
}

char **
composecmd_up_args(const ComposeInvocation *inv, const StackService *svc, int skip,
				   char *const *others)
{
	size_t n = svc->loaded ? svc->file.service_count : 0;
	char **argv = xcalloc(3 + 1 + n + 1, sizeof(char *));
	bool foreign = others != NULL && others[0] != NULL;
	size_t k = 0;

	argv[k++] = xstrdup("up");
	argv[k++] = xstrdup("-d");
	/* one file of a bigger project: `up -d` alone would also start (or
	 * recreate) every other file's services; one big file with other dbs:
	 * theirs, and anything the operator stopped */
	if (inv->file_count > 1 || foreign)
	{
		argv[k++] = xstrdup("--no-deps");
		for (size_t i = 0; i < n; i++)
			if ((int) i != skip && !stack_others_has(others, svc->file.services[i].key))
				argv[k++] = xstrdup(svc->file.services[i].key);
	}
	argv[k] = NULL;
	return argv;
}

void
composecmd_argv_free(char **argv)
{
	str_vec_free(argv);
}

static bool
needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s; s++)
		if (!(((*s | 32) >= 'a' && (*s | 32) <= 'z') || (*s >= '0' && *s <= '9')
			  || strchr("-_./=:@,+", *s) != NULL))
			return true;
	return false;
}

bool
composecmd_line(char *const *argv, StrBuf *out)
{
	for (size_t i = 0; argv[i] != NULL; i++)
	{
		if (i > 0)
			sb_appendc(out, ' ');
		if (!needs_quotes(argv[i]))
		{
			sb_appends(out, argv[i]);
			continue;
		}
		sb_appendc(out, '\'');
		for (const char *p = argv[i]; *p; p++)
		{
			if (*p == '\'')
				sb_appends(out, "'\\''");
			else
				sb_appendc(out, *p);
		}
		sb_appendc(out, '\'');
	}
	return true;
}

/* Log compose's output line by line: it says what it recreated. */
static void
log_output(const char *text, size_t len, const char *what)
{
	StrBuf line = STRBUF_INIT;

	for (size_t i = 0; i < len; i++)
	{
		if (text[i] == '\n')
		{
			log_info("%s: %s", what, sb_str(&line));
			sb_reset(&line);
		}
		else if (line.len < 1024)
			sb_appendc(&line, text[i]);
	}
	if (line.len > 0)
		log_info("%s: %s", what, sb_str(&line));
	sb_free(&line);
}

/* Everything a capture keeps: compose's answers are a few lines. */
#define COMPOSE_CAPTURE_MAX (1024 * 1024)

/* The memory file's bytes from the start, at most COMPOSE_CAPTURE_MAX. */
static void
read_back(int fd, StrBuf *out)
{
	char buf[4096];
	ssize_t n;
	off_t at = 0;

	while ((n = pread(fd, buf, sizeof(buf), at)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
		{
			at += n;
			if (out->len + (size_t) n <= COMPOSE_CAPTURE_MAX)
				sb_append(out, buf, (size_t) n);
		}
}

static void
job_close(ComposeJob *job)
{
	if (job->out_fd >= 0)
		close(job->out_fd);
	if (job->err_fd >= 0)
		close(job->err_fd);
	job->out_fd = job->err_fd = -1;
	job->pid = -1;
	sb_free(&job->cmdline);
}

bool
composecmd_start(char *const *argv, const char *what, bool quiet, bool capture, ComposeJob *job)
{
	memset(job, 0, sizeof(*job));
	job->pid = job->out_fd = job->err_fd = -1;
	job->quiet = quiet;
	str_copy(job->what, sizeof(job->what), what);
	composecmd_line(argv, &job->cmdline);
	if (!quiet)
		log_info("running %s", sb_str(&job->cmdline));
	/* memory files, not pipes: the child never blocks on output the
	 * caller reads only when it is done */
	job->out_fd = memfd_create("pgfold-compose-out", MFD_CLOEXEC);
	/* not captured, both streams tell in one file what compose did, in
	 * the order it said it */
	job->err_fd = job->out_fd < 0 ? -1
		: capture ? memfd_create("pgfold-compose-err", MFD_CLOEXEC)
		: fcntl(job->out_fd, F_DUPFD_CLOEXEC, 0);
	if (job->err_fd < 0)
	{
		log_error("%s: cannot create a memory file: %s", what, strerror(errno));
		job_close(job);
		return false;
	}

	ProcSpec child = {
		.argv = (const char *const *) argv, .stdin_fd = PROC_DEVNULL,
		.stdout_fd = job->out_fd, .stderr_fd = job->err_fd,
		.holds_stack_lock = true,   /* an orphaned `up` must keep re-runs out */
	};

	if (!proc_spawn(&child, &job->pid))
	{
		job_close(job);
		return false;
	}
	return true;
}

bool
composecmd_finish(ComposeJob *job, StrBuf *out)
{
	StrBuf text = STRBUF_INIT;

	if (job->pid < 0)
		return false;       /* it did not start (logged then) */

	int code = proc_wait(job->pid);

	/* stdout is data when captured; otherwise, like stderr, it tells
	 * what compose did */
	if (out != NULL)
	{
		read_back(job->out_fd, out);
		read_back(job->err_fd, &text);
	}
	else
		read_back(job->out_fd, &text);  /* stderr is the same file */
	if (!job->quiet)
		log_output(text.data ? text.data : "", text.len, job->what);
	if (code != 0)
		log_error("%s failed (exit %d): %s; its output is in the log above",
				  job->what, code, sb_str(&job->cmdline));
	sb_free(&text);
	job_close(job);
	return code == 0;
}

bool
composecmd_run(char *const *argv, const char *what)
{
	ComposeJob job;

	return composecmd_start(argv, what, false, false, &job) && composecmd_finish(&job, NULL);
}

bool
composecmd_capture(char *const *argv, const char *what, StrBuf *out)
{
	ComposeJob job;

	return composecmd_start(argv, what, false, true, &job) && composecmd_finish(&job, out);
}

/* `version --short` of the compose pgfold runs for inv. */
bool
composecmd_major_start(App *app, const ComposeInvocation *inv, ComposeJob *job)
{
	char *words[MAX_COMPOSE_WORDS + 3];
	size_t n = compose_words(app, inv, words);
	bool ok;

	words[n++] = xstrdup("version");
	words[n++] = xstrdup("--short");
	words[n] = NULL;
	/* a question, not a step: its command line is not worth a log line */
	ok = composecmd_start(words, "compose version", true, true, job);
	for (size_t i = 0; i < n; i++)
		free(words[i]);
	return ok;
}

int
composecmd_major_finish(ComposeJob *job)
{
	StrBuf out = STRBUF_INIT;
	int major = -1;

	if (composecmd_finish(job, &out) && out.len > 1
		&& out.data[0] >= '1' && out.data[0] <= '9' && out.data[1] == '.')
		major = out.data[0] - '0';
	sb_free(&out);
	return major;
}

void
composecmd_abandon(ComposeJob *job)
{
	if (job->pid >= 0)
		proc_wait(job->pid);
	job_close(job);
}

const char *
composecmd_project(App *app, size_t index)
{
	return app_invocation(app, index)->project;
}
