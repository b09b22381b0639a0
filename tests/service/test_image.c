/*
 * test_image.c — postgres image families and the major in their tags.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pgfold/service.h"

typedef struct ImageCase
{
	const char *image;
	bool        postgres;
	int         major;
} ImageCase;

static const ImageCase cases[] = {
	/* official image, every spelling */
	{ "postgres", true, -1 },
	{ "postgres:16", true, 16 },
	{ "postgres:16.2-alpine", true, 16 },
	{ "postgres:15-bookworm", true, 15 },
	{ "postgres:9.6", true, 9 },
	{ "postgres:latest", true, -1 },
	{ "postgres:alpine", true, -1 },
	{ "postgres:alpine3.19", true, -1 },
	{ "library/postgres:14", true, 14 },
	{ "docker.io/library/postgres:17.1", true, 17 },
	{ "docker.io/postgres:13", true, 13 },
	{ "registry.local:5000/postgres:16", true, 16 },
	{ "localhost/postgres:12", true, 12 },
	{ "public.ecr.aws/docker/library/postgres:16", true, 16 },
	{ "postgres:16@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true, 16 },
	{ "postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true, -1 },
	/* postgis */
	{ "postgis/postgis:15-3.4", true, 15 },
	{ "postgis/postgis:16-3.4-alpine", true, 16 },
	{ "postgis/postgis:latest", true, -1 },
	{ "docker.io/postgis/postgis:14-master", true, 14 },
	/* vector extensions */
	{ "pgvector/pgvector:pg16", true, 16 },
	{ "pgvector/pgvector:0.7.0-pg16", true, 16 },
	{ "pgvector/pgvector:0.8.0-pg17-bookworm", true, 17 },
	{ "ankane/pgvector:latest", true, -1 },
	{ "ankane/pgvector:v0.5.1", true, -1 },
	{ "ghcr.io/immich-app/postgres:14-vectorchord0.3.0", true, 14 },
	{ "ghcr.io/immich-app/postgres:15-vectorchord0.4.3-pgvectors0.2.0", true, 15 },
	{ "tensorchord/pgvecto-rs:pg14-v0.2.0", true, 14 },
	{ "tensorchord/pgvecto-rs:pg16-v0.3.0@sha256:aaaa", true, 16 },
	/* bitnami, timescale */
	{ "bitnami/postgresql:16", true, 16 },
	{ "bitnami/postgresql:16.2.0-debian-12-r5", true, 16 },
	{ "docker.io/bitnami/postgresql:latest", true, -1 },
	{ "timescale/timescaledb:latest-pg16", true, 16 },
	{ "timescale/timescaledb:2.14.2-pg15", true, 15 },
	{ "timescale/timescaledb-ha:pg16", true, 16 },
	{ "timescale/timescaledb-ha:pg16.2-ts2.14.2", true, 16 },
	/* the lab */
	{ "pgfold-lab/postgres:15", true, 15 },
	{ "pgfold-lab/postgres:13", true, 13 },
	{ "pgfold-lab/postgis:15", true, 15 },
	/* look-alikes that are not postgres servers */
	{ "prometheuscommunity/postgres-exporter", false, -1 },
	{ "quay.io/prometheuscommunity/postgres-exporter:v0.15.0", false, -1 },
	{ "wrouesnel/postgres_exporter", false, -1 },
	{ "postgres-exporter", false, -1 },
	{ "dpage/pgadmin4:8", false, -1 },
	{ "prodrigestivill/postgres-backup-local:16", false, -1 },
	{ "edoburu/pgbouncer", false, -1 },
	{ "postgrest/postgrest:v12", false, -1 },
	{ "bitnami/postgresql-repmgr:16", false, -1 },
	{ "ghcr.io/immich-app/immich-server:release", false, -1 },
	{ "redis:7", false, -1 },
	{ "mariadb:11", false, -1 },
	{ "postgresql:16", false, -1 },
	{ "mypostgres:16", false, -1 },
	{ "someone/postgres:16", false, -1 },
	{ "ghcr.io/someone/postgres:16", false, -1 },
	{ "", false, -1 },
	{ ":16", false, -1 },
	{ "docker.io/", false, -1 },
};

Test(service_image, table)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);

	cr_assert_geq(n, 30);
	for (size_t i = 0; i < n; i++)
	{
		int major = 12345;
		bool got = service_image_is_postgres(cases[i].image, &major);

		cr_expect_eq(got, cases[i].postgres, "%s: postgres=%d, want %d",
					 cases[i].image, got, cases[i].postgres);
		cr_expect_eq(major, cases[i].major, "%s: major=%d, want %d",
					 cases[i].image, major, cases[i].major);
	}
}

Test(service_image, null_and_no_major_out)
{
	int major = 7;

	cr_assert_not(service_image_is_postgres(NULL, &major));
	cr_assert_eq(major, -1);
	cr_assert(service_image_is_postgres("postgres:16", NULL));
}

Test(service_image, family_names)
{
	cr_assert_str_eq(service_image_family("docker.io/library/postgres:16"), "library/postgres");
	cr_assert_str_eq(service_image_family("postgis/postgis:15-3.4"), "postgis/postgis");
	cr_assert_str_eq(service_image_family("pgfold-lab/postgis:15"), "pgfold-lab/postgis");
	cr_assert_str_eq(service_image_family("ghcr.io/immich-app/postgres:14-vectorchord0.3.0"),
					 "immich-app/postgres");
	cr_assert_null(service_image_family("dpage/pgadmin4"));
}

Test(service_image, overlong_reference)
{
	char big[2048];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "postgres:", 9);
	cr_assert_not(service_image_is_postgres(big, NULL));
}
