/*
 * refs.h — what still points at a database, host or container name outside
 * what pgfold rewrites: crontabs, systemd units, the stack's .env and
 * compose files, scripts. Reads only; never edits.
 *
 * A reference is a line that holds a name as a whole word (refs_has_word:
 * the bytes around it are not [A-Za-z0-9_.-]), so `nova` does not match
 * `nova_memory` and `docmost-db` does not match `docmost-db2`. Lines that
 * hold a secret are reported without their text (a URL's password is
 * masked, a line naming a password, secret or token is not shown).
 *
 * Where it looks (refs_find):
 *   crontab  `crontab -l` of the running user (PGFOLD_REFS_CRONTAB names
 *            another program; empty: skipped)
 *   cron     <sysroot>/etc/crontab, /etc/cron.d, /etc/cron.{hourly,daily,
 *            weekly,monthly}
 *   systemd  <sysroot>/etc/systemd/{system,user}, /usr/local/lib/systemd/
 *            system, /usr/lib/systemd/{system,user}, and $HOME/.config/
 *            systemd/user (Environment= lines are lines like any other)
 *   stack    the stack root's .env files and compose files
 *   files    the PATHs given (default: the stack root), every text file
 * sysroot is PGFOLD_REFS_SYSROOT, default "/" (tests point it at a fixture
 * tree). Binary files (a NUL in them), files over REFS_MAX_FILE_BYTES,
 * `.git` directories, pgfold's own backups/ and password files are skipped;
 * symlinks are not followed; depth, files read and entries looked at are
 * bounded (truncated says the search stopped there).
 */
#ifndef PGFOLD_REFS_H
#define PGFOLD_REFS_H

#include <stdbool.h>
#include <stddef.h>

#define REFS_MAX_FILE_BYTES (1024 * 1024)
#define REFS_MAX_FILES      20000
#define REFS_MAX_VISITS     200000   /* files and directories looked at */
#define REFS_MAX_DEPTH      12
#define REFS_MAX_HITS       1000
#define REFS_TEXT_MAX       160

typedef enum RefKind
{
	REF_CRONTAB = 0,
	REF_CRON,
	REF_SYSTEMD,
	REF_STACK,
	REF_FILES,
	REF_KIND_COUNT
} RefKind;

typedef struct RefHit
{
	RefKind kind;
	char   *file;     /* "crontab -l" for the user's crontab */
	size_t  line;     /* 1-based */
	char   *text;     /* at most REFS_TEXT_MAX bytes, secrets masked */
	char   *name;     /* the first name it holds */
} RefHit;

typedef struct RefsResult
{
	RefHit *hits;
	size_t  count;
	size_t  scanned;         /* files read */
	size_t  skipped;         /* binary or too large */
	size_t  unreadable;      /* files or directories that could not be read */
	char    first_unreadable[512];
	bool    truncated;       /* REFS_MAX_HITS or REFS_MAX_FILES reached */
} RefsResult;

typedef struct RefsOptions
{
	const char *const *names;
	size_t      name_count;
	const char *stack_root;         /* NULL: no stack kind */
	const char *const *skip_dirs;   /* absolute, NULL-ended (backups/, ...); may be NULL */
	const char *const *paths;       /* NULL-ended; NULL or empty: the stack root */
	bool        system;             /* crontab, cron, systemd */
} RefsOptions;

/* Is [s, e) of b holding word as a whole word? The one matcher of the
 * reference searches (appconfig_find_refs uses it too). */
bool refs_has_word(const char *b, size_t s, size_t e, const char *word);

/* The next line of bytes[0..len) from *pos: [*start, *end) without its
 * line break (\n, \r\n or \r); false at the end. */
bool refs_next_line(const char *bytes, size_t len, size_t *pos, size_t *start, size_t *end);

/* A line as a reference shows it (caller frees): at most REFS_TEXT_MAX
 * bytes, control bytes as spaces, a URL's password as ***, and
 * "(holds a secret: not shown)" for a line naming a password, secret or
 * token. The app-file search shows its lines the same way. */
char *refs_line_text(const char *line, size_t n);

/* The lines of bytes holding any of names, appended to out as kind/file
 * (nothing for binary bytes). */
void refs_scan_bytes(const char *bytes, size_t len, const char *const *names, size_t name_count,
					 RefKind kind, const char *file, RefsResult *out);

/* Search everything opts says; false only when a PATH given does not exist
 * (logged, EXIT_USAGE hint). Unreadable files are counted, not errors. */
bool refs_find(const RefsOptions *opts, RefsResult *out);

/* How many lines reference any of names in the stack's .env and compose
 * files (and the PATHs in opts->paths), cheaply: no crontab, cron, systemd. */
size_t refs_count_stack(const char *stack_root, const char *const *skip_dirs,
						const char *const *names, size_t name_count);

const char *refs_kind_name(RefKind kind);
const char *refs_kind_hint(RefKind kind);
void refs_free(RefsResult *r);

#endif
