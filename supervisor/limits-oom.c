/* SPDX-License-Identifier: ISC */
/*
 * OOM kills of an instance as the kernel reports them (cgroup-oom.c),
 * with nobody asking: on v1 a uv_poll on the cgroup's eventfd, then a few
 * short re-reads, as the kernel signals before it kills; on v2 a
 * uv_fs_event on memory.events (libuv's one inotify descriptor for the
 * loop, one watch per instance).  Each kill counted goes to the
 * instance's oom_kills and the daemon's log, also the kill of a process
 * that is not the main one.  A watch lives from the cgroup's creation
 * (limits_spawn) to its removal: between two processes of a slot it stays
 * with the kept cgroup, idle (limits_oom_park, cgroup-slot.c); without
 * one (short of descriptors or inotify watches) the count is read at the
 * main process's exit only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

#define LIMITS_OOM_RECHECK_MS 100       /* v1: between two re-reads */
#define LIMITS_OOM_RECHECKS 20          /* v1: re-reads after a signal */
#define LIMITS_OOM_PARK_SHARE 4         /* v1: of the descriptors, at most */

struct oomwatch {
	union {
		uv_handle_t handle;
		uv_poll_t poll;
		uv_fs_event_t fs;
	} h;
	struct child *child;            /* NULL while parked or stopped */
	int efd;                        /* v1: the eventfd, else -1 */
	int rechecks;                   /* v1: re-reads left */
	int parked;                     /* kept with an idle cgroup */
	LIST_ENTRY(oomwatch) entry;     /* on limits_oom_rechecking */
};

static unsigned long long limits_oom_parked;    /* v1 eventfds parked */

/* w leaves its kept cgroup. */
static void
limits_oom_unpark(struct oomwatch *w)
{
	if (!w->parked)
		return;
	w->parked = 0;
	limits_oom_parked -= w->efd != -1;
}

static LIST_HEAD(, oomwatch) limits_oom_rechecking =
    LIST_HEAD_INITIALIZER(limits_oom_rechecking);
static uv_timer_t limits_oom_timer;
static int limits_oom_timer_ready;
static int limits_oom_warned;

/*
 * Reads the OOM kill count of child's cgroup and adds what is new to inst
 * (may be NULL: the instance forgot the child).  Returns how many kills
 * are new, or -1 when the count cannot be read.
 */
int
limits_oom_count(struct child *child, struct instance *inst)
{
	uint64_t	 n;
	long long	 d;

	if (child->cg == NULL || cgroup_oom_kills(child->cg, &n) != 0)
		return -1;
	if (n <= child->oom_seen)
		return 0;
	d = (long long)(n - child->oom_seen);
	child->oom_seen = n;
	if (inst != NULL)
		inst->oom_kills += d;
	log_warnx("%s[%d]: the OOM killer killed %lld process(es) of its "
	    "cgroup (main pid %d)", child->app->cfg.name, child->index, d,
	    child->pid);
	return (int)d;
}

static void
limits_oom_unlist(struct oomwatch *w)
{
	if (w->rechecks > 0)
		LIST_REMOVE(w, entry);
	w->rechecks = 0;
}

/* v1: re-reads the counts of the cgroups signalled lately. */
static void
limits_oom_recheck(uv_timer_t *t)
{
	struct oomwatch	*w, *next;

	for (w = LIST_FIRST(&limits_oom_rechecking); w != NULL; w = next) {
		next = LIST_NEXT(w, entry);
		if (limits_oom_count(w->child, w->child->inst) != 0 ||
		    --w->rechecks == 0) {
			LIST_REMOVE(w, entry);
			w->rechecks = 0;
		}
	}
	if (LIST_EMPTY(&limits_oom_rechecking))
		(void)uv_timer_stop(t);
}

static void
limits_oom_recheck_start(struct oomwatch *w)
{
	if (!limits_oom_timer_ready) {
		if (uv_timer_init(D.loop, &limits_oom_timer) != 0) {
			log_warnx("cgroup: no timer for OOM re-reads");
			return;
		}
		uv_unref((uv_handle_t *)&limits_oom_timer);
		limits_oom_timer_ready = 1;
	}
	if (w->rechecks == 0)
		LIST_INSERT_HEAD(&limits_oom_rechecking, w, entry);
	w->rechecks = LIMITS_OOM_RECHECKS;
	if (!uv_is_active((uv_handle_t *)&limits_oom_timer))
		(void)timer_start(&limits_oom_timer, limits_oom_recheck,
		    LIMITS_OOM_RECHECK_MS, LIMITS_OOM_RECHECK_MS);
}

/* v1: the eventfd fired (an OOM in the cgroup), or polling failed. */
static void
limits_oom_polled(uv_poll_t *p, int status, int events)
{
	struct oomwatch	*w = p->data;
	uint64_t	 v;

	if (status < 0) {
		log_warnx("OOM events of a cgroup: %s", uv_strerror(status));
		(void)uv_poll_stop(p);
		return;
	}
	if (!(events & UV_READABLE))
		return;
	while (read(w->efd, &v, sizeof v) == (ssize_t)sizeof v)
		;
	if (w->child != NULL &&
	    limits_oom_count(w->child, w->child->inst) == 0)
		limits_oom_recheck_start(w);
}

/* v2: memory.events changed. */
static void
limits_oom_changed(uv_fs_event_t *fs, const char *name, int events,
    int status)
{
	struct oomwatch	*w = fs->data;

	(void)name;
	(void)events;
	if (status < 0) {
		log_warnx("OOM events of a cgroup: %s", uv_strerror(status));
		(void)uv_fs_event_stop(fs);
		return;
	}
	if (w->child != NULL)
		(void)limits_oom_count(w->child, w->child->inst);
}

