/* SPDX-License-Identifier: ISC */
/*
 * Samples of the instances' CPU and memory, taken when someone looks:
 * `ls`/`jlist`/`describe`, a monit subscriber, a metrics scrape, an
 * autoscale measure (each reads values older than LIMITS_FRESH_MS again,
 * in one batch: the cgroups' files read on every CPU (spread.c), one
 * /proc pass for the instances without one), and the once-a-second tick
 * for the apps with max_memory_restart only, which acts on what the
 * samples show.  With nobody looking and no such app, no instance costs
 * anything per second.
 * An instance sampled again within LIMITS_HOLD_MS keeps its stat files
 * open until nobody read them for that long (a 15 s scrape keeps them): a
 * watched instance costs one pread() per file and sample.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corrald.h"
#include "spread.h"

#define LIMITS_RETRY_MS 10000          /* between max_memory_restart tries */
#define LIMITS_FRESH_MS 900            /* a sample this young is reused */
#define LIMITS_HOLD_MS 30000           /* stat files unread this long close */
#define LIMITS_HOLD_SHARE 4            /* at most 1/4 of the fd limit */
#define LIMITS_SPREAD_MIN 64           /* cgroups a thread reads at least */
#define LIMITS_ROOM_UNASKED (-2)       /* fdlimit_free() not asked yet */

static uint64_t
limits_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
limits_publish(struct instance *inst, const struct cgroup_usage *u,
    uint64_t now)
{
	cgroup_sample_update(&inst->sample, u, now);
	inst->cpu = inst->sample.cpu;
	inst->memory = inst->sample.memory;
}

/*
 * The CPU baseline of a new instance, from the reading of its cgroup at
 * the spawn: the first look at it (maybe minutes later) gives a CPU
 * percentage over its whole life so far instead of nothing.
 */
void
limits_baseline(struct instance *inst, const struct cgroup_usage *u)
{
	if (!(u->flags & CGROUP_CPUACCT))
		return;
	inst->sample.cpu_usec = u->cpu_usec;
	inst->sample.wall_us = limits_now_us();
}

/* Whether inst runs and has no sample younger than max_age_ms at now. */
static int
limits_stale(const struct instance *inst, uint64_t now, uint64_t max_age_ms)
{
	return inst->child != NULL && (!inst->sample.valid ||
	    now - inst->sample.wall_us >= max_age_ms * 1000);
}

/*
 * Before a sample of inst's cgroup cg: sampled again within
 * LIMITS_HOLD_MS (monit, a scrape, max_memory_restart: someone keeps
 * looking), cg keeps its stat files open until nobody read them for that
 * long; a single `ls` holds nothing.  Short of descriptors, the files are
 * opened for each read.  *room is what the batch may still open (asked
 * of fdlimit_free() at its first hold, then counted down: one question
 * per listing, not one per instance), -1 when the kernel does not say
 * (then each hold asks fdlimit_room()), LIMITS_ROOM_UNASKED before.  On
 * the loop: the root counts what is held.
 */
static void
limits_hold(struct instance *inst, struct cgroup *cg, uint64_t now,
    long long *room)
{
	unsigned long long	 max = fdlimit_soft() / LIMITS_HOLD_SHARE;
	const int		 need = CGROUP_STAT_HELD + FDLIMIT_RESERVE;

	if (cg->stat != NULL) {
		(void)cgroup_stat_hold(cg, mono_ms(), (size_t)max);
		return;
	}
	if (!inst->sample.valid ||
	    now - inst->sample.wall_us >= LIMITS_HOLD_MS * 1000)
		return;
	if (*room == LIMITS_ROOM_UNASKED)
		*room = fdlimit_free();
	if (*room >= 0 ? *room < need : fdlimit_room(need) != 0)
		return;
	if (cgroup_stat_hold(cg, mono_ms(), (size_t)max) == 0 && *room >= 0)
		*room -= CGROUP_STAT_HELD;
}

/*
 * One cgroup's read in a batch: what it asks (decided on the loop) and
 * what it got. Slices of a batch run on other threads.
 */
