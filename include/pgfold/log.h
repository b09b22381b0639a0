/*
 * log.h — one logging path for the terminal and the per-run log file.
 *
 * Errors are logged once, where they happen, with what the operator needs
 * to act. Nothing secret may ever be passed to these functions: there is
 * no redaction layer to hide behind.
 */
#ifndef PGFOLD_LOG_H
#define PGFOLD_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum LogLevel
{
	LOG_TRACE = 0,
	LOG_DEBUG,
	LOG_INFO,
	LOG_NOTICE,
	LOG_WARN,
	LOG_ERROR,
	LOG_FATAL
} LogLevel;

void log_set_level(LogLevel level);
LogLevel log_get_level(void);
void log_set_color(bool enabled);
bool log_color_enabled(void);

/* Run logs: created with exactly this mode, like the journal. */
#define LOG_FILE_MODE 0640

/* Also append every message (all levels from INFO) with a timestamp. The
 * file is created LOG_FILE_MODE; a symlink or anything but a regular file
 * at path is refused (fs_open_append). */
bool log_open_file(const char *path);
void log_close_file(void);

/*
 * Dry runs (the pre-flight rewrite of a service file): while a capture is
 * active, warnings and errors are neither printed nor written to the log
 * file; the first error is copied into buf instead, for the caller to
 * report as its own finding (which it then logs, once). Not nested.
 */
void log_capture_begin(char *buf, size_t size);
void log_capture_end(void);

void log_msg(LogLevel level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_trace(...)  log_msg(LOG_TRACE, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...)  log_msg(LOG_ERROR, __VA_ARGS__)
#define log_fatal(...)  log_msg(LOG_FATAL, __VA_ARGS__)

#endif
