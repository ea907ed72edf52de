/* SPDX-License-Identifier: ISC */
/*
 * Drawing of the monitor's screen with ncurses: header, instance table,
 * CPU and memory sparklines and log pane of the selected instance, status
 * line, and the help box. Each frame is drawn into stdscr after werase()
 * and sent with doupdate(), so ncurses sends the terminal only the cells
 * that changed; nothing here calls clear() (monit.c does, once, on resize).
 * Colours are used when the terminal has them and NO_COLOR is unset;
 * without them states and errors are told apart with bold and dim.
 */

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "monit.h"

static void
mon_draw_cat(char *dst, const char *src, size_t len)
{
	size_t n = strlen(dst);

	if (n + 1 < len)
		snprintf(dst + n, len - n, "%s", src);
}

static int mon_draw_utf8;       /* the frame being drawn may use UTF-8 */

enum {
	MON_PAIR_OK = 1,
	MON_PAIR_BUSY,
	MON_PAIR_ERR,
	MON_PAIR_WAIT,
	MON_PAIR_SPARK,
	MON_PAIR_HEAD
};

static const char *const mon_help[] = {
	"corral monit keys",
	"",
	"Up/Down j/k   select an instance",
	"PgUp/PgDn     move by a page",
	"Enter, Tab    focus the log pane (Up/Down scroll)",
	"Esc           back to the table",
	"r             restart the selected instance",
	"R             reload its app (rolling, no downtime)",
	"s / S         stop / start the selected instance",
	"d             delete its app (asks y/n)",
	"/             filter instances by name",
	"?             this help",
	"q, Ctrl-C     quit",
	"",
	"log lines marked ! came from stderr",
	"press any key",
};

void
mon_draw_init(struct mon_view *v)
{
	v->colour = 0;
	if (getenv("NO_COLOR") != NULL || !has_colors() || start_color() == ERR)
		return;
	if (use_default_colors() == ERR)
		assume_default_colors(COLOR_WHITE, COLOR_BLACK);
	init_pair(MON_PAIR_OK, COLOR_GREEN, -1);
	init_pair(MON_PAIR_BUSY, COLOR_YELLOW, -1);
	init_pair(MON_PAIR_ERR, COLOR_RED, -1);
	init_pair(MON_PAIR_WAIT, COLOR_MAGENTA, -1);
	init_pair(MON_PAIR_SPARK, COLOR_CYAN, -1);
	init_pair(MON_PAIR_HEAD, COLOR_BLACK, COLOR_CYAN);
	v->colour = 1;
}

/* An attribute for pair when colours are on, else the fallback. */
static attr_t
mon_draw_attr(const struct mon_view *v, int pair, attr_t fallback)
{
	return v->colour ? (attr_t)COLOR_PAIR(pair) : fallback;
}

static attr_t
mon_draw_state_attr(const struct mon_view *v, const char *state)
{
	if (strcmp(state, "online") == 0)
		return mon_draw_attr(v, MON_PAIR_OK, A_NORMAL);
	if (strcmp(state, "errored") == 0)
		return mon_draw_attr(v, MON_PAIR_ERR, 0) | A_BOLD;
	if (strcmp(state, "waiting-restart") == 0)
		return mon_draw_attr(v, MON_PAIR_WAIT, A_BOLD);
	if (strcmp(state, "stopped") == 0)
		return A_DIM;
	return mon_draw_attr(v, MON_PAIR_BUSY, A_NORMAL);
}

/* Writes s at y, x cut to cols columns, with attr. */
static void
mon_draw_text(int y, int x, int cols, const char *s, attr_t attr)
{
	char buf[1024], ascii[1024];
	size_t i, o = 0;

	if (cols <= 0)
		return;
	if (!mon_draw_utf8) {
		/* outside UTF-8, each multibyte character is shown as '?' */
		for (i = 0; s[i] != '\0' && o + 1 < sizeof ascii; i++) {
			if ((s[i] & 0xc0) != 0x80)
				ascii[o++] = (s[i] & 0x80) ? '?' : s[i];
		}
		ascii[o] = '\0';
		s = ascii;
	}
	mon_fmt_fit(s, (size_t)cols, buf, sizeof buf);
	attron(attr);
	mvaddstr(y, x, buf);
	attroff(attr);
}

/*
 * Box characters are written as text (U+2500.. or ASCII), not through the
 * terminal's alternate character set, which some terminals and multiplexers
 * over SSH get wrong.
 */
enum { MON_BOX_H, MON_BOX_V, MON_BOX_UL, MON_BOX_UR, MON_BOX_LL, MON_BOX_LR };
static const char *const mon_box_utf8[] = {
	"\xe2\x94\x80", "\xe2\x94\x82", "\xe2\x94\x8c", "\xe2\x94\x90",
	"\xe2\x94\x94", "\xe2\x94\x98"
};
static const char *const mon_box_ascii[] = { "-", "|", "+", "+", "+", "+" };

