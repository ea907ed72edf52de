/* SPDX-License-Identifier: ISC */
/*
 * The cgroup v2 backend.  The daemon's own cgroup may not hold processes
 * once it delegates controllers to children ("no internal processes"), so
 * when enabling them fails with EBUSY the daemon moves itself into the leaf
 * <own>/corrald first.  Instances live in <own>/<name>/<app>/<instance>
 * with memory, cpu and pids enabled on the way down.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_V2_LEAF "corrald"

/*
 * Enables memory, pids and cpu (those in want) in dir's subtree_control,
 * one at a time so that one refusal does not hide the others.  EBUSY
 * ("processes inside") stops at once: the kernel would still accept the
 * threaded controllers (cpu, pids) there and turn dir into a thread root,
 * after which no process could move into a domain child.  Returns 0 or the
 * first error.
 */
static int
cgroup_v2_enable(const char *dir, int want)
{
	static const struct {
		int bit;
		const char *name;
	} ctl[] = {
		{ CGROUP_MEMORY, "memory" }, { CGROUP_PIDS, "pids" },
		{ CGROUP_CPU, "cpu" },
	};
	char	 buf[512];
	size_t	 i;
	int	 have = 0, error, r = 0;

	if (cgroup_file_read(dir, "cgroup.subtree_control", buf,
	    sizeof buf) >= 0)
		have = cgroup_v2_controller_bits(buf);
	for (i = 0; i < nitems(ctl); i++) {
		if (!(want & ctl[i].bit) || (have & ctl[i].bit))
			continue;
		error = cgroup_file_write(dir, "cgroup.subtree_control",
		    "+%s", ctl[i].name);
		if (error == -EBUSY)
			return error;
		if (error != 0 && r == 0)
			r = error;
	}
	return r;
}

/*
 * Moves the daemon into <own>/corrald so that own may delegate, and its
 * keeper when it is in own too.
 */
static int
cgroup_v2_move_to_leaf(struct cgroup_root *root, const char *own)
{
	char	*leaf;
	pid_t	 keeper = cgroup_keeper_beside();
	int	 error;

	xasprintf(&leaf, "%s/%s", own, CGROUP_V2_LEAF);
	if (mkdir(leaf, 0755) == -1 && errno != EEXIST)
		error = -errno;
	else
		error = cgroup_file_write(leaf, "cgroup.procs", "%ld",
		    (long)getpid());
	if (error != 0) {
		log_warnx("cgroup: cannot move the daemon into %s: %s", leaf,
		    strerror(-error));
		free(leaf);
		return error;
	}
	if (keeper > 0 && (error = cgroup_file_write(leaf, "cgroup.procs",
	    "%ld", (long)keeper)) != 0)
		log_warnx("cgroup: cannot move the keeper (pid %ld) into %s: "
		    "%s", (long)keeper, leaf, strerror(-error));
	log_info("cgroup: moved the daemon%s into %s", keeper > 0 ?
	    " and its keeper" : "", leaf);
	root->leaf = leaf;
	return 0;
}

/* Whether dir holds processes and delegates no controller yet. */
static int
cgroup_v2_busy(const char *dir)
{
	pid_t	*pids;
	size_t	 n;
	char	 buf[512];

	if (cgroup_file_read(dir, "cgroup.subtree_control", buf,
	    sizeof buf) > 1)
		return 0;
	if (cgroup_read_pids(dir, &pids, &n) != 0)
		return 0;
	free(pids);
	return n > 0;
}

/*
 * The daemon's own cgroup: dir, or its parent when dir is the leaf an
 * earlier engine moved itself and the keeper into (the keeper starts every
 * later engine there). The caller frees.
 */
static char *
cgroup_v2_own(struct cgroup_root *root, const char *dir)
{
	const char	*slash = strrchr(dir, '/');

	if (slash == NULL || slash == dir || strcmp(slash + 1,
	    CGROUP_V2_LEAF) != 0)
		return xstrdup(dir);
	free(root->leaf);
	root->leaf = xstrdup(dir);
	return xstrndup(dir, (size_t)(slash - dir));
}

