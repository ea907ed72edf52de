/* SPDX-License-Identifier: ISC */
/*
 * `corral monit`: the loop that ties the dashboard together. It subscribes
 * to the daemon's stats stream on one connection, has each action sent on
 * a connection of its own (action.c), waits in poll() on the terminal and
 * those sockets, and redraws only when something changed. When the daemon
 * goes away it keeps the last figures on screen, says so and reconnects
 * every second.
 * The terminal is restored on every way out: q, Ctrl-C, SIGTERM, SIGHUP,
 * and exit() from anywhere (atexit).
 */

#include <curses.h>
#include <term.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "monit.h"

#define MONIT_RETRY_MS 1000
#define MONIT_CONNECT_MS 5000
#define MONIT_FRAME_MS 100      /* least time between redraws for events */

static volatile sig_atomic_t monit_signal;
static int monit_curses;

static void
monit_on_signal(int sig)
{
	monit_signal = sig;
}

static void
monit_restore(void)
{
	if (monit_curses) {
		monit_curses = 0;
		endwin();
	}
}

/* A monotonic clock in milliseconds. */
static uint64_t
mon_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Shows a message in the status line for MON_STATUS_MS. */
void
mon_status(struct monit *mt, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mt->view.status, sizeof mt->view.status, fmt, ap);
	va_end(ap);
	mt->view.status_err = err;
	mt->view.status_until = mon_now() + MON_STATUS_MS;
	mt->dirty = 1;
}

/*
 * Opens the subscription, starting the daemon first if start is set; -1
 * with *cause if the daemon is not there.
 */
static int
monit_subscribe(struct monit *mt, int start, char **cause)
{
	client_close(&mt->sub);
	mt->streaming = 0;
	return mon_request(&mt->sub, start, "monit", mt->argv, cause);
}

static void
monit_lost(struct monit *mt, const char *why)
{
	client_close(&mt->sub);
	mt->streaming = 0;
	mt->view.connected = 0;
	mt->retry_at = mon_now() + MONIT_RETRY_MS;
	mon_status(mt, 1, "daemon connection lost (%s); retrying every "
	    "second", why);
	mt->view.status_until = UINT64_MAX;
}

static void
monit_sub_lines(struct monit *mt)
{
	char *line, *cause = NULL;
	size_t len;
	int code;

	while ((line = client_line(&mt->sub, &len)) != NULL) {
		if (!mt->streaming) {
			if (mon_reply_read(line, len, &cause, &code, NULL) == -1) {
				monit_lost(mt, cause);
				free(cause);
				return;
			}
			free(cause);
			cause = NULL;
			mt->streaming = 1;
			mt->view.connected = 1;
			if (mt->view.status_until == UINT64_MAX)
				mon_status(mt, 0, "connected to the daemon");
			continue;
		}
		switch (mon_model_apply_line(mt->model, line, len, &cause)) {
		case -1:
			mon_status(mt, 1, "%s", cause);
			free(cause);
			cause = NULL;
			break;
		case MON_EV_MISSED:
			mon_status(mt, 1, "the daemon dropped %llu events: "
			    "this terminal reads too slowly",
			    (unsigned long long)mt->model->missed);
			break;
		case MON_EV_LOG:
			/* lines of instances not shown change nothing */
			if (mt->model->last_log_id == mt->keys.sel_id)
				mt->stale = 1;
			break;
		default:
			mt->stale = 1;
			break;
		}
	}
}

static void
monit_sub_input(struct monit *mt)
{
	int rc = client_fill(&mt->sub);

	if (rc == 1) {
		monit_sub_lines(mt);
		return;
	}
	monit_sub_lines(mt);
	if (mt->sub.fd != -1)
		monit_lost(mt, rc == 0 ? "closed by the daemon" :
		    strerror(errno));
}

static int
monit_key(struct monit *mt, int ch)
{
	enum mon_action a = mon_keys_handle(&mt->keys, ch);

	switch (a) {
	case MON_ACT_NONE:
		return 0;
	case MON_ACT_QUIT:
		return -1;
	case MON_ACT_RESIZE:
		clearok(curscr, TRUE);
		break;
	case MON_ACT_RESTART:
	case MON_ACT_RELOAD:
	case MON_ACT_STOP:
	case MON_ACT_START:
	case MON_ACT_DELETE:
		mon_action_send(mt, a);
		break;
	case MON_ACT_ASK_DELETE:
	case MON_ACT_REDRAW:
		break;
	}
	mt->dirty = 1;
	return 0;
}

static int
monit_poll_timeout(struct monit *mt, uint64_t now)
{
	uint64_t t = now + 1000;

	if (mt->sub.fd == -1 && mt->retry_at < t)
		t = mt->retry_at;
	if (mt->view.status[0] != '\0' && mt->view.status_until < t)
		t = mt->view.status_until;
	if (mt->stale && mt->drawn_at + MONIT_FRAME_MS < t)
		t = mt->drawn_at + MONIT_FRAME_MS;
	return t > now ? (int)(t - now) : 0;
}

static void
monit_timers(struct monit *mt)
{
	uint64_t now = mon_now();
	char *cause = NULL;

	if (mt->view.status[0] != '\0' && now >= mt->view.status_until) {
		mt->view.status[0] = '\0';
		mt->dirty = 1;
	}
	if (mt->sub.fd == -1 && now >= mt->retry_at) {
		if (monit_subscribe(mt, 0, &cause) == -1) {
			mt->retry_at = now + MONIT_RETRY_MS;
			free(cause);
		}
	}
}

