/* SPDX-License-Identifier: ISC */
/*
 * Reaping and stopping. Every child of the keeper is reaped here
 * (waitpid(-1): the keeper is a subreaper, and PID 1 in a container):
 * the engine, the apps (whose status is kept until released) and orphans
 * of the apps (a pid that is not a live app of the table nor the engine
 * is an orphan: reaped and forgotten). SIGTERM/SIGINT become TERM to the
 * engine, which has --term-timeout to say BYE and exit; without an
 * engine, or past that bound, the keeper stops the apps itself (each
 * app's kill signal to its process group, SIGKILL after --stop-timeout),
 * so that a stop never hangs. The engine's STOP_TIME (its apps' longest
 * drain_timeout + kill_timeout) lengthens both bounds: no app is killed
 * sooner than its own kill_timeout allows because the keeper's default is
 * shorter.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

static void
reap_child(struct kchild *c, int status)
{
	char st[64];

	klog_status(st, sizeof st, status);
	klog_debug("%s (pid %d) %s", c->tag, (int)c->pid, st);
	c->exited = 1;
	c->status = status;
	link_exited(c);
}

/*
 * The live app of pid. An app sends its adopt datagram before it can
 * exit, so once its exit is seen the datagram waits in the socket: read
 * it before taking the pid for an orphan.
 */
static struct kchild *
reap_find(pid_t pid)
{
	struct kchild *c;

	if ((c = table_child_by_pid(pid)) != NULL)
		return c;
	adopt_drain(pid);
	return table_child_by_pid(pid);
}

/*
 * An orphan of an app, or an app killed before it could be adopted: the
 * engine, which knows its pids, is told (EXITED without a tag), unless it
 * is leaving (after BYE or UPGRADE its socket may be closed already).
 */
static void
reap_unknown(pid_t pid, int status)
{
	struct kproto_msg m;

	klog_debug("reaped pid %d (not adopted)", (int)pid);
	if (K.conn.fd < 0 || K.bye || K.upgrade_path != NULL ||
	    sweep_active())
		return;
	kproto_msg_init(&m, KP_EXITED);
	m.pid = pid;
	m.status = status;
	/*
	 * Not engine_send(): an engine that closed its socket just after its
	 * BYE must not count as crashed for a message it never needed;
	 * link_input() reads the BYE and the close.
	 */
	if (kproto_conn_send(&K.conn, &m) == -1)
		klog_debug("exit of pid %d not sent: %s", (int)pid,
		    strerror(errno));
}

/* SIGCHLD: reaps every child that is done. */
void
reap_children(void)
{
	struct kchild *c;
	pid_t pid;
	int status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		if (pid == K.engine_pid)
			engine_exited(status);
		else if (reexec_reaped(pid))
			continue;
		else if ((c = reap_find(pid)) != NULL)
			reap_child(c, status);
		else
			reap_unknown(pid, status);
	}
	if (sweep_active())
		sweep_check();
	else if (K.alone && table_live_count() == 0) {
		klog_info("every app stopped");
		sweep_start(K.alone_killed ? KEEPER_EXIT_KILLED :
		    KEEPER_EXIT_FAILED);
	}
}

/* TERM to the engine's BYE and exit: the apps' stop, then --stop-timeout. */
static int64_t
stop_term_ms(void)
{
	return K.apps_stop_ms + K.stop_ms > K.term_ms ? K.apps_stop_ms +
	    K.stop_ms : K.term_ms;
}

/* SIGTERM to SIGKILL when the keeper stops the apps itself. */
static int64_t
stop_kill_ms(void)
{
	return K.apps_stop_ms > K.stop_ms ? K.apps_stop_ms : K.stop_ms;
}

/*
 * The longest the keeper's stop can still take: the engine's TERM to BYE
 * (unless it stops alone already), its own SIGTERM to SIGKILL, the sweep
 * of the orphans (two --stop-timeouts), and a second to exit.
 */
static int64_t
stop_within_ms(int alone)
{
	return (alone ? 0 : stop_term_ms()) + stop_kill_ms() + 2 * K.stop_ms +
	    1000;
}

/*
 * STOP_TIME: the engine's apps stop gracefully within ms (at most a day,
 * as the options; a bound in use is not changed).
 */
