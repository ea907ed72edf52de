/* SPDX-License-Identifier: ISC */
/*
 * What the kernel tells about OOM kills in an instance cgroup, for a
 * watcher in the daemon's loop.  v1: an eventfd registered on
 * memory.oom_control through cgroup.event_control, signalled when the
 * cgroup runs out of memory, before the kernel picks a victim (so the
 * kill count may not have moved yet when the daemon reads it), and once
 * more when the cgroup is removed.  v2: memory.events, which the kernel
 * marks modified (inotify IN_MODIFY) after each event it counts, the
 * oom_kill line among them.  Both give the count of processes killed.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

/*
 * v1: a new non-blocking eventfd the kernel signals on each OOM of cg, or
 * a negative errno (-ENOTSUP on v2 and without the memory hierarchy).
 * The caller closes it, which also ends the registration.
 */
int
cgroup_oom_eventfd(const struct cgroup *cg)
{
	char	*dir;
	int	 efd, ofd, error;

	if (cg->root->backend != CGROUP_V1 ||
	    (dir = cgroup_dir_for(cg, CGROUP_MEMORY)) == NULL)
		return -ENOTSUP;
	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		error = -errno;
		free(dir);
		return error;
	}
	/* Needed only while registering: the kernel keeps the cgroup. */
	if ((ofd = cgroup_file_open(dir, "memory.oom_control",
	    O_RDONLY)) == -1) {
		error = -errno;
		goto fail;
	}
	error = cgroup_file_write(dir, "cgroup.event_control", "%d %d", efd,
	    ofd);
	close(ofd);
	if (error != 0)
		goto fail;
	free(dir);
	return efd;
fail:
	close(efd);
	free(dir);
	return error;
}

/* v2: the file to watch for IN_MODIFY, or NULL; the caller frees. */
char *
cgroup_oom_events_file(const struct cgroup *cg)
{
	char	*dir, *path;

	if (cg->root->backend != CGROUP_V2 ||
	    !(cg->root->controllers & CGROUP_MEMORY))
		return NULL;
	dir = cgroup_path(cg);
	xasprintf(&path, "%s/memory.events", dir);
	free(dir);
	return path;
}

/* The count of OOM kills in cg so far; 0 or a negative errno. */
int
cgroup_oom_kills(const struct cgroup *cg, uint64_t *n)
{
	char	*dir;
	int	 error;

	if ((dir = cgroup_dir_for(cg, CGROUP_MEMORY)) == NULL)
		return -ENOTSUP;
	if (cg->root->backend == CGROUP_V2)
		error = cgroup_file_key(dir, "memory.events", "oom_kill", n);
	else
		error = cgroup_file_key(dir, "memory.oom_control", "oom_kill",
		    n);
	free(dir);
	return error;
}