struct limits_read {
	struct cgroup *cg;
	int want;                       /* cgroup_sample_want(): on the loop */
	int r;
	struct cgroup_usage u;
};

static void
limits_read_slice(void *p, size_t from, size_t to)
{
	struct limits_read	*v = p;
	size_t			 i;

	for (i = from; i < to; i++)
		v[i].r = cgroup_sample_read(v[i].cg, v[i].want, &v[i].u);
}

/*
 * Samples the n instances of v, which have a cgroup: what each reads and
 * holds decided on the loop, the reads spread over the CPUs (halved on
 * two: a cold `ls` of 2,000 rows reads 4,000 files), the results
 * published on the loop.
 */
static void
limits_batch_cgroups(struct instance **v, size_t n, uint64_t now)
{
	struct limits_read	*rd = xcalloc(n, sizeof *rd);
	long long		 room = LIMITS_ROOM_UNASKED;
	size_t			 i;

	for (i = 0; i < n; i++) {
		rd[i].cg = v[i]->child->cg;
		limits_hold(v[i], rd[i].cg, now, &room);
		rd[i].want = cgroup_sample_want(rd[i].cg);
	}
	spread_run(n, LIMITS_SPREAD_MIN, limits_read_slice, rd);
	for (i = 0; i < n; i++) {
		if (rd[i].r == 0)
			limits_publish(v[i], &rd[i].u, now);
	}
	free(rd);
}

/*
 * Samples the n running instances of v: those with a cgroup in one batch
 * of reads, the others in a single /proc pass.
 */
static void
limits_batch(struct instance **v, size_t n, uint64_t now)
{
	struct cgroup_usage	*u;
	pid_t			*pg;
	struct instance		**fb, **cv;
	size_t			 i, nfb = 0, nc = 0;

	if (n == 0)
		return;
	fb = xcalloc(n, sizeof *fb);
	cv = xcalloc(n, sizeof *cv);
	pg = xcalloc(n, sizeof *pg);
	for (i = 0; i < n; i++) {
		if (v[i]->child->cg != NULL)
			cv[nc++] = v[i];
		else {
			fb[nfb] = v[i];
			pg[nfb++] = v[i]->child->pid;
		}
	}
	if (nc > 0)
		limits_batch_cgroups(cv, nc, now);
	if (nfb > 0) {
		u = xcalloc(nfb, sizeof *u);
		if (cgroup_proc_usage(pg, nfb, u) == 0) {
			for (i = 0; i < nfb; i++)
				limits_publish(fb[i], &u[i], now);
		}
		free(u);
	}
	free(fb);
	free(cv);
	free(pg);
	stats_wake();                   /* files held: released once idle */
}

/*
 * Samples, in one batch, the running instances (of every app, of only
 * one when only is not NULL, or only of those with max_memory_restart
 * when mmr_only) whose last sample is older than max_age_ms.
 */
static void
limits_collect(uint64_t max_age_ms, int mmr_only, struct app *only)
{
	struct app	 *app;
	struct instance	 *inst, **v = NULL;
	size_t		  n = 0;
	uint64_t	  now = limits_now_us();

	TAILQ_FOREACH(app, &D.apps, entry) {
		if ((mmr_only && app->cfg.max_memory_restart == 0) ||
		    (only != NULL && app != only))
			continue;
		TAILQ_FOREACH(inst, &app->instances, entry) {
			if (!limits_stale(inst, now, max_age_ms))
				continue;
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n++] = inst;
		}
	}
	limits_batch(v, n, now);
	free(v);
}

/* A metrics scrape: every running instance's sample, max_age_ms old at most. */
void
limits_refresh(uint64_t max_age_ms)
{
	limits_collect(max_age_ms, 0, NULL);
}

/*
 * A fresh sample of inst (for `ls`, monit, autoscale): read again when the
 * last one is LIMITS_FRESH_MS old.  A stale instance brings the sample of
 * the others that are stale, in one batch, and the rest of an `ls` finds
 * them fresh: those of its app when it has a cgroup (their reads spread
 * over the CPUs; a `describe` of an app reads no other app), all of them
 * when it has none (one /proc pass serves them all).
 */
