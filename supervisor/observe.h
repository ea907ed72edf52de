/* SPDX-License-Identifier: ISC */
/*
 * What corrald sees of its apps and what it does about it: the HTTP
 * endpoint on the daemon's loop (httpd.c) serving /metrics (metrics.c,
 * promtext.c), /healthz and /readyz (probez.c); liveness checks of
 * instances (healthspec.c, health.c, probe-exec.c); autoscaling
 * (autoscale.c); the accept queues of held sockets (sockstat.c).
 */
#ifndef CORRAL_OBSERVE_H
#define CORRAL_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "common.h"
#include "cluster.h"

struct app;
struct app_config;
struct instance;

/* Why the autoscaler changed an app's instance count. */
enum autoscale_reason {
	AUTOSCALE_UP_QUEUE,             /* the accept queue stayed long */
	AUTOSCALE_UP_CPU,               /* the instances' CPU stayed high */
	AUTOSCALE_UP_MIN,               /* below the range */
	AUTOSCALE_DOWN_CALM,            /* a calm window */
	AUTOSCALE_DOWN_MAX,             /* above the range */
	AUTOSCALE_NREASONS
};

/* An app's counters for the metrics; they live as long as the app. */
struct app_counters {
	uint64_t reloads;               /* rolling reloads that completed */
	uint64_t reloads_failed;        /* ... that were aborted */
	uint64_t log_lines[2];          /* stdout, stderr: lines handed on */
	uint64_t log_bytes[2];
	uint64_t health_ok;             /* liveness checks passed */
	uint64_t health_failed;         /* ... failed */
	uint64_t health_replaced;       /* instances replaced for failing */
	uint64_t memory_replaced;       /* ... for max_memory_restart */
	uint64_t scaled[AUTOSCALE_NREASONS];
};

/* promtext.c */
struct promtext {
	char *buf;
	size_t len;
	size_t cap;
};
void promtext_init(struct promtext *, size_t);
char *promtext_take(struct promtext *, size_t *);
void promtext_free(struct promtext *);
void promtext_raw(struct promtext *, const char *, size_t);
void promtext_str(struct promtext *, const char *);
void promtext_family(struct promtext *, const char *, const char *,
    const char *);
void promtext_label(struct promtext *, const char *, const char *, int);
void promtext_u64(struct promtext *, uint64_t);
void promtext_i64(struct promtext *, int64_t);
void promtext_fixed(struct promtext *, uint64_t, int);
void promtext_sample(struct promtext *, const char *, const char *, size_t,
    const char *);
void promtext_end(struct promtext *);

/* httpd.c */
struct httpd_request;
struct httpd_reply {
	int status;
	char *body;                     /* malloc'd; httpd.c frees it */
	size_t len;
	const char *type;               /* Content-Type */
};
int httpd_start(const char *, char **);
void httpd_stop(void);
const char *httpd_address(void);
const char *httpd_query(struct httpd_request *, const char *);
void httpd_text(struct httpd_reply *, int, const char *, ...)
    PRINTFLIKE(3, 4);

/* metrics.c */
void metrics_serve(struct httpd_request *, struct httpd_reply *);

/* probez.c */
void probez_healthz(struct httpd_request *, struct httpd_reply *);
void probez_readyz(struct httpd_request *, struct httpd_reply *);
int probez_app_ready(const struct app *, int *);

/* sockstat.c */
struct sockstat {
	uint32_t queue;                 /* connections waiting for accept() */
	uint32_t backlog;               /* the most the queue may hold */
};
int sockstat_read(int, struct sockstat *);

/* healthspec.c */
#define HEALTH_HTTP 1
#define HEALTH_TCP 2
#define HEALTH_EXEC 3
#define HEALTH_DEFAULT_INTERVAL 10000   /* ms */
#define HEALTH_DEFAULT_TIMEOUT 3000     /* ms */
#define HEALTH_DEFAULT_THRESHOLD 3
struct health_spec {
	int kind;
	struct ready_spec probe;        /* http, tcp */
	char *cmd;                      /* exec: run by /bin/sh -c */
};
int health_parse(const char *, struct health_spec *, char **);
void health_spec_clear(struct health_spec *);

/* probe-exec.c */
struct probe_exec;
typedef void probe_exec_cb(void *, int, const char *);
struct probe_exec *probe_exec_start(uv_loop_t *, uv_process_options_t *,
    uint64_t, probe_exec_cb *, void *, char **);
void probe_exec_cancel(struct probe_exec *);

/* health.c */
struct health_check;
void health_spawned(struct instance *, json_t *);
void health_exited(struct instance *);
int health_status(const struct instance *, int *);
json_t *health_json(const struct instance *);

/* autoscale.c */
struct autoscale;
int autoscale_parse(const char *, long long *, long long *, char **);
void autoscale_keep(const struct app *, struct app_config *);
void autoscale_sync(struct app *);
void autoscale_stop(struct app *);
long long autoscale_max(const struct app_config *);
json_t *autoscale_json(const struct app *);

#endif
