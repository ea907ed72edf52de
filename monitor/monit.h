/* SPDX-License-Identifier: ISC */
/*
 * Private header of `corral monit`, the ncurses dashboard: its own program,
 * corral-monit, which `corral monit` runs in its place (so the corral CLI
 * links no ncurses). The monitor is split into pure parts that the unit tests
 * drive without a terminal (the data model fed by the daemon's events, the
 * number formatting, sparklines and table layout, the key state machine)
 * and the parts that touch the terminal or the socket (draw.c, action.c,
 * monit.c; the connections are the client library's, client/client.h).
 */
#ifndef CORRAL_MONIT_H
#define CORRAL_MONIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "client.h"
#include "common.h"

#define MON_HISTORY 300         /* samples of CPU and memory per instance */
#define MON_LOG_LINES 200       /* log lines kept per instance */
#define MON_LOG_MAX 1024        /* bytes kept of one log line */
#define MON_FILTER_MAX 64       /* bytes of the name filter */
#define MON_PENDING_MAX 32      /* unknown instances whose lines are kept */
#define MON_PENDING_AGE 5       /* stats events they are kept for */

/* One log line as received; err is 1 for stderr. */
struct mon_log {
	char *text;
	int err;
};

/* One instance as last reported by the daemon, with its history. */
struct mon_inst {
	int id;
	char *name;
	int index;
	long pid;
	char state[24];
	long restarts;
	uint64_t uptime_ms;
	double cpu;             /* percent of one core */
	uint64_t memory;        /* bytes */
	uint64_t max_memory;    /* bytes, 0 if no limit */
	char *reason;           /* last transition's reason, may be NULL */
	int exit_code;          /* of the last exit, -1 if none or a signal */
	int exit_signal;        /* that ended the last run, 0 if none */
	unsigned gen;           /* model generation that last listed it */
	int siblings;           /* instances of the same app, itself included */

	double cpu_hist[MON_HISTORY];   /* ring, oldest at hist_head */
	double mem_hist[MON_HISTORY];
	size_t hist_len;
	size_t hist_head;
	uint64_t samples;       /* samples ever taken */

	struct mon_log logs[MON_LOG_LINES];     /* ring, oldest at log_head */
	size_t log_len;
	size_t log_head;
	uint64_t log_total;     /* lines ever received, to follow new ones */
};

/* What the monitor knows: host, daemon and instances sorted by id. */
struct mon_model {
	struct mon_inst **inst;
	size_t ninst;
	unsigned gen;

	char *hostname;
	uint64_t daemon_uptime_ms;
	long daemon_pid;
	double load[3];
	uint64_t mem_total;
	uint64_t mem_avail;
	int ncpu;
	uint64_t interval_ms;
	uint64_t updates;       /* stats events applied */
	uint64_t missed;        /* events the daemon dropped for us */
	uint64_t dropped_logs;  /* log lines for no known instance */
	int last_log_id;        /* instance of the last log line, or -1 */

	/*
	 * Lines of instances that no stats event has listed yet (an app
	 * started a moment ago), kept until one does, for a few events.
	 */
	struct mon_inst *pending[MON_PENDING_MAX];
	size_t npending;
};
#define MON_EV_LOG 2
#define MON_EV_MISSED 3

/* model.c */
struct mon_model *mon_model_create(void);
void mon_model_free(struct mon_model *);
int mon_model_apply_line(struct mon_model *, const char *, size_t, char **);
size_t mon_model_merge(struct mon_model *, json_t *);
struct mon_inst *mon_model_find(struct mon_model *, int);
struct mon_inst *mon_model_find_name(struct mon_model *, const char *, int);
size_t mon_model_count(struct mon_model *, const char *);
size_t mon_model_visible(struct mon_model *, const char *,
	    struct mon_inst **, size_t);
size_t mon_inst_history(const struct mon_inst *, int, double *, size_t);
void mon_inst_free(struct mon_inst *);

/* loglines.c */
int mon_model_log(struct mon_model *, json_t *, char **);
void mon_model_adopt(struct mon_model *);
const struct mon_log *mon_inst_log(const struct mon_inst *, size_t);

/* fmt.c */
void mon_fmt_duration(uint64_t, char *, size_t);
void mon_fmt_bytes(uint64_t, char *, size_t);
void mon_fmt_cpu(double, char *, size_t);
void mon_fmt_memory(uint64_t, uint64_t, char *, size_t);
void mon_fmt_exit(const struct mon_inst *, char *, size_t);
size_t mon_fmt_fit(const char *, size_t, char *, size_t);
size_t mon_fmt_width(const char *);

/* spark.c */
#define MON_SPARK_LEVELS 8
double mon_spark_top(const double *, size_t, double, double);
int mon_spark_level(double, double);
size_t mon_spark_render(const double *, size_t, double, int, char *,
	    size_t, size_t);
