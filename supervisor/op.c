/* SPDX-License-Identifier: ISC */
/*
 * Requests whose reply waits for instances to settle: `stop` answers once
 * its instances have stopped, `start` and `restart` once theirs are running
 * or have failed. An op holds instance ids, not pointers, because instances
 * may be freed while it waits; a missing id counts as settled.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

#define OP_TIMEOUT_SLACK 15000  /* ms beyond the longest kill_timeout */

static void
op_closed(uv_handle_t *h)
{
	struct op *op = h->data;

	free(op->ids);
	free(op->message);
	free(op);
}

static void
op_finish(struct op *op)
{
	struct instance **v = xcalloc(op->nids, sizeof *v);
	struct instance *inst;
	size_t i, n = 0;
	json_t *data;

	TAILQ_REMOVE(&D.ops, op, entry);
	uv_timer_stop(&op->timeout);
	if (op->conn != NULL) {
		op->conn->op = NULL;
		for (i = 0; i < op->nids; i++) {
			if ((inst = app_find_instance(op->ids[i], 1)) != NULL)
				v[n++] = inst;
		}
		data = proto_ok("list", cmd_list_json(v, n));
		if (op->message != NULL)
			json_object_set_new(data, "message",
			    json_string(op->message));
		conn_reply(op->conn, data);
	}
	free(v);
	uv_close((uv_handle_t *)&op->timeout, op_closed);
}

static int
op_settled(const struct op *op)
{
	struct instance *inst;
	size_t i;

	for (i = 0; i < op->nids; i++) {
		inst = app_find_instance(op->ids[i], 1);
		if (inst == NULL)
			continue;
		if (inst->state == INST_STOPPING || inst->state == INST_STARTING)
			return 0;
		if (op->want == OP_WANT_SETTLED && inst->restart_pending)
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
 * (and message, if any). Replies at once if they already have.
 */
void
op_create(struct conn *conn, const int *ids, size_t n, int want,
    const char *message)
{
	struct instance *inst;
	struct op *op = xcalloc(1, sizeof *op);
	uint64_t timeout = 0;
	size_t i;

	op->conn = conn;
	op->want = want;
	op->ids = xcalloc(n, sizeof *op->ids);
	op->nids = n;
	op->message = message != NULL ? xstrdup(message) : NULL;
	for (i = 0; i < n; i++) {
		op->ids[i] = ids[i];
		inst = app_find_instance(ids[i], 1);
		if (inst != NULL && inst->app->cfg.kill_timeout > timeout)
			timeout = inst->app->cfg.kill_timeout;
	}
	uv_timer_init(D.loop, &op->timeout);
	op->timeout.data = op;
	TAILQ_INSERT_TAIL(&D.ops, op, entry);
	if (conn != NULL)               /* NULL: the boot file's request */
		conn->op = op;
	if (op_settled(op))
		op_finish(op);
	else
		uv_timer_start(&op->timeout, op_timed_out,
		    timeout + OP_TIMEOUT_SLACK, 0);
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

void
op_conn_gone(struct conn *conn)
{
	if (conn->op != NULL) {
		conn->op->conn = NULL;
		conn->op = NULL;
	}
}
