/* SPDX-License-Identifier: ISC */
/*
 * Instance cgroups: <top>/<app>.app/<instance> in every hierarchy the root
 * uses.  Creation (or reuse of the slot's kept one: cgroup-slot.c), the
 * files a child writes its pid into before exec, limits, usage, immediate
 * removal and the JSON that `describe` shows; what an exit needs (kill,
 * OOM count, deferred removal) is cgroup-exit.c.  Each function
 * dispatches to the v1 or v2 backend.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"

/* cg's directory in hierarchy h; the caller frees. */
char *
cgroup_dir(const struct cgroup *cg, int h)
{
	char	*dir;

	xasprintf(&dir, "%s/%s", cg->root->hier[h].top, cg->rel);
	return dir;
}

/* The hierarchy that carries bit, or -1. */
static int
cgroup_hier_with(const struct cgroup_root *root, int bit)
{
	int	 h;

	for (h = 0; h < root->nhier; h++) {
		if (root->hier[h].controllers & bit)
			return h;
	}
	return -1;
}

static int cgroup_open_dirs(struct cgroup *, char **);

/* "<app>.app/<instance>", or "<app>.app/<instance>.<gen>" after gen 0. */
char *
cgroup_rel(const char *app, int instance, int gen)
{
	char *rel;

	if (gen == 0)
		xasprintf(&rel, "%s" CGROUP_APP_SUFFIX "/%d", app, instance);
	else
		xasprintf(&rel, "%s" CGROUP_APP_SUFFIX "/%d.%d", app, instance,
		    gen);
	return rel;
}
static int cgroup_limits_equal(const struct cgroup_limits *,
    const struct cgroup_limits *);

/*
 * Before cg's first directory is made: the tops made again when they
 * vanished, and on v2 the app's directory with its controllers. A kept
 * slot taken again needs neither (its directories are there). Returns 0,
 * or -1 with *cause set.
 */
static int
cgroup_prepare(struct cgroup *cg, const char *app, char **cause)
{
	int	 error;

	if (cgroup_root_ensure_tops(cg->root, cause) != 0)
		return -1;
	if (cg->root->backend == CGROUP_V2 &&
	    (error = cgroup_v2_prepare_app(cg->root, cg->app)) != 0) {
		xasprintf(cause, "cgroup for app %s: %s", app,
		    strerror(-error));
		return -1;
	}
	return 0;
}

/*
 * Makes (or finds) an empty cgroup for one instance's process:
 * <app>.app/<index>, or <app>.app/<index>.<n> while an older process of
 * the same instance still holds that one (a reload, a dying task).  The
 * slot's cgroup kept from its last process (cgroup-slot.c) is taken first.
 * Returns NULL with *cause set when there is no backend or the
 * directories cannot be made.
 */
struct cgroup *
cgroup_create(struct cgroup_root *root, const char *app, int instance,
    char **cause)
{
	struct cgroup	*cg;
	int		 gen, prepared = 0;

	if (root->backend == CGROUP_NONE) {
		xasprintf(cause, "no cgroups: %s", root->cause);
		return NULL;
	}
	if (parse_app_name(app, cause) == -1)
		return NULL;
	cg = cgroup_new(root, app);
	for (gen = 0; gen < CGROUP_MAX_GEN; gen++) {
		cgroup_gen(cg, app, instance, gen);
		if (cgroup_busy(root, cg->rel))
			continue;
		if (cgroup_reuse(cg) == 0)
			break;
		if (!prepared && cgroup_prepare(cg, app, cause) != 0) {
			cgroup_free(cg);
			return NULL;
		}
		prepared = 1;
		if (cgroup_open_dirs(cg, cause) != 0) {
			cgroup_destroy(cg);
			return NULL;
		}
		/* made now in every hierarchy: no process can be in it yet */
		if (cg->fresh || cgroup_is_empty(cg))
			break;
	}
	if (gen == CGROUP_MAX_GEN) {
		xasprintf(cause, "the cgroups of %s/%d are all busy", app,
		    instance);
		cgroup_free(cg);
		return NULL;
	}
	cgroup_busy_mark(cg);
	return cg;
}

