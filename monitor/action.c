/* SPDX-License-Identifier: ISC */
/*
 * The monitor's actions: each key that acts on an instance or app sends an
 * ordinary request (restart, reload, stop, start, delete) on a connection
 * of its own, as `corral restart 3` would, so that a slow reload never
 * stalls the dashboard; the reply, read later by the loop, goes to the
 * status line, and the instance objects it carries update the table at
 * once. Also the sending of a request and the reading of replies, which
 * the subscription shares.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "monit.h"

/*
 * Connects cl to the daemon (starting it if start is set and nobody
 * answers), sends {"cmd":cmd,"argv":argv} (argv is borrowed) and makes
 * the connection non-blocking for the loop. -1 with *cause (caller frees)
 * and cl closed if it cannot.
 */
int
mon_request(struct client *cl, int start, const char *cmd, json_t *argv,
    char **cause)
{
	json_t *req;
	int rc;

	if (client_connect(cl, start, cause) == -1) {
		client_close(cl);
		return -1;
	}
	req = json_pack("{s:s, s:O}", "cmd", cmd, "argv", argv);
	if ((rc = client_send(cl, req)) == -1)
		xasprintf(cause, "send: %s", strerror(errno));
	json_decref(req);
	if (rc == -1 || client_nonblock(cl, cause) == -1) {
		client_close(cl);
		return -1;
	}
	return 0;
}

/* "online, pid 4242" for one instance, "4 instances, 3 online" for more. */
static char *
mon_reply_summary(json_t *list)
{
	const char *st;
	size_t i, online = 0;
	json_t *o;
	char *s;

	if (json_array_size(list) == 1) {
		o = json_array_get(list, 0);
		st = json_string_value(json_object_get(o, "state"));
		if (json_integer_value(json_object_get(o, "pid")) > 0)
			xasprintf(&s, "%s, pid %lld", st != NULL ? st : "?",
			    (long long)json_integer_value(json_object_get(o,
			    "pid")));
		else
			s = xstrdup(st != NULL ? st : "done");
		return s;
	}
	json_array_foreach(list, i, o) {
		st = json_string_value(json_object_get(o, "state"));
		online += st != NULL && strcmp(st, "online") == 0;
	}
	xasprintf(&s, "%zu instances, %zu online", json_array_size(list),
	    online);
	return s;
}

/*
 * Reads a reply line: 0 and *msg (caller frees) for ok, -1 and *msg for an
 * error reply, with *code the exit status it asks for, and in *list (if not
 * NULL; caller decrefs) the instance objects an ok reply carries.
 */
int
mon_reply_read(const char *line, size_t len, char **msg, int *code,
    json_t **list)
{
	json_t *r, *data;
	const char *s;
	char *cause = NULL;
	int ok;

	*code = EXIT_FAILURE_;
	if ((r = proto_decode_escaped(line, len, &cause)) == NULL) {
		xasprintf(msg, "bad reply from daemon: %s", cause);
		free(cause);
		return -1;
	}
	ok = json_is_true(json_object_get(r, "ok"));
	if (!ok) {
		s = json_string_value(json_object_get(r, "error"));
		*msg = xstrdup(s != NULL ? s : "request failed");
		if (json_is_integer(json_object_get(r, "exit")))
			*code = (int)json_integer_value(json_object_get(r,
			    "exit"));
	} else if ((s = json_string_value(json_object_get(r, "message"))) !=
	    NULL || (s = json_string_value(json_object_get(r, "data"))) !=
	    NULL)
		*msg = xstrndup(s, strcspn(s, "\n"));
	else if (json_is_array(data = json_object_get(r, "data")))
		*msg = mon_reply_summary(data);
	else
		*msg = xstrdup("done");
	if (list != NULL && ok && json_is_array(json_object_get(r, "data")))
		*list = json_incref(json_object_get(r, "data"));
	json_decref(r);
	return ok ? 0 : -1;
}

/* The selected instance, or NULL. */
static struct mon_inst *
mon_action_selected(struct monit *mt)
{
	if (mt->keys.sel_id == -1)
		return NULL;
	return mon_model_find(mt->model, mt->keys.sel_id);
}

static void
mon_action_pending(struct monit *mt)
{
	size_t i, o = 0;

	mt->view.pending[0] = '\0';
	for (i = 0; i < MON_ACTIONS; i++) {
		if (mt->act[i].conn.fd == -1)
			continue;
		o += (size_t)snprintf(mt->view.pending + o,
		    sizeof mt->view.pending - o, "%s%s...", o > 0 ? ", " : "",
		    mt->act[i].what);
		if (o >= sizeof mt->view.pending)
			break;
	}
	mt->dirty = 1;
}

/* Sends the action on a connection of its own; the reply comes later. */
void
mon_action_send(struct monit *mt, enum mon_action a)
{
	struct mon_inst *in = mon_action_selected(mt);
	struct mon_action_req *ac = NULL;
	const char *cmd = mon_action_cmd(a);
	char target[64], *cause = NULL;
	json_t *argv;
	size_t i;

	if (in == NULL || cmd == NULL)
		return;
	for (i = 0; i < MON_ACTIONS && ac == NULL; i++) {
		if (mt->act[i].conn.fd == -1)
			ac = &mt->act[i];
	}
	if (ac == NULL) {
		mon_status(mt, 1, "%s: too many actions in flight", cmd);
		return;
	}
	/* reload and delete act on the app, the others on the instance */
	if (a == MON_ACT_RELOAD || a == MON_ACT_DELETE) {
		snprintf(target, sizeof target, "%s", in->name);
		snprintf(ac->what, sizeof ac->what, "%s %s", cmd, in->name);
	} else {
		snprintf(target, sizeof target, "%d", in->id);
		snprintf(ac->what, sizeof ac->what, "%s %s (id %d)", cmd,
		    in->name, in->id);
	}
	argv = json_pack("[s]", target);
	if (mon_request(&ac->conn, 0, cmd, argv, &cause) == -1) {
		mon_status(mt, 1, "%s: %s", ac->what, cause);
		free(cause);
	}
	json_decref(argv);
	mon_action_pending(mt);
}

void
mon_action_input(struct monit *mt, struct mon_action_req *ac)
{
	char *line, *msg = NULL;
	json_t *list = NULL;
	size_t len;
	int rc, code;

	rc = client_fill(&ac->conn);
	if ((line = client_line(&ac->conn, &len)) != NULL) {
		rc = mon_reply_read(line, len, &msg, &code, &list);
		mon_status(mt, rc == -1, "%s: %s", ac->what, msg);
		free(msg);
		if (list != NULL && mon_model_merge(mt->model, list) > 0)
			mt->stale = 1;
		json_decref(list);
	} else if (rc == 1)
		return;
	else
		mon_status(mt, 1, "%s: no reply from the daemon", ac->what);
	client_close(&ac->conn);
	mon_action_pending(mt);
}
