/* SPDX-License-Identifier: ISC */
/*
 * corral-exec: the few steps a child must take on itself between fork and
 * exec, which uv_spawn cannot: with --listen-pid it sets LISTEN_PID to its
 * own pid (the socket-activation protocol wants the pid of the process that
 * reads LISTEN_FDS, and exec keeps the pid); with --join FILE it writes its
 * pid into FILE (a cgroup.procs), before the app runs a single instruction;
 * with --preload LIB it puts LIB first in LD_PRELOAD for the app only (the
 * wrapper itself may be a sanitizer build that must not preload anything).
 *
 *   corral-exec [--listen-pid] [--join FILE]... [--preload LIB] -- PATH
 *       ARGV0 ARGS...
 *
 * Exits 127 (like a shell) when it cannot do its job, with a message on
 * stderr, which the daemon logs as the instance's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
exec_fail(const char *what, const char *arg)
{
	fprintf(stderr, "corral-exec: %s %s: %s\n", what, arg, strerror(errno));
	exit(127);
}

static void
exec_join(const char *file)
{
	char buf[32];
	int fd, n;

	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if ((fd = open(file, O_WRONLY | O_CLOEXEC)) == -1)
		exec_fail("cannot open", file);
	if (write(fd, buf, (size_t)n) != n)
		exec_fail("cannot write to", file);
	if (close(fd) == -1)
		exec_fail("cannot close", file);
}

static void
exec_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	size_t n;

	if (old == NULL || *old == '\0') {
		if (setenv("LD_PRELOAD", lib, 1) == -1)
			exec_fail("cannot set", "LD_PRELOAD");
		return;
	}
	n = strlen(lib) + strlen(old) + 2;
	if ((v = malloc(n)) == NULL)
		exec_fail("cannot set", "LD_PRELOAD");
	snprintf(v, n, "%s:%s", lib, old);
	if (setenv("LD_PRELOAD", v, 1) == -1)
		exec_fail("cannot set", "LD_PRELOAD");
	free(v);
}

int
main(int argc, char **argv)
{
	const char *preload = NULL;
	char pid[32];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--listen-pid") == 0) {
			snprintf(pid, sizeof pid, "%ld", (long)getpid());
			if (setenv("LISTEN_PID", pid, 1) == -1)
				exec_fail("cannot set", "LISTEN_PID");
		} else if (strcmp(argv[i], "--join") == 0 && i + 1 < argc)
			exec_join(argv[++i]);
		else if (strcmp(argv[i], "--preload") == 0 && i + 1 < argc)
			preload = argv[++i];
		else {
			fprintf(stderr, "usage: corral-exec [--listen-pid] "
			    "[--join FILE]... [--preload LIB] -- PATH ARGV...\n");
			return 127;
		}
	}
	if (argc - i < 2) {
		fprintf(stderr, "corral-exec: no program after --\n");
		return 127;
	}
	if (preload != NULL)
		exec_preload(preload);
	execvp(argv[i], argv + i + 1);
	exec_fail("cannot run", argv[i]);
	return 127;
}
