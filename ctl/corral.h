/* SPDX-License-Identifier: ISC */
/*
 * The corral CLI's private header: printing replies for people (tables)
 * or scripts (JSON), following logs, startup scripts. The connection to
 * the daemon is the client library's (client/client.h).
 */
#ifndef CORRAL_CTL_H
#define CORRAL_CTL_H

#include "client.h"
#include "common.h"

/* jscan.c */
#define JSCAN_NONE 0
#define JSCAN_OBJECT 1
#define JSCAN_ARRAY 2
#define JSCAN_STRING 3
#define JSCAN_INT 4
#define JSCAN_REAL 5
#define JSCAN_TRUE 6
#define JSCAN_FALSE 7
#define JSCAN_NULL 8
#define JSCAN_ROOT 1             /* the token of the text's value */
struct jscan_tok {
	uint32_t start;         /* offset of the value (a string's inside) */
	uint32_t len;
	uint32_t next;          /* the token after this value and its members */
	unsigned char type;     /* JSCAN_* */
	unsigned char esc;      /* a string with a \ or a byte 0xef in it */
};
struct jscan {
	const char *text;
	struct jscan_tok *tok;  /* token 0 is none, JSCAN_ROOT the root */
	size_t n, cap;
};
int jscan_parse(struct jscan *, const char *, size_t);
void jscan_free(struct jscan *);
size_t jscan_get(const struct jscan *, size_t, const char *);
size_t jscan_first(const struct jscan *, size_t);
size_t jscan_next(const struct jscan *, size_t, size_t);
int jscan_type(const struct jscan *, size_t);
long long jscan_int(const struct jscan *, size_t);
double jscan_real(const struct jscan *, size_t);
char *jscan_str(const struct jscan *, size_t);

/* print.c */
void print_list(const struct jscan *, size_t, int);
void print_describe(json_t *);
void print_json(json_t *);
void print_json_pretty(json_t *);

/* resume.c */
char *resume_recv_line(struct client *, json_t *, size_t *, char **);

/* stuck.c */
int stuck_kill(struct client *);

/* startup.c */
int startup_main(const char *, json_t *);

/* startup-init.c */
#define STARTUP_SYSTEMD 0
#define STARTUP_OPENRC 1
#define STARTUP_SYSV 2
struct startup {
	int kind;               /* STARTUP_* */
	const char *root;       /* "/" or a folder standing for it */
	const char *user;
	const char *home;
	const char *corral_home;
	const char *bindir;     /* absolute folder of corrald and corral */
	const char *path;       /* PATH for the apps */
	const char *metrics;    /* corrald --metrics ADDR, or NULL */
	unsigned watchdog_sec;
	unsigned stop_timeout_sec;
};
int startup_kind(const char *);
const char *startup_kind_name(int);
int startup_detect(const char *);
char *startup_service(const struct startup *);
int startup_check(const struct startup *, char **);
char *startup_text(const struct startup *);
int startup_install(const struct startup *, char **, char **);
int startup_remove(const struct startup *, char **);

/* logs.c */
int logs_run(struct client *, json_t *, int);

/* update.c */
int update_wait(json_t *);

#endif
