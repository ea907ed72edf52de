/* SPDX-License-Identifier: ISC */
/*
 * PM2's log_date_format is a moment.js (dayjs) pattern: "YYYY-MM-DD
 * HH:mm:ss", "YYYY-MM-DDTHH:mm:ss.SSSZ". corral's is strftime(3) with %L
 * for milliseconds. A format without '%' is taken as moment's and
 * translated; one with '%' is corral's and kept. Text in [brackets] is
 * literal, as in moment; letters that are no token stay as they are.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "momentfmt.h"

static const struct {
	const char *token;
	const char *strf;
} momentfmt_tokens[] = {               /* longest first */
	{ "YYYY", "%Y" }, { "MMMM", "%B" }, { "dddd", "%A" }, { "DDDD", "%j" },
	{ "MMM", "%b" }, { "ddd", "%a" }, { "SSS", "%L" }, { "DDD", "%-j" },
	{ "YY", "%y" }, { "MM", "%m" }, { "DD", "%d" }, { "Do", "%-d" },
	{ "dd", "%a" }, { "HH", "%H" }, { "hh", "%I" }, { "mm", "%M" },
	{ "ss", "%S" }, { "SS", "%L" }, { "ZZ", "%z" },
	{ "M", "%-m" }, { "D", "%-d" }, { "d", "%w" }, { "H", "%-H" },
	{ "h", "%-I" }, { "m", "%-M" }, { "s", "%-S" }, { "S", "%L" },
	{ "A", "%p" }, { "a", "%P" }, { "Z", "%:z" }, { "X", "%s" },
	{ "x", "%s%L" },
};

/* Appends n bytes of s to the buffer at *out (of *len bytes). */
static void
momentfmt_put(char **out, size_t *len, const char *s, size_t n)
{
	*out = xrealloc(*out, *len + n + 1);
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

/* The strftime-like form of fmt (allocated): see the top of the file. */
char *
momentfmt_to_strftime(const char *fmt)
{
	char *out = NULL;
	const char *p = fmt, *end;
	size_t len = 0, i, n;

	if (strchr(fmt, '%') != NULL)
		return xstrdup(fmt);
	momentfmt_put(&out, &len, "", 0);
	while (*p != '\0') {
		if (*p == '[' && (end = strchr(p, ']')) != NULL) {
			momentfmt_put(&out, &len, p + 1, (size_t)(end - p - 1));
			p = end + 1;
			continue;
		}
		for (i = 0; i < nitems(momentfmt_tokens); i++) {
			n = strlen(momentfmt_tokens[i].token);
			if (strncmp(p, momentfmt_tokens[i].token, n) == 0)
				break;
		}
		if (i == nitems(momentfmt_tokens)) {
			momentfmt_put(&out, &len, p, 1);
			p++;
			continue;
		}
		momentfmt_put(&out, &len, momentfmt_tokens[i].strf,
		    strlen(momentfmt_tokens[i].strf));
		p += n;
	}
	return out;
}
