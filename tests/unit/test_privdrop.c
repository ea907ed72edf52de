/* SPDX-License-Identifier: ISC */
/* Unit tests of user/group resolution and the privilege drop of apps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "corrald.h"

static void
test_resolve(void **state)
{
	struct privdrop pd;
	struct passwd *pw;
	char *cause = NULL;

	(void)state;
	assert_int_equal(privdrop_resolve(NULL, NULL, &pd, &cause), 0);
	assert_false(pd.active);
	privdrop_free(&pd);

	assert_int_equal(privdrop_resolve("no-such-user-x", NULL, &pd, &cause),
	    -1);
	assert_string_equal(cause, "unknown user 'no-such-user-x'");
	free(cause);
	privdrop_free(&pd);
	cause = NULL;
	assert_int_equal(privdrop_resolve(NULL, "no-such-group-x", &pd,
	    &cause), -1);
	assert_string_equal(cause, "unknown group 'no-such-group-x'");
	free(cause);
	privdrop_free(&pd);

	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL) {
		skip();
		return;
	}
	assert_int_equal(privdrop_resolve("nobody", NULL, &pd, &cause), 0);
	assert_true(pd.active);
	assert_int_equal(pd.uid, pw->pw_uid);
	assert_int_equal(pd.gid, pw->pw_gid);
	assert_string_equal(pd.name, "nobody");
	assert_true(pd.ngroups >= 1);
	privdrop_free(&pd);

	assert_int_equal(privdrop_resolve("65534", "0", &pd, &cause), 0);
	assert_int_equal(pd.uid, 65534);
	assert_int_equal(pd.gid, 0);
	privdrop_free(&pd);
}

static void
test_apply(void **state)
{
	struct privdrop pd;
	struct passwd *pw;
	char *cause = NULL;
	pid_t pid;
	int status;
	gid_t g[8];

	(void)state;
	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL) {
		skip();
		return;
	}
	assert_int_equal(privdrop_resolve("nobody", NULL, &pd, &cause), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (privdrop_apply(&pd) != 0)
			_exit(10);
		if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid)
			_exit(11);
		if (getgid() != pw->pw_gid || getegid() != pw->pw_gid)
			_exit(12);
		if (getgroups(8, g) == -1 || (getgroups(0, NULL) > 0 &&
		    g[0] == 0))
			_exit(13);
		if (setuid(0) != -1)
			_exit(14);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	privdrop_free(&pd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
