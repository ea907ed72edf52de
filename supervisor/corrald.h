/* SPDX-License-Identifier: ISC */
/*
 * corrald's private header: the objects the daemon owns (apps, instances,
 * spawned children, client connections, pending operations) and the
 * prototypes of every file, grouped by file.
 */
#ifndef CORRALD_H
#define CORRALD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <uv.h>

#include "common.h"
#include "cgroup.h"
#include "logs.h"
#include "cluster.h"
#include "observe.h"
#include "spawn.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* Restart policy values of app_config.autorestart. */
#define APP_RESTART_ALWAYS 0
#define APP_RESTART_ON_FAILURE 1
#define APP_RESTART_NEVER 2

#define APP_MAX_STOP_CODES 32
#define LOG_LINE_MAX (1024 * 1024)      /* a longer line is cut */
#define CONN_MAX_QUEUE (1024 * 1024)    /* bytes queued to a slow stream reader */
#define STATS_INTERVAL_MS 1000       /* max_memory_restart acts within 2 s */

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

enum inst_state {
	INST_STOPPED,
	INST_STARTING,
	INST_ONLINE,
	INST_STOPPING,
	INST_WAITING,                   /* waiting-restart: backoff timer runs */
	INST_ERRORED,
	INST_NSTATES
};

enum inst_event {
	EV_START,                       /* a user asked to start */
	EV_STOP,                        /* a user asked to stop */
	EV_RESTART,                     /* a user asked to restart */
	EV_READY,                       /* the readiness source said ready */
	EV_EXIT,                        /* the main process exited */
	EV_TIMER,                       /* the state's timer fired */
	EV_DRAINED,                     /* its processes stopped accepting and
					   their connections ended */
	EV_NEVENTS
};

struct app;
struct instance;
struct reload;

/* One stdout or stderr pipe of a child, cut into lines. */
struct logpipe {
	uv_pipe_t pipe;
	struct linebuf lb;
	struct child *child;
	int stream;                     /* 1 stdout, 2 stderr */
	int open;
	int paused;                     /* reading stopped: a log file is full */
	int eof;                        /* the child closed it; close once drained */
	struct logfile_waiter waiter;
};

/*
 * One spawned process. It outlives the instance's interest in it: after the
 * exit callback its pipes may still drain, so it is freed once its three
 * handles are closed. It holds a reference to its app for the log file.
 */
struct child {
	uv_process_t proc;
	struct logpipe out;
	struct logpipe err;
	struct app *app;
	struct instance *inst;          /* NULL once the instance forgot it */
	int index;                      /* the instance index, for log prefixes */
	int handles;                    /* handles not yet closed */
	int pid;
	struct cgroup *cg;              /* its cgroup, NULL without */
	uint64_t oom_base;              /* OOM kills in cg before the spawn */
	struct ctlchan *ctl;            /* control channel (ctlchan.c), or NULL */
	struct nodeipc *ipc;            /* Node IPC channel (nodeipc.c), or NULL */
	TAILQ_ENTRY(child) entry;
};
TAILQ_HEAD(child_list, child);

struct instance {
	struct app *app;
	int index;
	int id;
	enum inst_state state;
	struct child *child;            /* the running process, or NULL */
	uv_timer_t timer;               /* backoff, kill timeout, readiness */
	uint64_t started_at;            /* wall clock ms of the last spawn */
	uint64_t started_mono;          /* monotonic ms of the last spawn */
	int pid;                        /* last pid, 0 if never run */
	long long restarts;
	long long unstable_restarts;
	uint64_t backoff;               /* current exponential delay, ms */
	int exit_code;                  /* -1 when killed by a signal */
	int exit_signal;
	char reason[192];               /* the last transition's reason */
	int reason_stale;               /* reason is the previous run's */
	int restart_pending;            /* start again once stopped */
	int deleting;                   /* free once stopped */
	int killed;                     /* SIGKILL already sent this stop */
	int draining;                   /* stopping: waits for DRAINED first */
	int replacement;                /* started by a reload (reload.c) */
	int keep_reason;                /* this stop's reason was set by its cause */
	uint64_t cpu_ticks;             /* last sample */
	uint64_t cpu_at;                /* monotonic ms of the last sample */
	double cpu;                     /* % of one CPU */
	uint64_t memory;                /* bytes */
	struct cgroup_sample sample;    /* readings behind cpu and memory */
	long long oom_kills;            /* times the OOM killer ended it */
	long long memory_restarts;      /* replaced for max_memory_restart */
	uint64_t memory_restart_at;     /* monotonic ms of the last one */
	struct ready_wait *ready;       /* while the process gets ready */
	int not_ready;                  /* killed for not getting ready */
	long long start_failures;       /* runs that never got ready */
	uint64_t resource_backoff;      /* ms, while the daemon lacks fds */
	int resource_wait;              /* the next spawn is such a retry */
	char status[128];               /* its last STATUS= */
	struct health_check *health;    /* liveness checks of this run */
	TAILQ_ENTRY(instance) entry;
};
TAILQ_HEAD(instance_list, instance);