/* Makes cg's directory in every hierarchy. */
static int
cgroup_open_dirs(struct cgroup *cg, char **cause)
{
	struct stat	 st;
	char		*dir;
	int		 h, error;

	cg->fresh = 1;
	for (h = 0; h < cg->root->nhier; h++) {
		dir = cgroup_dir(cg, h);
		cgroup_root_pending_drop(cg->root, dir);
		error = cgroup_mkdirs(cg->root->hier[h].top, cg->rel);
		if (error == 0)
			cg->fresh = 0;  /* there already: its limits unknown */
		/* one there already may be anything; one made now is a dir */
		if (error == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
			error = -ENOTDIR;
		if (error < 0) {
			xasprintf(cause, "cannot create %s: %s", dir,
			    strerror(-error));
			free(dir);
			return -1;
		}
		free(dir);
	}
	memset(&cg->applied, 0, sizeof cg->applied);
	cg->known = cg->fresh;
	cg->zero = cg->carry.counted = cg->fresh;
	return 0;
}

void
cgroup_free(struct cgroup *cg)
{
	if (cg == NULL)
		return;
	cgroup_busy_clear(cg);
	cgroup_carry_unwatch(cg->root, &cg->carry);
	cgroup_stat_release(cg);
	free(cg->app);
	free(cg->rel);
	free(cg);
}

/*
 * Removes the instance's directories (and the app's, once it has no other
 * instance) and frees cg.  A directory that a dying task still holds is
 * queued for cgroup_root_gc().  Returns 0, or -EBUSY if something was
 * queued.
 */
int
cgroup_destroy(struct cgroup *cg)
{
	char	*dir, *appdir;
	int	 h, r = 0;

	for (h = 0; h < cg->root->nhier; h++) {
		dir = cgroup_dir(cg, h);
		xasprintf(&appdir, "%s/%s", cg->root->hier[h].top, cg->app);
		if (cgroup_rmdir(dir) != 0) {
			cgroup_root_pending_add(cg->root, dir);
			cgroup_root_pending_add(cg->root, appdir);
			r = -EBUSY;
		} else if (cgroup_rmdir(appdir) != 0 && errno != ENOTEMPTY &&
		    errno != EBUSY)
			log_warn("cgroup: rmdir %s", appdir);
		free(appdir);
		free(dir);
	}
	cgroup_free(cg);
	return r;
}

/*
 * The files a child writes "0" (itself) to before it execs (a spawn
 * plan's cgroup_procs: the keeper's child joins them).  v1: `tasks`,
 * since the kernel moves the writing thread (the child's only one)
 * without the global threadgroup lock that a cgroup.procs write takes
 * for writing, and with it the RCU grace period that lock waits for (8
 * to 16 ms a spawn on a loaded host; docs/profile-spawn.md).  v2:
 * cgroup.procs (`cgroup.threads` is for threaded subtrees only).  Free
 * with cgroup_join_files_free().
 */
char **
cgroup_join_files(const struct cgroup *cg, size_t *n)
{
	const char *file = cg->root->backend == CGROUP_V1 ? "tasks" :
	    "cgroup.procs";
	char	**files;
	int	  h;

	files = xcalloc((size_t)cg->root->nhier + 1, sizeof *files);
	for (h = 0; h < cg->root->nhier; h++)
		xasprintf(&files[h], "%s/%s/%s",
		    cg->root->hier[h].top, cg->rel, file);
	*n = (size_t)cg->root->nhier;
	return files;
}

void
cgroup_join_files_free(char **files, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

/* Moves pid (all its threads) into the instance's cgroups. */
int
cgroup_join(const struct cgroup *cg, pid_t pid)
{
	char	*dir;
	int	 h, error;

	for (h = 0; h < cg->root->nhier; h++) {
		dir = cgroup_dir(cg, h);
		error = cgroup_file_write(dir, "cgroup.procs", "%ld",
		    (long)pid);
		free(dir);
		if (error != 0)
			return error;
	}
	return 0;
}

/* The directory that best names the instance (v2: the only one). */
char *
cgroup_path(const struct cgroup *cg)
{
	int	 h;

	if ((h = cgroup_hier_with(cg->root, CGROUP_MEMORY)) == -1)
		h = 0;
	return cgroup_dir(cg, h);
}

/* The directory of the hierarchy carrying bit, or NULL; caller frees. */
char *
cgroup_dir_for(const struct cgroup *cg, int bit)
{
	int	 h;

	if ((h = cgroup_hier_with(cg->root, bit)) == -1)
		return NULL;
	return cgroup_dir(cg, h);
}

/*
 * Applies limits (0 lifts one) to a running or idle instance.  Returns 0
 * or -1 with *cause set; limits the host cannot enforce are an error only
 * when asked for.
 */
int
cgroup_set_limits(struct cgroup *cg, const struct cgroup_limits *lim,
    char **cause)
{
	int	 r;

	/*
	 * A cgroup made just now has no limit to lift, one kept from the
	 * slot's last process has the ones it had, and writing costs: each
	 * cpu quota write walks every cpu cgroup of the host
	 * (tg_set_bandwidth), which made 10,000 starts quadratic.
	 */
	if (cg->known && cgroup_limits_equal(&cg->applied, lim)) {
		if (cg->fresh && cg->root->backend == CGROUP_V2)
			cgroup_v2_oom_group(cg);
		cg->fresh = 0;
		return 0;
	}
	cg->fresh = 0;
	if (cg->root->backend == CGROUP_V2)
		r = cgroup_v2_set_limits(cg, lim, cause);
	else
		r = cgroup_v1_set_limits(cg, lim, cause);
	cg->known = r == 0;
	cg->applied = *lim;
	return r;
}

static int
cgroup_limits_equal(const struct cgroup_limits *a,
    const struct cgroup_limits *b)
{
	return a->max_memory == b->max_memory &&
	    a->memory_high == b->memory_high &&
	    a->cpu_milli == b->cpu_milli && a->max_pids == b->max_pids;
}

#define CGROUP_USAGE_ALL (CGROUP_MEMORY | CGROUP_CPUACCT | CGROUP_PIDS | \
	CGROUP_KILL | CGROUP_FILESTAT)

/* Everything: memory, CPU, pids and the OOM kill count. */
int
cgroup_read_usage(const struct cgroup *cg, struct cgroup_usage *u)
{
	memset(u, 0, sizeof *u);
	if (cg->root->backend == CGROUP_V2)
		return cgroup_v2_read_usage(cg, u, CGROUP_USAGE_ALL);
	return cgroup_v1_read_usage(cg, u, CGROUP_USAGE_ALL);
}

int
cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n)
{
	char	*dir;
	int	 r;

	dir = cgroup_dir_for(cg, CGROUP_FREEZER);
	if (dir == NULL)
		dir = cgroup_path(cg);
	r = cgroup_read_pids(dir, pids, n);
	free(dir);
	return r;
}

