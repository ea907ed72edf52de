/* SPDX-License-Identifier: ISC */
/*
 * A small HTTP server in C that uses systemd's socket activation through
 * libsystemd: sd_listen_fds() for the sockets corral (or systemd) hands it
 * as fds 3.., sd_notify("READY=1") once it serves, "STOPPING=1" on SIGTERM.
 * Run by hand, without LISTEN_FDS, it binds $PORT (default 8080) itself.
 *
 *   corral start build/examples/corral-hello-c -i 2 --port 8080 --ready notify
 *
 * One process serves one connection at a time (poll, then a non-blocking
 * accept: another instance may have taken the connection). Each answer
 * closes its connection. SIGTERM stops accepting and exits after the
 * connection in hand.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#define HELLO_MAX_FDS 16

static volatile sig_atomic_t hello_stop;

static void
hello_on_signal(int sig)
{
	(void)sig;
	hello_stop = 1;
}

static int
hello_bind(int port)
{
	struct sockaddr_in6 sin6;
	int s, one = 1, zero = 0;

	s = socket(AF_INET6, SOCK_STREAM, 0);
	if (s == -1)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_any;
	sin6.sin6_port = htons((uint16_t)port);
	if (bind(s, (struct sockaddr *)&sin6, sizeof sin6) == -1 ||
	    listen(s, 128) == -1) {
		close(s);
		return -1;
	}
	return s;
}

/* Reads the request head (up to a blank line), answers, closes. */
static void
hello_serve(int c)
{
	char req[4096], body[128], head[256];
	size_t len = 0;
	ssize_t n;
	int blen, hlen;

	while (len < sizeof req - 1) {
		n = read(c, req + len, sizeof req - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	blen = snprintf(body, sizeof body, "hello from c pid %ld\n",
	    (long)getpid());
	hlen = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %d\r\n"
	    "Connection: close\r\n\r\n", blen);
	if (write(c, head, (size_t)hlen) == hlen)
		(void)write(c, body, (size_t)blen);
	shutdown(c, SHUT_WR);
	close(c);
}

int
main(void)
{
	struct pollfd pfd[HELLO_MAX_FDS];
	struct timeval tmo = { .tv_sec = 5, .tv_usec = 0 };
	struct sigaction sa;
	const char *p;
	int n, i, c, fl;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = hello_on_signal;     /* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	n = sd_listen_fds(1);
	if (n < 0) {
		fprintf(stderr, "sd_listen_fds: %s\n", strerror(-n));
		return 1;
	}
	if (n > HELLO_MAX_FDS)
		n = HELLO_MAX_FDS;
	for (i = 0; i < n; i++)
		pfd[i].fd = SD_LISTEN_FDS_START + i;
	if (n == 0) {
		p = getenv("PORT");
		if ((pfd[0].fd = hello_bind(p != NULL ? atoi(p) : 8080)) == -1) {
			perror("bind");
			return 1;
		}
		n = 1;
	}
	for (i = 0; i < n; i++) {
		pfd[i].events = POLLIN;
		fl = fcntl(pfd[i].fd, F_GETFL);
		fcntl(pfd[i].fd, F_SETFL, fl | O_NONBLOCK);
	}
	printf("pid %ld serving %d socket(s)\n", (long)getpid(), n);
	fflush(stdout);
	sd_notify(0, "READY=1\nSTATUS=serving");

	while (!hello_stop) {
		if (poll(pfd, (nfds_t)n, -1) == -1) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (i = 0; i < n && !hello_stop; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c == -1)
				continue;       /* EAGAIN: another instance won */
			fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo);
			hello_serve(c);
		}
	}
	sd_notify(0, "STOPPING=1");
	printf("pid %ld stopping\n", (long)getpid());
	return 0;
}
