/*
 * test_hostfs.c — the figures `status`'s footer reads on the host instead
 * of asking the engine: a container's memory from its cgroup (the v1 or v2
 * hierarchy of its /proc/<pid>/cgroup, as `docker stats` computes it) and
 * the bytes a volume holds (as GET /system/df counts them). Unit tests on
 * fake trees, then the lab engine's own figures side by side.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtest.h"
#include "fsutil/fstest.h"
#include "lab.h"
#include "pgfold/docker.h"
#include "pgfold/str.h"

static char root[PATH_MAX];

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];

	fst_join(path, dir, name);
	fst_put(path, text, strlen(text));
}

static void
make_dirs(const char *path)
{
	char cmd[PATH_MAX + 16];

	cr_assert(str_format(cmd, sizeof(cmd), "mkdir -p '%s'", path));
	cr_assert_eq(system(cmd), 0);
}

static void
setup(void)
{
	fst_mkdtemp(root);
}

static void
teardown(void)
{
	fst_rm_rf(root);
}

TestSuite(docker_hostfs, .init = setup, .fini = teardown);

Test(docker_hostfs, memory_cgroup_of_v1_and_v2)
{
	const char *v1 = "9:name=systemd:/docker/abc\n4:cpu,memory:/docker/abc\n0::/docker/abc\n";
	const char *v2 = "0::/system.slice/docker-abc.scope\n";
	const char *climbs = "0::/docker/../../etc\n";
	const char *none = "3:cpuset:/docker/abc\n";
	char path[256];
	bool is_v2 = false;

	cr_assert(docker_cgroup_memory_path(v1, strlen(v1), path, sizeof(path), &is_v2));
	cr_assert_str_eq(path, "/docker/abc");
	cr_assert_not(is_v2, "the v1 memory hierarchy wins over the unified line");
	cr_assert(docker_cgroup_memory_path(v2, strlen(v2), path, sizeof(path), &is_v2));
	cr_assert_str_eq(path, "/system.slice/docker-abc.scope");
	cr_assert(is_v2);
	cr_assert_not(docker_cgroup_memory_path(climbs, strlen(climbs), path, sizeof(path), &is_v2));
	cr_assert_not(docker_cgroup_memory_path(none, strlen(none), path, sizeof(path), &is_v2));
}

/* usage minus the page cache the kernel can take back, as the CLI shows */
Test(docker_hostfs, memory_as_docker_stats_counts_it)
{
	char dir[PATH_MAX];
	long long used = 0;

	cr_assert(str_format(dir, sizeof(dir), "%s/memory/docker/abc", root));
	make_dirs(dir);
	write_file(dir, "memory.usage_in_bytes", "1041252352\n");
	write_file(dir, "memory.stat", "cache 9\ninactive_file 5\ntotal_inactive_file 640999424\n");
	cr_assert(docker_cgroup_memory_read(root, "/docker/abc", false, &used));
	cr_assert_eq(used, 1041252352LL - 640999424LL);

	cr_assert(str_format(dir, sizeof(dir), "%s/system.slice/x.scope", root));
	make_dirs(dir);
	write_file(dir, "memory.current", "4096000\n");
	write_file(dir, "memory.stat", "anon 1\ninactive_file 96000\n");
	cr_assert(docker_cgroup_memory_read(root, "/system.slice/x.scope", true, &used));
	cr_assert_eq(used, 4000000);

	/* a number that is not one is no figure */
	write_file(dir, "memory.current", "lots\n");
	cr_assert_not(docker_cgroup_memory_read(root, "/system.slice/x.scope", true, &used));
	cr_assert_not(docker_cgroup_memory_read(root, "/missing", true, &used));
}

static long long
size_of(json_t *sizes, const char *name)
{
	json_t *v = json_object_get(sizes, name);

	cr_assert(json_is_integer(v), "no size for %s", name);
	return (long long) json_integer_value(v);
}

/* A volume with files, a hard link and a symlink: the bytes measured on
 * the host are the engine's own figure, to the byte; the memory of a
 * running container is the engine's within the moments between them. */
Test(docker_hostfs, the_engines_own_figures, .timeout = 120)
{
	char name[64], vol[96];
	DockerClient *client = NULL;
	json_t *host = NULL, *engine = NULL;
	const char *names[2];

	lab_require();
	lab_unique_name("pgf_dk_hostfs", name, sizeof(name));
	cr_assert(str_format(vol, sizeof(vol), "%s_v", name));
	lab_ledger("volume", vol);
	cr_assert_eq(lab_sh("docker run -d --name %s --label pgfold.test=1 --network none -v %s:/data "
						"--entrypoint sh " DT_IMAGE " -c 'head -c 123457 /dev/zero > /data/a; "
						"mkdir -p /data/d/e; printf hello > /data/d/e/b; ln /data/a /data/d/hard; "
						"ln -s /data/a /data/link; exec sleep 600' >/dev/null", name, vol), 0);
	cr_assert(docker_connect(&client));
	for (int i = 0; i < 50 && lab_sh("docker exec %s test -L /data/link", name) != 0; i++)
		usleep(100000);

	names[0] = vol;
	names[1] = NULL;
	dt_log_to_temp();
	cr_assert(docker_volume_sizes_of(client, names, 1, &host));
	cr_assert(dt_log_lacks("asking the engine"), "the host's figure was not measured");
	cr_assert(docker_volume_sizes(client, &engine));
	cr_assert_eq(size_of(host, vol), size_of(engine, vol), "host %lld, engine %lld",
				 size_of(host, vol), size_of(engine, vol));
	/* 123457 + 5 + the link's own bytes ("/data/a"), the hard link once */
	cr_assert_eq(size_of(host, vol), 123457 + 5 + 7);

	DockerMemory mine = { .id = name }, theirs = { .id = name };

	cr_assert(docker_memory_many(client, &mine, 1));
	cr_assert(dt_log_lacks("asking the engine"), "the cgroup's figure was not read");
	setenv("PGFOLD_ENGINE_STATS", "1", 1);
	cr_assert(docker_memory_many(client, &theirs, 1));
	unsetenv("PGFOLD_ENGINE_STATS");
	cr_assert(dt_log_contains("memory of 1 container(s): asking the engine (stats)"));
	dt_log_done();
	cr_assert_gt(mine.usage, 0);
	cr_assert(llabs(mine.usage - theirs.usage) <= 512 * 1024, "cgroup %lld, engine %lld",
			  mine.usage, theirs.usage);

	json_decref(host);
	json_decref(engine);
	docker_disconnect(client);
	lab_remove(name);
	lab_sh("docker volume rm %s >/dev/null 2>&1", vol);
}
