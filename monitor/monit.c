/* SPDX-License-Identifier: ISC */
/*
 * `corral monit`: the loop that ties the dashboard together. It subscribes
 * to the daemon's stats stream on one connection, sends each action
 * (restart, reload, stop, start, delete) as an ordinary request on a
 * connection of its own, waits in poll() on the terminal and those sockets,
 * and redraws only when something changed. When the daemon goes away it
 * keeps the last figures on screen, says so and reconnects every second.
 * The terminal is restored on every way out: q, Ctrl-C, SIGTERM, SIGHUP,
 * and exit() from anywhere (atexit).
 */

#include <sys/ioctl.h>

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

#define MONIT_ACTIONS 4         /* action requests in flight at once */
#define MONIT_RETRY_MS 1000
#define MONIT_STATUS_MS 6000
#define MONIT_CONNECT_MS 5000
#define MONIT_FRAME_MS 100      /* least time between redraws for events */

struct monit_action {
	struct mon_conn conn;
	char what[128];         /* "restart api (id 3)" */
};

struct monit {
	struct mon_model *model;
	struct mon_keys keys;
	struct mon_view view;
	struct mon_conn sub;
	int streaming;          /* sub's reply was read, events follow */
	json_t *argv;           /* words after "monit", for the daemon */
	uint64_t retry_at;
	struct monit_action act[MONIT_ACTIONS];
	int dirty;              /* redraw now (a key, a status message) */
	int stale;              /* redraw within MONIT_FRAME_MS (events) */
	uint64_t drawn_at;
};

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

static uint64_t
monit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void monit_status(struct monit *, int, const char *, ...)
    PRINTFLIKE(3, 4);
static void
monit_status(struct monit *mt, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mt->view.status, sizeof mt->view.status, fmt, ap);
	va_end(ap);
	mt->view.status_err = err;
	mt->view.status_until = monit_now() + MONIT_STATUS_MS;
	mt->dirty = 1;
}

/*
 * Opens the subscription, starting the daemon first if start is set; -1
 * with *cause if the daemon is not there.
 */
static int
monit_subscribe(struct monit *mt, int start, char **cause)
{
	mon_conn_close(&mt->sub);
	mt->streaming = 0;
	if (mon_conn_open(&mt->sub, start, cause) == -1)
		return -1;
	if (mon_conn_send(&mt->sub, "monit", mt->argv, cause) == -1) {
		mon_conn_close(&mt->sub);
		return -1;
	}
	return 0;
}

static void
monit_lost(struct monit *mt, const char *why)
{
	mon_conn_close(&mt->sub);
	mt->streaming = 0;
	mt->view.connected = 0;
	mt->retry_at = monit_now() + MONIT_RETRY_MS;
	monit_status(mt, 1, "daemon connection lost (%s); retrying every "
	    "second", why);
	mt->view.status_until = UINT64_MAX;
}

/* "online, pid 4242" for one instance, "4 instances, 3 online" for more. */
static char *
monit_summary(json_t *list)
{
	const char *st;
	size_t i, online = 0;
	json_t *o;
	char *s;

	if (json_array_size(list) == 1) {
		o = json_array_get(list, 0);
		st = json_string_value(json_object_get(o, "state"));
		if (json_integer_value(json_object_get(o, "pid")) > 0)
			xasprintf(&s, "%s, pid %lld", st != NULL ? st : "?",
			    (long long)json_integer_value(json_object_get(o,
			    "pid")));
		else
			s = xstrdup(st != NULL ? st : "done");
		return s;
	}
	json_array_foreach(list, i, o) {
		st = json_string_value(json_object_get(o, "state"));
		online += st != NULL && strcmp(st, "online") == 0;
	}
	xasprintf(&s, "%zu instances, %zu online", json_array_size(list),
	    online);
	return s;
}

/*
 * Reads a reply line: 0 and *msg (caller frees) for ok, -1 and *msg for an
 * error reply, with *code the exit status it asks for, and in *list (if not
 * NULL; caller decrefs) the instance objects an ok reply carries.
 */
