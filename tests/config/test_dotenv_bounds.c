/*
 * test_dotenv_bounds.c — hostile .env files against pgfold's time and
 * memory: ${...} that multiplies a value (A=${B}${B}, C=${A}${A}, ...) is
 * refused past a total per file and per stack, and an unclosed `${${${...`
 * is scanned once, not from every `${` again.
 *
 * Each parse runs in a forked child so its peak RSS and CPU time are its
 * own (getrusage), under RLIMIT_CPU and (without sanitizers) RLIMIT_AS: a
 * regression fails the test instead of taking the machine's memory or
 * minutes of CPU. The bounds are generous regression guards, not speed
 * targets (those belong in `make bench`).
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"
#include "pgfold/config.h"
#include "pgfold/dotenv.h"
#include "pgfold/exitcodes.h"
#include "pgfold/service.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

typedef struct Probe
{
	int    ok;           /* the function's answer */
	int    hint;         /* exit_hint_get() after it */
	long   rss_kib;      /* growth of the peak RSS during the parse */
	double cpu_s;        /* user + system CPU of the parse */
	char   err[1024];    /* what it logged (stderr) */
} Probe;

static double
cpu_seconds(const struct rusage *ru)
{
	return (double) ru->ru_utime.tv_sec + (double) ru->ru_utime.tv_usec / 1e6
		+ (double) ru->ru_stime.tv_sec + (double) ru->ru_stime.tv_usec / 1e6;
}

typedef bool (*ProbeFn)(const void *arg);

typedef struct Text
{
	const char *s;
	size_t      len;
} Text;

static bool
parse_text(const void *arg)
{
	const Text *t = arg;
	Dotenv env;

	if (!dotenv_parse(t->s, t->len, "t.env", &env))
		return false;
	dotenv_free(&env);
	return true;
}

static void
child_run(ProbeFn fn, const void *arg, int out_fd, int err_fd)
{
	struct rlimit cpu = { 20, 20 };
	struct rusage before, after;
	Probe p;

	memset(&p, 0, sizeof(p));
	setrlimit(RLIMIT_CPU, &cpu);
#ifndef UNDER_ASAN
	struct rlimit as = { 1024UL << 20, 1024UL << 20 };

	setrlimit(RLIMIT_AS, &as);
#endif
	dup2(err_fd, STDERR_FILENO);
	exit_hint_reset();
	getrusage(RUSAGE_SELF, &before);
	p.ok = fn(arg);
	getrusage(RUSAGE_SELF, &after);
	p.hint = exit_hint_get();
	p.rss_kib = after.ru_maxrss - before.ru_maxrss;
	p.cpu_s = cpu_seconds(&after) - cpu_seconds(&before);
	if (write(out_fd, &p, sizeof(p)) != (ssize_t) sizeof(p))
		_exit(3);
	_exit(0);
}

/* fn(arg) in a child; asserts the child itself came back. */
static void
probe(ProbeFn fn, const void *arg, Probe *p)
{
	char errpath[] = "/tmp/pgfold-dotenv-err-XXXXXX";
	int fds[2], status = 0, err_fd = mkstemp(errpath);
	FILE *f;

	cr_assert_geq(err_fd, 0);
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);

	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
	{
		close(fds[0]);
		child_run(fn, arg, fds[1], err_fd);
	}
	close(fds[1]);
	memset(p, 0, sizeof(*p));

	ssize_t n = read(fds[0], p, sizeof(*p));

	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == (ssize_t) sizeof(*p),
			  "the child did not come back: %s %d (out of memory or CPU time?)",
			  WIFSIGNALED(status) ? "killed by signal" : "exit",
			  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	f = fdopen(err_fd, "r");   /* the child's stderr */
	cr_assert_not_null(f);
	rewind(f);
	p->err[fread(p->err, 1, sizeof(p->err) - 1, f)] = '\0';
	fclose(f);
	unlink(errpath);
}

/* A0 = seed bytes, A1..A<doublings> each twice the one above, then lines
 * B<i>=${A<doublings>} until the file has about size bytes. */
static char *
doubling_file(size_t seed, int doublings, size_t size, size_t *len)
{
	StrBuf sb = STRBUF_INIT;

	sb_appends(&sb, "A0=");
	for (size_t i = 0; i < seed; i++)
		sb_appendc(&sb, 'x');
	sb_appendc(&sb, '\n');
	for (int d = 1; d <= doublings; d++)
		sb_appendf(&sb, "A%d=${A%d}${A%d}\n", d, d - 1, d - 1);
	for (int i = 0; sb.len < size; i++)
		sb_appendf(&sb, "B%d=${A%d}\n", i, doublings);
	*len = sb.len;
	return sb_steal(&sb);
}

/*
 * 100 KiB doubled to 800 KiB, then ~110 KB of lines naming it: before the
 * cap every line expanded to 800 KiB (~200 MiB for this file; a 570 KB one
 * ran out of memory). Now the 4 MiB total is passed on line 8 (A0..A3 make
 * 1500 KiB, then 800 KiB per B line: B3 would make 4700) and the file is
 * refused.
 */
