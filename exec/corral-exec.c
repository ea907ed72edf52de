/* SPDX-License-Identifier: ISC */
/*
 * corral-exec: the tiny program the daemon spawns in place of an app, so
 * that the app starts where it belongs, as whom it should, before it runs
 * any code of its own. In this order, whatever the order of the options:
 * it waits until the daemon has put it in each --wait FILE (the
 * cgroup.procs files of the instance's cgroups: its pid listed there; at
 * most 10 s; the daemon moves it, so that a failed move is a failed spawn
 * the daemon knows of), sets the soft RLIMIT_NOFILE to --nofile N (the
 * daemon raised its own; apps get what it was given), takes on --uid,
 * --gid and the supplementary --groups (comma-separated gids; none: no
 * supplementary group) with privswitch(), the daemon's own drop, sets
 * LISTEN_PID to its own pid with --listen-pid (the pid stays the same
 * across exec), puts --preload LIB first in LD_PRELOAD (for the app only:
 * a sanitizer build of this wrapper must not run with a preloaded
 * library), then execs PATH with the rest of the arguments. It links
 * nothing but libc.
 *
 *	corral-exec [--listen-pid] [--wait FILE]... [--nofile N]
 *	    [--uid UID --gid GID [--groups GID,...]] [--preload LIB]
 *	    -- PATH [ARG]...
 *
 * Exit status 127 when PATH cannot be run, 126 when a step before it
 * fails (the reason goes to stderr, i.e. the app's error log).
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "privswitch.h"

#define EXEC_USAGE "usage: corral-exec [--listen-pid] [--wait FILE]... " \
    "[--nofile N] [--uid UID --gid GID [--groups GID,...]] " \
    "[--preload LIB] -- PATH [ARG]...\n"

/* What the options ask for; strings point into argv. */
struct exec_opts {
	int listen_pid;
	const char **wait;              /* NULL-terminated */
	const char *nofile;
	int drop;                       /* --uid and --gid given */
	uid_t uid;
	gid_t gid;
	gid_t groups[PRIVSWITCH_MAX_GROUPS];
	size_t ngroups;
	const char *preload;
	char **run;                     /* PATH [ARG]... */
};

static int
exec_nofile(const char *s)
{
	struct rlimit	 rl;
	char		*end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 ||
	    getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		errno = errno != 0 ? errno : EINVAL;
		return -1;
	}
	if (n < rl.rlim_max)
		rl.rlim_cur = (rlim_t)n;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

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

/* A uid or gid: digits only, below (unsigned)-1. */
static int
exec_id(const char *s, unsigned int *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
	    n >= (unsigned long)(unsigned int)-1)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

static int
exec_groups(const char *s, struct exec_opts *o)
{
	char buf[32];
	size_t len;
	unsigned int g;

	for (o->ngroups = 0; *s != '\0'; s += len + (s[len] == ',')) {
		len = strcspn(s, ",");
		if (len == 0 || len >= sizeof buf ||
		    o->ngroups == PRIVSWITCH_MAX_GROUPS)
			return -1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (exec_id(buf, &g) == -1)
			return -1;
		o->groups[o->ngroups++] = (gid_t)g;
	}
	return 0;
}

/* One option (with its value, if it takes one); -1 if it is not valid. */
static int
exec_option(struct exec_opts *o, const char *opt, const char *val,
    size_t *nwait, int *used)
{
	unsigned int id;

	*used = 1;
	if (strcmp(opt, "--listen-pid") == 0) {
		*used = 0;
		o->listen_pid = 1;
	} else if (val == NULL)
		return -1;
	else if (strcmp(opt, "--wait") == 0)
		o->wait[(*nwait)++] = val;
	else if (strcmp(opt, "--nofile") == 0)
		o->nofile = val;
	else if (strcmp(opt, "--preload") == 0)
		o->preload = val;
	else if (strcmp(opt, "--groups") == 0)
		return exec_groups(val, o);
	else if (strcmp(opt, "--uid") == 0 && exec_id(val, &id) == 0)
		o->uid = (uid_t)id, o->drop |= 1;
	else if (strcmp(opt, "--gid") == 0 && exec_id(val, &id) == 0)
		o->gid = (gid_t)id, o->drop |= 2;
	else
		return -1;
	return 0;
}

/* Fills o from argv; -1 on a usage error. o->wait is o's to free. */
static int
exec_parse(int argc, char **argv, struct exec_opts *o)
{
	size_t nwait = 0;
	int i, used;

	memset(o, 0, sizeof *o);
	if ((o->wait = calloc((size_t)argc, sizeof *o->wait)) == NULL)
		return -1;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i += 1 + used) {
		if (exec_option(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL,
		    &nwait, &used) == -1)
			return -1;
	}
	if (i + 1 >= argc || (o->drop != 0 && o->drop != 3))
		return -1;
	o->run = argv + i + 1;
	return 0;
}

/* Everything before the exec; the reason is printed. Returns 0 or -1. */
static int
exec_prepare(const struct exec_opts *o)
{
	char buf[32];
	size_t i;

	for (i = 0; o->wait[i] != NULL; i++) {
		if (exec_wait(o->wait[i]) == -1) {
			fprintf(stderr, "corral-exec: not moved into %s: %s\n",
			    o->wait[i], strerror(errno));
			return -1;
		}
	}
	if (o->nofile != NULL && exec_nofile(o->nofile) == -1) {
		fprintf(stderr, "corral-exec: --nofile %s: %s\n", o->nofile,
		    strerror(errno));
		return -1;
	}
	if (o->drop && privswitch(o->uid, o->gid, o->groups, o->ngroups,
	    NULL) == -1) {
		fprintf(stderr, "corral-exec: cannot run as uid %ld gid %ld: "
		    "%s\n", (long)o->uid, (long)o->gid, strerror(errno));
		return -1;
	}
	if (o->listen_pid) {
		snprintf(buf, sizeof buf, "%ld", (long)getpid());
		if (setenv("LISTEN_PID", buf, 1) == -1)
			return -1;
	}
	if (o->preload != NULL && exec_preload(o->preload) == -1) {
		fprintf(stderr, "corral-exec: cannot set LD_PRELOAD: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct exec_opts o;

	if (exec_parse(argc, argv, &o) == -1) {
		fprintf(stderr, EXEC_USAGE);
		free(o.wait);
		return 127;
	}
	if (exec_prepare(&o) == -1) {
		free(o.wait);
		return 126;
	}
	free(o.wait);
	execvp(o.run[0], o.run);
	fprintf(stderr, "corral-exec: %s: %s\n", o.run[0], strerror(errno));
	return 127;
}
