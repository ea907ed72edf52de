/* SPDX-License-Identifier: ISC */
/*
 * Requests whose reply waits for instances to settle: `stop` answers once
 * its instances have stopped, `start` and `restart` once each of theirs is
 * running or its first start has failed (spawn failure, readiness timeout,
 * exit before ready): then the reply says why and asks for exit 1, even
 * while the instance goes on restarting. An op holds instance ids, not
 * pointers, because instances may be freed while it waits; a missing id
 * counts as settled.
 *
 * A client that says "resume" in its request is told what its reply
 * waits for (a "pending" line: the ids, their start_failures before, what
 * settles them), once state.json shows what the request changed. If the
 * engine goes before the reply (a kill -9, a crash, `corral update`), the
 * client sends that line back to the next engine as an "await", which
 * waits as this op did and replies as it would have (ctl/resume.c).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

#define OP_TIMEOUT_SLACK 15000  /* ms beyond the longest kill_timeout */

static void
op_closed(uv_handle_t *h)
{
	struct op *op = h->data;

	free(op->ids);
	free(op->base);
	free(op->message);
	free(op);
}

/* Whether the instance's start failed since the op began. */
static int
op_failed(const struct op *op, size_t i, const struct instance *inst)
{
	return op->base != NULL && inst->start_failures > op->base[i];
}

/* "api[0]: not ready within 3s" for each failed start, or NULL. */
static char *
op_failures(const struct op *op, struct instance **v, size_t *idx, size_t n)
{
	char *s = NULL, *old;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!op_failed(op, idx[i], v[i]))
			continue;
		old = s;
		xasprintf(&s, "%s%s%s[%d] failed to start: %s", old != NULL ?
		    old : "", old != NULL ? "\n" : "", v[i]->app->cfg.name,
		    v[i]->index, v[i]->reason);
		free(old);
	}
	return s;
}

static void
op_reply(struct op *op)
{
	struct instance **v = xcalloc(op->nids, sizeof *v), *inst;
	size_t *idx = xcalloc(op->nids, sizeof *idx), i, n = 0;
	json_t *data;
	char *failed;

	for (i = 0; i < op->nids; i++) {
		if ((inst = app_find_instance(op->ids[i], 1)) != NULL) {
			idx[n] = i;
			v[n++] = inst;
		}
	}
	data = json_object();
	if (op->message != NULL)
		json_object_set_new(data, "message", json_str(op->message));
	if ((failed = op_failures(op, v, idx, n)) != NULL) {
		json_object_set_new(data, "warning", json_str(failed));
		json_object_set_new(data, "exit", json_integer(1));
		free(failed);
	}
	conn_reply_list(op->conn, "list", v, n, data);
	free(idx);
	free(v);
}

static json_t *
op_pending_json(const struct op *op)
{
	json_t *m = proto_ok("pending", NULL), *ids, *base;
	size_t i;

	ids = json_array();
	base = op->base != NULL ? json_array() : json_null();
	for (i = 0; i < op->nids; i++) {
		json_array_append_new(ids, json_integer(op->ids[i]));
		if (op->base != NULL)
			json_array_append_new(base, json_integer(op->base[i]));
	}
	json_object_set_new(m, "ids", ids);
	json_object_set_new(m, "base", base);
	json_object_set_new(m, "want", json_integer(op->want));
	if (op->message != NULL)
		json_object_set_new(m, "message", json_str(op->message));
	return m;
}

static void
op_finish(struct op *op)
{
	TAILQ_REMOVE(&D.ops, op, entry);
	uv_timer_stop(&op->timeout);
	if (op->conn != NULL) {
		op->conn->op = NULL;
		op_reply(op);
	}
	uv_close((uv_handle_t *)&op->timeout, op_closed);
}

static int
op_settled(struct op *op)
{
	struct instance *inst;
	size_t i;

	/*
	 * Those before op->next have settled once: that outcome stands (a
	 * later restart does not reopen it), and each check goes on where
	 * the last stopped, so that an op over 10,000 instances costs O(n)
	 * in all, not O(n) per event.
	 */
	for (i = op->next; i < op->nids; op->next = ++i) {
		/* killed leftovers of its tree still dying (leftovers.c) */
		if (leftovers_pending(op->ids[i]))
			return 0;
		inst = app_find_instance(op->ids[i], 1);
		if (inst == NULL || op_failed(op, i, inst))
			continue;
		if (inst->state == INST_STOPPING || inst->state == INST_STARTING)
			return 0;
		if (op->want == OP_WANT_SETTLED && fsm_restart_pending(inst))
			return 0;
		/*
		 * A stop is over once the instance is no longer stopping: it
		 * stopped, or a later start or restart (another client's) took
		 * it over; the reply's list shows which.
		 */
	}
	return 1;
}

static void
op_timed_out(uv_timer_t *t)
{
	op_finish(t->data);
}

