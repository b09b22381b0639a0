/*
 * log.c — terminal and log-file output; see log.h.
 *
 * Terminal lines are short ("pgfold: error: ..."), the log file carries a
 * UTC timestamp and the level so a run can be reconstructed afterwards.
 */
#include "pgfold/log.h"

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
	log_file = fopen(path, "ae");
	if (log_file == NULL)
	{
		log_error("cannot open log file \"%s\": %m", path);
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
	char msg[2048];
	va_list ap;

	if (level < LOG_TRACE || level > LOG_FATAL)
		level = LOG_ERROR;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

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
