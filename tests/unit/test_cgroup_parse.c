/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the cgroup module's pure parts: finding the daemon's own
 * cgroups in mountinfo and /proc/self/cgroup texts (v1 hybrid, v2, cgroup
 * namespaces, escaped mount points), controller lists, top names, limit
 * parsing and JSON, CPU percent and samples, and the /proc accounting of
 * this test's own process group.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "cgroup.h"

static const char hybrid_mountinfo[] =
    "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "35 24 0:30 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
    "36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
    "37 35 0:32 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
    "40 35 0:35 / /sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
    "41 35 0:36 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
    "42 35 0:37 / /sys/fs/cgroup/pids rw shared:16 - cgroup cgroup rw,pids\n"
    "43 35 0:38 / /sys/fs/cgroup/freezer rw shared:17 - cgroup cgroup rw,freezer\n"
    "44 35 0:39 / /sys/fs/cgroup/net_cls,net_prio rw shared:18 - cgroup cgroup rw,net_cls,net_prio\n";

static const char hybrid_self[] =
    "12:freezer:/\n"
    "11:pids:/user.slice/user-1000.slice/session-2.scope\n"
    "8:memory:/process_api/abc\n"
    "5:cpu,cpuacct:/user.slice\n"
    "4:net_cls,net_prio:/\n"
    "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
    "0::/user.slice/user-1000.slice/session-2.scope\n";

static void
test_detect_hybrid(void **state)
{
	struct cgroup_detect	 d;
	int			 i, seen = 0;

	(void)state;
	assert_int_equal(cgroup_detect_parse(hybrid_mountinfo, hybrid_self,
	    &d), 0);
	assert_string_equal(d.v2dir, "/sys/fs/cgroup/unified/user.slice/"
	    "user-1000.slice/session-2.scope");
	assert_int_equal(d.nv1, 4);
	for (i = 0; i < d.nv1; i++) {
		switch (d.v1[i].controllers) {
		case CGROUP_FREEZER:
			assert_string_equal(d.v1[i].dir,
			    "/sys/fs/cgroup/freezer");
			seen |= 1;
			break;
		case CGROUP_PIDS:
			assert_string_equal(d.v1[i].dir, "/sys/fs/cgroup/pids/"
			    "user.slice/user-1000.slice/session-2.scope");
			seen |= 2;
			break;
		case CGROUP_MEMORY:
			assert_string_equal(d.v1[i].dir,
			    "/sys/fs/cgroup/memory/process_api/abc");
			seen |= 4;
			break;
		case CGROUP_CPU | CGROUP_CPUACCT:
			assert_string_equal(d.v1[i].dir,
			    "/sys/fs/cgroup/cpu,cpuacct/user.slice");
			seen |= 8;
			break;
		default:
			fail_msg("unexpected hierarchy %d", d.v1[i].controllers);
		}
	}
	assert_int_equal(seen, 15);
	cgroup_detect_free(&d);
}

static void
test_detect_v2_only(void **state)
{
	struct cgroup_detect	 d;

	(void)state;
	assert_int_equal(cgroup_detect_parse(
	    "30 1 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime "
	    "shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
	    "0::/system.slice/corral.service\n", &d), 0);
	assert_string_equal(d.v2dir,
	    "/sys/fs/cgroup/system.slice/corral.service");
	assert_int_equal(d.nv1, 0);
	cgroup_detect_free(&d);
}

/* A container sees its cgroup as "/" and a mount rooted at its cgroup. */
static void
test_detect_namespace_and_escapes(void **state)
{
	struct cgroup_detect	 d;

	(void)state;
	assert_int_equal(cgroup_detect_parse(
	    "50 40 0:26 /docker/abc /sys/fs/my\\040cg rw - cgroup2 cgroup2 rw\n",
	    "0::/docker/abc/sub\n", &d), 0);
	assert_string_equal(d.v2dir, "/sys/fs/my cg/sub");
	cgroup_detect_free(&d);
	/* The mount shows another subtree: unusable, not guessed. */
	assert_int_equal(cgroup_detect_parse(
	    "50 40 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
	    "0::/docker/abcdef\n", &d), 0);
	assert_null(d.v2dir);
	cgroup_detect_free(&d);
}

static void
test_detect_nothing(void **state)
{
	struct cgroup_detect	 d;

	(void)state;
	assert_int_equal(cgroup_detect_parse(
	    "24 30 0:22 / /sys rw - sysfs sysfs rw\n", "0::/\n", &d), -1);
	assert_null(d.v2dir);
	cgroup_detect_free(&d);
	assert_int_equal(cgroup_detect_parse("garbage\n\n- -\n", "x:y\n::\n",
	    &d), -1);
	cgroup_detect_free(&d);
}

