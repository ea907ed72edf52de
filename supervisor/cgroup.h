/* SPDX-License-Identifier: ISC */
/*
 * The cgroup module: one interface over cgroup v2 (unified) and v1 (legacy
 * and hybrid hosts), plus the /proc fallback used when the daemon may not
 * write any cgroup.  The daemon gets one struct cgroup_root at start-up
 * (which finds the backend from /proc/self/mountinfo and /proc/self/cgroup
 * and sets up <its own cgroup>/<name>), then one struct cgroup per instance
 * at <name>/<app>.app/<instance>.  Children join their cgroup before they exec
 * (the daemon writes the pid of build/corral-exec, which waits for it,
 * into every file cgroup_join_files() gives).  Each top is locked by its
 * daemon for its life (cgroup-lock.c): nothing here touches a cgroup of
 * another live daemon.
 */
#ifndef CORRAL_CGROUP_H
#define CORRAL_CGROUP_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hmap.h"

enum cgroup_backend {
	CGROUP_NONE,            /* no access: process groups and /proc */
	CGROUP_V1,
	CGROUP_V2,
};

/* What a root or a hierarchy can do, as bits. */
#define CGROUP_MEMORY   0x01    /* memory limits, usage, OOM events */
#define CGROUP_CPU      0x02    /* CPU quota */
#define CGROUP_CPUACCT  0x04    /* CPU usage */
#define CGROUP_PIDS     0x08    /* pids.max */
#define CGROUP_FREEZER  0x10    /* freeze (v1 freezer, v2 cgroup.freeze) */
#define CGROUP_KILL     0x20    /* v2 cgroup.kill */
#define CGROUP_SWAP     0x40    /* swap can be limited too */
#define CGROUP_FILESTAT 0x80    /* usage: read memory.stat's file cache */

/* Flags of cgroup_root_create(). */
#define CGROUP_ROOT_OFF         0x1     /* act as if no cgroup were writable */
#define CGROUP_ROOT_NO_SCOPE    0x2     /* never ask systemd for a scope */

#define CGROUP_CPU_PERIOD_US 100000

/*
 * An app's directory is its name with CGROUP_APP_SUFFIX: no interface file
 * of any controller, now or later (memory.max, tasks, cgroup.procs), ends
 * that way, so every valid app name (parse_app_name) names a cgroup.
 */
#define CGROUP_APP_SUFFIX ".app"

/* Busy instance cgroups (a reload's old process) get <index>.<gen>. */
#define CGROUP_MAX_GEN 8

/* Limits of one instance; 0 means "no limit" everywhere. */
struct cgroup_limits {
	uint64_t max_memory;    /* bytes: memory.max / memory.limit_in_bytes */
	uint64_t memory_high;   /* bytes: memory.high (v1: soft limit) */
	uint32_t cpu_milli;     /* thousandths of a core: 50% = 500, 1.5 = 1500 */
	uint64_t max_pids;      /* pids.max */
};

/* Usage of one instance; flags says which fields were read. */
struct cgroup_usage {
	uint64_t memory;        /* bytes in use, less inactive file cache */
	uint64_t cpu_usec;      /* CPU time used, cumulative */
	uint64_t pids;          /* tasks (v1/v2) or processes (/proc) */
	uint64_t oom_kills;     /* OOM kills so far in this cgroup */
	uint64_t inactive_file; /* the file cache left out of memory */
	int flags;              /* CGROUP_MEMORY, CGROUP_CPUACCT, CGROUP_PIDS,
				   CGROUP_FILESTAT, CGROUP_KILL (oom_kills) */
};

/*
 * What `ls` shows, kept per instance: CPU percent over the last sampling
 * interval and memory, from two readings of cgroup_read_usage() (or
 * cgroup_proc_usage()).
 */
struct cgroup_sample {
	uint64_t cpu_usec;      /* reading of the last update */
	uint64_t wall_us;       /* monotonic time of the last update */
	double cpu;             /* percent of one core */
	uint64_t memory;        /* bytes */
	int valid;              /* a first reading was taken */
};

#define CGROUP_MAX_HIER 6

