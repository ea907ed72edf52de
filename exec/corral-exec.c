/* SPDX-License-Identifier: ISC */
/*
 * corral-exec: the few steps a child must take on itself between fork and
 * exec, which uv_spawn cannot: with --listen-pid it sets LISTEN_PID to its
 * own pid (the socket-activation protocol wants the pid of the process that
 * reads LISTEN_FDS, and exec keeps the pid); with --join FILE it writes its
 * pid into FILE (a cgroup.procs), before the app runs a single instruction.
 *
 *   corral-exec [--listen-pid] [--join FILE]... -- PATH ARGV0 ARGS...
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

int
main(int argc, char **argv)
{
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
		else {
			fprintf(stderr, "usage: corral-exec [--listen-pid] "
			    "[--join FILE]... -- PATH ARGV...\n");
			return 127;
		}
	}
	if (argc - i < 2) {
		fprintf(stderr, "corral-exec: no program after --\n");
		return 127;
	}
	execvp(argv[i], argv + i + 1);
	exec_fail("cannot run", argv[i]);
	return 127;
}
