/* SPDX-License-Identifier: ISC */
/*
 * corral-exec: the tiny program the daemon spawns in place of an app, so
 * that the app starts where it belongs before it runs any code of its own.
 * It waits until the daemon has put it in each --wait FILE (the
 * cgroup.procs files of the instance's cgroups: its pid listed there; at
 * most 10 s; the daemon moves it, so that a failed move is a failed spawn
 * the daemon knows of), sets LISTEN_PID to its own pid with --listen-pid
 * (the pid stays the same across exec), puts --preload LIB first in
 * LD_PRELOAD (for the app only: a sanitizer build of this wrapper must not
 * run with a preloaded library), then execs PATH with the rest of the
 * arguments.  It links nothing but libc.
 *
 *	corral-exec [--listen-pid] [--wait FILE]... [--preload LIB] --
 *	    PATH [ARG]...
 *
 * Exit status 127 when PATH cannot be run, 126 when a FILE cannot be
 * waited for (the reason goes to stderr, i.e. the app's error log).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
exec_preload(const char *lib)
{
	const char	*old = getenv("LD_PRELOAD");
	char		*v;
	size_t		 n;
	int		 r;

	if (old == NULL || *old == '\0')
		return setenv("LD_PRELOAD", lib, 1);
	n = strlen(lib) + strlen(old) + 2;
	if ((v = malloc(n)) == NULL)
		return -1;
	snprintf(v, n, "%s:%s", lib, old);
	r = setenv("LD_PRELOAD", v, 1);
	free(v);
	return r;
}

/* Whether file (a cgroup.procs) lists this process. */
static int
exec_listed(const char *file)
{
	char	 buf[8192], *p, *end;
	ssize_t	 n;
	long	 v;
	int	 fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (p = buf; *p != '\0'; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v == (long)getpid())
			return 1;
	}
	return 0;
}

static int
exec_wait(const char *file)
{
	struct timespec	 ms = { 0, 1000000 };
	int		 i, r;

	for (i = 0; i < 10000; i++) {
		if ((r = exec_listed(file)) != 0)
			return r == 1 ? 0 : -1;
		nanosleep(&ms, NULL);
	}
	errno = ETIMEDOUT;
	return -1;
}

int
main(int argc, char **argv)
{
	const char	*preload = NULL;
	char		 buf[32];
	int		 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--listen-pid") == 0) {
			snprintf(buf, sizeof buf, "%ld", (long)getpid());
			setenv("LISTEN_PID", buf, 1);
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			if (exec_wait(argv[++i]) == -1) {
				fprintf(stderr, "corral-exec: not moved into "
				    "%s: %s\n", argv[i], strerror(errno));
				return 126;
			}
		} else if (strcmp(argv[i], "--preload") == 0 && i + 1 < argc) {
			preload = argv[++i];
		} else {
			fprintf(stderr, "usage: corral-exec [--listen-pid] "
			    "[--wait FILE]... [--preload LIB] "
			    "-- PATH [ARG]...\n");
			return 127;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "corral-exec: no program to run\n");
		return 127;
	}
	if (preload != NULL && exec_preload(preload) == -1) {
		fprintf(stderr, "corral-exec: cannot set LD_PRELOAD: %s\n",
		    strerror(errno));
		return 126;
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "corral-exec: %s: %s\n", argv[i], strerror(errno));
	return 127;
}