/* One mounted hierarchy the daemon uses (v2: exactly one). */
struct cgroup_hier {
	int controllers;        /* CGROUP_* bits it carries for us */
	char *own;              /* the daemon's own cgroup directory in it */
	char *top;              /* own + "/" + name: where instances live */
	int lockfd;             /* holds top's flock() for the daemon's life */
};

/*
 * A directory to remove, off the critical path: cgroup_root_gc_batch()
 * tries it once due (rmdir costs, in v1 once per hierarchy), again each
 * second while a dying task holds it.
 */
struct cgroup_pending {
	char *dir;
	uint64_t due_ms;        /* monotonic ms of the next try */
	int tries;              /* left before giving up */
	int parent;             /* once removed, try its parent (the app's) */
};

/* The stat files of one instance, held open while someone samples it. */
#define CGROUP_STAT_MEMORY      0       /* memory.usage_in_bytes, .current */
#define CGROUP_STAT_MEMSTAT     1       /* memory.stat */
#define CGROUP_STAT_CPU         2       /* cpuacct.usage, cpu.stat */
#define CGROUP_STAT_NFILES      3
struct cgroup_stat {
	struct cgroup *cg;
	int fd[CGROUP_STAT_NFILES];     /* -1: not available */
	int nfd;                        /* those open */
	uint64_t used;                  /* the caller's clock at the last hold */
	LIST_ENTRY(cgroup_stat) entry;
};
LIST_HEAD(cgroup_stat_list, cgroup_stat);

/*
 * What a cgroup's last process left known about it, for the next process
 * of its slot (cgroup-slot.c).
 */
struct cgroup_carry {
	int vacant;             /* the exit saw it empty */
	int counted;            /* oom_kills is its count of OOM kills */
	uint64_t oom_kills;
	void *watch;            /* the caller's OOM watch, kept with it */
};

/*
 * An instance slot's cgroup (<app>.app/<index>[.<gen>]) kept, empty, for
 * the next spawn of that slot: no rmdir at the exit, no mkdir and no
 * limit written at the next spawn when the limits are the same.
 */
struct cgroup_slot {
	char *rel;
	struct cgroup_limits applied;   /* what its files say, if known */
	int known;
	struct cgroup_carry carry;
	TAILQ_ENTRY(cgroup_slot) entry;
};
TAILQ_HEAD(cgroup_slot_list, cgroup_slot);

struct cgroup_root {
	enum cgroup_backend backend;
	int controllers;        /* union of the hierarchies' bits */
	int nhier;
	struct cgroup_hier hier[CGROUP_MAX_HIER];
	char *name;             /* "corral" or what the caller chose */
	char *cause;            /* why something is not enforced, or NULL */
	char *scope;            /* transient systemd scope we asked for */
	char *leaf;             /* v2: the leaf the daemon moved itself into */
	struct cgroup_pending *pending; /* to rmdir, deferred or busy */
	size_t npending;
	struct cgroup_stat_list held;   /* instances' open stat files */
	size_t nheld;                   /* descriptors they hold */
	unsigned nstagger;      /* cgroups sampled: their memory.stat turns */
	struct hmap slots;      /* rel -> struct cgroup_slot: idle, kept */
	struct hmap busy;       /* rel -> struct cgroup: a process's */
	struct cgroup_slot_list slot_list;      /* the same, to free them */
	void (*watch_drop)(void *);     /* ends a carry's watch, or NULL */
};

struct cgroup {
	struct cgroup_root *root;
	char *app;              /* "<app name>.app": its directory */
	char *rel;              /* "<app>.app/<instance>" below each top */
	unsigned nsamples;      /* 0, or 1 + its offset + later samples */
	int fresh;              /* made now, no limit ever set */
	int known;              /* applied holds what its files say */
	struct cgroup_limits applied;
	uint64_t inactive_file; /* from memory.stat, read every 10 samples */
	struct cgroup_stat *stat;       /* held stat files, or NULL */
	int zero;               /* made now: every counter is 0 */
	struct cgroup_carry carry;      /* the caller's to fill for its slot */
	int busy;               /* in root->busy: cgroup_create() skips it */
};

