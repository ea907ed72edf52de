/* SPDX-License-Identifier: ISC */
/*
 * The client's private header: finding or starting the daemon, sending a
 * request, and printing replies for people (tables) or scripts (JSON).
 */
#ifndef CORRAL_CTL_H
#define CORRAL_CTL_H

#include "common.h"

/* A blocking connection to the daemon. */
struct client {
	int fd;
	char *home;
	char *sock_path;
	struct linebuf in;
};

/* client.c */
int client_connect(struct client *, int, char **);
void client_close(struct client *);
int client_send(struct client *, json_t *);
json_t *client_recv(struct client *, char **);
json_t *client_request(const char *, json_t *);
json_t *client_env_json(void);
void client_wait_gone(const struct client *, int);
int client_exec_help(json_t *);

/* print.c */
void print_list(json_t *, int);
void print_describe(json_t *);
void print_json(json_t *);
void print_json_pretty(json_t *);

/* startup.c */
int startup_main(const char *, json_t *);

/* logs.c */
int logs_run(struct client *, json_t *, int);
void logs_print_event(json_t *, int);

#endif
