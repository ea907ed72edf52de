/* SPDX-License-Identifier: ISC */
/*
 * The cgroup of a process a new engine adopts from the keeper: the
 * instance's <app>.app/<index>[.<gen>] that lists its pid, found without
 * making or changing anything; for a process gone meanwhile, the one
 * generation the instance has.
 */
#include <stdlib.h>

#include "common.h"
#include "cgroup.h"

/* Whether cg lists pid. */
static int
cgroup_lists(const struct cgroup *cg, pid_t pid)
{
	pid_t *pids = NULL;
	size_t n = 0, i;
	int found = 0;

	if (cgroup_pids(cg, &pids, &n) != 0)
		return 0;
	for (i = 0; i < n && !found; i++)
		found = pids[i] == pid;
	free(pids);
	return found;
}

/* The cgroup of instance of app that holds pid, or NULL. */
struct cgroup *
cgroup_find(struct cgroup_root *root, const char *app, int instance,
    pid_t pid)
{
	struct cgroup *cg;
	int gen;

	if (root->backend == CGROUP_NONE)
		return NULL;
	cg = cgroup_new(root, app);
	for (gen = 0; gen < CGROUP_MAX_GEN; gen++) {
		cgroup_gen(cg, app, instance, gen);
		if (cgroup_lists(cg, pid)) {
			cgroup_busy_mark(cg);
			return cg;
		}
	}
	cgroup_free(cg);
	return NULL;
}

/*
 * Whether cg's generation is another's: a live process of this engine has
 * it (cgroup_busy_mark: the live are adopted first), or an exit discarded
 * it, killing what was left there (a kill takes a moment: the tree may
 * still be listed).
 */
static int
cgroup_gone_taken(const struct cgroup *cg)
{
	char	*dir;
	int	 queued;

	if (cgroup_busy(cg->root, cg->rel))
		return 1;
	dir = cgroup_dir(cg, 0);
	queued = cgroup_root_pending_has(cg->root, dir);
	free(dir);
	return queued;
}

/*
 * The cgroup of instance of app whose process is gone (it exited while no
 * engine ran, so no cgroup lists it): of the generations no other process
 * has (cgroup_gone_taken()), the first where something of a tree is left,
 * else the first that exists; NULL when there is none.  So no live tree is
 * killed, and of two processes of one index that died while no engine
 * ran (a reload's), each exit takes one tree.
 */
struct cgroup *
cgroup_find_gone(struct cgroup_root *root, const char *app, int instance)
{
	struct cgroup *cg;
	pid_t *pids;
	size_t n;
	int gen, found = -1;

	if (root->backend == CGROUP_NONE)
		return NULL;
	cg = cgroup_new(root, app);
	for (gen = 0; gen < CGROUP_MAX_GEN; gen++) {
		cgroup_gen(cg, app, instance, gen);
		pids = NULL;
		if (cgroup_gone_taken(cg) || cgroup_pids(cg, &pids, &n) != 0)
			continue;
		free(pids);
		if (found == -1)
			found = gen;
		if (n > 0) {
			found = gen;
			break;
		}
	}
	if (found == -1) {
		cgroup_free(cg);
		return NULL;
	}
	cgroup_gen(cg, app, instance, found);
	cgroup_busy_mark(cg);
	return cg;
}
