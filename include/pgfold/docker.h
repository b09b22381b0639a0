/*
 * docker.h — Docker Engine API client over libcurl (unix socket or TCP+TLS).
 *
 * Requests that return a document (list, inspect, exec create) are normal
 * libcurl transfers whose JSON is parsed with jansson. Exec streams use a
 * hijacked connection (CURLOPT_CONNECT_ONLY, "Connection: Upgrade") driven
 * without blocking, so one poll loop can pump a dump out of one container
 * into a restore in another with a fixed-size buffer and no overall timeout.
 *
 * Every failure is logged here, once, with the fix, and sets the exit hint
 * (EXIT_ENGINE when the engine cannot be reached).
 */
#ifndef PGFOLD_DOCKER_H
#define PGFOLD_DOCKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pgfold/str.h"

/* API version we speak best; negotiated down to the daemon's maximum. */
#define DOCKER_CLIENT_API_MAJOR 1
#define DOCKER_CLIENT_API_MINOR 45

typedef struct DockerClient DockerClient;

/* Where the engine is, as DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH
 * say (same rules as the docker CLI). Pure: unit-tested on its own. */
typedef enum DockerEndpointKind
{
	DOCKER_ENDPOINT_UNIX,
	DOCKER_ENDPOINT_TCP
} DockerEndpointKind;

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_UNIX_PATH_MAX 107    /* sun_path is 108 bytes with the NUL */
#define DOCKER_PATH_MAX 4096

typedef struct DockerEndpoint
{
	DockerEndpointKind kind;
	char  unix_path[DOCKER_UNIX_PATH_MAX + 1];  /* unix only */
	char  host[256];                /* tcp only; IPv6 keeps its [brackets] */
	int   port;                     /* tcp only; 2375, or 2376 with TLS */
	bool  tls;                      /* https with client certificates */
	bool  tls_verify;               /* verify the daemon's certificate */
	char  ca_file[DOCKER_PATH_MAX];     /* <cert dir>/ca.pem  */
	char  cert_file[DOCKER_PATH_MAX];   /* <cert dir>/cert.pem */
	char  key_file[DOCKER_PATH_MAX];    /* <cert dir>/key.pem  */
	char  base_url[300];            /* "http://localhost", "https://h:2376" */
	char  display[DOCKER_PATH_MAX + 16]; /* "unix:///var/run/docker.sock" */
} DockerEndpoint;

/* docker_host NULL or "" = the default socket. tls_verify / cert_path are
 * the values of DOCKER_TLS_VERIFY / DOCKER_CERT_PATH (NULL = unset); home is
 * $HOME for the default cert dir ~/.docker. Logs the error and returns false
 * on a bad value (unknown scheme, socket path over 107 bytes, bad port),
 * with EXIT_ENGINE: the engine cannot be reached as configured. */
bool docker_endpoint_parse(const char *docker_host, const char *tls_verify,
						   const char *cert_path, const char *home,
						   DockerEndpoint *out);

/* libcurl's global setup: main calls init before anything else and cleanup
 * at the end; docker_connect calls init itself when nobody did (tests). */
bool docker_library_init(void);
void docker_library_cleanup(void);

/* DOCKER_HOST (unix:// default /var/run/docker.sock, tcp:// with TLS when
 * DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), then GET /_ping and negotiate. */
bool docker_connect(DockerClient **out);
void docker_disconnect(DockerClient *client);
const char *docker_endpoint(const DockerClient *client);   /* for messages */
const char *docker_api_version(const DockerClient *client); /* "1.41" */

/* Container list filters; NULL / empty fields are not sent. */
typedef struct DockerFilter
{
	const char *const *labels;   /* "key" or "key=value", NULL-terminated */
	const char *name;            /* substring, as the engine does */
	const char *ancestor;
	const char *status;          /* running, exited, ... */
	bool        all;             /* include stopped containers */
} DockerFilter;

