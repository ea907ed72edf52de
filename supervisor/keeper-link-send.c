/* SPDX-License-Identifier: ISC */
/*
 * The engine's requests to the keeper (docs/keeper.md): HOLD, RELEASE,
 * READY, BYE, SD_STATUS, UPGRADE, REEXEC, each one frame sent at
 * once or queued by keeper_link_send(); RELEASE gathered with the loop
 * turn's others.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "kproto.h"
#include "keeper-link.h"
#include "keeper-link-private.h"

/* HOLD tag: the keeper keeps a copy of fd across engines. */
int
keeper_link_hold(struct keeper_link *l, const char *tag, int fd, char **cause)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_HOLD);
	m.tag = tag;
	m.fds[0] = fd;
	m.nfds = 1;
	return keeper_link_send(l, &m, 0, cause);
}

/*
 * RELEASE tag: a held descriptor, or an exited child and its pipes. Sent
 * with the loop turn's others (a stop of 500 apps releases 500 children
 * in a few turns): it only lets the keeper forget.
 */
int
keeper_link_release(struct keeper_link *l, const char *tag, char **cause)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_RELEASE);
	m.tag = tag;
	return keeper_link_send(l, &m, 1, cause);
}

/* READY: the engine serves (the starting client may return). */
int
keeper_link_ready(struct keeper_link *l, char **cause)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_READY);
	m.text = CORRAL_VERSION;
	return keeper_link_send(l, &m, 0, cause);
}

/* BYE: every app stopped; the keeper exits with status after the engine. */
int
keeper_link_bye(struct keeper_link *l, int status, char **cause)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_BYE);
	m.status = status & 0xff;
	return keeper_link_send(l, &m, 0, cause);
}

/* STOP_TIME: the apps' longest graceful stop, ms. */
int
keeper_link_stop_time(struct keeper_link *l, int64_t ms, char **cause)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_STOP_TIME);
	m.timeout_ms = ms;
	return keeper_link_send(l, &m, 0, cause);
}

static int
keeper_link_path(struct keeper_link *l, uint32_t type, const char *path,
    char **cause)
{
	struct kproto_msg m;

	kproto_msg_init(&m, type);
	m.text = path;
	return keeper_link_send(l, &m, 0, cause);
}

/* SD_STATUS: a STATUS= line the keeper relays to systemd. */
int
keeper_link_sd_status(struct keeper_link *l, const char *text, char **cause)
{
	return keeper_link_path(l, KP_SD_STATUS, text, cause);
}

/* UPGRADE: the engine then exits; path --engine replaces it. */
int
keeper_link_upgrade(struct keeper_link *l, const char *path, char **cause)
{
	return keeper_link_path(l, KP_UPGRADE, path, cause);
}

/* REEXEC: the keeper re-executes path; HELLO "reexec" or update_failed. */
int
keeper_link_reexec(struct keeper_link *l, const char *path, char **cause)
{
	return keeper_link_path(l, KP_REEXEC, path, cause);
}
