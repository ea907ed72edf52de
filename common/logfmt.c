/* SPDX-License-Identifier: ISC */
/*
 * Formats one line of an app's output for a log file: an optional timestamp
 * (strftime(3) with %L for milliseconds and %:z for +HH:MM, the formatted
 * second cached so that a flat-out writer costs one strftime per second,
 * not per line), an
 * optional "[N] " instance prefix, or a whole JSON object per line (time,
 * timestamp, app, instance, stream, message) with the message escaped into
 * valid JSON whatever bytes the app wrote. Also parses such a timestamp back,
 * which `corral logs` uses to merge several files by time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "logfmt.h"

void
logfmt_init(struct logfmt *f, int type, const char *date_format, int utc,
    int prefix_instance)
{
	memset(f, 0, sizeof *f);
	f->type = type;
	f->date_format = date_format;
	if (type == LOGFMT_JSON && date_format == NULL)
		f->date_format = LOGFMT_DEFAULT_DATE;
	f->utc = utc;
	f->prefix_instance = prefix_instance;
	f->cache_sec = -1;
}

uint64_t
logfmt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The date format is the user's, by design (log_date_format). */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/*
 * strftime with "%:z" (+05:00, moment's Z) too, which glibc's lacks: it is
 * put in as text before the call. Returns strftime's result.
 */
static size_t
logfmt_strftime(char *out, size_t size, const char *fmt, const struct tm *tm)
{
	char buf[128], zone[32];
	const char *z;
	size_t n = 0;
	long off = tm->tm_gmtoff % 86400;

	if ((z = strstr(fmt, "%:z")) == NULL)
		return strftime(out, size, fmt, tm);
	snprintf(zone, sizeof zone, "%c%02ld:%02ld", off < 0 ? '-' : '+',
	    labs(off) / 3600, labs(off) % 3600 / 60);
	for (; *fmt != '\0' && n + 8 < sizeof buf; fmt++) {
		if (strncmp(fmt, "%:z", 3) == 0) {
			memcpy(buf + n, zone, strlen(zone));
			n += strlen(zone);
			fmt += 2;
		} else
			buf[n++] = *fmt;
	}
	buf[n] = '\0';
	return strftime(out, size, buf, tm);
}

/* Fills the cache for second sec: the format split at its first %L. */
static void
logfmt_fill_cache(struct logfmt *f, int64_t sec)
{
	char part[64];
	const char *ms;
	struct tm tm;
	time_t t = (time_t)sec;
	size_t n;

	if (f->utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	ms = strstr(f->date_format, "%L");
	n = ms != NULL ? (size_t)(ms - f->date_format) : strlen(f->date_format);
	if (n >= sizeof part)
		n = sizeof part - 1;
	memcpy(part, f->date_format, n);
	part[n] = '\0';
	if (n == 0 || logfmt_strftime(f->cache_pre, sizeof f->cache_pre, part,
	    &tm) == 0)
		f->cache_pre[0] = '\0';
	f->cache_post[0] = '\0';
	f->cache_has_ms = ms != NULL;
	if (ms != NULL && ms[2] != '\0') {
		if (logfmt_strftime(f->cache_post, sizeof f->cache_post, ms + 2,
		    &tm) == 0)
			f->cache_post[0] = '\0';
	}
	f->cache_sec = sec;
}

/*
 * Writes the timestamp of ms into out (NUL-terminated when it fits) and
 * returns its length, or 0 when there is no date format.
 */
size_t
logfmt_time(struct logfmt *f, uint64_t ms, char *out, size_t outsz)
{
	int64_t sec = (int64_t)(ms / 1000);
	int n;

	if (f->date_format == NULL || *f->date_format == '\0')
		return 0;
	if (sec != f->cache_sec)
		logfmt_fill_cache(f, sec);
	if (f->cache_has_ms)
		n = snprintf(out, outsz, "%s%03u%s", f->cache_pre,
		    (unsigned)(ms % 1000), f->cache_post);
	else
		n = snprintf(out, outsz, "%s", f->cache_pre);
	return n < 0 ? 0 : (size_t)n;
}

/*
 * Escapes s as the inside of a JSON string into out; bytes that are not
 * UTF-8 (and those of a U+FFFD) are escaped as utf8_escape() does them,
 * "\ufffd" and two hex digits. Returns the length needed, like snprintf;
 * out is not terminated.
 */
size_t
logfmt_json_escape(const char *s, size_t n, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[12];
	const char *add;
	size_t i = 0, o = 0, k, addlen;

	while (i < n) {
		k = utf8_seq(p + i, n - i);
		add = (const char *)p + i;
		addlen = k;
		if (k == 0 || (k == 3 && memcmp(p + i, "\xef\xbf\xbd", 3) == 0)) {
			addlen = (size_t)snprintf(esc, sizeof esc,
			    "\\ufffd%02X", p[i]);
			add = esc;
			k = 1;
		} else if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			add = esc;
			addlen = 2;
		} else if (p[i] < 0x20) {
			add = esc;
			if (p[i] == '\t')
				addlen = (size_t)snprintf(esc, sizeof esc, "\\t");
			else if (p[i] == '\n')
				addlen = (size_t)snprintf(esc, sizeof esc, "\\n");
			else if (p[i] == '\r')
				addlen = (size_t)snprintf(esc, sizeof esc, "\\r");
			else
				addlen = (size_t)snprintf(esc, sizeof esc,
				    "\\u%04x", p[i]);
		}
		if (o + addlen <= outsz)
			memcpy(out + o, add, addlen);
		o += addlen;
		i += k;
	}
	return o;
}

