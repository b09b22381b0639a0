/*
 * journal.c — reading and appending the per-service journal; see journal.h.
 *
 * Durability: each record is one write() of "<json>\n" to an O_APPEND
 * descriptor followed by fsync, and the caller moves on only after both. A
 * crash can therefore damage only the record being written, which is the
 * last line: reading tolerates exactly that and nothing else.
 */
#include "pgfold/journal.h"
#include "pgfold/fsutil.h"
#include "pgfold/log.h"
#include "pgfold/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const op_names[] = { "migrate", "rollback", "retire", "rename",
											   "schema" };
static const char *const status_names[] = { "started", "done", "failed" };
static const char *const reserved_keys[] = { "ts", "op", "run", "step", "status" };

const char *
journal_op_name(JournalOp op)
{
	size_t n = sizeof(op_names) / sizeof(op_names[0]);

	return (size_t) op < n ? op_names[op] : op_names[0];
}

const char *
journal_status_name(JournalStatus status)
{
	if (status < JOURNAL_STARTED || status > JOURNAL_FAILED)
		status = JOURNAL_FAILED;
	return status_names[status];
}

bool
journal_op_parse(const char *name, JournalOp *op)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (name != NULL && strcmp(name, op_names[i]) == 0)
		{
			*op = (JournalOp) i;
			return true;
		}
	return false;
}

bool
journal_status_parse(const char *name, JournalStatus *status)
{
	for (int i = 0; i < 3; i++)
		if (name != NULL && strcmp(name, status_names[i]) == 0)
		{
			*status = (JournalStatus) i;
			return true;
		}
	return false;
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Run ids and step names: [A-Za-z0-9][A-Za-z0-9._:-]*, bounded. */
static bool
name_ok(const char *s, const char *extra)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > JOURNAL_NAME_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && strchr(extra, s[i]) == NULL)
			return false;
	return true;
}

bool
journal_service_name_valid(const char *service)
{
	if (name_ok(service, "._-"))
		return true;
	log_error("invalid service name \"%s\": expected letters, digits, '.', '_' or '-' "
			  "(at most %d)", service ? service : "", JOURNAL_NAME_MAX);
	return false;
}

bool
journal_dir_path(const char *backups_dir, char *out, size_t outsize)
{
	if (!str_format(out, outsize, "%s/" JOURNAL_SUBDIR, backups_dir))
	{
		log_error("path too long: \"%s\"", backups_dir);
		return false;
	}
	return true;
}

static bool
set_paths(Journal *j, const char *backups_dir, const char *service)
{
	j->fd = -1;
	j->records = NULL;
	if (!journal_service_name_valid(service) ||
		!journal_dir_path(backups_dir, j->dir, sizeof(j->dir)))
		return false;
	str_copy(j->service, sizeof(j->service), service);
	if (!str_format(j->path, sizeof(j->path), "%s/%s" JOURNAL_SUFFIX, j->dir, service))
	{
		log_error("path too long: \"%s\"", j->dir);
		return false;
	}
	return true;
}

/* A run keeps its op; NULL when run is new. */
static json_t *
first_record_of_run(const Journal *j, const char *run)
{
	size_t i;
	json_t *rec;

	json_array_foreach(j->records, i, rec)
		if (strcmp(json_string_value(json_object_get(rec, "run")), run) == 0)
			return rec;
	return NULL;
}

/* Structure of one parsed record; NULL if fine, else what is wrong. */
static const char *
record_problem(const Journal *j, json_t *rec)
{
	JournalOp op;
	JournalStatus status;

	if (!json_is_object(rec))
		return "not a JSON object";
	for (size_t k = 0; k < sizeof(reserved_keys) / sizeof(reserved_keys[0]); k++)
		if (!json_is_string(json_object_get(rec, reserved_keys[k])))
			return "a fixed field (ts, op, run, step, status) is missing or not a string";
	if (!journal_op_parse(json_string_value(json_object_get(rec, "op")), &op))
		return "unknown op";
	if (!journal_status_parse(json_string_value(json_object_get(rec, "status")), &status))
		return "unknown status";

	const char *run = json_string_value(json_object_get(rec, "run"));

	if (!name_ok(run, "._:-") || !name_ok(json_string_value(json_object_get(rec, "step")), "._:-"))
		return "invalid run id or step name";

	json_t *first = first_record_of_run(j, run);

	if (first != NULL && !json_equal(json_object_get(first, "op"), json_object_get(rec, "op")))
		return "the run changes its op";
	return NULL;
}

