/* SPDX-License-Identifier: ISC */
/*
 * The one client connection module, shared by the corral CLI (ctl/) and
 * the monitor (monitor/): finding or starting the daemon, sending a
 * request (proto_encode), reading reply lines, blocking (client_recv,
 * decoded with proto_decode) or from a non-blocking loop (client_fill and
 * client_line, the caller decodes with proto_decode); and running
 * corral's own programs in this process's place.
 */
#ifndef CORRAL_CLIENT_H
#define CORRAL_CLIENT_H

#include <sys/types.h>

#include "common.h"

/*
 * A reply waited for (client_recv_line) gives up after this long in all
 * without an engine, looking every CLIENT_LOOK_MS.
 */
#define CLIENT_NO_ENGINE_MS 5000
#define CLIENT_LOOK_MS 250

/* A connection to the daemon; fd is -1 when there is none. */
struct client {
	int fd;
	char *home;
	char *sock_path;
	struct linebuf in;
	size_t taken;           /* bytes of the line client_line handed out */
	int have_taken;
	int no_engine_ms;       /* looks without an engine, in all */
	int stuck;              /* no engine answered: the wait gave up */
};

int client_connect(struct client *, int, char **);
void client_close(struct client *);
int client_send(struct client *, json_t *);
int client_nonblock(struct client *, char **);
int client_fill(struct client *);
char *client_line(struct client *, size_t *);
char *client_recv_line(struct client *, size_t *, char **);
json_t *client_recv(struct client *, char **);
json_t *client_env_json(void);
void client_wait_gone(const struct client *, int);
int client_lock_held(const char *, const char *, pid_t *);
int client_exec_help(json_t *);
int client_check_command(const char *, json_t *);
int client_exec_monit(char **);

#endif