static void
logfmt_put(char *out, size_t outsz, size_t *o, const char *s, size_t n)
{
	if (*o < outsz)
		memcpy(out + *o, s, *o + n <= outsz ? n : outsz - *o);
	*o += n;
}

/*
 * Formats one line (without its newline) of app's instance on stream at
 * time ms into out, newline included. Returns the length needed, like
 * snprintf; when it is more than outsz, out holds a truncated copy.
 */
size_t
logfmt_line(struct logfmt *f, const char *app, int instance,
    const char *stream, uint64_t ms, const char *line, size_t len, char *out,
    size_t outsz)
{
	char tbuf[160], num[48];
	size_t o = 0, t, n;

	t = logfmt_time(f, ms, tbuf, sizeof tbuf);
	if (t >= sizeof tbuf)
		t = sizeof tbuf - 1;
	if (f->type == LOGFMT_JSON) {
		logfmt_put(out, outsz, &o, "{\"time\":\"", 9);
		n = logfmt_json_escape(tbuf, t, o < outsz ? out + o : NULL,
		    o < outsz ? outsz - o : 0);
		o += n;
		n = (size_t)snprintf(num, sizeof num, "\",\"timestamp\":%llu,",
		    (unsigned long long)ms);
		logfmt_put(out, outsz, &o, num, n);
		logfmt_put(out, outsz, &o, "\"app\":\"", 7);
		n = strlen(app);
		o += logfmt_json_escape(app, n, o < outsz ? out + o : NULL,
		    o < outsz ? outsz - o : 0);
		n = (size_t)snprintf(num, sizeof num,
		    "\",\"instance\":%d,\"stream\":\"", instance);
		logfmt_put(out, outsz, &o, num, n);
		logfmt_put(out, outsz, &o, stream, strlen(stream));
		logfmt_put(out, outsz, &o, "\",\"message\":\"", 13);
		o += logfmt_json_escape(line, len, o < outsz ? out + o : NULL,
		    o < outsz ? outsz - o : 0);
		logfmt_put(out, outsz, &o, "\"}\n", 3);
		return o;
	}
	if (t > 0) {
		logfmt_put(out, outsz, &o, tbuf, t);
		logfmt_put(out, outsz, &o, " ", 1);
	}
	if (f->prefix_instance) {
		n = (size_t)snprintf(num, sizeof num, "[%d] ", instance);
		logfmt_put(out, outsz, &o, num, n);
	}
	logfmt_put(out, outsz, &o, line, len);
	logfmt_put(out, outsz, &o, "\n", 1);
	return o;
}

/* Reads up to 3 digits of milliseconds; returns the end. */
static const char *
logfmt_parse_ms(const char *p, unsigned *ms)
{
	int i;

	*ms = 0;
	for (i = 0; i < 3; i++) {
		if (*p < '0' || *p > '9')
			return NULL;
		*ms = *ms * 10 + (unsigned)(*p++ - '0');
	}
	return p;
}

/*
 * Parses a timestamp written with fmt (as logfmt_time does) at the start of
 * the len bytes of line. On success stores the time in ms and the number of
 * bytes it took and returns 0; returns -1 if the line does not start so.
 */
int
logfmt_parse_time(const char *fmt, const char *line, int utc, size_t len,
    uint64_t *ms_out, size_t *used)
{
	char buf[160], pre[64];
	const char *p, *l;
	struct tm tm;
	unsigned ms = 0;
	time_t t;
	size_t n;

	if (fmt == NULL || *fmt == '\0')
		return -1;
	n = len < sizeof buf - 1 ? len : sizeof buf - 1;
	memcpy(buf, line, n);
	buf[n] = '\0';
	/* fields the format lacks (a time without a date) are today's */
	t = time(NULL);
	if (utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	tm.tm_isdst = -1;
	l = strstr(fmt, "%L");
	n = l != NULL ? (size_t)(l - fmt) : strlen(fmt);
	if (n >= sizeof pre)
		return -1;
	memcpy(pre, fmt, n);
	pre[n] = '\0';
	p = n > 0 ? strptime(buf, pre, &tm) : buf;
	if (p == NULL)
		return -1;
	if (l != NULL) {
		if ((p = logfmt_parse_ms(p, &ms)) == NULL)
			return -1;
		if (l[2] != '\0' && (p = strptime(p, l + 2, &tm)) == NULL)
			return -1;
	}
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms_out = (uint64_t)t * 1000 + ms;
	*used = (size_t)(p - buf);
	return 0;
}
