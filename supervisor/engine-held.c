/* SPDX-License-Identifier: ISC */
/*
 * The descriptors the keeper holds for the engines (docs/keeper.md): the
 * engine HOLDs what must outlive it (sockets, an app process's channels)
 * under a tag, takes the table's back by tag after a restart, and
 * RELEASEs a tag once nothing needs it; what no app took back after the
 * adoption is released. A child's channels are tagged "kind/<child tag>"
 * ("ipc", "ctl"; drain channels "drain/<child tag>/<n>").
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

/* The held descriptor of tag, now the caller's, or -1. */
int
engine_take(const char *tag)
{
	struct engine_fd *h;
	int fd;

	TAILQ_FOREACH(h, &E.held, entry) {
		if (strcmp(h->tag, tag) == 0)
			break;
	}
	if (h == NULL)
		return -1;
	TAILQ_REMOVE(&E.held, h, entry);
	fd = h->fd;
	h->fd = -1;
	TAILQ_INSERT_TAIL(&E.taken, h, entry);
	return fd;
}

/*
 * The first held descriptor whose tag starts with prefix, now the
 * caller's, with its tag in *tag (the caller frees); -1 when none is left.
 */
int
engine_take_prefix(const char *prefix, char **tag)
{
	struct engine_fd *h;
	size_t n = strlen(prefix);

	TAILQ_FOREACH(h, &E.held, entry) {
		if (strncmp(h->tag, prefix, n) == 0) {
			*tag = xstrdup(h->tag);
			return engine_take(*tag);
		}
	}
	return -1;
}

/* Whether tag was taken back from the table by this engine. */
static int
engine_taken(const char *tag)
{
	struct engine_fd *h;

	TAILQ_FOREACH(h, &E.taken, entry) {
		if (strcmp(h->tag, tag) == 0)
			return 1;
	}
	return 0;
}

/*
 * The keeper keeps a copy of fd under tag for the next engines; a tag
 * taken back from the table is held already.
 */
void
engine_hold(const char *tag, int fd)
{
	char *cause = NULL;

	if (!E.active || E.link == NULL || engine_taken(tag))
		return;
	if (keeper_link_hold(E.link, tag, fd, &cause) == -1) {
		log_warnx("hold %s: %s", tag, cause);
		free(cause);
	}
}

/* The keeper lets go of tag (a held descriptor, or an exited child). */
void
engine_release(const char *tag)
{
	struct engine_fd *h;
	char *cause = NULL;

	if (!E.active || E.lost)
		return;
	TAILQ_FOREACH(h, &E.taken, entry) {
		if (strcmp(h->tag, tag) == 0) {
			TAILQ_REMOVE(&E.taken, h, entry);
			free(h->tag);
			free(h);
			break;
		}
	}
	if (E.link == NULL)            /* the engine ends: nothing to say */
		return;
	if (keeper_link_release(E.link, tag, &cause) == -1) {
		log_debug("release %s: %s", tag, cause);
		free(cause);
	}
}

static void
engine_released(void *tag, int error)
{
	(void)error;
	engine_release(tag);
	free(tag);
}

/*
 * The keeper lets go of an exited child once state.json shows its exit:
 * a next engine that found neither the keeper's row of the exit nor the
 * exit in the file would take the instance's process for gone and start
 * it again, whatever its restart policy (engine-adopt.c).
 */
void
engine_release_exited(const char *tag)
{
	state_after_turn(engine_released, xstrdup(tag));
}

/*
 * After the apps were rebuilt: what the table held that no app took back
 * (an app deleted just before the last engine died) goes.
 */
void
engine_release_unclaimed(void)
{
	struct engine_fd *h;

	while ((h = TAILQ_FIRST(&E.held)) != NULL) {
		TAILQ_REMOVE(&E.held, h, entry);
		log_info("keeper: %s is no app's now, released", h->tag);
		engine_release(h->tag);
		if (h->fd >= 0)
			close(h->fd);
		free(h->tag);
		free(h);
	}
}

#define ENGINE_READY_TAG "ready"        /* ready/<child tag> */

/* "kind/tag": a descriptor of one child's, as the keeper holds it. */
static char *
engine_child_tag(const char *kind, const char *tag)
{
	char *s;

	xasprintf(&s, "%s/%s", kind, tag);
	return s;
}

/* Holds fd, a channel of child's (kind: "ipc", "ctl"), for later engines. */
void
engine_hold_child(const char *kind, const struct child *child, int fd)
{
	char *tag;

	if (!E.active || child->tag == NULL)
		return;
	tag = engine_child_tag(kind, child->tag);
	engine_hold(tag, fd);
	free(tag);
}

/* The channel of kind of the child spawned under tag, or -1. */
int
engine_take_child(const char *kind, const char *tag)
{
	char *t = engine_child_tag(kind, tag);
	int fd = engine_take(t);

	free(t);
	return fd;
}

/* The keeper lets go of child's channel of kind. */
void
engine_release_child(const char *kind, const struct child *child)
{
	char *tag;

	if (!E.active || child->tag == NULL)
		return;
	tag = engine_child_tag(kind, child->tag);
	engine_release(tag);
	free(tag);
}

/*
 * child said it is ready (READY=1, its listen(), a "ready" message: what
 * a process says once): the keeper holds a mark of it, a copy of its
 * pidfd under ready/<tag>, until it exits, so that the next engine knows
 * it even if this one dies before state.json says so.
 */
void
engine_mark_ready(struct child *child)
{
	if (child->ready_mark || child->pidfd == -1)
		return;
	engine_hold_child(ENGINE_READY_TAG, child, child->pidfd);
	child->ready_mark = 1;
}

/* Whether the keeper holds child's ready mark (taken back, still held). */
int
engine_take_ready(struct child *child)
{
	int fd = engine_take_child(ENGINE_READY_TAG, child->tag);

	if (fd == -1)
		return 0;
	close(fd);
	child->ready_mark = 1;
	return 1;
}

/* child exited: its ready mark goes. */
void
engine_unmark_ready(struct child *child)
{
	if (child->ready_mark)
		engine_release_child(ENGINE_READY_TAG, child);
	child->ready_mark = 0;
}
