/* SPDX-License-Identifier: ISC */
/*
 * The keeper's table as a new engine finds it: the processes still
 * running (LIVE) and those that exited while no engine ran (EXITED, with
 * their pipes to drain), kept here until the apps are rebuilt; then
 * engine_adopt_finish() gives each to its instance, or stops what no app
 * knows.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

/* A row of the table. */
struct adopt_row {
	char *tag;
	pid_t pid;
	int64_t started_at;
	int exited;
	int status;             /* the wait status, when exited */
	int out, err, pidfd;
	TAILQ_ENTRY(adopt_row) entry;
};
TAILQ_HEAD(adopt_rows, adopt_row);

static struct adopt_rows adopt_table;

void
engine_adopt_init(void)
{
	TAILQ_INIT(&adopt_table);
}

static struct adopt_row *
engine_adopt_row(const char *tag, pid_t pid, int out, int err)
{
	struct adopt_row *r = xcalloc(1, sizeof *r);

	r->tag = xstrdup(tag);
	r->pid = pid;
	r->out = out;
	r->err = err;
	r->pidfd = -1;
	TAILQ_INSERT_TAIL(&adopt_table, r, entry);
	return r;
}

void
engine_adopt_live(const struct keeper_proc *p)
{
	struct adopt_row *r;

	if (p->tag == NULL) {
		engine_close_fds(p->out, p->err, p->pidfd);
		return;
	}
	r = engine_adopt_row(p->tag, p->pid, p->out, p->err);
	r->pidfd = p->pidfd;
	r->started_at = p->started_at;
}

void
engine_adopt_exited(const char *tag, pid_t pid, int status, int out, int err)
{
	struct adopt_row *r;

	TAILQ_FOREACH(r, &adopt_table, entry) {
		if (strcmp(r->tag, tag) == 0 && !r->exited) {
			/* a LIVE row that exited before the table's end */
			r->exited = 1;
			r->status = status;
			engine_close_fds(out, err, -1);
			return;
		}
	}
	r = engine_adopt_row(tag, pid, out, err);
	r->exited = 1;
	r->status = status;
}

static void
engine_adopt_free(struct adopt_row *r)
{
	TAILQ_REMOVE(&adopt_table, r, entry);
	engine_close_fds(r->out, r->err, r->pidfd);
	free(r->tag);
	free(r);
}

/*
 * A process no app of this engine knows: its group is killed; its exit
 * comes from the keeper later and is released then.
 */
static void
engine_adopt_stop(struct adopt_row *r)
{
	log_warnx("keeper: %s (pid %d) belongs to no app: killed", r->tag,
	    (int)r->pid);
	if (kill(-r->pid, SIGKILL) == -1)
		(void)kill(r->pid, SIGKILL);
}

/*
 * The apps are rebuilt: every row goes to its instance, or is stopped
 * (live) or released (exited).
 */
void
engine_adopt_finish(void)
{
	struct adopt_row *r;

	while ((r = TAILQ_FIRST(&adopt_table)) != NULL) {
		if (r->exited)
			engine_release(r->tag);
		else
			engine_adopt_stop(r);
		engine_adopt_free(r);
	}
	engine_release_unclaimed();
}
