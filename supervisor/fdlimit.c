/* SPDX-License-Identifier: ISC */
/*
 * The daemon's descriptors.  At start it closes every descriptor it
 * inherited and does not own (a client that started it may hold a make
 * jobserver's pipe or a CI log pipe: the daemon must not keep them open
 * for its whole life), keeping 0-2 (made /dev/null where missing) and the
 * sockets systemd passed to this very process (LISTEN_PID, LISTEN_FDS).
 * It raises its soft RLIMIT_NOFILE to the hard limit, as every running
 * instance costs two pipes (on cgroup v1 also an eventfd for its OOM
 * events; while someone samples it, up to three held stat files, at most
 * a quarter of the limit in all), and says what it got; apps get the
 * soft limit the keeper was started with (the keeper's child sets it),
 * since programs that use select() break above 1024.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

static struct rlimit fdlimit_start;     /* as the daemon was started */
static struct rlimit fdlimit_now;

/* How many sockets systemd passed to this process (fds 3...). */
static int
fdlimit_listen_fds(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long long	 p, n;

	if (pid == NULL || fds == NULL ||
	    parse_int(pid, 1, INT_MAX, &p, NULL) != 0 || p != getpid() ||
	    parse_int(fds, 0, 4096, &n, NULL) != 0)
		return 0;
	return (int)n;
}

/* Without close_range(2): every descriptor /proc lists at or above from. */
static void
fdlimit_close_from(int from, int keep)
{
	struct dirent	*de;
	DIR		*d;
	long long	 fd;
	int		 dfd, *v = NULL;
	size_t		 n = 0, i;

	if (keep < from && close_range((unsigned)from, ~0U, 0) == 0)
		return;
	if (keep >= from && (keep == from || close_range((unsigned)from,
	    (unsigned)keep - 1, 0) == 0) && close_range((unsigned)keep + 1, ~0U,
	    0) == 0)
		return;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (parse_int(de->d_name, from, INT_MAX, &fd, NULL) != 0 ||
		    fd == dfd || fd == keep)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = (int)fd;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		close(v[i]);
	free(v);
}

/*
 * Call first thing in main(): closes what the daemon inherited but does
 * not own but keep (the keeper's socket, or -1).  Fatal only when 0-2
 * cannot be made: start-up.
 */
void
fdlimit_close_inherited(int keep)
{
	struct stat	 st;
	int		 fd;

	fdlimit_close_from(3 + fdlimit_listen_fds(), keep);
	for (fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) == 0)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			fatal("/dev/null");
	}
}

/* Raises the soft limit to the hard one; logs what the daemon has. */
void
fdlimit_raise(void)
{
	if (getrlimit(RLIMIT_NOFILE, &fdlimit_start) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	fdlimit_now = fdlimit_start;
	if (fdlimit_now.rlim_cur < fdlimit_now.rlim_max) {
		fdlimit_now.rlim_cur = fdlimit_now.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &fdlimit_now) == -1) {
			log_warn("raising RLIMIT_NOFILE to %llu",
			    (unsigned long long)fdlimit_now.rlim_max);
			fdlimit_now = fdlimit_start;
		}
	}
	log_info("file descriptors: limit %llu (apps get %llu)",
	    (unsigned long long)fdlimit_now.rlim_cur,
	    (unsigned long long)fdlimit_start.rlim_cur);
}

/* The daemon's soft limit now (RLIM_INFINITY reads as a large number). */
unsigned long long
fdlimit_soft(void)
{
	return (unsigned long long)fdlimit_now.rlim_cur;
}

/* Whether n more descriptors can be opened: each tried, then closed. */
static int
fdlimit_room_probe(int n)
{
	int	 fds[FDLIMIT_RESERVE + 8], i = 0, error = 0;

	if (n > (int)nitems(fds))
		n = (int)nitems(fds);
	while (i < n) {
		if ((fds[i] = fcntl(0, F_DUPFD_CLOEXEC, 0)) == -1) {
			error = errno;
			break;
		}
		i++;
	}
	while (i > 0)
		close(fds[--i]);
	return error;
}

/*
 * Whether n more descriptors can be opened now: what a spawn, or a hold
 * of stat files, checks first, so that a daemon short of descriptors
 * still has FDLIMIT_RESERVE left for the next client's accept and a
 * spawn's pipes. Returns 0, or an errno (EMFILE). Since Linux 6.2 the
 * size of /proc/self/fd is the number of open descriptors: its stat (not
 * a directory held open: the daemon's count of descriptors stays as it
 * was) and the soft limit (read each time: someone may have lowered it
 * with prlimit) answer it, where the probe took 16 system calls a spawn;
 * a size of 0 (older kernels) falls back to the probe. At
 * most limit - open descriptors below the limit are free (more are
 * taken when some were opened above a limit lowered since): never a
 * room that is not there.
 */
int
fdlimit_room(int n)
{
	long long free = fdlimit_free();

	if (free < 0)
		return fdlimit_room_probe(n);
	return free >= n ? 0 : EMFILE;
}

/*
 * How many descriptors can be opened now, as fdlimit_room() reads it
 * (LLONG_MAX without a limit), or -1 when the kernel does not say: for
 * a caller about to open many (a listing's holds of stat files), which
 * counts down what it opens instead of asking again each time.
 */
long long
fdlimit_free(void)
{
	struct rlimit	 rl;
	struct stat	 st;

	if (stat("/proc/self/fd", &st) == -1 || st.st_size <= 0 ||
	    getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)LLONG_MAX)
		return LLONG_MAX;
	if ((rlim_t)st.st_size >= rl.rlim_cur)
		return 0;
	return (long long)(rl.rlim_cur - (rlim_t)st.st_size);
}

/* The soft limit apps get, or 0 when they inherit the daemon's as is. */
unsigned long long
fdlimit_child_soft(void)
{
	if (fdlimit_start.rlim_cur == fdlimit_now.rlim_cur)
		return 0;
	return (unsigned long long)fdlimit_start.rlim_cur;
}

static long long
fdlimit_count_open(void)
{
	struct dirent	*de;
	DIR		*d;
	long long	 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1;   /* less opendir's own */
}

/* {"open": N, "limit": N, "apps": N} for `corral info`. */
json_t *
fdlimit_info(void)
{
	return json_pack("{s:I, s:I, s:I}", "open",
	    (json_int_t)fdlimit_count_open(), "limit",
	    (json_int_t)fdlimit_now.rlim_cur, "apps",
	    (json_int_t)fdlimit_start.rlim_cur);
}
