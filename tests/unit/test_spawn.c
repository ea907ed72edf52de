/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the spawn plan's one wrap: corral-exec in front of the
 * app's argv once, whatever modules asked for (cgroup joins, cluster mode,
 * a file limit, another identity), with the options corral-exec reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corrald.h"

static void
check_strv(char **got, const char *const *want)
{
	size_t i;

	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(got[i]);
		assert_string_equal(got[i], want[i]);
	}
	assert_null(got[i]);
	for (i = 0; got[i] != NULL; i++)
		free(got[i]);
	free(got);
}

/* corral-exec in front of the app; cluster mode's options in the same call. */
static void
test_wrap_argv(void **state)
{
	char f0[] = "/cg/memory/a/0/cgroup.procs";
	char f1[] = "/cg/cpu/a/0/cgroup.procs";
	char node[] = "node", app[] = "app.js";
	char *files[] = { f0, f1 }, *argv[] = { node, app, NULL };
	struct spawn_plan p = { .argv = argv, .cgroup_procs = files,
	    .ncgroup_procs = 2, .cgroup_dirfd = -1 };
	const char *const plain[] = { "/x/corral-exec", "--wait", f0,
	    "--wait", f1, "--", "node", "app.js", NULL };
	const char *const cluster[] = { "/x/corral-exec", "--listen-pid",
	    "--wait", f0, "--wait", f1, "--nofile", "1024", "--preload",
	    "/x/lib.so", "--", "node", "app.js", NULL };

	(void)state;
	check_strv(spawn_exec_argv(&p, "/x/corral-exec"), plain);
	p.listen_pid = 1;
	p.nofile = 1024;
	p.preload = (char *)"/x/lib.so";
	check_strv(spawn_exec_argv(&p, "/x/corral-exec"), cluster);
}

/* Another identity: uid, gid and every supplementary group, in order. */
static void
test_wrap_identity(void **state)
{
	char sleep[] = "/bin/sleep", secs[] = "9";
	char *argv[] = { sleep, secs, NULL };
	gid_t groups[] = { 65534, 103, 0 };
	struct spawn_plan p = { .argv = argv, .cgroup_dirfd = -1,
	    .drop_privs = 1, .uid = 65534, .gid = 65534, .groups = groups,
	    .ngroups = 3 };
	const char *const want[] = { "corral-exec", "--uid", "65534",
	    "--gid", "65534", "--groups", "65534,103,0", "--", "/bin/sleep",
	    "9", NULL };
	const char *const none[] = { "corral-exec", "--uid", "1", "--gid",
	    "2", "--groups", "", "--", "/bin/sleep", "9", NULL };

	(void)state;
	check_strv(spawn_exec_argv(&p, "corral-exec"), want);
	p.uid = 1;
	p.gid = 2;
	p.ngroups = 0;
	check_strv(spawn_exec_argv(&p, "corral-exec"), none);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_argv),
		cmocka_unit_test(test_wrap_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
