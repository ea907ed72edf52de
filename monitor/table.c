/* SPDX-License-Identifier: ISC */
/*
 * Layout and text of the instance table. mon_table_layout() decides, for a
 * terminal width, which columns fit and how wide each one is: the name
 * column takes what the others leave, and when it would get too narrow the
 * least useful columns (pid, restarts, uptime) are dropped in that order.
 * Rows are plain UTF-8 strings; draw.c adds the colours at the positions the
 * layout gives.
 */

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "monit.h"

#define MON_NAME_MIN 10
#define MON_NAME_MAX 40
#define MON_STATE_WIDE 15       /* "waiting-restart" */
#define MON_STATE_NARROW 8

static const struct {
	const char *title;
	int width;
	int right;              /* right-aligned */
} mon_cols[MON_NCOLS] = {
	[MON_COL_ID] = { "id", 4, 1 },
	[MON_COL_NAME] = { "name", 0, 0 },
	[MON_COL_PID] = { "pid", 7, 1 },
	[MON_COL_STATE] = { "state", MON_STATE_NARROW, 0 },
	[MON_COL_RESTARTS] = { "rst", 4, 1 },
	[MON_COL_UPTIME] = { "uptime", 6, 1 },
	[MON_COL_CPU] = { "cpu", 6, 1 },
	[MON_COL_MEM] = { "memory", 11, 1 },
};

/* Columns dropped, in this order, when the name would be too narrow. */
static const enum mon_col mon_drop[] = {
	MON_COL_PID, MON_COL_RESTARTS, MON_COL_UPTIME, MON_COL_ID
};

static int
mon_table_fixed(const struct mon_layout *l)
{
	int i, w = MON_TABLE_MARK;

	for (i = 0; i < MON_NCOLS; i++) {
		if (i != MON_COL_NAME && l->width[i] > 0)
			w += l->width[i] + 1;
	}
	return w;
}

/* Fills l for a screen cols wide. */
void
mon_table_layout(int cols, struct mon_layout *l)
{
	size_t d = 0;
	int i, x, name;

	for (i = 0; i < MON_NCOLS; i++)
		l->width[i] = mon_cols[i].width;
	while ((name = cols - mon_table_fixed(l)) < MON_NAME_MIN &&
	    d < nitems(mon_drop))
		l->width[mon_drop[d++]] = 0;
	if (name > MON_NAME_MAX + MON_STATE_WIDE - MON_STATE_NARROW) {
		l->width[MON_COL_STATE] = MON_STATE_WIDE;
		name -= MON_STATE_WIDE - MON_STATE_NARROW;
	}
	if (name > MON_NAME_MAX)
		name = MON_NAME_MAX;
	l->width[MON_COL_NAME] = name > 1 ? name : 1;
	x = MON_TABLE_MARK;
	for (i = 0; i < MON_NCOLS; i++) {
		l->x[i] = x;
		if (l->width[i] > 0)
			x += l->width[i] + 1;
	}
	l->total = x - 1;
}

/* Appends s in a column of width w; returns the new offset. */
static size_t
mon_table_cell(char *buf, size_t len, size_t o, const char *s, int w,
    int right)
{
	char cut[256];
	size_t cw, pad, i;

	if (w <= 0)
		return o;
	cw = mon_fmt_fit(s, (size_t)w, cut, sizeof cut);
	pad = (size_t)w - cw;
	if (right) {
		for (i = 0; i < pad && o + 1 < len; i++)
			buf[o++] = ' ';
	}
	for (i = 0; cut[i] != '\0' && o + 1 < len; i++)
		buf[o++] = cut[i];
	if (!right) {
		for (i = 0; i < pad && o + 1 < len; i++)
			buf[o++] = ' ';
	}
	if (o + 1 < len)
		buf[o++] = ' ';
	buf[o] = '\0';
	return o;
}

static size_t
mon_table_start(char *buf, size_t len, int selected)
{
	if (len < MON_TABLE_MARK + 1) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	buf[0] = selected ? '>' : ' ';
	buf[1] = ' ';
	buf[2] = '\0';
	return MON_TABLE_MARK;
}

