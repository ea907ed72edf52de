/* SPDX-License-Identifier: ISC */
/*
 * Faults a test asks for (docs/HACKING.md, "Faults"), with CORRAL_FAULT
 * in corrald's environment:
 *	POINT		the first engine the keeper started kills itself
 *			(SIGKILL) at POINT, as a kill -9 aimed there would;
 *			the engines after it run on;
 *	POINT:abort	every engine aborts (SIGABRT, no core) at POINT, as
 *			a bug there would;
 *	POINT:pause	every engine but the keeper's first stops itself
 *			(SIGSTOP) at POINT, until the test sends SIGCONT.
 * Apart from engine.c, so that what calls fault_point() links without
 * the engine (the unit tests).
 */
#include <sys/prctl.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine.h"

static int fault_first;         /* this engine is the keeper's first */
static const char *fault_want;  /* CORRAL_FAULT, read once, or NULL */

/* The keeper's HELLO said whether this engine is its first. */
void
fault_arm(int first)
{
	fault_first = first;
	fault_want = getenv("CORRAL_FAULT");
}

/* Whether a test asked for a fault: callers skip naming their point. */
int
fault_wanted(void)
{
	return fault_want != NULL;
}

void
fault_point(const char *point)
{
	const char *s = fault_want;
	size_t n;

	if (s == NULL)
		return;                 /* no test asked: nothing to compare */
	n = strlen(point);
	if (strncmp(s, point, n) != 0)
		return;
	if (s[n] == '\0' && fault_first) {
		log_warnx("fault \"%s\": the engine kills itself", point);
		(void)raise(SIGKILL);
	}
	if (strcmp(s + n, ":pause") == 0 && !fault_first) {
		log_warnx("fault \"%s\": the engine stops", point);
		(void)raise(SIGSTOP);
	}
	if (strcmp(s + n, ":abort") == 0) {
		log_warnx("fault \"%s\": the engine aborts", point);
		(void)prctl(PR_SET_DUMPABLE, 0);      /* no core file */
		(void)raise(SIGABRT);
	}
}