/* cgroup.c */
char *cgroup_default_name(const char *, const char *);
void cgroup_keeper_set(pid_t);
pid_t cgroup_keeper_beside(void);
struct cgroup_root *cgroup_root_create(const char *, int);
void cgroup_root_teardown(struct cgroup_root *);
void cgroup_root_free(struct cgroup_root *);
void cgroup_root_sweep(struct cgroup_root *);
int cgroup_root_ensure_tops(struct cgroup_root *, char **);

const char *cgroup_backend_name(enum cgroup_backend);
const char *cgroup_root_top(const struct cgroup_root *);
json_t *cgroup_root_info(const struct cgroup_root *);

/* cgroup-instance.c */
char *cgroup_rel(const char *, int, int);
struct cgroup *cgroup_create(struct cgroup_root *, const char *, int,
    char **);
void cgroup_free(struct cgroup *);
int cgroup_destroy(struct cgroup *);
char *cgroup_dir(const struct cgroup *, int);
char **cgroup_join_files(const struct cgroup *, size_t *);
void cgroup_join_files_free(char **, size_t);
int cgroup_join(const struct cgroup *, pid_t);
char *cgroup_path(const struct cgroup *);
char *cgroup_dir_for(const struct cgroup *, int);
int cgroup_set_limits(struct cgroup *, const struct cgroup_limits *,
    char **);
int cgroup_read_usage(const struct cgroup *, struct cgroup_usage *);
int cgroup_pids(const struct cgroup *, pid_t **, size_t *);
int cgroup_is_empty(const struct cgroup *);
json_t *cgroup_describe(const struct cgroup *, const struct cgroup_limits *);
double cgroup_cpu_percent(uint64_t, uint64_t, uint64_t, uint64_t);
void cgroup_sample_update(struct cgroup_sample *, const struct cgroup_usage *,
    uint64_t);

/* cgroup-sample.c */
int cgroup_sample_want(struct cgroup *);
int cgroup_sample_read(struct cgroup *, int, struct cgroup_usage *);

/* cgroup-adopt.c */
struct cgroup *cgroup_find(struct cgroup_root *, const char *, int, pid_t);
struct cgroup *cgroup_find_gone(struct cgroup_root *, const char *, int);

/* cgroup-gc.c */
void cgroup_root_pending_add(struct cgroup_root *, const char *);
void cgroup_root_pending_defer(struct cgroup_root *, const char *, int);
void cgroup_root_pending_drop(struct cgroup_root *, const char *);
int cgroup_root_pending_has(const struct cgroup_root *, const char *);
void cgroup_root_gc(struct cgroup_root *);
int64_t cgroup_root_gc_batch(struct cgroup_root *, size_t);
void cgroup_root_gc_all(struct cgroup_root *, int);
void cgroup_root_pending_free(struct cgroup_root *);

/* cgroup-exit.c */
int cgroup_has_tasks(const struct cgroup *);
char *cgroup_kill_dir(const struct cgroup *);
int cgroup_read_oom(const struct cgroup *, uint64_t *);
int cgroup_kill(const struct cgroup *, int);
void cgroup_discard(struct cgroup *);

/* cgroup-slot.c */
struct cgroup *cgroup_new(struct cgroup_root *, const char *);
void cgroup_gen(struct cgroup *, const char *, int, int);
int cgroup_busy(struct cgroup_root *, const char *);
void cgroup_busy_mark(struct cgroup *);
void cgroup_busy_clear(struct cgroup *);
struct cgroup_slot *cgroup_slot_take(struct cgroup_root *, const char *);
int cgroup_reuse(struct cgroup *);
void cgroup_spawn_usage(const struct cgroup *, int, struct cgroup_usage *);
void cgroup_slot_put(struct cgroup_root *, struct cgroup_slot *);
void cgroup_release(struct cgroup *);
void cgroup_forget_slot(struct cgroup_root *, const char *, int);
void cgroup_slots_unwatch(struct cgroup_root *);
void cgroup_carry_unwatch(struct cgroup_root *, struct cgroup_carry *);
void cgroup_slots_free(struct cgroup_root *, int);

/* cgroup-limits.c */
int cgroup_parse_cpu(const char *, uint32_t *, char **);
int cgroup_limits_set(struct cgroup_limits *, const char *, const char *,
    char **);
json_t *cgroup_limits_json(const struct cgroup_limits *);
int cgroup_limits_from_json(struct cgroup_limits *, json_t *, char **);

