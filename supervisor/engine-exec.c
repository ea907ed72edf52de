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

/*
 * An unprivileged user whose cgroup is not theirs (a login shell, a
 * service of root's) gets a delegated scope from their systemd now, for
 * the keeper this process becomes: the keeper spawns every instance, and
 * only a process inside the delegated cgroup may move its children into
 * the cgroups below it. The engines it starts are there too.
 */
static void
engine_early_scope(void)
{
	char line[PATH_MAX + 8], path[PATH_MAX + 64], *scope = NULL;
	char *cause = NULL;
	const char *env = getenv("CORRAL_CGROUP");
	FILE *f;
	int found = 0;

	if (geteuid() == 0 || (env != NULL && strcmp(env, "off") == 0) ||
	    access("/run/systemd/system", F_OK) != 0 ||
	    (f = fopen("/proc/self/cgroup", "re")) == NULL)
		return;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strncmp(line, "0::", 3) == 0;
	fclose(f);
	if (!found)
		return;
	line[strcspn(line, "\n")] = '\0';
	snprintf(path, sizeof path, "/sys/fs/cgroup%s/cgroup.procs", line + 3);
	if (access(path, W_OK) == 0 || access("/sys/fs/cgroup/cgroup.controllers",
	    F_OK) != 0)
		return;
	/* on failure the engine says what it has (no limits) in its log */
	(void)cgroup_scope_request(&scope, &cause);
	free(scope);
	free(cause);
}

/* Start-up: never returns; fatal when the keeper cannot run. */
void
engine_exec_keeper(int argc, char **argv, int verbose)
{
	char self[PATH_MAX], *keeper, **v;
	ssize_t n;
	int i, k = 0;

	if ((keeper = paths_own("corral-keeper", X_OK)) == NULL)
		fatalx("corral-keeper is missing");
	engine_early_scope();
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
