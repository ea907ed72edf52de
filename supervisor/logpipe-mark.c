/* SPDX-License-Identifier: ISC */
/*
 * The chunks of an app's pipe that were handed on to the log sinks but
 * are still in the pipe (logpipe.c): a short FIFO of marks, each the
 * offset up to which bytes were handed on and, for each sink they went
 * to, the sink's ticket then (logfile_ticket). The bytes up to a mark may
 * leave the pipe once every sink of it, and of the marks before it, has
 * written its ticket. When the FIFO is full, or the newest mark covers
 * less than LOGMARK_MIN bytes, that mark grows to the new offset and
 * tickets instead: its older bytes then wait a little longer, never less.
 */
#include <string.h>

#include "corrald.h"

/* Puts sink s at ticket t into mark m (the later ticket of the two). */
static void
logmark_put(struct logmark *m, struct logfile *s, uint64_t t)
{
	int i;

	for (i = 0; i < m->n; i++) {
		if (m->sink[i] == s) {
			if (t > m->ticket[i])
				m->ticket[i] = t;
			return;
		}
	}
	if (m->n == LOGMARK_SINKS) {
		/* a pipe's sinks stay the same while its child lives */
		log_warnx("log pipe: more than %d sinks", LOGMARK_SINKS);
		return;
	}
	m->sink[m->n] = s;
	m->ticket[m->n++] = t;
}

/*
 * The bytes of the pipe up to end went to the n sinks (n may be 0: they
 * went nowhere that lasts), whose tickets were then tickets[].
 */
void
logmark_add(struct logmarks *ms, uint64_t end, struct logfile **sinks,
    const uint64_t *tickets, int n)
{
	struct logmark *m;
	int i;

	if (ms->n == LOGMARK_MAX || (ms->n > 1 && ms->m[ms->n - 1].end -
	    ms->m[ms->n - 2].end < LOGMARK_MIN))
		m = &ms->m[ms->n - 1];
	else {
		m = &ms->m[ms->n++];
		m->n = 0;
	}
	m->end = end;
	for (i = 0; i < n; i++)
		logmark_put(m, sinks[i], tickets[i]);
}

/*
 * Drops the marks, oldest first, whose every sink has settled (as
 * settled() says: logfile_settled, which also asks to hear when it does)
 * and returns the end of the last one dropped: the bytes up to it may
 * leave the pipe. 0 when none.
 */
uint64_t
logmark_settle(struct logmarks *ms, int (*settled)(struct logfile *,
    uint64_t))
{
	uint64_t end = 0;
	struct logmark *m;
	int done = 0, i;

	for (; done < ms->n; done++) {
		m = &ms->m[done];
		for (i = 0; i < m->n; i++) {
			if (!settled(m->sink[i], m->ticket[i]))
				break;
		}
		if (i < m->n)
			break;
		end = m->end;
	}
	if (done > 0) {
		memmove(ms->m, ms->m + done, (size_t)(ms->n - done) *
		    sizeof *ms->m);
		ms->n -= done;
	}
	return end;
}
