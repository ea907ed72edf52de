/* SPDX-License-Identifier: ISC */
/*
 * What the daemon and the client share: memory helpers that abort on
 * exhaustion, logging, the parsers of sizes, durations, signals and instance
 * counts, the argv option parser, the JSON-line framing of the control
 * protocol and the paths under $CORRAL_HOME.
 */
#ifndef CORRAL_COMMON_H
#define CORRAL_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>
#include <sys/socket.h>

#include <jansson.h>

#define CORRAL_VERSION "0.1.0"
#define PROTO_VERSION 1
#define PROTO_MAX_LINE (1024 * 1024)

/* Exit statuses of the client, documented in corral(1). */
#define EXIT_USAGE 100
#define EXIT_FAILURE_ 1
#define EXIT_UNREACHABLE 111
/* the command ran, but the daemon had to recover from a lost keeper */
#define EXIT_RECOVERED 3

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTFLIKE(a, b)
#define NORETURN
#endif

/* xmalloc.c */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) PRINTFLIKE(2, 3);
int xvasprintf(char **, const char *, va_list) PRINTFLIKE(2, 0);

/* log.c */
#define LOG_TO_STDERR 0x1
void log_init(const char *, int);
int log_reopen(void);
void log_set_verbose(int);
void log_set_rotate(uint64_t, int);
void log_info(const char *, ...) PRINTFLIKE(1, 2);
void log_debug(const char *, ...) PRINTFLIKE(1, 2);
void log_warn(const char *, ...) PRINTFLIKE(1, 2);
void log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void fatal(const char *, ...) PRINTFLIKE(1, 2) NORETURN;
void fatalx(const char *, ...) PRINTFLIKE(1, 2) NORETURN;

/* parse.c */
int parse_size(const char *, uint64_t *, char **);
int parse_duration(const char *, uint64_t *, char **);
int parse_signal(const char *, int *, char **);
const char *signal_name(int);
int parse_int(const char *, long long, long long, long long *, char **);
int parse_instances(const char *, int, int *, char **);
int parse_bool(const char *, int *, char **);
#define PARSE_NAME_MAX 64
int parse_app_name(const char *, char **);
void format_duration(uint64_t, char *, size_t);
void format_size(uint64_t, char *, size_t);

/* args.c */
#define ARGS_FLAG 0     /* takes no value */
#define ARGS_VALUE 1    /* takes one value */
#define ARGS_LIST 2     /* takes a value, may be repeated */
#define ARGS_OPTIONAL 3 /* "=v", else the next word unless it starts with
			   '-', else none (stored as true) */
struct args_opt {
	const char *name;       /* long name, without dashes */
	char short_name;        /* 0 for none */
	int kind;               /* ARGS_FLAG, ARGS_VALUE, ARGS_LIST */
	const char *help;       /* "N|max  instances to start" */
};
struct args {
	json_t *opts;           /* name -> true | "value" | ["v1", ...] */
	json_t *pos;            /* positional words, in order */
	json_t *rest;           /* words after "--" */
};
int args_parse(const struct args_opt *, json_t *, struct args *, char **);
void args_free(struct args *);
const char *args_get(const struct args *, const char *);
int args_has(const struct args *, const char *);
size_t args_npos(const struct args *);
const char *args_pos(const struct args *, size_t);

/* linebuf.c */
struct linebuf {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;             /* a line longer than this is cut, 0: never */
	size_t scanned;         /* bytes known to hold no newline */
};
void linebuf_init(struct linebuf *, size_t);
void linebuf_free(struct linebuf *);
void linebuf_append(struct linebuf *, const char *, size_t);
char *linebuf_line(struct linebuf *, size_t *, int);
void linebuf_consume(struct linebuf *, size_t);

/* utf8.c */
size_t utf8_seq(const unsigned char *, size_t);
int utf8_clean(const char *, size_t);
char *utf8_escape(const char *, size_t, size_t *);
int utf8_has_escape(const char *, size_t);
char *utf8_unescape(const char *, size_t, size_t *);

/* jsonb.c */
json_t *json_str(const char *);
json_t *json_strn(const char *, size_t);
json_t *jsonb_escape(json_t *);
char *jsonb_dumps(json_t *, size_t);
void jsonb_unescape(json_t *);

/* safefile.c */
int safefile_check(const char *, size_t, char **);
int safefile_read(const char *, size_t, char **, size_t *, char **);
int safefile_read_flags(const char *, size_t, int, char **, size_t *,
    char **);

/* pathsafe.c */
int pathsafe_dir(const char *, uid_t, char **);
char *pathsafe_parent(const char *);

/* paths.c */
char *paths_home(void);
char *paths_file(const char *, const char *);
char *paths_own(const char *, int);
int paths_mkdir_private(const char *, char **);

/* proto.c */
char *proto_encode(json_t *, size_t *);
json_t *proto_decode(const char *, size_t, char **);
json_t *proto_decode_escaped(const char *, size_t, char **);
json_t *proto_error(const char *, int);
json_t *proto_ok(const char *, json_t *);

/* dump.c */
int dump_write(const char *, json_t *, char **);
json_t *dump_read(const char *, char **, char **);
json_t *dump_parse(const char *, const char *, size_t, char **);

/* httpaddr.c */
int httpaddr_parse(const char *, struct sockaddr_storage *, socklen_t *,
    char **);
int httpaddr_is_loopback(const struct sockaddr_storage *);
void httpaddr_format(const struct sockaddr_storage *, char *, size_t);

#endif