/* The JSON text of the filters map ({"label":["a=b"],...}), NULL when no
 * filter is set (caller free()s), and the whole query string
 * ("all=1&filters=%7B...") appended to *query, url-encoded. */
char *docker_filter_json(const DockerFilter *filter);
bool docker_filter_query(const DockerFilter *filter, StrBuf *query);

/* GET /containers/json: *out is a JSON array (caller json_decref). */
bool docker_list_containers(DockerClient *client, const DockerFilter *filter,
							json_t **out);

/* GET /containers/{id}/json. *found=false (no error logged) on 404. */
bool docker_inspect_container(DockerClient *client, const char *id,
							  json_t **out, bool *found);

bool docker_start_container(DockerClient *client, const char *id);
/* Stop with timeout_s of grace, or with the container's own (timeout_s < 0):
 * the StopTimeout compose sets from stop_grace_period, else the engine's
 * 10 s. */
bool docker_stop_container(DockerClient *client, const char *id, int timeout_s);
/* Stop them all at once, each with its own grace period: the wait is the
 * longest grace, not their sum. False (each failure logged) when any
 * could not be stopped. */
bool docker_stop_containers(DockerClient *client, const char *const *ids, size_t n);
/* Config.StopTimeout of an inspect document, else the engine's 10 s. */
int docker_stop_grace(json_t *inspect);

/* Convenience readers over an inspect document. */
const char *docker_inspect_label(json_t *inspect, const char *key);
const char *docker_inspect_env(json_t *inspect, const char *name); /* Config.Env */
bool docker_inspect_running(json_t *inspect);
/* Where host_path (absolute, canonical) is seen inside the container
 * through one of its bind mounts (Mounts, Type "bind", the longest Source
 * holding it): written to out; false when none holds it. Pure. */
bool docker_inspect_bind_path(json_t *inspect, const char *host_path, char *out, size_t size);
/* Its networking: *mode = HostConfig.NetworkMode ("host", "none",
 * "default", a network name, "container:ID"; NULL when absent) and the
 * names of NetworkSettings.Networks it is attached to, sorted. Owned. */
void docker_inspect_networks(json_t *inspect, char **mode, char ***names, size_t *count);

/* ---- removal and disk (volumes.c) --------------------------------------- */

/* DELETE /containers/{id} (never forced, anonymous volumes kept: the
 * caller removes exactly the ones it chose). *gone = true when there was
 * no such container (nothing to do). A running container is refused by the
 * engine (409): logged with the fix. */
bool docker_remove_container(DockerClient *client, const char *id, bool *gone);

/* DELETE /volumes/{name}. *gone as above; a volume in use (409) is logged
 * with the engine's message. */
bool docker_remove_volume(DockerClient *client, const char *name, bool *gone);

/* The disk each volume holds, as `GET /system/df` reports it (UsageData.Size;
 * -1 when the engine does not know): *sizes is an object name -> bytes
 * (caller decrefs). */
bool docker_volume_sizes(DockerClient *client, json_t **sizes);

/* The same for the named volumes only: measured on this host when the
 * engine is local and they are plain local volumes pgfold may read
 * (volsize.c: as the engine counts), else docker_volume_sizes. */
bool docker_volume_sizes_of(DockerClient *client, const char *const *names, size_t n,
							json_t **sizes);

/* One container's memory, from `GET /containers/{id}/stats?stream=false`. */
typedef struct DockerMemory
{
	const char *id;              /* in */
	bool        ok;              /* out: the engine answered */
	long long   usage;           /* bytes in use, page cache excluded (as `docker stats`) */
} DockerMemory;

/* The stats of every container at once (one connection each, one poll
 * loop: the engine takes about a second per container to sample). False
 * when any failed (logged); each item says. */
bool docker_memory_many(DockerClient *client, DockerMemory *items, size_t n);

/* ---- exec -------------------------------------------------------------- */

typedef struct DockerExecSpec
{
	const char *const *cmd;     /* argv, NULL-terminated; never a secret */
	const char *const *env;     /* "K=V", NULL-terminated; never a secret */
	const char *user;           /* NULL = container default */
	const char *workdir;        /* NULL = container default */
	bool        attach_stdin;
} DockerExecSpec;

