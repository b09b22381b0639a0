/*
 * test_docs.c — the man page says what `pgfold help COMMAND` says, for every
 * command; the bash completion knows every command and subcommand. Run from
 * the repository root (as make does).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pgfold/cli.h"
#include "pgfold/fsutil.h"

static void
read_repo_file(const char *path, StrBuf *out)
{
	cr_assert(fs_read_file(path, 1024 * 1024, out), "cannot read %s (run the tests from the "
			  "repository root)", path);
}

/* man/update.sh's escaping: \ → \e, - → \-, a leading . or ' guarded. */
static void
roff_escape(const char *text, StrBuf *out)
{
	bool line_start = true;

	for (const char *p = text; *p; p++)
	{
		if (line_start && (*p == '.' || *p == '\''))
			sb_appends(out, "\\&");
		if (*p == '\\')
			sb_appends(out, "\\e");
		else if (*p == '-')
			sb_appends(out, "\\-");
		else
			sb_appendc(out, *p);
		line_start = *p == '\n';
	}
}

Test(instance_docs, man_page_matches_help)
{
	StrBuf page = STRBUF_INIT;
	int count = 0;
	const Command *cmds = cli_commands(&count);

	read_repo_file("man/pgfold.1", &page);
	cr_assert(count > 5);
	for (int i = 0; i < count; i++)
	{
		const Command *cmd = cli_find_command(cmds[i].name);
		StrBuf want = STRBUF_INIT, head = STRBUF_INIT;

		sb_appendf(&head, ".SS %s\n.nf\n", cmd->name);
		roff_escape(cmd->usage, &want);
		sb_appends(&head, sb_str(&want));
		sb_appends(&head, ".fi\n");
		cr_assert(strstr(sb_str(&page), sb_str(&head)) != NULL,
				  "man/pgfold.1 does not carry `pgfold help %s` as it is now: run "
				  "man/update.sh", cmd->name);
		sb_free(&want);
		sb_free(&head);
	}
	sb_free(&page);
}

/* word with a space or a double quote on each side */
static bool
has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
		if (p > text && (p[-1] == ' ' || p[-1] == '"') && (p[n] == ' ' || p[n] == '"'))
			return true;
	return false;
}

Test(instance_docs, completion_knows_every_command)
{
	static const char *const words[] = {
		"list exists create drop backup restore stats verify console migrate-from",
		"\"list verify prune test\"", "\"create\"", "--older-than", "--keep-last", "--rotate",
		"--against", "--estimate", "--no-backup", "--keep-daily", "--keep-weekly",
		"--keep-monthly", "--latest", "\"install status remove run\"", "--on-failure",
		"--test-weekly", "\"status up down goto validate lint create hash force baseline seed\"",
		"--exit-code", "--no-rehearse", "--lock-timeout", NULL
	};
	StrBuf comp = STRBUF_INIT;
	int count = 0;
	const Command *cmds = cli_commands(&count);

	read_repo_file("completions/pgfold.bash", &comp);
	for (int i = 0; i < count; i++)
		cr_assert(has_word(sb_str(&comp), cmds[i].name), "completion lacks command %s",
				  cmds[i].name);
	for (size_t i = 0; words[i]; i++)
		cr_assert(strstr(sb_str(&comp), words[i]) != NULL, "completion lacks %s", words[i]);
	sb_free(&comp);
}
