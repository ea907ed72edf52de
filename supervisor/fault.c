/* SPDX-License-Identifier: ISC */
/*
 * Faults a test asks for (docs/HACKING.md, "Faults"): with
 * CORRAL_FAULT=point in corrald's environment, the first engine the
 * keeper started kills itself at that point, as a kill -9 aimed there
 * would; the engines after it run on. Apart from engine.c, so that what
 * calls fault_point() links without the engine (the unit tests).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine.h"

static int fault_armed;         /* this engine is the keeper's first */

/* The keeper's HELLO said whether this engine is its first. */
void
fault_arm(int first)
{
	fault_armed = first;
}

void
fault_point(const char *point)
{
	const char *s;

	if (!fault_armed || (s = getenv("CORRAL_FAULT")) == NULL ||
	    strcmp(s, point) != 0)
		return;
	log_warnx("fault \"%s\": the engine kills itself", point);
	(void)raise(SIGKILL);
}
