/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the boot services of `corral startup`: the text of each
 * kind, installation and removal under a scratch root, and, where
 * systemd-analyze exists, that the unit passes `systemd-analyze verify`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "corral.h"

static char root[] = "/tmp/corral-test-startup-XXXXXX";
static char bindir[300];

static void
fill(struct startup *s, int kind)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->root = root;
	s->user = "root";
	s->home = "/root";
	s->corral_home = "/root/.corral";
	s->bindir = bindir;
	s->path = "/usr/local/bin:/usr/bin:/bin";
	s->watchdog_sec = 30;
	s->stop_timeout_sec = 95;
}

static int
setup(void **state)
{
	char p[400];
	FILE *f;
	const char *names[] = { "corrald", "corral" };
	size_t i;

	(void)state;
	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(bindir, sizeof bindir, "%s/usr/bin", root);
	snprintf(p, sizeof p, "%s/usr", root);
	mkdir(p, 0755);
	mkdir(bindir, 0755);
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", bindir, names[i]);
		if ((f = fopen(p, "w")) == NULL)
			return -1;
		fputs("#!/bin/sh\n", f);
		fclose(f);
		chmod(p, 0755);
	}
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_systemd(void **state)
{
	struct startup s;
	char *text, *file = NULL, *cause = NULL, link[600], target[600], cmd[900];
	ssize_t n;
	int rc;

	(void)state;
	fill(&s, STARTUP_SYSTEMD);
	assert_int_equal(startup_check(&s, &cause), 0);
	text = startup_text(&s);
	assert_non_null(strstr(text, "\nType=notify\nNotifyAccess=main\n"));
	assert_non_null(strstr(text, "# The main process is corral-keeper"));
	assert_null(strstr(text, "NotifyAccess=all"));
	assert_non_null(strstr(text, "\nDelegate=yes\n"));
	assert_non_null(strstr(text, "\nKillMode=mixed\n"));
	assert_non_null(strstr(text, "\nWatchdogSec=30s\n"));
	assert_non_null(strstr(text, "\nTimeoutStopSec=95s\n"));
	assert_non_null(strstr(text, "\nUser=root\n"));
	assert_non_null(strstr(text, "corrald --foreground --resurrect\n"));
	assert_non_null(strstr(text, "\nExecReload="));
	free(text);

	assert_int_equal(startup_install(&s, &file, &cause), 0);
	snprintf(link, sizeof link, "%s/etc/systemd/system/corral-root.service",
	    root);
	assert_string_equal(file, link);
	snprintf(link, sizeof link, "%s/etc/systemd/system/multi-user.target."
	    "wants/corral-root.service", root);
	n = readlink(link, target, sizeof target - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/etc/systemd/system/corral-root.service");

	if (access("/usr/bin/systemd-analyze", X_OK) == 0) {
		snprintf(cmd, sizeof cmd, "SYSTEMD_LOG_LEVEL=notice "
		    "/usr/bin/systemd-analyze verify --man=no '%s' 2>&1", file);
		rc = system(cmd);
		assert_int_equal(rc, 0);
	}
	free(file);
	assert_int_equal(startup_remove(&s, &cause), 2);
	assert_int_equal(access(link, F_OK), -1);
	assert_int_equal(startup_remove(&s, &cause), 0);
}

static void
test_openrc_sysv(void **state)
{
	struct startup s;
	char *file = NULL, *cause = NULL, p[600], *text;
	struct stat st;

	(void)state;
	fill(&s, STARTUP_OPENRC);
	text = startup_text(&s);
	assert_true(strncmp(text, "#!/sbin/openrc-run\n", 19) == 0);
	assert_non_null(strstr(text, "command_user=\"root\""));
	free(text);
	assert_int_equal(startup_install(&s, &file, &cause), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	free(file);
	snprintf(p, sizeof p, "%s/etc/runlevels/default/corral-root", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(startup_remove(&s, &cause), 2);

	fill(&s, STARTUP_SYSV);
	text = startup_text(&s);
	assert_non_null(strstr(text, "### BEGIN INIT INFO"));
	assert_non_null(strstr(text, "--retry TERM/95/KILL/5"));
	free(text);
	assert_int_equal(startup_install(&s, &file, &cause), 0);
	free(file);
	snprintf(p, sizeof p, "%s/etc/rc2.d/S20corral-root", root);
	assert_int_equal(lstat(p, &st), 0);
	snprintf(p, sizeof p, "%s/etc/rc6.d/K01corral-root", root);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(startup_remove(&s, &cause), 8);
	assert_int_equal(lstat(p, &st), -1);
}

static void
test_check(void **state)
{
	struct startup s;
	char *cause = NULL;

	(void)state;
	fill(&s, STARTUP_SYSTEMD);
	s.user = "a b";
	assert_int_equal(startup_check(&s, &cause), -1);
	free(cause);
	fill(&s, STARTUP_SYSTEMD);
	s.home = "/home/with space";
	assert_int_equal(startup_check(&s, &cause), -1);
	free(cause);
	s.home = "relative";
	assert_int_equal(startup_check(&s, &cause), -1);
	free(cause);
	assert_int_equal(startup_kind("openrc"), STARTUP_OPENRC);
	assert_int_equal(startup_kind("upstart"), -1);
	assert_string_equal(startup_kind_name(STARTUP_SYSV), "sysv");
}

/* --metrics ADDR goes into every kind's command line; a bad one is refused. */
static void
test_metrics(void **state)
{
	struct startup s;
	char *text, *cause = NULL;
	int kind;

	(void)state;
	for (kind = STARTUP_SYSTEMD; kind <= STARTUP_SYSV; kind++) {
		fill(&s, kind);
		s.metrics = "0.0.0.0:9100";
		assert_int_equal(startup_check(&s, &cause), 0);
		text = startup_text(&s);
		assert_non_null(strstr(text, "--foreground --resurrect --metrics "
		    "0.0.0.0:9100"));
		free(text);
		fill(&s, kind);
		text = startup_text(&s);
		assert_null(strstr(text, "--metrics"));
		free(text);
	}
	fill(&s, STARTUP_SYSTEMD);
	s.metrics = ":9100";
	assert_int_equal(startup_check(&s, &cause), -1);
	assert_non_null(strstr(cause, "no host"));
	free(cause);
	s.metrics = "9100;reboot";
	assert_int_equal(startup_check(&s, &cause), -1);
	assert_non_null(strstr(cause, "not an address"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_systemd),
		cmocka_unit_test(test_openrc_sysv),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
