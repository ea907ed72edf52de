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
};
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
};
void notify_parse(const char *, size_t, struct notify_msg *);
void notify_msg_clear(struct notify_msg *);
int notify_open(struct notify *, uv_loop_t *, const char *, notify_cb *,
    void *, char **);
void notify_close(struct notify *, void (*)(struct notify *));
const char *notify_path(const struct notify *);

/* cpus.c */
int cpus_affinity(void);
int cpus_quota(const char *, const char *, const char *);
int cpus_available(void);

#endif
