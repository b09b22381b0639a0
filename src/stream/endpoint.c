/*
 * endpoint.c — exec'd, local and file endpoints of a stream; see endpoint.h.
 */
#include "endpoint.h"

#include "pgfold/log.h"
#include "pgfold/proc.h"
#include "pgfold/str.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * In a container we cannot signal a process from outside, and the engine
 * does not stop an exec'd process when our connection goes away. So the
 * command runs under a tiny shell that records the child's pid where a
 * second exec, the kill script, finds it: a file in a fresh `mktemp -d`
 * directory /tmp/pgfold-<run>-<role>.XXXXXX (0700, never a path where a
 * symlink could wait for us). Both scripts act on such a directory only
 * when it is the exec user's and not a link, the pid a plain number > 1
 * ("-1" would signal every process) and that process still runs the
 * program started ($PGFOLD_COMM: after a container restart the pid may be
 * anyone's). The wrapper first stops what directories of its own run and
 * role record: the leftovers of an interrupted run that now resumes.
 * Stdin is handed to the child through fd 3 because a shell gives
 * background jobs /dev/null as their stdin.
 */
#define REAP_SCRIPT \
	"reap() { [ -d \"$1\" ] && [ ! -L \"$1\" ] && [ -O \"$1\" ] || return 0; " \
	"p=$(cat \"$1/pid\" 2>/dev/null); case \"$p\" in " \
	"'') ;; 0*|1|*[!0-9]*) echo \"$1/pid holds '$p', not a pid: nothing signalled\" >&2;; " \
	"*) [ \"$(cat \"/proc/$p/comm\" 2>/dev/null)\" = \"$PGFOLD_COMM\" ] && kill -TERM \"$p\";; " \
	"esac; rm -f \"$1/pid\"; rmdir \"$1\" 2>/dev/null; return 0; }; " \
	"for d in /tmp/pgfold-\"$PGFOLD_TAG\".*; do reap \"$d\"; done; "

static const char exec_wrapper[] = REAP_SCRIPT
	"d=$(mktemp -d \"/tmp/pgfold-$PGFOLD_TAG.XXXXXX\") || exit 125; "
	"exec 3<&0; \"$@\" <&3 3<&- & pid=$!; exec 3<&-; "
	"echo \"$pid\" > \"$d/pid\"; wait \"$pid\"; rc=$?; "
	"rm -f \"$d/pid\"; rmdir \"$d\" 2>/dev/null; exit \"$rc\"";

static const char kill_script[] = REAP_SCRIPT "exit 0";

#define WRAPPER_ARGS 4      /* sh -c SCRIPT pgfold */
#define MAX_ARGS     64
#define MAX_ENV      32

void
endpoint_keep_tail(StrBuf *tail, const char *buf, size_t len)
{
	if (tail == NULL || len == 0)
		return;
	if (len >= STREAM_STDERR_KEEP)
	{
		sb_reset(tail);
		sb_append(tail, buf + len - STREAM_STDERR_KEEP, STREAM_STDERR_KEEP);
		return;
	}
	sb_append(tail, buf, len);
	if (tail->len > STREAM_STDERR_KEEP)
	{
		size_t drop = tail->len - STREAM_STDERR_KEEP;

		memmove(tail->data, tail->data + drop, tail->len - drop);
		tail->len -= drop;
		tail->data[tail->len] = '\0';
	}
}

/* What both scripts are told: which directories are this exec's and what
 * its program is called. */
typedef struct ExecEnv
{
	char tag[sizeof(((Endpoint *) 0)->tag) + 16];
	char comm[sizeof(((Endpoint *) 0)->comm) + 16];
} ExecEnv;

static void
exec_env(const Endpoint *ep, ExecEnv *e)
{
	str_format(e->tag, sizeof(e->tag), "PGFOLD_TAG=%s", ep->tag);
	str_format(e->comm, sizeof(e->comm), "PGFOLD_COMM=%s", ep->comm);
}

/* The in-container names of an exec: its tag "<run>-<role>" (a path
 * component, so plain characters only), the comm its program will show
 * (the kernel keeps 15 bytes of the file name) and its user. */
static bool
exec_names(Endpoint *ep, const StreamCommand *cmd, const char *run_id, const char *role)
{
	const char *base = strrchr(cmd->argv[0], '/');

	if (!str_format(ep->tag, sizeof(ep->tag), "%s-%s", run_id ? run_id : "run", role)
		|| ep->tag[strspn(ep->tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						  "0123456789_.-")] != '\0')
	{
		log_error("%s: run id in \"%s\" too long or not plain characters", ep->label,
				  ep->tag);
		return false;
	}
	str_format(ep->comm, sizeof(ep->comm), "%.15s", base ? base + 1 : cmd->argv[0]);
	if (cmd->user != NULL && !str_copy(ep->user, sizeof(ep->user), cmd->user))
	{
		log_error("%s: exec user name too long", ep->label);
		return false;
	}
	return true;
}

bool
endpoint_start_exec(Endpoint *ep, DockerClient *client, const StreamCommand *cmd,
					bool with_stdin, const char *run_id, const char *role,
					StrBuf *stderr_tail)
{
	const char *argv[MAX_ARGS + WRAPPER_ARGS + 1];
	const char *env[MAX_ENV + 3];
	ExecEnv names;
	size_t nargs = str_vec_len(cmd->argv), nenv = str_vec_len(cmd->env);

	memset(ep, 0, sizeof(*ep));
	ep->kind = ENDPOINT_EXEC;
	ep->client = client;
	ep->stderr_tail = stderr_tail;
	ep->pid = -1;
	ep->in_fd = ep->out_fd = ep->err_fd = ep->file_fd = -1;
	str_copy(ep->label, sizeof(ep->label), cmd->label ? cmd->label : cmd->argv[0]);
	str_copy(ep->container, sizeof(ep->container), cmd->container);

	if (nargs == 0 || nargs > MAX_ARGS || nenv > MAX_ENV)
	{
		log_error("%s: too many arguments or environment entries", ep->label);
		return false;
	}
	if (!exec_names(ep, cmd, run_id, role))
		return false;
	exec_env(ep, &names);

	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = exec_wrapper;
	argv[3] = "pgfold";
	for (size_t i = 0; i < nargs; i++)
		argv[WRAPPER_ARGS + i] = cmd->argv[i];
	argv[WRAPPER_ARGS + nargs] = NULL;

	for (size_t i = 0; i < nenv; i++)
		env[i] = cmd->env[i];
	env[nenv] = names.tag;
	env[nenv + 1] = names.comm;
	env[nenv + 2] = NULL;

	DockerExecSpec spec = {
		.cmd = argv, .env = env, .user = cmd->user, .workdir = NULL,
		.attach_stdin = with_stdin
	};

	if (!docker_exec_start(client, cmd->container, &spec, &ep->exec))
		return false;
	ep->started = true;
	ep->in_closed = !with_stdin;
	return true;
}

static bool
make_pipe(int fds[2], const char *label)
{
	if (pipe2(fds, O_CLOEXEC) != 0)
	{
		log_error("%s: cannot create a pipe: %s", label, strerror(errno));
		return false;
	}
	return true;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
	{
		close(*fd);
		*fd = -1;
	}
}

bool
endpoint_start_process(Endpoint *ep, const StreamCommand *cmd, bool with_stdin,
					   bool is_producer, StrBuf *stderr_tail)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };

	memset(ep, 0, sizeof(*ep));
	ep->kind = ENDPOINT_PROCESS;
	ep->stderr_tail = stderr_tail;
	ep->pid = -1;
	ep->in_fd = ep->out_fd = ep->err_fd = ep->file_fd = -1;
	str_copy(ep->label, sizeof(ep->label), cmd->label ? cmd->label : cmd->argv[0]);

	if ((with_stdin && !make_pipe(in, ep->label)) || !make_pipe(out, ep->label)
		|| (is_producer && !make_pipe(err, ep->label)))
	{
		close_fd(&in[0]);
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&out[1]);
		return false;
	}

	ProcSpec child = {
		.argv = cmd->argv, .env = cmd->env,
		.stdin_fd = with_stdin ? in[0] : PROC_DEVNULL,
		.stdout_fd = out[1], .stderr_fd = is_producer ? err[1] : out[1],
		.holds_stack_lock = true,   /* a local pg_restore -j outlives a kill -9 */
	};
	pid_t pid;

	if (!proc_spawn(&child, &pid))
	{
		close_fd(&in[0]);
		close_fd(&in[1]);
		close_fd(&out[0]);
		close_fd(&out[1]);
		close_fd(&err[0]);
		close_fd(&err[1]);
		return false;
	}
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	ep->err_fd = err[0];
	if (ep->err_fd >= 0)
		fcntl(ep->err_fd, F_SETFL, fcntl(ep->err_fd, F_GETFL) | O_NONBLOCK);
	ep->pid = pid;
	ep->in_fd = in[1];
	ep->out_fd = out[0];
	if (ep->in_fd >= 0)
		fcntl(ep->in_fd, F_SETFL, fcntl(ep->in_fd, F_GETFL) | O_NONBLOCK);
	fcntl(ep->out_fd, F_SETFL, fcntl(ep->out_fd, F_GETFL) | O_NONBLOCK);
	ep->in_closed = !with_stdin;
	ep->started = true;
	return true;
}

