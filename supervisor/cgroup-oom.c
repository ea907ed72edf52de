/* SPDX-License-Identifier: ISC */
/*
 * What the kernel tells about OOM kills and memory use of an instance
 * cgroup, for a watcher in the daemon's loop.  v1: an eventfd registered
 * on memory.oom_control through cgroup.event_control, signalled when the
 * cgroup runs out of memory, before the kernel picks a victim (so the
 * kill count may not have moved yet when the daemon reads it), and once
 * more when the cgroup is removed; another one can watch a threshold of
 * the memory usage.  v2: memory.events, which the kernel marks modified
 * (inotify IN_MODIFY) after each event it counts, the oom_kill line among
 * them.  Both give the count of processes killed.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

/*
 * v1: a new non-blocking eventfd registered through cgroup.event_control
 * on cg's memory file with args after the two descriptors ("" or " N"),
 * or a negative errno (-ENOTSUP on v2 and without the memory hierarchy).
 * The caller closes it, which also ends the registration.
 */
static int
cgroup_v1_eventfd(const struct cgroup *cg, const char *file, const char *args)
{
	char	*dir;
	int	 efd, fd, error;

	if (cg->root->backend != CGROUP_V1 ||
	    (dir = cgroup_dir_for(cg, CGROUP_MEMORY)) == NULL)
		return -ENOTSUP;
	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		error = -errno;
		free(dir);
		return error;
	}
	/* Needed only while registering: the kernel keeps the cgroup. */
	if ((fd = cgroup_file_open(dir, file, O_RDONLY)) == -1) {
		error = -errno;
		goto fail;
	}
	error = cgroup_file_write(dir, "cgroup.event_control", "%d %d%s", efd,
	    fd, args);
	close(fd);
	if (error != 0)
		goto fail;
	free(dir);
	return efd;
fail:
	close(efd);
	free(dir);
	return error;
}

/* v1: an eventfd the kernel signals on each OOM of cg (see above). */
int
cgroup_oom_eventfd(const struct cgroup *cg)
{
	return cgroup_v1_eventfd(cg, "memory.oom_control", "");
}

/*
 * v1: an eventfd the kernel signals each time cg's memory.usage_in_bytes
 * crosses bytes, up or down (checked every few hundred pages charged, so
 * usage may pass it by a little first).
 */
int
cgroup_threshold_eventfd(const struct cgroup *cg, uint64_t bytes)
{
	char	 args[32];

	snprintf(args, sizeof args, " %llu", (unsigned long long)bytes);
	return cgroup_v1_eventfd(cg, "memory.usage_in_bytes", args);
}

/* v1: memory.usage_in_bytes (the file cache included); 0 or -errno. */
int
cgroup_memory_usage(const struct cgroup *cg, uint64_t *v)
{
	char	*dir;
	int	 error;

	if ((dir = cgroup_dir_for(cg, CGROUP_MEMORY)) == NULL)
		return -ENOTSUP;
	error = cgroup_file_u64(dir, cg->root->backend == CGROUP_V2 ?
	    "memory.current" : "memory.usage_in_bytes", v);
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
