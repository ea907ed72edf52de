/* SPDX-License-Identifier: ISC */
/*
 * The client's side of `corral update`: once the engine said it goes,
 * asks `engine` until a later engine answers (the keeper holds the
 * control socket: clients wait in its backlog meanwhile), then says
 * what became of the update: 0 when the new corrald serves, 1 when the
 * keeper went back to the old one, and why.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "client.h"
#include "corral.h"

#define UPDATE_WAIT_MS 120000   /* the keeper's ready timeout, and more */
#define UPDATE_POLL_MS 50

/* The `engine` data of whichever engine serves now, or NULL. */
static json_t *
update_ask(void)
{
	struct client cl;
	json_t *req, *reply, *data = NULL;
	char *cause = NULL;

	if (client_connect(&cl, 0, &cause) == 0) {
		req = json_pack("{s:s, s:[], s:s, s:{}}", "cmd", "engine",
		    "argv", "cwd", "/", "env");
		if (client_send(&cl, req) == 0 &&
		    (reply = client_recv(&cl, &cause)) != NULL) {
			data = json_incref(json_object_get(reply, "data"));
			json_decref(reply);
		}
		json_decref(req);
	}
	free(cause);
	client_close(&cl);
	return data;
}

/* The outcome, as the engine that followed generation gen tells it. */
static int
update_outcome(json_t *r, const char *from, int keeper)
{
	const char *kind = json_string_value(json_object_get(r, "kind"));
	const char *version = json_string_value(json_object_get(r, "version"));
	const char *why = json_string_value(json_object_get(r,
	    "update_failed"));
	json_int_t pid = json_integer_value(json_object_get(r, "pid"));

	if (kind != NULL && strcmp(kind, "upgrade") == 0 &&
	    json_integer_value(json_object_get(r, "failures")) == 0) {
		printf("corral: updated corrald %s -> %s (pid %lld)%s, no app "
		    "restarted\n", from, version, (long long)pid, keeper ?
		    " and re-executed the keeper" : "");
		return 0;
	}
	if (why == NULL)
		why = json_string_value(json_object_get(r, "reason"));
	fprintf(stderr, "corral: update failed: %s; corrald %s (pid %lld) "
	    "runs as before\n", why != NULL ? why : kind != NULL ? kind : "?",
	    version != NULL ? version : "?", (long long)pid);
	return 1;
}

/* After the engine's reply to `update`: waits for its successor. */
int
update_wait(json_t *reply)
{
	json_int_t gen = json_integer_value(json_object_get(reply,
	    "generation")), failures = json_integer_value(json_object_get(
	    reply, "failures"));
	const char *from = json_string_value(json_object_get(reply,
	    "version"));
	json_t *r;
	int waited, rc;

	for (waited = 0; waited < UPDATE_WAIT_MS; waited += UPDATE_POLL_MS) {
		if ((r = update_ask()) != NULL) {
			/* a later engine, or this one gave up */
			if (json_integer_value(json_object_get(r,
			    "generation")) > gen || json_integer_value(
			    json_object_get(r, "failures")) > failures) {
				rc = update_outcome(r, from != NULL ? from :
				    "?", json_is_true(json_object_get(reply,
				    "keeper")));
				json_decref(r);
				return rc;
			}
			json_decref(r);
		}
		poll(NULL, 0, UPDATE_POLL_MS);
	}
	fprintf(stderr, "corral: update: no engine answered within %d s\n",
	    UPDATE_WAIT_MS / 1000);
	return EXIT_UNREACHABLE;
}
