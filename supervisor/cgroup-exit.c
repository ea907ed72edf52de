/* SPDX-License-Identifier: ISC */
/*
 * What an instance's exit asks of its cgroup, in a few system calls: the
 * OOM kill count, whether anything of the tree is left, the kill of what
 * is, and the removal of a cgroup no slot keeps (queued: cgroup-gc.c).
 * Files are opened relative to the hierarchy's top, whose descriptor the
 * daemon holds anyway (its lock): the kernel walks two names, not ten.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

/*
 * Delay before a discarded cgroup is removed: a burst of exits (a delete
 * of many) has passed by then.
 */
#define CGROUP_DISCARD_DELAY_MS 200

/* The hierarchy that carries bit, or -1. */
static int
cgroup_exit_hier(const struct cgroup *cg, int bit)
{
	int	 h;

	for (h = 0; h < cg->root->nhier; h++) {
		if (cg->root->hier[h].controllers & bit)
			return h;
	}
	return -1;
}

/* Where a kill lists the pids: the freezer's, else memory's, else any. */
static int
cgroup_exit_kill_hier(const struct cgroup *cg)
{
	int	 h;

	if ((h = cgroup_exit_hier(cg, CGROUP_FREEZER)) == -1 &&
	    (h = cgroup_exit_hier(cg, CGROUP_MEMORY)) == -1)
		h = 0;
	return h;
}

/*
 * Reads the start of cg's file in hierarchy h into buf (NUL-terminated).
 * Returns the bytes read, or a negative errno.
 */
static ssize_t
cgroup_exit_read(const struct cgroup *cg, int h, const char *file,
    char *buf, size_t size)
{
	char	*path;
	ssize_t	 n;
	int	 fd, top = cg->root->hier[h].lockfd;

	if (top >= 0) {
		xasprintf(&path, "%s/%s", cg->rel, file);
		fd = openat(top, path, O_RDONLY | O_CLOEXEC);
	} else {
		xasprintf(&path, "%s/%s/%s", cg->root->hier[h].top, cg->rel,
		    file);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	free(path);
	if (fd == -1)
		return -errno;
	while ((n = read(fd, buf, size - 1)) == -1 && errno == EINTR)
		;
	if (n == -1)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/*
 * Whether any process is left in cg: 1, 0, or a negative errno.  The
 * freezer's hierarchy is the one cgroup_kill() signals through.
 */
int
cgroup_has_tasks(const struct cgroup *cg)
{
	char	 buf[16];
	ssize_t	 n;
	int	 h;

	if (cg->root->nhier == 0)
		return -ENOENT;
	h = cgroup_exit_kill_hier(cg);
	if ((n = cgroup_exit_read(cg, h, "cgroup.procs", buf,
	    sizeof buf)) < 0)
		return (int)n;
	return n > 0;
}

/*
 * The directory whose cgroup.procs lists cg's processes where
 * cgroup_has_tasks() reads them (absolute; the caller frees it).
 */
char *
cgroup_kill_dir(const struct cgroup *cg)
{
	return cgroup_dir(cg, cgroup_exit_kill_hier(cg));
}

/*
 * Only the count of OOM kills so far (one file: what an exit needs).
 * Returns 0, or a negative errno (no memory hierarchy: -ENOENT).
 */
int
cgroup_read_oom(const struct cgroup *cg, uint64_t *kills)
{
	char		 buf[1024], *p;
	ssize_t		 n;
	int		 h;

	if ((h = cgroup_exit_hier(cg, CGROUP_MEMORY)) == -1)
		return -ENOENT;
	if ((n = cgroup_exit_read(cg, h, cg->root->backend == CGROUP_V2 ?
	    "memory.events" : "memory.oom_control", buf, sizeof buf)) < 0)
		return (int)n;
	for (p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, "oom_kill ", 9) == 0) {
			*kills = strtoull(p + 9, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Sends sig to every process of the instance, including those that left
 * its process group.  Returns how many were signalled, or a negative errno.
 * An empty cgroup (the usual case once the main process was reaped) costs
 * one read.  SIGKILL on v1 is a sweep without the freezer: a killed task
 * forks no more (the kernel fails a fork with a fatal signal pending), so
 * passes until one finds no new pid catch every fork in flight; freezing,
 * waiting for the freeze and thawing (each a static key flipped on every
 * CPU) made a stop of many instances serial.
 */
int
cgroup_kill(const struct cgroup *cg, int sig)
{
	char	*dir;
	int	 r;

	if (cgroup_has_tasks(cg) == 0)
		return 0;
	if (cg->root->backend == CGROUP_V2)
		return cgroup_v2_kill(cg, sig);
	if (sig != SIGKILL)
		return cgroup_v1_kill(cg, sig);
	dir = cgroup_dir(cg, cgroup_exit_kill_hier(cg));
	r = cgroup_kill_pids(dir, SIGKILL);
	free(dir);
	return r;
}

/*
 * Like cgroup_destroy() but off the critical path: the directories are
 * queued for cgroup_root_gc_batch(), due once a burst of exits (a delete
 * of many) has had time to pass (the app's goes with its last instance);
 * cg is freed now.
 */
void
cgroup_discard(struct cgroup *cg)
{
	char	*dir;
	int	 h;

	for (h = 0; h < cg->root->nhier; h++) {
		dir = cgroup_dir(cg, h);
		cgroup_root_pending_defer(cg->root, dir,
		    CGROUP_DISCARD_DELAY_MS);
		free(dir);
	}
	cgroup_free(cg);
}

