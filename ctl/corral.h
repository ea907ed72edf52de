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

/* print.c */
void print_list(json_t *, int);
void print_describe(json_t *);
void print_json(json_t *);
void print_json_pretty(json_t *);

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
