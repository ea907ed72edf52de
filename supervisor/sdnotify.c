/* SPDX-License-Identifier: ISC */
/*
 * corrald as a systemd service: READY=1, STATUS=, STOPPING=1 and the
 * watchdog keep-alive (WATCHDOG=1 every half WATCHDOG_USEC, from a libuv
 * timer, so a stuck loop stops the pings), and the control socket passed
 * by socket activation. libsystemd is loaded only when systemd speaks to
 * the daemon ($NOTIFY_SOCKET, $WATCHDOG_USEC or $LISTEN_FDS is set): an
 * engine under its keeper, which talks to systemd itself, never loads it.
 *
 * The daemon's own NOTIFY_SOCKET stays in its environment for libsystemd
 * to find; sdnotify_private_env() names the variables that belong to
 * corrald and must never reach an app.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "corrald.h"
#include "dynlib.h"

#define SDNOTIFY_STATUS_MS 1000

static uv_timer_t sdnotify_timer;
static int sdnotify_timer_live;
static uv_timer_t sdnotify_status_timer;
static int sdnotify_status_live;
static char *(*sdnotify_status_fn)(void);
static char *sdnotify_last_status;
static void (*sdnotify_relay)(const char *);

/* libsystemd when env (a variable systemd sets) is there, else NULL. */
static const struct sdlib *
sdnotify_lib(const char *env)
{
	static int warned;
	const struct sdlib *sd;
	char *cause;

	if (getenv(env) == NULL)
		return NULL;
	if ((sd = sdlib(&cause)) == NULL) {
		if (!warned++)
			log_warnx("%s is set: %s", env, cause);
		free(cause);
	}
	return sd;
}

static void
sdnotify_send(const char *state)
{
	const struct sdlib *sd;
	int rc;

	if ((sd = sdnotify_lib("NOTIFY_SOCKET")) == NULL)
		return;
	if ((rc = sd->notify(0, state)) < 0)
		log_warnx("sd_notify %s: %s", state, strerror(-rc));
}

static void
sdnotify_ping(uv_timer_t *timer)
{
	(void)timer;
	sdnotify_send("WATCHDOG=1");
}

/* Sends STATUS= when the text the daemon gives has changed. */
static void
sdnotify_status_tick(uv_timer_t *timer)
{
	char *s;

	(void)timer;
	if (sdnotify_status_fn == NULL || (s = sdnotify_status_fn()) == NULL)
		return;
	if (sdnotify_last_status != NULL && strcmp(s, sdnotify_last_status) ==
	    0) {
		free(s);
		return;
	}
	sdnotify_status("%s", s);
	free(sdnotify_last_status);
	sdnotify_last_status = s;
}

/*
 * Starts the watchdog pings if systemd asked for them, and, under a
 * NOTIFY_SOCKET, a STATUS= update from status_fn (a text the caller
 * allocates; may be NULL) every second when it changes. The timers are
 * unref'd: they never keep the loop alive. Returns 0, or a negative libuv
 * error.
 */
int
sdnotify_init(uv_loop_t *loop, char *(*status_fn)(void))
{
	const struct sdlib *sd;
	uint64_t usec = 0;
	int rc;

	if (status_fn != NULL && (getenv("NOTIFY_SOCKET") != NULL ||
	    (sdnotify_relay != NULL && getenv("CORRAL_KEEPER_STATUS") !=
	    NULL)) && uv_timer_init(loop, &sdnotify_status_timer) == 0) {
		sdnotify_status_live = 1;
		sdnotify_status_fn = status_fn;
		uv_unref((uv_handle_t *)&sdnotify_status_timer);
		(void)timer_start(&sdnotify_status_timer, sdnotify_status_tick,
		    SDNOTIFY_STATUS_MS, SDNOTIFY_STATUS_MS);
	}

	if ((sd = sdnotify_lib("WATCHDOG_USEC")) == NULL ||
	    sd->watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	if ((rc = uv_timer_init(loop, &sdnotify_timer)) != 0)
		return rc;
	sdnotify_timer_live = 1;
	uv_unref((uv_handle_t *)&sdnotify_timer);
	if (usec < 2000)
		usec = 2000;
	if ((rc = uv_timer_start(&sdnotify_timer, sdnotify_ping, 0,
	    usec / 2000)) != 0)
		return rc;
	log_info("watchdog: pinging every %llu ms",
	    (unsigned long long)(usec / 2000));
	return 0;
}

/*
 * Under a keeper, STATUS= lines go to fn (the keeper relays them to
 * systemd, which hears no one else); call before sdnotify_init().
 */
void
sdnotify_set_relay(void (*fn)(const char *))
{
	sdnotify_relay = fn;
}

/* Stops the watchdog timer; its handle closes on the next loop turn. */
void
sdnotify_close(void)
{
	if (sdnotify_timer_live) {
		sdnotify_timer_live = 0;
		uv_close((uv_handle_t *)&sdnotify_timer, NULL);
	}
	if (sdnotify_status_live) {
		sdnotify_status_live = 0;
		uv_close((uv_handle_t *)&sdnotify_status_timer, NULL);
	}
	free(sdnotify_last_status);
	sdnotify_last_status = NULL;
}

/* The control socket serves and the saved apps have been started. */
void
sdnotify_ready(void)
{
	sdnotify_send("READY=1");
	sdnotify_status_tick(NULL);
}

void
sdnotify_stopping(void)
{
	sdnotify_send("STOPPING=1");
}

void
sdnotify_status(const char *fmt, ...)
{
	char *status, *msg;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&status, fmt, ap);
	va_end(ap);
	if (sdnotify_relay != NULL) {
		sdnotify_relay(status);
		free(status);
		return;
	}
	xasprintf(&msg, "STATUS=%s", status);
	sdnotify_send(msg);
	free(msg);
	free(status);
}

/*
 * Returns the listening unix stream socket bound to path that systemd
 * passed (socket activation), or -1 if there is none. LISTEN_* are removed
 * from the environment either way; other passed fds are left open.
 */
int
sdnotify_listen_fd(const char *path)
{
	const struct sdlib *sd;
	int n, fd;

	if ((sd = sdnotify_lib("LISTEN_FDS")) == NULL ||
	    (n = sd->listen_fds(1)) <= 0)
		return -1;
	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if (sd->is_socket_unix(fd, SOCK_STREAM, 1, path, 0) > 0) {
			log_info("control socket %s passed by systemd (fd %d)",
			    path, fd);
			return fd;
		}
	}
	log_warnx("socket activation: no listening socket for %s among "
	    "%d fds", path, n);
	return -1;
}

/* Tells whether an environment variable is corrald's own (from systemd). */
int
sdnotify_private_env(const char *name, size_t len)
{
	static const char *const names[] = { "NOTIFY_SOCKET",
	    "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
	    "LISTEN_FDNAMES", "CORRAL_KEEPER_STATUS" };
	size_t i;

	for (i = 0; i < nitems(names); i++) {
		if (strlen(names[i]) == len && strncmp(names[i], name, len) ==
		    0)
			return 1;
	}
	return 0;
}