bool
endpoint_open_file(Endpoint *ep, const char *path)
{
	memset(ep, 0, sizeof(*ep));
	ep->kind = ENDPOINT_FILE;
	ep->pid = -1;
	ep->in_fd = ep->out_fd = ep->err_fd = -1;
	ep->in_closed = true;
	str_copy(ep->label, sizeof(ep->label), path);
	ep->file_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ep->file_fd < 0)
	{
		log_error("cannot open dump \"%s\": %s", path, strerror(errno));
		return false;
	}
	ep->started = true;
	return true;
}

int
endpoint_read_fd(const Endpoint *ep)
{
	switch (ep->kind)
	{
		case ENDPOINT_EXEC:
			return docker_exec_fd(ep->exec);
		case ENDPOINT_PROCESS:
			return ep->out_fd;
		default:
			return ep->file_fd;
	}
}

int
endpoint_write_fd(const Endpoint *ep)
{
	if (ep->in_closed)
		return -1;
	return ep->kind == ENDPOINT_EXEC ? docker_exec_fd(ep->exec) : ep->in_fd;
}

bool
endpoint_output_pending(const Endpoint *ep)
{
	/* A regular file is always "ready"; poll() says so too, but asking
	 * spares a syscall and keeps the loop's logic uniform. */
	if (ep->kind == ENDPOINT_FILE)
		return !ep->out_eof;
	if (ep->kind == ENDPOINT_EXEC)
		return !ep->out_eof && docker_exec_output_pending(ep->exec);
	return false;
}