int
cgroup_v2_setup(struct cgroup_root *root, const struct cgroup_detect *d)
{
	struct cgroup_hier	*h = &root->hier[0];
	char			 buf[512], *top, *own;
	int			 avail, error, fd;

	own = cgroup_v2_own(root, d->v2dir);
	if (cgroup_file_read(own, "cgroup.controllers", buf,
	    sizeof buf) < 0) {
		free(own);
		return -1;
	}
	avail = cgroup_v2_controller_bits(buf);
	xasprintf(&top, "%s/%s", own, root->name);
	free(root->cause);
	root->cause = NULL;
	/* Not ours until locked: nothing may remove another daemon's top. */
	if ((fd = cgroup_lock_top(top, 1, &root->cause)) == -1) {
		free(top);
		free(own);
		return -1;
	}
	h->own = own;
	h->top = top;
	h->lockfd = fd;
	root->nhier = 1;
	/* The root cgroup (no cgroup.type) may hold processes and delegate. */
	if (cgroup_file_exists(h->own, "cgroup.type") &&
	    cgroup_v2_busy(h->own))
		cgroup_v2_move_to_leaf(root, h->own);
	error = cgroup_v2_enable(h->own, avail);
	if (error != 0) {
		free(root->cause);
		xasprintf(&root->cause, "cannot enable controllers in %s: %s%s",
		    h->own, strerror(-error), error == -EBUSY ? " (other "
		    "processes share the daemon's cgroup)" : "");
	}
	cgroup_v2_enable(h->top, avail);
	if (cgroup_file_read(h->top, "cgroup.subtree_control", buf,
	    sizeof buf) >= 0)
		h->controllers = cgroup_v2_controller_bits(buf);
	else
		h->controllers = CGROUP_CPUACCT;
	if (cgroup_file_exists(h->top, "cgroup.kill"))
		h->controllers |= CGROUP_KILL;
	if (cgroup_file_exists(h->top, "cgroup.freeze"))
		h->controllers |= CGROUP_FREEZER;
	if (cgroup_file_exists(h->top, "memory.swap.max"))
		h->controllers |= CGROUP_SWAP;
	root->controllers = h->controllers;
	return 0;
}

/*
 * Undoes the leaf move when the daemon's cgroup can hold it again (after
 * its own subtree is gone); best effort.
 */
void
cgroup_v2_teardown(struct cgroup_root *root)
{
	const char	*own = root->hier[0].own;

	if (root->leaf == NULL)
		return;
	cgroup_file_write(own, "cgroup.subtree_control", "-memory -cpu -pids");
	if (cgroup_file_write(own, "cgroup.procs", "%ld",
	    (long)getpid()) == 0)
		cgroup_rmdir(root->leaf);
}

/* Delegates the controllers in a top made again. */
void
cgroup_v2_reenable(struct cgroup_root *root)
{
	cgroup_v2_enable(root->hier[0].top, root->hier[0].controllers);
}

/* Makes <top>/<app> and delegates the controllers to its instances. */
int
cgroup_v2_prepare_app(struct cgroup_root *root, const char *app)
{
	char	*dir;
	int	 error;

	xasprintf(&dir, "%s/%s", root->hier[0].top, app);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		error = -errno;
		free(dir);
		return error;
	}
	error = cgroup_v2_enable(dir, root->hier[0].controllers);
	free(dir);
	return error;
}

static int
cgroup_v2_limit(const char *dir, const char *file, uint64_t v,
    char **cause)
{
	int	 error;

	if (v == 0)
		error = cgroup_file_write(dir, file, "max");
	else
		error = cgroup_file_write(dir, file, "%llu",
		    (unsigned long long)v);
	if (error != 0) {
		xasprintf(cause, "cannot set %s/%s: %s", dir, file,
		    strerror(-error));
		return -1;
	}
	return 0;
}

static int
cgroup_v2_missing(const struct cgroup *cg, int bit, const char *what,
    char **cause)
{
	if (cg->root->controllers & bit)
		return 0;
	xasprintf(cause, "cannot enforce %s: the %s controller is not "
	    "available in %s", what, what, cg->root->hier[0].top);
	return -1;
}

static int
cgroup_v2_set_memory(struct cgroup *cg, const char *dir,
    const struct cgroup_limits *lim, char **cause)
{
	if ((lim->max_memory != 0 || lim->memory_high != 0) &&
	    cgroup_v2_missing(cg, CGROUP_MEMORY, "memory", cause) != 0)
		return -1;
	if (!(cg->root->controllers & CGROUP_MEMORY))
		return 0;
	if (cgroup_v2_limit(dir, "memory.max", lim->max_memory, cause) != 0 ||
	    cgroup_v2_limit(dir, "memory.high", lim->memory_high, cause) != 0)
		return -1;
	/* Without this, memory.max only pushes the app to swap. */
	if ((cg->root->controllers & CGROUP_SWAP) &&
	    cgroup_file_write(dir, "memory.swap.max", "%s",
	    lim->max_memory != 0 ? "0" : "max") != 0)
		log_warnx("cgroup: cannot limit swap of %s", dir);
	cgroup_v2_oom_group(cg);
	return 0;
}

