/* SPDX-License-Identifier: ISC */
/*
 * Prometheus' text exposition format (version 0.0.4), written into a
 * growing buffer without printf: a scrape of a thousand instances is some
 * twenty thousand lines, and formatting them must cost the daemon about a
 * millisecond. HELP text and label values are escaped as the format says
 * (backslash, double quote in labels, newline); numbers are written as
 * integers or as fixed-point decimals.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

void
promtext_init(struct promtext *t, size_t hint)
{
	t->cap = hint > 64 ? hint : 64;
	t->buf = xmalloc(t->cap);
	t->len = 0;
}

/* Hands the text to the caller (who frees it with free()); t is empty. */
char *
promtext_take(struct promtext *t, size_t *len)
{
	char *p = t->buf;

	*len = t->len;
	t->buf = NULL;
	t->len = t->cap = 0;
	return p;
}

void
promtext_free(struct promtext *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

static void
promtext_room(struct promtext *t, size_t n)
{
	if (t->len + n <= t->cap)
		return;
	while (t->len + n > t->cap)
		t->cap *= 2;
	t->buf = xrealloc(t->buf, t->cap);
}

void
promtext_raw(struct promtext *t, const char *s, size_t n)
{
	promtext_room(t, n);
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

void
promtext_str(struct promtext *t, const char *s)
{
	promtext_raw(t, s, strlen(s));
}

static void
promtext_char(struct promtext *t, char c)
{
	promtext_room(t, 1);
	t->buf[t->len++] = c;
}

/* s escaped for a label value (quote too) or a HELP line (not). */
static void
promtext_escaped(struct promtext *t, const char *s, int quote)
{
	size_t run;

	while (*s != '\0') {
		run = strcspn(s, quote ? "\\\"\n" : "\\\n");
		promtext_raw(t, s, run);
		s += run;
		if (*s == '\0')
			break;
		promtext_char(t, '\\');
		promtext_char(t, *s == '\n' ? 'n' : *s);
		s++;
	}
}

/* The HELP and TYPE lines that open a metric family. */
void
promtext_family(struct promtext *t, const char *name, const char *type,
    const char *help)
{
	promtext_str(t, "# HELP ");
	promtext_str(t, name);
	promtext_char(t, ' ');
	promtext_escaped(t, help, 0);
	promtext_str(t, "\n# TYPE ");
	promtext_str(t, name);
	promtext_char(t, ' ');
	promtext_str(t, type);
	promtext_char(t, '\n');
}

/* name="value" (escaped), preceded by a comma unless first. */
void
promtext_label(struct promtext *t, const char *name, const char *value,
    int first)
{
	if (!first)
		promtext_char(t, ',');
	promtext_str(t, name);
	promtext_raw(t, "=\"", 2);
	promtext_escaped(t, value, 1);
	promtext_char(t, '"');
}

void
promtext_u64(struct promtext *t, uint64_t v)
{
	char digits[24];
	size_t n = sizeof digits;

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	promtext_raw(t, digits + n, sizeof digits - n);
}

void
promtext_i64(struct promtext *t, int64_t v)
{
	if (v < 0) {
		promtext_char(t, '-');
		promtext_u64(t, (uint64_t)0 - (uint64_t)v);
	} else
		promtext_u64(t, (uint64_t)v);
}

/* v / 10^decimals, written with that many decimals (at most 9). */
void
promtext_fixed(struct promtext *t, uint64_t v, int decimals)
{
	uint64_t scale = 1;
	char frac[10];
	int i;

	for (i = 0; i < decimals; i++)
		scale *= 10;
	promtext_u64(t, v / scale);
	if (decimals == 0)
		return;
	v %= scale;
	for (i = decimals - 1; i >= 0; i--) {
		frac[i] = (char)('0' + v % 10);
		v /= 10;
	}
	promtext_char(t, '.');
	promtext_raw(t, frac, (size_t)decimals);
}

/*
 * One sample line: name{labels} value. labels is the text between the
 * braces (already escaped), may be empty; extra (may be NULL) is one more
 * label, name="value" pre-escaped, put after them.
 */
void
promtext_sample(struct promtext *t, const char *name, const char *labels,
    size_t llen, const char *extra)
{
	promtext_str(t, name);
	if (llen > 0 || extra != NULL) {
		promtext_char(t, '{');
		promtext_raw(t, labels, llen);
		if (extra != NULL) {
			if (llen > 0)
				promtext_char(t, ',');
			promtext_str(t, extra);
		}
		promtext_char(t, '}');
	}
	promtext_char(t, ' ');
}

void
promtext_end(struct promtext *t)
{
	promtext_char(t, '\n');
}