/* The state as shown in a column w wide. */
static const char *
mon_table_state(const char *state, int w)
{
	if (strcmp(state, "waiting-restart") == 0 && w < MON_STATE_WIDE)
		return "waiting";
	return state;
}

/* The heading line; returns its length in bytes. */
size_t
mon_table_heading(const struct mon_layout *l, char *buf, size_t len)
{
	size_t o;
	int i;

	o = mon_table_start(buf, len, 0);
	for (i = 0; i < MON_NCOLS; i++)
		o = mon_table_cell(buf, len, o, mon_cols[i].title,
		    l->width[i], mon_cols[i].right);
	while (o > 0 && buf[o - 1] == ' ')
		buf[--o] = '\0';
	return o;
}

/* The row of one instance, '>' first when selected; returns bytes. */
size_t
mon_table_row(const struct mon_layout *l, const struct mon_inst *in,
    int selected, char *buf, size_t len)
{
	char cell[MON_NCOLS][64];
	size_t o;
	int i;

	snprintf(cell[MON_COL_ID], sizeof cell[0], "%d", in->id);
	if (in->siblings > 1)
		snprintf(cell[MON_COL_NAME], sizeof cell[0], "%s:%d", in->name,
		    in->index);
	else
		snprintf(cell[MON_COL_NAME], sizeof cell[0], "%s", in->name);
	if (in->pid > 0)
		snprintf(cell[MON_COL_PID], sizeof cell[0], "%ld", in->pid);
	else
		snprintf(cell[MON_COL_PID], sizeof cell[0], "-");
	snprintf(cell[MON_COL_STATE], sizeof cell[0], "%s",
	    mon_table_state(in->state, l->width[MON_COL_STATE]));
	snprintf(cell[MON_COL_RESTARTS], sizeof cell[0], "%ld", in->restarts);
	if (strcmp(in->state, "online") == 0 ||
	    strcmp(in->state, "starting") == 0 ||
	    strcmp(in->state, "stopping") == 0)
		mon_fmt_duration(in->uptime_ms, cell[MON_COL_UPTIME],
		    sizeof cell[0]);
	else
		snprintf(cell[MON_COL_UPTIME], sizeof cell[0], "-");
	mon_fmt_cpu(in->cpu, cell[MON_COL_CPU], sizeof cell[0]);
	mon_fmt_memory(in->memory, in->max_memory, cell[MON_COL_MEM],
	    sizeof cell[0]);

	o = mon_table_start(buf, len, selected);
	for (i = 0; i < MON_NCOLS; i++)
		o = mon_table_cell(buf, len, o, cell[i], l->width[i],
		    mon_cols[i].right);
	while (o > 0 && buf[o - 1] == ' ')
		buf[--o] = '\0';
	return o;
}

/*
 * The first row to show so that row sel is visible in a table of rows
 * lines holding n entries, moving as little as possible from top.
 */
int
mon_table_scroll(int sel, int top, int rows, int n)
{
	if (rows <= 0)
		return 0;
	if (sel < top)
		top = sel;
	if (sel >= top + rows)
		top = sel - rows + 1;
	if (top > n - rows)
		top = n - rows;
	if (top < 0)
		top = 0;
	return top;
}

/*
 * Splits a screen rows high between the table (n instances) and the log
 * pane, favouring the log pane when it has the focus. Returns -1 when the
 * screen is smaller than MON_MIN_ROWS.
 */
int
mon_table_panes(int rows, int n, int log_focus, struct mon_panes *p)
{
	int avail, log_min;

	if (rows < MON_MIN_ROWS)
		return -1;
	avail = rows - 7;       /* header, heading, 3 detail, log title, status */
	log_min = log_focus ? avail * 2 / 3 : avail / 3;
	if (log_min < 3)
		log_min = 3;
	p->table_h = n < 1 ? 1 : n;
	if (p->table_h > avail - log_min)
		p->table_h = avail - log_min;
	p->table_y = 2;
	p->detail_y = p->table_y + p->table_h;
	p->log_y = p->detail_y + 3;
	p->log_h = avail - p->table_h;
	p->status_y = rows - 1;
	return 0;
}