size_t mon_spark_bucket(const double *, size_t, uint64_t, size_t, double *,
	    size_t);

/* table.c */
enum mon_col {                  /* in display order */
	MON_COL_ID,
	MON_COL_NAME,
	MON_COL_PID,
	MON_COL_STATE,
	MON_COL_RESTARTS,
	MON_COL_UPTIME,
	MON_COL_CPU,
	MON_COL_MEM,
	MON_NCOLS
};
#define MON_TABLE_MARK 2       /* selection marker before the columns */
struct mon_layout {
	int width[MON_NCOLS];   /* 0 when the column is hidden */
	int x[MON_NCOLS];       /* first screen column of each shown column */
	int total;              /* columns used, marker included */
};
void mon_table_layout(int, struct mon_layout *);
size_t mon_table_heading(const struct mon_layout *, char *, size_t);
size_t mon_table_row(const struct mon_layout *, const struct mon_inst *,
	    int, char *, size_t);
int mon_table_scroll(int, int, int, int);
#define MON_MIN_COLS 40
#define MON_MIN_ROWS 12
struct mon_panes {              /* rows of the screen, top to bottom */
	int table_y, table_h;   /* instance rows, below header and heading */
	int detail_y;           /* title, CPU and memory sparklines */
	int log_y, log_h;       /* log title line, then log_h lines */
	int status_y;
};
int mon_table_panes(int, int, int, struct mon_panes *);

/* keys.c */
enum mon_mode {
	MON_MODE_TABLE,         /* arrows move the selection */
	MON_MODE_LOG,           /* arrows scroll the log pane */
	MON_MODE_FILTER,        /* typing the name filter */
	MON_MODE_CONFIRM,       /* waiting for y/n before a delete */
	MON_MODE_HELP           /* help shown, any key closes it */
};
enum mon_action {
	MON_ACT_NONE,
	MON_ACT_REDRAW,         /* state changed, redraw */
	MON_ACT_QUIT,
	MON_ACT_RESTART,
	MON_ACT_RELOAD,
	MON_ACT_STOP,
	MON_ACT_START,
	MON_ACT_ASK_DELETE,     /* entered MON_MODE_CONFIRM */
	MON_ACT_DELETE,         /* confirmed */
	MON_ACT_RESIZE
};
struct mon_keys {
	enum mon_mode mode;
	enum mon_mode back;     /* mode to return to after help */
	int sel;                /* selected row among the visible instances */
	int sel_id;             /* its instance id, -1 to take sel as is */
	int nvis;               /* number of visible instances */
	int page;               /* rows in the table, for page up/down */
	int log_scroll;         /* lines scrolled back in the log pane */
	char filter[MON_FILTER_MAX];
};
void mon_keys_init(struct mon_keys *);
void mon_keys_select(struct mon_keys *, struct mon_inst **);
enum mon_action mon_keys_handle(struct mon_keys *, int);
const char *mon_action_cmd(enum mon_action);

/* draw.c */
struct mon_view {
	int utf8;               /* Unicode blocks and lines allowed */
	int colour;             /* colours started */
	int connected;
	char status[256];       /* transient message for the status line */
	int status_err;
	uint64_t status_until;  /* ms clock after which it is cleared */
	char pending[256];      /* action in flight, shown as such */
	int top;                /* first instance shown in the table */
};
void mon_draw_init(struct mon_view *);
void mon_draw(struct mon_view *, struct mon_model *, struct mon_keys *);

/* monit.c: the state of a running monitor */
#define MON_ACTIONS 4           /* action requests in flight at once */
#define MON_STATUS_MS 6000      /* how long a message stays */
struct mon_action_req {
	struct client conn;     /* fd -1 when the slot is free */
	char what[128];         /* "restart api (id 3)" */
};
struct monit {
	struct mon_model *model;
	struct mon_keys keys;
	struct mon_view view;
	struct client sub;      /* the stats subscription */
	int streaming;          /* sub's reply was read, events follow */
	json_t *argv;           /* words after "monit", for the daemon */
	uint64_t retry_at;
	struct mon_action_req act[MON_ACTIONS];
	int dirty;              /* redraw now (a key, a status message) */
	int stale;              /* redraw soon (events) */
	uint64_t drawn_at;
};
void mon_status(struct monit *, int, const char *, ...) PRINTFLIKE(3, 4);
int monit_main(int, char **);

/* action.c */
int mon_request(struct client *, int, const char *, json_t *, char **);
int mon_reply_read(const char *, size_t, char **, int *, json_t **);
void mon_action_send(struct monit *, enum mon_action);
void mon_action_input(struct monit *, struct mon_action_req *);

#endif