Test(config_dotenv_bounds, doubling_file_is_refused_in_bounded_memory, .timeout = 60)
{
	size_t len;
	char *text = doubling_file(100 * 1024, 3, 114 * 1000, &len);
	Probe p;
	const char *want = "t.env:8: ${...} expansion makes the values of this file larger than 4 MiB, "
		"pgfold's cap for one env file: reference large values fewer times";

	probe(parse_text, &(Text) { text, len }, &p);
	fprintf(stderr, "config_dotenv_bounds: %zu-byte doubling file: peak RSS +%ld KiB, %.3f s CPU\n",
			len, p.rss_kib, p.cpu_s);
	cr_assert_not(p.ok, "a %zu-byte file that expands to ~200 MiB was accepted", len);
	cr_assert_eq(p.hint, EXIT_USAGE);
	cr_assert_not_null(strstr(p.err, want), "expected \"%s\" in:\n%s", want, p.err);
	cr_assert_lt(p.rss_kib, 64 * 1024, "the refused parse grew the RSS by %ld KiB", p.rss_kib);
	free(text);
}

/* The same shape just under the cap still parses, values intact. */
Test(config_dotenv_bounds, expansion_under_the_cap_is_unchanged)
{
	size_t len;
	char *text = doubling_file(100 * 1024, 3, 0, &len);
	Dotenv env;

	cr_assert(dotenv_parse(text, len, "t.env", &env));
	cr_assert_eq(strlen(dotenv_get(&env, "A3")), 800 * 1024);
	cr_assert_eq(env.expanded, (100 + 200 + 400 + 800) * 1024);
	dotenv_free(&env);
	free(text);
}

/* value = prefix + unit repeated, the whole line `size` bytes. */
static char *
repeated_value(const char *unit, size_t size, size_t *len)
{
	StrBuf sb = STRBUF_INIT;
	size_t u = strlen(unit);

	sb_appends(&sb, "A=");
	while (sb.len + u + 1 <= size)
		sb_appends(&sb, unit);
	sb_appendc(&sb, '\n');
	*len = sb.len;
	return sb_steal(&sb);
}

static double
cpu_of(const char *unit, size_t size)
{
	size_t len;
	char *text = repeated_value(unit, size, &len);
	Probe p;

	probe(parse_text, &(Text) { text, len }, &p);
	cr_assert(p.ok, "a %zu-byte value of \"%s\" was refused:\n%s", len, unit, p.err);
	free(text);
	return p.cpu_s;
}

/*
 * `${` never closed, and `${a:-` whose default never closes: python-dotenv
 * copies them as they are. Each `${` used to rescan the rest of the value
 * (76 s of CPU for 1 MiB). Linear now: 1 MiB costs milliseconds; the bound
 * is a guard against quadratic behaviour, the figures are printed.
 */
Test(config_dotenv_bounds, unclosed_braces_are_scanned_once, .timeout = 120)
{
	static const char *const units[] = { "${", "${a:-" };
	const size_t big = DOTENV_MAX_BYTES - 1, small = big / 4;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
	{
		double t_small = cpu_of(units[i], small), t_big = cpu_of(units[i], big);

		fprintf(stderr, "config_dotenv_bounds: \"%s\" x N: %zu bytes %.3f s CPU, %zu bytes "
				"%.3f s CPU\n", units[i], small, t_small, big, t_big);
		cr_assert_lt(t_big, 2.0, "1 MiB of \"%s\" took %.2f s of CPU", units[i], t_big);
		/* quadratic would be 16 times the quarter size; only meaningful
		 * when the times are well above the clock's resolution */
		if (t_small > 0.05)
			cr_assert_lt(t_big, 8 * t_small, "\"%s\": %.3f s for 1 MiB, %.3f s for 256 KiB",
						 units[i], t_big, t_small);
	}
}

/* Ordinary values keep their expansion: the scan's memo must not skip a
 * match, the index of keys must see exactly the entries above. */
Test(config_dotenv_bounds, mixed_braces_expand_as_before)
{
	static const char text[] =
		"B=b\n"
		"A=${ ${B} ${B:-d} ${X:-${B}} ${:x} ${B:y} ${B:-}\n"
		"B=c\n"
		"C=${B}${PGFOLD_T_BELOW}|${PGFOLD_T_BARE}|${A:-z}\n"   /* the last B above */
		"PGFOLD_T_BELOW=d\n"
		"PGFOLD_T_BARE\n"
		"F=${PGFOLD_T_BARE}\n";
	Dotenv env;

	cr_assert(dotenv_parse(text, sizeof(text) - 1, "t.env", &env));
	/* `${ ${B}` is the name " ${B" (unset: empty); a default is not
	 * expanded (`${X:-${B}` then a literal `}`); `${:x}` and `${B:y}`
	 * do not match */
	cr_assert_str_eq(dotenv_get(&env, "A"), " b ${B} ${:x} ${B:y} b");
	cr_assert_str_eq(dotenv_get(&env, "C"), "c||" " b ${B} ${:x} ${B:y} b");
	cr_assert_str_eq(dotenv_get(&env, "F"), "");
	dotenv_free(&env);
}

