/* SPDX-License-Identifier: ISC */
/*
 * An app process's descriptor table, made small.  A clone copies the
 * engine's whole table (about four descriptors per running instance:
 * 2,000 at 500) and the exec then closes every one of them again: O(N)
 * per spawn in the engine and in the child, O(N^2) per `start all`
 * (docs/profile-spawn.md).  Instead the child shares the engine's table
 * (CLONE_FILES) and, first thing, takes a copy of the descriptors below
 * SPAWN_LOW only (close_range(SPAWN_LOW, ~0U, CLOSE_RANGE_UNSHARE)).
 * What it needs must then sit below SPAWN_LOW: the free numbers there
 * are filled once with close-on-exec /dev/null placeholders, so every
 * descriptor the engine opens later lands above them, and around each
 * clone the spawn's own descriptors (pipes, /dev/null, the adopt socket,
 * listeners and channels) are copied over placeholders, which are put
 * back after it (dup3 replaces a number in one step).  Only on the loop
 * thread (the engine's spawns are serial), only with the vfork clone,
 * only under a descriptor limit of at least SPAWN_LOW_MIN_LIMIT (the
 * placeholders count as open: below it they would take the daemon's
 * room), and only where the kernel has CLOSE_RANGE_UNSHARE (5.9); a
 * spawn with more descriptors than placeholders, or any failure here,
 * takes the copy as before.
 */
#include <sys/resource.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spawn-child.h"

#define SPAWN_LOW_MIN_LIMIT 4096

enum { SLOT_NONE, SLOT_FREE, SLOT_USED };

static unsigned char spawn_low_slot[SPAWN_LOW];
static int spawn_low_on = -1;           /* -1: not decided yet */

/* Whether the kernel has close_range's CLOSE_RANGE_UNSHARE (Linux 5.9). */
static int
spawn_low_kernel(void)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) == -1 ||
	    sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 5 || (major == 5 && minor >= 9);
}

/* Fills the free numbers from 3 below SPAWN_LOW with placeholders. */
static int
spawn_low_fill(void)
{
	struct rlimit rl;
	int fd, null = spawn_devnull();

	if (null < 0 || !spawn_low_kernel() ||
	    getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur < SPAWN_LOW_MIN_LIMIT)
		return 0;
	for (fd = 3; fd < SPAWN_LOW; fd++) {
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
		    dup3(null, fd, O_CLOEXEC) == fd)
			spawn_low_slot[fd] = SLOT_FREE;
	}
	return 1;
}

/* Stops using placeholders (a child could not unshare): they stay. */
void
spawn_low_off(void)
{
	spawn_low_on = 0;
}

/*
 * fd itself when it is below SPAWN_LOW (or -1: nothing to move), else a
 * copy of it over a placeholder, recorded in l; -1 when none is left.
 */
static int
spawn_low_move(struct spawn_low *l, int fd, int *ok)
{
	int s;

	if (!*ok || fd < SPAWN_LOW)
		return fd;
	for (s = 3; s < SPAWN_LOW; s++) {
		if (spawn_low_slot[s] != SLOT_FREE)
			continue;
		if (dup3(fd, s, O_CLOEXEC) != s)
			break;
		spawn_low_slot[s] = SLOT_USED;
		l->used[l->n++] = s;
		return s;
	}
	*ok = 0;
	return fd;
}

/*
 * Puts the placeholders back over what spawn_low_prepare() copied (the
 * originals stay open where they were).
 */
void
spawn_low_restore(struct spawn_low *l)
{
	int null = spawn_devnull();

	while (l->n > 0) {
		l->n--;
		if (dup3(null, l->used[l->n], O_CLOEXEC) == l->used[l->n]) {
			spawn_low_slot[l->used[l->n]] = SLOT_FREE;
			continue;
		}
		/* no copy of a pipe's end may stay: its EOF would never come */
		(void)close(l->used[l->n]);
		spawn_low_slot[l->used[l->n]] = SLOT_NONE;
	}
}

/*
 * Makes lc and lx, copies of c and its plan, name only descriptors below
 * SPAWN_LOW, and sets lc->unshare.  Returns 0, or -1 (nothing moved: the
 * child copies the whole table).
 */
int
spawn_low_prepare(struct spawn_low *l, const struct spawn_child_ctx *c,
    struct spawn_child_ctx *lc, struct spawn_exec *lx)
{
	int ok = 1;
	size_t i;

	l->n = 0;
	if (spawn_low_on == -1)
		spawn_low_on = spawn_low_fill();
	if (!spawn_low_on || c->x->nfds > sizeof l->fds / sizeof l->fds[0])
		return -1;
	*lc = *c;
	*lx = *c->x;
	lc->x = lx;
	lc->out[0] = spawn_low_move(l, c->out[0], &ok);
	lc->out[1] = spawn_low_move(l, c->out[1], &ok);
	lc->err[0] = spawn_low_move(l, c->err[0], &ok);
	lc->err[1] = spawn_low_move(l, c->err[1], &ok);
	lc->null_fd = spawn_low_move(l, c->null_fd, &ok);
	lc->report = spawn_low_move(l, c->report, &ok);
	lx->adopt_fd = spawn_low_move(l, c->x->adopt_fd, &ok);
	for (i = 0; i < c->x->nfds; i++)
		l->fds[i] = spawn_low_move(l, c->x->fds[i], &ok);
	lx->fds = l->fds;
	if (!ok) {
		spawn_low_restore(l);
		return -1;
	}
	lc->unshare = SPAWN_LOW;
	return 0;
}