typedef struct ExecRoute
{
	Endpoint       *ep;
	EndpointDataFn  on_data;
	void           *ctx;
} ExecRoute;

static bool
route_exec_output(void *ctx, int stream, const char *buf, size_t len)
{
	ExecRoute *r = ctx;

	if (stream == 2)
	{
		endpoint_keep_tail(r->ep->stderr_tail, buf, len);
		return true;
	}
	if (r->on_data == NULL)
	{
		/* a consumer's stdout is only of interest when something fails */
		endpoint_keep_tail(r->ep->stderr_tail, buf, len);
		return true;
	}
	return r->on_data(r->ctx, buf, len);
}

static bool
pump_fd(Endpoint *ep, int fd, EndpointDataFn on_data, void *ctx)
{
	static char buf[DOCKER_EXEC_PUMP_MAX];

	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
	{
		if (errno == EAGAIN || errno == EINTR)
			return true;
		log_error("%s: read failed: %s", ep->label, strerror(errno));
		return false;
	}
	if (n == 0)
	{
		ep->out_eof = true;
		return true;
	}
	if (on_data == NULL)
	{
		endpoint_keep_tail(ep->stderr_tail, buf, (size_t) n);
		return true;
	}
	return on_data(ctx, buf, (size_t) n);
}

bool
endpoint_pump(Endpoint *ep, EndpointDataFn on_data, void *ctx)
{
	if (ep->out_eof)
		return true;
	if (ep->kind == ENDPOINT_EXEC)
	{
		ExecRoute r = { ep, on_data, ctx };

		return docker_exec_pump_output(ep->exec, route_exec_output, &r, &ep->out_eof);
	}
	return pump_fd(ep, endpoint_read_fd(ep), on_data, ctx);
}

int
endpoint_err_fd(const Endpoint *ep)
{
	return ep->err_fd;
}

/* False once stderr is at EOF (and closed) or broken; reads only what is
 * there, so the loop can call it whenever poll() says so. */