struct app {
	struct app_config cfg;
	struct instance_list instances;
	int refs;                       /* registry + children alive */
	int deleted;
	int released;                   /* out of the registry */
	struct applogs *logs;           /* logsink-files.c's, NULL if not open */
	int nchildren;                  /* processes alive (and their pipes) */
	char *log_out_path;             /* for `logs` and describe */
	char *log_err_path;
	char *source;                   /* config file it came from, or NULL */
	struct triggers *triggers;      /* cron, watch, identity (triggers.c) */
	struct listener *listeners;     /* held for the app's whole life */
	size_t nlisteners;              /* listen's first, then bound ones */
	size_t ndeclared;               /* those of listen */
	struct ready_spec ready;
	struct reload *reload;          /* the rolling reload running */
	struct autoscale *autoscale;    /* NULL unless it scales itself */
	struct app_counters counters;   /* for the metrics */
	TAILQ_ENTRY(app) entry;
};
TAILQ_HEAD(app_list, app);

/* A client connection on the control socket. */
struct conn {
	uv_pipe_t pipe;
	struct linebuf in;
	int closing;
	int served;                     /* its request was read */
	int refused;                    /* a peer of another uid */
	int replied;                    /* its reply is queued */
	uint64_t since;                 /* monotonic ms: accepted, or replied */
	int streaming;                  /* events are sent to it */
	char *log_filter;               /* app name, or NULL for every app */
	int log_filter_id;              /* instance id, or -1 */
	uint64_t missed;                /* events dropped for a slow reader */
	struct op *op;                  /* the request waiting for a result */
	TAILQ_ENTRY(conn) entry;
};
TAILQ_HEAD(conn_list, conn);

/* What a pending operation waits for. */
#define OP_WANT_SETTLED 0               /* not starting, stopping or pending */
#define OP_WANT_STOPPED 1

/* A request whose reply waits until instances settle. */
struct op {
	struct conn *conn;              /* NULL once the client went away */
	int *ids;
	long long *base;                /* start_failures before, or NULL */
	size_t nids;
	size_t next;                    /* ids before it have settled */
	int want;
	char *message;                  /* printed with the result, or NULL */
	uv_timer_t timeout;
	TAILQ_ENTRY(op) entry;
};
TAILQ_HEAD(op_list, op);

/* Everything a command handler gets. */
struct cmd_ctx {
	struct conn *conn;
	json_t *req;
	struct args args;
	const char *cwd;                /* the client's working directory */
	json_t *env;                    /* the client's environment (object) */
};

#define CMD_REPLIED 0                   /* the handler sent its reply */
#define CMD_PENDING 1                   /* an op will reply later */

struct cmd_entry {
	const char *name;
	const char *aliases[4];
	const char *usage;
	const char *summary;
	const struct args_opt *opts;
	const struct args_opt *(*opts_fn)(void);  /* made at run time */
	int min_args;
	int max_args;                   /* -1: any number */
	int (*exec)(struct cmd_ctx *);
};

/* The daemon's global state. */
struct daemon {
	uv_loop_t *loop;
	char *home;
	char *logs_dir;
	char *sock_path;
	char *pid_path;
	int foreground;
	int resurrect;                  /* --resurrect: bring back dump.json */
	int sock_activated;             /* the control socket came from systemd */
	int shutting_down;
	struct conn *shutdown_conn;     /* the `kill` client to answer */
	uint64_t started_at;
	int next_id;
	struct app_list apps;
	struct hmap app_names;          /* declared apps (not deleted) by name */
	struct hmap inst_ids;           /* every instance by id */
	struct conn_list conns;
	struct op_list ops;
	struct child_list children;
	uv_pipe_t server;
	uv_timer_t stats_timer;
	uv_signal_t sig_term;
	uv_signal_t sig_int;
	uv_signal_t sig_hup;
	uv_signal_t sig_usr1;
	struct cgroup_root *cgroups;    /* backend none without access */
};
extern struct daemon D;

/* main.c */
uint64_t now_ms(void);
uint64_t mono_ms(void);
void daemon_alloc(uv_handle_t *, size_t, uv_buf_t *);
void daemon_shutdown(struct conn *);
void daemon_check_shutdown(void);

/* appcfg.c */
void appcfg_init(struct app_config *);
void appcfg_free(struct app_config *);
int appcfg_set(struct app_config *, const char *, json_t *, char **);
int appcfg_set_string(struct app_config *, const char *, const char *,
    char **);