typedef struct DockerExec DockerExec;

/* POST /containers/{id}/exec then /exec/{id}/start with Upgrade: tcp.
 * Logs and fails on 404 ("no container X"), 409 ("container X is not
 * running"). The engine does NOT stop the process if we disconnect: an
 * abort path must kill it in the container itself. */
bool docker_exec_start(DockerClient *client, const char *container,
					   const DockerExecSpec *spec, DockerExec **out);

/* The socket to poll(); POLLIN for output, POLLOUT when stdin has room. */
int docker_exec_fd(const DockerExec *exec);
const char *docker_exec_id(const DockerExec *exec);

/* Most payload bytes one docker_exec_pump_output call hands to the sink: a
 * caller with a bounded buffer pumps only when it has this much room. */
#define DOCKER_EXEC_PUMP_MAX (256u * 1024u)

/* True when output may be waiting that poll() will not announce (bytes that
 * came with the upgrade reply, a pump that stopped at its limit, TLS
 * records already read): pump again before sleeping in poll(). */
bool docker_exec_output_pending(const DockerExec *exec);

/* Called with demultiplexed payload; stream 1 = stdout, 2 = stderr.
 * Return false to abort (the error must have been logged by the sink). */
typedef bool (*DockerSink)(void *ctx, int stream, const char *buf, size_t len);

/* Read what is available without blocking (one read, at most
 * DOCKER_EXEC_PUMP_MAX payload bytes), demultiplex, call sink (NULL sink
 * discards). *eof becomes true once the daemon closed the stream; a stream
 * that ends inside a frame is an error (truncated output), as is a corrupt
 * frame header. */
bool docker_exec_pump_output(DockerExec *exec, DockerSink sink, void *ctx,
							 bool *eof);

/* Write up to len bytes of stdin without blocking; *written may be 0 (wait
 * for POLLOUT). False (logged) when the process stopped reading (EPIPE). */
bool docker_exec_write_stdin(DockerExec *exec, const char *buf, size_t len,
							 size_t *written);

/* Half-close: the process sees EOF on stdin; output still flows. */
bool docker_exec_close_stdin(DockerExec *exec);

/* After output EOF: poll GET /exec/{id}/json until not Running. Frees exec.
 * *exit_code is the process's status; it is for the caller to judge, except
 * that 126/127 with the engine's "OCI runtime exec failed ..." text on
 * stdout means the command could not start: logged with that text, false. */
bool docker_exec_finish(DockerClient *client, DockerExec *exec, int *exit_code);

/* GET /exec/{id}/json for an exec id kept from docker_exec_id() (abort
 * paths: is what we started still running?). *exit_code is -1 while
 * unknown; *pid (may be NULL) is the engine's host-side pid, not the pid
 * inside the container. */
bool docker_exec_status(DockerClient *client, const char *exec_id,
						bool *running, int *exit_code, long *pid);

/* Drop the connection without waiting (abort paths). Frees exec. */
void docker_exec_abandon(DockerExec *exec);

/* Run to completion and capture both streams (each capped at max_bytes,
 * beyond which the exec fails). For short commands: psql queries, checks.
 * stdin_data != NULL attaches stdin (spec->attach_stdin is implied), sends
 * it while reading output, then half-closes; if the process exits without
 * reading it all, the rest is dropped (its exit code and stderr tell why).
 * out / err may be NULL (discarded, still capped). True with *exit_code set
 * whenever the process ran, whatever its status; Ctrl-C aborts (exit 130). */
bool docker_exec_capture(DockerClient *client, const char *container,
						 const DockerExecSpec *spec, const char *stdin_data,
						 size_t stdin_len, size_t max_bytes,
						 StrBuf *out, StrBuf *err, int *exit_code);

