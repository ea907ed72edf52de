/* SPDX-License-Identifier: ISC */
/*
 * The engine's life as the keeper sees it: started from a descriptor of
 * its binary (so a file replaced on disk does not matter) with one end of
 * a socketpair as --keeper-fd; restarted at once when it dies, after a
 * growing delay when it keeps dying before READY or within
 * KEEPER_STABLE_MS of it;
 * SIGKILLed when its heartbeats stop; swapped for a new binary after
 * UPGRADE, and rolled back to the old one when the new one dies or does
 * not say READY in time.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

extern char **environ;

static void
engine_set(char **slot, const char *text)
{
	free(*slot);
	*slot = text != NULL ? strdup(text) : NULL;
}

/* In the child: argv and exec from fd. Never returns. */
static void KEEPER_NORETURN
engine_exec(int fd, const char *path, int sock)
{
	char num[16], **argv;
	int i, n = 0;

	keeper_default_signals();
	notify_listen_child();
	(void)setpgid(0, 0);
	/* the engine raises its own and knows what the apps get */
	(void)setrlimit(RLIMIT_NOFILE, &K.nofile);
	if ((sock = fcntl(sock, F_DUPFD, 3)) == -1)
		_exit(127);
	snprintf(num, sizeof num, "%d", sock);
	if ((argv = calloc((size_t)K.nengine_args + 5, sizeof *argv)) == NULL)
		_exit(127);
	argv[n++] = (char *)path;
	argv[n++] = (char *)"--engine";
	argv[n++] = (char *)"--keeper-fd";
	argv[n++] = num;
	for (i = 0; i < K.nengine_args; i++)
		argv[n++] = K.engine_args[i];
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	dprintf(2, "corral-keeper: cannot run %s: %s\n", path,
	    strerror(errno));
	_exit(127);
}

/*
 * Starts an engine from the trial binary when there is one, else from
 * exe_fd, then sends it the table. A failure to fork is retried later.
 */
void
engine_start(void)
{
	int sp[2], fd = K.trial_fd >= 0 ? K.trial_fd : K.exe_fd;
	const char *path = K.trial_fd >= 0 ? K.trial_path : K.engine_path;
	pid_t pid;

	K.restart_at = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    (pid = fork()) == -1) {
		klog_warn("cannot start the engine");
		K.restart_at = keeper_mono_ms() + KEEPER_BACKOFF_MAX_MS;
		return;
	}
	if (pid == 0)
		engine_exec(fd, path, sp[1]);
	notify_listen_done();
	close(sp[1]);
	kproto_conn_init(&K.conn, sp[0]);
	K.engine_pid = pid;
	K.engine_ready = 0;
	K.engine_started = K.last_heard = keeper_mono_ms();
	K.engine_ready_at = 0;
	K.deadline = K.trial_fd >= 0 ? K.engine_started + (uint64_t)K.ready_ms
	    : 0;
	K.generation++;
	klog_info("engine %s started, pid %d (%s)", path, (int)pid,
	    kproto_kind_name(K.next_kind));
	link_send_table();
	if (K.stopping)
		engine_send(&(struct kproto_msg){ .type = KP_TERM });
}

/* SIGKILLs the engine; its death is handled when it is reaped. */
void
engine_kill(const char *why)
{
	if (K.engine_pid <= 0)
		return;
	if (why != NULL && K.kill_reason == NULL) {
		klog_warnx("killing the engine (pid %d): %s",
		    (int)K.engine_pid, why);
		engine_set(&K.kill_reason, why);
	}
	(void)kill(K.engine_pid, SIGKILL);
}

/* UPGRADE path: the engine is leaving; its successor runs path. */
void
engine_upgrade(const char *path)
{
	if (K.trial_fd >= 0 || K.upgrade_path != NULL || K.stopping) {
		link_error(NULL, EBUSY, "an upgrade or a stop is under way");
		return;
	}
	klog_info("upgrade to %s: waiting for the engine to exit", path);
	notify_status("upgrading the engine to %s", path);
	engine_set(&K.upgrade_path, path);
	K.deadline = keeper_mono_ms() + (uint64_t)K.heartbeat_ms;
}

/* The next engine runs the old binary and hears why. */
static void
engine_rollback(const char *why)
{
	klog_warnx("upgrade failed: %s; back to %s", why, K.engine_path);
	notify_status("upgrade failed: %s; back to %s", why, K.engine_path);
	if (K.trial_fd >= 0)
		close(K.trial_fd);
	K.trial_fd = -1;
	engine_set(&K.trial_path, NULL);
	engine_set(&K.update_failed, why);
	K.next_kind = KP_KIND_ROLLBACK;
	K.restart_at = keeper_mono_ms();
}

