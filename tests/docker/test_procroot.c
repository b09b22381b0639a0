/*
 * test_procroot.c — proving a pid is a container's before its /proc entry
 * is trusted, and resolving paths inside its root (docker/procroot.c), on
 * a fake /proc tree: a pid whose cgroup names another container, or an id
 * that merely contains ours, is refused; an absolute link in the
 * container's root stays in it.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfold/docker.h"
#include "pgfold/str.h"

#define ID_A "a883f7b4aa7d2ffde54be9b64b57343f2bb53e046af3cc693190a58772f479f9"
#define ID_B "7ff83b50b29d0e1b8922c650c4e1b449de4c42519df565a990d343fc13332666"

static char proc[PATH_MAX];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* <proc>/<pid>/cgroup with text, and an empty root/ directory. */
static void
fake_pid(long pid, const char *cgroup)
{
	char path[PATH_MAX];

	str_format(path, sizeof(path), "%s/%ld", proc, pid);
	cr_assert_eq(mkdir(path, 0755), 0);
	str_format(path, sizeof(path), "%s/%ld/root", proc, pid);
	cr_assert_eq(mkdir(path, 0755), 0);
	str_format(path, sizeof(path), "%s/%ld/cgroup", proc, pid);
	write_file(path, cgroup);
}

static void
setup(void)
{
	str_copy(proc, sizeof(proc), "/tmp/pgfold-procroot-XXXXXX");
	cr_assert_not_null(mkdtemp(proc));
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	str_format(cmd, sizeof(cmd), "rm -rf '%s'", proc);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(docker_procroot, .init = setup, .fini = teardown);

Test(docker_procroot, cgroup_names_whole_id_only)
{
	const char *v1 = "12:memory:/docker/" ID_A "\n0::/docker/" ID_A "\n";
	const char *systemd = "0::/system.slice/docker-" ID_A ".scope\n";
	const char *longer = "0::/docker/" ID_A "0\n";        /* a longer hex run */
	const char *inner = "0::/docker/0" ID_A "\n";

	cr_assert(docker_cgroup_names(v1, strlen(v1), ID_A));
	cr_assert(docker_cgroup_names(systemd, strlen(systemd), ID_A));
	cr_assert_not(docker_cgroup_names(v1, strlen(v1), ID_B));
	cr_assert_not(docker_cgroup_names(longer, strlen(longer), ID_A));
	cr_assert_not(docker_cgroup_names(inner, strlen(inner), ID_A));
	cr_assert_not(docker_cgroup_names("0::/\n", 4, ID_A), "the host's own cgroup");
	/* a short or non-hex id proves nothing */
	cr_assert_not(docker_cgroup_names(v1, strlen(v1), "a883f7b4aa7d"));
	cr_assert_not(docker_cgroup_names("0::/docker/\n", 12, ""));
}

Test(docker_procroot, pid_is_proven_by_its_cgroup)
{
	int fd;

	fake_pid(100, "0::/docker/" ID_A "\n");
	fake_pid(200, "0::/docker/" ID_B "\n");     /* same number, another container's */
	fake_pid(300, "0::/\n");                     /* a host process */

	fd = docker_proc_open(proc, 100, ID_A);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(docker_proc_open(proc, 200, ID_A), -1);
	cr_assert_eq(docker_proc_open(proc, 300, ID_A), -1);
	cr_assert_eq(docker_proc_open(proc, 400, ID_A), -1, "no such pid here");
	cr_assert_eq(docker_proc_open(proc, 0, ID_A), -1, "State.Pid 0: not running");
	cr_assert_eq(docker_proc_open(proc, 100, "a883f7b4aa7d"), -1, "a short id");
}

/* Images link /var/run to /run: followed from the host, the absolute
 * link would reach the host's /run/postgresql. */
Test(docker_procroot, paths_resolve_inside_the_root)
{
	char path[PATH_MAX], probe[PATH_MAX];
	struct stat st;
	int procfd, fd;

	fake_pid(100, "0::/docker/" ID_A "\n");
	str_format(path, sizeof(path), "%s/100/root/run", proc);
	cr_assert_eq(mkdir(path, 0755), 0);
	str_format(path, sizeof(path), "%s/100/root/run/postgresql", proc);
	cr_assert_eq(mkdir(path, 0755), 0);
	str_format(path, sizeof(path), "%s/100/root/run/postgresql/mark", proc);
	write_file(path, "in the container\n");
	str_format(path, sizeof(path), "%s/100/root/var", proc);
	cr_assert_eq(mkdir(path, 0755), 0);
	str_format(path, sizeof(path), "%s/100/root/var/run", proc);
	cr_assert_eq(symlink("/run", path), 0);
	str_format(path, sizeof(path), "%s/100/root/tmp", proc);
	cr_assert_eq(mkdir(path, 0755), 0);
	str_format(path, sizeof(path), "%s/100/root/tmp/mark2", proc);
	write_file(path, "the container's /tmp\n");
	str_format(path, sizeof(path), "%s/100/root/escape", proc);
	cr_assert_eq(symlink("../../../../../../../../tmp", path), 0);

	procfd = docker_proc_open(proc, 100, ID_A);
	cr_assert_geq(procfd, 0);
	fd = docker_proc_open_in_root(procfd, "/var/run/postgresql");
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstatat(fd, "mark", &st, 0), 0, "resolved to the container's /run/postgresql");
	close(fd);
	/* ".." never climbs out of the root: the link lands on its /tmp */
	fd = docker_proc_open_in_root(procfd, "escape");
	cr_assert_geq(fd, 0);
	str_format(probe, sizeof(probe), "mark2");
	cr_assert_eq(fstatat(fd, probe, &st, 0), 0, "../../tmp stayed in the root");
	close(fd);
	cr_assert_eq(docker_proc_open_in_root(procfd, "/no/such/dir"), -1);
	close(procfd);
}
