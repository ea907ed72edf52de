/* SPDX-License-Identifier: ISC */
/*
 * Libraries the engine needs only for some features (libmicrohttpd for
 * --metrics, libsystemd for the journal sink, socket activation, the
 * watchdog and delegated scopes) are loaded when a feature first asks, not
 * linked: each linked library and the libraries it pulls in cost the
 * engine their pages whether it uses them or not (libmicrohttpd brings
 * gnutls, p11-kit, nettle and gmp; libsystemd brings gcrypt, lzma, zstd
 * and lz4). The headers are still the build's: every pointer has the type
 * of the function it stands for.
 */
#ifndef CORRAL_DYNLIB_H
#define CORRAL_DYNLIB_H

#include <stddef.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

/* One symbol to resolve: its name and the pointer that receives it. */
struct dynlib_sym {
	const char *name;
	void **slot;
};

/* The entry for the pointer field of the struct obj, named name. */
#define DYNLIB_SYM(obj, field, name) { name, (void **)&(obj).field }

int dynlib_load(const char *, const struct dynlib_sym *, size_t, char **);

/* libsystemd's functions the daemon calls. */
struct sdlib {
	__typeof__(sd_notify) *notify;
	__typeof__(sd_watchdog_enabled) *watchdog_enabled;
	__typeof__(sd_listen_fds) *listen_fds;
	__typeof__(sd_is_socket_unix) *is_socket_unix;
	__typeof__(sd_journal_sendv) *journal_sendv;
	__typeof__(sd_bus_new) *bus_new;
	__typeof__(sd_bus_set_address) *bus_set_address;
	__typeof__(sd_bus_start) *bus_start;
	__typeof__(sd_bus_unref) *bus_unref;
	__typeof__(sd_bus_open_user) *bus_open_user;
	__typeof__(sd_bus_open_system) *bus_open_system;
	__typeof__(sd_bus_flush_close_unref) *bus_flush_close_unref;
	__typeof__(sd_bus_call) *bus_call;
	__typeof__(sd_bus_error_free) *bus_error_free;
	__typeof__(sd_bus_message_new_method_call) *message_new_method_call;
	__typeof__(sd_bus_message_append) *message_append;
	__typeof__(sd_bus_message_open_container) *message_open_container;
	__typeof__(sd_bus_message_close_container) *message_close_container;
	__typeof__(sd_bus_message_unref) *message_unref;
};

const struct sdlib *sdlib(char **);

#endif
