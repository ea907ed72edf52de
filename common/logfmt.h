/* SPDX-License-Identifier: ISC */
/*
 * Log line formatting shared by the daemon (which writes the lines) and the
 * client (which parses their timestamps back to merge several files by
 * time): see logfmt.c.
 */
#ifndef CORRAL_LOGFMT_H
#define CORRAL_LOGFMT_H

#include <stddef.h>
#include <stdint.h>

/* logfmt.c */
#define LOGFMT_PLAIN 0
#define LOGFMT_JSON 1
#define LOGFMT_DEFAULT_DATE "%Y-%m-%dT%H:%M:%S.%L"
struct logfmt {
	int type;               /* LOGFMT_PLAIN or LOGFMT_JSON */
	const char *date_format; /* strftime(3) with %L = ms; NULL: none */
	int utc;                /* format times in UTC, not local time */
	int prefix_instance;    /* plain: "[N] " before the line */
	/* cache of the last second formatted, owned by the struct */
	int64_t cache_sec;
	char cache_pre[64];     /* the text before %L */
	char cache_post[64];    /* the text after %L */
	int cache_has_ms;
};
void logfmt_init(struct logfmt *, int, const char *, int, int);
size_t logfmt_time(struct logfmt *, uint64_t, char *, size_t);
size_t logfmt_line(struct logfmt *, const char *, int, const char *,
    uint64_t, const char *, size_t, char *, size_t);
size_t logfmt_json_escape(const char *, size_t, char *, size_t);
int logfmt_parse_time(const char *, const char *, int, size_t,
    uint64_t *, size_t *);
uint64_t logfmt_now_ms(void);

#endif