/* An OOM kill takes the whole instance, as a crash would. */
void
cgroup_v2_oom_group(const struct cgroup *cg)
{
	char	*dir;

	if (!(cg->root->controllers & CGROUP_MEMORY))
		return;
	dir = cgroup_path(cg);
	cgroup_file_write(dir, "memory.oom.group", "1");
	free(dir);
}

static int
cgroup_v2_set_cpu(struct cgroup *cg, const char *dir,
    const struct cgroup_limits *lim, char **cause)
{
	int	 error;

	if (lim->cpu_milli != 0 &&
	    cgroup_v2_missing(cg, CGROUP_CPU, "cpu", cause) != 0)
		return -1;
	if (!(cg->root->controllers & CGROUP_CPU))
		return 0;
	if (lim->cpu_milli == 0)
		error = cgroup_file_write(dir, "cpu.max", "max %d",
		    CGROUP_CPU_PERIOD_US);
	else
		error = cgroup_file_write(dir, "cpu.max", "%llu %d",
		    (unsigned long long)lim->cpu_milli * CGROUP_CPU_PERIOD_US /
		    1000, CGROUP_CPU_PERIOD_US);
	if (error != 0) {
		xasprintf(cause, "cannot set %s/cpu.max: %s", dir,
		    strerror(-error));
		return -1;
	}
	return 0;
}

int
cgroup_v2_set_limits(struct cgroup *cg, const struct cgroup_limits *lim,
    char **cause)
{
	char	*dir = cgroup_path(cg);
	int	 r = -1;

	if (cgroup_v2_set_memory(cg, dir, lim, cause) != 0 ||
	    cgroup_v2_set_cpu(cg, dir, lim, cause) != 0)
		goto out;
	if (lim->max_pids != 0 &&
	    cgroup_v2_missing(cg, CGROUP_PIDS, "pids", cause) != 0)
		goto out;
	if ((cg->root->controllers & CGROUP_PIDS) &&
	    cgroup_v2_limit(dir, "pids.max", lim->max_pids, cause) != 0)
		goto out;
	r = 0;
out:
	free(dir);
	return r;
}

/* Reads what want asks for; CGROUP_KILL in want: the OOM kill count. */
int
cgroup_v2_read_usage(const struct cgroup *cg, struct cgroup_usage *u,
    int want)
{
	char		*dir = cgroup_path(cg);
	uint64_t	 v;
	int		 error = 0;

	if ((want & CGROUP_CPUACCT) && (error = cgroup_file_key(dir,
	    "cpu.stat", "usage_usec", &u->cpu_usec)) == 0)
		u->flags |= CGROUP_CPUACCT;
	if (want & CGROUP_MEMORY)
		cgroup_file_memory(dir, "memory.current", "inactive_file", want,
		    u);
	if ((want & CGROUP_KILL) &&
	    cgroup_file_key(dir, "memory.events", "oom_kill", &v) == 0) {
		u->oom_kills = v;
		u->flags |= CGROUP_KILL;
	}
	if ((want & CGROUP_PIDS) &&
	    cgroup_file_u64(dir, "pids.current", &v) == 0) {
		u->pids = v;
		u->flags |= CGROUP_PIDS;
	}
	free(dir);
	return error == -ENOENT && u->flags == 0 ? -ENOENT : 0;
}

int
cgroup_v2_kill(const struct cgroup *cg, int sig)
{
	char	*dir = cgroup_path(cg);
	pid_t	*pids;
	size_t	 n = 0;
	int	 r;

	if (sig == SIGKILL && (cg->root->controllers & CGROUP_KILL)) {
		if (cgroup_read_pids(dir, &pids, &n) == 0)
			free(pids);
		r = cgroup_file_write(dir, "cgroup.kill", "1");
		free(dir);
		return r == 0 ? (int)n : r;
	}
	if (cg->root->controllers & CGROUP_FREEZER)
		r = cgroup_kill_frozen(dir, sig, dir, "cgroup.freeze", "1",
		    "0");
	else
		r = cgroup_kill_pids(dir, sig);
	free(dir);
	return r;
}
