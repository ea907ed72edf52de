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
 * The cgroup of instance of app whose process is gone (it exited while no
 * engine ran, so no cgroup lists it): of the generations no live process
 * of this engine has (cgroup_busy_mark: the live are adopted first), the
 * one that exists, or of several the one where something of a tree is
 * left; NULL when that names none or several (the wrong one would have
 * its tree killed).
 */
struct cgroup *
cgroup_find_gone(struct cgroup_root *root, const char *app, int instance)
{
	struct cgroup *cg;
	pid_t *pids;
	size_t n;
	int gen, found = -1, left = -1;

	if (root->backend == CGROUP_NONE)
		return NULL;
	cg = cgroup_new(root, app);
	for (gen = 0; gen < CGROUP_MAX_GEN; gen++) {
		cgroup_gen(cg, app, instance, gen);
		pids = NULL;
		if (cgroup_busy(root, cg->rel) ||
		    cgroup_pids(cg, &pids, &n) != 0)
			continue;
		free(pids);
		found = found == -1 ? gen : -2;
		if (n > 0)
			left = left == -1 ? gen : -2;
	}
	if (found == -2)
		found = left;
	if (found < 0) {
		cgroup_free(cg);
		return NULL;
	}
	cgroup_gen(cg, app, instance, found);
	cgroup_busy_mark(cg);
	return cg;
}
