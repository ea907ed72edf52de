/* SPDX-License-Identifier: ISC */
/*
 * The cgroup v1 backend (legacy and hybrid hosts): one directory per
 * hierarchy (memory, cpu, cpuacct, pids, freezer; co-mounted ones share
 * it), each <own>/<name>/<app>/<instance>.  v1 has no cgroup.kill, so a
 * whole-tree kill freezes the freezer cgroup, signals every pid and thaws.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_V1_WANTED \
	(CGROUP_MEMORY | CGROUP_CPU | CGROUP_CPUACCT | CGROUP_PIDS | \
	CGROUP_FREEZER)

static const char *
cgroup_v1_first_name(int bits)
{
	if (bits & CGROUP_MEMORY)
		return "memory";
	if (bits & CGROUP_CPU)
		return "cpu";
	if (bits & CGROUP_CPUACCT)
		return "cpuacct";
	if (bits & CGROUP_PIDS)
		return "pids";
	return "freezer";
}

/*
 * Makes <own>/<name> in every useful hierarchy.  Succeeds if at least one
 * could be made; root->cause lists those that could not.
 */
int
cgroup_v1_setup(struct cgroup_root *root, const struct cgroup_detect *d)
{
	struct cgroup_hier	*h;
	char			*top, *old, *why = NULL;
	int			 i, fd, patient = 1;

	for (i = 0; i < d->nv1; i++) {
		if (!(d->v1[i].controllers & CGROUP_V1_WANTED))
			continue;
		xasprintf(&top, "%s/%s", d->v1[i].dir, root->name);
		/* One top held by a live daemon: so are the others. */
		if ((fd = cgroup_lock_top(top, patient, &why)) == -1) {
			patient = 0;
			old = root->cause;
			xasprintf(&root->cause, "%s%s%s: %s",
			    old == NULL ? "" : old, old == NULL ? "" : "; ",
			    cgroup_v1_first_name(d->v1[i].controllers), why);
			free(old);
			free(why);
			why = NULL;
			free(top);
			continue;
		}
		h = &root->hier[root->nhier++];
		h->own = xstrdup(d->v1[i].dir);
		h->top = top;
		h->lockfd = fd;
		h->controllers = d->v1[i].controllers & CGROUP_V1_WANTED;
		if ((h->controllers & CGROUP_MEMORY) &&
		    cgroup_file_exists(top, "memory.memsw.limit_in_bytes"))
			h->controllers |= CGROUP_SWAP;
		root->controllers |= h->controllers;
	}
	return root->nhier > 0 ? 0 : -1;
}

static char *
cgroup_v1_dir(const struct cgroup *cg, int bit, const char *what,
    char **cause)
{
	char	*dir;

	if ((dir = cgroup_dir_for(cg, bit)) == NULL && cause != NULL)
		xasprintf(cause, "cannot enforce %s: no v1 %s hierarchy is "
		    "writable", what, what);
	return dir;
}

static int
cgroup_v1_write(const char *dir, const char *file, long long v,
    char **cause)
{
	int	 error;

	if ((error = cgroup_file_write(dir, file, "%lld", v)) != 0) {
		xasprintf(cause, "cannot set %s/%s: %s", dir, file,
		    strerror(-error));
		return -1;
	}
	return 0;
}

/*
 * memory+swap must stay at or above memory alone, so the order of the two
 * writes depends on whether the limit goes up or down.
 */
static int
cgroup_v1_memory(const struct cgroup *cg, const char *dir, uint64_t max,
    char **cause)
{
	long long	 v = max == 0 ? -1 : (long long)max;
	uint64_t	 cur;
	int		 swap = cg->root->controllers & CGROUP_SWAP;
	int		 raising;

	raising = cgroup_file_u64(dir, "memory.limit_in_bytes", &cur) != 0 ||
	    max == 0 || max > cur;
	if (swap && raising &&
	    cgroup_v1_write(dir, "memory.memsw.limit_in_bytes", v, cause) != 0)
		return -1;
	if (cgroup_v1_write(dir, "memory.limit_in_bytes", v, cause) != 0)
		return -1;
	if (swap && !raising &&
	    cgroup_v1_write(dir, "memory.memsw.limit_in_bytes", v, cause) != 0)
		return -1;
	return 0;
}

static int
cgroup_v1_set_memory(struct cgroup *cg, const char *dir,
    const struct cgroup_limits *lim, char **cause)
{
	if (cgroup_v1_memory(cg, dir, lim->max_memory, cause) != 0)
		return -1;
	/* v1 cannot throttle: the soft limit is the nearest thing. */
	return cgroup_v1_write(dir, "memory.soft_limit_in_bytes",
	    lim->memory_high == 0 ? -1 : (long long)lim->memory_high, cause);
}