static int
monit_reply(const char *line, size_t len, char **msg, int *code,
    json_t **list)
{
	json_error_t jerr;
	json_t *r, *data;
	const char *s;
	int ok;

	*code = EXIT_FAILURE_;
	if ((r = json_loadb(line, len, 0, &jerr)) == NULL) {
		xasprintf(msg, "bad reply from daemon: %s", jerr.text);
		return -1;
	}
	ok = json_is_true(json_object_get(r, "ok"));
	if (!ok) {
		s = json_string_value(json_object_get(r, "error"));
		*msg = xstrdup(s != NULL ? s : "request failed");
		if (json_is_integer(json_object_get(r, "exit")))
			*code = (int)json_integer_value(json_object_get(r,
			    "exit"));
	} else if ((s = json_string_value(json_object_get(r, "message"))) !=
	    NULL || (s = json_string_value(json_object_get(r, "data"))) !=
	    NULL)
		*msg = xstrndup(s, strcspn(s, "\n"));
	else if (json_is_array(data = json_object_get(r, "data")))
		*msg = monit_summary(data);
	else
		*msg = xstrdup("done");
	if (list != NULL && ok && json_is_array(json_object_get(r, "data")))
		*list = json_incref(json_object_get(r, "data"));
	json_decref(r);
	return ok ? 0 : -1;
}