/* 1 MiB of `Kn=${B}` lines: every lookup used to scan all the entries
 * above it (half a minute of CPU); now each costs the same. */
Test(config_dotenv_bounds, many_entries_are_looked_up_in_constant_time, .timeout = 120)
{
	StrBuf sb = STRBUF_INIT;
	Probe p;

	sb_appends(&sb, "B=b\n");
	for (int i = 0; sb.len + 32 < DOTENV_MAX_BYTES; i++)
		sb_appendf(&sb, "K%d=${B}\n", i);
	probe(parse_text, &(Text) { sb.data, sb.len }, &p);
	fprintf(stderr, "config_dotenv_bounds: %zu bytes of Kn=${B}: %.3f s CPU\n", sb.len, p.cpu_s);
	cr_assert(p.ok, "%s", p.err);
	cr_assert_lt(p.cpu_s, 2.0, "%zu bytes of Kn=${B} took %.2f s of CPU", sb.len, p.cpu_s);
	sb_free(&sb);
}

/* ---- per stack ------------------------------------------------------------- */

static char stack_root[PATH_MAX];

static void
remove_stack_root(void)
{
	if (stack_root[0])
		lab_sh("rm -rf %s", stack_root);
}

/* The stack's only service loads, every env_file with it. */
static bool
load_stack(const void *root)
{
	Config cfg;
	Stack stack;
	bool loaded;

	if (!config_load(root, &cfg))
		return false;
	if (!stack_load(&cfg, &stack))
	{
		config_free(&cfg);
		return false;
	}
	loaded = stack.count == 1 && stack.services[0].loaded;
	stack_free(&stack);
	config_free(&cfg);
	return loaded;
}

/*
 * Each env_file expands to 3.5 MiB, under the 4 MiB of one file; ten of
 * them (one service's env_file list) pass the 32 MiB of a stack on the
 * tenth: that file is refused, naming the stack's cap, and the service
 * reports it instead of pgfold holding every expansion in memory.
 */
Test(config_dotenv_bounds, stack_total_is_capped_across_env_files, .fini = remove_stack_root)
{
	char tmpl[] = "/tmp/pgfold-dotenv-stack-XXXXXX", path[PATH_MAX];
	StrBuf env = STRBUF_INIT, yml = STRBUF_INIT;
	FILE *f;

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert(str_copy(stack_root, sizeof(stack_root), tmpl));
	sb_appends(&env, "A0=");
	for (int i = 0; i < 500 * 1024; i++)
		sb_appendc(&env, 'x');
	sb_appends(&env, "\nA1=${A0}${A0}${A0}${A0}${A0}${A0}\n");
	sb_appends(&yml, "services:\n  app:\n    image: busybox\n    env_file:\n");
	cr_assert_eq(lab_sh("mkdir -p %s/services", stack_root), 0);
	for (int i = 1; i <= 10; i++)
	{
		str_format(path, sizeof(path), "%s/e%d.env", stack_root, i);
		f = fopen(path, "w");
		cr_assert_not_null(f);
		cr_assert_eq(fwrite(env.data, 1, env.len, f), env.len);
		fclose(f);
		sb_appendf(&yml, "      - e%d.env\n", i);
	}
	str_format(path, sizeof(path), "%s/services/app.yml", stack_root);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(sb_str(&yml), f);
	fclose(f);

	/* what one file may do, nine files together may too */
	size_t left = DOTENV_STACK_MAX_EXPANDED;
	Dotenv d;

	for (int i = 1; i <= 9; i++)
	{
		str_format(path, sizeof(path), "%s/e%d.env", stack_root, i);
		cr_assert(dotenv_load_within(path, false, &left, &d), "file %d", i);
		cr_assert_eq(d.expanded, 3500 * 1024);
		dotenv_free(&d);
	}
	cr_assert_eq(left, DOTENV_STACK_MAX_EXPANDED - 9 * 3500 * 1024);

	Probe p;
	char want[PATH_MAX + 256];

	probe(load_stack, stack_root, &p);
	cr_assert_not(p.ok, "ten env_files of 3.5 MiB each were all loaded");
	str_format(want, sizeof(want), "%s/e10.env:2: ${...} expansion makes the values of this "
			   "stack's env files larger than 32 MiB, pgfold's cap for one stack: reference "
			   "large values fewer times", stack_root);
	cr_assert_not_null(strstr(p.err, want), "expected \"%s\" in:\n%s", want, p.err);
	sb_free(&env);
	sb_free(&yml);
}