/* cgroup-detect.c */
struct cgroup_mount {
	char *dir;              /* mount point */
	char *root;             /* root of the mount inside its hierarchy */
	int v2;
	int controllers;        /* v1: CGROUP_* from the super options */
	int named;              /* v1: a name= hierarchy without controllers */
};
struct cgroup_detect {
	int nmount;
	struct cgroup_mount mount[16];
	char *v2dir;            /* own cgroup in the unified hierarchy */
	int nv1;
	struct {
		int controllers;
		char *dir;      /* own cgroup in this v1 hierarchy */
	} v1[CGROUP_MAX_HIER];
};
char *cgroup_unescape(const char *, size_t);
int cgroup_v1_controller_bits(const char *);
int cgroup_detect_parse(const char *, const char *, struct cgroup_detect *);
void cgroup_detect_free(struct cgroup_detect *);
int cgroup_v2_controller_bits(const char *);

/* cgroup-file.c */
int cgroup_file_write(const char *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int cgroup_file_open(const char *, const char *, int);
ssize_t cgroup_fd_read(int, char *, size_t);
ssize_t cgroup_file_read(const char *, const char *, char *, size_t);
int cgroup_parse_u64(const char *, uint64_t *);
int cgroup_parse_key(const char *, const char *, uint64_t *);
int cgroup_file_u64(const char *, const char *, uint64_t *);
int cgroup_file_key(const char *, const char *, const char *, uint64_t *);
void cgroup_usage_memory(struct cgroup_usage *, uint64_t, const uint64_t *);
void cgroup_file_memory(const char *, const char *, const char *, int,
    struct cgroup_usage *);
int cgroup_file_exists(const char *, const char *);
char *cgroup_slurp(const char *);
int cgroup_mkdirs(const char *, const char *);
int cgroup_read_pids(const char *, pid_t **, size_t *);
int cgroup_rmdir(const char *);
int cgroup_rmtree(const char *, int);

/* cgroup-v1.c */
int cgroup_v1_setup(struct cgroup_root *, const struct cgroup_detect *);
int cgroup_v1_set_limits(struct cgroup *, const struct cgroup_limits *,
    char **);
int cgroup_v1_read_usage(const struct cgroup *, struct cgroup_usage *, int);
int cgroup_v1_kill(const struct cgroup *, int);

/* cgroup-v2.c */
int cgroup_v2_setup(struct cgroup_root *, const struct cgroup_detect *);
void cgroup_v2_teardown(struct cgroup_root *);
void cgroup_v2_reenable(struct cgroup_root *);
int cgroup_v2_prepare_app(struct cgroup_root *, const char *);
int cgroup_v2_set_limits(struct cgroup *, const struct cgroup_limits *,
    char **);
int cgroup_v2_read_usage(const struct cgroup *, struct cgroup_usage *, int);
int cgroup_v2_kill(const struct cgroup *, int);
void cgroup_v2_oom_group(const struct cgroup *);

/* cgroup-lock.c */
int cgroup_lock_top(const char *, int, char **);
int cgroup_lock_keep(const char *, int *, char **);
int cgroup_lock_sweep_others(const char *, const char *);

/* cgroup-kill.c */
int cgroup_kill_pids(const char *, int);
int cgroup_kill_frozen(const char *, int, const char *, const char *,
    const char *, const char *);

/* cgroup-proc.c */
int cgroup_proc_usage(const pid_t *, size_t, struct cgroup_usage *);
int cgroup_proc_kill(pid_t, int);

/* cgroup-oom.c */
int cgroup_oom_eventfd(const struct cgroup *);
char *cgroup_oom_events_file(const struct cgroup *);
int cgroup_oom_kills(const struct cgroup *, uint64_t *);

/* cgroup-stat.c */
#define CGROUP_STAT_HELD 2      /* files a hold keeps open: memory, CPU */
int cgroup_stat_hold(struct cgroup *, uint64_t, size_t);
void cgroup_stat_release(struct cgroup *);
uint64_t cgroup_stat_expire(struct cgroup_root *, uint64_t, uint64_t);
int cgroup_stat_read(const struct cgroup *, struct cgroup_usage *, int);

/* cgroup-scope.c */
int cgroup_scope_request(char **, char **);

#endif
