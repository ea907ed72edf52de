/* SPDX-License-Identifier: ISC */
/*
 * A reply that outlives the engine. A request whose reply waits for
 * instances (start, restart, stop, scale, delete, a file's start) says
 * "resume": the engine then sends a "pending" line first, once
 * state.json shows what the request changed (supervisor/op.c). If the
 * connection ends after that line and before the reply (the engine was
 * killed, crashed, or `corral update` replaced it), the keeper still
 * holds the control socket: the client connects again and sends the
 * pending line back as an "await", which the next engine answers as the
 * first would have. A reload's pending line says "retry" instead: the
 * next engine does not go on with a reload cut short, so the client
 * sends the reload again, with the line's "since", and the instances
 * the first reload replaced are kept (supervisor/reload.c). Without a
 * pending line, nothing says the request was kept, and the client says
 * so (exit 111).
 */
#include <stdlib.h>
#include <string.h>

#include "corral.h"

/*
 * Engines followed by one command: a kill -9, an update, a crash in one
 * command's time is plenty. A request whose serving crashes every engine
 * costs this many more engines, not one per keeper backoff forever.
 */
#define RESUME_MAX 3
#define RESUME_PREFIX "{\"ok\":true,\"kind\":\"pending\","

/*
 * The pending line, decoded, or NULL when line is anything else (its
 * start says its kind: proto_encode() keeps the members' order).
 */
static json_t *
resume_pending(const char *line, size_t len)
{
	json_t *m;
	char *cause = NULL;

	if (len < sizeof RESUME_PREFIX - 1 ||
	    memcmp(line, RESUME_PREFIX, sizeof RESUME_PREFIX - 1) != 0)
		return NULL;
	if ((m = proto_decode(line, len, &cause)) == NULL)
		free(cause);
	return m;
}

/*
 * Connects cl again and sends pending back as an await, or the request
 * itself again when pending says "retry" (a reload); 0 or -1.
 */
static int
resume_await(struct client *cl, json_t *first, json_t *pending,
    char **cause)
{
	json_t *req;
	int rc;

	client_close(cl);
	if (client_connect(cl, 0, cause) == -1)
		return -1;
	if (json_is_true(json_object_get(pending, "retry"))) {
		req = json_incref(first);
		/* instances started since are not replaced again */
		if (json_object_get(pending, "since") != NULL)
			json_object_set(req, "since",
			    json_object_get(pending, "since"));
	} else if ((req = json_pack("{s:s, s:O, s:O, s:O, s:b}", "cmd",
	    "await", "ids", json_object_get(pending, "ids"),
	    "base", json_object_get(pending, "base"),
	    "want", json_object_get(pending, "want"), "resume", 1)) != NULL &&
	    json_object_get(pending, "message") != NULL)
		json_object_set(req, "message",
		    json_object_get(pending, "message"));
	if (req == NULL) {              /* a pending line without them */
		*cause = xstrdup("a pending line this client cannot read");
		return -1;
	}
	if ((rc = client_send(cl, req)) == -1)
		*cause = xstrdup("the daemon closed the connection");
	json_decref(req);
	return rc;
}

/*
 * The reply to the request first sent on cl, past any pending line,
 * following it to the next engine as often as RESUME_MAX; as
 * client_recv_line() gives it, or NULL with *cause.
 */
char *
resume_recv_line(struct client *cl, json_t *first, size_t *len,
    char **cause)
{
	json_t *pending = NULL, *m;
	char *line;
	int n = 0;

	for (;;) {
		if ((line = client_recv_line(cl, len, cause)) != NULL) {
			if ((m = resume_pending(line, *len)) == NULL)
				break;
			json_decref(pending);
			pending = m;
			continue;
		}
		if (pending == NULL || cl->stuck || n++ == RESUME_MAX)
			break;
		free(*cause);
		*cause = NULL;
		if (resume_await(cl, first, pending, cause) == -1)
			break;
	}
	if (line == NULL && pending != NULL) {
		char *old = *cause;

		xasprintf(cause, "%s; the request was taken (see corral ls)",
		    old != NULL ? old : "no reply");
		free(old);
	}
	json_decref(pending);
	return line;
}
