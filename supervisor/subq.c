/* SPDX-License-Identifier: ISC */
/*
 * The queue of events waiting for one subscribed client (`corral logs
 * --follow`, `corral monit`). It never holds more than its byte limit: past
 * it, messages are dropped and counted, and the next message handed out
 * after room returns is a {"event":"missed","count":N} notice, so a paused
 * terminal costs the daemon a bounded amount of memory and the reader learns
 * exactly how many lines it did not see.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "logs.h"

void
subq_init(struct subq *q, size_t limit)
{
	memset(q, 0, sizeof *q);
	q->tail = &q->head;
	q->limit = limit > 0 ? limit : SUBQ_DEFAULT_LIMIT;
}

void
subq_free(struct subq *q)
{
	struct subq_msg *m;

	while ((m = q->head) != NULL) {
		q->head = m->next;
		free(m);
	}
	q->tail = &q->head;
	q->bytes = 0;
}

static void
subq_append(struct subq *q, const char *data, size_t len)
{
	struct subq_msg *m;

	m = xmalloc(sizeof *m + len);
	m->next = NULL;
	m->len = len;
	memcpy(m->data, data, len);
	*q->tail = m;
	q->tail = &m->next;
	q->bytes += len;
}

/*
 * Queues a copy of the len bytes of data (one encoded event, newline
 * included). Returns 0 if queued, -1 if dropped and counted.
 */
int
subq_push(struct subq *q, const char *data, size_t len)
{
	char note[64];
	int n;

	if (q->missed > 0) {
		n = snprintf(note, sizeof note,
		    "{\"event\":\"missed\",\"count\":%llu}\n",
		    (unsigned long long)q->missed);
		if (q->bytes + (size_t)n + len > q->limit) {
			q->missed++;
			q->missed_total++;
			return -1;
		}
		subq_append(q, note, (size_t)n);
		q->missed = 0;
	} else if (q->bytes + len > q->limit) {
		q->missed++;
		q->missed_total++;
		return -1;
	}
	subq_append(q, data, len);
	return 0;
}

/* Takes the oldest message, which the caller frees; NULL if empty. */
struct subq_msg *
subq_pop(struct subq *q)
{
	struct subq_msg *m;

	if ((m = q->head) == NULL)
		return NULL;
	char note[64];
	int n;

	q->head = m->next;
	if (q->head == NULL)
		q->tail = &q->head;
	q->bytes -= m->len;
	m->next = NULL;
	if (q->head == NULL && q->missed > 0) {
		/* drained: tell the reader now, not at the next line */
		n = snprintf(note, sizeof note,
		    "{\"event\":\"missed\",\"count\":%llu}\n",
		    (unsigned long long)q->missed);
		subq_append(q, note, (size_t)n);
		q->missed = 0;
	}
	return m;
}

int
subq_empty(const struct subq *q)
{
	return q->head == NULL;
}