void
limits_sample(struct instance *inst)
{
	uint64_t	 now = limits_now_us();

	if (!limits_stale(inst, now, LIMITS_FRESH_MS))
		return;
	limits_collect(LIMITS_FRESH_MS, 0, inst->child->cg == NULL ? NULL :
	    inst->app);
}

/*
 * Fresh samples for a listing of the n instances of v (`ls`, a command's
 * reply): the stale running ones among them in one batch.  Sampled one by
 * one, each would be a batch of its app (and look through every app): a
 * batch and a room check per instance, and O(N^2), for N apps of one
 * instance each.
 */
void
limits_sample_list(struct instance **v, size_t n)
{
	struct instance	**w;
	uint64_t	  now = limits_now_us();
	size_t		  i, m = 0;

	w = xcalloc(n > 0 ? n : 1, sizeof *w);
	for (i = 0; i < n; i++) {
		if (limits_stale(v[i], now, LIMITS_FRESH_MS))
			w[m++] = v[i];
	}
	limits_batch(w, m, now);
	free(w);
}

/*
 * Replaces an instance whose memory passed max_memory_restart: as a reload
 * does (the new process first) when the app holds sockets, so that no
 * connection is refused; else by a graceful restart (an app that binds
 * its own port could not start beside the old one).  A replacement that
 * fails leaves the old instance serving and is tried again after
 * LIMITS_RETRY_MS.
 */
static void
limits_memory_restart(struct instance *inst)
{
	uint64_t	 max = inst->app->cfg.max_memory_restart;
	uint64_t	 now = mono_ms();
	char		 a[32], b[32], *cause = NULL;

	if (max == 0 || inst->state != INST_ONLINE || inst->memory <= max ||
	    inst->app->reload != NULL || (inst->memory_restart_at != 0 &&
	    now - inst->memory_restart_at < LIMITS_RETRY_MS))
		return;
	inst->memory_restart_at = now;
	format_size(inst->memory, a, sizeof a);
	format_size(max, b, sizeof b);
	log_warnx("%s[%d]: memory %s passed max_memory_restart %s: "
	    "replacing pid %d", inst->app->cfg.name, inst->index, a, b,
	    inst->pid);
	inst->memory_restarts++;
	inst->app->counters.memory_replaced++;
	instance_set_reason(inst, "memory %s passed max_memory_restart %s",
	    a, b);
	inst->keep_reason = 1;
	if (inst->app->nlisteners > 0) {
		if (reload_instance(inst, &cause) == 0)
			return;
		log_warnx("%s[%d]: %s", inst->app->cfg.name, inst->index,
		    cause);
		free(cause);
		return;
	}
	fsm_event(inst, EV_RESTART);
}

/*
 * Once a second: samples the instances of apps with max_memory_restart
 * and replaces those above it; closes the stat files nobody reads any
 * more; collects cgroups left to remove.  Other instances cost nothing
 * here.  Returns in how many ms it next has work: at once (the next
 * second) for an app with max_memory_restart or a cgroup removal
 * waiting, when the first stat files kept reach LIMITS_HOLD_MS unread;
 * -1 for none.
 */
int64_t
limits_tick(void)
{
	struct app		*app;
	struct instance		*inst, *next;
	uint64_t		 due, now;
	int			 every = 0;

	limits_collect(LIMITS_FRESH_MS, 1, NULL);
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->cfg.max_memory_restart == 0)
			continue;
		every |= !app->deleted;
		TAILQ_FOREACH_SAFE(inst, &app->instances, entry, next)
			limits_memory_restart(inst);
	}
	if (D.cgroups == NULL)
		return every ? 0 : -1;
	now = mono_ms();
	due = cgroup_stat_expire(D.cgroups, now, LIMITS_HOLD_MS);
	cgroup_root_gc(D.cgroups);
	if (every || D.cgroups->npending > 0)
		return 0;
	if (due == 0)
		return -1;
	return due > now ? (int64_t)(due - now) : 0;
}
