/* SPDX-License-Identifier: ISC */
/*
 * corrald's private header: the objects the daemon owns (apps, instances,
 * spawned children, client connections, pending operations) and the
 * prototypes of the files without a module header of their own, grouped by
 * file. Every daemon file includes it; it includes the module headers
 * (an app's settings: appcfg.h; its logs: logsink.h; the host: host.h; the
 * channels to children: chan.h; config sources: appfile.h; observe.h,
 * cluster.h, cgroup.h).
 */
#ifndef CORRALD_H
#define CORRALD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <uv.h>

#include "common.h"
#include "cgroup.h"
#include "logsink.h"
#include "logpipe.h"
#include "cluster.h"
#include "observe.h"
#include "appcfg.h"
#include "host.h"
#include "chan.h"
#include "appfile.h"
#include "cfgfile.h"
#include "cron.h"
#include "hmap.h"
#include "momentfmt.h"
#include "spawn.h"
#include "state.h"
#include "op.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define CONN_MAX_QUEUE (1024 * 1024)    /* queued to a slow stream reader */
#define STATS_INTERVAL_MS 1000       /* max_memory_restart acts within 2 s */

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
	EV_NOT_READY,                   /* the readiness wait failed (the reason
					   is set) */
	EV_DELETE,                      /* stop it and free it once stopped */
	EV_NEVENTS
};

struct app;
struct instance;
struct reload;

/*
 * One spawned process. It outlives the instance's interest in it: after the
 * exit callback its pipes may still drain, so it is freed once its three
 * handles are closed. It holds a reference to its app for the log file.
 */
struct child {
	char *tag;                      /* the keeper's name for it */
	int pidfd;                      /* -1 if the kernel has none */
	struct logpipe out;
	struct logpipe err;
	struct app *app;
	struct instance *inst;          /* NULL once the instance forgot it */
	int index;                      /* the instance index, for log prefixes */
	int handles;                    /* the process until its exit is
					   handled, and the two pipes */
	int exited;                     /* its exit was handled */
	int reaped;                     /* reaped while no engine ran: its
					   pid may be another's, no signal */
	int pid;
	struct cgroup *cg;              /* its cgroup, NULL without */
	uint64_t oom_base;              /* OOM kills in cg before the spawn */
	uint64_t oom_seen;              /* OOM kills in cg counted so far */
	int oom_known;                  /* oom_base was read, or carried */
	struct oomwatch *oom;           /* its OOM events (limits-oom.c), or NULL */
	struct ctlchan *ctl;            /* control channel (ctlchan.c), or NULL */
	struct nodeipc *ipc;            /* Node IPC channel (nodeipc.c), or NULL */
	int ready_mark;                 /* the keeper holds ready/<tag> */
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
	uint64_t timer_due;             /* boot_ms() it fires at (the due
					   time of a backoff, saved) */
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
	struct {                        /* fsm.c's and fsm-adopt.c's alone:
					   read them with fsm_deleting() ... */
		int restart_pending;    /* start again once stopped */
		int deleting;           /* free once stopped */
		int not_ready;          /* killed for not getting ready */
		int start_failed;       /* the last start failed: no process,
					   or not ready */
	} fsm;
	int killed;                     /* SIGKILL already sent this stop */
	int draining;                   /* stopping: waits for DRAINED first */
	int replacement;                /* started by a reload (reload.c) */
	int keep_reason;                /* this stop's reason was set by its cause */
	uint64_t cpu_ticks;             /* last sample */
	uint64_t cpu_at;                /* monotonic ms of the last sample */
	double cpu;                     /* % of one CPU */
	uint64_t memory;                /* bytes */
	struct cgroup_sample sample;    /* readings behind cpu and memory */
	long long oom_kills;            /* its processes the OOM killer killed */
	long long memory_restarts;      /* replaced for max_memory_restart */
	uint64_t memory_restart_at;     /* monotonic ms of the last one */
	struct ready_wait *ready;       /* while the process gets ready */
	long long start_failures;       /* runs that never got ready */
	uint64_t resource_backoff;      /* ms, while the daemon lacks fds */
	int resource_wait;              /* the next spawn is such a retry */
	char status[128];               /* its last STATUS= */
	struct health_check *health;    /* liveness checks of this run */
	unsigned long long generation;  /* spawns so far: its keeper tag's
					   last part (instance_tag()) */
	int tag_id;                     /* its id at that spawn: a reload
					   hands the replacement another */
	uint64_t proc_start;            /* /proc/PID/stat field 22 of ... */
	int proc_start_pid;             /* ... this pid (state-json.c's) */
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
	char *problem;                  /* why a new start of it would be
					   refused (restored all the same:
					   app_declare()), or NULL */
	struct triggers *triggers;      /* cron, watch, identity (triggers.c) */
	struct listener *listeners;     /* held for the app's whole life */
	size_t nlisteners;              /* listen's first, then bound ones */
	size_t ndeclared;               /* those of listen */
	struct ready_spec ready;
	struct reload *reload;          /* the rolling reload running */
	struct autoscale *autoscale;    /* NULL unless it scales itself */
	struct app_counters counters;   /* for the metrics */
	char *state_cfg;                /* cfg as state.json has it (state-json.c) */
	unsigned long state_cfg_epoch;  /* made at this state_configs_changed() */
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
	int resume;                     /* asked for op.c's pending line */
	int kill_waiting;               /* a `kill`: answered as the daemon
					   exits */
	uint64_t reload_since;          /* a reload sent again (reload.c) */
	uint64_t since;                 /* monotonic ms: accepted, or replied */
	int streaming;                  /* events are sent to it */
	char *log_filter;               /* app name, or NULL for every app */
	int log_filter_id;              /* instance id, or -1 */
	uint64_t missed;                /* events dropped for a slow reader */
	struct op *op;                  /* the request waiting for a result */
	unsigned long long mark;        /* state_mark() at its request */
	char *held;                     /* its reply, until state.json has */
	size_t held_len;                /* what the request changed */
	char *pending;                  /* its pending line, the same */
	size_t pending_len;
	const char *pending_fault;      /* the fault point after it */
	TAILQ_ENTRY(conn) entry;
};
TAILQ_HEAD(conn_list, conn);