bool
endpoint_pump_stderr(Endpoint *ep)
{
	char buf[4096];
	ssize_t n;

	if (ep->err_fd < 0)
		return false;
	n = read(ep->err_fd, buf, sizeof(buf));
	if (n > 0)
	{
		endpoint_keep_tail(ep->stderr_tail, buf, (size_t) n);
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return errno == EINTR;
	close_fd(&ep->err_fd);
	return false;
}

bool
endpoint_write(Endpoint *ep, const char *buf, size_t len, size_t *written)
{
	*written = 0;
	if (ep->kind == ENDPOINT_EXEC)
		return docker_exec_write_stdin(ep->exec, buf, len, written);

	ssize_t n = write(ep->in_fd, buf, len);

	if (n < 0)
	{
		if (errno == EAGAIN || errno == EINTR)
			return true;
		log_error("%s stopped reading its input: %s", ep->label, strerror(errno));
		return false;
	}
	*written = (size_t) n;
	return true;
}

bool
endpoint_close_input(Endpoint *ep)
{
	if (ep->in_closed)
		return true;
	ep->in_closed = true;
	if (ep->kind == ENDPOINT_EXEC)
		return docker_exec_close_stdin(ep->exec);
	close_fd(&ep->in_fd);
	return true;
}

/* TERM, then KILL if it is still there after a grace period. */
static void
terminate_child(Endpoint *ep)
{
	kill(ep->pid, SIGTERM);
	for (int i = 0; i < 50; i++)
	{
		if (waitpid(ep->pid, NULL, WNOHANG) == ep->pid)
		{
			ep->pid = -1;
			return;
		}
		usleep(100 * 1000);
	}
	kill(ep->pid, SIGKILL);
}

static bool
wait_child(Endpoint *ep, int *exit_code)
{
	if (ep->pid < 0)
	{
		*exit_code = 128 + SIGTERM;
		return true;
	}
	*exit_code = proc_wait(ep->pid);
	ep->pid = -1;
	return *exit_code >= 0;
}

bool
endpoint_finish(Endpoint *ep, int *exit_code)
{
	bool ok = true;

	*exit_code = -1;
	if (!ep->started)
		return true;
	ep->started = false;
	switch (ep->kind)
	{
		case ENDPOINT_EXEC:
			ok = docker_exec_finish(ep->client, ep->exec, exit_code);
			ep->exec = NULL;
			break;
		case ENDPOINT_PROCESS:
			close_fd(&ep->in_fd);
			while (ep->err_fd >= 0 && endpoint_pump_stderr(ep))
				;
			close_fd(&ep->out_fd);
			close_fd(&ep->err_fd);
			ok = wait_child(ep, exit_code);
			break;
		case ENDPOINT_FILE:
			close_fd(&ep->file_fd);
			break;
	}
	return ok;
}

static void
kill_in_container(Endpoint *ep)
{
	ExecEnv names;
	const char *argv[] = { "sh", "-c", kill_script, NULL };
	const char *env[] = { names.tag, names.comm, NULL };
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;
	int rc = 0;

	exec_env(ep, &names);

	DockerExecSpec spec = { .cmd = argv, .env = env, .user = ep->user[0] ? ep->user : NULL };

	if (docker_exec_capture(ep->client, ep->container, &spec, NULL, 0, 4096,
							&out, &err, &rc))
	{
		while (err.len > 0 && err.data[err.len - 1] == '\n')
			err.data[--err.len] = '\0';
		if (err.len > 0)
			log_warn("%s in container %s: %s", ep->label, ep->container, sb_str(&err));
		log_info("stopped %s", ep->label);
	}
	else
		log_warn("could not stop %s in container %s; check it with `docker top %s`",
				 ep->label, ep->container, ep->container);
	sb_free(&out);
	sb_free(&err);
}

void
endpoint_kill(Endpoint *ep)
{
	int rc;

	if (!ep->started)
		return;
	switch (ep->kind)
	{
		case ENDPOINT_EXEC:
			docker_exec_abandon(ep->exec);
			ep->exec = NULL;
			kill_in_container(ep);
			break;
		case ENDPOINT_PROCESS:
			terminate_child(ep);
			close_fd(&ep->in_fd);
			close_fd(&ep->out_fd);
			close_fd(&ep->err_fd);
			wait_child(ep, &rc);
			break;
		case ENDPOINT_FILE:
			close_fd(&ep->file_fd);
			break;
	}
	ep->started = false;
}
