/* SPDX-License-Identifier: ISC */
/*
 * `corral monit` on the daemon side: the stats subscription. The reply
 * turns the connection into a stream (kind "stream"); a stats event with
 * every instance (the objects of jlist, plus max_memory where the app has
 * one), the host's figures and the daemon's follows at once and then every
 * --interval, and, because the connection streams with no log filter,
 * logsink.c sends it every log line as it is written. Each subscriber has
 * its own timer, stopped when its connection closes (monit_conn_gone). A
 * subscriber that reads too slowly loses events in conn_event() instead of
 * growing the daemon's memory.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

#define MONIT_INTERVAL_MS 1000
#define MONIT_INTERVAL_MIN 100
#define MONIT_INTERVAL_MAX 60000

struct monit_sub {
	struct conn *conn;
	uv_timer_t timer;
	uint64_t interval;
	TAILQ_ENTRY(monit_sub) entry;
};
TAILQ_HEAD(monit_sub_list, monit_sub);

static struct monit_sub_list monit_subs = TAILQ_HEAD_INITIALIZER(monit_subs);

static const struct args_opt cmd_monit_opts[] = {
	{ "interval", 'n', ARGS_VALUE,
	    "DUR    time between two updates (1s; 100ms to 60s)" },
	{ NULL, 0, 0, NULL }
};

/*
 * The memory limit of an app in bytes: max_memory (the cgroup's), else
 * max_memory_restart; 0 if it has neither (or this build knows neither).
 */
static json_int_t
monit_max_memory(struct app *app)
{
	static const char *const keys[] = { "max_memory", "max_memory_restart" };
	json_t *cfg = appcfg_to_json(&app->cfg), *v;
	json_int_t max = 0;
	size_t i;

	for (i = 0; i < nitems(keys) && max == 0; i++) {
		v = json_object_get(cfg, keys[i]);
		if (json_is_integer(v) && json_integer_value(v) > 0)
			max = json_integer_value(v);
	}
	json_decref(cfg);
	return max;
}

/* The instances of every app, as jlist gives them, with their limits. */
static json_t *
monit_instances(void)
{
	json_t *a = json_array(), *o;
	struct instance *inst;
	struct app *app;
	json_int_t max;

	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		max = monit_max_memory(app);
		TAILQ_FOREACH(inst, &app->instances, entry) {
			o = instance_to_json(inst);
			if (max > 0)
				json_object_set_new(o, "max_memory",
				    json_integer(max));
			json_array_append_new(a, o);
		}
	}
	return a;
}

/* One stats event; the caller owns it. */
static json_t *
monit_stats_json(uint64_t interval)
{
	uint64_t now = now_ms();

	return json_pack("{s:s, s:I, s:I, s:o, s:{s:i, s:I}, s:o}",
	    "event", "stats",
	    "t", (json_int_t)now,
	    "interval_ms", (json_int_t)interval,
	    "host", hoststat_json(),
	    "daemon", "pid", (int)getpid(),
	    "uptime_ms", (json_int_t)(now - D.started_at),
	    "instances", monit_instances());
}

static void
monit_send(struct monit_sub *s)
{
	json_t *ev = monit_stats_json(s->interval);

	conn_event(s->conn, ev);
	json_decref(ev);
}

static void
monit_tick(uv_timer_t *t)
{
	monit_send(t->data);
}

static void
monit_sub_closed(uv_handle_t *h)
{
	free(h->data);
}

/*
 * The connection is closed (its close callback runs): its subscription
 * ends; the timer is freed in its own close callback. Until then a tick
 * finds the connection closing, and conn_event() sends nothing.
 */
void
monit_conn_gone(struct conn *c)
{
	struct monit_sub *s, *next;

	TAILQ_FOREACH_SAFE(s, &monit_subs, entry, next) {
		if (s->conn != c)
			continue;
		TAILQ_REMOVE(&monit_subs, s, entry);
		(void)uv_timer_stop(&s->timer); /* always 0 */
		uv_close((uv_handle_t *)&s->timer, monit_sub_closed);
	}
}

static int
cmd_monit_exec(struct cmd_ctx *ctx)
{
	const char *iv = args_get(&ctx->args, "interval");
	uint64_t interval = MONIT_INTERVAL_MS;
	struct monit_sub *s;
	char *cause = NULL;

	if (iv != NULL && parse_duration(iv, &interval, &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "--interval: %s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	if (interval < MONIT_INTERVAL_MIN || interval > MONIT_INTERVAL_MAX) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "--interval: %s is not "
		    "between 100ms and 60s", iv);
		return CMD_REPLIED;
	}
	s = xcalloc(1, sizeof *s);
	s->conn = ctx->conn;
	s->interval = interval;
	if (uv_timer_init(D.loop, &s->timer) != 0) {
		free(s);
		conn_reply_error(ctx->conn, 1, "cannot start a timer");
		return CMD_REPLIED;
	}
	s->timer.data = s;
	TAILQ_INSERT_TAIL(&monit_subs, s, entry);
	ctx->conn->streaming = 1;
	conn_reply(ctx->conn, proto_ok("stream", NULL));
	monit_send(s);
	(void)timer_start(&s->timer, monit_tick, interval, interval);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_monit_entry = {
	.name = "monit",
	.usage = "[--interval DUR]",
	.summary = "live dashboard of every instance (a stats stream)",
	.opts = cmd_monit_opts,
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_monit_exec,
};
