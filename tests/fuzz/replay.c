/*
 * replay.c — main() of a fuzz target's replay binary (built with the
 * project's compiler, no libFuzzer): every argument is a file or a
 * directory of files; each file is fed to LLVMFuzzerTestOneInput once.
 * Exit 0 when every input ran (an invariant aborts the process), 1 when an
 * argument cannot be read, 2 when no input was found at all.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "pgfold/str.h"

static bool
replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	StrBuf sb = STRBUF_INIT;
	char buf[8192];
	size_t n;

	if (fp == NULL)
	{
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_append(&sb, buf, n);
	fclose(fp);
	/* a copy of exactly the file's size, so ASan sees reads past its end */
	uint8_t *data = malloc(sb.len ? sb.len : 1);

	if (sb.len)
		memcpy(data, sb.data, sb.len);
	LLVMFuzzerTestOneInput(data, sb.len);
	free(data);
	sb_free(&sb);
	return true;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Files of dir in name order (a failure then names the same file each run). */
static bool
replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	bool ok = true;

	if (d == NULL)
	{
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return false;
	}
	while ((e = readdir(d)) != NULL)
	{
		if (e->d_name[0] == '.')
			continue;
		names = xrealloc(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++)
	{
		char path[4096];

		if (str_format(path, sizeof(path), "%s/%s", dir, names[i]))
		{
			ok = replay_file(path) && ok;
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return ok;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	bool ok = true;

	for (int i = 1; i < argc; i++)
	{
		struct stat st;

		if (stat(argv[i], &st) != 0)
			continue;   /* an absent regressions/<target>/ is fine */
		if (S_ISDIR(st.st_mode))
			ok = replay_dir(argv[i], &count) && ok;
		else
		{
			ok = replay_file(argv[i]) && ok;
			count++;
		}
	}
	fprintf(stderr, "replay %s: %zu inputs\n", argc > 0 ? argv[0] : "?", count);
	if (!ok)
		return 1;
	return count == 0 ? 2 : 0;
}