static void
mon_draw_box(int y, int x, int which, int n)
{
	const char *c = (mon_draw_utf8 ? mon_box_utf8 : mon_box_ascii)[which];
	int i;

	for (i = 0; i < n; i++) {
		if (which == MON_BOX_V)
			mvaddstr(y + i, x, c);
		else
			mvaddstr(y, x + i, c);
	}
}

/* A horizontal rule across the screen with a title near its left end. */
static void
mon_draw_rule(int y, const char *title, attr_t attr)
{
	mon_draw_box(y, 0, MON_BOX_H, COLS);
	mon_draw_text(y, 2, COLS - 4, title, attr);
}

/* Appends part to line if it still fits in cols columns. */
static void
mon_draw_part(char *line, size_t len, int cols, const char *part)
{
	if ((int)(mon_fmt_width(line) + mon_fmt_width(part)) <= cols)
		mon_draw_cat(line, part, len);
}

static void
mon_draw_header(struct mon_view *v, struct mon_model *m)
{
	char up[16], used[16], total[16], line[512], part[128];
	size_t i, online = 0, errored = 0;
	attr_t attr = mon_draw_attr(v, MON_PAIR_HEAD, A_REVERSE);

	for (i = 0; i < m->ninst; i++) {
		online += strcmp(m->inst[i]->state, "online") == 0;
		errored += strcmp(m->inst[i]->state, "errored") == 0;
	}
	mon_fmt_duration(m->daemon_uptime_ms, up, sizeof up);
	mon_fmt_bytes(m->mem_total - (m->mem_avail < m->mem_total ?
	    m->mem_avail : m->mem_total), used, sizeof used);
	mon_fmt_bytes(m->mem_total, total, sizeof total);
	/* the parts most worth seeing first; the rest only if they fit */
	snprintf(line, sizeof line, " %s  up %s  %zu online  %zu errored",
	    m->hostname != NULL ? m->hostname : "?", up, online, errored);
	if (!v->connected)
		mon_draw_part(line, sizeof line, COLS, "  [disconnected]");
	snprintf(part, sizeof part, "  load %.2f %.2f %.2f", m->load[0],
	    m->load[1], m->load[2]);
	mon_draw_part(line, sizeof line, COLS, part);
	snprintf(part, sizeof part, "  mem %s/%s", used, total);
	mon_draw_part(line, sizeof line, COLS, part);
	if (m->ninst > online + errored) {
		snprintf(part, sizeof part, "  (%zu other)",
		    m->ninst - online - errored);
		mon_draw_part(line, sizeof line, COLS, part);
	}
	mon_draw_part(line, sizeof line, COLS - 14, "  corral monit");
	attron(attr);
	mvhline(0, 0, ' ', COLS);
	attroff(attr);
	mon_draw_text(0, 0, COLS, line, attr);
}

static void
mon_draw_table(struct mon_view *v, struct mon_keys *k, struct mon_inst **vis,
    const struct mon_panes *p, int *top)
{
	struct mon_layout l;
	char line[1024];
	attr_t st;
	int i, y;

	mon_table_layout(COLS, &l);
	mon_table_heading(&l, line, sizeof line);
	mon_draw_text(1, 0, COLS, line, A_BOLD);
	if (k->filter[0] != '\0' || k->mode == MON_MODE_FILTER) {
		snprintf(line, sizeof line, "filter: %s", k->filter);
		if ((int)strlen(line) + 2 < COLS - l.total)
			mon_draw_text(1, COLS - (int)strlen(line) - 1,
			    (int)strlen(line), line, A_BOLD);
	}
	*top = mon_table_scroll(k->sel, *top, p->table_h, k->nvis);
	if (k->nvis == 0)
		mon_draw_text(p->table_y, 2, COLS - 2, k->filter[0] != '\0' ?
		    "no instance matches the filter" :
		    "no instances: start one with `corral start`", A_DIM);
	for (i = 0; i < p->table_h && *top + i < k->nvis; i++) {
		struct mon_inst *in = vis[*top + i];
		int sel = *top + i == k->sel;

		y = p->table_y + i;
		mon_table_row(&l, in, sel, line, sizeof line);
		mon_draw_text(y, 0, COLS, line, sel ? A_REVERSE : A_NORMAL);
		if (sel)
			mvchgat(y, 0, COLS, A_REVERSE, 0, NULL);
		st = mon_draw_state_attr(v, in->state);
		mvchgat(y, l.x[MON_COL_STATE], l.width[MON_COL_STATE],
		    (st & ~A_COLOR) | (sel ? A_REVERSE : 0),
		    (short)PAIR_NUMBER(st), NULL);
	}
}

