/* SPDX-License-Identifier: ISC */
/*
 * Tests of supervisor/cpus.c: the CPU quota read from a fake cgroup tree
 * (v2 cpu.max, v1 cfs quota, nested limits, hybrid layouts) and the
 * affinity count of this process.
 */
#include <sys/stat.h>

#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "cluster.h"

static char test_root[64];

static const char test_mountinfo[] =
    "25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
    "26 25 0:24 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
    "27 26 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    "28 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "29 26 0:27 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n";

static void
test_mkdirs(const char *rel)
{
	char path[512], *p;

	snprintf(path, sizeof path, "%s%s", test_root, rel);
	for (p = path + strlen(test_root) + 1; (p = strchr(p, '/')) != NULL;
	    p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void
test_write(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s%s", test_root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
test_setup(void **state)
{
	(void)state;
	snprintf(test_root, sizeof test_root, "/tmp/corral-test-cpus-XXXXXX");
	if (mkdtemp(test_root) == NULL)
		return -1;
	test_mkdirs("/sys/fs/cgroup/unified/a/b");
	test_mkdirs("/sys/fs/cgroup/cpu,cpuacct/x/y");
	test_mkdirs("/sys/fs/cgroup/cpuset/x");
	return 0;
}

static int
test_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_no_quota(void **state)
{
	(void)state;
	assert_int_equal(cpus_quota("0::/a/b\n", test_mountinfo, test_root), 0);
	test_write("/sys/fs/cgroup/unified/a/b/cpu.max", "max 100000\n");
	assert_int_equal(cpus_quota("0::/a/b\n", test_mountinfo, test_root), 0);
	/* A controller line without cpu is not read. */
	assert_int_equal(cpus_quota("3:cpuset:/x\n", test_mountinfo,
	    test_root), 0);
}

static void
test_v2_nested(void **state)
{
	(void)state;
	test_write("/sys/fs/cgroup/unified/a/b/cpu.max", "max 100000\n");
	test_write("/sys/fs/cgroup/unified/a/cpu.max", "150000 100000\n");
	assert_int_equal(cpus_quota("0::/a/b\n", test_mountinfo, test_root), 2);
	test_write("/sys/fs/cgroup/unified/a/b/cpu.max", "50000 100000\n");
	assert_int_equal(cpus_quota("0::/a/b\n", test_mountinfo, test_root), 1);
	test_write("/sys/fs/cgroup/unified/a/b/cpu.max", "300000 100000\n");
	assert_int_equal(cpus_quota("0::/a/b\n", test_mountinfo, test_root), 2);
	test_write("/sys/fs/cgroup/unified/a/cpu.max", "max 100000\n");
	assert_int_equal(cpus_quota("0::/a/b\n", test_mountinfo, test_root), 3);
	test_write("/sys/fs/cgroup/unified/a/b/cpu.max", "max 100000\n");
}

static void
test_v1_hybrid(void **state)
{
	const char *cg = "5:cpuset:/x\n4:cpu,cpuacct:/x/y\n0::/a/b\n";

	(void)state;
	test_write("/sys/fs/cgroup/cpu,cpuacct/x/y/cpu.cfs_quota_us", "-1\n");
	test_write("/sys/fs/cgroup/cpu,cpuacct/x/y/cpu.cfs_period_us",
	    "100000\n");
	assert_int_equal(cpus_quota(cg, test_mountinfo, test_root), 0);
	test_write("/sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_quota_us", "250000\n");
	test_write("/sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_period_us",
	    "100000\n");
	assert_int_equal(cpus_quota(cg, test_mountinfo, test_root), 3);
	/* Both hierarchies limit: the smaller wins. */
	test_write("/sys/fs/cgroup/unified/a/cpu.max", "100000 100000\n");
	assert_int_equal(cpus_quota(cg, test_mountinfo, test_root), 1);
	test_write("/sys/fs/cgroup/unified/a/cpu.max", "max 100000\n");
}

/* A mount whose root is not "/" (a container): the prefix is stripped. */
static void
test_mount_root(void **state)
{
	static const char mi[] =
	    "40 30 0:25 /a /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";

	(void)state;
	test_mkdirs("/sys/fs/cgroup/unified/b");
	test_write("/sys/fs/cgroup/unified/b/cpu.max", "200000 100000\n");
	assert_int_equal(cpus_quota("0::/a/b\n", mi, test_root), 2);
	test_write("/sys/fs/cgroup/unified/b/cpu.max", "max 100000\n");
}

static void
test_available(void **state)
{
	cpu_set_t set;
	int n;

	(void)state;
	CPU_ZERO(&set);
	assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
	assert_int_equal(cpus_affinity(), CPU_COUNT(&set));
	n = cpus_available();
	assert_true(n >= 1 && n <= CPU_COUNT(&set));

	/* Pinned to one CPU, max is 1. */
	if (CPU_COUNT(&set) > 1) {
		cpu_set_t one;
		int cpu = 0;
		while (!CPU_ISSET(cpu, &set))
			cpu++;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
		assert_int_equal(cpus_available(), 1);
		assert_int_equal(sched_setaffinity(0, sizeof set, &set), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_quota),
		cmocka_unit_test(test_v2_nested),
		cmocka_unit_test(test_v1_hybrid),
		cmocka_unit_test(test_mount_root),
		cmocka_unit_test(test_available),
	};

	return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
