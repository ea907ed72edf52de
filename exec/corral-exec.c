/* SPDX-License-Identifier: ISC */
/*
 * corral-exec: the tiny program the daemon spawns in place of an app, so
 * that the app starts where it belongs before it runs any code of its own.
 * It writes its own pid into each --join FILE (the cgroup.procs files of
 * the instance's cgroups), sets LISTEN_PID to its own pid with --listen-pid
 * (the pid stays the same across exec), then execs PATH with the rest of
 * the arguments.  It links nothing but libc.
 *
 *	corral-exec [--listen-pid] [--join FILE]... -- PATH [ARG]...
 *
 * Exit status 127 when PATH cannot be run, 126 when a FILE cannot be
 * written (the reason goes to stderr, i.e. the app's error log).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
exec_join(const char *file)
{
	char	 buf[32];
	int	 fd, n, ok;

	if ((fd = open(file, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	ok = write(fd, buf, (size_t)n) == n;
	if (close(fd) == -1)
		ok = 0;
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char	 buf[32];
	int	 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--listen-pid") == 0) {
			snprintf(buf, sizeof buf, "%ld", (long)getpid());
			setenv("LISTEN_PID", buf, 1);
		} else if (strcmp(argv[i], "--join") == 0 && i + 1 < argc) {
			if (exec_join(argv[++i]) == -1) {
				fprintf(stderr, "corral-exec: cannot join %s: "
				    "%s\n", argv[i], strerror(errno));
				return 126;
			}
		} else {
			fprintf(stderr, "usage: corral-exec [--listen-pid] "
			    "[--join FILE]... -- PATH [ARG]...\n");
			return 127;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "corral-exec: no program to run\n");
		return 127;
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "corral-exec: %s: %s\n", argv[i], strerror(errno));
	return 127;
}
