/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of supervisor/policy.c, the restart policy: autorestart
 * always|on-failure|never, stop_exit_codes, restart_delay, min_uptime with
 * max_restarts (errored instead of spinning) and the exponential backoff
 * (x1.5, capped at 15 s, reset after 30 s up).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corrald.h"

static struct app_config
cfg_default(void)
{
	struct app_config c;

	memset(&c, 0, sizeof c);
	c.autorestart = APP_RESTART_ALWAYS;
	c.min_uptime = 1000;
	c.max_restarts = 16;
	c.kill_signal = SIGTERM;
	c.kill_timeout = 5000;
	return c;
}

static int
on_exit_(const struct app_config *c, struct policy_state *ps, int code,
    int sig, uint64_t uptime, uint64_t *delay)
{
	*delay = 424242;
	return policy_on_exit(c, ps, code, sig, uptime, delay);
}

static void
test_policy_autorestart(void **state)
{
	struct app_config c = cfg_default();
	struct policy_state ps = { 0, 0 };
	uint64_t d;

	(void)state;
	/* always: any exit, clean or not, restarts. */
	assert_int_equal(on_exit_(&c, &ps, 0, 0, 60000, &d), POLICY_RESTART);
	assert_int_equal(d, 0);
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 60000, &d), POLICY_RESTART);
	assert_int_equal(on_exit_(&c, &ps, -1, SIGKILL, 60000, &d),
	    POLICY_RESTART);

	c.autorestart = APP_RESTART_NEVER;
	assert_int_equal(on_exit_(&c, &ps, 0, 0, 60000, &d), POLICY_STOP);
	assert_int_equal(d, 0);
	assert_int_equal(on_exit_(&c, &ps, 3, 0, 10, &d), POLICY_STOP);
	assert_int_equal(on_exit_(&c, &ps, -1, SIGSEGV, 10, &d), POLICY_STOP);

	c.autorestart = APP_RESTART_ON_FAILURE;
	assert_int_equal(on_exit_(&c, &ps, 0, 0, 60000, &d), POLICY_STOP);
	assert_int_equal(on_exit_(&c, &ps, 2, 0, 60000, &d), POLICY_RESTART);
	assert_int_equal(on_exit_(&c, &ps, -1, SIGABRT, 60000, &d),
	    POLICY_RESTART);
}

static void
test_policy_stop_exit_codes(void **state)
{
	struct app_config c = cfg_default();
	struct policy_state ps = { 0, 0 };
	uint64_t d;

	(void)state;
	c.stop_exit_codes[0] = 0;
	c.stop_exit_codes[1] = 5;
	c.nstop_exit_codes = 2;
	assert_int_equal(on_exit_(&c, &ps, 0, 0, 60000, &d), POLICY_STOP);
	assert_int_equal(on_exit_(&c, &ps, 5, 0, 10, &d), POLICY_STOP);
	assert_int_equal(on_exit_(&c, &ps, 6, 0, 60000, &d), POLICY_RESTART);
	/* A signal is never an expected exit code. */
	assert_int_equal(on_exit_(&c, &ps, 5, SIGTERM, 60000, &d),
	    POLICY_RESTART);
	c.autorestart = APP_RESTART_ON_FAILURE;
	assert_int_equal(on_exit_(&c, &ps, 5, 0, 60000, &d), POLICY_STOP);
	assert_int_equal(on_exit_(&c, &ps, 7, 0, 60000, &d), POLICY_RESTART);
}

static void
test_policy_restart_delay(void **state)
{
	struct app_config c = cfg_default();
	struct policy_state ps = { 0, 0 };
	uint64_t d;

	(void)state;
	c.restart_delay = 2500;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(on_exit_(&c, &ps, 1, 0, 60000, &d),
		    POLICY_RESTART);
		assert_int_equal(d, 2500);      /* fixed, not growing */
	}
	assert_int_equal(ps.unstable_restarts, 0);
}

static void
test_policy_unstable_restarts_errored(void **state)
{
	struct app_config c = cfg_default();
	struct policy_state ps = { 0, 0 };
	uint64_t d;
	int i;

	(void)state;
	c.max_restarts = 3;
	c.min_uptime = 1000;
	for (i = 1; i <= 3; i++) {
		assert_int_equal(on_exit_(&c, &ps, 1, 0, 999, &d),
		    POLICY_RESTART);
		assert_int_equal(ps.unstable_restarts, i);
	}
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_ERRORED);
	assert_int_equal(d, 0);

	/* A stable run forgives earlier crashes. */
	ps.unstable_restarts = 0;
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_RESTART);
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_RESTART);
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 1000, &d), POLICY_RESTART);
	assert_int_equal(ps.unstable_restarts, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d),
		    POLICY_RESTART);
	assert_int_equal(on_exit_(&c, &ps, -1, SIGSEGV, 10, &d),
	    POLICY_ERRORED);

	/* Crashes by signal count as unstable too; max_restarts 0 gives up
	 * at the first unstable exit. */
	c.max_restarts = 0;
	ps.unstable_restarts = 0;
	assert_int_equal(on_exit_(&c, &ps, -1, SIGKILL, 10, &d),
	    POLICY_ERRORED);
	/* A run of no time (a spawn that failed) is unstable even when
	 * min_uptime is 0; any longer run is not. */
	c.max_restarts = 2;
	c.min_uptime = 0;
	ps.unstable_restarts = 0;
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 1, &d), POLICY_RESTART);
	assert_int_equal(ps.unstable_restarts, 0);
	assert_int_equal(on_exit_(&c, &ps, 127, 0, 0, &d), POLICY_RESTART);
	assert_int_equal(on_exit_(&c, &ps, 127, 0, 0, &d), POLICY_RESTART);
	assert_int_equal(on_exit_(&c, &ps, 127, 0, 0, &d), POLICY_ERRORED);
	/* ... but never for a stopped-by-policy exit. */
	c.autorestart = APP_RESTART_NEVER;
	ps.unstable_restarts = 0;
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_STOP);
}

static void
test_policy_exp_backoff(void **state)
{
	struct app_config c = cfg_default();
	struct policy_state ps = { 0, 0 };
	uint64_t d, prev = 0;
	int capped = 0;

	(void)state;
	c.exp_backoff_restart_delay = 100;
	c.restart_delay = 9999;         /* ignored while backoff is on */
	c.max_restarts = 1000;
	c.min_uptime = 0;
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_RESTART);
	assert_int_equal(d, 100);
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_RESTART);
	assert_int_equal(d, 150);
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_RESTART);
	assert_int_equal(d, 225);
	prev = d;
	for (int i = 0; i < 40; i++) {
		assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d),
		    POLICY_RESTART);
		assert_true(d >= prev);
		assert_true(d <= 15000);
		if (d == 15000)
			capped = 1;
		prev = d;
	}
	assert_true(capped);
	/* Up for less than 30 s: still backing off. */
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 29999, &d), POLICY_RESTART);
	assert_int_equal(d, 15000);
	/* Up for 30 s: the backoff starts over. */
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 30000, &d), POLICY_RESTART);
	assert_int_equal(d, 100);
	assert_int_equal(on_exit_(&c, &ps, 1, 0, 10, &d), POLICY_RESTART);
	assert_int_equal(d, 150);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_autorestart),
		cmocka_unit_test(test_policy_stop_exit_codes),
		cmocka_unit_test(test_policy_restart_delay),
		cmocka_unit_test(test_policy_unstable_restarts_errored),
		cmocka_unit_test(test_policy_exp_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
