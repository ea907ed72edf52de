/* SPDX-License-Identifier: ISC */
/*
 * Timers embedded in the daemon's objects.  uv_timer_init() only fills in
 * the handle and returns 0 (libuv 1.x); there is no run-time failure to
 * recover from, so an object that owns a timer is never refused for it.
 * timer_init() still checks, in one place, and says so in corrald.log
 * should a libuv ever return an error there: never a fatal at run time.
 */
#include "corrald.h"

void
timer_init(uv_loop_t *loop, uv_timer_t *t)
{
	int	 rc;

	if ((rc = uv_timer_init(loop, t)) != 0)
		log_warnx("uv_timer_init: %s", uv_strerror(rc));
}
