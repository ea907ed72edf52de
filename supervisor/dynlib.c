/* SPDX-License-Identifier: ISC */
/*
 * Loading an optional library by its soname (see dynlib.h). A library is
 * loaded once and never unloaded; a missing library or symbol is a cause
 * the feature reports, never a crash. libsystemd is loaded on the first
 * call of sdlib(), from whichever thread asks first (the log writer's
 * journal sink or the loop).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dynlib.h"

#define SDLIB_SONAME "libsystemd.so.0"

/*
 * Opens soname and fills every slot of syms. Returns 0, or -1 with *cause
 * (the caller frees it); a library opened but missing a symbol stays open
 * and its slots are left NULL.
 */
int
dynlib_load(const char *soname, const struct dynlib_sym *syms, size_t n,
    char **cause)
{
	void *lib, *fn;
	size_t i;

	if ((lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		xasprintf(cause, "cannot load %s: %s", soname, dlerror());
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((fn = dlsym(lib, syms[i].name)) == NULL) {
			xasprintf(cause, "%s has no %s", soname, syms[i].name);
			for (i = 0; i < n; i++)
				*syms[i].slot = NULL;
			return -1;
		}
		*syms[i].slot = fn;
	}
	return 0;
}

static struct sdlib sdlib_fns;
static char *sdlib_cause;
static int sdlib_ok;

#define SDLIB_SYM(field, name) DYNLIB_SYM(sdlib_fns, field, name)

static void
sdlib_load(void)
{
	static const struct dynlib_sym syms[] = {
		SDLIB_SYM(notify, "sd_notify"),
		SDLIB_SYM(watchdog_enabled, "sd_watchdog_enabled"),
		SDLIB_SYM(listen_fds, "sd_listen_fds"),
		SDLIB_SYM(is_socket_unix, "sd_is_socket_unix"),
		SDLIB_SYM(journal_sendv, "sd_journal_sendv"),
		SDLIB_SYM(bus_new, "sd_bus_new"),
		SDLIB_SYM(bus_set_address, "sd_bus_set_address"),
		SDLIB_SYM(bus_start, "sd_bus_start"),
		SDLIB_SYM(bus_unref, "sd_bus_unref"),
		SDLIB_SYM(bus_open_user, "sd_bus_open_user"),
		SDLIB_SYM(bus_open_system, "sd_bus_open_system"),
		SDLIB_SYM(bus_flush_close_unref, "sd_bus_flush_close_unref"),
		SDLIB_SYM(bus_call, "sd_bus_call"),
		SDLIB_SYM(bus_error_free, "sd_bus_error_free"),
		SDLIB_SYM(message_new_method_call,
		    "sd_bus_message_new_method_call"),
		SDLIB_SYM(message_append, "sd_bus_message_append"),
		SDLIB_SYM(message_open_container,
		    "sd_bus_message_open_container"),
		SDLIB_SYM(message_close_container,
		    "sd_bus_message_close_container"),
		SDLIB_SYM(message_unref, "sd_bus_message_unref"),
	};

	sdlib_ok = dynlib_load(SDLIB_SONAME, syms, nitems(syms),
	    &sdlib_cause) == 0;
}

/*
 * libsystemd's functions, loaded on the first call; NULL with *cause (a
 * copy the caller frees; cause may be NULL) when it cannot be loaded.
 */
const struct sdlib *
sdlib(char **cause)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, sdlib_load);
	if (sdlib_ok)
		return &sdlib_fns;
	if (cause != NULL)
		*cause = xstrdup(sdlib_cause);
	return NULL;
}
