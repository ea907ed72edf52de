/* SPDX-License-Identifier: ISC */
/*
 * corrald as the keeper's engine (docs/keeper.md). corrald started
 * without --engine execs corral-keeper (same pid: under systemd the main
 * PID stays the keeper), which starts `corrald --engine --keeper-fd N`.
 * The engine reads the keeper's table before it serves (descriptors held
 * by tag, live children, exits collected while no engine ran), then
 * spawns the apps itself with the keeper as their parent (the keeper
 * adopts each: spawn-clone.c), hears every exit from it, hands it every
 * descriptor that must outlive the engine (HOLD) and takes them back
 * after a restart (engine-held.c), says READY when it serves, STOP_TIME
 * as the apps change and BYE after a graceful stop. engine-adopt.c
 * matches the table to the apps.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"
#include "spawn-exec.h"

struct engine E;

static void engine_lost(const char *, void *);

/*
 * Whether this engine serves again a packet the last one had read and
 * not served (control channels, notify datagrams: read with MSG_PEEK,
 * taken off once served): yes, unless the last engine crashed, hung or
 * exited by itself, which serving a packet may have caused; serving it
 * again would end this one too, so each packet is taken off first and
 * served once.
 */
static int
engine_replays(const struct keeper_hello *h)
{
	static const char k9[] = "killed by signal 9";
	size_t n;

	if (h->kind != KP_KIND_RESTART && h->kind != KP_KIND_ROLLBACK)
		return 1;
	if (h->reason == NULL || strncmp(h->reason, "no heartbeat", 12) == 0)
		return 0;
	n = strlen(h->reason);
	return n >= sizeof k9 - 1 &&
	    strcmp(h->reason + n - (sizeof k9 - 1), k9) == 0;
}

/* The keeper's HELLO: why this engine runs. */
static void
engine_hello(const struct keeper_hello *h, void *arg)
{
	(void)arg;
	if (h->version != KPROTO_VERSION || h->adopt_fd < 0) {
		if (h->adopt_fd >= 0)
			close(h->adopt_fd);
		/* before the table: the keeper starts the previous engine */
		if (!E.table_done)
			fatalx("the keeper speaks protocol %lld, this engine "
			    "%d", (long long)h->version, KPROTO_VERSION);
		/* a re-executed keeper that broke the protocol: as lost */
		engine_lost("the keeper's HELLO is of another protocol", NULL);
		return;
	}
	if (E.adopt_fd >= 0)
		close(E.adopt_fd);
	E.adopt_fd = h->adopt_fd;
	if (!E.heard_hello)
		E.replay = engine_replays(h);
	E.kind = h->kind;
	fault_arm(h->kind == KP_KIND_FIRST);
	E.generation = h->generation;
	E.heard_hello = 1;
	free(E.reason);
	E.reason = h->reason != NULL ? xstrdup(h->reason) : NULL;
	if (h->kind == KP_KIND_REEXEC)
		(void)update_keeper_done(1, NULL);
	log_info("keeper %s (pid %d): engine %lld, %s%s%s",
	    h->keeper_version != NULL ? h->keeper_version : "?",
	    (int)h->keeper_pid, (long long)h->generation, h->kind_name,
	    h->reason != NULL ? ": " : "", h->reason != NULL ? h->reason : "");
	if (!E.table_done)
		fault_point("engine hello");
}

