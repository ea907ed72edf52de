/* SPDX-License-Identifier: ISC */
/*
 * The daemon and its host: the host's memory and load (hoststat.c), the
 * periodic sampling of instances (stats.c), descriptor limits (fdlimit.c)
 * and the systemd notification socket (sdnotify.c). Included by corrald.h.
 */
#ifndef CORRAL_HOST_H
#define CORRAL_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "common.h"

struct instance;

/* hoststat.c */
json_t *hoststat_json(void);
int hoststat_meminfo(const char *, uint64_t *, uint64_t *);
int hoststat_loadavg(const char *, double *);

/* stats.c */
void stats_start(void);
void stats_wake(void);
void stats_stop(void);
void stats_sample(struct instance *);
void stats_sample_list(struct instance **, size_t);

/* fdlimit.c */
void fdlimit_close_inherited(int);
void fdlimit_raise(void);
unsigned long long fdlimit_soft(void);
unsigned long long fdlimit_child_soft(void);
/* what fdlimit_room() callers leave free: accepts, a spawn's descriptors */
#define FDLIMIT_RESERVE 8
int fdlimit_room(int);
long long fdlimit_free(void);
json_t *fdlimit_info(void);

/* sdnotify.c */
int sdnotify_init(uv_loop_t *, char *(*)(void));
void sdnotify_close(void);
void sdnotify_ready(void);
void sdnotify_set_relay(void (*)(const char *));
void sdnotify_stopping(void);
void sdnotify_status(const char *, ...) PRINTFLIKE(1, 2);
int sdnotify_listen_fd(const char *);
int sdnotify_private_env(const char *, size_t);

#endif
