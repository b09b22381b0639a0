/*
 * image.c — is an image reference a postgres server we know, and which
 * major does its tag promise?
 *
 * Families are matched on the repository path with the registry removed
 * (docker.io/library/postgres, ghcr.io/immich-app/postgres), never by
 * substring: postgres-exporter, pgadmin and postgres-backup-local talk to a
 * postgres, they are not one. The major comes from the tag in the way each
 * family writes it; -1 when the tag does not say (latest, alpine, v0.5.1).
 */
#include "pgfold/service.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* How a family's tags carry the postgres major. */
typedef enum TagStyle
{
	TAG_LEADING = 0,  /* 16, 16.2-alpine, 15-3.4, 14-vectorchord0.3.0 */
	TAG_PG            /* pg16, latest-pg16, 0.7.0-pg16, pg16-v0.2.0 */
} TagStyle;

typedef struct ImageFamily
{
	const char *path;    /* repository path without registry */
	TagStyle    style;
} ImageFamily;

static const ImageFamily families[] = {
	{ "library/postgres",            TAG_LEADING },
	{ "postgis/postgis",             TAG_LEADING },
	{ "pgvector/pgvector",           TAG_PG },
	{ "ankane/pgvector",             TAG_PG },
	{ "immich-app/postgres",         TAG_LEADING },
	{ "tensorchord/pgvecto-rs",      TAG_PG },
	{ "bitnami/postgresql",          TAG_LEADING },
	{ "timescale/timescaledb",       TAG_PG },
	{ "timescale/timescaledb-ha",    TAG_PG },
	{ "pgfold-lab/postgres",         TAG_LEADING },
	{ "pgfold-lab/postgis",          TAG_LEADING },
};

/* Bounds on what we parse: image references are short; anything longer is
 * not something we recognise. */
#define IMAGE_REF_MAX 512

/* A first path component is a registry when it looks like a host. */
static bool
component_is_registry(const char *s, size_t n)
{
	if (n == 9 && memcmp(s, "localhost", 9) == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == ':')
			return true;
	return false;
}

/* Digits at s (up to 3), as a plausible postgres major; -1 otherwise. */
static int
parse_major_at(const char *s)
{
	int v = 0, n = 0;

	while (n < 3 && isdigit((unsigned char) s[n]))
	{
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || isdigit((unsigned char) s[n]))
		return -1;
	/* 6.x .. 99: anything else is a version of something else */
	if (v < 6 || v > 99)
		return -1;
	return v;
}

static int
major_leading(const char *tag)
{
	if (!isdigit((unsigned char) tag[0]))
		return -1;
	return parse_major_at(tag);
}

/* "pg" + digits as its own token: start of tag or after '-', '_', '.'. */
static int
major_pg_token(const char *tag)
{
	for (const char *p = tag; (p = strstr(p, "pg")) != NULL; p += 2)
	{
		bool boundary = p == tag || p[-1] == '-' || p[-1] == '_' || p[-1] == '.';

		if (boundary && isdigit((unsigned char) p[2]))
		{
			int m = parse_major_at(p + 2);

			if (m >= 0)
				return m;
		}
	}
	return -1;
}

/*
 * Split ref into repository path (registry removed, "library/" added for
 * one-component names) and tag (may be empty). False on malformed refs.
 */
static bool
split_ref(const char *ref, char *path, size_t pathsize, char *tag, size_t tagsize)
{
	size_t len = strnlen(ref, IMAGE_REF_MAX + 1);

	if (len == 0 || len > IMAGE_REF_MAX)
		return false;

	/* drop @sha256:... */
	const char *at = memchr(ref, '@', len);
	size_t reflen = at ? (size_t) (at - ref) : len;

	/* the tag's ':' is after the last '/' (a registry may have a port) */
	const char *slash = NULL;

	for (size_t i = 0; i < reflen; i++)
		if (ref[i] == '/')
			slash = ref + i;

	const char *name_start = slash ? slash + 1 : ref;
	const char *colon = memchr(name_start, ':', (size_t) (ref + reflen - name_start));
	size_t namelen = colon ? (size_t) (colon - ref) : reflen;

	tag[0] = '\0';
	if (colon)
	{
		size_t tl = (size_t) (ref + reflen - colon - 1);

		if (tl + 1 > tagsize)
			return false;
		memcpy(tag, colon + 1, tl);
		tag[tl] = '\0';
	}

	const char *p = ref;
	size_t plen = namelen;
	const char *first_slash = memchr(p, '/', plen);

	if (first_slash && component_is_registry(p, (size_t) (first_slash - p)))
	{
		plen -= (size_t) (first_slash - p) + 1;
		p = first_slash + 1;
	}
	if (plen == 0)
		return false;

	const char *prefix = memchr(p, '/', plen) ? "" : "library/";
	size_t need = strlen(prefix) + plen + 1;

	if (need > pathsize)
		return false;
	memcpy(path, prefix, strlen(prefix));
	memcpy(path + strlen(prefix), p, plen);
	path[need - 1] = '\0';
	return true;
}

bool
service_image_repository(const char *image, char *out, size_t outsize)
{
	char tag[IMAGE_REF_MAX + 1];

	return image != NULL && split_ref(image, out, outsize, tag, sizeof(tag));
}

static const ImageFamily *
find_family(const char *image, char *tag, size_t tagsize)
{
	char path[IMAGE_REF_MAX + 16];

	if (image == NULL || !split_ref(image, path, sizeof(path), tag, tagsize))
		return NULL;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
	{
		const char *fp = families[i].path;
		size_t pl = strlen(path), fl = strlen(fp);

		if (strcasecmp(path, fp) == 0)
			return &families[i];
		/* mirrors that nest the official path: public.ecr.aws/docker/library/postgres */
		if (str_has_prefix(fp, "library/") && pl > fl && path[pl - fl - 1] == '/' &&
			strcasecmp(path + pl - fl, fp) == 0)
			return &families[i];
	}
	return NULL;
}

const char *
service_image_family(const char *image)
{
	char tag[IMAGE_REF_MAX + 1];
	const ImageFamily *f = find_family(image, tag, sizeof(tag));

	return f ? f->path : NULL;
}

bool
service_image_is_postgres(const char *image, int *major_out)
{
	char tag[IMAGE_REF_MAX + 1];
	const ImageFamily *f = find_family(image, tag, sizeof(tag));

	if (major_out)
		*major_out = -1;
	if (f == NULL)
		return false;

	int major = -1;

	if (f->style == TAG_PG)
		major = major_pg_token(tag);
	else
		major = major_leading(tag);
	if (major_out)
		*major_out = major;
	return true;
}