static bool
only_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '\n' && *p != ' ' && *p != '\t' && *p != '\r')
			return false;
	return true;
}

/*
 * Parse data[len] into j->records. *keep gets the length of the good
 * prefix: len, or the offset of a torn last line.
 */
static bool
parse_lines(Journal *j, const char *data, size_t len, size_t *keep)
{
	const char *end = data + len;
	size_t lineno = 0;

	*keep = len;
	for (const char *p = data; p < end;)
	{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		const char *stop = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;

		lineno++;
		if (only_blank(p, stop))
		{
			p = next;
			continue;
		}

		json_error_t err;
		json_t *rec = json_loadb(p, (size_t) (stop - p), JSON_REJECT_DUPLICATES, &err);
		bool last = only_blank(next, end);

		if (last && (nl == NULL || rec == NULL))
		{
			log_warn("journal \"%s\": ignoring an incomplete last line (line %zu, %zu bytes), "
					 "left by an interrupted write", j->path, lineno, (size_t) (end - p));
			json_decref(rec);
			*keep = (size_t) (p - data);
			return true;
		}

		const char *why = rec == NULL ? err.text : record_problem(j, rec);

		if (why != NULL)
		{
			log_error("journal \"%s\" line %zu is not a valid record (%s); the file was edited "
					  "or damaged: restore it from a backup or remove that line",
					  j->path, lineno, why);
			json_decref(rec);
			return false;
		}
		json_array_append_new(j->records, rec);
		p = next;
	}
	return true;
}

static bool
read_records(Journal *j, bool *exists, size_t *keep, size_t *size)
{
	StrBuf text = STRBUF_INIT;

	if (!fs_read_file_if_exists(j->path, JOURNAL_MAX_BYTES, &text, exists))
		return false;
	j->records = json_array();
	*size = text.len;

	bool ok = parse_lines(j, text.data ? text.data : "", text.len, keep);

	sb_free(&text);
	return ok;
}

static bool
open_for_append(Journal *j)
{
	j->fd = fs_open_append(j->path, JOURNAL_FILE_MODE, "journal");
	return j->fd >= 0;
}

bool
journal_open(const char *backups_dir, const char *service, Journal *j)
{
	bool exists;
	size_t keep, size;

	if (!set_paths(j, backups_dir, service) ||
		!fs_mkdir_p(j->dir, JOURNAL_DIR_MODE) ||
		fs_clean_tmp(j->dir) < 0 ||
		!open_for_append(j) ||
		!read_records(j, &exists, &keep, &size))
	{
		journal_close(j);
		return false;
	}
	if (keep < size)
	{
		/* Cut the torn tail, or the next record would extend it into a
		 * corrupt line in the middle of the file. */
		if (ftruncate(j->fd, (off_t) keep) != 0 || fsync(j->fd) != 0)
		{
			log_error("cannot truncate the incomplete last line of \"%s\": %m", j->path);
			journal_close(j);
			return false;
		}
		log_notice("journal \"%s\": removed the incomplete last line", j->path);
	}
	return true;
}

bool
journal_load(const char *backups_dir, const char *service, Journal *j, bool *exists)
{
	bool found = false;
	size_t keep, size;

	if (!set_paths(j, backups_dir, service) || !read_records(j, &found, &keep, &size))
	{
		journal_close(j);
		return false;
	}
	if (exists != NULL)
		*exists = found;
	return true;
}

void
journal_close(Journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	json_decref(j->records);
	j->records = NULL;
}

static bool
run_id_used(const Journal *j, const char *id)
{
	for (size_t i = 0; i < journal_count(j); i++)
	{
		const char *run = json_string_value(json_object_get(journal_record(j, i), "run"));

		if (run != NULL && strcmp(run, id) == 0)
			return true;
	}
	return false;
}

bool
journal_new_run_id(const Journal *j, JournalClock clock, char out[JOURNAL_STAMP_LEN + 1])
{
	time_t when = clock != NULL ? clock() : time(NULL);

	/* Each try skips one used id: more tries than runs cannot be needed. */
	for (size_t tries = 0; tries <= journal_count(j); tries++, when++)
	{
		if (!journal_stamp(when, out))
			return false;
		if (!run_id_used(j, out))
			return true;
	}
	log_error("no free run id in %s", j->path);
	return false;
}

