/* SPDX-License-Identifier: ISC */
/*
 * The keeper's end of the engine's socket: the table sent to every new
 * engine (HELLO, HELD, LIVE, EXITED, TABLE_END, then UPDATE_FAILED after
 * a rollback), the requests read from it, and EXITED as children die. A
 * frame the keeper cannot read means a broken engine: it is killed and
 * replaced; a request it cannot grant gets ERROR or SPAWN_FAILED.
 */
#include <sys/syscall.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

void
link_error(const char *tag, int err, const char *text)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_ERROR);
	m.tag = tag;
	m.err = err;
	m.text = text;
	engine_send(&m);
}

void
link_hello(void)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_HELLO);
	m.version = KPROTO_VERSION;
	m.kind = K.next_kind;
	m.heartbeat_ms = K.heartbeat_ms;
	m.pid = getpid();
	m.generation = K.generation;
	m.text = K.next_reason;
	m.stage = KEEPER_VERSION;
	m.fds[0] = K.adopt_tx;  /* where the engine's apps say they run */
	m.nfds = 1;
	engine_send(&m);
}

/* LIVE or EXITED (with the pipes) for one child. */
static void
link_child(struct kchild *c)
{
	struct kproto_msg m;
	int pidfd = -1;

	kproto_msg_init(&m, c->exited ? KP_EXITED : KP_LIVE);
	m.tag = c->tag;
	m.pid = c->pid;
	m.started_at = c->started_at;
	if (c->exited)
		m.status = c->status;
	if (c->out >= 0 && c->err >= 0) {
		m.fds[0] = c->out;
		m.fds[1] = c->err;
		m.nfds = 2;
	}
	if (!c->exited && m.nfds == 2 &&
	    (pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0)) >= 0)
		m.fds[m.nfds++] = pidfd;
	engine_send(&m);
	if (pidfd >= 0)
		close(pidfd);
}

/* TABLE_END, then UPDATE_FAILED if due. */
static void
link_table_end(void)
{
	struct kproto_msg m;

	K.tab_sending = 0;
	engine_send(&(struct kproto_msg){ .type = KP_TABLE_END });
	if (K.update_failed != NULL) {
		kproto_msg_init(&m, KP_UPDATE_FAILED);
		m.text = K.update_failed;
		engine_send(&m);
		free(K.update_failed);
		K.update_failed = NULL;
	}
	free(K.next_reason);
	K.next_reason = NULL;
}

/*
 * Everything a new engine needs, in order: HELLO, then the table from a
 * cursor (link_table_more()).
 */
void
link_send_table(void)
{
	link_hello();
	K.tab_sending = 1;
	K.tab_gen++;
	K.tab_held = TAILQ_FIRST(&K.held);
	K.tab_child = TAILQ_FIRST(&K.children);
	link_table_more();
}

/*
 * Sends the table on from its cursor while the socket takes each frame
 * whole, and goes on when it drains (link_output()). Queued, a frame
 * keeps copies of its descriptors (three for a live app): a table of
 * 4,200 apps queued at once passed the descriptor limit, and no engine
 * could start. An entry freed meanwhile moves the cursor (table.c); one
 * added is sent at the end; an exit of an app not sent yet goes in the
 * table (link_exited()).
 */
void
link_table_more(void)
{
	struct kproto_msg m;
	struct kheld *h;
	struct kchild *c;

	while (K.tab_sending && K.conn.fd >= 0 &&
	    !kproto_conn_pending(&K.conn)) {
		if ((h = K.tab_held) != NULL) {
			K.tab_held = TAILQ_NEXT(h, entry);
			kproto_msg_init(&m, KP_HELD);
			m.tag = h->tag;
			m.fds[0] = h->fd;
			m.nfds = 1;
			engine_send(&m);
		} else if ((c = K.tab_child) != NULL) {
			K.tab_child = TAILQ_NEXT(c, entry);
			c->tab_gen = K.tab_gen;
			link_child(c);
		} else
			link_table_end();
	}
}

/*
 * A child was reaped: the linked engine hears it with the other exits of
 * the same SIGCHLD (one write), a later engine in its table.
 */
