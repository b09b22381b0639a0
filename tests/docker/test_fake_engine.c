/*
 * test_fake_engine.c — the client against a scripted engine on a private
 * unix socket (no Docker needed): version negotiation, the Upgrade request,
 * stream bytes that arrive with the 101 reply, stdin half-close, a plain
 * 200 stream, a truncated final frame, an unframed stream, a 409 at start.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dtest.h"
#include "pgfold/exitcodes.h"
#include "pgfold/log.h"

typedef enum StartMode
{
	START_UPGRADE,      /* 101 + frames in the same write, echo stdin size */
	START_PLAIN_200,    /* 200 raw stream until close */
	START_TRUNCATED,    /* 101, last frame cut short */
	START_UNFRAMED,     /* 101, then raw text */
	START_CONFLICT      /* 409 with a JSON message */
} StartMode;

static const char *fake_version;   /* Api-Version header, NULL: none */
static const char *fake_expect;    /* "/v1.44" the client must use */
static StartMode   fake_start;
static char        sock_path[108];
static pid_t       server_pid;

/* ---- the fake engine (runs in a child; never returns) -------------------- */

static void
put(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			_exit(0);
		buf += n;
		len -= (size_t) n;
	}
}

static void
put_frame(StrBuf *sb, int stream, const char *s)
{
	size_t len = strlen(s);
	unsigned char h[8] = { (unsigned char) stream, 0, 0, 0, 0, 0,
		(unsigned char) (len >> 8), (unsigned char) len };

	sb_append(sb, (const char *) h, 8);
	sb_appends(sb, s);
}

static void
reply(int fd, int status, const char *extra, const char *body)
{
	StrBuf sb = STRBUF_INIT;

	sb_appendf(&sb, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
			   "Content-Length: %zu\r\n\r\n%s", status, extra, strlen(body), body);
	put(fd, sb.data, sb.len);
	sb_free(&sb);
}

/* One request head (and body); false at EOF. */
static bool
read_request(int fd, StrBuf *head)
{
	char c;

	sb_reset(head);
	while (head->len < 4 || memcmp(head->data + head->len - 4, "\r\n\r\n", 4) != 0)
	{
		if (read(fd, &c, 1) != 1)
			return false;
		sb_appendc(head, c);
	}

	const char *cl = strcasestr(head->data, "content-length:");
	long n = cl ? strtol(cl + 15, NULL, 10) : 0;

	for (long i = 0; i < n; i++)
		if (read(fd, &c, 1) != 1)
			return false;
	return true;
}

static void
exec_start(int fd, const char *head)
{
	StrBuf sb = STRBUF_INIT;

	if (fake_start == START_CONFLICT)
	{
		reply(fd, 409, "", "{\"message\":\"Container c1 is not running\"}");
		return;
	}
	if (strcasestr(head, "\r\nUpgrade: tcp\r\n") == NULL ||
		strcasestr(head, "\r\nConnection: Upgrade\r\n") == NULL)
	{
		reply(fd, 400, "", "{\"message\":\"no upgrade requested\"}");
		return;
	}
	if (fake_start == START_PLAIN_200)
		sb_appends(&sb, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n");
	else
		sb_appends(&sb, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
				   "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
	put_frame(&sb, 1, "hello ");
	put_frame(&sb, 2, "oops");
	if (fake_start == START_TRUNCATED)
		sb_append(&sb, "\1\0\0\0\0\0\0\x64" "cut", 11);
	else if (fake_start == START_UNFRAMED)
		sb_appends(&sb, "OCI runtime exec failed\r\n");
	put(fd, sb.data, sb.len);   /* head and frames in one write */
	sb_reset(&sb);
	if (fake_start == START_UPGRADE)
	{
		/* count stdin until the client half-closes, then answer */
		char buf[4096];
		size_t total = 0;
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) > 0)
			total += (size_t) n;
		char msg[64];

		snprintf(msg, sizeof(msg), "world, got %zu\n", total);
		put_frame(&sb, 1, msg);
		put(fd, sb.data, sb.len);
	}
	sb_free(&sb);
}

