/* SPDX-License-Identifier: ISC */
/*
 * Parsers for what people type: sizes (512M), durations (1500ms, 2s, 1m30s),
 * signals (TERM, SIGTERM, 15), integers, booleans and instance counts
 * (4, max, -1). Each returns 0, or -1 with *cause set to a message the caller
 * frees.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

static int parse_fail(char **, const char *, ...) PRINTFLIKE(2, 3);

static int
parse_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		xvasprintf(cause, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A decimal number with an optional fraction; sets *end past it. */
static int
parse_decimal(const char *s, double *out, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	*out = strtod(s, &e);
	if (errno != 0 || e == s)
		return -1;
	*end = e;
	return 0;
}

int
parse_size(const char *s, uint64_t *out, char **cause)
{
	static const struct { const char *suffix; uint64_t mult; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1ULL << 10 }, { "kb", 1ULL << 10 }, { "kib", 1ULL << 10 },
		{ "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mib", 1ULL << 20 },
		{ "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gib", 1ULL << 30 },
		{ "t", 1ULL << 40 }, { "tb", 1ULL << 40 }, { "tib", 1ULL << 40 },
	};
	const char *end;
	double v;
	size_t i;

	if (parse_decimal(s, &v, &end) == -1)
		return parse_fail(cause, "invalid size '%s' (try 512M or 1G)", s);
	for (i = 0; i < nitems(units); i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		v *= (double)units[i].mult;
		if (v >= 18446744073709551615.0)
			return parse_fail(cause, "size '%s' is too large", s);
		*out = (uint64_t)v;
		return 0;
	}
	return parse_fail(cause, "invalid size '%s' (try 512M or 1G)", s);
}

int
parse_duration(const char *s, uint64_t *out, char **cause)
{
	static const struct { const char *suffix; double mult; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "min", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char *p = s, *end;
	double total = 0, v;
	size_t i, len, best;

	if (*s == '\0')
		return parse_fail(cause, "invalid duration '%s'", s);
	while (*p != '\0') {
		if (parse_decimal(p, &v, &end) == -1)
			return parse_fail(cause,
			    "invalid duration '%s' (try 1500ms, 2s or 1m)", s);
		if (*end == '\0') {
			/* A bare number is milliseconds, as in PM2. */
			if (p != s)
				return parse_fail(cause,
				    "invalid duration '%s': number without unit", s);
			total += v;
			break;
		}
		len = 0;
		while (isalpha((unsigned char)end[len]))
			len++;
		best = nitems(units);
		for (i = 0; i < nitems(units); i++) {
			if (strlen(units[i].suffix) == len &&
			    strncasecmp(end, units[i].suffix, len) == 0)
				best = i;
		}
		if (best == nitems(units))
			return parse_fail(cause,
			    "invalid duration '%s' (units: ms, s, m, h, d)", s);
		total += v * units[best].mult;
		p = end + len;
	}
	if (total >= 1.8e19)
		return parse_fail(cause, "duration '%s' is too long", s);
	*out = (uint64_t)total;
	return 0;
}

static const struct {
	const char *name;
	int number;
} parse_signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

int
parse_signal(const char *s, int *out, char **cause)
{
	const char *name = s;
	long long n;
	size_t i;

	if (isdigit((unsigned char)*s)) {
		if (parse_int(s, 1, 64, &n, NULL) == -1)
			return parse_fail(cause, "invalid signal '%s'", s);
		*out = (int)n;
		return 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < nitems(parse_signals); i++) {
		if (strcasecmp(name, parse_signals[i].name) == 0) {
			*out = parse_signals[i].number;
			return 0;
		}
	}
	return parse_fail(cause, "unknown signal '%s'", s);
}

/* Returns "SIGTERM" for 15; a static "SIG<n>" buffer for unknown numbers. */
const char *
signal_name(int sig)
{
	static char buf[2][16];
	static int which;
	size_t i;

	for (i = 0; i < nitems(parse_signals); i++) {
		if (parse_signals[i].number == sig) {
			which = !which;
			snprintf(buf[which], sizeof buf[which], "SIG%s",
			    parse_signals[i].name);
			return buf[which];
		}
	}
	which = !which;
	snprintf(buf[which], sizeof buf[which], "SIG%d", sig);
	return buf[which];
}

int
parse_int(const char *s, long long min, long long max, long long *out,
    char **cause)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || isspace((unsigned char)*s))
		return parse_fail(cause, "'%s' is not a number", s);
	if (v < min || v > max) {
		if (cause != NULL)
			xasprintf(cause, "%s is out of range (%lld to %lld)", s,
			    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * "max" (or 0) is every CPU given, "-N" that many fewer (never below one),
 * a positive N exactly N.
 */
int
parse_instances(const char *s, int ncpu, int *out, char **cause)
{
	long long n;

	if (ncpu < 1)
		ncpu = 1;
	if (strcasecmp(s, "max") == 0) {
		*out = ncpu;
		return 0;
	}
	if (parse_int(s, -4096, 4096, &n, NULL) == -1) {
		return parse_fail(cause,
		    "invalid instance count '%s' (a number, max or -N)", s);
	}
	if (n == 0)
		n = ncpu;
	else if (n < 0)
		n = ncpu + n < 1 ? 1 : ncpu + n;
	*out = (int)n;
	return 0;
}

/*
 * The one rule for app names, wherever they come from (--name, the script,
 * an INI section, a PM2 file, dump.json): 1 to PARSE_NAME_MAX of ASCII
 * letters, digits and . _ - @ +, not starting with . or - (a hidden file,
 * an option), not a number (an id) and not "all".  Every such name can
 * name a log file and a cgroup.  Returns 0, or -1 with *cause set.
 */
int
parse_app_name(const char *name, char **cause)
{
	const char *p;

	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._-@+", *p) != NULL))
			break;
	}
	if (*p != '\0' || p == name || p - name > PARSE_NAME_MAX ||
	    name[0] == '.' || name[0] == '-' ||
	    strspn(name, "0123456789") == strlen(name) ||
	    strcmp(name, "all") == 0) {
		xasprintf(cause, "invalid name '%s': 1 to %d letters, digits "
		    "and . _ - @ +, not starting with . or -, not a number "
		    "nor 'all'", name, PARSE_NAME_MAX);
		return -1;
	}
	return 0;
}

int
parse_bool(const char *s, int *out, char **cause)
{
	static const char *yes[] = { "1", "true", "yes", "on" };
	static const char *no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return parse_fail(cause, "'%s' is not a boolean (true or false)", s);
}

/* "3d", "5h", "12m", "40s", "800ms": the largest unit only, as ls shows it. */
void
format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms >= 86400000ULL)
		snprintf(buf, len, "%llud", (unsigned long long)(ms / 86400000));
	else if (ms >= 3600000ULL)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms >= 60000ULL)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms >= 1000ULL)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

void
format_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ULL << 30))
		snprintf(buf, len, "%.1fgb", (double)bytes / (1ULL << 30));
	else if (bytes >= (1ULL << 20))
		snprintf(buf, len, "%.1fmb", (double)bytes / (1ULL << 20));
	else if (bytes >= (1ULL << 10))
		snprintf(buf, len, "%.1fkb", (double)bytes / (1ULL << 10));
	else
		snprintf(buf, len, "%llub", (unsigned long long)bytes);
}
