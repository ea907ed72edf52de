/* SPDX-License-Identifier: ISC */
/*
 * Cluster mode inside corrald: sockets the daemon holds for an app, the
 * sd_notify receiver, readiness (listen, notify, delay, tcp and http
 * probes) and the CPU count behind "-i max".
 */
#ifndef CORRAL_CLUSTER_H
#define CORRAL_CLUSTER_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

/* listener.c */
#define LISTENER_TCP 1
#define LISTENER_UNIX 2
struct listener {
	char *spec;                     /* as given, e.g. "web=[::1]:9000" */
	char *name;                     /* its LISTEN_FDNAMES entry */
	int kind;                       /* LISTENER_TCP or LISTENER_UNIX */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int port;                       /* TCP only */
	ino_t ino;                      /* unix only: the inode bound */
	int fd;                         /* -1 when not open */
	char *tag;                      /* the keeper's: app and spec */
};
/* How sockets are kept across engines (listener.c's listener_keeper). */
struct listener_keeper {
	int (*take)(const char *);
	void (*hold)(const char *, int);
	void (*release)(const char *);
};
extern const struct listener_keeper *listener_keeper;

int listener_parse(const char *, const char *, struct listener *, char **);
void listener_format(const struct listener *, char *, size_t);
int listener_open(struct listener *, char **);
void listener_close(struct listener *);
void listener_clear(struct listener *);
int listeners_open(const char **, size_t, const char *, struct listener **,
    char **);
void listeners_free(struct listener *, size_t);
int listeners_port(const struct listener *, size_t);
void listeners_env(const struct listener *, size_t, json_t *);

/* notify.c */
struct notify_msg {
	int ready;                      /* READY=1 */
	int stopping;                   /* STOPPING=1 */
	int reloading;                  /* RELOADING=1 */
	int watchdog;                   /* WATCHDOG=1 */
	int listen;                     /* CORRAL_LISTEN=1, from the preload */
	pid_t mainpid;                  /* MAINPID=, or 0 */
	char *status;                   /* STATUS=, or NULL */
};
struct notify;
typedef void notify_cb(void *, pid_t, const struct notify_msg *);
struct notify {
	uv_poll_t poll;
	int fd;
	char *path;                     /* NOTIFY_SOCKET for the instances */
	notify_cb *cb;
	void *arg;
	void (*done)(struct notify *);
	int replay;                     /* MSG_PEEK first (engine_replays()) */
};
void notify_parse(const char *, size_t, struct notify_msg *);
void notify_msg_clear(struct notify_msg *);
int notify_open(struct notify *, uv_loop_t *, const char *, int,
    notify_cb *, void *, char **);
void notify_close(struct notify *, void (*)(struct notify *));
const char *notify_path(const struct notify *);

/* readyspec.c, ready.c */
#define READY_NONE 0
#define READY_LISTEN 1
#define READY_NOTIFY 2
#define READY_DELAY 3
#define READY_TCP 4
#define READY_HTTP 5
#define READY_MESSAGE 6                 /* process.send('ready'), nodeipc.c */
#define READY_EVENT_READY 1             /* READY=1 from the instance */
#define READY_EVENT_LISTEN 2            /* CORRAL_LISTEN=1 (preload) */
#define READY_EVENT_MESSAGE 3           /* 'ready' on the Node IPC channel */
#define READY_DEFAULT_TIMEOUT 10000     /* ms, --listen-timeout */
struct ready_spec {
	int kind;
	char *text;                     /* as given */
	uint64_t delay_ms;              /* delay */
	char *host;                     /* tcp, http: numeric */
	int port;                       /* tcp, http */
	char *port_var;                 /* or the variable holding it */
	char *path;                     /* http */
	int soft;                       /* a timeout is taken as ready (PM2) */
};
struct ready_wait;
typedef void ready_cb(void *, int, const char *);
int ready_parse(const char *, struct ready_spec *, char **);
void ready_spec_clear(struct ready_spec *);
struct ready_wait *ready_start(uv_loop_t *, const struct ready_spec *,
    json_t *, uint64_t, ready_cb *, void *);
void ready_event(struct ready_wait *, int);
void ready_cancel(struct ready_wait *);
int ready_said(const struct ready_wait *);

/* timer.c */
void timer_init(uv_loop_t *, uv_timer_t *);
int timer_start(uv_timer_t *, uv_timer_cb, uint64_t, uint64_t);
uint64_t boot_ms(void);

/* cpus.c */
int cpus_affinity(void);
int cpus_quota(const char *, const char *, const char *);
int cpus_available(void);

/* cluster.c */
#define CLUSTER_MAX_LISTENERS 64
#define CLUSTER_MAX_STDIO (3 + CLUSTER_MAX_LISTENERS + 2)  /* + ctl, ipc */
struct app;
struct app_config;
struct instance;
int cluster_init(char **);
void cluster_shutdown(void);
int cluster_app_open(struct app *, char **);
void cluster_app_close(struct app *);
struct child;
struct spawn_plan;
int cluster_spawn_prepare(struct instance *, struct child *, json_t *,
    struct spawn_plan *, char **);
void cluster_spawned(struct instance *, json_t *);
void cluster_adopted(struct instance *, int);
void cluster_exited(struct instance *);

#endif