void
stop_time(int64_t ms)
{
	if (ms < 0 || ms == K.apps_stop_ms)
		return;
	K.apps_stop_ms = ms < 24LL * 3600 * 1000 ? ms : 24LL * 3600 * 1000;
	klog_info("the apps stop within %lld ms: TERM to BYE within %lld ms, "
	    "SIGKILL %lld ms after the keeper's own SIGTERM",
	    (long long)K.apps_stop_ms, (long long)stop_term_ms(),
	    (long long)stop_kill_ms());
}

/* Each app's own kill signal, or sig when it is SIGKILL. */
static void
stop_signal_all(int sig)
{
	struct kchild *c;
	int s;

	adopt_drain(0);
	TAILQ_FOREACH(c, &K.children, entry) {
		if (c->exited)
			continue;
		s = sig == SIGKILL ? SIGKILL : c->kill_signal;
		if (kill(-c->pid, s) == -1 && kill(c->pid, s) == -1 &&
		    errno != ESRCH)
			klog_warn("kill %d", (int)c->pid);
	}
}

/*
 * Stops the apps without an engine (why: NULL after the engine's BYE),
 * then exits: the BYE status when no app was left, else
 * KEEPER_EXIT_FAILED (every app stopped on SIGTERM) or KEEPER_EXIT_KILLED
 * (some app needed SIGKILL).
 */
void
stop_alone(const char *why)
{
	int live = table_live_count();

	if (why == NULL && live == 0) {
		sweep_start(K.bye_status);
		return;
	}
	if (K.alone)
		return;
	if (why == NULL)
		why = "apps were left running after BYE";
	K.alone = 1;
	K.restart_at = 0;
	K.term_deadline = 0;
	klog_warnx("stopping %d app process%s without an engine: %s", live,
	    live == 1 ? "" : "es", why);
	notify_stopping(stop_within_ms(1), "stopping %d app process%s "
	    "without an engine: %s", live, live == 1 ? "" : "es", why);
	if (live == 0) {
		sweep_start(KEEPER_EXIT_FAILED);
		return;
	}
	stop_signal_all(SIGTERM);
	K.alone_deadline = keeper_mono_ms() + (uint64_t)stop_kill_ms();
}

void
stop_tick(uint64_t now)
{
	char why[96];

	if (K.term_deadline != 0 && now >= K.term_deadline) {
		K.term_deadline = 0;
		snprintf(why, sizeof why, "no BYE and exit within %lld ms of "
		    "TERM", (long long)stop_term_ms());
		engine_kill(why);
	}
	sweep_tick(now);
	if (!K.alone || K.alone_killed || now < K.alone_deadline)
		return;
	klog_warnx("apps still running after %lld ms: SIGKILL",
	    (long long)stop_kill_ms());
	K.alone_killed = 1;
	stop_signal_all(SIGKILL);
}

/* SIGTERM, SIGINT (SIGHUP in the foreground). */
void
stop_request(const char *signame)
{
	if (K.stopping || K.alone) {
		klog_info("%s: already stopping", signame);
		return;
	}
	K.stopping = 1;
	klog_info("%s: stopping", signame);
	if (K.engine_pid > 0) {
		/* TERM now, or from engine_start() to the next engine */
		K.term_deadline = keeper_mono_ms() + (uint64_t)stop_term_ms();
		notify_stopping(stop_within_ms(0), "stopping (%s): the engine "
		    "stops the apps", signame);
	}
	if (K.engine_pid > 0 && K.conn.fd >= 0 && K.upgrade_path == NULL) {
		engine_send(&(struct kproto_msg){ .type = KP_TERM });
		return;
	}
	if (K.engine_pid > 0)
		return;         /* leaving or unlinked: stop once reaped */
	stop_alone("no engine runs");
}

/* When stop_tick() has something to do next (0: nothing). */
uint64_t
stop_next_deadline(void)
{
	uint64_t t = K.term_deadline;

	if (sweep_active())
		return sweep_next_deadline();
	if (K.alone && !K.alone_killed && (t == 0 || K.alone_deadline < t))
		t = K.alone_deadline;
	return t;
}
