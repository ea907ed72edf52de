/* SPDX-License-Identifier: ISC */
/*
 * The table of commands and the dispatch of a request to one: find the
 * command by name or alias, parse its argv with its option table, check
 * the number of words, run it. Usage errors are replied with exit 100.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

extern const struct cmd_entry cmd_monit_entry;
extern const struct cmd_entry cmd_reloadlogs_entry;
extern const struct cmd_entry cmd_start_entry, cmd_stop_entry,
    cmd_restart_entry, cmd_delete_entry, cmd_signal_entry, cmd_list_entry,
    cmd_jlist_entry, cmd_describe_entry, cmd_reset_entry, cmd_ping_entry,
    cmd_kill_entry, cmd_logs_entry, cmd_flush_entry, cmd_help_entry,
    cmd_version_entry, cmd_save_entry, cmd_resurrect_entry,
    cmd_reload_entry, cmd_scale_entry, cmd_set_entry, cmd_doctor_entry,
    cmd_prettylist_entry, cmd_id_entry, cmd_pid_entry, cmd_env_entry,
    cmd_startor_entry, cmd_update_entry, cmd_engine_entry;

const struct cmd_entry *cmd_table[] = {
	&cmd_start_entry,
	&cmd_startor_entry,
	&cmd_stop_entry,
	&cmd_restart_entry,
	&cmd_reload_entry,
	&cmd_scale_entry,
	&cmd_delete_entry,
	&cmd_signal_entry,
	&cmd_list_entry,
	&cmd_jlist_entry,
	&cmd_prettylist_entry,
	&cmd_describe_entry,
	&cmd_id_entry,
	&cmd_pid_entry,
	&cmd_env_entry,
	&cmd_reset_entry,
	&cmd_set_entry,
	&cmd_doctor_entry,
	&cmd_logs_entry,
	&cmd_monit_entry,
	&cmd_flush_entry,
	&cmd_reloadlogs_entry,
	&cmd_ping_entry,
	&cmd_kill_entry,
	&cmd_update_entry,
	&cmd_engine_entry,
	&cmd_save_entry,
	&cmd_resurrect_entry,
	&cmd_version_entry,
	&cmd_help_entry,
	NULL
};

const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry **e;
	size_t i;

	for (e = cmd_table; *e != NULL; e++) {
		if (strcmp((*e)->name, name) == 0)
			return *e;
		for (i = 0; i < nitems((*e)->aliases) && (*e)->aliases[i]; i++) {
			if (strcmp((*e)->aliases[i], name) == 0)
				return *e;
		}
	}
	return NULL;
}

/* The instance objects of ls and jlist. */
json_t *
cmd_list_json(struct instance **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, instance_to_json(v[i]));
	return a;
}

/*
 * Finds the command name (or the file command it stands for) and parses
 * argv into *args by its table. Returns the entry, or NULL with *cause:
 * what a client is told, with a usage error (EXIT_USAGE). The caller
 * frees *args (also on error) and *cause.
 */
static const struct cmd_entry *
cmd_parse(const char *name, json_t *argv, struct args *args, char **cause)
{
	const struct cmd_entry *e;
	char *why = NULL;
	size_t npos;

	memset(args, 0, sizeof *args);
	if ((e = cmd_file_redirect(name, argv)) == NULL &&
	    (e = cmd_find(name)) == NULL) {
		xasprintf(cause, "unknown command '%s' (see corral --help)",
		    name);
		return NULL;
	}
	if (args_parse(e->opts_fn != NULL ? e->opts_fn() : e->opts, argv,
	    args, &why) == -1) {
		xasprintf(cause, "%s: %s", e->name, why);
		free(why);
		return NULL;
	}
	npos = args_npos(args);
	if ((int)npos < e->min_args || (e->max_args >= 0 &&
	    (int)npos > e->max_args)) {
		xasprintf(cause, "usage: corral %s %s", e->name, e->usage);
		return NULL;
	}
	return e;
}

/*
 * corrald --check-command COMMAND [WORD...]: whether a daemon would take
 * the words, told without starting one (the client asks before it starts
 * a daemon for a command). Returns 0, or EXIT_USAGE with the reason on
 * stderr as the client prints a daemon's.
 */
int
cmd_check_print(int argc, char **argv)
{
	struct args args;
	json_t *words = json_array();
	char *cause = NULL;
	int i, rc = 0;

	memset(&args, 0, sizeof args);
	for (i = 1; i < argc; i++)
		json_array_append_new(words, json_str(argv[i]));
	if (argc < 1)
		xasprintf(&cause, "usage: corrald --check-command command "
		    "[word ...]");
	else
		(void)cmd_parse(argv[0], words, &args, &cause);
	if (cause != NULL) {
		fprintf(stderr, "corral: %s\n", cause);
		rc = EXIT_USAGE;
	}
	args_free(&args);
	free(cause);
	json_decref(words);
	return rc;
}

/*
 * A reload sent again after an engine's death says since when its first
 * engine reloaded (ms since the epoch, from its pending line): 0 or -1,
 * replied to, when that is not such a time.
 */