json_t *appcfg_to_json(const struct app_config *);
int appcfg_from_json(struct app_config *, json_t *, char **);
const struct args_opt *appcfg_cli_opts(void);
int appcfg_from_args(struct app_config *, const struct args *, char **);
int appcfg_resolve_script(struct app_config *, const char *, json_t *,
    char **);
char *appcfg_search_path(const char *, json_t *);
char **appcfg_argv(const struct app_config *);
char **appcfg_envp(const struct app_config *, int, int, json_t *);
void appcfg_strv_free(char **);
int sys_ncpu(void);

/* app.c */
struct app *app_create(struct app_config *);
void app_ref(struct app *);
void app_unref(struct app *);
struct app *app_find(const char *);
struct instance *app_find_instance(int, int);
void app_index_instance(struct instance *, int);
void app_unindex_instance(struct instance *);
void app_release(struct app *);
int app_targets(const char *, struct instance ***, size_t *, char **);
void app_delete(struct app *);
int app_settled(const struct app *);
const char *app_state_name(enum inst_state);

/* instance.c */
struct instance *instance_create(struct app *, int);
void instance_free(struct instance *);
struct child *child_create(struct instance *);
void child_abort(struct child *, int);
void child_exited(uv_process_t *, int64_t, int);
void child_read_start(struct child *);
void instance_kill(struct instance *, int);
void instance_kill_group(struct instance *, int);
void instance_close_pipes(void);
void instance_set_reason(struct instance *, const char *, ...)
    PRINTFLIKE(2, 3);
json_t *instance_to_json(struct instance *);

/* reload.c */
int reload_start(struct conn *, struct app **, size_t, int, const char *,
    char **);
int reload_instance(struct instance *, char **);
void reload_check_all(void);
void reload_conn_gone(struct conn *);
void reload_free_all(void);

/* cmd-scale.c */
void scale_apply(struct app *, long long, int **, size_t *);

/* fsm.c */
void fsm_event(struct instance *, enum inst_event);

/* policy.c */
#define POLICY_STOP 0
#define POLICY_RESTART 1
#define POLICY_ERRORED 2
struct policy_state {
	long long unstable_restarts;
	uint64_t backoff;
};
int policy_on_exit(const struct app_config *, struct policy_state *, int,
    int, uint64_t, uint64_t *);

/* logsink.c */
int logsink_next(const char *, size_t, int, size_t *, size_t *);
int logsink_drain(struct logpipe *, int);
void logsink_start(void);
void logsink_stop(void);

/* logsink-files.c */
int logsink_check(const struct app_config *, char **);
int logsink_open(struct app *, char **);
void logsink_close(struct app *);
void logsink_idle(struct app *);
struct logfile *logsink_file(struct app *, int, int);
struct logfile *logsink_comb(struct app *);
struct logfile *logsink_journal(struct app *);
void logsink_forget_journal(void);
int logsink_flush(struct app *);
void logsink_reopen_all(void);
json_t *logsink_status(struct app *);
int logsink_dropped(struct app *, uint64_t *);
void logsink_files(struct app *, json_t *, int, int);

/* logdir.c */
void logdir_owner(const struct app_config *, uid_t *, gid_t *);
int logdir_make(const char *, uid_t, gid_t, char **);
void logdir_retry(struct app *);
void logdir_tick(void);

/* server.c */
int server_listen(char **);
void server_close(void);
void server_forget(struct conn *);

/* conn.c */
void conn_send(struct conn *, json_t *);
void conn_reply_error(struct conn *, int, const char *, ...)
    PRINTFLIKE(3, 4);
void conn_reply(struct conn *, json_t *);
void conn_reply_list(struct conn *, const char *, struct instance **, size_t,
    json_t *);
void conn_event(struct conn *, json_t *);
void conn_close(struct conn *);

/* op.c */
void op_create(struct conn *, const int *, size_t, int, const char *);
void op_create_tracked(struct conn *, const int *, const long long *, size_t,
    int, const char *);
void op_check_all(void);
void op_conn_gone(struct conn *);

/* cmd-monit.c */
void monit_conn_gone(struct conn *);

/* hoststat.c */
json_t *hoststat_json(void);
int hoststat_meminfo(const char *, uint64_t *, uint64_t *);
int hoststat_loadavg(const char *, double *);

/* stats.c */
void stats_start(void);
void stats_sample(struct instance *);

/* fdlimit.c */
void fdlimit_close_inherited(void);
void fdlimit_raise(void);
unsigned long long fdlimit_child_soft(void);
json_t *fdlimit_info(void);

/* limits.c */
void limits_init(void);
void limits_shutdown(void);
int limits_spawn(struct instance *, struct child *, struct spawn_plan *,
    char **);
