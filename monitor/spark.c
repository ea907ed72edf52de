/* SPDX-License-Identifier: ISC */
/*
 * Sparklines: a row of samples scaled to MON_SPARK_LEVELS heights, drawn
 * with the Unicode lower blocks (U+2581..U+2588) when the terminal's locale
 * is UTF-8 and with ASCII characters otherwise. The newest sample is at the
 * right end; columns without a sample yet are blank.
 */

#include <math.h>
#include <string.h>

#include "monit.h"

static const char *const mon_spark_utf8[MON_SPARK_LEVELS + 1] = {
	"\xe2\x96\x81", "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
	"\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87",
	"\xe2\x96\x88"
};
static const char mon_spark_ascii[MON_SPARK_LEVELS + 2] = "_.,-:=+*#";

/*
 * The value drawn as a full column: limit when there is one (memory against
 * its max_memory), else the largest sample, but never less than floor so
 * that noise around zero is not drawn as peaks.
 */
double
mon_spark_top(const double *v, size_t n, double floor_, double limit)
{
	double top = floor_;
	size_t i;

	if (limit > 0)
		return limit;
	for (i = 0; i < n; i++) {
		if (v[i] > top)
			top = v[i];
	}
	return top > 0 ? top : 1;
}

/* Height 0..MON_SPARK_LEVELS of v against top; any v > 0 is at least 1. */
int
mon_spark_level(double v, double top)
{
	double l;

	if (!(v > 0) || !(top > 0))
		return 0;
	l = ceil(v / top * MON_SPARK_LEVELS);
	if (l < 1)
		return 1;
	if (l > MON_SPARK_LEVELS)
		return MON_SPARK_LEVELS;
	return (int)l;
}

/*
 * Draws the last cols samples of v[0..n) against top into buf (len bytes),
 * right-aligned. Returns the columns drawn; stops early, still
 * NUL-terminated, if buf is too small.
 */
size_t
mon_spark_render(const double *v, size_t n, double top, int utf8, char *buf,
    size_t len, size_t cols)
{
	size_t w, o = 0, first, pad, i, cl;
	const char *c;
	char one[2] = { 0, 0 };

	if (len == 0)
		return 0;
	first = n > cols ? n - cols : 0;
	pad = n < cols ? cols - n : 0;
	for (w = 0; w < cols; w++) {
		if (w < pad)
			c = " ";
		else {
			i = first + (w - pad);
			if (utf8)
				c = mon_spark_utf8[mon_spark_level(v[i], top)];
			else {
				one[0] = mon_spark_ascii[mon_spark_level(v[i],
				    top)];
				c = one;
			}
		}
		cl = strlen(c);
		if (o + cl >= len)
			break;
		memcpy(buf + o, c, cl);
		o += cl;
	}
	buf[o] = '\0';
	return w;
}

/*
 * Folds samples into columns of k samples each, taking the largest, so
 * that a narrow line still covers minutes. Buckets are aligned on the
 * absolute sample count (total samples ever taken, v holding the last n of
 * them) so that columns do not shift as samples arrive. Writes at most
 * cols buckets, oldest first, and returns how many.
 */
size_t
mon_spark_bucket(const double *v, size_t n, uint64_t total, size_t k,
    double *out, size_t cols)
{
	uint64_t first, newest, b, a;
	size_t nb, i;

	if (n == 0 || cols == 0 || total < n)
		return 0;
	if (k == 0)
		k = 1;
	newest = (total - 1) / k;
	first = (total - n) / k;
	if (newest - first + 1 > cols)
		first = newest - cols + 1;
	nb = (size_t)(newest - first + 1);
	for (i = 0; i < nb; i++)
		out[i] = 0;
	for (i = 0; i < n; i++) {
		a = total - n + i;
		b = a / k;
		if (b < first)
			continue;
		if (v[i] > out[b - first])
			out[b - first] = v[i];
	}
	return nb;
}