static int
cgroup_v1_set_cpu(struct cgroup *cg, const char *dir,
    const struct cgroup_limits *lim, char **cause)
{
	(void)cg;
	if (cgroup_v1_write(dir, "cpu.cfs_period_us", CGROUP_CPU_PERIOD_US,
	    cause) != 0)
		return -1;
	return cgroup_v1_write(dir, "cpu.cfs_quota_us", lim->cpu_milli == 0 ?
	    -1 : (long long)lim->cpu_milli * CGROUP_CPU_PERIOD_US / 1000,
	    cause);
}

static int
cgroup_v1_set_pids(struct cgroup *cg, const char *dir,
    const struct cgroup_limits *lim, char **cause)
{
	int	 error;

	(void)cg;
	if (lim->max_pids == 0)
		error = cgroup_file_write(dir, "pids.max", "max");
	else
		error = cgroup_file_write(dir, "pids.max", "%llu",
		    (unsigned long long)lim->max_pids);
	if (error != 0) {
		xasprintf(cause, "cannot set %s/pids.max: %s", dir,
		    strerror(-error));
		return -1;
	}
	return 0;
}

/*
 * Runs set in the hierarchy that carries bit.  Without that hierarchy a
 * limit is an error only when it is asked for (wanted); lifting one is not.
 */
static int
cgroup_v1_apply(struct cgroup *cg, int bit, const char *what, int wanted,
    int (*set)(struct cgroup *, const char *, const struct cgroup_limits *,
    char **), const struct cgroup_limits *lim, char **cause)
{
	char	*dir;
	int	 r;

	if ((dir = cgroup_v1_dir(cg, bit, what, wanted ? cause : NULL)) == NULL)
		return wanted ? -1 : 0;
	r = set(cg, dir, lim, cause);
	free(dir);
	return r;
}

int
cgroup_v1_set_limits(struct cgroup *cg, const struct cgroup_limits *lim,
    char **cause)
{
	if (cgroup_v1_apply(cg, CGROUP_MEMORY, "memory", lim->max_memory != 0 ||
	    lim->memory_high != 0, cgroup_v1_set_memory, lim, cause) != 0 ||
	    cgroup_v1_apply(cg, CGROUP_CPU, "cpu", lim->cpu_milli != 0,
	    cgroup_v1_set_cpu, lim, cause) != 0 ||
	    cgroup_v1_apply(cg, CGROUP_PIDS, "pids", lim->max_pids != 0,
	    cgroup_v1_set_pids, lim, cause) != 0)
		return -1;
	return 0;
}

/* Reads what want asks for; CGROUP_KILL in want: the OOM kill count. */
int
cgroup_v1_read_usage(const struct cgroup *cg, struct cgroup_usage *u,
    int want)
{
	char		*dir;
	uint64_t	 v;

	if ((want & (CGROUP_MEMORY | CGROUP_KILL)) &&
	    (dir = cgroup_dir_for(cg, CGROUP_MEMORY)) != NULL) {
		if (want & CGROUP_MEMORY)
			cgroup_file_memory(dir, "memory.usage_in_bytes",
			    "total_inactive_file", want, u);
		if ((want & CGROUP_KILL) && cgroup_file_key(dir,
		    "memory.oom_control", "oom_kill", &v) == 0) {
			u->oom_kills = v;
			u->flags |= CGROUP_KILL;
		}
		free(dir);
	}
	if ((want & CGROUP_CPUACCT) &&
	    (dir = cgroup_dir_for(cg, CGROUP_CPUACCT)) != NULL) {
		if (cgroup_file_u64(dir, "cpuacct.usage", &v) == 0) {
			u->cpu_usec = v / 1000;
			u->flags |= CGROUP_CPUACCT;
		}
		free(dir);
	}
	if ((want & CGROUP_PIDS) &&
	    (dir = cgroup_dir_for(cg, CGROUP_PIDS)) != NULL) {
		if (cgroup_file_u64(dir, "pids.current", &v) == 0) {
			u->pids = v;
			u->flags |= CGROUP_PIDS;
		}
		free(dir);
	}
	return u->flags == 0 ? -ENOENT : 0;
}

int
cgroup_v1_kill(const struct cgroup *cg, int sig)
{
	char	*dir;
	int	 r;

	if ((dir = cgroup_dir_for(cg, CGROUP_FREEZER)) != NULL) {
		r = cgroup_kill_frozen(dir, sig, dir, "freezer.state",
		    "FROZEN", "THAWED");
		free(dir);
		return r;
	}
	dir = cgroup_path(cg);
	r = cgroup_kill_pids(dir, sig);
	free(dir);
	return r;
}
