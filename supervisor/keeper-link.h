/* SPDX-License-Identifier: ISC */
/*
 * The engine's side of the keeper protocol (keeper-link.c): corrald run as
 * `corrald --engine --keeper-fd N` by corral-keeper talks to it through a
 * struct keeper_link on its libuv loop. docs/keeper.md describes the
 * protocol; common/kproto.h its frames.
 */
#ifndef CORRAL_KEEPER_LINK_H
#define CORRAL_KEEPER_LINK_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "spawn.h"

/* HELLO: who the keeper is and why this engine runs. */
struct keeper_hello {
	int kind;               /* KP_KIND_* of kproto.h */
	const char *kind_name;  /* "first", "restart", "upgrade", ... */
	const char *reason;     /* why the previous engine went, or NULL */
	const char *keeper_version;
	pid_t keeper_pid;
	int64_t heartbeat_ms;   /* the link sends HEARTBEAT 4 times as often */
	int64_t generation;     /* engines the keeper started so far */
	int64_t version;        /* KPROTO_VERSION of the keeper */
	int adopt_fd;           /* the adopt socket's sending end (the
				   callback's), or -1 from an older keeper */
};

/*
 * A process of the keeper's: out and err are the read ends of its stdout
 * and stderr pipes, pidfd its pidfd (-1 if the kernel has none). The
 * callback owns the three descriptors.
 */
struct keeper_proc {
	const char *tag;
	pid_t pid;
	int64_t started_at;     /* ms since the epoch, as the keeper saw it */
	int out;
	int err;
	int pidfd;
};

/*
 * Callbacks, each optional; a descriptor passed to one is the callback's
 * to keep or close (an absent callback's descriptors are closed). The
 * table after HELLO arrives as held, live and exited (with out and err:
 * exits collected while no engine ran) calls, then table_end. exited is
 * called later with out = err = -1 for each reaped child; the engine then
 * drains the pipes it has and RELEASEs the tag. lost: the keeper is gone
 * or broke the protocol; no callback follows and the link must be freed.
 * A callback may free the link.
 */
struct keeper_link_cbs {
	void (*hello)(const struct keeper_hello *, void *);
	void (*held)(const char *, int, void *);
	void (*live)(const struct keeper_proc *, void *);
	void (*exited)(const char *, pid_t, int, int, int, void *);
	void (*table_end)(void *);
	void (*update_failed)(const char *, void *);
	void (*error)(const char *, int, const char *, void *);
	void (*term)(void *);
	void (*lost)(const char *, void *);
};

struct keeper_link;


/* keeper-link.c */
int keeper_link_parse_fd(const char *, int *, char **);
struct keeper_link *keeper_link_create(uv_loop_t *, int,
    const struct keeper_link_cbs *, void *, char **);
void keeper_link_free(struct keeper_link *);
int keeper_link_hold(struct keeper_link *, const char *, int, char **);
int keeper_link_release(struct keeper_link *, const char *, char **);
void keeper_link_flush(struct keeper_link *, int);
int keeper_link_ready(struct keeper_link *, char **);
int keeper_link_bye(struct keeper_link *, int, char **);
int keeper_link_stop_time(struct keeper_link *, int64_t, char **);
int keeper_link_upgrade(struct keeper_link *, const char *, char **);
int keeper_link_sd_status(struct keeper_link *, const char *, char **);
int keeper_link_reexec(struct keeper_link *, const char *, char **);

#endif
