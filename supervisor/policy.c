/* SPDX-License-Identifier: ISC */
/*
 * The restart policy, as a pure function of the settings, the instance's
 * history and how its process ended: stop, restart after a delay, or give up
 * (errored). No I/O here, so the unit tests can drive it directly.
 */
#include "corrald.h"

#define POLICY_BACKOFF_MAX 15000        /* ms */
#define POLICY_STABLE_AFTER 30000       /* ms up that resets the backoff */

static int
policy_is_stop_code(const struct app_config *c, int code)
{
	long long i;

	for (i = 0; i < c->nstop_exit_codes; i++) {
		if (c->stop_exit_codes[i] == code)
			return 1;
	}
	return 0;
}

/*
 * An instance's process ended with code (or signal when not 0) after
 * uptime ms. Returns POLICY_STOP, POLICY_ERRORED, or POLICY_RESTART with
 * the delay in *delay; updates the history in *ps.
 */
int
policy_on_exit(const struct app_config *c, struct policy_state *ps, int code,
    int signal, uint64_t uptime, uint64_t *delay)
{
	int failed = signal != 0 || code != 0;

	*delay = 0;
	if (c->autorestart == APP_RESTART_NEVER)
		return POLICY_STOP;
	if (c->autorestart == APP_RESTART_ON_FAILURE && !failed)
		return POLICY_STOP;
	if (signal == 0 && policy_is_stop_code(c, code))
		return POLICY_STOP;

	/* A run of no time at all (a spawn that failed) is unstable even
	 * with min_uptime 0, so that it ends errored instead of spinning. */
	if (uptime < c->min_uptime || uptime == 0)
		ps->unstable_restarts++;
	else
		ps->unstable_restarts = 0;
	if (ps->unstable_restarts > c->max_restarts)
		return POLICY_ERRORED;

	if (c->exp_backoff_restart_delay > 0) {
		if (uptime >= POLICY_STABLE_AFTER || ps->backoff == 0)
			ps->backoff = c->exp_backoff_restart_delay;
		else
			ps->backoff = ps->backoff * 3 / 2;
		if (ps->backoff > POLICY_BACKOFF_MAX)
			ps->backoff = POLICY_BACKOFF_MAX;
		*delay = ps->backoff;
	} else
		*delay = c->restart_delay;
	return POLICY_RESTART;
}