static void
test_controller_bits(void **state)
{
	char	*s;

	(void)state;
	assert_int_equal(cgroup_v1_controller_bits("rw,cpu,cpuacct"),
	    CGROUP_CPU | CGROUP_CPUACCT);
	assert_int_equal(cgroup_v1_controller_bits("cpuset"), 0);
	assert_int_equal(cgroup_v1_controller_bits("rw,name=systemd"), 0);
	assert_int_equal(cgroup_v2_controller_bits("cpuset cpu io memory "
	    "hugetlb pids rdma misc\n"), CGROUP_CPU | CGROUP_CPUACCT |
	    CGROUP_MEMORY | CGROUP_PIDS);
	assert_int_equal(cgroup_v2_controller_bits("hugetlb\n"),
	    CGROUP_CPUACCT);
	s = cgroup_unescape("a\\134b\\011", 10);
	assert_string_equal(s, "a\\b\t");
	free(s);
}

static void
test_default_name(void **state)
{
	char	*a, *b, *c;

	(void)state;
	unsetenv("CORRAL_CGROUP_NAME");
	a = cgroup_default_name("/root/.corral", "/root/.corral");
	b = cgroup_default_name("/tmp/x", "/root/.corral");
	c = cgroup_default_name("/tmp/y", "/root/.corral");
	assert_string_equal(a, "corral");
	assert_int_equal(strncmp(b, "corral.", 7), 0);
	assert_string_not_equal(b, c);
	free(a);
	free(b);
	free(c);
	setenv("CORRAL_CGROUP_NAME", "mine", 1);
	a = cgroup_default_name("/tmp/x", NULL);
	assert_string_equal(a, "mine");
	free(a);
	setenv("CORRAL_CGROUP_NAME", "../escape", 1);
	a = cgroup_default_name("/root/.corral", "/root/.corral");
	assert_string_equal(a, "corral");
	free(a);
	unsetenv("CORRAL_CGROUP_NAME");
}

static void
test_cpu_percent(void **state)
{
	(void)state;
	assert_true(cgroup_cpu_percent(0, 500000, 0, 1000000) == 50.0);
	assert_true(cgroup_cpu_percent(0, 1500000, 0, 1000000) == 150.0);
	assert_true(cgroup_cpu_percent(10, 5, 0, 1000000) == 0.0);
	assert_true(cgroup_cpu_percent(0, 5, 7, 7) == 0.0);
}