int
cgroup_is_empty(const struct cgroup *cg)
{
	pid_t	*pids;
	size_t	 n, h;
	char	*dir;
	int	 empty = 1;

	for (h = 0; h < (size_t)cg->root->nhier && empty; h++) {
		dir = cgroup_dir(cg, (int)h);
		if (cgroup_read_pids(dir, &pids, &n) == 0) {
			empty = n == 0;
			free(pids);
		}
		free(dir);
	}
	return empty;
}

static json_t *
cgroup_json_u64(uint64_t v)
{
	return v == 0 ? json_null() : json_integer((json_int_t)v);
}

/* The "cgroup" object of `describe`: where, which backend, limits, usage. */
json_t *
cgroup_describe(const struct cgroup *cg, const struct cgroup_limits *lim)
{
	struct cgroup_usage	 u;
	json_t			*o, *dirs, *usage, *limits;
	int			 h;
	char			*dir;

	o = json_object();
	json_object_set_new(o, "backend",
	    json_str(cgroup_backend_name(cg->root->backend)));
	dir = cgroup_path(cg);
	json_object_set_new(o, "path", json_str(dir));
	free(dir);
	dirs = json_array();
	for (h = 0; h < cg->root->nhier; h++) {
		dir = cgroup_dir(cg, h);
		json_array_append_new(dirs, json_str(dir));
		free(dir);
	}
	json_object_set_new(o, "paths", dirs);
	limits = json_object();
	json_object_set_new(limits, "max_memory",
	    cgroup_json_u64(lim->max_memory));
	json_object_set_new(limits, "memory_high",
	    cgroup_json_u64(lim->memory_high));
	json_object_set_new(limits, "cpu", lim->cpu_milli == 0 ? json_null() :
	    json_real(lim->cpu_milli / 1000.0));
	json_object_set_new(limits, "max_pids",
	    cgroup_json_u64(lim->max_pids));
	json_object_set_new(o, "limits", limits);
	usage = json_object();
	if (cgroup_read_usage(cg, &u) == 0) {
		if (u.flags & CGROUP_MEMORY) {
			json_object_set_new(usage, "memory",
			    json_integer((json_int_t)u.memory));
			json_object_set_new(usage, "oom_kills",
			    json_integer((json_int_t)u.oom_kills));
		}
		if (u.flags & CGROUP_CPUACCT)
			json_object_set_new(usage, "cpu_usec",
			    json_integer((json_int_t)u.cpu_usec));
		if (u.flags & CGROUP_PIDS)
			json_object_set_new(usage, "pids",
			    json_integer((json_int_t)u.pids));
	}
	json_object_set_new(o, "usage", usage);
	return o;
}

#define CGROUP_CPU_SPAN_US 100000  /* shortest span of a CPU percentage */

/* CPU use between two samples, in percent of one core. */
double
cgroup_cpu_percent(uint64_t cpu_then, uint64_t cpu_now, uint64_t wall_then,
    uint64_t wall_now)
{
	if (wall_now <= wall_then || cpu_now < cpu_then)
		return 0.0;
	return 100.0 * (double)(cpu_now - cpu_then) /
	    (double)(wall_now - wall_then);
}

/*
 * Takes a new reading; the first one only sets the baseline for CPU unless
 * s has one already (wall_us set, valid still 0: see limits_baseline).
 * Within CGROUP_CPU_SPAN_US of the baseline the CPU reading is left out:
 * a percentage over a few hundred microseconds is noise (the table a
 * `start` prints showed 180 % for a process just past its exec), so the
 * last one stands and the baseline stays for a longer span.
 */
void
cgroup_sample_update(struct cgroup_sample *s, const struct cgroup_usage *u,
    uint64_t now_us)
{
	if (u->flags & CGROUP_MEMORY)
		s->memory = u->memory;
	if (!(u->flags & CGROUP_CPUACCT) || (s->wall_us != 0 &&
	    now_us - s->wall_us < CGROUP_CPU_SPAN_US))
		return;
	if (s->wall_us != 0)
		s->cpu = cgroup_cpu_percent(s->cpu_usec, u->cpu_usec,
		    s->wall_us, now_us);
	s->cpu_usec = u->cpu_usec;
	s->wall_us = now_us;
	s->valid = 1;
}
