/* SPDX-License-Identifier: ISC */
/*
 * Cron expressions for cron_restart: the five fields of crontab(5) (minute,
 * hour, day of month, month, day of week), or six with a leading seconds
 * field as PM2's cron library accepts, plus the @hourly/@daily/... macros.
 * cron_next() gives the first matching second after a time, in local time.
 * When both day fields are restricted, a day matches if either does, as in
 * Vixie cron.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common.h"
#include "cron.h"

#define CRON_SEARCH_STEPS 20000 /* about 40 years of month steps */

struct cron_field {
	const char *name;
	int min;
	int max;
	const char *const *names;       /* names for min..max, or NULL */
};

static const char *const cron_months[] = { "jan", "feb", "mar", "apr",
	"may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const cron_days[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat", NULL };

static const struct cron_field cron_fields[] = {
	{ "second", 0, 59, NULL },
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day of month", 1, 31, NULL },
	{ "month", 1, 12, cron_months },
	{ "day of week", 0, 7, cron_days },
};

static const struct {
	const char *name;
	const char *expr;
} cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* Reads a number or a name of the field at *p; returns -1 if neither. */
static int
cron_value(const struct cron_field *f, const char **p)
{
	const char *s = *p;
	long v;
	char *end;
	int i;

	if (isdigit((unsigned char)*s)) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || v < f->min || v > f->max)
			return -1;
		*p = end;
		return (int)v;
	}
	if (f->names == NULL)
		return -1;
	for (i = 0; f->names[i] != NULL; i++) {
		if (strncasecmp(s, f->names[i], 3) == 0 &&
		    !isalpha((unsigned char)s[3])) {
			*p = s + 3;
			return f->min + i;
		}
	}
	return -1;
}

/* Parses one list item (*, a, a-b, with an optional /step) into *mask. */
static int
cron_item(const struct cron_field *f, const char *s, uint64_t *mask)
{
	int lo, hi, step = 1, v;
	const char *p = s;
	char *end;
	long l;

	if (*p == '*') {
		lo = f->min;
		hi = f->max;
		p++;
	} else {
		if ((lo = cron_value(f, &p)) == -1)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			if ((hi = cron_value(f, &p)) == -1 || hi < lo)
				return -1;
		}
	}
	if (*p == '/') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		l = strtol(p, &end, 10);
		if (errno != 0 || l < 1 || l > f->max + 1)
			return -1;
		step = (int)l;
		p = end;
		if (s[0] != '*' && hi == lo)
			hi = f->max;    /* "a/n": from a to the end */
	}
	if (*p != '\0')
		return -1;
	for (v = lo; v <= hi; v += step)
		*mask |= (uint64_t)1 << v;
	return 0;
}

static int
cron_field_parse(const struct cron_field *f, const char *word, uint64_t *mask,
    int *star, char **cause)
{
	char *copy, *item, *save = NULL;

	*mask = 0;
	*star = strcmp(word, "*") == 0 || strcmp(word, "?") == 0;
	if (strcmp(word, "?") == 0)
		word = "*";
	if (word[0] == ',' || word[strlen(word) - 1] == ',' ||
	    strstr(word, ",,") != NULL) {
		xasprintf(cause, "bad %s list '%s'", f->name, word);
		return -1;
	}
	copy = xstrdup(word);
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (cron_item(f, item, mask) == -1) {
			xasprintf(cause, "bad %s '%s' (%d-%d)", f->name, item,
			    f->min, f->max);
			free(copy);
			return -1;
		}
	}
	free(copy);
	if (*mask == 0) {
		xasprintf(cause, "empty %s", f->name);
		return -1;
	}
	return 0;
}

/*
 * Parses expr into *c. On error returns -1 and sets *cause (the caller
 * frees it).
 */
int
cron_parse(const char *expr, struct cron *c, char **cause)
{
	char *copy, *words[7], *w, *save = NULL;
	uint64_t masks[6];
	int stars[6], n = 0, first, i;
	size_t m;

	for (m = 0; m < nitems(cron_macros); m++) {
		if (strcasecmp(expr, cron_macros[m].name) == 0) {
			expr = cron_macros[m].expr;
			break;
		}
	}
	copy = xstrdup(expr);
	for (w = strtok_r(copy, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (n == 6) {
			n++;
			break;
		}
		words[n++] = w;
	}
	if (n != 5 && n != 6) {
		xasprintf(cause, "cron expression '%s' needs 5 fields "
		    "(minute hour day month weekday) or 6 (seconds first)",
		    expr);
		free(copy);
		return -1;
	}
	first = n == 5 ? 1 : 0;
	masks[0] = 1;           /* five fields: at second 0 */
	stars[0] = 0;
	for (i = first; i < 6; i++) {
		if (cron_field_parse(&cron_fields[i], words[i - first],
		    &masks[i], &stars[i], cause) == -1) {
			free(copy);
			return -1;
		}
	}
	free(copy);
	memset(c, 0, sizeof *c);
	c->sec = masks[0];
	c->min = masks[1];
	c->hour = (uint32_t)masks[2];
	c->dom = (uint32_t)masks[3];
	c->mon = (uint16_t)masks[4];
	c->dow = (uint8_t)(masks[5] | (masks[5] >> 7)); /* 7 is Sunday too */
	c->dom_star = stars[3];
	c->dow_star = stars[5];
	return 0;
}

static int
cron_day_matches(const struct cron *c, const struct tm *tm)
{
	int dom = (c->dom >> tm->tm_mday) & 1;
	int dow = (c->dow >> tm->tm_wday) & 1;

	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

/* Sets *tm from the fields it holds, whatever their range, in local time. */
static void
cron_normalize(struct tm *tm)
{
	time_t t;

	tm->tm_isdst = -1;
	t = mktime(tm);
	localtime_r(&t, tm);
}

/*
 * Returns the first time strictly after 'after' that matches c, or -1 if
 * none comes within the search horizon (such as "0 0 30 2 *").
 */
time_t
cron_next(const struct cron *c, time_t after)
{
	struct tm tm;
	time_t t = after + 1;
	int i;

	localtime_r(&t, &tm);
	for (i = 0; i < CRON_SEARCH_STEPS; i++) {
		if (!((c->mon >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!cron_day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!((c->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
		} else if (!((c->min >> tm.tm_min) & 1)) {
			tm.tm_min++;
			tm.tm_sec = 0;
		} else if (!((c->sec >> tm.tm_sec) & 1)) {
			tm.tm_sec++;
		} else {
			tm.tm_isdst = -1;
			t = mktime(&tm);
			if (t > after)
				return t;
			tm.tm_sec++;
		}
		cron_normalize(&tm);
	}
	return -1;
}