static int
cmd_reload_since(struct conn *conn, json_t *req)
{
	json_t *since = json_object_get(req, "since");

	if (since == NULL)
		return 0;
	if (!json_is_integer(since) || json_integer_value(since) < 0) {
		conn_reply_error(conn, EXIT_USAGE, "malformed request: since "
		    "must be a time in ms since the epoch");
		return -1;
	}
	conn->reload_since = (uint64_t)json_integer_value(since);
	return 0;
}

/*
 * A command that may start a process, sent while the daemon shuts down:
 * refused (returns -1, replied to), as `update` is. Read-only commands
 * and stop, delete and signal go on.
 */
static int
cmd_refuse_stopping(struct conn *conn, const char *name,
    const struct cmd_entry *e)
{
	if (!D.shutting_down || !(e->flags & CMD_STARTS))
		return 0;
	conn_reply_error(conn, 1, "%s: refused, the daemon is stopping every "
	    "app to exit; run it again once the daemon has exited", name);
	return -1;
}

void
cmd_dispatch(struct conn *conn, json_t *req)
{
	const struct cmd_entry *e;
	struct cmd_ctx ctx;
	const char *name = json_string_value(json_object_get(req, "cmd"));
	char *cause = NULL;

	if (name == NULL) {
		conn_reply_error(conn, 1, "malformed request: no command");
		return;
	}
	if (conn != NULL) {
		/* a client that can follow its reply to the next engine */
		conn->resume = json_is_true(json_object_get(req, "resume"));
		if (cmd_reload_since(conn, req) == -1)
			return;
		if (strcmp(name, "await") == 0) {
			op_await(conn, req);
			return;
		}
	}
	memset(&ctx, 0, sizeof ctx);
	if ((e = cmd_parse(name, json_object_get(req, "argv"), &ctx.args,
	    &cause)) == NULL) {
		conn_reply_error(conn, EXIT_USAGE, "%s", cause);
		goto out;
	}
	if (cmd_refuse_stopping(conn, name, e) == -1)
		goto out;
	ctx.conn = conn;
	ctx.req = req;
	ctx.cwd = json_string_value(json_object_get(req, "cwd"));
	ctx.env = json_object_get(req, "env");
	if (ctx.cwd == NULL)
		ctx.cwd = "/";
	if (!json_is_object(ctx.env))
		ctx.env = NULL;
	e->exec(&ctx);
	stats_wake();   /* a command may bring the 1 s tick work (stats.c) */
out:
	free(cause);
	args_free(&ctx.args);
}

/*
 * The instances named by the first word of the command. Replies with an
 * error and returns -1 when there are none; the caller frees *v.
 */
int
cmd_targets(struct cmd_ctx *ctx, size_t word, struct instance ***v,
    size_t *n)
{
	char *cause = NULL;

	if (app_targets(args_pos(&ctx->args, word), v, n, &cause) == -1) {
		conn_reply_error(ctx->conn, 1, "%s", cause);
		free(cause);
		free(*v);
		return -1;
	}
	return 0;
}

/*
 * Feeds ev to each instance and replies once they settle as want says,
 * with message (may be NULL) above the list.
 */
void
cmd_apply(struct cmd_ctx *ctx, struct instance **v, size_t n,
    enum inst_event ev, int want, const char *message)
{
	int *ids = app_ids(v, n);
	long long *base = xcalloc(n + 1, sizeof *base);
	size_t i;

	for (i = 0; i < n; i++)
		base[i] = v[i]->start_failures;
	app_feed(ids, n, ev);
	op_create_tracked(ctx->conn, ids, ev == EV_START || ev == EV_RESTART ?
	    base : NULL, n, want, message);
	free(base);
	free(ids);
}

/*
 * The whole of a command that feeds ev to the instances its first word
 * names: before (may be NULL) sees them first; the reply waits as want
 * says.
 */
int
cmd_act(struct cmd_ctx *ctx, enum inst_event ev, int want,
    void (*before)(struct cmd_ctx *, struct instance **, size_t))
{
	struct instance **v;
	size_t n;

	if (cmd_targets(ctx, 0, &v, &n) == -1)
		return CMD_REPLIED;
	if (before != NULL)
		before(ctx, v, n);
	cmd_apply(ctx, v, n, ev, want, NULL);
	free(v);
	return CMD_PENDING;
}

/* Adds a line to *msg, the message printed above a reply's list. */
void
cmd_note(char **msg, const char *fmt, ...)
{
	char *line;
	size_t have, len;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	if (*msg == NULL) {
		*msg = line;
		return;
	}
	/* appended in place: a file of N apps notes N lines, not N^2 bytes */
	have = strlen(*msg);
	len = strlen(line);
	*msg = xrealloc(*msg, have + len + 2);
	(*msg)[have] = '\n';
	memcpy(*msg + have + 1, line, len + 1);
	free(line);
}

/* Every instance of every app, in id order of creation; the caller frees *v. */
void
cmd_all_instances(struct instance ***v, size_t *n)
{
	struct app *app;
	struct instance *inst;

	*n = D.inst_ids.n;
	*v = xreallocarray(NULL, *n + 1, sizeof **v);
	*n = 0;
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		TAILQ_FOREACH(inst, &app->instances, entry)
			(*v)[(*n)++] = inst;
	}
}