#include "cmd.h"               /* the commands: their table, dispatch */

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
	uint64_t started_at;
	int next_id;
	struct app_list apps;
	struct hmap app_names;          /* declared apps (not deleted) by name */
	struct hmap inst_ids;           /* every instance by id */
	struct conn_list conns;
	struct op_list ops;
	struct child_list children;
	struct hmap child_tags;         /* children with a tag, by tag */
	uv_pipe_t server;
	uv_timer_t stats_timer;
	uv_signal_t sig_term;
	uv_signal_t sig_int;
	uv_signal_t sig_hup;
	uv_signal_t sig_usr1;
	struct cgroup_root *cgroups;    /* backend none without access */
	char *notice;                   /* told with the next reply, then freed */
};
extern struct daemon D;

/* main.c */
uint64_t now_ms(void);
uint64_t mono_ms(void);
void daemon_alloc(uv_handle_t *, size_t, uv_buf_t *);

/* engine-exec.c */
void daemon_abandon(void);
void daemon_leave(void);

/* shutdown.c */
void daemon_shutdown(struct conn *);
void daemon_check_shutdown(void);

/* appcfg-run.c */
int appcfg_resolve_script(struct app_config *, const char *, json_t *,
    char **);
char *appcfg_search_path(const char *, json_t *);
char **appcfg_argv(const struct app_config *);
char **appcfg_envp(const struct app_config *, int, int, json_t *);
void appcfg_strv_free(char **);

/* app.c, app-check.c */
#define APP_BIND_NOW 1                  /* app_declare(): bind sockets now */
#define APP_RESTORED 2                  /* app_declare(): one that ran,
					   from state.json (app.c's
					   app_check_restored()) */
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
long long app_count(const struct app *);
int *app_ids(struct instance **, size_t);
void app_feed(const int *, size_t, enum inst_event);
void app_instances(struct app *, struct instance ***, size_t *);
int app_check(const struct app_config *, char **);
int app_check_restored(const struct app_config *, char **, char **);
struct app *app_declare(struct app_config *, const char *, int, char **);
void app_scale(struct app *, long long, int **, size_t *);
void app_reconfigure(struct app *, struct app_config *, struct instance ***,
    size_t *, struct instance ***, size_t *);
void app_delete_instance(struct instance *);
void app_delete_ids(const int *, size_t, int);

