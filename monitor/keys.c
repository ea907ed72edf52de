/* SPDX-License-Identifier: ISC */
/*
 * The monitor's keyboard as a small state machine: the mode (table, log
 * pane, filter prompt, delete confirmation, help) and a key give the next
 * mode and an action for monit.c to carry out. Key codes are those of
 * ncurses' wgetch() in keypad mode; nothing here draws.
 */

#include <curses.h>
#include <string.h>

#include "monit.h"

#define MON_KEY_ESC 27
#define MON_KEY_TAB '\t'
#define MON_KEY_CTRL_C 3
#define MON_KEY_CTRL_U 21
#define MON_KEY_DEL 127

void
mon_keys_init(struct mon_keys *k)
{
	memset(k, 0, sizeof *k);
	k->mode = MON_MODE_TABLE;
	k->page = 10;
	k->sel_id = -1;
}

/*
 * Brings the selection in line with vis[0..k->nvis): the selected instance
 * stays selected when others come, go or are filtered out, and a row
 * selected by a key becomes the instance to follow.
 */
void
mon_keys_select(struct mon_keys *k, struct mon_inst **vis)
{
	int i;

	if (k->sel_id != -1) {
		for (i = 0; i < k->nvis; i++) {
			if (vis[i]->id == k->sel_id) {
				k->sel = i;
				break;
			}
		}
	}
	if (k->sel >= k->nvis)
		k->sel = k->nvis - 1;
	if (k->sel < 0)
		k->sel = 0;
	k->sel_id = k->nvis > 0 ? vis[k->sel]->id : -1;
}

const char *
mon_action_cmd(enum mon_action a)
{
	switch (a) {
	case MON_ACT_RESTART:
		return "restart";
	case MON_ACT_RELOAD:
		return "reload";
	case MON_ACT_STOP:
		return "stop";
	case MON_ACT_START:
		return "start";
	case MON_ACT_DELETE:
		return "delete";
	default:
		return NULL;
	}
}

static int
mon_keys_enter(int key)
{
	return key == '\n' || key == '\r' || key == KEY_ENTER;
}

static enum mon_action
mon_keys_filter(struct mon_keys *k, int key)
{
	size_t n = strlen(k->filter);

	if (mon_keys_enter(key)) {
		k->mode = MON_MODE_TABLE;
	} else if (key == MON_KEY_ESC) {
		k->filter[0] = '\0';
		k->mode = MON_MODE_TABLE;
	} else if (key == KEY_BACKSPACE || key == MON_KEY_DEL || key == 8) {
		if (n > 0)
			k->filter[n - 1] = '\0';
	} else if (key == MON_KEY_CTRL_U) {
		k->filter[0] = '\0';
	} else if (key >= 0x20 && key < 0x7f && n + 1 < sizeof k->filter) {
		k->filter[n] = (char)key;
		k->filter[n + 1] = '\0';
	} else
		return MON_ACT_NONE;
	k->sel = 0;
	k->sel_id = -1;
	k->log_scroll = 0;
	return MON_ACT_REDRAW;
}

static void
mon_keys_move(struct mon_keys *k, int to)
{
	if (to >= k->nvis)
		to = k->nvis - 1;
	if (to < 0)
		to = 0;
	if (to != k->sel)
		k->log_scroll = 0;
	k->sel = to;
	k->sel_id = -1;
}

static enum mon_action
mon_keys_table(struct mon_keys *k, int key)
{
	int page = k->page > 1 ? k->page - 1 : 1;

	switch (key) {
	case KEY_UP:
	case 'k':
		mon_keys_move(k, k->sel - 1);
		break;
	case KEY_DOWN:
	case 'j':
		mon_keys_move(k, k->sel + 1);
		break;
	case KEY_PPAGE:
		mon_keys_move(k, k->sel - page);
		break;
	case KEY_NPAGE:
		mon_keys_move(k, k->sel + page);
		break;
	case KEY_HOME:
	case 'g':
		mon_keys_move(k, 0);
		break;
	case KEY_END:
	case 'G':
		mon_keys_move(k, k->nvis - 1);
		break;
	default:
		return MON_ACT_NONE;
	}
	return MON_ACT_REDRAW;
}

static enum mon_action
mon_keys_log(struct mon_keys *k, int key)
{
	int page = k->page > 1 ? k->page - 1 : 1;

	switch (key) {
	case KEY_UP:
	case 'k':
		k->log_scroll++;
		break;
	case KEY_DOWN:
	case 'j':
		k->log_scroll--;
		break;
	case KEY_PPAGE:
		k->log_scroll += page;
		break;
	case KEY_NPAGE:
		k->log_scroll -= page;
		break;
	case KEY_HOME:
	case 'g':
		k->log_scroll = MON_LOG_LINES;
		break;
	case KEY_END:
	case 'G':
		k->log_scroll = 0;
		break;
	case MON_KEY_ESC:
		k->mode = MON_MODE_TABLE;
		break;
	default:
		return MON_ACT_NONE;
	}
	if (k->log_scroll < 0)
		k->log_scroll = 0;
	if (k->log_scroll > MON_LOG_LINES)
		k->log_scroll = MON_LOG_LINES;
	return MON_ACT_REDRAW;
}

/* Keys that do the same in the table and in the log pane. */
static enum mon_action
mon_keys_common(struct mon_keys *k, int key)
{
	switch (key) {
	case 'q':
	case MON_KEY_CTRL_C:
		return MON_ACT_QUIT;
	case '?':
	case KEY_F(1):
		k->back = k->mode;
		k->mode = MON_MODE_HELP;
		return MON_ACT_REDRAW;
	case '/':
		k->mode = MON_MODE_FILTER;
		return MON_ACT_REDRAW;
	case MON_KEY_TAB:
		k->mode = k->mode == MON_MODE_LOG ? MON_MODE_TABLE :
		    MON_MODE_LOG;
		return MON_ACT_REDRAW;
	case 'r':
		return k->nvis > 0 ? MON_ACT_RESTART : MON_ACT_NONE;
	case 'R':
		return k->nvis > 0 ? MON_ACT_RELOAD : MON_ACT_NONE;
	case 's':
		return k->nvis > 0 ? MON_ACT_STOP : MON_ACT_NONE;
	case 'S':
		return k->nvis > 0 ? MON_ACT_START : MON_ACT_NONE;
	case 'd':
		if (k->nvis == 0)
			return MON_ACT_NONE;
		k->mode = MON_MODE_CONFIRM;
		return MON_ACT_ASK_DELETE;
	}
	if (mon_keys_enter(key)) {
		k->mode = k->mode == MON_MODE_LOG ? MON_MODE_TABLE :
		    MON_MODE_LOG;
		return MON_ACT_REDRAW;
	}
	if (k->mode == MON_MODE_LOG)
		return mon_keys_log(k, key);
	return mon_keys_table(k, key);
}

/* Feeds one key; returns what the caller must do. */
enum mon_action
mon_keys_handle(struct mon_keys *k, int key)
{
	if (key == KEY_RESIZE)
		return MON_ACT_RESIZE;
	switch (k->mode) {
	case MON_MODE_HELP:
		k->mode = k->back;
		return MON_ACT_REDRAW;
	case MON_MODE_CONFIRM:
		k->mode = MON_MODE_TABLE;
		if (key == 'y' || key == 'Y')
			return MON_ACT_DELETE;
		return MON_ACT_REDRAW;
	case MON_MODE_FILTER:
		return mon_keys_filter(k, key);
	case MON_MODE_TABLE:
	case MON_MODE_LOG:
		break;
	}
	return mon_keys_common(k, key);
}
