/* SPDX-License-Identifier: ISC */
/*
 * Short renderings of numbers for the monitor's narrow columns ("3h",
 * "45.2M", "12.5%") and width-aware cutting of UTF-8 strings, so that a name
 * with non-ASCII letters never splits a character or overruns its column.
 * Every function writes a NUL-terminated string that fits the buffer.
 */

#include <stdio.h>
#include <string.h>

#include "common.h"
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

/*
 * What ended the instance's last run: the daemon's reason while it gives
 * one, else what the exit fields still say once a restart cleared it; ""
 * when it never exited.
 */
void
mon_fmt_exit(const struct mon_inst *in, char *buf, size_t len)
{
	if (in->reason != NULL)
		snprintf(buf, len, "%s", in->reason);
	else if (in->exit_signal > 0)
		snprintf(buf, len, "last exit: killed by %s",
		    signal_name(in->exit_signal));
	else if (in->exit_code >= 0 && (in->restarts > 0 || in->pid <= 0))
		snprintf(buf, len, "last exit: code %d", in->exit_code);
	else if (len > 0)
		buf[0] = '\0';
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

/*
 * Columns the character at s takes: 2 for the East Asian wide and
 * fullwidth ranges and the emoji blocks, 1 otherwise. Not locale-dependent
 * on purpose: the same name gets the same width in every test and terminal.
 */
static size_t
mon_fmt_charwidth(const unsigned char *s, size_t n)
{
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff },
		{ 0x3400, 0x4dbf }, { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf },
		{ 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe30, 0xfe4f },
		{ 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
		{ 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd },
	};
	uint32_t c;
	size_t i;

	if (n == 3)
		c = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 |
		    (s[2] & 0x3f);
	else if (n == 4)
		c = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	else
		return 1;
	for (i = 0; i < sizeof wide / sizeof wide[0]; i++) {
		if (c >= wide[i][0] && c <= wide[i][1])
			return 2;
	}
	return 1;
}

/* Columns a UTF-8 string takes. */
size_t
mon_fmt_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, n;

	while (*p != '\0') {
		n = mon_fmt_charlen(p);
		w += mon_fmt_charwidth(p, n);
		p += n;
	}
	return w;
}

/*
 * Copies at most cols columns of s into buf (len bytes), ending with "~"
 * when it had to cut, and never splitting a UTF-8 sequence. Control
 * characters become '?'. Returns the number of columns written.
 */
size_t
mon_fmt_fit(const char *s, size_t cols, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, o = 0, n, cw, room;
	int cut;

	if (len == 0)
		return 0;
	cut = mon_fmt_width(s) > cols;
	room = cut && cols > 0 ? cols - 1 : cols;      /* keep one for '~' */
	while (*p != '\0') {
		n = mon_fmt_charlen(p);
		cw = mon_fmt_charwidth(p, n);
		if (w + cw > room || o + n >= len)
			break;
		if (*p < 0x20 || *p == 0x7f)
			buf[o++] = '?';
		else {
			memcpy(buf + o, p, n);
			o += n;
		}
		p += n;
		w += cw;
	}
	if (cut && cols > 0 && o + 1 < len) {
		buf[o++] = '~';
		w++;
	}
	buf[o] = '\0';
	return w;
}
