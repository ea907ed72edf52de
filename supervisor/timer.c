/* SPDX-License-Identifier: ISC */
/*
 * Timers embedded in the daemon's objects.  uv_timer_init() only fills in
 * the handle and returns 0 (libuv 1.x); there is no run-time failure to
 * recover from, so an object that owns a timer is never refused for it.
 * timer_init() still checks, in one place, and says so in corrald.log
 * should a libuv ever return an error there: never a fatal at run time.
 * timer_start() likewise: uv_timer_start() refuses only a handle being
 * closed (a bug of its owner), which is logged and otherwise ignored.
 * boot_ms() is the clock of times that outlive an engine.
 */
#include <time.h>

#include "corrald.h"

void
timer_init(uv_loop_t *loop, uv_timer_t *t)
{
	int	 rc;

	if ((rc = uv_timer_init(loop, t)) != 0)
		log_warnx("uv_timer_init: %s", uv_strerror(rc));
}

/* uv_timer_start(); returns its result, logged when not 0. */
int
timer_start(uv_timer_t *t, uv_timer_cb cb, uint64_t timeout, uint64_t repeat)
{
	int	 rc;

	if ((rc = uv_timer_start(t, cb, timeout, repeat)) != 0)
		log_warnx("uv_timer_start: %s", uv_strerror(rc));
	return rc;
}

/*
 * Milliseconds since boot, suspend included (CLOCK_BOOTTIME): one clock
 * for every process of this boot, unmoved by a change of the wall clock.
 * Times that outlive the engine (a backoff's due time) use it.
 */
uint64_t
boot_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) == -1)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
