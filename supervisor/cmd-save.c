/* SPDX-License-Identifier: ISC */
/*
 * `corral save`: write the declared apps and their states to dump.json.
 * The dump is made on the loop and written by a libuv pool thread:
 * dump_write() reads the dump there before (up to 64 MiB to parse), writes
 * dump.json.bak and dump.json, each with an fsync, which a slow disk can
 * make seconds the loop must not wait. One save writes at a time (they
 * share dump.json.tmp); the others wait their turn in order. The client
 * may go away meanwhile: the dump is still written, nobody is answered.
 */
#include <stdlib.h>

#include "corrald.h"

struct save {
	uv_work_t work;
	struct conn *conn;      /* NULL: the client went away */
	json_t *dump;
	char *path;
	char *cause;
	int n;
	int rc;
	TAILQ_ENTRY(save) entry;
};

static TAILQ_HEAD(, save) saves = TAILQ_HEAD_INITIALIZER(saves);

static void
save_work(uv_work_t *w)
{
	struct save *s = w->data;

	s->rc = dump_write(s->path, s->dump, &s->cause);
}

static void save_next(void);

static void
save_done(uv_work_t *w, int status)
{
	struct save *s = w->data;

	TAILQ_REMOVE(&saves, s, entry);
	if (s->conn != NULL && (status != 0 || s->rc == -1))
		conn_reply_error(s->conn, 1, "save: %s", s->cause != NULL ?
		    s->cause : uv_strerror(status));
	else if (s->conn != NULL)
		conn_reply(s->conn, proto_ok("message", json_sprintf("saved %d "
		    "app%s to %s", s->n, s->n == 1 ? "" : "s", s->path)));
	json_decref(s->dump);
	free(s->path);
	free(s->cause);
	free(s);
	save_next();
}

/* The first save waiting, to the pool. */
static void
save_next(void)
{
	struct save *s = TAILQ_FIRST(&saves);
	int r;

	if (s == NULL)
		return;
	s->work.data = s;
	if ((r = uv_queue_work(D.loop, &s->work, save_work, save_done)) != 0)
		save_done(&s->work, r);
}

static int
cmd_save_exec(struct cmd_ctx *ctx)
{
	struct save *s = xcalloc(1, sizeof *s);
	int first = TAILQ_EMPTY(&saves);

	s->conn = ctx->conn;
	s->dump = persist_dump(&s->n);
	s->path = persist_path();
	TAILQ_INSERT_TAIL(&saves, s, entry);
	if (first)
		save_next();
	return CMD_REPLIED;
}

/* The client of a pending save went away. */
void
cmd_save_conn_gone(struct conn *conn)
{
	struct save *s;

	TAILQ_FOREACH(s, &saves, entry) {
		if (s->conn == conn)
			s->conn = NULL;
	}
}

const struct cmd_entry cmd_save_entry = {
	.name = "save",
	.aliases = { "dump" },
	.usage = "",
	.summary = "save the apps and their states for resurrect",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_save_exec,
};
