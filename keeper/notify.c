/* SPDX-License-Identifier: ISC */
/*
 * The keeper as a systemd service, without libsystemd: it is the unit's
 * main process (corrald execs it), so it is the one that talks to systemd,
 * by datagrams to $NOTIFY_SOCKET (a path, or an abstract name after '@').
 * READY=1 when the first engine says READY; STATUS= as engines come, go,
 * upgrade and roll back; STOPPING=1 on a stop; WATCHDOG=1 every quarter
 * of WATCHDOG_USEC (when WATCHDOG_PID, if set, is the keeper) while the
 * engine was heard within the heartbeat timeout, or no engine runs and the
 * keeper is starting one. The heartbeat timeout is capped at half the
 * watchdog period, so a hung engine is killed and replaced long before
 * systemd would kill the service, apps and all.
 *
 * NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID leave the environment at
 * start, so that no engine (nor anything it runs) notifies; a keeper
 * re-exec puts them back for the next keeper (same pid). A datagram that
 * cannot be sent is logged and dropped: the keeper never waits on systemd.
 *
 * Socket activation: descriptors systemd passed to the keeper (LISTEN_FDS,
 * LISTEN_PID the keeper's) go to the first engine only, with LISTEN_PID
 * made the engine's own; that engine HOLDs what it keeps, and later
 * engines get those from the table, not twice.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

#define NOTIFY_MAX 1024
#define NOTIFY_NVARS 3

static const char *const notify_vars[NOTIFY_NVARS] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"
};

static struct {
	char *env[NOTIFY_NVARS];                   /* notify_vars as found, or NULL */
	struct sockaddr_un addr;
	socklen_t addrlen;              /* 0: no socket to notify */
	int fd;
	uint64_t watchdog_ms;           /* 0: no watchdog */
	uint64_t next_ping;
	int warned;
	int listen_fds;                 /* passed by systemd, for the engine */
} notify = { .fd = -1 };

static const char *const notify_listen_vars[] = {
	"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"
};

/* The address of NOTIFY_SOCKET; 0, or -1 when it is none the keeper knows. */
static int
notify_address(const char *name)
{
	size_t len = strlen(name);

	if ((name[0] != '/' && name[0] != '@') || len < 2 ||
	    len >= sizeof notify.addr.sun_path)
		return -1;
	memset(&notify.addr, 0, sizeof notify.addr);
	notify.addr.sun_family = AF_UNIX;
	memcpy(notify.addr.sun_path, name, len);
	if (name[0] == '@')
		notify.addr.sun_path[0] = '\0';
	notify.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + (name[0] == '/'));
	return 0;
}

/* The watchdog period in ms if it is the keeper's, else 0. */
static uint64_t
notify_watchdog(const char *usec, const char *pid)
{
	unsigned long long v;
	char *end;

	if (usec == NULL)
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || end == usec || *end != '\0' || v == 0) {
		klog_warnx("WATCHDOG_USEC=%s: ignored", usec);
		return 0;
	}
	if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid()) {
		klog_info("WATCHDOG_PID=%s is not the keeper: no watchdog",
		    pid);
		return 0;
	}
	return v / 1000 < 4 ? 4 : v / 1000;
}

/* LISTEN_FDS when LISTEN_PID is the keeper; else they are no one's. */
static void
notify_listen_init(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long n;
	size_t i;

	n = fds != NULL ? strtol(fds, NULL, 10) : 0;
	if (pid != NULL && strtol(pid, NULL, 10) == (long)getpid() && n > 0 &&
	    n < 4096) {
		notify.listen_fds = (int)n;
		return;
	}
	for (i = 0; i < 3; i++)
		(void)unsetenv(notify_listen_vars[i]);
}

/* In the first engine's child, before exec: LISTEN_PID is its own. */
void
notify_listen_child(void)
{
	char pid[16];

	if (notify.listen_fds == 0)
		return;
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	(void)setenv("LISTEN_PID", pid, 1);
}

/* The first engine is forked: no later child gets the descriptors. */
void
notify_listen_done(void)
{
	size_t i;
	int fd;

	if (notify.listen_fds == 0)
		return;
	for (fd = 3; fd < 3 + notify.listen_fds; fd++)
		keeper_cloexec(fd, 1);
	for (i = 0; i < 3; i++)
		(void)unsetenv(notify_listen_vars[i]);
	notify.listen_fds = 0;
}

/*
 * Reads and removes the variables; opens the socket; caps the heartbeat
 * timeout. Called once the keeper has its final pid.
 */
