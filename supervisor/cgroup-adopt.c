/* SPDX-License-Identifier: ISC */
/*
 * The cgroup of a process a new engine adopts from the keeper: the
 * instance's <app>.app/<index>[.<gen>] that lists its pid, found without
 * making or changing anything.
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
	cg = xcalloc(1, sizeof *cg);
	cg->root = root;
	xasprintf(&cg->app, "%s" CGROUP_APP_SUFFIX, app);
	for (gen = 0; gen < CGROUP_MAX_GEN; gen++) {
		free(cg->rel);
		cg->rel = cgroup_rel(app, instance, gen);
		if (cgroup_lists(cg, pid))
			return cg;
	}
	cgroup_free(cg);
	return NULL;
}
