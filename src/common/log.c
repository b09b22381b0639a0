/*
 * log.c — terminal and log-file output; see log.h.
 *
 * Terminal lines are short ("pgfold: error: ..."), the log file carries a
 * UTC timestamp and the level so a run can be reconstructed afterwards.
 */
#include "pgfold/log.h"
#include "pgfold/fsutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static LogLevel current_level = LOG_NOTICE;
static bool use_color = false;
static FILE *log_file = NULL;
static char *capture_buf = NULL;
static size_t capture_size = 0;

static const char *const level_names[] = {
	"trace", "debug", "info", "notice", "warning", "error", "fatal"
};

static const char *const level_colors[] = {
	"\033[2m", "\033[2m", "", "", "\033[33m", "\033[31m", "\033[1;31m"
};

void
log_set_level(LogLevel level)
{
	current_level = level;
}

LogLevel
log_get_level(void)
{
	return current_level;
}

void
log_set_color(bool enabled)
{
	use_color = enabled;
}

bool
log_color_enabled(void)
{
	return use_color;
}

bool
log_open_file(const char *path)
{
	log_close_file();

	/* The journal's open: 0640 whatever the umask, never through a link
	 * planted at the path (a run log names containers and databases). */
	int fd = fs_open_append(path, LOG_FILE_MODE, "log file");

	if (fd < 0)
		return false;
	log_file = fdopen(fd, "a");
	if (log_file == NULL)
	{
		log_error("cannot open log file \"%s\": %m", path);
		close(fd);
		return false;
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
	return true;
}

void
log_close_file(void)
{
	if (log_file != NULL)
	{
		fclose(log_file);
		log_file = NULL;
	}
}

static void
write_file_line(LogLevel level, const char *msg)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(log_file, "%s.%03ldZ %-7s %s\n", stamp, ts.tv_nsec / 1000000L,
			level_names[level], msg);
}

/* Length of the valid UTF-8 sequence at s, 0 when it is not one or when it
 * encodes a C1 control (U+0080-U+009F: U+009B is CSI to many terminals). */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2
		: s[0] >= 0xe0 && s[0] <= 0xef ? 3
		: s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)     /* also stops at the terminating NUL */
			return 0;
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

/*
 * Messages carry bytes from outside (pg_restore's stderr, the engine's
 * error text, database values): every control byte but newline and tab,
 * C1 controls and bytes that are not UTF-8 become "\xNN", so nothing in a
 * message can drive the operator's terminal. Each byte takes at most 4.
 */
static void
escape_controls(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *) in;
	size_t o = 0;

	while (*s != '\0' && o + 5 <= size)
	{
		size_t n = *s < 0x80 ? 1 : utf8_len(s);
		bool plain = *s < 0x80 ? (*s >= 0x20 && *s != 0x7f) || *s == '\n' || *s == '\t'
			: n > 0;

		if (!plain)
		{
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*s >> 4];
			out[o++] = hex[*s & 0xf];
			s++;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	out[o] = '\0';
}

void
log_capture_begin(char *buf, size_t size)
{
	capture_buf = buf;
	capture_size = size;
	if (buf != NULL && size > 0)
		buf[0] = '\0';
}

void
log_capture_end(void)
{
	capture_buf = NULL;
	capture_size = 0;
}

void
log_msg(LogLevel level, const char *fmt, ...)
{
	char raw[2048], msg[4 * sizeof(raw)];
	va_list ap;

	if (level < LOG_TRACE || level > LOG_FATAL)
		level = LOG_ERROR;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape_controls(raw, msg, sizeof(msg));

	if (capture_buf != NULL && level >= LOG_WARN)
	{
		if (level >= LOG_ERROR && capture_size > 0 && capture_buf[0] == '\0')
			snprintf(capture_buf, capture_size, "%s", msg);
		return;
	}
	if (log_file != NULL && level >= LOG_INFO)
		write_file_line(level, msg);

	if (level < current_level)
		return;

	if (use_color && level_colors[level][0] != '\0')
		fprintf(stderr, "%spgfold: %s: %s\033[0m\n", level_colors[level],
				level_names[level], msg);
	else if (level >= LOG_WARN)
		fprintf(stderr, "pgfold: %s: %s\n", level_names[level], msg);
	else
		fprintf(stderr, "pgfold: %s\n", msg);
}