/*
 * Columns of the sparklines and samples folded into each column: one
 * sample a column while they fit, then as many as it takes to show the
 * whole history, so the line moves from the first second and still covers
 * minutes once they have passed.
 */
static int
mon_draw_spark_cols(const struct mon_inst *in, size_t *k)
{
	int cols = COLS - 5 - 24;

	if (cols > MON_HISTORY)
		cols = MON_HISTORY;
	if (cols < 1)
		cols = 1;
	*k = (in->hist_len + (size_t)cols - 1) / (size_t)cols;
	if (*k < 1)
		*k = 1;
	return cols;
}

/* One sparkline row: label, the line, the current value and the peak. */
static void
mon_draw_spark(struct mon_view *v, int y, const struct mon_inst *in, int mem)
{
	double h[MON_HISTORY], col[MON_HISTORY], top, peak = 0;
	char line[MON_HISTORY * 3 + 1], now[32], pk[16];
	size_t n, nb, i, k;
	int cols;

	n = mon_inst_history(in, mem, h, MON_HISTORY);
	for (i = 0; i < n; i++)
		peak = h[i] > peak ? h[i] : peak;
	cols = mon_draw_spark_cols(in, &k);
	nb = mon_spark_bucket(h, n, in->samples, k, col, (size_t)cols);
	if (mem) {
		mon_fmt_memory(in->memory, in->max_memory, now, sizeof now);
		mon_fmt_bytes((uint64_t)peak, pk, sizeof pk);
		top = mon_spark_top(col, nb, 1024 * 1024,
		    (double)in->max_memory);
	} else {
		mon_fmt_cpu(in->cpu, now, sizeof now);
		mon_fmt_cpu(peak, pk, sizeof pk);
		top = mon_spark_top(col, nb, 5.0, 0);
	}
	mon_draw_text(y, 1, 3, mem ? "mem" : "cpu", A_BOLD);
	mon_spark_render(col, nb, top, v->utf8, line, sizeof line,
	    (size_t)cols);
	mon_draw_text(y, 5, cols, line, mon_draw_attr(v, MON_PAIR_SPARK,
	    A_NORMAL));
	snprintf(line, sizeof line, "%s  peak %s", now, pk);
	mon_draw_text(y, 5 + cols + 1, 23, line, A_NORMAL);
}

static void
mon_draw_detail(struct mon_view *v, struct mon_model *m,
    struct mon_inst *in, const struct mon_panes *p)
{
	char title[512], name[128], span[16], why[256];
	size_t k;
	int cols;

	if (in == NULL) {
		mon_draw_rule(p->detail_y, "", A_NORMAL);
		return;
	}
	if (in->siblings > 1)
		snprintf(name, sizeof name, "%s:%d", in->name, in->index);
	else
		snprintf(name, sizeof name, "%s", in->name);
	cols = mon_draw_spark_cols(in, &k);
	mon_fmt_duration((uint64_t)cols * k * m->interval_ms, span,
	    sizeof span);
	mon_fmt_exit(in, why, sizeof why);
	snprintf(title, sizeof title, " %s (id %d)  last %s%s%s ", name,
	    in->id, span, why[0] != '\0' ? "  " : "", why);
	mon_draw_rule(p->detail_y, title, A_BOLD);
	mon_draw_spark(v, p->detail_y + 1, in, 0);
	mon_draw_spark(v, p->detail_y + 2, in, 1);
}

static void
mon_draw_log(struct mon_view *v, struct mon_keys *k, struct mon_inst *in,
    const struct mon_panes *p)
{
	const struct mon_log *lg;
	char title[128];
	int i, max, y;
	attr_t err = mon_draw_attr(v, MON_PAIR_ERR, A_BOLD);

	max = in != NULL ? (int)in->log_len - p->log_h : 0;
	if (k->log_scroll > max)
		k->log_scroll = max > 0 ? max : 0;
	if (k->log_scroll > 0)
		snprintf(title, sizeof title, " log (%d lines back, End to "
		    "follow) ", k->log_scroll);
	else
		snprintf(title, sizeof title, " log%s ",
		    k->mode == MON_MODE_LOG ? " (Up/Down scroll, Esc back)" :
		    " (Tab to scroll)");
	mon_draw_rule(p->log_y, title, k->mode == MON_MODE_LOG ? A_REVERSE :
	    A_BOLD);
	if (in == NULL)
		return;
	for (i = 0; i < p->log_h; i++) {
		lg = mon_inst_log(in, (size_t)(k->log_scroll + i));
		if (lg == NULL)
			break;
		y = p->log_y + p->log_h - i;
		if (lg->err)
			mon_draw_text(y, 0, 1, "!", err);
		mon_draw_text(y, 2, COLS - 2, lg->text, lg->err ? err :
		    A_NORMAL);
	}
}

