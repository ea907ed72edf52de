/* SPDX-License-Identifier: ISC */
/*
 * Processes left in an instance's cgroup when its main process exited,
 * killed then (limits_exited()). A kill is not a death: a process exits
 * its memory before its files, so one with much memory holds its ports
 * for a while after the SIGKILL. The reply of a stop, restart or delete
 * (op.c) waits until that cgroup lists no process, at most the app's
 * kill_timeout (1 s at least), as systemd waits for a unit's cgroup to be
 * empty: a client told "stopped" can bind the app's port at once. Before,
 * `corral stop` answered while a killed leftover of 1.5 GiB still ran.
 * Instances are named by id (an op holds ids; the instance may be freed
 * meanwhile, by a delete); the list is checked from a timer, 2 ms after
 * the kill, then at intervals doubling to 64 ms.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "op.h"

#define LEFTOVERS_FIRST_MS 2
#define LEFTOVERS_MAX_MS 64
#define LEFTOVERS_MIN_WAIT_MS 1000

struct leftover {
	int id;                 /* the instance's */
	char *dir;              /* its cgroup (whose cgroup.procs lists them) */
	uint64_t until;         /* mono ms: waited for no longer */
	TAILQ_ENTRY(leftover) entry;
};

static TAILQ_HEAD(, leftover) leftovers = TAILQ_HEAD_INITIALIZER(leftovers);
static uv_timer_t leftovers_timer;
static int leftovers_inited;
static uint64_t leftovers_every;

/* Whether dir's cgroup.procs names no process (or cannot be read: gone). */
static int
leftovers_gone(const char *dir)
{
	char buf[16];

	return cgroup_file_read(dir, "cgroup.procs", buf, sizeof buf) <= 0;
}

static void leftovers_tick(uv_timer_t *);

static void
leftovers_drop(struct leftover *l)
{
	TAILQ_REMOVE(&leftovers, l, entry);
	free(l->dir);
	free(l);
}

static void
leftovers_arm(void)
{
	int r;

	if ((r = uv_timer_start(&leftovers_timer, leftovers_tick,
	    leftovers_every, 0)) != 0)
		log_warnx("leftovers timer: %s", uv_strerror(r));
}

static void
leftovers_tick(uv_timer_t *t)
{
	struct leftover *l, *next;
	uint64_t now = mono_ms();
	int done = 0;

	(void)t;
	TAILQ_FOREACH_SAFE(l, &leftovers, entry, next) {
		if (now < l->until && !leftovers_gone(l->dir))
			continue;
		if (now >= l->until)
			log_warnx("instance id %d: killed processes are still "
			    "in %s; replies wait for them no longer", l->id,
			    l->dir);
		leftovers_drop(l);
		done = 1;
	}
	if (done)
		op_check_all();
	if (TAILQ_EMPTY(&leftovers))
		return;
	if (leftovers_every < LEFTOVERS_MAX_MS)
		leftovers_every *= 2;
	leftovers_arm();
}

/*
 * The processes of instance id's cgroup dir (taken) were killed;
 * kill_timeout (ms) bounds the wait for them.
 */
void
leftovers_watch(int id, char *dir, uint64_t kill_timeout)
{
	struct leftover *l = xcalloc(1, sizeof *l);

	l->id = id;
	l->dir = dir;
	l->until = mono_ms() + (kill_timeout > LEFTOVERS_MIN_WAIT_MS ?
	    kill_timeout : LEFTOVERS_MIN_WAIT_MS);
	TAILQ_INSERT_TAIL(&leftovers, l, entry);
	if (!leftovers_inited) {
		timer_init(D.loop, &leftovers_timer);
		uv_unref((uv_handle_t *)&leftovers_timer);
		leftovers_inited = 1;
	}
	leftovers_every = LEFTOVERS_FIRST_MS;
	leftovers_arm();
}

/*
 * A spawn took cg, found empty (or made now): the killed processes a
 * watch of its directory waits for are gone, and the process it gets
 * must not be taken for one of them (a wait held to its bound).
 */
void
leftovers_taken(const struct cgroup *cg)
{
	struct leftover *l, *next;
	char *dir;

	if (TAILQ_EMPTY(&leftovers))
		return;
	dir = cgroup_kill_dir(cg);
	TAILQ_FOREACH_SAFE(l, &leftovers, entry, next) {
		if (strcmp(l->dir, dir) == 0)
			leftovers_drop(l);
	}
	free(dir);
	/* the spawn's transition checks the ops (main_after_transition()) */
}

/* Whether killed processes of instance id may still be there. */
int
leftovers_pending(int id)
{
	struct leftover *l;

	TAILQ_FOREACH(l, &leftovers, entry) {
		if (l->id == id)
			return 1;
	}
	return 0;
}