/* Runs until q or a signal; returns the exit status. */
static int
monit_loop(struct monit *mt)
{
	struct pollfd pfd[2 + MON_ACTIONS];
	int n, i, ch;

	while (!monit_signal) {
		monit_timers(mt);
		if (mt->dirty || (mt->stale &&
		    mon_now() >= mt->drawn_at + MONIT_FRAME_MS)) {
			mon_draw(&mt->view, mt->model, &mt->keys);
			mt->dirty = mt->stale = 0;
			mt->drawn_at = mon_now();
		}
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = mt->sub.fd;
		pfd[1].events = POLLIN;
		for (i = 0; i < MON_ACTIONS; i++) {
			pfd[2 + i].fd = mt->act[i].conn.fd;
			pfd[2 + i].events = POLLIN;
		}
		n = poll(pfd, nitems(pfd), monit_poll_timeout(mt, mon_now()));
		if (n == -1 && errno != EINTR)
			fatal("poll");
		/* after EINTR too: SIGWINCH makes getch() return KEY_RESIZE */
		while ((ch = getch()) != ERR) {
			if (monit_key(mt, ch) == -1)
				return 0;
		}
		if (n > 0 && pfd[1].fd != -1 && pfd[1].revents != 0)
			monit_sub_input(mt);
		for (i = 0; n > 0 && i < MON_ACTIONS; i++) {
			if (pfd[2 + i].fd != -1 && pfd[2 + i].revents != 0)
				mon_action_input(mt, &mt->act[i]);
		}
	}
	/* Ctrl-C is a documented way to quit; other signals are not */
	return monit_signal == SIGINT ? 0 : 128 + monit_signal;
}

/* Waits for the subscription's reply before the screen is taken over. */
static int
monit_first_reply(struct monit *mt, char **cause, int *code)
{
	struct pollfd pfd = { .fd = mt->sub.fd, .events = POLLIN };
	uint64_t deadline = mon_now() + MONIT_CONNECT_MS;
	char *line;
	size_t len;
	int rc;

	*code = EXIT_FAILURE_;
	for (;;) {
		if ((line = client_line(&mt->sub, &len)) != NULL)
			break;
		rc = poll(&pfd, 1, 100);
		if (rc == -1 && errno != EINTR)
			fatal("poll");
		if (mon_now() > deadline) {
			*cause = xstrdup("the daemon did not answer");
			return -1;
		}
		if (rc > 0 && client_fill(&mt->sub) != 1) {
			*cause = xstrdup("the daemon closed the connection");
			return -1;
		}
	}
	if (mon_reply_read(line, len, cause, code, NULL) == -1)
		return -1;
	free(*cause);
	*cause = NULL;
	mt->streaming = 1;
	mt->view.connected = 1;
	monit_sub_lines(mt);
	return 0;
}

static void
monit_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = monit_on_signal;        /* no SA_RESTART: wake poll */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Takes over the terminal; -1 if its type is unknown. */
static int
monit_screen(struct monit *mt)
{
	const char *cs;
	int err;

	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	mt->view.utf8 = cs != NULL && (strcmp(cs, "UTF-8") == 0 ||
	    strcmp(cs, "utf8") == 0);
	if (getenv("ESCDELAY") == NULL)
		set_escdelay(25);
	/* initscr would exit on an unknown terminal; ask terminfo first */
	if (setupterm(NULL, STDOUT_FILENO, &err) == ERR)
		return -1;
	del_curterm(cur_term);
	if (newterm(NULL, stdout, stdin) == NULL)
		return -1;
	monit_curses = 1;
	atexit(monit_restore);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	mon_draw_init(&mt->view);
	mt->dirty = 1;
	return 0;
}

static void
monit_free(struct monit *mt)
{
	size_t i;

	client_close(&mt->sub);
	for (i = 0; i < MON_ACTIONS; i++)
		client_close(&mt->act[i].conn);
	mon_model_free(mt->model);
	json_decref(mt->argv);
}

/*
 * Entry point of `corral monit [args]`; argv[0] is "monit" and the other
 * words go to the daemon's monit command. Returns the exit status.
 */
int
monit_main(int argc, char **argv)
{
	struct monit mt;
	char *cause = NULL;
	int i, code, rc;

	memset(&mt, 0, sizeof mt);
	mt.sub.fd = -1;
	for (i = 0; i < MON_ACTIONS; i++)
		mt.act[i].conn.fd = -1;
	mon_keys_init(&mt.keys);
	mt.model = mon_model_create();
	mt.argv = json_array();
	for (i = 1; i < argc; i++)
		json_array_append_new(mt.argv, json_str(argv[i]));
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "corral monit: needs a terminal\n");
		monit_free(&mt);
		return EXIT_FAILURE_;
	}
	monit_signals();
	if (monit_subscribe(&mt, 1, &cause) == -1) {
		fprintf(stderr, "corral: cannot reach the daemon: %s\n", cause);
		free(cause);
		monit_free(&mt);
		return EXIT_UNREACHABLE;
	}
	if (monit_first_reply(&mt, &cause, &code) == -1) {
		fprintf(stderr, "corral: %s\n", cause);
		free(cause);
		monit_free(&mt);
		return code;
	}
	if (monit_screen(&mt) == -1) {
		fprintf(stderr, "corral monit: cannot use terminal type '%s'\n",
		    getenv("TERM") != NULL ? getenv("TERM") : "");
		monit_free(&mt);
		return EXIT_FAILURE_;
	}
	rc = monit_loop(&mt);
	monit_restore();
	monit_free(&mt);
	return rc;
}