/* After UPGRADE, the old engine is gone: opens the new binary and runs it. */
static void
engine_begin_trial(void)
{
	char why[512];
	int fd;

	fd = keeper_open_file(K.upgrade_path, O_RDONLY, 0);
	if (fd == -1) {
		snprintf(why, sizeof why, "cannot open %s: %s",
		    K.upgrade_path, keeper_open_error(errno));
		engine_set(&K.upgrade_path, NULL);
		engine_rollback(why);
		return;
	}
	K.trial_fd = fd;
	K.trial_path = K.upgrade_path;
	K.upgrade_path = NULL;
	K.next_kind = KP_KIND_UPGRADE;
	K.restart_at = keeper_mono_ms();
}

/*
 * A crash: restart now if it had served a while, else after a delay that
 * doubles with each such crash in a row.
 */
static void
engine_plan_restart(const char *why)
{
	uint64_t now = keeper_mono_ms(), delay = 0;

	if (K.engine_ready_at == 0 || now - K.engine_ready_at <
	    KEEPER_STABLE_MS) {
		delay = (uint64_t)KEEPER_BACKOFF_MIN_MS << (K.failures < 10 ?
		    K.failures : 10);
		if (delay > KEEPER_BACKOFF_MAX_MS)
			delay = KEEPER_BACKOFF_MAX_MS;
		K.failures++;
	} else
		K.failures = 0;
	klog_warnx("engine %s; restarting it%s", why, delay > 0 ?
	    " after a delay" : "");
	notify_status("engine %s; restarting it%s", why, delay > 0 ?
	    " after a delay" : "");
	if (delay > 0)
		klog_info("restart in %llu ms", (unsigned long long)delay);
	engine_set(&K.next_reason, why);
	K.next_kind = KP_KIND_RESTART;
	K.restart_at = now + delay;
	if (K.restart_at == 0)
		K.restart_at = 1;
}

/* The engine process was reaped with status. */
void
engine_exited(int status)
{
	char why[512], st[64];

	klog_status(st, sizeof st, status);
	snprintf(why, sizeof why, "%s%s%s", K.kill_reason != NULL ?
	    K.kill_reason : st, K.kill_reason != NULL ? ", " : "",
	    K.kill_reason != NULL ? st : "");
	engine_set(&K.kill_reason, NULL);
	K.engine_pid = 0;
	K.deadline = 0;
	/* what it sent before it exited (BYE, UPGRADE) counts */
	link_input();
	if (K.conn.fd >= 0)
		kproto_conn_close(&K.conn);
	klog_info("engine %s", why);
	if (K.bye || K.stopping) {
		stop_alone(K.bye ? NULL : "the engine exited during the stop");
		return;
	}
	if (K.upgrade_path != NULL) {
		engine_begin_trial();
		return;
	}
	if (K.trial_fd >= 0) {
		engine_rollback(why);
		return;
	}
	if (!K.ever_ready && K.next_kind == KP_KIND_FIRST) {
		klog_warnx("the first engine failed to start: giving up");
		stop_alone("the first engine failed");
		return;
	}
	engine_plan_restart(why);
}

/* Deadlines: restart, heartbeat, upgrade leave, trial READY. */
void
engine_tick(uint64_t now)
{
	char why[128];

	if (K.engine_pid == 0) {
		if (K.restart_at != 0 && now >= K.restart_at && !K.alone)
			engine_start();
		return;
	}
	if (K.deadline != 0 && now >= K.deadline) {
		K.deadline = 0;
		engine_kill(K.upgrade_path != NULL ?
		    "did not exit after UPGRADE" : "did not say READY in time");
		return;
	}
	if (now - K.last_heard >= (uint64_t)K.heartbeat_ms) {
		snprintf(why, sizeof why, "no heartbeat for %lld ms",
		    (long long)(now - K.last_heard));
		K.last_heard = now;
		engine_kill(why);
	}
}

/* The next time engine_tick() has something to do (0: none). */
uint64_t
engine_next_deadline(void)
{
	uint64_t t;

	if (K.engine_pid == 0)
		return K.alone ? 0 : K.restart_at;
	t = K.last_heard + (uint64_t)K.heartbeat_ms;
	if (K.deadline != 0 && K.deadline < t)
		t = K.deadline;
	return t;
}

/*
 * Sends m to the engine, if one is linked (later: with the next frames,
 * once main_loop() polls again). An engine that cannot take it (its queue
 * is full, its socket broken) is killed: the table keeps what the next
 * one needs. Returns 0 or -1.
 */
static int
engine_put(struct kproto_msg *m, int later)
{
	char why[128];
	int err;

	if (K.conn.fd < 0)
		return -1;
	if ((later ? kproto_conn_send_later(&K.conn, m) :
	    kproto_conn_send(&K.conn, m)) == 0)
		return 0;
	err = errno;
	snprintf(why, sizeof why, "cannot send it %s: %s",
	    kproto_type_name(m->type), strerror(err));
	link_broken(why, err);
	return -1;
}

int
engine_send(struct kproto_msg *m)
{
	return engine_put(m, 0);
}

/* The exits reaped at one SIGCHLD go to the engine in one write. */
int
engine_send_later(struct kproto_msg *m)
{
	return engine_put(m, 1);
}
