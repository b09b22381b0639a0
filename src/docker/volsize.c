/*
 * volsize.c — the bytes a few named volumes hold, measured on the host the
 * way the engine measures them (every non-directory's size, a hard-linked
 * file once), instead of GET /system/df: on Engine 20.10 that walks every
 * volume, container layer and image of the machine (about a second with a
 * few thousand volumes, measured) to answer about the few `status` asks.
 *
 * Only for a local engine, volumes of the "local" driver without options
 * (their data is the Mountpoint directory the engine reports), and a
 * pgfold that may read them (root); any other case asks /system/df.
 */
#include "internal.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/log.h"

/* nftw passes no context: one walk at a time, in these. */
static struct
{
	long long bytes;
	struct { dev_t dev; ino_t ino; } *seen;
	size_t seen_count, seen_cap;
} walk;

static bool
seen_before(const struct stat *st)
{
	for (size_t i = 0; i < walk.seen_count; i++)
		if (walk.seen[i].dev == st->st_dev && walk.seen[i].ino == st->st_ino)
			return true;
	if (walk.seen_count == walk.seen_cap)
	{
		walk.seen_cap = walk.seen_cap ? 2 * walk.seen_cap : 64;
		walk.seen = xrealloc(walk.seen, walk.seen_cap, sizeof(walk.seen[0]));
	}
	walk.seen[walk.seen_count].dev = st->st_dev;
	walk.seen[walk.seen_count++].ino = st->st_ino;
	return false;
}

static int
add_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void) path;
	(void) ftw;
	if (type == FTW_NS || type == FTW_DNR)
		return 1;           /* unreadable: the engine's figure is asked instead */
	if (type == FTW_D || type == FTW_DP)
		return 0;
	if (st->st_nlink > 1 && seen_before(st))
		return 0;
	walk.bytes += st->st_size > 0 ? st->st_size : 0;
	return 0;
}

/* FTW_PHYS: links are counted, never followed; FTW_MOUNT: the volume's
 * own file system only. */
static bool
walk_size(const char *dir, long long *bytes)
{
	int rc;

	memset(&walk, 0, sizeof(walk));
	rc = nftw(dir, add_entry, 16, FTW_PHYS | FTW_MOUNT);
	*bytes = walk.bytes;
	free(walk.seen);
	memset(&walk, 0, sizeof(walk));
	return rc == 0;
}

/* A plain local volume's data directory from its inspect, or NULL. */
static const char *
local_dir(json_t *doc)
{
	const char *driver = json_string_value(json_object_get(doc, "Driver"));
	const char *dir = json_string_value(json_object_get(doc, "Mountpoint"));
	json_t *opts = json_object_get(doc, "Options");

	if (driver == NULL || strcmp(driver, "local") != 0 || dir == NULL || dir[0] != '/'
		|| (opts != NULL && !json_is_null(opts) && json_object_size(opts) > 0))
		return NULL;
	return dir;
}

/* Inspects in flight at once (a connection each). */
#define VOLUME_WINDOW 16

/* names[0, n) (at most VOLUME_WINDOW): inspected together, each walked. */
static bool
sizes_window(DockerClient *client, const char *const *names, size_t n, json_t *sizes)
{
	DockerBatchItem batch[VOLUME_WINDOW];
	bool ok = true;

	memset(batch, 0, sizeof(batch));
	for (size_t i = 0; ok && i < n; i++)
	{
		const char *name;

		ok = docker_check_name(names[i], &name);
		batch[i].method = "GET";
		str_format(batch[i].path, sizeof(batch[i].path), "/volumes/%s", name);
		batch[i].timeout_s = DOCKER_REQUEST_TIMEOUT_S;
	}
	if (ok)
		ok = docker_request_batch(client, batch, n);
	for (size_t i = 0; i < n; i++)
	{
		json_error_t jerr;
		json_t *doc = ok && batch[i].ok && batch[i].resp.status == 200
			? json_loadb(sb_str(&batch[i].resp.body), batch[i].resp.body.len, 0, &jerr) : NULL;
		const char *dir = local_dir(doc);
		long long bytes = 0;

		ok = ok && dir != NULL && access(dir, R_OK | X_OK) == 0 && walk_size(dir, &bytes);
		if (ok)
			json_object_set_new(sizes, names[i], json_integer(bytes));
		json_decref(doc);
		docker_response_free(&batch[i].resp);
	}
	return ok;
}

static bool
sizes_on_host(DockerClient *client, const char *const *names, size_t n, json_t *sizes)
{
	bool ok = true;

	for (size_t from = 0; ok && from < n; from += VOLUME_WINDOW)
		ok = sizes_window(client, names + from, n - from < VOLUME_WINDOW ? n - from : VOLUME_WINDOW,
						  sizes);
	return ok;
}

bool
docker_volume_sizes_of(DockerClient *client, const char *const *names, size_t n, json_t **sizes)
{
	*sizes = json_object();
	if (n > 0 && docker_is_local(client) && sizes_on_host(client, names, n, *sizes))
		return true;
	log_info("volume sizes: asking the engine (GET /system/df)");
	json_decref(*sizes);
	return docker_volume_sizes(client, sizes);
}