static void
handle(int fd)
{
	StrBuf head = STRBUF_INIT;

	while (read_request(fd, &head))
	{
		char method[8] = "", path[256] = "";

		sscanf(head.data, "%7s %255s", method, path);
		if (strcmp(path, "/_ping") == 0)
		{
			char extra[64] = "";

			if (fake_version != NULL)
				snprintf(extra, sizeof(extra), "Api-Version: %s\r\n", fake_version);
			reply(fd, 200, extra, "OK");
			continue;
		}
		if (!str_has_prefix(path, fake_expect))
		{
			reply(fd, 400, "", "{\"message\":\"wrong API version\"}");
			continue;
		}

		const char *p = path + strlen(fake_expect);

		if (strcmp(p, "/containers/c1/exec") == 0)
			reply(fd, 201, "", "{\"Id\":\"abc123\"}");
		else if (strcmp(p, "/exec/abc123/start") == 0)
		{
			exec_start(fd, head.data);
			break;      /* a hijacked connection ends with its stream */
		}
		else if (strcmp(p, "/exec/abc123/json") == 0)
			reply(fd, 200, "", "{\"Running\":false,\"ExitCode\":0,\"Pid\":1}");
		else
			reply(fd, 404, "", "{\"message\":\"page not found\"}");
	}
	sb_free(&head);
}