void limits_spawn_failed(struct child *);
int limits_spawned(struct child *, char **);
void limits_exited(struct instance *, struct child *);
int limits_kill(struct instance *, int);
int limits_apply(struct app *, char **);
json_t *limits_describe(struct instance *);
json_t *limits_info(void);

/* limits-sample.c */
void limits_sample(struct instance *);
void limits_refresh(uint64_t);
void limits_tick(void);

/* cmd.c */
const struct cmd_entry *cmd_find(const char *);
void cmd_dispatch(struct conn *, json_t *);
json_t *cmd_list_json(struct instance **, size_t);
int cmd_targets(struct cmd_ctx *, size_t, struct instance ***, size_t *);
void cmd_apply(struct cmd_ctx *, struct instance **, size_t, enum inst_event,
    int, const char *);
void cmd_all_instances(struct instance ***, size_t *);
extern const struct cmd_entry *cmd_table[];

/* cmd-help.c */
int cmd_help_print(int, char **);

/* sdnotify.c */
int sdnotify_init(uv_loop_t *, char *(*)(void));
void sdnotify_close(void);
void sdnotify_ready(void);
void sdnotify_stopping(void);
void sdnotify_status(const char *, ...) PRINTFLIKE(1, 2);
int sdnotify_listen_fd(const char *);
int sdnotify_private_env(const char *, size_t);

/* privdrop.c */
struct privdrop {
	int active;                     /* the daemon is root: apply() switches */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	char *name;                     /* user name, NULL if unknown */
	char *home;                     /* home folder, NULL if unknown */
};
int privdrop_resolve(const char *, const char *, struct privdrop *, char **);
void privdrop_free(struct privdrop *);
int privdrop_apply(const struct privdrop *);

/* cfgload.c */
struct cfgload {
	char *path;                     /* absolute path of the file */
	struct app_config *cfgs;        /* checked, scripts resolved */
	size_t n;
	char *ignored;                  /* options of a PM2 file left out */
	json_t *declared;               /* names of every app of the file */
};
int cfgload_build(struct cmd_ctx *, const char *, struct cfgfile *,
    struct cfgload *, char **);
void cfgload_free(struct cfgload *);
int cfgload_is_file(json_t *);
int cfgload_declares(const struct cfgload *, const char *);
int cfgload_wanted(const char *, const char *);

/* ctlchan.c */
struct ctlchan;
int ctlchan_open(struct child *, char **);
void ctlchan_spawned(struct child *);
void ctlchan_close(struct child *);
int ctlchan_drain(struct child *);

/* nodeipc.c */
struct nodeipc;
int nodeipc_prepare(struct child *, uv_stdio_container_t *, int, json_t *);
void nodeipc_spawned(struct child *);
void nodeipc_close(struct child *);
int nodeipc_send(struct child *, const char *);

/* bindreq.c */
int bindreq_serve(struct app *, const char *, int *);

/* pm2compat.c */
const char *pm2compat_exec_mode(const char *, char **);
int pm2compat_words(json_t *, const char *, const char *, char **);
void pm2compat_resolve(struct app_config *);
int pm2compat_cluster(const struct app_config *);
int pm2compat_is_node(const struct app_config *);
const char *pm2compat_instance_var(const struct app_config *);

/* cfgread.c */
typedef void cfgread_cb(struct cmd_ctx *, const char *, struct cfgfile *,
    char *);
void cfgread_start(struct cmd_ctx *, cfgread_cb *);
void cfgread_conn_gone(struct conn *);

/* ecoeval.c */
typedef void ecoeval_cb(void *, struct cfgfile *, char *);
char *ecoeval_node(json_t *);
int ecoeval_start(const char *, const char *, const char *, json_t *,
    ecoeval_cb *, void *, char **);
void ecoeval_shutdown(void);

/* persist.c */
int persist_save(char **);
json_t *persist_daemon_env(void);
int persist_resurrect(json_t *, struct instance ***, size_t *, char **,
    char **);

/* bootfile.c */
void bootfile_reply(json_t *);
void bootfile_start(const char *);

/* cmd-file.c */
const struct cmd_entry *cmd_file_redirect(const char *, json_t *);

/* triggers.c */
struct triggers;
int triggers_check(const struct app_config *, char **);
void triggers_start(struct app *);
void triggers_stop(struct app *);
void triggers_spawn(struct app *, struct spawn_plan *);
void triggers_describe(const struct app *, json_t *);

/* watch.c */
struct watch;
struct watch *watch_create(uv_loop_t *, const char *, json_t *, json_t *,
    uint64_t, void (*)(void *, const char *), void *, char **);
void watch_free(struct watch *);
size_t watch_count(const struct watch *);

#endif