static void
engine_held(const char *tag, int fd, void *arg)
{
	struct engine_fd *h;

	(void)arg;
	if (tag == NULL || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	h = xcalloc(1, sizeof *h);
	h->tag = xstrdup(tag);
	h->fd = fd;
	TAILQ_INSERT_TAIL(&E.held, h, entry);
}

/*
 * An exit without a tag: an orphan of an app, or a process of ours killed
 * before it could tell the keeper it runs (then the keeper never had it).
 */
static void
engine_exited_pid(pid_t pid, int status)
{
	struct child *child;

	TAILQ_FOREACH(child, &D.children, entry) {
		if (child->pid == pid && child->tag != NULL && !child->exited) {
			/* its RELEASE will be refused (ENOENT): harmless */
			log_warnx("keeper: pid %d (%s) exited before its "
			    "adoption", (int)pid, child->tag);
			child_exited(child, status);
			return;
		}
	}
}

static void
engine_exited(const char *tag, pid_t pid, int status, int out, int err,
    void *arg)
{
	struct child *child;

	(void)arg;
	if (tag == NULL) {
		engine_exited_pid(pid, status);
		return;
	}
	/*
	 * Until the apps are rebuilt (E.active), an exit goes to the table's
	 * rows: one read right after TABLE_END, in the same read as the
	 * table, is no less the exit of a row.
	 */
	if (!E.table_done || !E.active) {
		engine_adopt_exited(tag, pid, status, out, err);
		return;
	}
	if ((child = child_by_tag(tag)) == NULL) {
		log_debug("keeper: exit of %s (pid %d), not ours", tag,
		    (int)pid);
		engine_release(tag);
		return;
	}
	child_exited(child, status);
}

/* A process of the table still runs. */
static void
engine_live(const struct keeper_proc *p, void *arg)
{
	(void)arg;
	engine_adopt_live(p);
}

static void
engine_table_end(void *arg)
{
	(void)arg;
	E.table_done = 1;
}

static void
engine_error(const char *tag, int err, const char *text, void *arg)
{
	(void)arg;
	log_warnx("keeper: %s%s%s (%s)", tag != NULL ? tag : "",
	    tag != NULL ? ": " : "", text != NULL ? text : "error",
	    strerror(err));
}

static void
engine_update_failed_cb(const char *why, void *arg)
{
	(void)arg;
	/*
	 * The keeper's re-exec, asked by update; not a rollback's news, which
	 * follows the table at once (read with its end, table_done is set).
	 */
	if (E.table_done && update_keeper_done(0, why))
		return;
	log_warnx("update failed: %s", why != NULL ? why : "?");
	free(E.update_failed);
	E.update_failed = xstrdup(why != NULL ? why : "the new engine failed");
}

/* SIGTERM or SIGINT reached the keeper: every app stops, then BYE. */
static void
engine_term(void *arg)
{
	(void)arg;
	log_info("the keeper asks for a stop");
	daemon_shutdown(NULL);
}

/*
 * The keeper is gone (killed, or it broke the protocol): the apps are
 * init's now. The engine leaves them running and its state on disk for
 * the next start, which stops them before it starts them again.
 */
static void
engine_lost(const char *why, void *arg)
{
	(void)arg;
	E.lost = 1;
	if (!E.table_done)
		return;
	log_warnx("the keeper is gone (%s): exiting, the apps keep running "
	    "until the next start", why);
	daemon_abandon();
}

static const struct keeper_link_cbs engine_cbs = {
	.hello = engine_hello,
	.held = engine_held,
	.live = engine_live,
	.exited = engine_exited,
	.table_end = engine_table_end,
	.update_failed = engine_update_failed_cb,
	.error = engine_error,
	.term = engine_term,
	.lost = engine_lost,
};

/* A STATUS= line, for the keeper to relay to systemd. */
static void
engine_sd_status(const char *text)
{
	char *cause = NULL;

	if (E.lost || keeper_link_sd_status(E.link, text, &cause) == 0)
		return;
	log_debug("%s", cause);
	free(cause);
}

static const struct listener_keeper engine_listeners = {
	.take = engine_take,
	.hold = engine_hold,
	.release = engine_release,
};

static uv_idle_t engine_stop_idle;     /* active: STOP_TIME is due */

/*
 * --keeper-fd: the link, and the keeper's table read before anything
 * else runs. Start-up: fatal when there is no keeper to talk to.
 */
void
engine_start(const char *fdarg, const char *path)
{
	char *cause = NULL;
	int fd, r;

	TAILQ_INIT(&E.held);
	TAILQ_INIT(&E.taken);
	E.adopt_fd = -1;
	E.stop_time = -1;
	E.path = xstrdup(path);
	if ((r = uv_idle_init(D.loop, &engine_stop_idle)) != 0)
		fatalx("stop time: %s", uv_strerror(r));
	engine_adopt_init();
	if (keeper_link_parse_fd(fdarg, &fd, &cause) == -1)
		fatalx("%s", cause);
	E.link = keeper_link_create(D.loop, fd, &engine_cbs, NULL, &cause);
	if (E.link == NULL)
		fatalx("%s", cause);
	while (!E.table_done && !E.lost)
		(void)uv_run(D.loop, UV_RUN_ONCE);
	if (!E.table_done)
		fatalx("the keeper's table did not come");
	E.active = 1;
	listener_keeper = &engine_listeners;
	sdnotify_set_relay(engine_sd_status);
}

/* READY: the engine serves; the client that started the daemon returns. */
void
engine_ready(void)
{
	char *cause = NULL;

	if (E.active && keeper_link_ready(E.link, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	engine_stop_time();
	fault_point("engine ready");
}

/*
 * STOP_TIME: the longest graceful stop of the apps (drain_timeout +
 * kill_timeout), said to the keeper when it changed, so that the keeper's
 * own bounds (TERM to BYE; SIGTERM to SIGKILL when it stops the apps
 * itself) never cut an app's kill_timeout short. Worked out at the next
 * loop turn after a change of the apps or of their settings: once per
 * turn, not once per app (10,000 apps declared from a file or state.json
 * walked all the apps 10,000 times).
 */
static void
engine_stop_time_due(uv_idle_t *h)
{
	struct app *app;
	char *cause = NULL;
	int64_t ms = 0, t;

	(void)uv_idle_stop(h);
	if (!E.active || E.lost || E.link == NULL)
		return;
	TAILQ_FOREACH(app, &D.apps, entry) {
		t = (int64_t)(app->cfg.drain_timeout + app->cfg.kill_timeout);
		if (t > ms)
			ms = t;
	}
	if (ms == E.stop_time)
		return;
	if (keeper_link_stop_time(E.link, ms, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	E.stop_time = ms;
}

void
engine_stop_time(void)
{
	uv_handle_t *h = (uv_handle_t *)&engine_stop_idle;
	int r;

	/* closing: the daemon's end */
	if (!E.active || E.lost || E.link == NULL || uv_is_active(h) ||
	    uv_is_closing(h))
		return;
	if ((r = uv_idle_start(&engine_stop_idle, engine_stop_time_due)) != 0)
		log_warnx("stop time: %s", uv_strerror(r));
}

/* BYE: every app stopped; the keeper exits after this engine. */
void
engine_bye(int status)
{
	char *cause = NULL;

	if (E.active && !E.lost && keeper_link_bye(E.link, status, &cause)
	    == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
}

/*
 * `corral update`: the keeper replaces this engine with the corrald now
 * at its path once it has exited (engine_leave()). Returns 0, or -1 with
 * *cause.
 */
int
engine_upgrade(char **cause)
{
	if (!E.active || E.lost) {
		*cause = xstrdup("no keeper: the daemon runs without one");
		return -1;
	}
	if (keeper_link_upgrade(E.link, E.path, cause) == -1)
		return -1;
	keeper_link_flush(E.link, 1000);
	return 0;
}

/* The keeper re-executes path (`corral update`); HELLO or UPDATE_FAILED. */
int
engine_reexec(const char *path, char **cause)
{
	if (keeper_link_reexec(E.link, path, cause) == -1)
		return -1;
	keeper_link_flush(E.link, 1000);
	return 0;
}

/* The engine ends: what it said reaches the keeper, and the link goes. */
void
engine_stop(void)
{
	if (E.link == NULL)
		return;
	keeper_link_flush(E.link, 1000);
	keeper_link_free(E.link);
	E.link = NULL;
}

/*
 * Runs p: the engine clones the process itself, the keeper its parent
 * (spawn-clone.c), and waits for its exec. Returns 0 with *proc (the
 * caller owns its descriptors), -1 with *cause when no process runs (the
 * keeper reports the exit of one that failed after its adoption, under
 * p->tag: engine_exited() releases it), -2 with *cause without a keeper.
 */
int
engine_spawn(const struct spawn_plan *p, struct keeper_proc *proc,
    char **cause)
{
	struct spawn_exec x;
	struct spawn_exec_mem mm;
	struct spawn_result r;
	const char *stage;
	int e;

	if (!E.active || E.lost || E.adopt_fd < 0) {
		*cause = xstrdup("the keeper is gone");
		return -2;
	}
	if (p->argv == NULL || p->argv[0] == NULL) {
		xasprintf(cause, "spawn %s: no program", p->tag);
		return -1;
	}
	spawn_exec_make(p, E.adopt_fd, &x, &mm);
	e = spawn_clone(&x, &r, &stage) == -1 ? errno : 0;
	spawn_exec_free(&mm);
	if (e != 0) {
		xasprintf(cause, "%s: %s", stage,
		    uv_strerror(uv_translate_sys_error(e)));
		return -1;
	}
	memset(proc, 0, sizeof *proc);
	proc->pid = r.pid;
	proc->pidfd = r.pidfd;
	proc->out = r.out;
	proc->err = r.err;
	proc->started_at = x.started_at;        /* the keeper's record */
	return 0;
}

/* Closes the descriptors of a keeper's row that are open. */
void
engine_close_fds(int out, int err, int pidfd)
{
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	if (pidfd >= 0)
		close(pidfd);
}
