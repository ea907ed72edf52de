/* SPDX-License-Identifier: ISC */
/*
 * The engine's ways in and out. corrald started without --engine becomes
 * corral-keeper by exec (the same pid: the client that waits for it, or
 * systemd, sees the keeper), with this binary as the engine the keeper
 * starts and the arguments passed on to it. An engine leaves its apps
 * running when the keeper is lost or replaces it (`corral update`).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

/* Start-up: never returns; fatal when the keeper cannot run. */
void
engine_exec_keeper(int argc, char **argv, int verbose)
{
	char self[PATH_MAX], *keeper, **v;
	ssize_t n;
	int i, k = 0;

	if ((keeper = paths_own("corral-keeper", X_OK)) == NULL)
		fatalx("corral-keeper is missing");
	if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) <= 0)
		fatal("/proc/self/exe");
	self[n] = '\0';
	if (setenv("CORRAL_HOME", D.home, 1) == -1)
		fatal("setenv");
	v = xcalloc((size_t)argc + 8, sizeof *v);
	v[k++] = keeper;
	if (D.foreground)
		v[k++] = (char *)"--foreground";
	if (verbose)
		v[k++] = (char *)"--verbose";
	v[k++] = (char *)"--engine-bin";
	v[k++] = self;
	v[k++] = (char *)"--";
	for (i = 1; i < argc; i++)
		v[k++] = argv[i];
	execv(keeper, v);
	fatal("%s", keeper);
}

/*
 * The keeper is gone: the apps are init's children now and the engine
 * cannot hear their exits. It exits at once, leaving them running and the
 * state on disk; the next start stops them before it starts them again.
 */
void
daemon_abandon(void)
{
	(void)unlink(D.pid_path);
	log_info("exited without the keeper");
	exit(1);
}

/*
 * `corral update`: the state is on disk and the keeper was told; the
 * engine exits at once, every app running, every socket held by the
 * keeper, the log lines read so far written.
 */
void
daemon_leave(void)
{
	log_info("exiting for the update");
	logsink_stop();
	exit(0);
}
