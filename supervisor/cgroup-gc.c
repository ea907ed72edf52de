/* SPDX-License-Identifier: ISC */
/*
 * Removal of cgroup directories off the critical path.  An rmdir of a
 * cgroup costs (the kernel takes every controller's state down, in v1
 * once per hierarchy), so nothing that a reply or a state change waits
 * for removes a cgroup: the directory is queued here, due a little later,
 * and cgroup_root_gc_batch() removes a bounded number per call, retrying
 * once a second those that a dying task still holds.  Only shutdown
 * (cgroup_root_gc_all) waits for the queue to drain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_PENDING_TRIES 60         /* a second apart */
#define CGROUP_RETRY_MS 1000
#define CGROUP_GC_BUDGET_US 2000        /* per batch, whatever its size */
#define CGROUP_GC_DEFAULT 64            /* cgroup_root_gc()'s batch */

static uint64_t
cgroup_gc_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
cgroup_gc_queue(struct cgroup_root *root, const char *dir, int delay_ms,
    int parent)
{
	struct cgroup_pending	*p;

	root->pending = xreallocarray(root->pending, root->npending + 1,
	    sizeof *root->pending);
	p = &root->pending[root->npending++];
	p->dir = xstrdup(dir);
	p->due_ms = cgroup_gc_now_us() / 1000 + (uint64_t)delay_ms;
	p->tries = CGROUP_PENDING_TRIES;
	p->parent = parent;
}

/* A directory that could not be removed now: retried a second apart. */
void
cgroup_root_pending_add(struct cgroup_root *root, const char *dir)
{
	cgroup_gc_queue(root, dir, CGROUP_RETRY_MS, 0);
}

/*
 * An instance directory to remove in delay_ms or later, then its parent
 * (the app's) if that is empty by then.
 */
void
cgroup_root_pending_defer(struct cgroup_root *root, const char *dir,
    int delay_ms)
{
	cgroup_gc_queue(root, dir, delay_ms, 1);
}

/* Whether dir is queued for removal (discarded: no process has it). */
int
cgroup_root_pending_has(const struct cgroup_root *root, const char *dir)
{
	size_t	 i;

	for (i = 0; i < root->npending; i++) {
		if (strcmp(root->pending[i].dir, dir) == 0)
			return 1;
	}
	return 0;
}

/* Forgets queued removals of dir and its parents (it is in use again). */
void
cgroup_root_pending_drop(struct cgroup_root *root, const char *dir)
{
	size_t	 i, j = 0, len;

	for (i = 0; i < root->npending; i++) {
		len = strlen(root->pending[i].dir);
		if (strncmp(dir, root->pending[i].dir, len) == 0 &&
		    (dir[len] == '\0' || dir[len] == '/')) {
			free(root->pending[i].dir);
			continue;
		}
		root->pending[j++] = root->pending[i];
	}
	root->npending = j;
}

/* One try at p; returns whether p is done with (removed or given up). */
static int
cgroup_gc_try(struct cgroup_pending *p, uint64_t now_ms)
{
	char	*slash;
	int	 error;

	if ((error = cgroup_rmdir(p->dir)) == 0) {
		/* The app's directory goes with its last instance. */
		if (p->parent && (slash = strrchr(p->dir, '/')) != NULL) {
			*slash = '\0';
			(void)cgroup_rmdir(p->dir);
		}
		return 1;
	}
	if (--p->tries <= 0) {
		log_warnx("cgroup: %s stays: %s", p->dir, strerror(-error));
		return 1;
	}
	p->due_ms = now_ms + CGROUP_RETRY_MS;
	return 0;
}

/*
 * Tries at most max due removals (0: none, to learn when one is due),
 * for at most CGROUP_GC_BUDGET_US.
 * Returns the ms until the next one is due (0: some are due now), or -1
 * when nothing is queued.
 */
int64_t
cgroup_root_gc_batch(struct cgroup_root *root, size_t max)
{
	uint64_t	 start = cgroup_gc_now_us(), now_ms = start / 1000;
	uint64_t	 next = UINT64_MAX;
	size_t		 i, j = 0, done = 0;
	int		 spent = max == 0;

	for (i = 0; i < root->npending; i++) {
		struct cgroup_pending *p = &root->pending[i];

		if (!spent && p->due_ms <= now_ms && cgroup_gc_try(p, now_ms)) {
			free(p->dir);
			spent = ++done >= max ||
			    cgroup_gc_now_us() - start >= CGROUP_GC_BUDGET_US;
			continue;
		}
		if (p->due_ms < next)
			next = p->due_ms;
		root->pending[j++] = *p;
	}
	root->npending = j;
	if (j == 0)
		return -1;
	return next <= now_ms ? 0 : (int64_t)(next - now_ms);
}

/* A batch of the default size; call it about once a second. */
void
cgroup_root_gc(struct cgroup_root *root)
{
	(void)cgroup_root_gc_batch(root, CGROUP_GC_DEFAULT);
}

/*
 * Shutdown: everything queued is due now, and removals are tried until
 * the queue is empty or wait_ms passed (killed orphans wait for init to
 * reap them).
 */
void
cgroup_root_gc_all(struct cgroup_root *root, int wait_ms)
{
	uint64_t	 end = cgroup_gc_now_us() + (uint64_t)wait_ms * 1000;
	size_t		 i;
	int64_t		 next;

	for (i = 0; i < root->npending; i++) {
		root->pending[i].due_ms = 0;
		root->pending[i].tries = INT32_MAX;
	}
	while ((next = cgroup_root_gc_batch(root, SIZE_MAX)) >= 0 &&
	    cgroup_gc_now_us() < end) {
		for (i = 0; next > 0 && i < root->npending; i++)
			root->pending[i].due_ms = 0;
		if (next > 0)
			usleep(10000);
	}
}

void
cgroup_root_pending_free(struct cgroup_root *root)
{
	size_t	 i;

	for (i = 0; i < root->npending; i++)
		free(root->pending[i].dir);
	free(root->pending);
	root->pending = NULL;
	root->npending = 0;
}