static void
limits_oom_failed(struct child *child, const char *what, int error)
{
	if (limits_oom_warned++ == 0)
		log_warnx("%s[%d]: no OOM events (%s: %s): OOM kills are "
		    "counted at the exit", child->app->cfg.name, child->index,
		    what, strerror(-error));
}

static int
limits_oom_start_v1(struct oomwatch *w)
{
	int	 rc;

	if ((w->efd = cgroup_oom_eventfd(w->child->cg)) < 0) {
		if (w->efd != -ENOTSUP)
			limits_oom_failed(w->child, "eventfd", w->efd);
		return -1;
	}
	if ((rc = uv_poll_init(D.loop, &w->h.poll, w->efd)) != 0) {
		limits_oom_failed(w->child, "uv_poll_init", rc);
		close(w->efd);
		return -1;
	}
	w->h.handle.data = w;
	if ((rc = uv_poll_start(&w->h.poll, UV_READABLE,
	    limits_oom_polled)) != 0)
		limits_oom_failed(w->child, "uv_poll_start", rc);
	return 0;
}

static int
limits_oom_start_v2(struct oomwatch *w)
{
	char	*path;
	int	 rc;

	if ((path = cgroup_oom_events_file(w->child->cg)) == NULL)
		return -1;
	if ((rc = uv_fs_event_init(D.loop, &w->h.fs)) != 0) {
		limits_oom_failed(w->child, "uv_fs_event_init", rc);
		free(path);
		return -1;
	}
	w->h.handle.data = w;
	if ((rc = uv_fs_event_start(&w->h.fs, limits_oom_changed, path,
	    0)) != 0)
		limits_oom_failed(w->child, path, rc);
	free(path);
	return 0;
}

/*
 * Watches the OOM events of child's new cgroup; counts from oom_base.
 * Without a watch, limits_oom_count() at the exit still counts.
 */
void
limits_oom_watch(struct child *child)
{
	struct oomwatch	*w;
	int		 r;

	child->oom_seen = child->oom_base;
	if ((w = child->cg->carry.watch) != NULL) {
		child->cg->carry.watch = NULL;
		limits_oom_unpark(w);
		if (uv_is_active(&w->h.handle)) {
			w->child = child;
			child->oom = w;
			return;
		}
		limits_oom_drop(w);
	}
	w = xcalloc(1, sizeof *w);
	w->child = child;
	w->efd = -1;
	if (D.cgroups->backend == CGROUP_V2)
		r = limits_oom_start_v2(w);
	else
		r = limits_oom_start_v1(w);
	if (r != 0) {
		free(w);
		return;
	}
	child->oom = w;
}

static void
limits_oom_closed(uv_handle_t *h)
{
	struct oomwatch	*w = h->data;

	if (w->efd != -1)
		close(w->efd);
	free(w);
}

/*
 * Whether child's OOM count is known not to have moved since it was last
 * read: a v1 watch with no re-read pending and no OOM event waiting on its
 * eventfd (an event waiting is taken here, then the caller reads). The
 * kernel signals the eventfd before it kills, so a kill is never missed;
 * without a watch, or on v2, the caller must read.
 */
int
limits_oom_quiet(struct child *child)
{
	struct oomwatch	*w = child->oom;
	uint64_t	 v;

	if (w == NULL || w->efd == -1 || w->rechecks > 0)
		return 0;
	if (read(w->efd, &v, sizeof v) == (ssize_t)sizeof v)
		return 0;
	return errno == EAGAIN;
}

/* Ends a watch (struct cgroup_root's watch_drop); freed once closed. */
void
limits_oom_drop(void *p)
{
	struct oomwatch	*w = p;

	limits_oom_unpark(w);
	limits_oom_unlist(w);
	w->child = NULL;
	if (!uv_is_closing(&w->h.handle))
		uv_close(&w->h.handle, limits_oom_closed);
}

/* Ends child's watch, before its cgroup goes. */
void
limits_oom_unwatch(struct child *child)
{
	struct oomwatch	*w = child->oom;

	if (w == NULL)
		return;
	child->oom = NULL;
	limits_oom_drop(w);
}

/*
 * Whether descriptors are short for a park (twice what spawns and
 * accepts keep free is not free), asked of fdlimit_room() once per loop
 * turn: it costs a stat of /proc/self/fd and a getrlimit, and the exits
 * of a `stop all` come in bursts of tens per turn. A park opens nothing,
 * and an exit closes descriptors, so the answer holds for the turn; what
 * opens (a spawn, a held stat file) asks fdlimit_room() itself.
 */
static int
limits_oom_short(void)
{
	static uint64_t	 turn;
	static int	 asked, answer;
	uint64_t	 now = uv_now(D.loop);

	if (!asked || now != turn) {
		answer = fdlimit_room(2 * FDLIMIT_RESERVE) != 0;
		turn = now;
		asked = 1;
	}
	return answer;
}

/*
 * child's process is gone and its cgroup is kept for the slot's next
 * process: the watch goes with it, idle (no kill can happen in a cgroup
 * without tasks), unless the kept eventfds would take more than
 * 1/LIMITS_OOM_PARK_SHARE of the descriptors or descriptors are short.
 */
void
limits_oom_park(struct child *child)
{
	struct oomwatch	*w = child->oom;

	if (w == NULL)
		return;
	if (w->efd != -1 && (limits_oom_parked >= fdlimit_soft() /
	    LIMITS_OOM_PARK_SHARE || limits_oom_short())) {
		limits_oom_unwatch(child);
		return;
	}
	child->oom = NULL;
	limits_oom_unlist(w);
	w->child = NULL;
	w->parked = 1;
	limits_oom_parked += w->efd != -1;
	child->cg->carry.watch = w;
}
