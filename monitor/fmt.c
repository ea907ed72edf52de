/* SPDX-License-Identifier: ISC */
/*
 * Short renderings of numbers for the monitor's narrow columns ("3h",
 * "45.2M", "12.5%") and width-aware cutting of UTF-8 strings, so that a name
 * with non-ASCII letters never splits a character or overruns its column.
 * Every function writes a NUL-terminated string that fits the buffer.
 */

#include <stdio.h>
#include <string.h>

#include "monit.h"

/* "0s", "59s", "12m", "3h", "4d": the unit that gives at most 2 digits. */
void
mon_fmt_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%us", (unsigned)s);
	else if (s < 3600)
		snprintf(buf, len, "%um", (unsigned)(s / 60));
	else if (s < 86400)
		snprintf(buf, len, "%uh", (unsigned)(s / 3600));
	else
		snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
}

/* "0B", "512B", "1.5K", "45.2M", "12G": at most 5 characters up to 999T. */
void
mon_fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u < sizeof units - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%uB", (unsigned)n);
	else if (v < 10)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
}

/* "0%", "3.5%", "12%", "150%": one decimal below 10. */
void
mon_fmt_cpu(double pct, char *buf, size_t len)
{
	if (pct < 0)
		pct = 0;
	if (pct == 0)
		snprintf(buf, len, "0%%");
	else if (pct < 9.95)
		snprintf(buf, len, "%.1f%%", pct);
	else
		snprintf(buf, len, "%.0f%%", pct);
}

/* "45M" without a limit, "45M/512M" with one. */
void
mon_fmt_memory(uint64_t used, uint64_t limit, char *buf, size_t len)
{
	char u[16], l[16];

	mon_fmt_bytes(used, u, sizeof u);
	if (limit == 0) {
		snprintf(buf, len, "%s", u);
		return;
	}
	mon_fmt_bytes(limit, l, sizeof l);
	snprintf(buf, len, "%s/%s", u, l);
}

static size_t
mon_fmt_charlen(const unsigned char *s)
{
	size_t n = 1;

	if (*s >= 0xc0) {
		while ((s[n] & 0xc0) == 0x80 && n < 4)
			n++;
	}
	return n;
}

/* Columns a UTF-8 string takes, counting one per character. */
size_t
mon_fmt_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p != '\0') {
		p += mon_fmt_charlen(p);
		w++;
	}
	return w;
}

/*
 * Copies at most cols characters of s into buf (len bytes), ending with "~"
 * when it had to cut, and never splitting a UTF-8 sequence. Control
 * characters become '?'. Returns the number of columns written.
 */
size_t
mon_fmt_fit(const char *s, size_t cols, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, o = 0, n, total;

	if (len == 0)
		return 0;
	total = mon_fmt_width(s);
	while (*p != '\0' && w < cols) {
		if (total > cols && w + 1 == cols) {
			if (o + 1 < len) {
				buf[o++] = '~';
				w++;
			}
			break;
		}
		n = mon_fmt_charlen(p);
		if (o + n >= len)
			break;
		if (*p < 0x20 || *p == 0x7f)
			buf[o] = '?';
		else
			memcpy(buf + o, p, n);
		o += (*p < 0x20 || *p == 0x7f) ? 1 : n;
		p += n;
		w++;
	}
	buf[o] = '\0';
	return w;
}
