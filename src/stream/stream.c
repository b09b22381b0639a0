/*
 * stream.c — the pump loop; see stream.h.
 *
 * Memory is one fixed ring buffer. The producer is read only when the ring
 * has room for a whole pump (DOCKER_EXEC_PUMP_MAX), the consumer is written
 * whenever the ring holds bytes, and both are read for their stderr all the
 * time, so a chatty pg_restore can never deadlock a full pipe.
 */
#include "pgfold/stream.h"

#include "pgfold/clock.h"

#include "endpoint.h"
#include "progress.h"

#include "pgfold/exitcodes.h"
#include "pgfold/log.h"
#include "pgfold/signals.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#define RING_SIZE          (4u * DOCKER_EXEC_PUMP_MAX)   /* 1 MiB: pipes hold 64 KiB */
#define DEFAULT_STALL_S    300
#define POLL_INTERVAL_MS   250
#define LOG_WAIT_EVERY_S   60

typedef struct Ring
{
	char   *buf;
	size_t  head;   /* next byte to write out */
	size_t  used;
} Ring;

typedef struct Pump
{
	const StreamSpec *spec;
	Endpoint          producer;
	Endpoint          consumer;
	bool              has_consumer;
	FsOutFile         backup;
	bool              has_backup;
	FsSha256          sha;             /* of the bytes moved, when no backup hashes them */
	bool              hashed;          /* the producer ended and its digest was taken */
	Ring              ring;
	uint64_t          bytes_in;
	uint64_t          bytes_out;
	double            started;
	double            last_progress;
	Progress          progress;
	StreamResult     *result;
} Pump;

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6
		+ (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

static size_t
ring_free(const Ring *r)
{
	return RING_SIZE - r->used;
}

/* Producer bytes: backup first (so the copy on disk is never behind what
 * the consumer got), then the ring (or nowhere when there is no consumer). */
static bool
on_producer_data(void *ctx, const char *buf, size_t len)
{
	Pump *p = ctx;

	if (p->has_consumer && p->consumer.out_eof && len > 0)
	{
		log_error("%s ended before the archive was complete (%llu bytes taken, more "
				  "followed):\n%s", p->consumer.label, (unsigned long long) p->bytes_out,
				  p->result->consumer_stderr.len ? sb_str(&p->result->consumer_stderr)
				  : "(no output)");
		return false;
	}
	if (p->has_backup && !fs_out_write(&p->backup, buf, len))
		return false;
	if (!p->has_backup)
		fs_sha256_update(&p->sha, buf, len);
	p->bytes_in += len;
	p->last_progress = clock_now();
	if (!p->has_consumer)
	{
		p->bytes_out += len;
		return true;
	}
	if (len > ring_free(&p->ring))
	{
		/* cannot happen: we pump only with DOCKER_EXEC_PUMP_MAX free */
		log_error("internal error: stream buffer overflow (%zu > %zu)", len, ring_free(&p->ring));
		return false;
	}

	size_t tail = (p->ring.head + p->ring.used) % RING_SIZE;
	size_t first = len < RING_SIZE - tail ? len : RING_SIZE - tail;

	memcpy(p->ring.buf + tail, buf, first);
	memcpy(p->ring.buf, buf + first, len - first);
	p->ring.used += len;
	return true;
}

/* Once the producer has ended: the digest of everything it gave (the
 * backup's running hash when there is one), checked against what the spec
 * expects. A mismatch stops the stream before the consumer sees the end
 * of its input. */
static bool
take_digest(Pump *p)
{
	const char *want = p->spec->expect_sha256;
	FsSha256 copy = p->has_backup ? p->backup.sha : p->sha;

	p->hashed = true;
	fs_sha256_final(&copy, p->result->sha256);
	if (want == NULL || strcasecmp(want, p->result->sha256) == 0)
		return true;
	log_error("%s changed after its checksum was checked: the %llu bytes read have sha256 %s, "
			  "its sidecar says %s; nothing was restored from it", p->producer.label,
			  (unsigned long long) p->bytes_in, p->result->sha256, want);
	exit_hint_set(EXIT_BLOCKED);
	return false;
}

static bool
drain_ring(Pump *p)
{
	while (p->ring.used > 0)
	{
		size_t chunk = p->ring.used;
		size_t written = 0;

		if (chunk > RING_SIZE - p->ring.head)
			chunk = RING_SIZE - p->ring.head;
		if (!endpoint_write(&p->consumer, p->ring.buf + p->ring.head, chunk, &written))
			return false;
		if (written == 0)
			return true;
		p->ring.head = (p->ring.head + written) % RING_SIZE;
		p->ring.used -= written;
		p->bytes_out += written;
		p->last_progress = clock_now();
	}
	return true;
}

static bool
start_endpoints(Pump *p)
{
	const StreamSpec *s = p->spec;

	if (s->consumer != NULL)
	{
		bool ok = s->consumer->container != NULL
			? endpoint_start_exec(&p->consumer, s->client, s->consumer, true,
								  s->run_id, "restore", &p->result->consumer_stderr)
			: endpoint_start_process(&p->consumer, s->consumer, true,
									 s->consumer_output != NULL, &p->result->consumer_stderr);

		if (!ok)
			return false;
		p->has_consumer = true;
	}
	if (s->producer == NULL)
		return endpoint_open_file(&p->producer, s->input_file);
	if (s->producer->container != NULL)
		return endpoint_start_exec(&p->producer, s->client, s->producer, false,
								   s->run_id, "dump", &p->result->producer_stderr);
	return endpoint_start_process(&p->producer, s->producer, false, true,
								  &p->result->producer_stderr);
}

/*
 * The guard watches bytes that should be moving. Once the whole archive is
 * delivered and the consumer's input closed, it is building indexes and
 * checking constraints, which on a large database takes as long as it
 * takes: that wait is reported, never cut short.
 */
static bool
check_stall(Pump *p, double now)
{
	int stall = p->spec->stall_seconds > 0 ? p->spec->stall_seconds : DEFAULT_STALL_S;

	if (p->has_consumer && p->consumer.in_closed && p->producer.out_eof)
	{
		if (now - p->last_progress >= LOG_WAIT_EVERY_S)
		{
			log_info("all %llu bytes delivered; waiting for %s to finish (indexes, constraints)",
					 (unsigned long long) p->bytes_in, p->consumer.label);
			p->last_progress = now;
		}
		return true;
	}
	if (now - p->last_progress < stall)
		return true;
	log_error("stream stalled: no byte moved for %d s between %s and %s "
			  "(%llu bytes so far); check both containers with `docker top`",
			  stall, p->producer.label,
			  p->has_consumer ? p->consumer.label : "the backup file",
			  (unsigned long long) p->bytes_in);
	return false;
}

static bool
producer_may_read(const Pump *p)
{
	return !p->producer.out_eof
		&& (!p->has_consumer || ring_free(&p->ring) >= DOCKER_EXEC_PUMP_MAX);
}

/* One turn of the loop: wait for readiness, then move what can be moved. */
static bool
pump_once(Pump *p)
{
	struct pollfd fds[5];
	int nfds = 0, pi = -1, ci = -1, wi = -1, ei = -1, cei = -1;
	bool immediate = producer_may_read(p) && endpoint_output_pending(&p->producer);

	if (producer_may_read(p) && p->producer.kind != ENDPOINT_FILE)
	{
		pi = nfds;
		fds[nfds++] = (struct pollfd) { endpoint_read_fd(&p->producer), POLLIN, 0 };
	}
	if (endpoint_err_fd(&p->producer) >= 0)
	{
		ei = nfds;
		fds[nfds++] = (struct pollfd) { endpoint_err_fd(&p->producer), POLLIN, 0 };
	}
	if (p->has_consumer && endpoint_err_fd(&p->consumer) >= 0)
	{
		cei = nfds;
		fds[nfds++] = (struct pollfd) { endpoint_err_fd(&p->consumer), POLLIN, 0 };
	}
	if (p->has_consumer && !p->consumer.out_eof)
	{
		ci = nfds;
		fds[nfds++] = (struct pollfd) { endpoint_read_fd(&p->consumer), POLLIN, 0 };
	}
	if (p->has_consumer && p->ring.used > 0 && !p->consumer.in_closed && !p->consumer.out_eof)
	{
		int fd = endpoint_write_fd(&p->consumer);

		if (ci >= 0 && fds[ci].fd == fd)
		{
			fds[ci].events |= POLLOUT;
			wi = ci;
		}
		else
		{
			wi = nfds;
			fds[nfds++] = (struct pollfd) { fd, POLLOUT, 0 };
		}
	}

	int rc = poll(fds, (nfds_t) nfds, immediate ? 0 : POLL_INTERVAL_MS);

	if (rc < 0 && errno != EINTR)
	{
		log_error("poll failed while streaming: %s", strerror(errno));
		return false;
	}
	if (rc < 0)
		return true;

	if (ei >= 0 && fds[ei].revents != 0)
		endpoint_pump_stderr(&p->producer);
	if (cei >= 0 && fds[cei].revents != 0)
		endpoint_pump_stderr(&p->consumer);
	if (immediate || (pi >= 0 && fds[pi].revents != 0))
		if (!endpoint_pump(&p->producer, on_producer_data, p))
			return false;
	if (wi >= 0 && (fds[wi].revents & (POLLOUT | POLLERR | POLLHUP)) && !drain_ring(p))
	{
		if (p->result->consumer_stderr.len > 0)
			log_error("%s said:\n%s", p->consumer.label, sb_str(&p->result->consumer_stderr));
		return false;
	}
	if (ci >= 0 && (fds[ci].revents & (POLLIN | POLLERR | POLLHUP)))
		if (!endpoint_pump(&p->consumer, p->spec->consumer_output, p->spec->consumer_output_ctx))
			return false;

	/* pg_restore knows from the archive itself where it ends, so it may
	 * exit before pg_dump's stream reports EOF. It ended too early only if
	 * it left bytes unread (here) or more arrive later (on_producer_data). */
	if (p->has_consumer && p->consumer.out_eof && p->ring.used > 0)
	{
		log_error("%s ended before the archive was complete (%llu of %llu bytes taken):\n%s",
				  p->consumer.label, (unsigned long long) p->bytes_out,
				  (unsigned long long) p->bytes_in,
				  p->result->consumer_stderr.len ? sb_str(&p->result->consumer_stderr)
				  : "(no output)");
		return false;
	}
	if (p->producer.out_eof && !p->hashed && !take_digest(p))
		return false;
	if (p->has_consumer && p->producer.out_eof && p->ring.used == 0 && !p->consumer.in_closed
		&& !p->consumer.out_eof)
		if (!endpoint_close_input(&p->consumer))
			return false;
	return true;
}

static bool
stream_done(const Pump *p)
{
	return p->producer.out_eof
		&& (!p->has_consumer || (p->ring.used == 0 && p->consumer.out_eof));
}

static bool
check_exit(const char *label, int code, const StrBuf *err)
{
	if (code == 0 && !stream_stderr_has_error(sb_str(err)))
		return true;
	if (code == 0)
		log_error("%s reported an error although it exited 0:\n%s", label, sb_str(err));
	else
		log_error("%s failed (exit %d):\n%s", label, code,
				  err->len ? sb_str(err) : "(no output)");
	return false;
}

static bool
finish_endpoints(Pump *p)
{
	StreamResult *r = p->result;
	bool ok = endpoint_finish(&p->producer, &r->producer_exit);

	if (p->has_consumer)
		ok = endpoint_finish(&p->consumer, &r->consumer_exit) && ok;
	if (!ok)
		return false;
	if (p->producer.kind != ENDPOINT_FILE
		&& !check_exit(p->producer.label, r->producer_exit, &r->producer_stderr))
		return false;
	if (p->has_consumer
		&& !check_exit(p->consumer.label, r->consumer_exit, &r->consumer_stderr))
		return false;
	if (p->bytes_in == 0 && !p->spec->input_may_be_empty)
	{
		log_error("%s produced no data", p->producer.label);
		return false;
	}
	return true;
}

static void
abort_pump(Pump *p)
{
	/* Stopping the processes in their containers takes an exec of its
	 * own, which an interrupt flag still set would cut short: clear it for
	 * the cleanup, raise it again for the caller. */
	bool interrupted = signals_interrupted();

	signals_clear();
	if (p->has_consumer)
		endpoint_kill(&p->consumer);
	endpoint_kill(&p->producer);
	if (p->has_backup)
		fs_out_abort(&p->backup);
	if (interrupted)
		signals_raise_interrupt();
}

static bool
run_loop(Pump *p)
{
	while (!stream_done(p))
	{
		if (signals_interrupted())
		{
			log_error("interrupted while streaming; stopping %s%s%s", p->producer.label,
					  p->has_consumer ? " and " : "", p->has_consumer ? p->consumer.label : "");
			exit_hint_set(EXIT_INTERRUPTED);
			return false;
		}
		if (!pump_once(p))
			return false;

		double now = clock_now();

		progress_update(&p->progress, p->bytes_out, now - p->started);
		if (!check_stall(p, now))
			return false;
	}
	return true;
}

bool
stream_run(const StreamSpec *spec, StreamResult *result)
{
	Pump p;
	double cpu0 = cpu_seconds();

	memset(&p, 0, sizeof(p));
	memset(result, 0, sizeof(*result));
	result->producer_exit = result->consumer_exit = -1;
	p.spec = spec;
	p.result = result;
	p.backup = (FsOutFile) FS_OUT_INIT;
	fs_sha256_init(&p.sha);
	p.started = p.last_progress = clock_now();
	progress_init(&p.progress, spec->progress_tty, spec->expected_bytes);

	if (spec->consumer != NULL)
		p.ring.buf = xcalloc(RING_SIZE, 1);
	if (spec->backup_path != NULL)
	{
		if (!fs_out_open(&p.backup, spec->backup_path))
			goto fail;
		p.has_backup = true;
	}
	if (!start_endpoints(&p) || !run_loop(&p))
		goto fail;
	if (!finish_endpoints(&p))
		goto fail;
	if (p.has_backup && !fs_out_finish(&p.backup, result->sha256))
		goto fail;

	result->bytes = p.bytes_in;
	result->seconds = clock_now() - p.started;
	result->cpu_seconds = cpu_seconds() - cpu0;
	progress_finish(&p.progress, p.bytes_out, result->seconds);
	free(p.ring.buf);
	return true;

fail:
	progress_abandon(&p.progress);
	abort_pump(&p);
	free(p.ring.buf);
	result->bytes = p.bytes_in;
	result->seconds = clock_now() - p.started;
	return false;
}

void
stream_result_free(StreamResult *result)
{
	sb_free(&result->producer_stderr);
	sb_free(&result->consumer_stderr);
}

bool
stream_stderr_has_error(const char *text)
{
	/* pg_dump/pg_restore print "pg_restore: error: ..." and server
	 * messages "ERROR:  ..."; warnings are not failures. */
	for (const char *line = text; line != NULL && *line != '\0';)
	{
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t) (end - line) : strlen(line);

		if (memmem(line, len, "error:", 6) != NULL
			|| memmem(line, len, "ERROR:", 6) != NULL
			|| memmem(line, len, "FATAL:", 6) != NULL)
			return true;
		line = end ? end + 1 : NULL;
	}
	return false;
}