/*
 * Waits until the instances settle, then replies on conn with their list
 * (and message, if any). Replies at once if they already have. base, when
 * not NULL, holds each instance's start_failures from before the start
 * or restart was applied: a failure since then settles it (and fails the
 * reply).
 */
void
op_create_tracked(struct conn *conn, const int *ids, const long long *base,
    size_t n, int want, const char *message)
{
	struct instance *inst;
	struct op *op = xcalloc(1, sizeof *op);
	uint64_t timeout = 0, t;
	size_t i;
	int r;

	op->conn = conn;
	op->want = want;
	op->ids = xcalloc(n, sizeof *op->ids);
	op->nids = n;
	op->message = message != NULL ? xstrdup(message) : NULL;
	if (base != NULL) {
		op->base = xcalloc(n, sizeof *op->base);
		memcpy(op->base, base, n * sizeof *op->base);
	}
	for (i = 0; i < n; i++) {
		op->ids[i] = ids[i];
		if ((inst = app_find_instance(ids[i], 1)) == NULL)
			continue;
		/* a stop drains, then kills; a restart waits to be ready */
		t = inst->app->cfg.drain_timeout + inst->app->cfg.kill_timeout +
		    inst->app->cfg.listen_timeout;
		if (t > timeout)
			timeout = t;
	}
	timer_init(D.loop, &op->timeout);
	op->timeout.data = op;
	TAILQ_INSERT_TAIL(&D.ops, op, entry);
	if (conn != NULL)               /* NULL: the boot file's request */
		conn->op = op;
	if (op_settled(op)) {
		op_finish(op);
		return;
	}
	if ((r = uv_timer_start(&op->timeout, op_timed_out,
	    timeout + OP_TIMEOUT_SLACK, 0)) != 0)
		log_warnx("reply timer: %s", uv_strerror(r));
	if (conn != NULL && conn->resume)
		conn_send_pending(conn, op_pending_json(op), "op pending");
}

void
op_create(struct conn *conn, const int *ids, size_t n, int want,
    const char *message)
{
	op_create_tracked(conn, ids, NULL, n, want, message);
}

/*
 * The ids of an await (non-negative ints) and their bases (NULL, or as
 * many non-negative counts). Returns 0, or -1 for anything else.
 */
static int
op_await_ids(json_t *ids, json_t *base, int *v, long long *b)
{
	json_t *id, *x;
	size_t i;

	json_array_foreach(ids, i, id) {
		if (!json_is_integer(id) || json_integer_value(id) < 0 ||
		    json_integer_value(id) > INT_MAX)
			return -1;
		v[i] = (int)json_integer_value(id);
		if (b == NULL)
			continue;
		x = json_array_get(base, i);
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return -1;
		b[i] = json_integer_value(x);
	}
	return 0;
}

/*
 * An "await": the pending line of an op an engine before this one took,
 * sent back by its client (ctl/resume.c). Waits for the same instances
 * and replies as that op would have.
 */
void
op_await(struct conn *c, json_t *req)
{
	json_t *ids = json_object_get(req, "ids");
	json_t *base = json_object_get(req, "base");
	json_t *want = json_object_get(req, "want");
	json_t *msg = json_object_get(req, "message");
	size_t n = json_array_size(ids);
	long long *b = NULL;
	int *v;

	if (!json_is_array(ids) || !json_is_integer(want) ||
	    (json_integer_value(want) != OP_WANT_SETTLED &&
	    json_integer_value(want) != OP_WANT_STOPPED) ||
	    (base != NULL && !json_is_null(base) && (!json_is_array(base) ||
	    json_array_size(base) != n)) || (msg != NULL &&
	    !json_is_string(msg))) {
		conn_reply_error(c, EXIT_USAGE, "malformed await request");
		return;
	}
	v = xcalloc(n + 1, sizeof *v);
	if (json_is_array(base))
		b = xcalloc(n + 1, sizeof *b);
	if (op_await_ids(ids, base, v, b) == -1)
		conn_reply_error(c, EXIT_USAGE, "malformed await request");
	else
		op_create_tracked(c, v, b, n, (int)json_integer_value(want),
		    json_string_value(msg));
	free(b);
	free(v);
}

void
op_check_all(void)
{
	struct op *op, *next;

	TAILQ_FOREACH_SAFE(op, &D.ops, entry, next) {
		if (op_settled(op))
			op_finish(op);
	}
}

/*
 * A reload's replacement took the id of the instance it replaced
 * (reload-slot.c): the ops that wait for it by its own id wait for it by
 * that one. Before, its id led to no instance, which counted as settled:
 * a stop answered while the replacement still stopped, and listed it not.
 */
void
op_id_moved(int from, int to)
{
	struct op *op;
	size_t i;

	TAILQ_FOREACH(op, &D.ops, entry) {
		for (i = 0; i < op->nids; i++) {
			if (op->ids[i] == from)
				op->ids[i] = to;
		}
	}
}

void
op_conn_gone(struct conn *conn)
{
	if (conn->op != NULL) {
		conn->op->conn = NULL;
		conn->op = NULL;
	}
}