/* Listen on a private unix socket, or on 127.0.0.1:<any> when tcp. */
static int
listen_fake(bool tcp, char *host, size_t size)
{
	int lfd;

	if (tcp)
	{
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(in);

		lfd = socket(AF_INET, SOCK_STREAM, 0);
		cr_assert(lfd >= 0);
		cr_assert(bind(lfd, (struct sockaddr *) &in, sizeof(in)) == 0);
		cr_assert(getsockname(lfd, (struct sockaddr *) &in, &len) == 0);
		cr_assert(str_format(host, size, "tcp://127.0.0.1:%d", ntohs(in.sin_port)));
	}
	else
	{
		struct sockaddr_un addr = { .sun_family = AF_UNIX };

		cr_assert(str_format(sock_path, sizeof(sock_path), "/tmp/pgfold-fake-%ld.sock", (long) getpid()));
		unlink(sock_path);
		str_copy(addr.sun_path, sizeof(addr.sun_path), sock_path);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		cr_assert(lfd >= 0);
		cr_assert(bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
		cr_assert(str_format(host, size, "unix://%s", sock_path));
	}
	cr_assert(listen(lfd, 8) == 0);
	return lfd;
}

static void
start_fake_on(bool tcp, const char *version, const char *expect, StartMode mode)
{
	char host[160];

	fake_version = version;
	fake_expect = expect;
	fake_start = mode;

	int lfd = listen_fake(tcp, host, sizeof(host));

	fflush(NULL);
	server_pid = fork();
	cr_assert(server_pid >= 0);
	if (server_pid == 0)
	{
		signal(SIGCHLD, SIG_IGN);   /* connection handlers reap themselves */
		for (;;)
		{
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			if (fork() == 0)
			{
				close(lfd);
				handle(fd);
				_exit(0);
			}
			close(fd);
		}
	}
	close(lfd);
	setenv("DOCKER_HOST", host, 1);
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
	dt_log_to_temp();
}

static void
start_fake(const char *version, const char *expect, StartMode mode)
{
	start_fake_on(false, version, expect, mode);
}

static void
stop_fake(void)
{
	if (server_pid > 0)
	{
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	if (sock_path[0])
		unlink(sock_path);
	dt_log_done();
}

static bool
run(const char *stdin_data, StrBuf *out, StrBuf *err)
{
	DockerClient *c = NULL;
	const char *const cmd[] = { "pg_dump", NULL };
	DockerExecSpec spec = { .cmd = cmd };
	int code = -1;

	cr_assert(docker_connect(&c));

	bool ok = docker_exec_capture(c, "c1", &spec, stdin_data,
								  stdin_data ? strlen(stdin_data) : 0, 1024, out, err, &code);

	docker_disconnect(c);
	return ok;
}

TestSuite(docker_fake, .fini = stop_fake);

Test(docker_fake, negotiates_down_and_streams_early_bytes)
{
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;

	start_fake("1.44", "/v1.44", START_UPGRADE);
	cr_assert(run("abcdef", &out, &err));
	cr_assert_str_eq(sb_str(&out), "hello world, got 6\n");
	cr_assert_str_eq(sb_str(&err), "oops");
	sb_free(&out);
	sb_free(&err);
}

Test(docker_fake, caps_at_our_version)
{
	DockerClient *c = NULL;

	start_fake("1.52", "/v1.45", START_UPGRADE);
	cr_assert(docker_connect(&c));
	cr_assert_str_eq(docker_api_version(c), "1.45");
	docker_disconnect(c);
}

Test(docker_fake, no_version_header_and_too_old)
{
	DockerClient *c = NULL;

	start_fake(NULL, "/v1.24", START_UPGRADE);
	cr_assert_not(docker_connect(&c), "an engine without Api-Version is 1.24: too old");
	cr_assert(dt_log_contains("pgfold needs 1.25"));
	cr_assert_eq(exit_hint_get(), EXIT_ENGINE);
}

Test(docker_fake, plain_200_stream_is_accepted)
{
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;

	start_fake("1.41", "/v1.41", START_PLAIN_200);
	cr_assert(run(NULL, &out, &err));
	cr_assert_str_eq(sb_str(&out), "hello ");
	cr_assert_str_eq(sb_str(&err), "oops");
	sb_free(&out);
	sb_free(&err);
}

Test(docker_fake, truncated_final_frame_is_an_error)
{
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;

	start_fake("1.41", "/v1.41", START_TRUNCATED);
	cr_assert_not(run(NULL, &out, &err));
	cr_assert(dt_log_contains("the output of `pg_dump` in container c1 is truncated"));
	sb_free(&out);
	sb_free(&err);
}

Test(docker_fake, unframed_output_is_an_error)
{
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;

	start_fake("1.41", "/v1.41", START_UNFRAMED);
	cr_assert_not(run(NULL, &out, &err));
	cr_assert(dt_log_contains("the output of `pg_dump` in container c1 is corrupt"));
	sb_free(&out);
	sb_free(&err);
}

Test(docker_fake, conflict_at_start_names_the_container)
{
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;

	start_fake("1.41", "/v1.41", START_CONFLICT);
	cr_assert_not(run(NULL, &out, &err));
	cr_assert(dt_log_contains("cannot run `pg_dump`: container c1 is not running "
							  "(Container c1 is not running)"));
	sb_free(&out);
	sb_free(&err);
}

Test(docker_fake, tcp_endpoint_streams_too)
{
	StrBuf out = STRBUF_INIT, err = STRBUF_INIT;

	start_fake_on(true, "1.43", "/v1.43", START_UPGRADE);
	cr_assert(run("0123456789", &out, &err));
	cr_assert_str_eq(sb_str(&out), "hello world, got 10\n");
	cr_assert_str_eq(sb_str(&err), "oops");
	sb_free(&out);
	sb_free(&err);
}

Test(docker_fake, permission_denied_says_docker_group)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to drop to another user");
	start_fake("1.41", "/v1.41", START_UPGRADE);
	cr_assert(chmod(sock_path, 0600) == 0);
	fflush(NULL);

	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0)
	{
		DockerClient *c = NULL;

		/* nobody: not root, not in the socket's group */
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(99);
		exit_hint_reset();
		_exit(docker_connect(&c) ? 0 : exit_hint_get());
	}

	int status = 0;

	cr_assert(waitpid(pid, &status, 0) == pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), EXIT_ENGINE);
	cr_assert(dt_log_contains("permission denied; add your user to the docker group or run as root"));
}