void
link_exited(struct kchild *c)
{
	struct kproto_msg m;

	if (K.tab_sending && c->tab_gen != K.tab_gen)
		return;         /* the table has it, as EXITED */
	kproto_msg_init(&m, KP_EXITED);
	m.tag = c->tag;
	m.pid = c->pid;
	m.status = c->status;
	engine_send_later(&m);
}

/* READY: a trial engine becomes the engine; the starting client is told. */
static void
link_ready(void)
{
	if (K.trial_fd >= 0) {
		klog_info("upgrade done: the engine runs %s", K.trial_path);
		close(K.exe_fd);
		K.exe_fd = K.trial_fd;
		K.trial_fd = -1;
		free(K.engine_path);
		K.engine_path = K.trial_path;
		K.trial_path = NULL;
		K.deadline = 0;
	}
	if (!K.engine_ready)
		notify_ready();
	K.engine_ready = K.ever_ready = 1;
	if (K.engine_ready_at == 0)
		K.engine_ready_at = keeper_mono_ms();
	if (K.ready_fd >= 0) {
		(void)!write(K.ready_fd, "", 1);
		close(K.ready_fd);
		K.ready_fd = -1;
	}
}

static void
link_hold(struct kproto_msg *m)
{
	char text[64];

	if (table_hold(m->tag, m->fds[0]) == -1) {
		snprintf(text, sizeof text, "cannot hold: %s", strerror(errno));
		link_error(m->tag, errno, text);
		return;
	}
	m->fds[0] = -1;
}

static void
link_release(struct kproto_msg *m)
{
	char text[64];

	if (table_release(m->tag) == -1) {
		snprintf(text, sizeof text, "cannot release: %s",
		    strerror(errno));
		link_error(m->tag, errno, text);
	}
}

static void
link_dispatch(struct kproto_msg *m)
{
	klog_debug("engine: %s%s%s", kproto_type_name(m->type),
	    m->tag != NULL ? " " : "", m->tag != NULL ? m->tag : "");
	switch (m->type) {
	case KP_HOLD: link_hold(m); break;
	case KP_RELEASE: link_release(m); break;
	case KP_HEARTBEAT: break;
	case KP_UPGRADE: engine_upgrade(m->text); break;
	case KP_REEXEC: reexec_run(m->text); break;
	case KP_READY: link_ready(); break;
	case KP_SD_STATUS: notify_status("%s", m->text); break;
	case KP_STOP_TIME: stop_time(m->timeout_ms); break;
	case KP_BYE:
		K.bye = 1;
		K.bye_status = (int)m->status;
		klog_info("engine said BYE %d", K.bye_status);
		break;
	default:
		klog_warnx("engine sent %s (%u): ignored",
		    kproto_type_name(m->type), m->type);
	}
}

/*
 * The link is broken: closed, and the engine killed, unless it said BYE
 * or UPGRADE and closed its end as it leaves (err EPIPE or ECONNRESET, 0
 * for an end of file: our last frames unread): its exit is awaited.
 */
void
link_broken(const char *why, int err)
{
	kproto_conn_close(&K.conn);
	K.tab_sending = 0;
	if ((err == 0 || err == EPIPE || err == ECONNRESET) &&
	    (K.bye || K.upgrade_path != NULL)) {
		klog_debug("engine %s as it leaves", why);
		return;
	}
	engine_kill(why);
}

/* The socket is readable (or hung up): every whole frame is handled. */
void
link_input(void)
{
	struct kproto_msg m;
	char why[128];
	int r, err;

	while (K.conn.fd >= 0) {
		r = kproto_conn_recv(&K.conn, &m);
		if (r == KPROTO_AGAIN)
			return;
		if (r == KPROTO_MSG) {
			K.last_heard = keeper_mono_ms();
			link_dispatch(&m);
			kproto_msg_free(&m);
			continue;
		}
		err = r == KPROTO_EOF ? 0 : errno;
		if (err == 0 || err == ECONNRESET)
			snprintf(why, sizeof why, "closed its socket");
		else
			snprintf(why, sizeof why, "sent a bad frame: %s",
			    strerror(err));
		link_broken(why, err);
	}
}

void
link_output(void)
{
	char why[128];
	int err;

	if (K.conn.fd >= 0 && kproto_conn_flush(&K.conn) == -1) {
		err = errno;
		snprintf(why, sizeof why, "socket error: %s", strerror(err));
		link_broken(why, err);
		return;
	}
	link_table_more();
}