static void
monit_sub_lines(struct monit *mt)
{
	char *line, *cause = NULL;
	size_t len;
	int code;

	while ((line = mon_conn_line(&mt->sub, &len)) != NULL) {
		if (!mt->streaming) {
			if (monit_reply(line, len, &cause, &code, NULL) == -1) {
				monit_lost(mt, cause);
				free(cause);
				return;
			}
			free(cause);
			cause = NULL;
			mt->streaming = 1;
			mt->view.connected = 1;
			if (mt->view.status_until == UINT64_MAX)
				monit_status(mt, 0, "connected to the daemon");
			continue;
		}
		switch (mon_model_apply_line(mt->model, line, len, &cause)) {
		case -1:
			monit_status(mt, 1, "%s", cause);
			free(cause);
			cause = NULL;
			break;
		case MON_EV_MISSED:
			monit_status(mt, 1, "the daemon dropped %llu events: "
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
	int rc = mon_conn_read(&mt->sub);

	if (rc == 1) {
		monit_sub_lines(mt);
		return;
	}
	monit_sub_lines(mt);
	if (mt->sub.fd != -1)
		monit_lost(mt, rc == 0 ? "closed by the daemon" :
		    strerror(errno));
}

/* The selected instance, or NULL. */
static struct mon_inst *
monit_selected(struct monit *mt)
{
	if (mt->keys.sel_id == -1)
		return NULL;
	return mon_model_find(mt->model, mt->keys.sel_id);
}

static void
monit_pending(struct monit *mt)
{
	size_t i, o = 0;

	mt->view.pending[0] = '\0';
	for (i = 0; i < MONIT_ACTIONS; i++) {
		if (mt->act[i].conn.fd == -1)
			continue;
		o += (size_t)snprintf(mt->view.pending + o,
		    sizeof mt->view.pending - o, "%s%s...", o > 0 ? ", " : "",
		    mt->act[i].what);
		if (o >= sizeof mt->view.pending)
			break;
	}
	mt->dirty = 1;
}

/* Sends the action on a connection of its own; the reply comes later. */
static void
monit_act(struct monit *mt, enum mon_action a)
{
	struct mon_inst *in = monit_selected(mt);
	struct monit_action *ac = NULL;
	const char *cmd = mon_action_cmd(a);
	char target[64], *cause = NULL;
	json_t *argv;
	size_t i;

	if (in == NULL || cmd == NULL)
		return;
	for (i = 0; i < MONIT_ACTIONS && ac == NULL; i++) {
		if (mt->act[i].conn.fd == -1)
			ac = &mt->act[i];
	}
	if (ac == NULL) {
		monit_status(mt, 1, "%s: too many actions in flight", cmd);
		return;
	}
	/* reload and delete act on the app, the others on the instance */
	if (a == MON_ACT_RELOAD || a == MON_ACT_DELETE) {
		snprintf(target, sizeof target, "%s", in->name);
		snprintf(ac->what, sizeof ac->what, "%s %s", cmd, in->name);
	} else {
		snprintf(target, sizeof target, "%d", in->id);
		snprintf(ac->what, sizeof ac->what, "%s %s (id %d)", cmd,
		    in->name, in->id);
	}
	argv = json_pack("[s]", target);
	if (mon_conn_open(&ac->conn, 0, &cause) == -1 ||
	    mon_conn_send(&ac->conn, cmd, argv, &cause) == -1) {
		monit_status(mt, 1, "%s: %s", ac->what, cause);
		mon_conn_close(&ac->conn);
		free(cause);
	}
	json_decref(argv);
	monit_pending(mt);
}

static void
monit_act_input(struct monit *mt, struct monit_action *ac)
{
	char *line, *msg = NULL;
	json_t *list = NULL;
	size_t len;
	int rc, code;

	rc = mon_conn_read(&ac->conn);
	if ((line = mon_conn_line(&ac->conn, &len)) != NULL) {
		rc = monit_reply(line, len, &msg, &code, &list);
		monit_status(mt, rc == -1, "%s: %s", ac->what, msg);
		free(msg);
		if (list != NULL && mon_model_merge(mt->model, list) > 0)
			mt->stale = 1;
		json_decref(list);
	} else if (rc == 1)
		return;
	else
		monit_status(mt, 1, "%s: no reply from the daemon", ac->what);
	mon_conn_close(&ac->conn);
	monit_pending(mt);
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
		monit_act(mt, a);
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
	uint64_t now = monit_now();
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
	struct pollfd pfd[2 + MONIT_ACTIONS];
	int n, i, ch;

	while (!monit_signal) {
		monit_timers(mt);
		if (mt->dirty || (mt->stale &&
		    monit_now() >= mt->drawn_at + MONIT_FRAME_MS)) {
			mon_draw(&mt->view, mt->model, &mt->keys);
			mt->dirty = mt->stale = 0;
			mt->drawn_at = monit_now();
		}
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = mt->sub.fd;
		pfd[1].events = POLLIN;
		for (i = 0; i < MONIT_ACTIONS; i++) {
			pfd[2 + i].fd = mt->act[i].conn.fd;
			pfd[2 + i].events = POLLIN;
		}
		n = poll(pfd, nitems(pfd), monit_poll_timeout(mt, monit_now()));
		if (n == -1 && errno != EINTR)
			fatal("poll");
		/* after EINTR too: SIGWINCH makes getch() return KEY_RESIZE */
		while ((ch = getch()) != ERR) {
			if (monit_key(mt, ch) == -1)
				return 0;
		}
		if (n > 0 && pfd[1].fd != -1 && pfd[1].revents != 0)
			monit_sub_input(mt);
		for (i = 0; n > 0 && i < MONIT_ACTIONS; i++) {
			if (pfd[2 + i].fd != -1 && pfd[2 + i].revents != 0)
				monit_act_input(mt, &mt->act[i]);
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
	uint64_t deadline = monit_now() + MONIT_CONNECT_MS;
	char *line;
	size_t len;
	int rc;

	*code = EXIT_FAILURE_;
	for (;;) {
		if ((line = mon_conn_line(&mt->sub, &len)) != NULL)
			break;
		rc = poll(&pfd, 1, 100);
		if (rc == -1 && errno != EINTR)
			fatal("poll");
		if (monit_now() > deadline) {
			*cause = xstrdup("the daemon did not answer");
			return -1;
		}
		if (rc > 0 && mon_conn_read(&mt->sub) != 1) {
			*cause = xstrdup("the daemon closed the connection");
			return -1;
		}
	}
	if (monit_reply(line, len, cause, code, NULL) == -1)
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

	mon_conn_close(&mt->sub);
	for (i = 0; i < MONIT_ACTIONS; i++)
		mon_conn_close(&mt->act[i].conn);
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
	for (i = 0; i < MONIT_ACTIONS; i++)
		mt.act[i].conn.fd = -1;
	mon_keys_init(&mt.keys);
	mt.model = mon_model_create();
	mt.argv = json_array();
	for (i = 1; i < argc; i++)
		json_array_append_new(mt.argv, json_string(argv[i]));
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
