/* SPDX-License-Identifier: ISC */
/*
 * An app's declared settings (struct app_config) and the key table that
 * reads and writes them: appcfg.c (the table), appcfg-text.c (from text),
 * appcfg-json.c (from and to JSON), appcfg-cli.c (the options of start).
 * Included by corrald.h.
 */
#ifndef CORRAL_APPCFG_H
#define CORRAL_APPCFG_H

#include <stdint.h>

#include <jansson.h>

#include "common.h"
#include "cgroup.h"

struct args;
struct args_opt;

/* Restart policy values of app_config.autorestart. */
#define APP_RESTART_ALWAYS 0
#define APP_RESTART_ON_FAILURE 1
#define APP_RESTART_NEVER 2

#define APP_MAX_STOP_CODES 32

/*
 * The declared settings of an app. Every field is listed in appcfg.c's key
 * table, which gives its CLI flag, config key, JSON name and parser.
 */
struct app_config {
	char *name;
	char *script;                   /* absolute path, or a command */
	json_t *args;                   /* array of strings */
	char *interpreter;              /* NULL: run the script directly */
	char *cwd;
	json_t *env;                    /* object: the starting client's env;
					   shared by the apps of a request,
					   never changed in place */
	json_t *env_set;                /* object: --env K=V, applied over env */
	long long instances;
	long long autorestart;          /* APP_RESTART_* */
	long long stop_exit_codes[APP_MAX_STOP_CODES];
	long long nstop_exit_codes;
	uint64_t restart_delay;         /* ms */
	uint64_t exp_backoff_restart_delay; /* ms, 0: off */
	uint64_t min_uptime;            /* ms */
	long long max_restarts;
	long long kill_signal;
	uint64_t kill_timeout;          /* ms */
	struct cgroup_limits limits;    /* max_memory, memory_high, cpu, max_pids */
	uint64_t max_memory_restart;    /* bytes, 0: off */
	/* logs (logsink.c) */
	char *out_file;                 /* NULL: logs/<name>-out.log */
	char *error_file;               /* NULL: logs/<name>-error.log */
	char *log_file;                 /* both streams too, NULL: none */
	long long merge_logs;           /* one file for every instance */
	long long log_prefix;           /* "[N] " before each line */
	char *log_date_format;          /* timestamp per line, NULL: none */
	long long time;                 /* --time: the default timestamp */
	char *log_type;                 /* "raw" (default) or "json" */
	long long disable_logs;         /* no files (followers still get lines) */
	char *log_sink;                 /* "file" (default), "journal", "both" */
	uint64_t max_log_size;          /* rotate past this, 0: never */
	long long retain_logs;          /* rotated files kept */
	long long compress_logs;        /* gzip rotated files */
	uint64_t max_log_age;           /* ms; older rotated files go, 0: keep */
	char *cron_restart;             /* cron expression, or NULL */
	char *watch;                    /* paths to watch (comma separated), or NULL */
	char *ignore_watch;             /* fnmatch patterns, comma separated */
	uint64_t watch_delay;           /* ms */
	char *user;                     /* run instances as this user, or NULL */
	char *group;
	json_t *listen;                 /* array: sockets the daemon holds */
	char *ready;                    /* readiness spec, NULL: default */
	uint64_t listen_timeout;        /* ms to become ready, 0: no limit */
	long long preload;              /* LD_PRELOAD the bind() shim */
	long long reload_surge;         /* replacements unready at once */
	char *increment_var;            /* env variable + instance index */
	/* PM2's (pm2compat.c) */
	char *exec_mode;                /* "fork" or "cluster", NULL: by count */
	char *instance_var;             /* NULL: NODE_APP_INSTANCE */
	json_t *node_args;              /* array: the interpreter's options */
	long long wait_ready;           /* ready when node sends 'ready' */
	long long shutdown_with_message; /* node gets 'shutdown', no signal */
	uint64_t drain_timeout;         /* ms for open connections at a stop */
	json_t *listen_bound;           /* array: bound on demand (bindreq.c) */
	/* liveness (health.c) and autoscaling (autoscale.c) */
	char *health;                   /* check spec, NULL: none */
	uint64_t health_interval;       /* ms between two checks */
	uint64_t health_timeout;        /* ms one check may take */
	long long health_threshold;     /* failures in a row that replace */
	long long scale_min;            /* instances; scale_max 0: no scaling */
	long long scale_max;
	long long scale_queue;          /* accept queue that asks for more */
	long long scale_cpu;            /* % of an instance's CPU: saturated */
	uint64_t scale_up_window;       /* ms the load must last to grow */
	uint64_t scale_down_window;     /* ms of calm before shrinking */
	long long scale_above_cpus;     /* may grow past the CPU count */
};

/* appcfg.c */
void appcfg_init(struct app_config *);
void appcfg_free(struct app_config *);
int sys_ncpu(void);

/* appcfg-text.c */
int appcfg_set_string(struct app_config *, const char *, const char *,
    char **);

/* appcfg-json.c */
int appcfg_set(struct app_config *, const char *, json_t *, char **);
json_t *appcfg_to_json(const struct app_config *);
int appcfg_from_json(struct app_config *, json_t *, char **);

/* appcfg-cli.c */
const struct args_opt *appcfg_cli_opts(void);
int appcfg_from_args(struct app_config *, const struct args *, char **);

#endif