/* instance.c */
struct instance *instance_create(struct app *, int);
void instance_free(struct instance *);
struct child *child_create(struct instance *);
void child_abort(struct child *);
void child_set_tag(struct child *, const char *);
struct child *child_by_tag(const char *);
void child_exited(struct child *, int);
void child_read_start(struct child *, int, int, int);
void instance_kill(struct instance *, int);
void instance_kill_group(struct instance *, int);
void instance_close_pipes(void);
void instance_set_reason(struct instance *, const char *, ...)
    PRINTFLIKE(2, 3);
json_t *instance_to_json(struct instance *);

/* instance-text.c */
#define INSTANCE_TEXT_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | \
	JSON_REAL_PRECISION(6))
int instance_text(struct state_text *, struct instance *);

/* reload.c */
int reload_start(struct conn *, struct app **, size_t, int, const char *,
    char **);
int reload_instance(struct instance *, char **);
void reload_check_all(void);
void reload_conn_gone(struct conn *);
void reload_free_all(void);

/* fsm.c, fsm-adopt.c */
#define FSM_PEND_RESTART 0x1            /* stopping, to start again */
#define FSM_PEND_NOT_READY 0x2          /* stopping, for not getting ready */
void fsm_event(struct instance *, enum inst_event);
void fsm_timer_start(struct instance *, uint64_t);
void fsm_adopt(struct instance *, enum inst_state, int);
int fsm_pending(const struct instance *);
void fsm_set_hook(void (*)(void));
void fsm_settle(void);
int fsm_deleting(const struct instance *);
int fsm_restart_pending(const struct instance *);
int fsm_start_failed(const struct instance *);

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

/* server.c */
int server_listen(char **);
void server_close(void);
void server_forget(struct conn *);

/* conn.c */
void conn_reply_error(struct conn *, int, const char *, ...)
    PRINTFLIKE(3, 4);
void conn_reply(struct conn *, json_t *);
void conn_reply_list(struct conn *, const char *, struct instance **, size_t,
    json_t *);
void conn_event(struct conn *, json_t *);
void conn_send_pending(struct conn *, json_t *, const char *);
void conn_close(struct conn *);

/* cmd-monit.c */
void monit_conn_gone(struct conn *);

/* leftovers.c */
void leftovers_watch(int, char *, uint64_t);
void leftovers_taken(const struct cgroup *);
int leftovers_pending(int);

/* limits.c */
void limits_init(void);
void limits_shutdown(void);
int limits_spawn(struct instance *, struct child *, struct spawn_plan *,
    char **);
void limits_spawned(struct instance *, struct child *);
void limits_spawn_failed(struct child *);
void limits_adopted(struct instance *, struct child *);
int limits_exited(struct instance *, struct child *);
void limits_forget(struct instance *);
int limits_kill(struct instance *, int);
int limits_apply(struct app *, char **);
json_t *limits_describe(struct instance *);
json_t *limits_info(void);

/* limits-sample.c */
void limits_sample(struct instance *);
void limits_sample_list(struct instance **, size_t);
void limits_baseline(struct instance *, const struct cgroup_usage *);
void limits_refresh(uint64_t);
int64_t limits_tick(void);

/* limits-oom.c */
int limits_oom_count(struct child *, struct instance *);
void limits_oom_watch(struct child *);
void limits_oom_unwatch(struct child *);
void limits_oom_park(struct child *);
void limits_close(void);
void limits_oom_drop(void *);
int limits_oom_quiet(struct child *);

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

/* persist.c */
char *persist_path(void);
json_t *persist_dump(int *);
json_t *persist_app_json(const struct app *);
int persist_app_running(const struct app *);
int persist_app_config(json_t *, json_t *, struct app_config *, char **);
json_t *persist_daemon_env(void);
int persist_resurrect(json_t *, struct instance ***, size_t *, char **,
    char **);

/* cmd-save.c */
void cmd_save_conn_gone(struct conn *);

/* cmd-file.c */
const struct cmd_entry *cmd_file_redirect(const char *, json_t *);

/* triggers.c */
struct triggers;
int triggers_check(const struct app_config *, char **);
int triggers_check_values(const struct app_config *, char **);
int triggers_check_system(const struct app_config *, char **);
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