/* One command of docker_exec_capture_many: in, the same as
 * docker_exec_capture's arguments; out, ok (the command ran: exit_code is
 * set, whatever it is) or not (why is logged). */
typedef struct DockerCaptureJob
{
	const char           *container;
	const DockerExecSpec *spec;
	const char           *stdin_data;
	size_t                stdin_len;
	size_t                max_bytes;
	StrBuf               *out;
	StrBuf               *err;
	int                   exit_code;
	bool                  ok;
} DockerCaptureJob;

/* Run the jobs, up to window of them at once (each on its own engine
 * connection, all served by one poll loop): for many short commands in
 * many containers, where the engine's own work is most of the time. False
 * only when interrupted (exit 130) or poll failed; each job says how it
 * went. */
bool docker_exec_capture_many(DockerClient *client, DockerCaptureJob *jobs, size_t n,
							  size_t window);

/* ---- frame demultiplexer (pure; unit-tested on its own) ----------------- */

typedef struct DockerDemux
{
	unsigned char header[8];
	size_t        header_have;   /* bytes of the current header seen */
	int           stream;        /* stream of the current frame */
	size_t        remaining;     /* payload bytes left in the current frame */
} DockerDemux;

void docker_demux_init(DockerDemux *dm);

/* Feed raw bytes (any split); sink gets payload pieces as they complete.
 * False when the sink refused or a header names an unknown stream; the
 * latter is not logged here (the caller knows which exec it was): it leaves
 * header_have == 8 with the bad header in dm->header. */
bool docker_demux_feed(DockerDemux *dm, const char *buf, size_t len,
					   DockerSink sink, void *ctx);

/* True when the stream ended on a frame boundary (not truncated). */
bool docker_demux_at_boundary(const DockerDemux *dm);

/* ---- a container's files from the host (procroot.c) --------------------- */

/* The engine is this machine's (a Unix socket), not a remote one. */
bool docker_is_local(const DockerClient *client);

/* True when a /proc/<pid>/cgroup text (len bytes) names the container's
 * full 64-hex id as a whole word. Pure: unit-tested on its own. */
bool docker_cgroup_names(const char *text, size_t len, const char *id);

/* <proc_root>/<pid> opened (O_DIRECTORY, close-on-exec) once its cgroup
 * file proves it is container id's process (State.Pid of its inspect and
 * its full Id); proc_root is "/proc" (tests give a fake tree). -1 when not
 * proven: another pid namespace, a remote engine, a stopped container
 * (said at debug level only: the caller has another way). */
int docker_proc_open(const char *proc_root, long pid, const char *id);

/* A small file of the process's /proc directory (procfd) into buf; false
 * when unreadable or when it fills buf (more than such a file holds). */
bool docker_proc_read(int procfd, const char *name, char *buf, size_t size, size_t *len);

/* The memory cgroup of a /proc/<pid>/cgroup text: the path of the v1
 * hierarchy with the memory controller (*v2 false), else the unified one
 * ("0::PATH", *v2 true). False when there is none or it climbs ("..").
 * Pure: unit-tested on its own. */
bool docker_cgroup_memory_path(const char *text, size_t len, char *out, size_t size, bool *v2);

/* Bytes in use as `docker stats` shows them (usage minus inactive page
 * cache) from the cgroup files under sys_root ("/sys/fs/cgroup"; tests give
 * a fake tree): v2 memory.current and memory.stat's inactive_file, v1
 * memory/<path>/memory.usage_in_bytes and total_inactive_file. */
bool docker_cgroup_memory_read(const char *sys_root, const char *path, bool v2, long long *usage);

/* Both, for the container whose main process is pid (proven first). */
bool docker_cgroup_memory(const char *proc_root, const char *sys_root, long pid, const char *id,
						  long long *usage);

/* The directory at path inside the process's root filesystem (procfd from
 * docker_proc_open), symlinks resolved within that root (openat2,
 * RESOLVE_IN_ROOT): an O_PATH fd, or -1 (debug log). */
int docker_proc_open_in_root(int procfd, const char *path);

#endif
