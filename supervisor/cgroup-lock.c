/* SPDX-License-Identifier: ISC */
/*
 * Who owns a top cgroup.  Every daemon holds an exclusive flock() on each
 * of its top directories (<own>/<name>, one per hierarchy) for its whole
 * life, through a descriptor opened on the directory itself: the kernel
 * drops the lock when the daemon dies, however it dies.  Tops of other
 * daemons (corral.* beside ours) are swept only while the sweeper holds
 * their lock, so a live daemon's cgroups, empty or not, are never removed,
 * and a dead daemon's empty ones do not pile up.  rmdir() only ever
 * removes empty cgroups: processes left by a killed daemon stay for the
 * next daemon of that home (cgroup_root_sweep) to stop.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_LOCK_WAIT_MS 1000        /* a sweep holds a lock briefly */

static void
cgroup_lock_pause(void)
{
	struct timespec	 ts = { 0, 5000000 };

	nanosleep(&ts, NULL);
}

/*
 * One attempt: makes top, opens it and takes its lock without waiting.
 * Returns the descriptor, -EWOULDBLOCK while someone else holds the lock,
 * -EAGAIN when the directory was removed under us (a sweeper held it), or
 * another negative errno.
 */
static int
cgroup_lock_try(const char *top)
{
	struct stat	 a, b;
	int		 fd, error;

	if (mkdir(top, 0755) == -1 && errno != EEXIST)
		return -errno;
	fd = open(top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? -EAGAIN : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		error = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(fd);
		return error;
	}
	if (fstat(fd, &a) == -1 || stat(top, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		return -EAGAIN;
	}
	return fd;
}

/*
 * Makes top (if needed) and locks it for the caller's life, waiting up to
 * CGROUP_LOCK_WAIT_MS for a sweeper (or not at all without patient).
 * Returns the descriptor that holds the lock, or -1 with *cause set:
 * another live daemon holds it, or the directory cannot be made.
 */
int
cgroup_lock_top(const char *top, int patient, char **cause)
{
	int	 i, r = -EAGAIN, tries = patient ? CGROUP_LOCK_WAIT_MS / 5 : 2;

	for (i = 0; i < tries; i++) {
		if ((r = cgroup_lock_try(top)) >= 0)
			return r;
		if (r != -EAGAIN && r != -EWOULDBLOCK)
			break;
		cgroup_lock_pause();
	}
	if (r == -EWOULDBLOCK)
		xasprintf(cause, "%s is locked by another live daemon", top);
	else
		xasprintf(cause, "cannot create %s: %s", top, strerror(-r));
	return -1;
}

/*
 * Whether *fd still locks the directory at top; if top vanished (a daemon
 * of an older version swept it while empty), makes and locks it again.
 * Returns 0, or -1 with *cause set.
 */
int
cgroup_lock_keep(const char *top, int *fd, char **cause)
{
	struct stat	 a, b;
	int		 nfd;

	if (*fd != -1 && fstat(*fd, &a) == 0 && stat(top, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	if ((nfd = cgroup_lock_top(top, 1, cause)) == -1)
		return -1;
	if (*fd != -1)
		close(*fd);
	*fd = nfd;
	return 1;
}

/*
 * Sweeps one candidate while holding its lock; a lock that another
 * process holds means a live owner, and the candidate is left alone.
 * Returns 1 when the top went away.
 */
static int
cgroup_lock_sweep_one(const char *dir)
{
	int	 fd, gone;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return 0;
	}
	gone = cgroup_rmtree(dir, 3) == 0;
	close(fd);
	return gone;
}

/*
 * Whether entry belongs to name's family (the part up to its first dot,
 * then a dot: "corral." for "corral" and "corral.<hash>") and is not name.
 */
static int
cgroup_lock_kin(const char *entry, const char *name)
{
	size_t	 len = strcspn(name, ".");

	return strncmp(entry, name, len) == 0 && entry[len] == '.' &&
	    strcmp(entry, name) != 0;
}

/*
 * Removes what dead daemons left empty beside our top name in own: every
 * directory of name's family (corral.*) whose lock is free.  Returns how
 * many tops went.
 */
int
cgroup_lock_sweep_others(const char *own, const char *name)
{
	struct dirent	*de;
	DIR		*d;
	char		*sub;
	int		 n = 0;

	if ((d = opendir(own)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || !cgroup_lock_kin(de->d_name, name))
			continue;
		xasprintf(&sub, "%s/%s", own, de->d_name);
		if (cgroup_lock_sweep_one(sub)) {
			log_info("cgroup: removed %s, left empty by a daemon "
			    "that is gone", sub);
			n++;
		}
		free(sub);
	}
	closedir(d);
	return n;
}