static void
mon_draw_status(struct mon_view *v, struct mon_keys *k, struct mon_inst *in,
    const struct mon_panes *p)
{
	char line[512];
	attr_t attr = A_NORMAL;

	if (k->mode == MON_MODE_FILTER)
		snprintf(line, sizeof line, "filter: %s_  (Enter keep, Esc "
		    "clear)", k->filter);
	else if (k->mode == MON_MODE_CONFIRM && in != NULL) {
		snprintf(line, sizeof line, "delete app '%s' (%d instance%s)?"
		    " y/n", in->name, in->siblings, in->siblings == 1 ? "" :
		    "s");
		attr = A_BOLD;
	} else if (v->pending[0] != '\0')
		snprintf(line, sizeof line, "%s", v->pending);
	else if (v->status[0] != '\0') {
		snprintf(line, sizeof line, "%s", v->status);
		attr = v->status_err ? mon_draw_attr(v, MON_PAIR_ERR, 0) |
		    A_BOLD : A_BOLD;
	} else
		snprintf(line, sizeof line, "%s", COLS >= 74 ?
		    "q:quit ?:help Tab:log r:restart R:reload s:stop S:start "
		    "d:delete /:filter" : "q:quit ?:help r:restart s:stop "
		    "d:delete /:filter");
	mon_draw_text(p->status_y, 0, COLS, line, attr);
}

static void
mon_draw_help(void)
{
	const char *text[nitems(mon_help)];
	int i, w = 0, h = 0, y0, x0;

	/* on a short screen the blank lines go first */
	for (i = 0; i < (int)nitems(mon_help); i++) {
		if (mon_help[i][0] != '\0' || LINES >= (int)nitems(mon_help) + 2)
			text[h++] = mon_help[i];
		if ((int)strlen(mon_help[i]) > w)
			w = (int)strlen(mon_help[i]);
	}
	y0 = (LINES - h - 2) / 2;
	x0 = (COLS - w - 4) / 2;
	if (y0 < 0)
		y0 = 0;
	if (x0 < 0)
		x0 = 0;
	for (i = 0; i < h + 2; i++)
		mvhline(y0 + i, x0, ' ', w + 4);
	mon_draw_box(y0, x0, MON_BOX_H, w + 4);
	mon_draw_box(y0 + h + 1, x0, MON_BOX_H, w + 4);
	mon_draw_box(y0, x0, MON_BOX_V, h + 2);
	mon_draw_box(y0, x0 + w + 3, MON_BOX_V, h + 2);
	mon_draw_box(y0, x0, MON_BOX_UL, 1);
	mon_draw_box(y0, x0 + w + 3, MON_BOX_UR, 1);
	mon_draw_box(y0 + h + 1, x0, MON_BOX_LL, 1);
	mon_draw_box(y0 + h + 1, x0 + w + 3, MON_BOX_LR, 1);
	for (i = 0; i < h; i++)
		mon_draw_text(y0 + 1 + i, x0 + 2, COLS - x0 - 2, text[i],
		    i == 0 ? A_BOLD : A_NORMAL);
}

/*
 * Draws the whole frame. k->nvis and k->sel are brought in line with the
 * model (the selection follows the instance id kept in k->sel_id).
 */
void
mon_draw(struct mon_view *v, struct mon_model *m, struct mon_keys *k)
{
	struct mon_inst **vis, *in = NULL;
	struct mon_panes p;

	mon_draw_utf8 = v->utf8;
	werase(stdscr);
	if (COLS < MON_MIN_COLS ||
	    mon_table_panes(LINES, 0, 0, &p) == -1) {
		mon_draw_text(0, 0, COLS, "terminal too small for corral monit",
		    A_BOLD);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	vis = xreallocarray(NULL, m->ninst + 1, sizeof *vis);
	k->nvis = (int)mon_model_visible(m, k->filter, vis, m->ninst);
	mon_keys_select(k, vis);
	if (k->nvis > 0)
		in = vis[k->sel];
	mon_table_panes(LINES, k->nvis, k->mode == MON_MODE_LOG, &p);
	k->page = p.table_h;
	mon_draw_header(v, m);
	mon_draw_table(v, k, vis, &p, &v->top);
	mon_draw_detail(v, m, in, &p);
	mon_draw_log(v, k, in, &p);
	mon_draw_status(v, k, in, &p);
	if (k->mode == MON_MODE_HELP)
		mon_draw_help();
	free(vis);
	wnoutrefresh(stdscr);
	doupdate();
}