static void
now_iso(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	str_format(out, 32, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

/* Checks that the record to append is well formed; logs what is not. */
static bool
append_args_ok(const Journal *j, JournalOp op, const char *run, const char *step,
			   json_t *fields)
{
	if (j->fd < 0 || j->records == NULL)
	{
		log_error("internal error: journal \"%s\" is not open for writing", j->path);
		return false;
	}
	if (!name_ok(run, "._:-") || !name_ok(step, "._:-"))
	{
		log_error("internal error: invalid run id or step name for journal \"%s\"", j->path);
		return false;
	}
	if (fields != NULL && !json_is_object(fields))
	{
		log_error("internal error: journal step fields must be a JSON object");
		return false;
	}
	for (size_t k = 0; fields && k < sizeof(reserved_keys) / sizeof(reserved_keys[0]); k++)
		if (json_object_get(fields, reserved_keys[k]) != NULL)
		{
			log_error("internal error: journal step field \"%s\" is reserved", reserved_keys[k]);
			return false;
		}

	json_t *first = first_record_of_run(j, run);

	if (first != NULL && strcmp(json_string_value(json_object_get(first, "op")),
								journal_op_name(op)) != 0)
	{
		log_error("internal error: run %s is a %s run, not %s", run,
				  json_string_value(json_object_get(first, "op")), journal_op_name(op));
		return false;
	}
	return true;
}

/* One write of the whole line, then fsync; on failure the file is cut
 * back so no partial line is left for the next append to extend. */
static bool
write_line(Journal *j, const char *line, size_t len)
{
	struct stat st;

	if (fstat(j->fd, &st) != 0)
	{
		log_error("cannot stat journal \"%s\": %m", j->path);
		return false;
	}
	if (fs_write_full(j->fd, line, len, j->path))
	{
		if (fsync(j->fd) == 0)
			return true;
		log_error("cannot sync journal \"%s\": %m", j->path);
	}
	if (ftruncate(j->fd, st.st_size) != 0)
		log_warn("cannot cut journal \"%s\" back after a failed write: %m", j->path);
	return false;
}

bool
journal_append(Journal *j, JournalOp op, const char *run, const char *step,
			   JournalStatus status, json_t *fields)
{
	char ts[32];

	if (!append_args_ok(j, op, run, step, fields))
		return false;
	now_iso(ts);

	json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ts", ts, "op", journal_op_name(op),
							"run", run, "step", step, "status", journal_status_name(status));

	/* A deep copy: the caller may change its fields after this returns. */
	if (rec == NULL || (fields != NULL && json_object_update_new(rec, json_deep_copy(fields)) != 0))
	{
		log_error("internal error: cannot build a journal record");
		json_decref(rec);
		return false;
	}

	char *text = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);
	StrBuf line = STRBUF_INIT;
	bool ok = text != NULL;

	if (!ok)
		log_error("internal error: cannot serialise a journal record for step %s", step);
	else
	{
		sb_appends(&line, text);
		sb_appendc(&line, '\n');
		ok = write_line(j, line.data, line.len);
	}
	free(text);
	sb_free(&line);
	if (ok)
		json_array_append(j->records, rec);
	json_decref(rec);
	return ok;
}

bool
journal_complete(Journal *j, JournalOp op, const char *run, json_t *fields)
{
	return journal_append(j, op, run, JOURNAL_STEP_COMPLETE, JOURNAL_DONE, fields);
}

bool
journal_services(const char *backups_dir, char ***out, size_t *count)
{
	char dir[PATH_MAX];
	size_t k = strlen(JOURNAL_SUFFIX);
	DIR *d;

	*out = xcalloc(1, sizeof(char *));
	*count = 0;
	if (!journal_dir_path(backups_dir, dir, sizeof(dir)))
		return false;
	if ((d = opendir(dir)) == NULL)
	{
		if (errno == ENOENT)
			return true;        /* no journal yet: none */
		log_error("cannot read %s: %s", dir, strerror(errno));
		return false;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;)
	{
		size_t n = strlen(e->d_name);
		char *name;

		if (n <= k || !str_has_suffix(e->d_name, JOURNAL_SUFFIX))
			continue;
		name = xstrndup(e->d_name, n - k);
		if (!journal_service_name_valid(name))
		{
			free(name);
			continue;
		}
		*out = xrealloc(*out, *count + 2, sizeof(char *));
		(*out)[(*count)++] = name;
		(*out)[*count] = NULL;
	}
	closedir(d);
	return true;
}