void
notify_init(void)
{
	const char *v;
	size_t i;

	notify_listen_init();

	for (i = 0; i < NOTIFY_NVARS; i++) {
		free(notify.env[i]);
		v = getenv(notify_vars[i]);
		notify.env[i] = v != NULL ? strdup(v) : NULL;
	}
	notify_env_strip();
	if (notify.env[0] == NULL)
		return;
	if (notify_address(notify.env[0]) == -1) {
		klog_warnx("NOTIFY_SOCKET=%s: not a unix socket the keeper "
		    "knows: systemd is not told", notify.env[0]);
		return;
	}
	notify.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (notify.fd == -1) {
		klog_warn("NOTIFY_SOCKET: socket");
		notify.addrlen = 0;
		return;
	}
	/* the engines send their STATUS= lines for the keeper to relay */
	(void)setenv("CORRAL_KEEPER_STATUS", "1", 1);
	notify.watchdog_ms = notify_watchdog(notify.env[1], notify.env[2]);
	if (notify.watchdog_ms > 0 && (uint64_t)K.heartbeat_ms >
	    notify.watchdog_ms / 2) {
		K.heartbeat_ms = (int64_t)(notify.watchdog_ms / 2);
		klog_info("systemd watchdog %llu ms: heartbeat timeout %lld ms",
		    (unsigned long long)notify.watchdog_ms,
		    (long long)K.heartbeat_ms);
	}
}

/* Before exec of a new keeper: the variables as systemd gave them. */
void
notify_env_put(void)
{
	size_t i;

	for (i = 0; i < NOTIFY_NVARS; i++) {
		if (notify.env[i] != NULL)
			(void)setenv(notify_vars[i], notify.env[i], 1);
	}
}

void
notify_env_strip(void)
{
	size_t i;

	for (i = 0; i < NOTIFY_NVARS; i++)
		(void)unsetenv(notify_vars[i]);
}

/* One datagram of "NAME=value" lines. */
static void
notify_send(const char *text)
{
	if (notify.addrlen == 0)
		return;
	if (sendto(notify.fd, text, strlen(text), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify.addr, notify.addrlen) != -1) {
		notify.warned = 0;
		return;
	}
	if (!notify.warned)
		klog_warn("NOTIFY_SOCKET %s", notify.env[0]);
	notify.warned = 1;
}

/* prefix, then "STATUS=" and the formatted text, as one datagram. */
static void
notify_with_status(const char *prefix, const char *fmt, va_list ap)
{
	char buf[NOTIFY_MAX], *nl;
	int n;

	if (notify.addrlen == 0)
		return;
	n = snprintf(buf, sizeof buf, "%sSTATUS=", prefix);
	if (n < 0 || (size_t)n >= sizeof buf)
		return;
	(void)vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	/* a status is one line: a reason with a newline is cut there */
	if ((nl = strchr(buf + n, '\n')) != NULL)
		*nl = '\0';
	notify_send(buf);
}

/* The engine said READY: systemd hears READY=1 (once) and the status. */
void
notify_ready(void)
{
	char buf[NOTIFY_MAX];

	if (notify.addrlen == 0)
		return;
	snprintf(buf, sizeof buf, "%sSTATUS=serving, engine pid %d (%s)",
	    K.ever_ready ? "" : "READY=1\n", (int)K.engine_pid,
	    K.engine_path);
	notify_send(buf);
}

/*
 * STOPPING=1 and the status; EXTEND_TIMEOUT_USEC= moves systemd's stop
 * deadline to within_ms from now when that is later than the unit's
 * TimeoutStopSec, so an app started after `corral startup` wrote the unit,
 * with a longer kill_timeout, still stops gracefully.
 */
void
notify_stopping(int64_t within_ms, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	snprintf(prefix, sizeof prefix, "STOPPING=1\n"
	    "EXTEND_TIMEOUT_USEC=%lld\n", (long long)within_ms * 1000);
	va_start(ap, fmt);
	notify_with_status(prefix, fmt, ap);
	va_end(ap);
}

void
notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_with_status("", fmt, ap);
	va_end(ap);
}

/*
 * WATCHDOG=1 when due, while the engine is not overdue (engine_tick()
 * kills an overdue one) or none runs and the keeper is replacing it.
 */
void
notify_tick(uint64_t now)
{
	if (notify.watchdog_ms == 0 || notify.addrlen == 0 ||
	    now < notify.next_ping)
		return;
	if (K.engine_pid != 0 && now - K.last_heard >=
	    (uint64_t)K.heartbeat_ms)
		return;
	notify_send("WATCHDOG=1");
	notify.next_ping = now + notify.watchdog_ms / 4;
}

uint64_t
notify_next_deadline(void)
{
	if (notify.watchdog_ms == 0 || notify.addrlen == 0)
		return 0;
	return notify.next_ping == 0 ? 1 : notify.next_ping;
}