static void
test_parse_cpu(void **state)
{
	uint32_t	 m = 7;
	char		*cause = NULL;

	(void)state;
	assert_int_equal(cgroup_parse_cpu("50%", &m, &cause), 0);
	assert_int_equal(m, 500);
	assert_int_equal(cgroup_parse_cpu("1.5", &m, &cause), 0);
	assert_int_equal(m, 1500);
	assert_int_equal(cgroup_parse_cpu("250%", &m, &cause), 0);
	assert_int_equal(m, 2500);
	assert_int_equal(cgroup_parse_cpu("2", &m, &cause), 0);
	assert_int_equal(m, 2000);
	assert_int_equal(cgroup_parse_cpu("none", &m, &cause), 0);
	assert_int_equal(m, 0);
	assert_int_equal(cgroup_parse_cpu("0.1%", &m, &cause), 0);
	assert_int_equal(m, 1);
	assert_null(cause);
	static const char *bad[] = { "", "-1", "50%%", "abc", "1.5x",
	    "0.01%", "nan", "inf", "5000", "%" };
	for (size_t i = 0; i < nitems(bad); i++) {
		assert_int_equal(cgroup_parse_cpu(bad[i], &m, &cause), -1);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
}

static void
test_limits_set_and_json(void **state)
{
	struct cgroup_limits	 lim, back;
	char			*cause = NULL;
	json_t			*o, *cfg;

	(void)state;
	memset(&lim, 0, sizeof lim);
	assert_int_equal(cgroup_limits_set(&lim, "max_memory", "512M", &cause),
	    0);
	assert_int_equal(cgroup_limits_set(&lim, "memory-high", "400M",
	    &cause), 0);
	assert_int_equal(cgroup_limits_set(&lim, "cpu", "50%", &cause), 0);
	assert_int_equal(cgroup_limits_set(&lim, "max_pids", "64", &cause), 0);
	assert_int_equal(cgroup_limits_set(&lim, "instances", "2", &cause), 1);
	assert_int_equal(lim.max_memory, 512ULL << 20);
	assert_int_equal(lim.memory_high, 400ULL << 20);
	assert_int_equal(lim.cpu_milli, 500);
	assert_int_equal(lim.max_pids, 64);
	assert_int_equal(cgroup_limits_set(&lim, "max_pids", "-3", &cause), -1);
	assert_non_null(strstr(cause, "max_pids"));
	free(cause);
	cause = NULL;
	assert_int_equal(cgroup_limits_set(&lim, "max_memory", "lots",
	    &cause), -1);
	free(cause);
	cause = NULL;
	o = cgroup_limits_json(&lim);
	memset(&back, 0, sizeof back);
	assert_int_equal(cgroup_limits_from_json(&back, o, &cause), 0);
	assert_memory_equal(&lim, &back, sizeof lim);
	json_decref(o);
	/* Config values may be strings; null lifts a limit. */
	cfg = json_pack("{s:s, s:n, s:s}", "max_memory", "64M", "cpu",
	    "max_pids", "max");
	assert_int_equal(cgroup_limits_from_json(&back, cfg, &cause), 0);
	assert_int_equal(back.max_memory, 64 << 20);
	assert_int_equal(back.cpu_milli, 0);
	assert_int_equal(back.max_pids, 0);
	json_decref(cfg);
	cfg = json_pack("{s:b}", "max_memory", 1);
	assert_int_equal(cgroup_limits_from_json(&back, cfg, &cause), -1);
	free(cause);
	json_decref(cfg);
	lim.cpu_milli = 0;
	lim.max_pids = 0;
	o = cgroup_limits_json(&lim);
	assert_null(json_object_get(o, "cpu"));
	assert_null(json_object_get(o, "max_pids"));
	json_decref(o);
}

static void
test_sample(void **state)
{
	struct cgroup_sample	 s;
	struct cgroup_usage	 u = { .memory = 100, .cpu_usec = 1000000,
	    .flags = CGROUP_MEMORY | CGROUP_CPUACCT };

	(void)state;
	memset(&s, 0, sizeof s);
	cgroup_sample_update(&s, &u, 5000000);
	assert_true(s.cpu == 0.0);
	assert_int_equal(s.memory, 100);
	u.cpu_usec += 250000;
	u.memory = 200;
	cgroup_sample_update(&s, &u, 6000000);
	assert_true(s.cpu > 24.99 && s.cpu < 25.01);
	assert_int_equal(s.memory, 200);
	u.flags = 0;
	cgroup_sample_update(&s, &u, 7000000);
	assert_int_equal(s.wall_us, 6000000);
	/* a baseline taken at the spawn: the first reading has a CPU figure */
	memset(&s, 0, sizeof s);
	s.cpu_usec = 0;
	s.wall_us = 1000000;
	u.flags = CGROUP_MEMORY | CGROUP_CPUACCT;
	u.cpu_usec = 500000;
	cgroup_sample_update(&s, &u, 3000000);
	assert_true(s.valid);
	assert_true(s.cpu > 24.99 && s.cpu < 25.01);
	/*
	 * 1 ms after the baseline (an exec's 1.8 ms of CPU: 180 %): the
	 * memory is read, the CPU figure waits for a span of 100 ms
	 */
	memset(&s, 0, sizeof s);
	s.wall_us = 1000000;
	u.cpu_usec = 1800;
	u.memory = 300;
	cgroup_sample_update(&s, &u, 1001000);
	assert_false(s.valid);
	assert_true(s.cpu == 0.0);
	assert_int_equal(s.memory, 300);
	assert_int_equal(s.wall_us, 1000000);
	u.cpu_usec = 11800;
	cgroup_sample_update(&s, &u, 1200000);
	assert_true(s.valid);
	assert_true(s.cpu > 5.89 && s.cpu < 5.91);
}

/* This process's own group, in its own process group. */
static void
test_proc_usage_self(void **state)
{
	struct cgroup_usage	 u[2];
	pid_t			 pg[2];
	volatile char		*big;
	size_t			 i, size = 32 << 20;

	(void)state;
	big = malloc(size);
	assert_non_null(big);
	for (i = 0; i < size; i += 4096)
		big[i] = 1;
	pg[0] = getpgrp();
	pg[1] = 0x7ffffff0;
	assert_int_equal(cgroup_proc_usage(pg, 2, u), 0);
	assert_true(u[0].pids >= 1);
	assert_true(u[0].memory >= size);
	assert_int_equal(u[1].pids, 0);
	assert_int_equal(u[1].memory, 0);
	free((void *)big);
	assert_int_equal(cgroup_proc_kill(1, 0), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_hybrid),
		cmocka_unit_test(test_detect_v2_only),
		cmocka_unit_test(test_detect_namespace_and_escapes),
		cmocka_unit_test(test_detect_nothing),
		cmocka_unit_test(test_controller_bits),
		cmocka_unit_test(test_default_name),
		cmocka_unit_test(test_cpu_percent),
		cmocka_unit_test(test_parse_cpu),
		cmocka_unit_test(test_limits_set_and_json),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_proc_usage_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
