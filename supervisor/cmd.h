/* SPDX-License-Identifier: ISC */
/*
 * The control socket's commands: what a handler gets, the table's
 * entries (cmd.c, one cmd-*.c file each), the dispatch and the helpers
 * handlers share. Included by corrald.h, after struct conn and the
 * instances' states and events it names.
 */
#ifndef CMD_H
#define CMD_H

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
	int flags;
	int (*exec)(struct cmd_ctx *);
};

/*
 * The command may start a process (start, restart, reload, scale, set,
 * ...): refused while the daemon shuts down, since nothing would stop
 * what it started and the daemon would never exit.
 */
#define CMD_STARTS 0x1

/* cmd.c */
const struct cmd_entry *cmd_find(const char *);
int cmd_check_print(int, char **);
void cmd_dispatch(struct conn *, json_t *);
json_t *cmd_list_json(struct instance **, size_t);
int cmd_targets(struct cmd_ctx *, size_t, struct instance ***, size_t *);
void cmd_apply(struct cmd_ctx *, struct instance **, size_t, enum inst_event,
    int, const char *);
void cmd_all_instances(struct instance ***, size_t *);
int cmd_act(struct cmd_ctx *, enum inst_event, int,
    void (*)(struct cmd_ctx *, struct instance **, size_t));
void cmd_note(char **, const char *, ...) PRINTFLIKE(2, 3);
extern const struct cmd_entry *cmd_table[];

/* cmd-help.c */
int cmd_help_print(int, char **);

#endif
