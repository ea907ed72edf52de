/* SPDX-License-Identifier: ISC */
/*
 * A daemon under systemd may sit in a cgroup it may not write (a non-root
 * user's session, a user service without Delegate=yes) or must share with
 * other processes (root started from a shell).  It asks systemd over sd-bus
 * (the user's manager, or the system's for root) for a transient scope
 * holding just itself with Delegate=yes; systemd moves it there and hands
 * the scope's cgroup over.  Its keeper goes along (the next engine starts
 * beside the keeper, in the same scope).  libsystemd is loaded for the
 * call (dynlib.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "cgroup.h"
#include "dynlib.h"

#define CGROUP_SCOPE_WAIT_MS 5000

/*
 * The scope holds the daemon and, when it shares its cgroup, its keeper
 * (keeper > 0).
 */
static int
cgroup_scope_call(const struct sdlib *sd, sd_bus *bus, const char *unit,
    pid_t keeper, char **cause)
{
	sd_bus_error	 err = SD_BUS_ERROR_NULL;
	sd_bus_message	*m = NULL, *reply = NULL;
	int		 r;

	r = sd->message_new_method_call(bus, &m, "org.freedesktop.systemd1",
	    "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
	    "StartTransientUnit");
	if (r >= 0)
		r = sd->message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd->message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd->message_append(m, "(sv)", "Description", "s",
		    "corral process supervisor");
	if (r >= 0)
		r = sd->message_append(m, "(sv)", "PIDs", "au",
		    keeper > 0 ? 2 : 1, (uint32_t)getpid(), (uint32_t)keeper);
	if (r >= 0)
		r = sd->message_append(m, "(sv)", "Delegate", "b", 1);
	if (r >= 0)
		r = sd->message_close_container(m);
	if (r >= 0)
		r = sd->message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		xasprintf(cause, "cannot build the D-Bus call: %s",
		    strerror(-r));
		sd->message_unref(m);
		return -1;
	}
	r = sd->bus_call(bus, m, 0, &err, &reply);
	if (r < 0)
		xasprintf(cause, "StartTransientUnit %s: %s", unit,
		    err.message != NULL ? err.message : strerror(-r));
	sd->bus_error_free(&err);
	sd->message_unref(reply);
	sd->message_unref(m);
	return r < 0 ? -1 : 0;
}

/* Whether pid's /proc cgroup file names unit: 1, 0, or -1 (unreadable). */
static int
cgroup_scope_holds(const char *proc, const char *unit)
{
	char	*text;
	int	 found;

	if ((text = cgroup_slurp(proc)) == NULL)
		return -1;
	found = strstr(text, unit) != NULL;
	free(text);
	return found;
}

/*
 * Waits until systemd moved the daemon and the keeper (when asked to)
 * into the scope.  It moves them one after the other: a daemon that went
 * on at its own move would delegate the scope's controllers before the
 * keeper came, systemd could then not move the keeper into the scope (a
 * cgroup that delegates holds no process), fail the scope and remove the
 * empty cgroups the daemon had made in it.  A keeper gone meanwhile is
 * not waited for.
 */
static int
cgroup_scope_wait(const char *unit, pid_t keeper)
{
	struct timespec	 ms = { 0, 10000000 };
	char		 proc[64];
	int		 i, self, theirs;

	snprintf(proc, sizeof proc, "/proc/%ld/cgroup", (long)keeper);
	for (i = 0; i < CGROUP_SCOPE_WAIT_MS / 10; i++) {
		self = cgroup_scope_holds("/proc/self/cgroup", unit);
		if (self == -1)
			return -1;
		theirs = keeper > 0 ? cgroup_scope_holds(proc, unit) : 1;
		if (self && theirs != 0)
			return 0;
		nanosleep(&ms, NULL);
	}
	return -1;
}

/*
 * Connects to the user's manager: its private socket first (no D-Bus
 * broker needed, as systemctl --user does), then the user bus.
 */
static int
cgroup_scope_bus(const struct sdlib *sd, sd_bus **bus, char **cause)
{
	const char	*rt = getenv("XDG_RUNTIME_DIR");
	char		*addr;
	sd_bus		*b = NULL;
	int		 r;

	if (rt != NULL && sd->bus_new(&b) >= 0) {
		xasprintf(&addr, "unix:path=%s/systemd/private", rt);
		r = sd->bus_set_address(b, addr);
		free(addr);
		if (r >= 0 && sd->bus_start(b) >= 0) {
			*bus = b;
			return 0;
		}
		sd->bus_unref(b);
	}
	if ((r = sd->bus_open_user(bus)) < 0) {
		xasprintf(cause, "cannot reach the user's systemd: %s",
		    strerror(-r));
		return -1;
	}
	return 0;
}

/*
 * Asks for corral-<pid>.scope.  Returns 0 with *scope (the unit name) or
 * -1 with *cause; the caller frees either.
 */
int
cgroup_scope_request(char **scope, char **cause)
{
	const struct sdlib	*sd;
	sd_bus			*bus = NULL;
	char			*unit;
	pid_t			 keeper = cgroup_keeper_beside();
	int			 r;

	if ((sd = sdlib(cause)) == NULL)
		return -1;
	if (geteuid() == 0) {
		if ((r = sd->bus_open_system(&bus)) < 0) {
			xasprintf(cause, "cannot reach systemd: %s",
			    strerror(-r));
			return -1;
		}
	} else if (cgroup_scope_bus(sd, &bus, cause) != 0)
		return -1;
	xasprintf(&unit, "corral-%ld.scope", (long)getpid());
	if (cgroup_scope_call(sd, bus, unit, keeper, cause) != 0) {
		free(unit);
		sd->bus_flush_close_unref(bus);
		return -1;
	}
	sd->bus_flush_close_unref(bus);
	if (cgroup_scope_wait(unit, keeper) != 0) {
		xasprintf(cause, "systemd did not move the daemon%s into %s",
		    keeper > 0 ? " and its keeper" : "", unit);
		free(unit);
		return -1;
	}
	*scope = unit;
	return 0;
}
