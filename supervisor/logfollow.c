/* SPDX-License-Identifier: ISC */
/*
 * Streaming an app's lines to the connections that follow the logs
 * (`corral logs`, monit): each line, as cut by logsink.c, goes as one
 * "log" event to every streaming connection whose filter takes the app.
 * A slow reader's queue is bounded by conn.c (events beyond it are
 * dropped and counted there), so a follower never slows an app down.
 */
#include <string.h>

#include "corrald.h"

/* Whether a connection follows app's lines. */
int
logfollow_wanted(struct app *app)
{
	struct conn *c;

	TAILQ_FOREACH(c, &D.conns, entry) {
		if (c->streaming && !c->closing && (c->log_filter == NULL ||
		    strcmp(c->log_filter, app->cfg.name) == 0))
			return 1;
	}
	return 0;
}

static json_t *
logfollow_event(struct app *app, int index, int stream, const char *line,
    size_t len, uint64_t t)
{
	return json_pack("{s:s, s:o, s:i, s:s, s:o, s:I}", "event", "log",
	    "app", json_str(app->cfg.name), "instance", index,
	    "stream", stream == 2 ? "err" : "out", "line", json_strn(line, len),
	    "time", (json_int_t)t);
}

/*
 * Sends the line (len bytes, no newline) of instance index on stream,
 * cut at t (wall clock ms), to every connection that follows app.
 */
void
logfollow_send(struct app *app, int index, int stream, const char *line,
    size_t len, uint64_t t)
{
	struct conn *c;
	json_t *ev = NULL;

	TAILQ_FOREACH(c, &D.conns, entry) {
		if (!c->streaming || c->closing)
			continue;
		if (c->log_filter != NULL && strcmp(c->log_filter,
		    app->cfg.name) != 0)
			continue;
		/* Any bytes: they travel escaped (jsonb.c), as in the file. */
		if (ev == NULL)
			ev = logfollow_event(app, index, stream, line, len, t);
		conn_event(c, ev);
	}
	json_decref(ev);
}
