/* SPDX-License-Identifier: ISC */
/*
 * A growable byte buffer cut into lines: the control protocol's framing and
 * the log pipes' line splitting. A line longer than the buffer's maximum is
 * handed out in pieces of that size, so memory stays bounded.
 */
#include <string.h>

#include "common.h"

void
linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof *lb);
	lb->max = max;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof *lb);
}

void
linebuf_append(struct linebuf *lb, const char *data, size_t len)
{
	size_t want = lb->len + len + 1;

	if (want > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 256;

		while (cap < want)
			cap *= 2;
		lb->buf = xrealloc(lb->buf, cap);
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, len);
	lb->len += len;
	lb->buf[lb->len] = '\0';
}

/*
 * Returns the next complete line (without its newline, NUL-terminated in
 * place) and its length in *len, or NULL when none is complete. A run of
 * max bytes without a newline is returned as a line; with flush, whatever
 * is left is returned too. The caller passes *len to linebuf_consume()
 * before asking again.
 */
char *
linebuf_line(struct linebuf *lb, size_t *len, int flush)
{
	char *nl;

	if (lb->len == 0)
		return NULL;
	/* A long line arrives in many pieces: never scan a byte twice. */
	if (lb->scanned > lb->len)
		lb->scanned = 0;        /* the caller cut the buffer itself */
	nl = memchr(lb->buf + lb->scanned, '\n', lb->len - lb->scanned);
	lb->scanned = nl == NULL ? lb->len : (size_t)(nl - lb->buf);
	if (nl != NULL && (lb->max == 0 || (size_t)(nl - lb->buf) <= lb->max)) {
		*nl = '\0';
		*len = (size_t)(nl - lb->buf);
		return lb->buf;
	}
	if (lb->max != 0 && lb->len >= lb->max) {
		*len = lb->max;
		return lb->buf;
	}
	if (flush) {
		*len = lb->len;
		return lb->buf;
	}
	return NULL;
}

/* Drops a line of len bytes returned by linebuf_line() and its newline. */
void
linebuf_consume(struct linebuf *lb, size_t len)
{
	size_t drop = len;

	if (drop < lb->len && (lb->buf[drop] == '\0' || lb->buf[drop] == '\n'))
		drop++;
	if (drop > lb->len)
		drop = lb->len;
	memmove(lb->buf, lb->buf + drop, lb->len - drop);
	lb->len -= drop;
	lb->scanned = 0;
	if (lb->buf != NULL)
		lb->buf[lb->len] = '\0';
}
